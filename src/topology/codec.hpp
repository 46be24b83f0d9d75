// One codec per catalog table: a row as a JSON object keyed by the table's
// column names (what to_jsonb() and row_to_json() produce, with max_lag as
// max_lag_us microseconds) to and from the model. The snapshot loader, the row
// trigger and the Django import all go through it. Nodes and clusters are
// read and written column by column from node_columns and cluster_columns
// (model.hpp), so a new column there needs nothing here.
#pragma once

#include "topology/model.hpp"

#include <nlohmann/json_fwd.hpp>

namespace shardroute::topology {

// Decoding is lenient (a missing or NULL required column reads as empty or 0),
// so that the row rules, not a parse error, report a bad row.
Node decode_node(const nlohmann::json &row);
Cluster decode_cluster(const nlohmann::json &row);
ShardRange decode_range(const nlohmann::json &row);
ReadGroup decode_read_group(const nlohmann::json &row);
ReadMember decode_member(const nlohmann::json &row);

// Encoding writes what shardroute._apply_snapshot() loads (max_lag as interval text).
nlohmann::json encode(const Node &node);
nlohmann::json encode(const Cluster &cluster);
nlohmann::json encode(const ShardRange &range);
nlohmann::json encode(const ReadGroup &group);
nlohmann::json encode(const ReadMember &member);

} // namespace shardroute::topology
