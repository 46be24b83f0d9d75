#include "topology/model.hpp"

#include <tuple>

namespace shardroute::topology {

bool Node::operator==(const Node &o) const {
    return std::tie(name, host, port, dbname, options, citus_role, citus_node_name, plproxy_host, primary_node,
                    max_lag_us, max_lag_bytes, application_name) ==
           std::tie(o.name, o.host, o.port, o.dbname, o.options, o.citus_role, o.citus_node_name, o.plproxy_host,
                    o.primary_node, o.max_lag_us, o.max_lag_bytes, o.application_name);
}

bool Cluster::operator==(const Cluster &o) const {
    return std::tie(name, shard_count, algorithm, proxy_node, standby_proxy_node) ==
           std::tie(o.name, o.shard_count, o.algorithm, o.proxy_node, o.standby_proxy_node);
}

bool ShardRange::operator==(const ShardRange &o) const {
    return std::tie(cluster, node, first, last) == std::tie(o.cluster, o.node, o.first, o.last);
}

bool ReadGroup::operator==(const ReadGroup &o) const {
    return std::tie(name, write_node, setting) == std::tie(o.name, o.write_node, o.setting);
}

bool ReadMember::operator==(const ReadMember &o) const {
    return std::tie(read_group, node, weight) == std::tie(o.read_group, o.node, o.weight);
}

namespace {
template <typename T> const T *find_named(const std::vector<T> &v, std::string_view name) {
    for (const auto &x : v)
        if (x.name == name)
            return &x;
    return nullptr;
}
} // namespace

const Node *Topology::find_node(std::string_view name) const {
    return find_named(nodes, name);
}
const Cluster *Topology::find_cluster(std::string_view name) const {
    return find_named(clusters, name);
}
const ReadGroup *Topology::find_read_group(std::string_view name) const {
    return find_named(read_groups, name);
}

} // namespace shardroute::topology
