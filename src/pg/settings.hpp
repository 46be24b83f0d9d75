// shardroute's GUCs, defined in module.cpp.
#pragma once

namespace shardroute::pg {

// shardroute.read_from_standbys: read_cluster() may answer with the standby cluster.
extern bool read_from_standbys;

} // namespace shardroute::pg
