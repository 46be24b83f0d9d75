// SQL functions over the whole catalog: check_topology(), and the unknown-name
// error that the PL/pgSQL topology functions raise.
#include "common/error.hpp"
#include "topology/unknown.hpp"
#include "topology/validate.hpp"

#include "pg/catalog.hpp"
#include "pg/datum.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
}

#include <string>
#include <vector>

using namespace shardroute;

// Every problem at once, one row each: (object, "rule: explanation").
SHARDROUTE_FUNCTION(shardroute_check_topology) {
    std::vector<pg::TextRow> rows;
    for (const auto &p : topology::validate(pg::load_topology()))
        rows.push_back({p.object(), p.message});
    return pg::rows_result(fcinfo, rows);
}

// _raise_unknown(kind, name, known text[]): raises the error the C++ functions
// raise for an unknown name of that kind (topology/unknown.hpp).
SHARDROUTE_FUNCTION(shardroute_raise_unknown) {
    if (PG_ARGISNULL(0))
        throw Error("22004", "kind must not be NULL");
    text *kind = PG_GETARG_TEXT_PP(0);
    text *name = PG_ARGISNULL(1) ? nullptr : PG_GETARG_TEXT_PP(1);
    Datum *names = nullptr;
    bool *nulls = nullptr;
    int count = 0;
    if (!PG_ARGISNULL(2)) // deconstructed before any C++ object exists: it may ereport
        deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), TEXTOID, -1, false, TYPALIGN_INT, &names, &nulls, &count);
    std::vector<std::string> known;
    for (int i = 0; i < count; ++i)
        if (!nulls[i])
            known.emplace_back(pg::text_view(DatumGetTextPP(names[i])));
    throw topology::unknown_error(topology::parse_kind(pg::text_view(kind)),
                                  name ? pg::text_view(name) : std::string_view("NULL"), std::move(known));
}
