// shardroute's GUCs, defined in module.cpp.
#pragma once

namespace shardroute::pg {

// shardroute.read_from_standbys: read_cluster() may answer with the standby cluster.
extern bool read_from_standbys;

// shardroute.fence_timeout: how long fence_shards waits for writers under way (ms).
extern int fence_timeout_ms;

// shardroute.fence_cleanup: the fence guard lets DELETE remove rows of shards
// that moved away (the misplaced-row clean-up turns it on for its session).
extern bool fence_cleanup;

} // namespace shardroute::pg
