// Which standby serves a node's shards in the standby cluster, and when reads
// may use the standby cluster (read_cluster): CommCare's rule, in one place.
#pragma once

#include "routing/route_table.hpp"

#include <cstdint>

namespace shardroute::routing {

// The standby serving `node`'s shards in the standby cluster: its first
// standby by name (RouteTable::standbys_of is sorted by name), as index into
// RouteTable::standbys; unassigned when the node has none.
inline int32_t serving_standby(const RouteTable &t, int32_t node) noexcept {
    const auto &candidates = t.standbys_of[static_cast<size_t>(node)];
    return candidates.empty() ? unassigned : candidates.front();
}

// The standby cluster may serve a read only if every node owning shards of the
// cluster has a serving standby and that standby is fresh (eligible(standby
// index) is true); a cluster without nodes never uses it. Stops at the first
// standby that fails. Inline: read_cluster runs it on every proxied call.
template <typename Eligible>
bool standby_cluster_usable(const RouteTable &t, const ClusterRoute &c, Eligible &&eligible) {
    if (c.nodes.empty())
        return false;
    for (int32_t node : c.nodes) {
        int32_t sb = serving_standby(t, node);
        if (sb == unassigned || !eligible(sb))
            return false;
    }
    return true;
}

} // namespace shardroute::routing
