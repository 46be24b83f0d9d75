// Every reason create_distributed_table / create_reference_table would refuse
// a table, found before calling it, and every later operation that Citus 13.2
// lets through the call but then fails, with hints in Django terms. Each rule
// was checked against the real Citus 13.2 (test/t/012_citus_table_check.pl).
#pragma once

#include <string>
#include <vector>

namespace shardroute::citus {

// A problem blocks the call; a warning (its `problem` starts with
// warning_prefix) does not, and names the operation that fails afterwards.
inline constexpr const char *warning_prefix = "warning: ";

struct TableProblem {
    std::string problem;
    std::string detail;
    std::string hint;
};

bool is_warning(const TableProblem &p);

// `facts_json`: the table as shardroute._citus_table_facts() describes it:
// columns, the distribution column's type and whether it hashes, constraints
// and unique indexes, triggers, partitioning, foreign keys out (with the Citus
// kind, distribution column, type and shard count of the other table) and in
// (with the other table's kind and what else it references), and, with Citus
// installed, active workers, replication factor, shard count and settings.
// Citus kinds: "h" hash-distributed, "n" reference, "c" Citus local table,
// "s" single-shard, "a"/"r" append/range, "local" not in Citus metadata.
// Blocking problems come first, then warnings.
std::vector<TableProblem> check_table(const std::string &facts_json);

} // namespace shardroute::citus
