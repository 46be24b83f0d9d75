#include "pg/datum.hpp"

#include "pg/guard.hpp"

extern "C" {
#include "utils/timestamp.h"
}

namespace shardroute::pg {

text *to_text(std::string_view s) {
    return pg_call([s]() noexcept { return cstring_to_text_with_len(s.data(), static_cast<int>(s.size())); });
}

Datum interval_datum(int64_t us) {
    auto *iv = static_cast<Interval *>(pg_call([]() noexcept { return palloc(sizeof(Interval)); }));
    iv->time = us;
    iv->day = 0;
    iv->month = 0;
    return IntervalPGetDatum(iv);
}

namespace {

// Writes the converted cells: PostgreSQL work only, under pg_call.
void fill_tuplestore(FunctionCallInfo fcinfo, text **cells, size_t nrows, size_t ncols) {
    pg_call([fcinfo, cells, nrows, ncols]() noexcept {
        InitMaterializedSRF(fcinfo, 0);
        auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
        auto *values = static_cast<Datum *>(palloc(sizeof(Datum) * (ncols + 1)));
        auto *nulls = static_cast<bool *>(palloc(sizeof(bool) * (ncols + 1)));
        for (size_t r = 0; r < nrows; ++r) {
            for (size_t c = 0; c < ncols; ++c) {
                text *t = cells[r * ncols + c];
                values[c] = PointerGetDatum(t);
                nulls[c] = t == nullptr;
            }
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        }
    });
}

} // namespace

Datum rows_result(FunctionCallInfo fcinfo, const std::vector<TextRow> &rows) {
    size_t ncols = rows.empty() ? 0 : rows.front().size();
    size_t n = rows.size() * ncols + 1;
    auto **cells = static_cast<text **>(pg_call([n]() noexcept { return palloc0(sizeof(text *) * n); }));
    for (size_t r = 0; r < rows.size(); ++r)
        for (size_t c = 0; c < ncols; ++c)
            cells[r * ncols + c] = rows[r][c] ? to_text(*rows[r][c]) : nullptr;
    fill_tuplestore(fcinfo, cells, rows.size(), ncols);
    return (Datum)0;
}

} // namespace shardroute::pg
