// The catalog as one JSON document whose keys are the catalog tables' column
// names: the SQL side builds it with to_jsonb() and applies it with
// jsonb_populate_recordset(), so both directions stay in step with the tables.
#pragma once

#include "topology/model.hpp"

#include <string>
#include <vector>

namespace shardroute::topology {

// Reads shardroute._snapshot()'s output. max_lag comes as max_lag_us (int8).
Topology topology_from_snapshot(const std::string &json);

// Writes a document shardroute._apply_snapshot() can load (max_lag as text).
std::string topology_to_snapshot(const Topology &topology);

// The catalog tables (the document's keys, "relids" aside) whose content
// differs between two snapshots, sorted. An unreadable or empty `before`
// counts as every table of `after` changed: when unsure, say more.
std::vector<std::string> changed_tables(const std::string &before, const std::string &after);

} // namespace shardroute::topology
