// SQL glue of the Citus cores: the registration plan and the table checks.
#include "citus/registration.hpp"
#include "citus/table_check.hpp"
#include "common/error.hpp"

#include "pg/catalog.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "utils/jsonb.h"
}

#include <string>
#include <vector>

using namespace shardroute;

namespace {

text *to_text(const std::string &s) {
    return pg::pg_call([&s]() { return cstring_to_text_with_len(s.data(), static_cast<int>(s.size())); });
}

// Fills a materialized SRF from rows of C++ strings, converted first so that no
// C++ object is alive while the tuplestore (which may ereport) is written.
Datum rows_result(FunctionCallInfo fcinfo, const std::vector<std::vector<std::string>> &rows, size_t ncols) {
    auto **cells =
        static_cast<text **>(pg::pg_call([&]() { return palloc0(sizeof(text *) * (rows.size() * ncols + 1)); }));
    for (size_t r = 0; r < rows.size(); ++r)
        for (size_t c = 0; c < ncols; ++c)
            cells[r * ncols + c] = rows[r][c].empty() && c > 0 ? nullptr : to_text(rows[r][c]);
    size_t n = rows.size();
    pg::pg_call([fcinfo, cells, n, ncols]() {
        InitMaterializedSRF(fcinfo, 0);
        auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
        Datum values[8];
        bool nulls[8];
        for (size_t r = 0; r < n; ++r) {
            for (size_t c = 0; c < ncols; ++c) {
                text *t = cells[r * ncols + c];
                nulls[c] = t == nullptr;
                values[c] = PointerGetDatum(t);
            }
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        }
    });
    return (Datum)0;
}

} // namespace

// _citus_plan() -> (node, kind, host, port): what citus_register() must do.
SHARDROUTE_FUNCTION(shardroute_citus_plan) {
    std::vector<std::vector<std::string>> rows;
    for (const auto &s : citus::registration_plan(pg::load_topology()))
        rows.push_back({s.node, s.kind == citus::Step::set_coordinator ? "coordinator" : "worker", s.host,
                        std::to_string(s.port)});
    return rows_result(fcinfo, rows, 4);
}

// _citus_check(facts jsonb) -> (problem, detail, hint)
SHARDROUTE_FUNCTION(shardroute_citus_check) {
    Jsonb *facts = PG_GETARG_JSONB_P(0);
    std::string text = pg::pg_call([facts]() { return JsonbToCString(nullptr, &facts->root, VARSIZE(facts)); });
    std::vector<std::vector<std::string>> rows;
    for (const auto &p : citus::check_table(text))
        rows.push_back({p.problem, p.detail, p.hint});
    return rows_result(fcinfo, rows, 3);
}
