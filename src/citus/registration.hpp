// Citus topology from the catalog: which coordinator host to set and which
// workers to add (citus_node_name overriding host:port, as CITUS_NODE_NAME does).
#pragma once

#include "topology/model.hpp"

#include <string>
#include <vector>

namespace shardroute::citus {

struct Step {
    std::string node; // catalog name
    enum Kind { set_coordinator, add_worker } kind;
    std::string host; // as the coordinator reaches it
    int port;
};

// The coordinator first (if the catalog names one), then every worker by name.
// Throws Error when more than one node is the coordinator.
std::vector<Step> registration_plan(const topology::Topology &t);

} // namespace shardroute::citus
