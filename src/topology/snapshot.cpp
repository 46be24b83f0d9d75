#include "topology/snapshot.hpp"

#include "common/error.hpp"
#include "topology/codec.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace shardroute::topology {

using nlohmann::json;

namespace {

const json &rows(const json &doc, const char *table) {
    static const json empty = json::array();
    auto it = doc.find(table);
    return it == doc.end() || it->is_null() ? empty : *it;
}

} // namespace

Topology topology_from_snapshot(const std::string &text) {
    Topology t;
    try {
        json doc = json::parse(text);
        for (const auto &r : rows(doc, "node"))
            t.nodes.push_back(decode_node(r));
        for (const auto &r : rows(doc, "shard_cluster"))
            t.clusters.push_back(decode_cluster(r));
        for (const auto &r : rows(doc, "shard_range"))
            t.ranges.push_back(decode_range(r));
        for (const auto &r : rows(doc, "read_group"))
            t.read_groups.push_back(decode_read_group(r));
        for (const auto &r : rows(doc, "read_member"))
            t.members.push_back(decode_member(r));
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
    for (const auto &n : t.nodes)
        doc["node"].push_back(encode(n));
    for (const auto &c : t.clusters)
        doc["shard_cluster"].push_back(encode(c));
    for (const auto &r : t.ranges)
        doc["shard_range"].push_back(encode(r));
    for (const auto &g : t.read_groups)
        doc["read_group"].push_back(encode(g));
    for (const auto &m : t.members)
        doc["read_member"].push_back(encode(m));
    return doc.dump();
}

std::vector<std::string> changed_tables(const std::string &before, const std::string &after) {
    nlohmann::json a = nlohmann::json::parse(after, nullptr, false);
    nlohmann::json b = nlohmann::json::parse(before, nullptr, false);
    std::vector<std::string> out;
    if (!a.is_object())
        return out;
    for (const auto &[table, rows] : a.items()) {
        if (table == "relids")
            continue;
        if (!b.is_object() || !b.contains(table) || b[table] != rows)
            out.push_back(table);
    }
    if (b.is_object()) // a table the catalog no longer has
        for (const auto &[table, rows] : b.items())
            if (table != "relids" && !a.contains(table))
                out.push_back(table);
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace shardroute::topology
