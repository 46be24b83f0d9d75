#include "topology/snapshot.hpp"

#include "common/error.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace shardroute::topology {

using nlohmann::json;

namespace {

std::optional<std::string> opt_string(const json &row, const char *key) {
    auto it = row.find(key);
    if (it == row.end() || it->is_null())
        return std::nullopt;
    return it->get<std::string>();
}

std::optional<int64_t> opt_int(const json &row, const char *key) {
    auto it = row.find(key);
    if (it == row.end() || it->is_null())
        return std::nullopt;
    return it->get<int64_t>();
}

const json &rows(const json &doc, const char *table) {
    static const json empty = json::array();
    auto it = doc.find(table);
    return it == doc.end() || it->is_null() ? empty : *it;
}

json opt(const std::optional<std::string> &v) {
    return v ? json(*v) : json(nullptr);
}
json opt(const std::optional<int64_t> &v) {
    return v ? json(*v) : json(nullptr);
}

} // namespace

Topology topology_from_snapshot(const std::string &text) {
    Topology t;
    try {
        json doc = json::parse(text);
        for (const auto &r : rows(doc, "node")) {
            Node n;
            n.name = r.at("name").get<std::string>();
            n.host = r.at("host").get<std::string>();
            n.port = r.at("port").get<int>();
            n.dbname = opt_string(r, "dbname");
            n.options = opt_string(r, "options");
            n.citus_role = opt_string(r, "citus_role");
            n.citus_node_name = opt_string(r, "citus_node_name");
            n.plproxy_host = opt_string(r, "plproxy_host");
            n.primary_node = opt_string(r, "primary_node");
            n.max_lag_us = opt_int(r, "max_lag_us");
            n.max_lag_bytes = opt_int(r, "max_lag_bytes");
            n.application_name = opt_string(r, "application_name");
            t.nodes.push_back(std::move(n));
        }
        for (const auto &r : rows(doc, "shard_cluster"))
            t.clusters.push_back(Cluster{r.at("name").get<std::string>(), r.at("shard_count").get<int>(),
                                         r.at("algorithm").get<std::string>(), opt_string(r, "proxy_node"),
                                         opt_string(r, "standby_proxy_node")});
        for (const auto &r : rows(doc, "shard_range"))
            t.ranges.push_back(ShardRange{r.at("cluster").get<std::string>(), r.at("node").get<std::string>(),
                                          r.at("first_shard").get<int>(), r.at("last_shard").get<int>()});
        for (const auto &r : rows(doc, "read_group"))
            t.read_groups.push_back(ReadGroup{r.at("name").get<std::string>(), r.at("write_node").get<std::string>(),
                                              r.at("setting").get<std::string>()});
        for (const auto &r : rows(doc, "read_member"))
            t.members.push_back(ReadMember{r.at("read_group").get<std::string>(), r.at("node").get<std::string>(),
                                           r.at("weight").get<double>()});
    } catch (const json::exception &e) {
        throw Error(sqlstate::internal_error, "could not read the shardroute catalog snapshot", e.what());
    }
    return t;
}

std::string topology_to_snapshot(const Topology &t) {
    json doc = {{"node", json::array()},
                {"shard_cluster", json::array()},
                {"shard_range", json::array()},
                {"read_group", json::array()},
                {"read_member", json::array()}};
    for (const auto &n : t.nodes) {
        json max_lag = nullptr;
        if (n.max_lag_us)
            max_lag = fmt::format("{} microseconds", *n.max_lag_us);
        doc["node"].push_back({{"name", n.name},
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
                               {"application_name", opt(n.application_name)}});
    }
    for (const auto &c : t.clusters)
        doc["shard_cluster"].push_back({{"name", c.name},
                                        {"shard_count", c.shard_count},
                                        {"algorithm", c.algorithm},
                                        {"proxy_node", opt(c.proxy_node)},
                                        {"standby_proxy_node", opt(c.standby_proxy_node)}});
    for (const auto &r : t.ranges)
        doc["shard_range"].push_back(
            {{"cluster", r.cluster}, {"node", r.node}, {"first_shard", r.first}, {"last_shard", r.last}});
    for (const auto &g : t.read_groups)
        doc["read_group"].push_back({{"name", g.name}, {"write_node", g.write_node}, {"setting", g.setting}});
    for (const auto &m : t.members)
        doc["read_member"].push_back({{"read_group", m.read_group}, {"node", m.node}, {"weight", m.weight}});
    return doc.dump();
}

} // namespace shardroute::topology
