// SQL glue of the Citus cores: the registration plan and the table checks.
#include "citus/registration.hpp"
#include "citus/table_check.hpp"
#include "common/error.hpp"

#include "pg/catalog.hpp"
#include "pg/datum.hpp"
#include "pg/guard.hpp"

extern "C" {
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
