// Lookup helpers shared by the shard lookups and read routing.
#pragma once

#include "routing/route_table.hpp"

#include "pg/catalog.hpp"

namespace shardroute::pg {

// The cluster named by argument `argno`, memoized per call site and cache
// generation; unknown or invalid clusters raise an error.
const routing::ClusterRoute &cluster_arg(FunctionCallInfo fcinfo, int argno, const CatalogCache &c);

// The node owning `shard`; an unassigned shard raises an error.
int32_t owner_of(const routing::ClusterRoute &route, uint32_t shard);

// The shard of the text key in argument 1.
uint32_t text_key_shard(FunctionCallInfo fcinfo, const routing::ClusterRoute &route);

// A node's name as a text Datum in the current memory context.
Datum node_name_datum(const CatalogCache &c, int32_t node);

} // namespace shardroute::pg
