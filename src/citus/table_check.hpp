// Every reason create_distributed_table / create_reference_table would refuse
// a table, found before calling it, with hints in Django terms.
#pragma once

#include <string>
#include <vector>

namespace shardroute::citus {

struct TableProblem {
    std::string problem;
    std::string detail;
    std::string hint;
};

// `facts_json`: the table as shardroute._citus_table_facts() describes it
// (columns, constraints, foreign keys in and out with the Citus kind of the
// other table, Citus worker count and replication factor when installed).
std::vector<TableProblem> check_table(const std::string &facts_json);

} // namespace shardroute::citus
