// Values handed to and from PostgreSQL: the one place where C++ strings become
// text Datums and where rows become a set-returning function's result. Every
// entry point uses these instead of building Datums itself.
//
//  * text_datum(): guarded (pg_call), for paths where C++ objects are alive.
//  * text_datum_fast(): unguarded, for hot paths (lookups) that hold no C++
//    object with a destructor when they call it; an allocation failure there
//    ereports straight through frames that have nothing to destroy.
//  * interval_datum(): guarded, a number of microseconds as an interval.
//  * rows_result(): converts every cell first, then fills the tuplestore with
//    no C++ object alive.
#pragma once

#include "pg/postgres.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shardroute::pg {

// A text argument as a view of its bytes; fetch arguments before creating any
// C++ object, since detoasting may ereport.
inline std::string_view text_view(const text *t) {
    return std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

text *to_text(std::string_view s);

inline Datum text_datum(std::string_view s) {
    return PointerGetDatum(to_text(s));
}

inline Datum text_datum_fast(std::string_view s) {
    return PointerGetDatum(cstring_to_text_with_len(s.data(), static_cast<int>(s.size())));
}

// `us` microseconds as an interval (no days or months, as pg_stat_replication
// shows lags).
Datum interval_datum(int64_t us);

// One row of text cells; std::nullopt is SQL NULL.
using TextRow = std::vector<std::optional<std::string>>;

// A materialized set-returning function's result, all columns text.
Datum rows_result(FunctionCallInfo fcinfo, const std::vector<TextRow> &rows);

} // namespace shardroute::pg
