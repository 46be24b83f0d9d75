// Read choice beyond the weighted pick: the reservoir pick of read_node_for_key,
// the standby-cluster rule of read_cluster and plproxy_sync, and their defaults.
#include "check.hpp"

#include "routing/read_choice.hpp"
#include "routing/route_table.hpp"
#include "routing/standby_cluster.hpp"
#include "topology/standby_server.hpp"

#include <vector>

using namespace shardroute;
using namespace shardroute::routing;

namespace {

// p1 and p2 own the shards of cluster c; p1 has standbys s1b and s1a (s1a
// first by name), p2 has s2; p3 has none and owns cluster d.
topology::Topology fleet() {
    topology::Topology t;
    auto node = [&t](std::string name, std::optional<std::string> primary = std::nullopt) {
        topology::Node n;
        n.name = name;
        n.host = name + ".example";
        n.primary_node = primary;
        t.nodes.push_back(n);
    };
    node("p1");
    node("p2");
    node("p3");
    node("s1b", "p1");
    node("s1a", "p1");
    node("s2", "p2");
    t.clusters.push_back({"c", 2, "siphash24", std::nullopt, std::nullopt});
    t.clusters.push_back({"d", 1, "siphash24", std::nullopt, std::nullopt});
    t.ranges.push_back({"c", "p1", 0, 0});
    t.ranges.push_back({"c", "p2", 1, 1});
    t.ranges.push_back({"d", "p3", 0, 0});
    return t;
}

const std::string &name_of(const RouteTable &t, int32_t standby) {
    return t.nodes[static_cast<size_t>(t.standbys[static_cast<size_t>(standby)].node)];
}

} // namespace

TEST(serving_standby_is_the_first_by_name) {
    RouteTable t = build_route_table(fleet());
    CHECK_EQ(name_of(t, serving_standby(t, t.find_node("p1"))), std::string("s1a"));
    CHECK_EQ(name_of(t, serving_standby(t, t.find_node("p2"))), std::string("s2"));
    CHECK_EQ(serving_standby(t, t.find_node("p3")), unassigned);
}

TEST(standby_cluster_only_when_every_serving_standby_is_fresh) {
    RouteTable t = build_route_table(fleet());
    const ClusterRoute &c = *t.find_cluster("c");
    std::vector<std::string> asked;
    auto fresh_except = [&](std::string stale) {
        return [&t, &asked, stale](int32_t s) {
            asked.push_back(name_of(t, s));
            return name_of(t, s) != stale;
        };
    };
    CHECK(standby_cluster_usable(t, c, fresh_except("")));
    CHECK((asked == std::vector<std::string>{"s1a", "s2"})); // only the serving standbys are judged
    CHECK(!standby_cluster_usable(t, c, fresh_except("s2")));
    CHECK(!standby_cluster_usable(t, c, fresh_except("s1a")));
    CHECK(standby_cluster_usable(t, c, fresh_except("s1b"))); // not serving: its freshness does not matter
    // a node without a standby, or a cluster without nodes, never uses the standby cluster
    CHECK(!standby_cluster_usable(t, *t.find_cluster("d"), [](int32_t) { return true; }));
    ClusterRoute empty;
    CHECK(!standby_cluster_usable(t, empty, [](int32_t) { return true; }));
}

TEST(reservoir_pick_is_uniform_over_eligible) {
    std::vector<bool> eligible = {true, false, true, true};
    // a fixed sequence of draws: the third eligible candidate replaces the
    // choice when draw * 3 < 1, and so on
    std::vector<double> draws = {0.9, 0.9, 0.2};
    size_t next = 0;
    int pick = reservoir_pick(
        eligible.size(), [&](size_t i) { return bool(eligible[i]); }, [&]() { return draws[next++]; });
    CHECK_EQ(pick, 3);
    CHECK_EQ(next, size_t(3)); // one draw per eligible candidate
    next = 0;
    draws = {0.5, 0.4, 0.9};
    CHECK_EQ(reservoir_pick(
                 eligible.size(), [&](size_t i) { return bool(eligible[i]); }, [&]() { return draws[next++]; }),
             2);
    CHECK_EQ(reservoir_pick(
                 3, [](size_t) { return false; }, []() { return 0.0; }),
             -1);
    // with a fair generator every eligible candidate gets about a third
    std::vector<int> hits(4, 0);
    uint64_t x = 88172645463325252ULL;
    auto rnd = [&x]() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return static_cast<double>(x >> 11) / 9007199254740992.0;
    };
    for (int i = 0; i < 30000; ++i)
        ++hits[static_cast<size_t>(reservoir_pick(
            eligible.size(), [&](size_t k) { return bool(eligible[k]); }, rnd))];
    CHECK_EQ(hits[1], 0);
    for (size_t k : {0, 2, 3})
        CHECK(hits[k] > 9000 && hits[k] < 11000);
}

TEST(default_max_lag_is_three_seconds) {
    CHECK_EQ(default_max_lag_us, int64_t(3000000));
    CHECK_EQ(StandbyLimits{}.max_lag_us, default_max_lag_us);
    RouteTable t = build_route_table(fleet());
    for (const auto &sb : t.standbys)
        CHECK_EQ(sb.limits.max_lag_us, default_max_lag_us); // no max_lag in the catalog
}

TEST(standby_server_name_and_cluster_name_limit) {
    CHECK_EQ(topology::standby_server_name("commcarehq"), std::string("commcarehq_standby"));
    CHECK_EQ(topology::max_cluster_name_bytes, size_t(55));
    CHECK_EQ(topology::standby_server_name(std::string(topology::max_cluster_name_bytes, 'x')).size(), size_t(63));
}
