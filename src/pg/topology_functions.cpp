// SQL functions over the whole catalog: check_topology().
#include "common/error.hpp"
#include "topology/validate.hpp"

#include "pg/catalog.hpp"
#include "pg/datum.hpp"
#include "pg/guard.hpp"

#include <vector>

using namespace shardroute;

// Every problem at once, one row each: (object, "rule: explanation").
SHARDROUTE_FUNCTION(shardroute_check_topology) {
    std::vector<pg::TextRow> rows;
    for (const auto &p : topology::validate(pg::load_topology()))
        rows.push_back({p.object(), p.message});
    return pg::rows_result(fcinfo, rows);
}
