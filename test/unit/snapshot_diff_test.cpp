// changed_tables (topology/snapshot.hpp): what the topology NOTIFY lists.
#include "check.hpp"

#include "topology/snapshot.hpp"

#include <string>
#include <vector>

using namespace shardroute::topology;

namespace {
const std::string base = R"({"node": [{"name": "a", "port": 5432}], "read_group": [], "read_member": [],
                             "shard_cluster": [{"name": "c"}], "shard_range": [], "relids": [1, 2]})";
}

TEST(changed_tables_none_when_equal) {
    CHECK(changed_tables(base, base).empty());
    // relids are not content
    std::string other_relids = base;
    other_relids.replace(other_relids.find("[1, 2]"), 6, "[3, 4]");
    CHECK(changed_tables(base, other_relids).empty());
}

TEST(changed_tables_names_only_what_differs) {
    std::string after = base;
    after.replace(after.find("5432"), 4, "6432");
    auto t = changed_tables(base, after);
    CHECK_EQ(t.size(), size_t(1));
    CHECK_EQ(t.at(0), std::string("node"));
    after.replace(after.find(R"("shard_range": [])"), 17, R"("shard_range": [{"cluster": "c"}])");
    t = changed_tables(base, after);
    CHECK_EQ(t.size(), size_t(2));
    CHECK_EQ(t.at(1), std::string("shard_range"));
}

TEST(changed_tables_says_more_when_unsure) {
    auto t = changed_tables("", base);
    CHECK_EQ(t.size(), size_t(5)); // every table, relids aside
    t = changed_tables("not json", base);
    CHECK_EQ(t.size(), size_t(5));
}
