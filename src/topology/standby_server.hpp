// The standby cluster of a PL/Proxy cluster: which standby serves a node's
// shards in it (plproxy_sync writes it, read_cluster judges it; the route
// table keeps each node's standbys in the same name order), the server's name,
// and what that name leaves for the cluster's own name (the validator's limit).
#pragma once

#include "topology/model.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace shardroute::topology {

inline constexpr std::string_view standby_server_suffix = "_standby";

// PostgreSQL names are at most 63 bytes; <cluster>_standby must fit.
inline constexpr size_t max_cluster_name_bytes = 63 - standby_server_suffix.size();

// "<cluster>_standby": the standby cluster of `cluster`.
inline std::string standby_server_name(std::string_view cluster) {
    std::string out(cluster);
    out += standby_server_suffix;
    return out;
}

// The standby serving `node`'s shards in the standby cluster: its first standby
// by name, or nullptr.
inline const Node *serving_standby(const Topology &t, std::string_view node) {
    const Node *best = nullptr;
    for (const auto &n : t.nodes)
        if (n.primary_node && *n.primary_node == node && (!best || n.name < best->name))
            best = &n;
    return best;
}

} // namespace shardroute::topology
