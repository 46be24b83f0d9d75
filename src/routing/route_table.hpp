// The lookup side of the catalog: for each cluster, which node owns each
// shard, laid out so a lookup is one mask and one array index; and for reads,
// each standby's limits and each read group's weighted members.
#pragma once

#include "hash/algorithm.hpp"
#include "routing/read_choice.hpp"
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
    std::vector<int32_t> owner; // per shard: index into RouteTable::nodes, or unassigned
    std::vector<int32_t> nodes; // the distinct owners, sorted

    // pghashlib's int4 hash -> shard, as PL/Proxy's RUN ON does: hash & (count - 1).
    uint32_t shard_of(int32_t hash) const { return static_cast<uint32_t>(hash) & (shard_count - 1); }
};

struct StandbyRoute {
    int32_t node;                 // index into RouteTable::nodes
    int32_t primary;              // index into RouteTable::nodes, or unassigned if unknown
    std::string replication_name; // application_name in the primary's pg_stat_replication
    StandbyLimits limits;
};

struct ReadMemberRoute {
    int32_t node;
    double weight;
    int32_t standby; // index into RouteTable::standbys, or -1 for a primary (always eligible)
};

struct ReadGroupRoute {
    std::string name;
    int32_t write_node; // unassigned if the catalog names an unknown node
    std::vector<ReadMemberRoute> members;
};

struct RouteTable {
    std::vector<std::string> nodes;    // every node, sorted by name
    std::vector<std::string> conninfo; // parallel to nodes
    std::vector<ClusterRoute> clusters;
    std::vector<StandbyRoute> standbys;            // sorted by name
    std::vector<std::vector<int32_t>> standbys_of; // per node: indexes into standbys
    std::vector<ReadGroupRoute> read_groups;

    const ReadGroupRoute *find_read_group(std::string_view name) const;

    // Linear on purpose: a fleet has a handful of clusters, and a string_view
    // compare needs no allocation (callers cache the result per call site).
    const ClusterRoute *find_cluster(std::string_view name) const;
    int32_t find_node(std::string_view name) const;
};

RouteTable build_route_table(const topology::Topology &topology);

} // namespace shardroute::routing
