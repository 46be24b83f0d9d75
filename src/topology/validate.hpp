// The catalog's rules (the CommCare rules of README.md, "Topology catalog"):
// every problem at once, each naming its rule, the objects and the field involved.
#pragma once

#include "topology/model.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace shardroute::topology {

enum class ObjectKind { node, cluster, shard_range, read_group, read_member };

struct Problem {
    ObjectKind kind;
    std::string name;    // the node, cluster or read group
    std::string detail;  // for a shard range or read member: the node
    Field field;         // model.hpp: the column, or the part of the object
    std::string rule;    // short rule name, e.g. "gap"
    std::string message; // "rule: what is wrong, naming the objects"
    std::string hint;
    // a step on the way to a valid topology (a cluster not filled yet): listed
    // by check_topology(), but a transaction may commit it
    bool incomplete = false;

    // 'node "p1"', 'cluster "commcarehq"', 'read group "ucr"', ...
    std::string object() const;
};

// Rules about a row that replaces an older one: what may never change.
std::vector<Problem> check_cluster_change(const Cluster &before, const Cluster &after);

// Rules about one row alone: checked as the row is written.
std::vector<Problem> check_node(const Node &node);
std::vector<Problem> check_cluster(const Cluster &cluster);
std::vector<Problem> check_range(const ShardRange &range);
std::vector<Problem> check_read_group(const ReadGroup &group);
std::vector<Problem> check_member(const ReadMember &member);

// The row rules for one row of the catalog table `table`, given as its JSON
// (see codec.hpp), plus, for an UPDATE, the rules about what may not change.
// What the row trigger runs.
std::vector<Problem> check_catalog_row(std::string_view table, const std::string &row, const std::string *before);

// Every rule, row and cross-row: what check_topology() returns and what a
// committing transaction must satisfy.
std::vector<Problem> validate(const Topology &topology);

// The problems a committing transaction must not leave: all but the incomplete ones.
std::vector<Problem> blocking(std::vector<Problem> problems);

// Throws Error 23514 whose message is the first problem and whose detail lists them all.
[[noreturn]] void raise_problems(const std::vector<Problem> &problems, const std::string &context);

// A name the catalog accepts (node, cluster, read group): non-empty, at most
// 63 bytes, no control characters.
bool valid_name(const std::string &name);

} // namespace shardroute::topology
