// The name of a cluster's PL/Proxy server for its standbys, and what that
// name leaves for the cluster's own name: one rule for plproxy_sync's default
// server name, read_cluster's answer and the validator's length limit.
#pragma once
#include "common/cpp_only.hpp"

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

} // namespace shardroute::topology
