// PL/Proxy cluster configuration generated from the catalog: the SQL/MED
// server options one cluster needs (one pNNNN per shard), and the smallest
// change that turns a server's current options into them.
#pragma once

#include "topology/model.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shardroute::plproxy {

using Options = std::vector<std::pair<std::string, std::string>>;

// PL/Proxy's settings besides the partitions (values are whole numbers).
bool is_setting(std::string_view key);
std::string known_settings();

// "p0000", "p0001", ...: CommCare's spelling of the partition options.
std::string partition_option(int shard);
bool is_partition_option(std::string_view key);

// Every option the cluster's server must have: the settings (defaults
// connection_lifetime 1800 and disable_binary 1, then `settings` on top), then
// one partition option per shard holding the owning node's conninfo (or its
// standby's, for the standby cluster). Throws Error naming every problem:
// unknown cluster, unassigned shards, nodes without a standby, bad settings.
Options server_options(const topology::Topology &t, const std::string &cluster, bool for_standbys,
                       const Options &settings);

// Checks user-given settings: only PL/Proxy's keys, whole-number values.
void check_settings(const Options &settings);

struct Change {
    enum Kind { add, set, drop } kind;
    std::string name;
    std::string value; // empty for drop
};

// ALTER SERVER ... OPTIONS (...) items turning `current` into `desired`; empty
// when they already agree.
std::vector<Change> diff(const Options &current, const Options &desired);

} // namespace shardroute::plproxy
