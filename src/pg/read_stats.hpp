// Read-choice counters in shared memory (with shared_preload_libraries): how
// often each node was chosen for each read group, since the last reset.
#pragma once

#include "routing/route_table.hpp"

#include "pg/catalog.hpp"

namespace shardroute::pg {

// From _PG_init while shared_preload_libraries is processed.
void read_stats_preload();

// Counts one choice of `node` for read group `group` (an index into
// c.routes.read_groups). Without shared memory it does nothing. Hot path: an
// atomic add once the backend knows the counter's slot for this catalog.
void count_choice(const CatalogCache &c, size_t group, int32_t node) noexcept;

// shardroute.log_routing: each choice is logged at DEBUG1.
extern bool log_routing;

} // namespace shardroute::pg
