// The catalog as the SQL functions see it: loaded through SPI (on a Citus
// worker, read from its copy of the coordinator's without SQL), guarded by
// triggers, and cached per backend until PostgreSQL's relcache invalidation
// says a catalog table changed.
#pragma once

#include "routing/route_table.hpp"
#include "topology/model.hpp"

#include "pg/postgres.hpp"

extern "C" {
#include "storage/lock.h"
}

#include <string>
#include <vector>

namespace shardroute::pg {

struct CatalogCache {
    topology::Topology topology;
    routing::RouteTable routes;
    std::vector<Oid> relids; // the catalog tables: an invalidation of one means "reload"
    uint64_t generation = 0; // changes on every reload; call-site memos compare it
    // loaded in parallel mode (with the query's snapshot): valid in that statement only
    LocalTransactionId only_lxid = InvalidLocalTransactionId;
    TimestampTz only_statement = 0;
};

// The cached catalog, reloaded first if an invalidation arrived since the last load.
const CatalogCache &catalog();

// The catalog as committed now plus this transaction's own changes (a fresh
// snapshot, not the cache): for validation, check_topology and the Django bridge.
topology::Topology load_topology();

// The same as the document shardroute._snapshot() returns (its text).
std::string snapshot_text();

// Hooks the cache into relcache invalidation; called once from _PG_init.
void register_catalog_callbacks();

} // namespace shardroute::pg
