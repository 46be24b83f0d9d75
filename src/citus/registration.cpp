#include "citus/registration.hpp"

#include "common/error.hpp"
#include "topology/host_port.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace shardroute::citus {

namespace {

// "host:port" (CITUS_NODE_NAME) or the node's own host and port.
Step step_for(const topology::Node &n, Step::Kind kind) {
    Step s{n.name, kind, n.host, n.port};
    if (n.citus_node_name) {
        // only a catalog that skipped the validator holds a malformed one: refuse it, never guess
        auto hp = topology::parse_host_port(*n.citus_node_name);
        if (!hp)
            throw Error(sqlstate::invalid_object_definition,
                        fmt::format("citus_node_name \"{}\" of node \"{}\" is not host or host:port",
                                    clip(*n.citus_node_name), clip(n.name)));
        s.host = hp->host;
        s.port = hp->port.value_or(n.port);
    }
    return s;
}

} // namespace

std::vector<Step> registration_plan(const topology::Topology &t) {
    std::vector<Step> plan;
    std::vector<const topology::Node *> workers;
    for (const auto &n : t.nodes) {
        if (n.citus_role == std::optional<std::string>("coordinator")) {
            if (!plan.empty())
                throw Error(
                    sqlstate::invalid_object_definition,
                    fmt::format("more than one Citus coordinator: \"{}\" and \"{}\"", plan.front().node, n.name), {},
                    "Give citus_role 'coordinator' to one node (Django ROLE citus_master).");
            plan.push_back(step_for(n, Step::set_coordinator));
        } else if (n.citus_role == std::optional<std::string>("worker")) {
            workers.push_back(&n);
        }
    }
    std::sort(workers.begin(), workers.end(), [](auto *a, auto *b) { return a->name < b->name; });
    for (const auto *w : workers)
        plan.push_back(step_for(*w, Step::add_worker));
    return plan;
}

} // namespace shardroute::citus
