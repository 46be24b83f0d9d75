#include "topology/model.hpp"

#include <tuple>

namespace shardroute::topology {

namespace {

template <typename Row, typename T> bool same(const Row &a, const Row &b, T Row::*member) {
    return a.*member == b.*member;
}
template <typename Row> bool same(const Row &a, const Row &b, Interval<Row> interval) {
    return a.*interval.us == b.*interval.us;
}

// Equal in every column of the table: a new column is compared once it has its line.
template <typename Row, size_t N> bool same_columns(const Row &a, const Row &b, const Column<Row> (&columns)[N]) {
    for (const auto &c : columns)
        if (!std::visit([&](auto member) { return same(a, b, member); }, c.member))
            return false;
    return true;
}

template <typename T> const T *find_named(const std::vector<T> &v, std::string_view name) {
    for (const auto &x : v)
        if (x.name == name)
            return &x;
    return nullptr;
}

} // namespace

bool Node::operator==(const Node &o) const {
    return same_columns(*this, o, node_columns);
}

bool Cluster::operator==(const Cluster &o) const {
    return same_columns(*this, o, cluster_columns);
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
