// The catalog model: plain C++ values mirroring the shardroute catalog tables.
// Every other module (validation, Django settings, routing, PL/Proxy, Citus)
// works on these, never on tuples. The node and cluster columns are described
// once, in node_columns and cluster_columns below.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace shardroute::topology {

// A standby's max_lag when the catalog gives none: 3 s, CommCare's
// ACCEPTABLE_REPLICATION_DELAY default (the SQL add_standby() default says the same).
inline constexpr int64_t default_max_lag_us = 3000000;

// The column (or, for the cross-row rules, the part of the object) a validation
// problem is about: how outside formats (the Django settings) point at the
// line to fix. `none`: the object as a whole.
enum class Field {
    none,
    // node
    name,
    host,
    port,
    dbname,
    options,
    citus_role,
    citus_node_name,
    plproxy_host,
    primary_node,
    max_lag,
    max_lag_bytes,
    application_name,
    // cluster
    shard_count,
    algorithm,
    proxy_node,
    standby_proxy_node,
    shards,
    // shard range (its cluster and node), read group and member
    cluster,
    node,
    write_node,
    setting,
    read_list,
    read_group,
    weight
};

// A database endpoint, named by its Django alias. A standby has primary_node set.
// A new column: its member here, its Field above, its line in node_columns below.
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

// How a Django DATABASES entry carries a node column (src/django/).
enum class Django {
    plain,   // the value as it is: a string, an integer, seconds for an interval; read and written through node_columns
    by_hand, // a form of its own: django/document.cpp reads it and django/export.cpp writes it
};

// Where a DATABASES entry holds a column: a key of the entry ("NAME") or of one
// of its groups ("STANDBY", "MAX_LAG_BYTES"). No key: not in Django (the alias).
struct DjangoKey {
    const char *group = nullptr; // "STANDBY" or "PLPROXY"; nullptr: the entry itself
    const char *key = nullptr;
    Django how = Django::plain;

    constexpr DjangoKey() = default;
    constexpr DjangoKey(const char *key, Django how = Django::plain) : key(key), how(how) {}
    constexpr DjangoKey(const char *group, const char *key, Django how = Django::plain)
        : group(group), key(key), how(how) {}
};

// An interval column, held in the model as microseconds: read from
// <column>_us (codec.hpp), written as interval text.
template <typename Row> struct Interval { std::optional<int64_t> Row::*us; };
template <typename Row> constexpr Interval<Row> interval_us(std::optional<int64_t> Row::*us) {
    return {us};
}

// One catalog column, described once. The codec (codec.hpp) reads and writes
// it under `name`, operator== compares it, validation problems about it carry
// `field`, and the Django settings (node columns only) read, write and name it
// at `django`.
template <typename Row> struct Column {
    using Member = std::variant<std::string Row::*, int Row::*, std::optional<std::string> Row::*,
                                std::optional<int64_t> Row::*, Interval<Row>>;
    const char *name;
    Member member;
    Field field;
    DjangoKey django = {};
};

// shardroute.node, in the order a DATABASES entry is read (so that a document
// with several malformed keys is always refused at the same one).
inline constexpr Column<Node> node_columns[] = {
    {"name", &Node::name, Field::name}, // the entry's alias, no key
    {"host", &Node::host, Field::host, {"HOST", Django::by_hand}},
    {"port", &Node::port, Field::port, {"PORT", Django::by_hand}},
    {"dbname", &Node::dbname, Field::dbname, {"NAME"}},
    {"options", &Node::options, Field::options, {"OPTIONS", Django::by_hand}}, // with USER
    {"citus_role", &Node::citus_role, Field::citus_role, {"ROLE", Django::by_hand}},
    {"citus_node_name", &Node::citus_node_name, Field::citus_node_name, {"CITUS_NODE_NAME"}},
    {"plproxy_host", &Node::plproxy_host, Field::plproxy_host, {"PLPROXY", "PLPROXY_HOST", Django::by_hand}},
    // standby only
    {"primary_node", &Node::primary_node, Field::primary_node, {"STANDBY", "MASTER", Django::by_hand}},
    {"max_lag", interval_us(&Node::max_lag_us), Field::max_lag, {"STANDBY", "ACCEPTABLE_REPLICATION_DELAY"}},
    {"max_lag_bytes", &Node::max_lag_bytes, Field::max_lag_bytes, {"STANDBY", "MAX_LAG_BYTES"}},
    {"application_name", &Node::application_name, Field::application_name, {"STANDBY", "APPLICATION_NAME"}},
};

// A sharded cluster (PL_PROXY_CLUSTER_NAME). A new column: its member here, its Field above, its line in
// cluster_columns below.
struct Cluster {
    std::string name;
    int shard_count = 1024;
    std::string algorithm = "siphash24";
    std::optional<std::string> proxy_node;
    std::optional<std::string> standby_proxy_node;
    bool operator==(const Cluster &o) const;
};

// shardroute.shard_cluster. No Django keys: the import builds the cluster from
// every entry's PLPROXY group (django/document.cpp), the export writes it back.
inline constexpr Column<Cluster> cluster_columns[] = {
    {"name", &Cluster::name, Field::name},
    {"shard_count", &Cluster::shard_count, Field::shard_count},
    {"algorithm", &Cluster::algorithm, Field::algorithm},
    {"proxy_node", &Cluster::proxy_node, Field::proxy_node},
    {"standby_proxy_node", &Cluster::standby_proxy_node, Field::standby_proxy_node},
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
