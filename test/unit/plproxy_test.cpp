// PL/Proxy server options generated from the catalog.
#include "check.hpp"

#include "common/error.hpp"
#include "plproxy/server_options.hpp"
#include "topology/conninfo.hpp"

using namespace shardroute;
using namespace shardroute::plproxy;
using topology::Node;
using topology::Topology;

namespace {
Node node(const std::string &name, const std::string &host, const char *primary = nullptr) {
    Node n;
    n.name = name;
    n.host = host;
    n.dbname = "db_" + name;
    if (primary) {
        n.primary_node = primary;
        n.max_lag_us = 3000000;
    }
    return n;
}

Topology four_shards() {
    Topology t;
    t.nodes = {node("p1", "pg1"), node("p2", "pg 2"), node("p1_standby", "pg1s", "p1")};
    t.clusters.push_back({"cc", 4, "siphash24", std::nullopt, std::nullopt});
    t.ranges = {{"cc", "p1", 0, 1}, {"cc", "p2", 2, 3}};
    return t;
}
} // namespace

TEST(plproxy_partition_options_follow_shard_ranges) {
    Topology t = four_shards();
    Options o = server_options(t, "cc", false, {});
    CHECK_EQ(o.size(), size_t{6});
    CHECK_EQ(o[0].first, std::string("connection_lifetime"));
    CHECK_EQ(o[0].second, std::string("1800"));
    CHECK_EQ(o[1].first, std::string("disable_binary"));
    CHECK_EQ(o[2].first, std::string("p0000"));
    CHECK_EQ(o[2].second, topology::conninfo(t.nodes[0]));
    CHECK_EQ(o[5].first, std::string("p0003"));
    CHECK_EQ(o[5].second, std::string("host='pg 2' port=5432 dbname=db_p2"));
}

TEST(plproxy_settings_override_defaults_and_are_checked) {
    Topology t = four_shards();
    Options o = server_options(t, "cc", false, {{"connection_lifetime", "60"}, {"query_timeout", "30"}});
    CHECK_EQ(o[0].second, std::string("60"));
    CHECK_EQ(o[1].first, std::string("query_timeout"));
    CHECK_THROWS(server_options(t, "cc", false, {{"p0000", "x"}}), "22023", "not a PL/Proxy cluster option");
    CHECK_THROWS(server_options(t, "cc", false, {{"query_timeout", "1s"}}), "22023", "whole number");
}

TEST(plproxy_standby_cluster_names_every_node_without_standby) {
    Topology t = four_shards();
    CHECK_THROWS(server_options(t, "cc", true, {}), "42704", "nodes without a standby: \"p2\"");
    t.nodes.push_back(node("p2_standby", "pg2s", "p2"));
    Options o = server_options(t, "cc", true, {});
    CHECK_EQ(o[2].second, std::string("host=pg1s port=5432 dbname=db_p1_standby"));
}

TEST(plproxy_errors_unknown_cluster_and_unassigned_shard) {
    Topology t = four_shards();
    CHECK_THROWS(server_options(t, "nope", false, {}), "42704", "cluster \"nope\" does not exist");
    t.ranges.pop_back();
    CHECK_THROWS(server_options(t, "cc", false, {}), "55000", "shard 2 of cluster \"cc\"");
}

TEST(plproxy_diff_is_minimal) {
    Options current = {{"connection_lifetime", "1800"}, {"p0000", "a"}, {"p0001", "b"}, {"p0002", "c"}};
    Options desired = {{"connection_lifetime", "1800"}, {"disable_binary", "1"}, {"p0000", "a"}, {"p0001", "x"}};
    auto d = diff(current, desired);
    CHECK_EQ(d.size(), size_t{3});
    CHECK(d[0].kind == Change::add && d[0].name == "disable_binary");
    CHECK(d[1].kind == Change::set && d[1].name == "p0001" && d[1].value == "x");
    CHECK(d[2].kind == Change::drop && d[2].name == "p0002");
    CHECK(diff(desired, desired).empty());
}
