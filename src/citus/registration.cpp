#include "citus/registration.hpp"

#include "common/error.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace shardroute::citus {

namespace {

// "host:port" (CITUS_NODE_NAME) or the node's own host and port.
Step step_for(const topology::Node &n, Step::Kind kind) {
    Step s{n.name, kind, n.host, n.port};
    if (n.citus_node_name) {
        const std::string &cn = *n.citus_node_name;
        auto colon = cn.rfind(':');
        if (colon == std::string::npos) {
            s.host = cn;
        } else {
            s.host = cn.substr(0, colon);
            s.port = std::stoi(cn.substr(colon + 1));
        }
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
