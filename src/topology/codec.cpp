#include "topology/codec.hpp"

#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <nlohmann/json.hpp>

namespace shardroute::topology {

using nlohmann::json;

namespace {

const json *column(const json &row, const char *key) {
    auto it = row.find(key);
    return it == row.end() || it->is_null() ? nullptr : &*it;
}

std::string text(const json &row, const char *key) {
    const json *v = column(row, key);
    return v && v->is_string() ? v->get<std::string>() : std::string();
}

std::optional<std::string> opt_text(const json &row, const char *key) {
    const json *v = column(row, key);
    return v && v->is_string() ? std::optional<std::string>(v->get<std::string>()) : std::nullopt;
}

std::optional<int64_t> opt_int(const json &row, const char *key) {
    const json *v = column(row, key);
    return v && v->is_number_integer() ? std::optional<int64_t>(v->get<int64_t>()) : std::nullopt;
}

int int_or(const json &row, const char *key, int fallback) {
    auto v = opt_int(row, key);
    return v && *v >= std::numeric_limits<int>::min() && *v <= std::numeric_limits<int>::max() ? static_cast<int>(*v)
                                                                                               : fallback;
}

// A float8 column: a JSON number, or the strings PostgreSQL writes for the
// values JSON has no number for (NaN, Infinity, -Infinity).
double float8(const json &row, const char *key) {
    const json *v = column(row, key);
    if (v && v->is_number())
        return v->get<double>();
    std::string s = v && v->is_string() ? v->get<std::string>() : "NaN";
    if (s == "Infinity")
        return std::numeric_limits<double>::infinity();
    if (s == "-Infinity")
        return -std::numeric_limits<double>::infinity();
    return std::numeric_limits<double>::quiet_NaN();
}

json opt(const std::optional<std::string> &v) {
    return v ? json(*v) : json(nullptr);
}
json opt(const std::optional<int64_t> &v) {
    return v ? json(*v) : json(nullptr);
}

} // namespace

Node decode_node(const json &row) {
    Node n;
    n.name = text(row, "name");
    n.host = text(row, "host");
    n.port = int_or(row, "port", 0);
    n.dbname = opt_text(row, "dbname");
    n.options = opt_text(row, "options");
    n.citus_role = opt_text(row, "citus_role");
    n.citus_node_name = opt_text(row, "citus_node_name");
    n.plproxy_host = opt_text(row, "plproxy_host");
    n.primary_node = opt_text(row, "primary_node");
    n.max_lag_us = opt_int(row, "max_lag_us");
    n.max_lag_bytes = opt_int(row, "max_lag_bytes");
    n.application_name = opt_text(row, "application_name");
    return n;
}

Cluster decode_cluster(const json &row) {
    return Cluster{text(row, "name"), int_or(row, "shard_count", 0), text(row, "algorithm"),
                   opt_text(row, "proxy_node"), opt_text(row, "standby_proxy_node")};
}

ShardRange decode_range(const json &row) {
    return ShardRange{text(row, "cluster"), text(row, "node"), int_or(row, "first_shard", -1),
                      int_or(row, "last_shard", -1)};
}

ReadGroup decode_read_group(const json &row) {
    return ReadGroup{text(row, "name"), text(row, "write_node"), text(row, "setting")};
}

ReadMember decode_member(const json &row) {
    return ReadMember{text(row, "read_group"), text(row, "node"), float8(row, "weight")};
}

json encode(const Node &n) {
    json max_lag = nullptr;
    if (n.max_lag_us)
        max_lag = fmt::format("{} microseconds", *n.max_lag_us);
    return {{"name", n.name},
            {"host", n.host},
            {"port", n.port},
            {"dbname", opt(n.dbname)},
            {"options", opt(n.options)},
            {"citus_role", opt(n.citus_role)},
            {"citus_node_name", opt(n.citus_node_name)},
            {"plproxy_host", opt(n.plproxy_host)},
            {"primary_node", opt(n.primary_node)},
            {"max_lag", max_lag},
            {"max_lag_bytes", opt(n.max_lag_bytes)},
            {"application_name", opt(n.application_name)}};
}

json encode(const Cluster &c) {
    return {{"name", c.name},
            {"shard_count", c.shard_count},
            {"algorithm", c.algorithm},
            {"proxy_node", opt(c.proxy_node)},
            {"standby_proxy_node", opt(c.standby_proxy_node)}};
}

json encode(const ShardRange &r) {
    return {{"cluster", r.cluster}, {"node", r.node}, {"first_shard", r.first}, {"last_shard", r.last}};
}

json encode(const ReadGroup &g) {
    return {{"name", g.name}, {"write_node", g.write_node}, {"setting", g.setting}};
}

json encode(const ReadMember &m) {
    return {{"read_group", m.read_group}, {"node", m.node}, {"weight", m.weight}};
}

} // namespace shardroute::topology
