#include "routing/route_table.hpp"

#include "topology/conninfo.hpp"

#include <algorithm>

namespace shardroute::routing {

const ClusterRoute *RouteTable::find_cluster(std::string_view name) const {
    for (const auto &c : clusters)
        if (c.name == name)
            return &c;
    return nullptr;
}

const ReadGroupRoute *RouteTable::find_read_group(std::string_view name) const {
    for (const auto &g : read_groups)
        if (g.name == name)
            return &g;
    return nullptr;
}

int32_t RouteTable::find_node(std::string_view name) const {
    auto it = std::lower_bound(nodes.begin(), nodes.end(), name,
                               [](const std::string &a, std::string_view b) { return std::string_view(a) < b; });
    return it != nodes.end() && *it == name ? static_cast<int32_t>(it - nodes.begin()) : unassigned;
}

RouteTable build_route_table(const topology::Topology &t) {
    RouteTable map;
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
                if (node != unassigned)
                    route.nodes.push_back(node);
            }
            std::sort(route.nodes.begin(), route.nodes.end());
            route.nodes.erase(std::unique(route.nodes.begin(), route.nodes.end()), route.nodes.end());
        }
        map.clusters.push_back(std::move(route));
    }

    map.standbys_of.resize(map.nodes.size());
    std::vector<int32_t> standby_index(map.nodes.size(), -1);
    for (const auto *n : nodes) {
        if (!n->is_standby())
            continue;
        StandbyRoute sb;
        sb.node = map.find_node(n->name);
        sb.primary = map.find_node(*n->primary_node);
        sb.replication_name = n->replication_name();
        sb.limits.max_lag_us = n->max_lag_us.value_or(default_max_lag_us);
        sb.limits.max_lag_bytes = n->max_lag_bytes;
        standby_index[static_cast<size_t>(sb.node)] = static_cast<int32_t>(map.standbys.size());
        if (sb.primary != unassigned)
            map.standbys_of[static_cast<size_t>(sb.primary)].push_back(static_cast<int32_t>(map.standbys.size()));
        map.standbys.push_back(std::move(sb));
    }
    for (const auto &g : t.read_groups) {
        ReadGroupRoute route{g.name, map.find_node(g.write_node), {}};
        for (const auto &m : t.members) {
            int32_t node = m.read_group == g.name ? map.find_node(m.node) : unassigned;
            if (node != unassigned)
                route.members.push_back({node, m.weight, standby_index[static_cast<size_t>(node)]});
        }
        map.read_groups.push_back(std::move(route));
    }
    return map;
}

} // namespace shardroute::routing
