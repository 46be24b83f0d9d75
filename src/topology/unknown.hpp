// The one error for a name that names nothing: every function that takes a
// node, standby, cluster or read group name, in C++ or in PL/pgSQL (through
// shardroute._unknown()), reports it the same way: SQLSTATE 42704, the known
// names of that kind (sorted bytewise, at most 20), and how to create one.
#pragma once

#include "common/error.hpp"
#include "topology/model.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace shardroute::topology {

enum class Kind { node, standby, cluster, read_group };

// "node", "standby", "cluster", "read group"; parse_kind is its inverse and
// throws for anything else.
std::string_view kind_name(Kind kind);
Kind parse_kind(std::string_view name);

// The error, with the caller's location (filled in at the call site).
Error unknown_error(Kind kind, std::string_view name, std::vector<std::string> known,
                    const char *file = __builtin_FILE(), int line = __builtin_LINE(),
                    const char *function = __builtin_FUNCTION());

// The names of that kind in a topology (standbys: the nodes that have a primary).
std::vector<std::string> known_names(const Topology &t, Kind kind);

} // namespace shardroute::topology
