// The catalog's rules (DESIGN.md, "CommCare rules"): every problem at once,
// each naming its rule and the objects involved.
#pragma once
#include "common/cpp_only.hpp"

#include "topology/model.hpp"

#include <string>
#include <vector>

namespace shardroute::topology {

enum class ObjectKind { node, cluster, shard_range, read_group, read_member };

struct Problem {
    ObjectKind kind;
    std::string name;    // the node, cluster or read group
    std::string detail;  // for a shard range or read member: the node
    std::string rule;    // short rule name, e.g. "gap"
    std::string message; // "rule: what is wrong, naming the objects"
    std::string hint;

    // 'node "p1"', 'cluster "commcarehq"', 'read group "ucr"', ...
    std::string object() const;
};

// Rules about one row alone: checked as the row is written.
std::vector<Problem> check_node(const Node &node);
std::vector<Problem> check_cluster(const Cluster &cluster);
std::vector<Problem> check_range(const ShardRange &range);
std::vector<Problem> check_read_group(const ReadGroup &group);
std::vector<Problem> check_member(const ReadMember &member);

// Every rule, row and cross-row: what check_topology() returns and what a
// committing transaction must satisfy.
std::vector<Problem> validate(const Topology &topology);

// Throws Error 23514 whose message is the first problem and whose detail lists them all.
[[noreturn]] void raise_problems(const std::vector<Problem> &problems, const std::string &context);

// A name the catalog accepts (node, cluster, read group): non-empty, at most
// 63 bytes, no control characters.
bool valid_name(const std::string &name);

// A user-supplied value as error messages show it: whole when short, else its
// first bytes (cut at a UTF-8 character boundary) and its size, so a huge name
// never floods an error or the server log.
inline constexpr size_t max_quoted_bytes = 200;
std::string clip(const std::string &value);

} // namespace shardroute::topology
