// The fence guard of the partition databases: the trigger that refuses writes
// to fenced shards, and its backend-local cache of shardroute.partition_fence.
#pragma once

namespace shardroute::pg {

// From _PG_init: the fence cache reloads on a relcache invalidation of
// partition_fence (its statement trigger sends one on every change).
void register_fence_callbacks();

} // namespace shardroute::pg
