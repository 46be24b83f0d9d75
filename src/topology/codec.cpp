#include "topology/codec.hpp"

#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <nlohmann/json.hpp>

namespace shardroute::topology {

using nlohmann::json;

namespace {

const json *column(const json &row, const std::string &key) {
    auto it = row.find(key);
    return it == row.end() || it->is_null() ? nullptr : &*it;
}

std::string text(const json &row, const std::string &key) {
    const json *v = column(row, key);
    return v && v->is_string() ? v->get<std::string>() : std::string();
}

std::optional<std::string> opt_text(const json &row, const std::string &key) {
    const json *v = column(row, key);
    return v && v->is_string() ? std::optional<std::string>(v->get<std::string>()) : std::nullopt;
}

std::optional<int64_t> opt_int(const json &row, const std::string &key) {
    const json *v = column(row, key);
    return v && v->is_number_integer() ? std::optional<int64_t>(v->get<int64_t>()) : std::nullopt;
}

int int_or(const json &row, const std::string &key, int fallback) {
    auto v = opt_int(row, key);
    return v && *v >= std::numeric_limits<int>::min() && *v <= std::numeric_limits<int>::max() ? static_cast<int>(*v)
                                                                                               : fallback;
}

// A float8 column: a JSON number, or the strings PostgreSQL writes for the
// values JSON has no number for (NaN, Infinity, -Infinity).
double float8(const json &row, const std::string &key) {
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

// A column of a described table (model.hpp) into its member, by the member's type.
template <typename Row> void read(const json &row, const char *name, Row &r, std::string Row::*member) {
    r.*member = text(row, name);
}
template <typename Row> void read(const json &row, const char *name, Row &r, int Row::*member) {
    r.*member = int_or(row, name, 0);
}
template <typename Row> void read(const json &row, const char *name, Row &r, std::optional<std::string> Row::*member) {
    r.*member = opt_text(row, name);
}
template <typename Row> void read(const json &row, const char *name, Row &r, std::optional<int64_t> Row::*member) {
    r.*member = opt_int(row, name);
}
// the row gives an interval also as <column>_us microseconds (the snapshot and the row trigger add it)
template <typename Row> void read(const json &row, const char *name, Row &r, Interval<Row> interval) {
    r.*interval.us = opt_int(row, std::string(name) + "_us");
}

// And back: what shardroute._apply_snapshot() loads.
template <typename Row> json value(const Row &r, std::string Row::*member) {
    return r.*member;
}
template <typename Row> json value(const Row &r, int Row::*member) {
    return r.*member;
}
template <typename Row> json value(const Row &r, std::optional<std::string> Row::*member) {
    return opt(r.*member);
}
template <typename Row> json value(const Row &r, std::optional<int64_t> Row::*member) {
    return opt(r.*member);
}
template <typename Row> json value(const Row &r, Interval<Row> interval) {
    const std::optional<int64_t> &us = r.*interval.us;
    return us ? json(fmt::format("{} microseconds", *us)) : json(nullptr);
}

template <typename Row, size_t N> Row decode_columns(const json &row, const Column<Row> (&columns)[N]) {
    Row r;
    for (const auto &c : columns)
        std::visit([&](auto member) { read(row, c.name, r, member); }, c.member);
    return r;
}

template <typename Row, size_t N> json encode_columns(const Row &r, const Column<Row> (&columns)[N]) {
    json out = json::object();
    for (const auto &c : columns)
        out[c.name] = std::visit([&](auto member) { return value(r, member); }, c.member);
    return out;
}

} // namespace

Node decode_node(const json &row) {
    return decode_columns(row, node_columns);
}

Cluster decode_cluster(const json &row) {
    return decode_columns(row, cluster_columns);
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
    return encode_columns(n, node_columns);
}

json encode(const Cluster &c) {
    return encode_columns(c, cluster_columns);
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
