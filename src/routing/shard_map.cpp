#include "routing/shard_map.hpp"

#include "topology/conninfo.hpp"

#include <algorithm>

namespace shardroute::routing {

const ClusterRoute *ShardMap::find_cluster(std::string_view name) const {
    for (const auto &c : clusters)
        if (c.name == name)
            return &c;
    return nullptr;
}

int32_t ShardMap::find_node(std::string_view name) const {
    auto it = std::lower_bound(nodes.begin(), nodes.end(), name,
                               [](const std::string &a, std::string_view b) { return std::string_view(a) < b; });
    return it != nodes.end() && *it == name ? static_cast<int32_t>(it - nodes.begin()) : unassigned;
}

ShardMap build_shard_map(const topology::Topology &t) {
    ShardMap map;
    std::vector<const topology::Node *> nodes;
    for (const auto &n : t.nodes)
        nodes.push_back(&n);
    std::sort(nodes.begin(), nodes.end(), [](auto *a, auto *b) { return a->name < b->name; });
    for (const auto *n : nodes) {
        map.nodes.push_back(n->name);
        std::string ci;
        try {
            ci = topology::conninfo(*n);
        } catch (...) {
            ci.clear(); // invalid options are reported by validation; conninfo() then errors
        }
        map.conninfo.push_back(std::move(ci));
    }
    for (const auto &c : t.clusters) {
        ClusterRoute route;
        route.name = c.name;
        auto algorithm = hash::find_algorithm(c.algorithm);
        bool usable = algorithm && c.shard_count > 0 && (c.shard_count & (c.shard_count - 1)) == 0;
        if (usable) {
            route.algorithm = *algorithm;
            route.shard_count = static_cast<uint32_t>(c.shard_count);
            route.owner.assign(route.shard_count, unassigned);
            for (const auto &r : t.ranges) {
                if (r.cluster != c.name)
                    continue;
                int32_t node = map.find_node(r.node);
                for (long s = std::max(0, r.first); s <= r.last && s < c.shard_count; ++s)
                    route.owner[static_cast<size_t>(s)] = node;
            }
        }
        map.clusters.push_back(std::move(route));
    }
    return map;
}

} // namespace shardroute::routing
