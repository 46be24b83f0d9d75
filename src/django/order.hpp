// One order for every catalog list, so equal catalogs compare equal, import
// rows come out sorted and the export writes SHARDS and READ lists the same way
// each time. Internal to src/django/.
#pragma once

#include "topology/model.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace shardroute::django {

// Sorting by a key tuple reads better than a hand-written comparator per type.
template <typename T, typename Key> void sort_by(std::vector<T> &v, Key key) {
    std::sort(v.begin(), v.end(), [&](const T &a, const T &b) { return key(a) < key(b); });
}

// Every list of the catalog in its one order.
void sort_topology(topology::Topology &t);

// A cluster's ranges by (first, last, node); a group's READ list by node.
std::vector<topology::ShardRange> ranges_of(const topology::Topology &t, const std::string &cluster);
std::vector<topology::ReadMember> members_of(const topology::Topology &t, const std::string &group);

} // namespace shardroute::django
