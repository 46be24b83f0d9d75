// The Citus table rules (src/citus/table_check.cpp): each rule fires on facts
// that are fine except for it, and stays quiet on its neighbour that Citus 13.2
// accepts (test/t/012_citus_table_check.pl checks the same shapes on Citus).
#include "check.hpp"

#include "citus/table_check.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using namespace shardroute::citus;
using nlohmann::json;

namespace {

json fk(const std::string &name, std::vector<std::string> cols, const std::string &ref, std::vector<std::string> ref_cols,
        const std::string &ref_kind, const std::string &ref_dist = {}, const std::string &on_delete = "a",
        const std::string &on_update = "a") {
    json c = {{"type", "f"},          {"name", name},        {"columns", cols},         {"ref_table", ref},
              {"ref_columns", ref_cols}, {"ref_kind", ref_kind}, {"on_delete", on_delete}, {"on_update", on_update},
              {"self", false}};
    c["ref_distribution_column"] = ref_dist.empty() ? json(nullptr) : json(ref_dist);
    if (ref_kind == "h") {
        c["ref_distribution_type"] = "integer";
        c["ref_collation"] = "-";
        c["ref_shards"] = 4;
    }
    return c;
}

// shop_item (id bigserial, store_id int, category_id int, PRIMARY KEY (store_id, id)),
// distributed by store_id on a Citus with two workers: nothing wrong but the save() warning
json facts() {
    return json{{"table", "shop_item"},
                {"reference", false},
                {"distribution_column", "store_id"},
                {"citus_installed", true},
                {"active_workers", 2},
                {"coordinator_in_metadata", true},
                {"replication_factor", 1},
                {"shard_count", 4},
                {"unsafe_triggers", false},
                {"kind", "local"},
                {"relkind", "r"},
                {"partition_of", nullptr},
                {"triggers", json::array()},
                {"columns", {"id", "store_id", "category_id"}},
                {"distribution_type",
                 {{"type", "integer"}, {"collation", "-"}, {"hashable", true}, {"unhashable_parts", json::array()}}},
                {"constraints",
                 {{{"type", "p"},
                   {"name", "shop_item_pkey"},
                   {"columns", {"store_id", "id"}},
                   {"index_columns", {"store_id", "id"}}}}},
                {"unique_indexes", json::array()},
                {"incoming", json::array()}};
}

json reference_facts() {
    json f = facts();
    f["reference"] = true;
    f["distribution_column"] = nullptr;
    f["distribution_type"] = nullptr;
    return f;
}

std::vector<TableProblem> run(const json &f) { return check_table(f.dump()); }

int blocking(const std::vector<TableProblem> &ps) {
    int n = 0;
    for (const auto &p : ps)
        n += is_warning(p) ? 0 : 1;
    return n;
}

const TableProblem *find(const std::vector<TableProblem> &ps, const std::string &part) {
    for (const auto &p : ps)
        if (p.problem.find(part) != std::string::npos)
            return &p;
    return nullptr;
}

bool has(const std::vector<TableProblem> &ps, const std::string &part) { return find(ps, part) != nullptr; }

std::string detail_of(const std::vector<TableProblem> &ps, const std::string &part) {
    const TableProblem *p = find(ps, part);
    return p ? p->detail : std::string();
}

const char *save = "warning: Model.save() updates the distribution column";

} // namespace

TEST(citus_check_valid_table_has_only_the_save_warning) {
    auto ps = run(facts());
    CHECK_EQ(ps.size(), size_t(1));
    CHECK_EQ(blocking(ps), 0);
    CHECK(has(ps, save));
    CHECK(is_warning(ps.at(0)));
}

TEST(citus_check_warning_prefix) {
    CHECK(is_warning({"warning: x", "", ""}));
    CHECK(!is_warning({"no distribution column", "", ""}));
    CHECK(!is_warning({"x warning: y", "", ""}));
}

TEST(citus_check_save_warning_only_when_the_primary_key_is_not_the_distribution_column) {
    json f = facts();
    f["constraints"][0]["columns"] = {"store_id"};
    f["constraints"][0]["index_columns"] = {"store_id"};
    CHECK(run(f).empty());
    CHECK(run(reference_facts()).empty());
    auto ps = run(facts());
    const TableProblem *p = find(ps, save);
    CHECK(p && p->detail.find("modifying the partition value of rows is not allowed") != std::string::npos);
    CHECK(p && p->hint.find("update_fields") != std::string::npos);
}

TEST(citus_check_distribution_column_given_and_known) {
    json f = facts();
    f["distribution_column"] = nullptr;
    CHECK(has(run(f), "no distribution column"));
    f["distribution_column"] = "nope";
    auto ps = run(f);
    CHECK(has(ps, "unknown distribution column"));
    CHECK(!has(ps, "PRIMARY KEY")); // one problem about the column, not one per key
}

TEST(citus_check_already_in_citus) {
    json f = facts();
    f["kind"] = "n";
    CHECK(has(run(f), "table already in Citus"));
    f["kind"] = "h";
    CHECK(has(run(f), "table already in Citus"));
    f["kind"] = "c"; // a Citus local table can be distributed
    CHECK_EQ(blocking(run(f)), 0);
}

TEST(citus_check_partitions) {
    json f = facts();
    f["partition_of"] = "shop_event";
    CHECK(has(run(f), "partition of another table"));
    json r = reference_facts();
    r["relkind"] = "p";
    CHECK(has(run(r), "partitioned reference table"));
    f = facts();
    f["relkind"] = "p"; // a partitioned table is distributed with its partitions
    CHECK_EQ(blocking(run(f)), 0);
}

TEST(citus_check_triggers) {
    json f = facts();
    f["triggers"] = {"shop_item_audit"};
    auto ps = run(f);
    CHECK(has(ps, "table with triggers"));
    CHECK(detail_of(ps, "table with triggers").find("shop_item_audit") != std::string::npos);
    json r = reference_facts();
    r["triggers"] = {"t"};
    CHECK(has(run(r), "table with triggers"));
    f["unsafe_triggers"] = true;
    CHECK_EQ(blocking(run(f)), 0);
}

TEST(citus_check_distribution_column_type_must_hash) {
    json f = facts();
    f["distribution_type"] = {{"type", "point"}, {"collation", "-"}, {"hashable", false},
                              {"unhashable_parts", json::array()}};
    auto ps = run(f);
    CHECK(has(ps, "distribution column type cannot be hashed"));
    CHECK(!has(ps, "values that cannot be hashed"));
    f["distribution_type"] = {{"type", "place"}, {"collation", "-"}, {"hashable", true}, {"unhashable_parts", {"point"}}};
    ps = run(f);
    CHECK_EQ(blocking(ps), 0);
    const TableProblem *w = find(ps, "warning: distribution column holds values that cannot be hashed");
    CHECK(w && w->detail.find("INSERT") != std::string::npos && w->detail.find("point") != std::string::npos);
}

TEST(citus_check_unique_constraints_include_the_distribution_column) {
    json f = facts();
    f["constraints"][0]["columns"] = {"id"};
    f["constraints"][0]["index_columns"] = {"id"};
    auto ps = run(f);
    const TableProblem *p = find(ps, "PRIMARY KEY without the distribution column");
    CHECK(p && p->hint.find("implicit id primary key") != std::string::npos);
    f = facts();
    f["constraints"].push_back({{"type", "u"}, {"name", "u1"}, {"columns", {"name"}}, {"index_columns", {"name"}}});
    CHECK(has(run(f), "UNIQUE without the distribution column"));
    // UNIQUE (name) INCLUDE (store_id): Citus accepts it
    f["constraints"][1]["index_columns"] = {"name", "store_id"};
    CHECK_EQ(blocking(run(f)), 0);
    // no index_columns in the facts: the constraint's columns decide
    f["constraints"][1].erase("index_columns");
    CHECK(has(run(f), "UNIQUE without the distribution column"));
}

TEST(citus_check_exclusion_needs_equality_on_the_distribution_column) {
    json f = facts();
    json x = {{"type", "x"},
              {"name", "x1"},
              {"columns", {"store_id", "during"}},
              {"elements", {{{"column", "store_id"}, {"equality", true}}, {{"column", "during"}, {"equality", false}}}}};
    f["constraints"].push_back(x);
    CHECK_EQ(blocking(run(f)), 0);
    f["constraints"][1]["elements"][0]["equality"] = false; // store_id WITH <>
    CHECK(has(run(f), "EXCLUDE without the distribution column"));
    f["constraints"][1]["elements"] = {{{"column", "during"}, {"equality", false}}};
    CHECK(has(run(f), "EXCLUDE without the distribution column"));
}

TEST(citus_check_unique_indexes) {
    json f = facts();
    f["unique_indexes"] = {{{"name", "shop_item_sku"}, {"columns", {"sku"}}, {"expressions", false}, {"partial", true}}};
    CHECK(has(run(f), "unique index without the distribution column"));
    f["unique_indexes"][0]["columns"] = {"store_id", "sku"}; // partial, with store_id
    CHECK_EQ(blocking(run(f)), 0);
    f["unique_indexes"][0]["columns"] = json::array(); // lower(name) only, or (store_id + 0)
    f["unique_indexes"][0]["expressions"] = true;
    auto ps = run(f);
    CHECK(has(ps, "unique index without the distribution column"));
    CHECK(detail_of(ps, "unique index").find("expression") != std::string::npos);
    CHECK(run(reference_facts()).empty());
}

TEST(citus_check_foreign_keys_of_a_distributed_table) {
    json f = facts();
    // to a reference table on another column: any action
    f["constraints"].push_back(fk("fk_cat", {"category_id"}, "shop_category", {"id"}, "n", {}, "n", "c"));
    CHECK_EQ(blocking(run(f)), 0);
    // to a reference table on the distribution column with SET NULL
    f["constraints"][1] = fk("fk_store", {"store_id"}, "shop_store", {"id"}, "n", {}, "n");
    CHECK(has(run(f), "foreign key action on the distribution column"));
    // to a co-located distributed table on the distribution column: CASCADE and RESTRICT pass
    f["constraints"][1] = fk("fk_store", {"store_id"}, "shop_store", {"id"}, "h", "id", "c", "r");
    CHECK_EQ(blocking(run(f)), 0);
    for (std::string del : {"n", "d"}) {
        f["constraints"][1]["on_delete"] = del;
        CHECK(has(run(f), "foreign key action on the distribution column"));
    }
    f["constraints"][1]["on_delete"] = "a";
    for (std::string upd : {"c", "n", "d"}) {
        f["constraints"][1]["on_update"] = upd;
        CHECK(has(run(f), "foreign key action on the distribution column"));
    }
    f["constraints"][1]["on_update"] = "a";
    // not on the distribution column
    f["constraints"][1] = fk("fk_store", {"category_id"}, "shop_store", {"id"}, "h", "id");
    CHECK(has(run(f), "foreign key not on the distribution column"));
    // to a local table, a Citus local table, a single-shard table
    f["constraints"][1] = fk("fk_sup", {"store_id"}, "shop_supplier", {"id"}, "local");
    CHECK(has(run(f), "foreign key to a local table"));
    f["constraints"][1]["ref_kind"] = "c";
    CHECK(has(run(f), "foreign key to a local table"));
    f["constraints"][1]["ref_kind"] = "s";
    CHECK(has(run(f), "foreign key to a table Citus cannot reference"));
}

TEST(citus_check_foreign_keys_need_co_location) {
    json f = facts();
    f["constraints"].push_back(fk("fk_store", {"store_id"}, "shop_store", {"id"}, "h", "id"));
    CHECK_EQ(blocking(run(f)), 0);
    f["constraints"][1]["ref_distribution_type"] = "bigint";
    CHECK(has(run(f), "not co-located"));
    f["constraints"][1]["ref_distribution_type"] = "integer";
    f["constraints"][1]["ref_shards"] = 2;
    CHECK(has(run(f), "not co-located"));
    // composite keys: the distribution columns at the same position
    f["constraints"][1] = fk("fk2", {"category_id", "store_id"}, "shop_store", {"x", "id"}, "h", "id");
    CHECK_EQ(blocking(run(f)), 0);
    f["constraints"][1] = fk("fk2", {"store_id", "category_id"}, "shop_store", {"x", "id"}, "h", "id");
    CHECK(has(run(f), "foreign key not on the distribution column"));
}

TEST(citus_check_self_referencing_foreign_keys) {
    json f = facts();
    json self = fk("fk_parent", {"category_id"}, "shop_item", {"id"}, "local");
    self["self"] = true;
    f["constraints"].push_back(self);
    auto ps = run(f);
    const TableProblem *p = find(ps, "foreign key not on the distribution column");
    CHECK(p && p->hint.find("same model") != std::string::npos);
    f["constraints"][1]["columns"] = {"store_id", "category_id"};
    f["constraints"][1]["ref_columns"] = {"store_id", "id"};
    CHECK_EQ(blocking(run(f)), 0);
    json r = reference_facts();
    r["constraints"].push_back(self);
    CHECK(run(r).empty());
}

TEST(citus_check_foreign_keys_of_a_reference_table) {
    json r = reference_facts();
    r["constraints"].push_back(fk("fk_cat", {"category_id"}, "shop_category", {"id"}, "n", {}, "c", "c"));
    CHECK(run(r).empty());
    r["constraints"][1] = fk("fk_store", {"store_id"}, "shop_store", {"id"}, "h", "id");
    CHECK(has(run(r), "reference table with a foreign key to a distributed table"));
    // to a local table: NO ACTION / RESTRICT only, and the local table becomes a Citus local table
    r["constraints"][1] = fk("fk_sup", {"category_id"}, "shop_supplier", {"id"}, "local");
    auto ps = run(r);
    CHECK_EQ(blocking(ps), 0);
    const TableProblem *w = find(ps, "warning: shop_supplier becomes a Citus local table");
    CHECK(w && w->detail.find("create_distributed_table(shop_supplier) then fails") != std::string::npos);
    for (auto [del, upd] : std::vector<std::pair<std::string, std::string>>{{"c", "a"}, {"n", "a"}, {"a", "c"}}) {
        r["constraints"][1]["on_delete"] = del;
        r["constraints"][1]["on_update"] = upd;
        CHECK(has(run(r), "reference table with a foreign key action to a local table"));
    }
    r["constraints"][1]["on_delete"] = "r";
    r["constraints"][1]["on_update"] = "r";
    CHECK_EQ(blocking(run(r)), 0);
    // the coordinator must be in the Citus metadata
    r["coordinator_in_metadata"] = false;
    CHECK(has(run(r), "coordinator not in Citus"));
    r["citus_installed"] = false; // judged without Citus: assumed registered
    CHECK_EQ(blocking(run(r)), 0);
}

TEST(citus_check_local_table_referencing_a_distributed_table_is_a_warning) {
    json f = facts();
    f["constraints"][0]["columns"] = {"store_id"};
    f["constraints"][0]["index_columns"] = {"store_id"};
    f["incoming"] = {{{"table", "ads_company_users"},
                      {"name", "ads_company_users_company_id_fkey"},
                      {"columns", {"company_id"}},
                      {"kind", "local"},
                      {"on_delete", "a"},
                      {"on_update", "a"},
                      {"refs_other", {"auth_user"}},
                      {"refs_distributed", json::array()},
                      {"refs_local", {"auth_user"}},
                      {"many_to_many", true},
                      {"unique_columns", {"company_id", "user_id"}}}};
    auto ps = run(f);
    CHECK_EQ(blocking(ps), 0);
    const TableProblem *w = find(ps, "warning: local table ads_company_users referencing this table");
    CHECK(w && w->detail.find("truncate_local_data_after_distributing_table") != std::string::npos);
    CHECK(w && w->detail.find("create_reference_table(auth_user) then fails") != std::string::npos);
    CHECK(w && w->hint.find("custom through model") != std::string::npos);
    // the same table already a Citus local table (it references a reference table) or a reference table
    f["incoming"][0]["kind"] = "c";
    CHECK(has(run(f), "Citus local table referencing this table"));
    f["incoming"][0]["kind"] = "n";
    CHECK(has(run(f), "reference table referencing this table"));
}

TEST(citus_check_reference_table_with_local_tables_referencing_it) {
    json r = reference_facts();
    json in = {{"table", "ads_company_users"},
               {"name", "ads_company_users_user_id_fkey"},
               {"columns", {"user_id"}},
               {"kind", "local"},
               {"on_delete", "a"},
               {"on_update", "a"},
               {"refs_other", {"ads_company"}},
               {"refs_distributed", json::array()},
               {"refs_local", json::array()},
               {"many_to_many", true}};
    r["incoming"] = {in};
    CHECK(run(r).empty()); // it becomes a Citus local table, nothing else
    r["incoming"][0]["refs_local"] = {"ads_company"};
    auto ps = run(r);
    CHECK_EQ(blocking(ps), 0);
    const TableProblem *w = find(ps, "warning: ads_company_users becomes a Citus local table");
    CHECK(w && w->detail.find("create_distributed_table(ads_company) then fails") != std::string::npos);
    r["incoming"][0]["refs_local"] = json::array();
    r["incoming"][0]["refs_distributed"] = {"ads_company"};
    CHECK(has(run(r), "local table referencing this table also references a distributed table"));
}

TEST(citus_check_cluster_rules) {
    json f = facts();
    f["active_workers"] = 0;
    CHECK(has(run(f), "no active worker nodes"));
    f["active_workers"] = 1;
    f["replication_factor"] = 2;
    CHECK(has(run(f), "replication factor above worker count"));
    json r = reference_facts();
    r["active_workers"] = 1;
    r["replication_factor"] = 2;
    CHECK(run(r).empty());
    f["citus_installed"] = false; // without Citus only the structure is judged
    CHECK_EQ(blocking(run(f)), 0);
}

TEST(citus_check_blocking_problems_come_before_warnings) {
    json f = facts();
    f["triggers"] = {"t"};
    f["distribution_type"]["unhashable_parts"] = {"point"};
    auto ps = run(f);
    CHECK(ps.size() >= 3);
    bool seen_warning = false, ordered = true;
    for (const auto &p : ps) {
        if (is_warning(p))
            seen_warning = true;
        else if (seen_warning)
            ordered = false;
    }
    CHECK(ordered);
    CHECK(!is_warning(ps.at(0)));
}
