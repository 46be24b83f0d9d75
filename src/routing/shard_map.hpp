// The lookup side of the catalog: for each cluster, which node owns each
// shard, laid out so a lookup is one mask and one array index.
#pragma once
#include "common/cpp_only.hpp"

#include "hash/algorithm.hpp"
#include "topology/model.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace shardroute::routing {

inline constexpr int32_t unassigned = -1;

struct ClusterRoute {
    std::string name;
    uint32_t shard_count = 0;
    hash::Algorithm algorithm = hash::Algorithm::siphash24;
    std::vector<int32_t> owner; // per shard: index into ShardMap::nodes, or unassigned

    // pghashlib's int4 hash -> shard, as PL/Proxy's RUN ON does: hash & (count - 1).
    uint32_t shard_of(int32_t hash) const { return static_cast<uint32_t>(hash) & (shard_count - 1); }
};

struct ShardMap {
    std::vector<std::string> nodes;    // every node, sorted by name
    std::vector<std::string> conninfo; // parallel to nodes
    std::vector<ClusterRoute> clusters;

    // Linear on purpose: a fleet has a handful of clusters, and a string_view
    // compare needs no allocation (callers cache the result per call site).
    const ClusterRoute *find_cluster(std::string_view name) const;
    int32_t find_node(std::string_view name) const;
};

ShardMap build_shard_map(const topology::Topology &topology);

} // namespace shardroute::routing
