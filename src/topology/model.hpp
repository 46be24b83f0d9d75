// The catalog model: plain C++ values mirroring the shardroute catalog tables.
// Every other module (validation, Django settings, routing, PL/Proxy, Citus)
// works on these, never on tuples.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shardroute::topology {

// A standby's max_lag when the catalog gives none: 3 s, CommCare's
// ACCEPTABLE_REPLICATION_DELAY default (the SQL add_standby() default says the same).
inline constexpr int64_t default_max_lag_us = 3000000;

// A database endpoint, named by its Django alias. A standby has primary_node set.
struct Node {
    std::string name;
    std::string host;
    int port = 5432;
    std::optional<std::string> dbname;
    std::optional<std::string> options;         // extra libpq keywords, never a password
    std::optional<std::string> citus_role;      // "coordinator" | "worker"
    std::optional<std::string> citus_node_name; // "host:port" the coordinator uses
    std::optional<std::string> plproxy_host;    // the host PL/Proxy connects to, when not `host` (Django PLPROXY_HOST)
    // standby only
    std::optional<std::string> primary_node;
    std::optional<int64_t> max_lag_us;
    std::optional<int64_t> max_lag_bytes;
    std::optional<std::string> application_name; // as seen in the primary's pg_stat_replication

    bool is_standby() const { return primary_node.has_value(); }
    // The name the standby reports in pg_stat_replication (default: its own name).
    const std::string &replication_name() const { return application_name ? *application_name : name; }
    bool operator==(const Node &o) const;
};

struct Cluster {
    std::string name;
    int shard_count = 1024;
    std::string algorithm = "siphash24";
    std::optional<std::string> proxy_node;
    std::optional<std::string> standby_proxy_node;
    bool operator==(const Cluster &o) const;
};

// Shards first..last (inclusive) of `cluster` live on `node`.
struct ShardRange {
    std::string cluster;
    std::string node;
    int first = 0;
    int last = 0;
    bool operator==(const ShardRange &o) const;
};

// The Django setting a read group came from.
inline constexpr std::string_view reporting_databases = "REPORTING_DATABASES";
inline constexpr std::string_view load_balanced_apps = "LOAD_BALANCED_APPS";

// One REPORTING_DATABASES engine or LOAD_BALANCED_APPS app: a WRITE node and a weighted READ list.
struct ReadGroup {
    std::string name;
    std::string write_node;
    std::string setting = std::string(reporting_databases);
    bool operator==(const ReadGroup &o) const;
};

struct ReadMember {
    std::string read_group;
    std::string node;
    double weight = 1;
    bool operator==(const ReadMember &o) const;
};

struct Topology {
    std::vector<Node> nodes;
    std::vector<Cluster> clusters;
    std::vector<ShardRange> ranges;
    std::vector<ReadGroup> read_groups;
    std::vector<ReadMember> members;

    const Node *find_node(std::string_view name) const;
    const Cluster *find_cluster(std::string_view name) const;
    const ReadGroup *find_read_group(std::string_view name) const;
};

} // namespace shardroute::topology
