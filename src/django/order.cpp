#include "django/order.hpp"

#include <tuple>

namespace shardroute::django {

using namespace topology;

// One order for every list, so equal catalogs compare equal and actions come out sorted.
void sort_topology(Topology &t) {
    sort_by(t.nodes, [](const Node &n) { return n.name; });
    sort_by(t.clusters, [](const Cluster &c) { return c.name; });
    sort_by(t.ranges, [](const ShardRange &r) { return std::tie(r.cluster, r.first, r.last, r.node); });
    sort_by(t.read_groups, [](const ReadGroup &g) { return g.name; });
    sort_by(t.members, [](const ReadMember &m) { return std::tie(m.read_group, m.node); });
}

// A cluster's ranges in a fixed order: compared for "updated", and written as SHARDS.
std::vector<ShardRange> ranges_of(const Topology &t, const std::string &cluster) {
    std::vector<ShardRange> out;
    for (const auto &r : t.ranges)
        if (r.cluster == cluster)
            out.push_back(r);
    sort_by(out, [](const ShardRange &r) { return std::tie(r.first, r.last, r.node); });
    return out;
}

// A group's READ list in a fixed order: compared for "updated", and exported sorted by alias.
std::vector<ReadMember> members_of(const Topology &t, const std::string &group) {
    std::vector<ReadMember> out;
    for (const auto &m : t.members)
        if (m.read_group == group)
            out.push_back(m);
    sort_by(out, [](const ReadMember &m) { return m.node; });
    return out;
}

} // namespace shardroute::django
