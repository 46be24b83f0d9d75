// shardroute's GUCs, defined in module.cpp.
#pragma once

namespace shardroute::pg {

// shardroute.read_from_standbys: read_cluster() may answer with the standby cluster.
extern bool read_from_standbys;

// shardroute.fence_timeout: how long fence_shards waits for writers under way (ms).
extern int fence_timeout_ms;

} // namespace shardroute::pg
