// SQL functions over the whole catalog: check_topology().
#include "common/error.hpp"
#include "topology/validate.hpp"

#include "pg/catalog.hpp"
#include "pg/guard.hpp"

using namespace shardroute;

namespace {

// Copies C++ text into a palloc'd text value, guarded.
text *to_text(const std::string &s) {
    return pg::pg_call([&s]() { return cstring_to_text_with_len(s.data(), static_cast<int>(s.size())); });
}

} // namespace

// Every problem at once, one row each: (object, "rule: explanation"). The rows
// are converted to text first, so no C++ object is alive while the tuplestore,
// which may ereport, is filled.
SHARDROUTE_FUNCTION(shardroute_check_topology) {
    text **cells;
    size_t n;
    {
        auto problems = topology::validate(pg::load_topology());
        n = problems.size();
        cells = static_cast<text **>(pg::pg_call([n]() { return palloc(sizeof(text *) * (2 * n + 1)); }));
        for (size_t i = 0; i < n; ++i) {
            cells[2 * i] = to_text(problems[i].object());
            cells[2 * i + 1] = to_text(problems[i].message);
        }
    }
    InitMaterializedSRF(fcinfo, 0);
    auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    for (size_t i = 0; i < n; ++i) {
        Datum values[2] = {PointerGetDatum(cells[2 * i]), PointerGetDatum(cells[2 * i + 1])};
        bool isnull[2] = {false, false};
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
    }
    return (Datum)0;
}
