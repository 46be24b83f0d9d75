// SQL glue of the Citus cores: the registration plan, the table checks and
// the one catalog question they ask PostgreSQL's C API (hashability of a type).
#include "citus/registration.hpp"
#include "citus/table_check.hpp"
#include "common/error.hpp"

#include "pg/catalog.hpp"
#include "pg/datum.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "catalog/pg_am_d.h"
#include "commands/defrem.h"
#include "utils/jsonb.h"
}

#include <optional>
#include <string>
#include <vector>

using namespace shardroute;

namespace {

// An empty detail or hint is SQL NULL.
std::optional<std::string> or_null(const std::string &s) {
    return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

} // namespace

// _citus_plan() -> (node, kind, host, port): what citus_register() must do.
SHARDROUTE_FUNCTION(shardroute_citus_plan) {
    std::vector<pg::TextRow> rows;
    for (const auto &s : citus::registration_plan(pg::load_topology()))
        rows.push_back({s.node, s.kind == citus::Step::set_coordinator ? "coordinator" : "worker", or_null(s.host),
                        std::to_string(s.port)});
    return pg::rows_result(fcinfo, rows);
}

// _citus_check(facts jsonb) -> (problem, detail, hint)
SHARDROUTE_FUNCTION(shardroute_citus_check) {
    Jsonb *facts = PG_GETARG_JSONB_P(0);
    std::string text =
        pg::pg_call([facts]() noexcept { return JsonbToCString(nullptr, &facts->root, VARSIZE(facts)); });
    std::vector<pg::TextRow> rows;
    for (const auto &p : citus::check_table(text))
        rows.push_back({p.problem, or_null(p.detail), or_null(p.hint)});
    return pg::rows_result(fcinfo, rows);
}

// _citus_hashable(regtype) -> bool: whether the type has a default hash
// operator class, the test create_distributed_table applies to the
// distribution column (a domain is judged by its base type).
SHARDROUTE_FUNCTION(shardroute_citus_hashable) {
    Oid type = PG_GETARG_OID(0);
    Oid opclass = pg::pg_call([type]() noexcept { return GetDefaultOpClass(type, HASH_AM_OID); });
    PG_RETURN_BOOL(OidIsValid(opclass));
}
