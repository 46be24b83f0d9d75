// "host" / "host:port" (topology/host_port.hpp): what the citus_node_name rule
// accepts is exactly what the Citus registration plan can use.
#include "check.hpp"

#include "citus/registration.hpp"
#include "common/error.hpp"
#include "topology/host_port.hpp"

#include <string>

using namespace shardroute::topology;

namespace {

// "host|port" ("host|-" without a port), or "refused": one string to compare.
std::string parsed(const std::string &text) {
    auto hp = parse_host_port(text);
    if (!hp)
        return "refused";
    return hp->host + "|" + (hp->port ? std::to_string(*hp->port) : "-");
}

Node citus_node(const std::string &name, const char *role, std::optional<std::string> citus_node_name) {
    Node n;
    n.name = name;
    n.host = name + ".db";
    n.port = 6432;
    n.citus_role = role;
    n.citus_node_name = std::move(citus_node_name);
    return n;
}

} // namespace

TEST(host_port_accepted) {
    CHECK_EQ(parsed("citus_worker1:5432"), std::string("citus_worker1|5432"));
    CHECK_EQ(parsed("citus_worker1"), std::string("citus_worker1|-"));
    CHECK_EQ(parsed("10.0.0.1:1"), std::string("10.0.0.1|1"));
    CHECK_EQ(parsed("h:65535"), std::string("h|65535"));
    CHECK_EQ(parsed("h:00080"), std::string("h|80")); // leading zeros, within 5 digits
    // the port follows the last ':'; the host may hold others
    CHECK_EQ(parsed("a:b:5432"), std::string("a:b|5432"));
    CHECK_EQ(parsed("[::1]:5432"), std::string("[::1]|5432")); // brackets stay in the host
    CHECK_EQ(parsed("[fe80::1%eth0]:6432"), std::string("[fe80::1%eth0]|6432"));
    // a bare IPv6 address reads as host ":" and port 1, as it always has
    CHECK_EQ(parsed("::1"), std::string(":|1"));
}

TEST(host_port_refused) {
    for (const char *bad : {"", "h:", ":5432", ":", "h:0", "h:00000", "h:65536", "h:99999", "h:123456", "h:000080",
                            "h:54a2", "h:+5432", "h:-1", "h: 5432", "h:5432 ", "h:0x10", "[::1]", "h:5432:"})
        if (parse_host_port(bad))
            unit::fail(__FILE__, __LINE__, std::string("accepted \"") + bad + "\": " + parsed(bad));
}

TEST(citus_registration_reads_citus_node_name) {
    Topology t;
    t.nodes = {citus_node("w2", "worker", std::nullopt), citus_node("w1", "worker", "citus_worker1:5432"),
               citus_node("c", "coordinator", "coordinator_host")};
    auto plan = shardroute::citus::registration_plan(t);
    CHECK_EQ(plan.size(), size_t(3));
    if (plan.size() == 3) {
        // host alone keeps the node's port; no CITUS_NODE_NAME: the node's own host and port
        CHECK(plan[0].kind == shardroute::citus::Step::set_coordinator && plan[0].host == "coordinator_host" &&
              plan[0].port == 6432);
        CHECK(plan[1].node == "w1" && plan[1].host == "citus_worker1" && plan[1].port == 5432);
        CHECK(plan[2].node == "w2" && plan[2].host == "w2.db" && plan[2].port == 6432);
    }
    // only a catalog that skipped the validator can hold this
    t.nodes = {citus_node("w1", "worker", "citus_worker1:")};
    CHECK_THROWS(shardroute::citus::registration_plan(t), "42P17", "is not host or host:port");
}
