// The Django settings format: the settings documents of test/fixtures/django/
// (CommCare's own layouts, shared with the fuzzer and sql/django.sql) import,
// export and re-import unchanged, and every CommCare rule fails with an error
// naming the setting to fix.
#include "check.hpp"

#include "common/error.hpp"
#include "plproxy/server_options.hpp"
#include "topology/conninfo.hpp"
#include "django/django.hpp"
#include "topology/codec.hpp"
#include "topology/validate.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using namespace shardroute::django;
using namespace shardroute::topology;

namespace {

// ---------------------------------------------------------------- fixtures

// The settings documents, read from the repository root (where test/run_tests.sh
// runs the unit binary). A missing file reads as "" and fails its tests loudly.
const char *const fixtures_dir = "test/fixtures/django";

std::string fixture(const std::string &name) {
    std::ifstream in(std::string(fixtures_dir) + "/" + name + ".json", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::filesystem::path> fixture_files() {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(fixtures_dir, ec))
        if (entry.is_regular_file() && entry.path().extension() == ".json")
            files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    return files;
}

// seeds of CommCare's docs: one proxy and two shard databases (PLPROXY); five partitions of 1024
// shards; a standby with its own delay; REPORTING_DATABASES with a weighted READ list;
// LOAD_BALANCED_APPS; the Citus setup with its REPORTING_DATABASES entry
const std::string plproxy_settings = fixture("plproxy");
const std::string five_partitions = fixture("five_partitions");
const std::string standby_settings = fixture("standby");
const std::string reporting_settings = fixture("reporting_databases");
const std::string load_balanced_settings = fixture("load_balanced_apps");
const std::string citus_settings = fixture("citus");

// ---------------------------------------------------------------- helpers

ImportPlan import(const std::string &text, const Topology &current = {}, bool replace = false) {
    return plan_import(text, current, replace);
}

bool same(const Topology &a, const Topology &b) {
    return a.nodes == b.nodes && a.clusters == b.clusters && a.ranges == b.ranges && a.read_groups == b.read_groups &&
           a.members == b.members;
}

std::string actions_text(const std::vector<ImportAction> &actions) {
    std::string out;
    for (const auto &a : actions)
        out += a.kind + " " + a.name + " " + a.action + "\n";
    return out;
}

bool all_unchanged(const std::vector<ImportAction> &actions) {
    for (const auto &a : actions)
        if (a.action != "unchanged" && a.kind != "setting")
            return false;
    return true;
}

// The row for `name` (of `kind`, when given: a node and a read group may share a name).
const ImportAction *action_for(const std::vector<ImportAction> &actions, const std::string &name,
                               const std::string &kind = "") {
    for (const auto &a : actions)
        if (a.name == name && (kind.empty() || a.kind == kind))
            return &a;
    return nullptr;
}

std::string action_of(const std::vector<ImportAction> &actions, const std::string &name, const std::string &kind = "") {
    const ImportAction *a = action_for(actions, name, kind);
    return a ? a->kind + " " + a->action : "(none)";
}

const Node *node(const Topology &t, const std::string &name) {
    return t.find_node(name);
}

// A settings document with the given DATABASES body and extra top-level keys.
std::string databases(const std::string &body, const std::string &extra = "") {
    return "{\"DATABASES\": {" + body + "}" + (extra.empty() ? "" : ", " + extra) + "}";
}

const std::string proxy_entry = R"("proxy": {"HOST": "proxy.db", "PLPROXY": {"PROXY": true}})";

std::string shards(const std::string &alias, int first, int last) {
    return "\"" + alias + "\": {\"HOST\": \"" + alias + ".db\", \"PLPROXY\": {\"SHARDS\": [" + std::to_string(first) +
           ", " + std::to_string(last) + "]}}";
}

// import(x) works; export(import(x)) re-imports over it all unchanged and, into an empty catalog, equal.
void check_round_trip(const std::string &text, const char *file, int line) {
    try {
        ImportPlan first = import(text);
        for (const auto &a : first.actions)
            if (a.kind != "setting" && a.action != "created")
                unit::fail(file, line, "expected only created: " + actions_text(first.actions));
        std::string exported = export_settings(first.target);
        ImportPlan again = import(exported, first.target, true);
        if (!all_unchanged(again.actions))
            unit::fail(file, line, "re-import changed something:\n" + actions_text(again.actions) + exported);
        if (!same(again.target, first.target))
            unit::fail(file, line, "re-import over itself is not the same catalog: " + exported);
        ImportPlan fresh = import(exported);
        if (!same(fresh.target, first.target))
            unit::fail(file, line, "export is not the inverse of import: " + exported);
        if (export_settings(fresh.target) != exported)
            unit::fail(file, line, "second export differs from the first");
    } catch (const shardroute::Error &e) {
        unit::fail(file, line, std::string("unexpected error ") + e.code() + ": " + e.what() + " | " + e.detail());
    }
}
#define CHECK_ROUND_TRIP(text) check_round_trip(text, __FILE__, __LINE__)

} // namespace

// ---------------------------------------------------------------- fixtures import and round-trip

// Every document of the directory, the seeds and CommCare's other spellings alike.
TEST(django_fixtures_round_trip) {
    auto files = fixture_files();
    CHECK(files.size() >= 11);
    for (const auto &path : files) {
        std::string name = path.stem().string();
        std::string text = fixture(name);
        if (text.empty())
            unit::fail(__FILE__, __LINE__, path.string() + ": empty or unreadable");
        check_round_trip(text, path.string().c_str(), 0);
    }
}

TEST(django_plproxy_fixture) {
    ImportPlan plan = import(plproxy_settings);
    const Topology &t = plan.target;
    CHECK_EQ(t.nodes.size(), size_t(3));
    const Node *p2 = node(t, "p2");
    CHECK(p2 != nullptr);
    if (p2) {
        CHECK_EQ(p2->host, std::string("p2.db"));
        CHECK_EQ(p2->port, 5433);
        CHECK(p2->dbname == std::string("commcarehq_p2"));
        CHECK(p2->options == std::string("user=commcarehq"));
        CHECK(!p2->primary_node && !p2->max_lag_us && !p2->max_lag_bytes && !p2->application_name);
        CHECK(!p2->citus_role);
    }
    CHECK_EQ(node(t, "proxy")->port, 5432);
    CHECK_EQ(t.clusters.size(), size_t(1));
    CHECK_EQ(t.clusters[0].name, std::string("commcarehq"));
    CHECK_EQ(t.clusters[0].shard_count, 1024);
    CHECK_EQ(t.clusters[0].algorithm, std::string("siphash24"));
    CHECK(t.clusters[0].proxy_node == std::string("proxy"));
    CHECK(!t.clusters[0].standby_proxy_node);
    CHECK(t.ranges == (std::vector<ShardRange>{{"commcarehq", "p1", 0, 511}, {"commcarehq", "p2", 512, 1023}}));
    // rows: nodes sorted, the cluster, then one ignored PASSWORD per entry
    CHECK_EQ(actions_text(plan.actions),
             std::string("node p1 created\nnode p2 created\nnode proxy created\ncluster commcarehq created\n"
                         "setting DATABASES['p1']['PASSWORD'] ignored: passwords never enter the catalog (use "
                         ".pgpass or a user mapping)\n"
                         "setting DATABASES['p2']['PASSWORD'] ignored: passwords never enter the catalog (use "
                         ".pgpass or a user mapping)\n"
                         "setting DATABASES['proxy']['PASSWORD'] ignored: passwords never enter the catalog (use "
                         ".pgpass or a user mapping)\n"));
}

TEST(django_five_partitions_fixture) {
    Topology t = import(five_partitions).target;
    CHECK_EQ(t.ranges.size(), size_t(5));
    CHECK(t.ranges[2] == (ShardRange{"commcarehq", "p3", 410, 614}));
    CHECK(t.ranges[4] == (ShardRange{"commcarehq", "p5", 820, 1023}));
    CHECK_EQ(t.clusters.at(0).shard_count, 1024);
}

TEST(django_standby_fixture) {
    ImportPlan plan = import(standby_settings);
    const Node *s = node(plan.target, "standby1");
    CHECK(s && s->primary_node == std::string("default"));
    CHECK(s && s->max_lag_us == int64_t(30000000));
    CHECK(s && !s->max_lag_bytes && !s->application_name);
    const Node *d = node(plan.target, "default");
    CHECK(d && !d->primary_node && !d->max_lag_us);
    CHECK(plan.target.clusters.empty());
    CHECK_EQ(action_of(plan.actions, "standby1"), std::string("standby created"));
    CHECK_EQ(action_of(plan.actions, "default"), std::string("node created"));
}

TEST(django_reporting_fixture) {
    Topology t = import(reporting_settings).target;
    CHECK_EQ(node(t, "ucr_standby1")->max_lag_us.value_or(-1), int64_t(3000000)); // the default 3 s
    CHECK_EQ(node(t, "ucr_standby2")->max_lag_us.value_or(-1), int64_t(10000000));
    CHECK(t.read_groups == (std::vector<ReadGroup>{{"default", "default", "REPORTING_DATABASES"},
                                                   {"ucr", "ucr", "REPORTING_DATABASES"}}));
    CHECK(t.members ==
          (std::vector<ReadMember>{{"ucr", "ucr", 1}, {"ucr", "ucr_standby1", 2}, {"ucr", "ucr_standby2", 2}}));
    std::string exported = export_settings(t);
    CHECK(exported.find(R"("default":"default")") != std::string::npos);
    CHECK(exported.find(R"("READ":[["ucr",1],["ucr_standby1",2],["ucr_standby2",2]])") != std::string::npos);
}

TEST(django_load_balanced_fixture) {
    ImportPlan plan = import(load_balanced_settings);
    CHECK(plan.target.read_groups == (std::vector<ReadGroup>{{"users", "default", "LOAD_BALANCED_APPS"}}));
    CHECK(plan.target.members == (std::vector<ReadMember>{{"users", "default", 1}, {"users", "standby1", 4}}));
    CHECK_EQ(action_of(plan.actions, "users"), std::string("read_group created"));
    std::string exported = export_settings(plan.target);
    CHECK(
        exported.find(R"("LOAD_BALANCED_APPS":{"users":{"READ":[["default",1],["standby1",4]],"WRITE":"default"}})") !=
        std::string::npos);
    CHECK(exported.find("REPORTING_DATABASES") == std::string::npos);
}

TEST(django_citus_fixture) {
    ImportPlan plan = import(citus_settings);
    const Topology &t = plan.target;
    CHECK(node(t, "icds-ucr")->citus_role == std::string("coordinator"));
    CHECK(!node(t, "icds-ucr")->citus_node_name);
    CHECK_EQ(node(t, "icds-ucr")->port, 5600);
    CHECK(node(t, "citus-ucr-worker1")->citus_role == std::string("worker"));
    CHECK(node(t, "citus-ucr-worker2")->citus_node_name == std::string("citus_worker2:5432"));
    CHECK_EQ(node(t, "citus-ucr-worker2")->port, 5602);
    CHECK(t.read_groups == (std::vector<ReadGroup>{{"icds-ucr-citus", "icds-ucr", "REPORTING_DATABASES"}}));
    CHECK(t.members.empty());
    // an empty PASSWORD is no password: only the master's is reported
    int ignored = 0;
    for (const auto &a : plan.actions)
        ignored += a.kind == "setting";
    CHECK_EQ(ignored, 1);
    CHECK(action_for(plan.actions, "DATABASES['icds-ucr']['PASSWORD']") != nullptr);
    std::string exported = export_settings(t);
    CHECK(exported.find(R"("ROLE":"citus_master")") != std::string::npos);
    CHECK(exported.find(R"("CITUS_NODE_NAME":"citus_worker1:5432")") != std::string::npos);
    CHECK(exported.find("PASSWORD") == std::string::npos);
    CHECK(exported.find("PL_PROXY_CLUSTER_NAME") == std::string::npos);
}

TEST(django_export_shape) {
    Topology t = import(plproxy_settings).target;
    CHECK_EQ(
        export_settings(t),
        std::string(
            R"({"DATABASES":{)"
            R"("p1":{"HOST":"p1.db","NAME":"commcarehq_p1","PLPROXY":{"SHARDS":[0,511]},"PORT":5432,"USER":"commcarehq"},)"
            R"("p2":{"HOST":"p2.db","NAME":"commcarehq_p2","PLPROXY":{"SHARDS":[512,1023]},"PORT":5433,"USER":"commcarehq"},)"
            R"("proxy":{"HOST":"proxy.db","NAME":"commcarehq_proxy","PLPROXY":{"PROXY":true},"PORT":5432,"USER":"commcarehq"}},)"
            R"("PL_PROXY_CLUSTER_NAME":"commcarehq"})"));
    CHECK_EQ(export_settings(Topology{}), std::string(R"({"DATABASES":{}})"));
}

// ---------------------------------------------------------------- more shapes

TEST(django_standby_extras_and_fractions_round_trip) {
    std::string doc = fixture("standby_extras");
    CHECK_ROUND_TRIP(doc);
    Topology t = import(doc).target;
    const Node *s = node(t, "s");
    CHECK(s->max_lag_us == int64_t(2500000));
    CHECK(s->max_lag_bytes == int64_t(16777216));
    CHECK(s->application_name == std::string("s_walreceiver"));
    std::string exported = export_settings(t);
    CHECK(exported.find(R"("ACCEPTABLE_REPLICATION_DELAY":2.5)") != std::string::npos);
    CHECK(exported.find(R"([["db",0.5],["s",1.25]])") != std::string::npos);
    CHECK(
        exported.find(
            R"("STANDBY":{"ACCEPTABLE_REPLICATION_DELAY":2.5,"APPLICATION_NAME":"s_walreceiver","MASTER":"db","MAX_LAG_BYTES":16777216})") !=
        std::string::npos);
}

TEST(django_proxy_for_standbys_and_combined_plproxy) {
    std::string doc = fixture("proxy_for_standbys");
    CHECK_ROUND_TRIP(doc);
    Topology t = import(doc).target;
    CHECK_EQ(t.clusters.size(), size_t(1));
    CHECK_EQ(t.clusters[0].name, std::string("forms"));
    CHECK_EQ(t.clusters[0].shard_count, 4);
    CHECK(t.clusters[0].proxy_node == std::string("proxy"));
    CHECK(t.clusters[0].standby_proxy_node == std::string("proxy_standby"));
    std::string exported = export_settings(t);
    CHECK(exported.find(R"("PLPROXY":{"PROXY":true,"SHARDS":[0,1]})") != std::string::npos);
    CHECK(exported.find(R"("PL_PROXY_CLUSTER_NAME":"forms")") != std::string::npos);
}

TEST(django_cluster_without_shards) {
    // PLPROXY with only a proxy: the cluster exists and has no ranges yet
    ImportPlan plan = import(databases(proxy_entry));
    CHECK_EQ(plan.target.clusters.size(), size_t(1));
    CHECK(plan.target.ranges.empty());
    CHECK_EQ(plan.target.clusters[0].shard_count, 1024);
    CHECK_ROUND_TRIP(databases(proxy_entry));
    // an empty PLPROXY says nothing about a cluster
    CHECK(import(databases(R"("db": {"HOST": "h", "PLPROXY": {}})")).target.clusters.empty());
}

TEST(django_options_and_ports) {
    std::string doc = databases(R"("db": {"HOST": "h", "PORT": "", "USER": "comm care",
        "OPTIONS": {"sslmode": "require", "connect_timeout": 10, "keepalives": true,
                    "options": "-c search_path='a b'"}})");
    Topology t = import(doc).target;
    CHECK_EQ(node(t, "db")->port, 5432);
    CHECK(node(t, "db")->options ==
          std::string(
              "user='comm care' connect_timeout=10 keepalives=1 options='-c search_path=\\'a b\\'' sslmode=require"));
    CHECK_ROUND_TRIP(doc);
    CHECK(
        export_settings(t).find(
            R"("OPTIONS":{"connect_timeout":"10","keepalives":"1","options":"-c search_path='a b'","sslmode":"require"})") !=
        std::string::npos);
    // no USER and no OPTIONS (or an empty one): no options at all
    CHECK(!node(import(databases(R"("db": {"HOST": "h", "OPTIONS": {}})")).target, "db")->options);
    CHECK_EQ(node(import(databases(R"("db": {"HOST": "h", "PORT": " 6432 "})")).target, "db")->port, 6432);
}

TEST(django_port_strings_are_read_as_int4_and_named) {
    // what SQL sees too: the import reads PORT itself, PostgreSQL's int4 input rules in pure C++
    CHECK_EQ(node(import(databases(R"("db": {"HOST": "h", "PORT": "  +6432\n"})")).target, "db")->port, 6432);
    CHECK_EQ(node(import(databases(R"("db": {"HOST": "h", "PORT": 7})")).target, "db")->port, 7);
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "PORT": "54x"})")), "22P02",
                 "DATABASES['db']['PORT']: invalid input syntax for type integer: \"54x\"");
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "PORT": "99999999999"})")), "22003",
                 "DATABASES['db']['PORT']: value \"99999999999\" is out of range for type integer");
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "PORT": 99999})")), "23514",
                 "DATABASES['db']['PORT']: invalid port");
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "PORT": "-1"})")), "23514",
                 "DATABASES['db']['PORT']: invalid port");
}

TEST(django_parse_port) {
    CHECK_EQ(parse_port("5432"), 5432);
    CHECK_EQ(parse_port("  +5432\n"), 5432);
    CHECK_EQ(parse_port("-1"), -1);
    CHECK_EQ(parse_port("2147483647"), 2147483647);
    CHECK_THROWS(parse_port("2147483648"), "22003", "out of range for type integer");
    CHECK_THROWS(parse_port("99999999999999999999999"), "22003", "out of range");
    CHECK_THROWS(parse_port(""), "22P02", "invalid input syntax");
    CHECK_THROWS(parse_port("+"), "22P02", "invalid input syntax");
    CHECK_THROWS(parse_port("54 32"), "22P02", "invalid input syntax");
    CHECK_THROWS(parse_port("0x10"), "22P02", "invalid input syntax");
}

// ---------------------------------------------------------------- merging and actions

TEST(django_merge_keeps_the_rest_of_the_catalog) {
    Topology current = import(plproxy_settings).target;
    ImportPlan plan = import(standby_settings, current, false);
    CHECK_EQ(plan.target.nodes.size(), size_t(5));
    CHECK_EQ(plan.target.clusters.size(), size_t(1));
    CHECK_EQ(plan.target.ranges.size(), size_t(2));
    CHECK_EQ(action_of(plan.actions, "default"), std::string("node created"));
    CHECK(!action_for(plan.actions, "p1"));
    CHECK(!action_for(plan.actions, "commcarehq"));
}

TEST(django_replace_drops_the_rest) {
    Topology current = import(plproxy_settings).target;
    Topology more = import(reporting_settings, current).target;
    ImportPlan plan = import(load_balanced_settings, more, true);
    CHECK_EQ(actions_text(plan.actions),
             std::string("node default unchanged\n"
                         "standby standby1 created\n"
                         "read_group users created\n"
                         "setting DATABASES['default']['PASSWORD'] ignored: passwords never enter the catalog (use "
                         ".pgpass or a user mapping)\n"
                         "setting DATABASES['standby1']['PASSWORD'] ignored: passwords never enter the catalog (use "
                         ".pgpass or a user mapping)\n"
                         "node p1 dropped\nnode p2 dropped\nnode proxy dropped\nnode ucr dropped\n"
                         "standby ucr_standby1 dropped\nstandby ucr_standby2 dropped\n"
                         "cluster commcarehq dropped\nread_group default dropped\nread_group ucr dropped\n"));
    CHECK_EQ(plan.target.nodes.size(), size_t(2));
    CHECK(plan.target.clusters.empty() && plan.target.ranges.empty());
    CHECK_EQ(plan.target.read_groups.size(), size_t(1));
}

TEST(django_updated_detection) {
    Topology current = import(plproxy_settings).target;
    // moving shards between nodes updates the cluster, not the nodes
    std::string moved = databases(
        R"("proxy": {"HOST": "proxy.db", "NAME": "commcarehq_proxy", "USER": "commcarehq", "PLPROXY": {"PROXY": true}},
           "p1": {"HOST": "p1.db", "NAME": "commcarehq_p1", "USER": "commcarehq", "PLPROXY": {"SHARDS": [0, 255]}},
           "p2": {"HOST": "p2.db", "NAME": "commcarehq_p2", "USER": "commcarehq", "PORT": 5433,
                  "PLPROXY": {"SHARDS": [256, 1023]}})");
    ImportPlan plan = import(moved, current, false);
    CHECK_EQ(action_of(plan.actions, "commcarehq"), std::string("cluster updated"));
    CHECK_EQ(action_of(plan.actions, "p1"), std::string("node unchanged"));
    CHECK_EQ(action_of(plan.actions, "p2"), std::string("node unchanged"));
    // a new host updates the node only (the runbook's move)
    std::string rehosted = moved;
    rehosted.replace(rehosted.find("p1.db"), 5, "p1-new.db");
    ImportPlan plan2 = import(rehosted, plan.target, false);
    CHECK_EQ(action_of(plan2.actions, "p1"), std::string("node updated"));
    CHECK_EQ(action_of(plan2.actions, "commcarehq"), std::string("cluster unchanged"));
    // a read group's members
    Topology r = import(reporting_settings).target;
    std::string reweighted = reporting_settings;
    reweighted.replace(reweighted.find("[\"ucr_standby2\", 2]"), 19, "[\"ucr_standby2\", 3]");
    ImportPlan plan3 = import(reweighted, r, false);
    CHECK_EQ(action_of(plan3.actions, "ucr", "read_group"), std::string("read_group updated"));
    CHECK_EQ(action_of(plan3.actions, "ucr"), std::string("node unchanged"));
    CHECK_EQ(action_of(plan3.actions, "default", "read_group"), std::string("read_group unchanged"));
}

TEST(django_merge_replaces_ranges_and_members_of_named_objects) {
    Topology current = import(five_partitions).target;
    ImportPlan plan =
        import(databases(proxy_entry + "," + shards("p1", 0, 511) + "," + shards("p2", 512, 1023)), current, false);
    // p3..p5 stay as nodes, but hold no shards any more
    CHECK_EQ(plan.target.nodes.size(), size_t(6));
    CHECK(plan.target.ranges ==
          (std::vector<ShardRange>{{"commcarehq", "p1", 0, 511}, {"commcarehq", "p2", 512, 1023}}));
    Topology r = import(reporting_settings).target;
    ImportPlan plan2 =
        import(R"({"REPORTING_DATABASES": {"ucr": {"WRITE": "ucr", "READ": [["ucr_standby1", 1]]}}})", r, false);
    CHECK(plan2.target.members == (std::vector<ReadMember>{{"ucr", "ucr_standby1", 1}}));
    CHECK_EQ(plan2.target.read_groups.size(), size_t(2));
}

TEST(django_options_typed_in_another_order_are_unchanged) {
    Topology current;
    Node n;
    n.name = "db";
    n.host = "h";
    n.options = "sslmode=require   user=commcarehq";
    current.nodes = {n};
    ImportPlan plan = import(export_settings(current), current, true);
    CHECK_EQ(actions_text(plan.actions), std::string("node db unchanged\n"));
    CHECK(plan.target.nodes[0].options == std::string("sslmode=require   user=commcarehq"));
    current.nodes[0].options = "";
    CHECK_EQ(actions_text(import(export_settings(current), current, true).actions), std::string("node db unchanged\n"));
    current.nodes[0].options = "sslmode=require user=a";
    CHECK_EQ(actions_text(import(databases(R"("db": {"HOST": "h", "USER": "b", "OPTIONS": {"sslmode": "require"}})"),
                                 current, true)
                              .actions),
             std::string("node db updated\n"));
}

// ---------------------------------------------------------------- CommCare rules

TEST(django_rule_one_proxy) {
    std::string doc = databases(proxy_entry + R"(, "proxy2": {"HOST": "p2", "PLPROXY": {"PROXY": true}})");
    CHECK_THROWS(import(doc), "23514", "There can only be one DB with PROXY=True");
    CHECK_THROWS(import(doc), "23514", "DATABASES['proxy']['PLPROXY']['PROXY']");
    CHECK_THROWS(import(doc), "23514", "DATABASES['proxy2']['PLPROXY']['PROXY']");
    CHECK_THROWS(import(databases(R"("a": {"HOST": "a", "PLPROXY": {"PROXY_FOR_STANDBYS": true}},
                                     "b": {"HOST": "b", "PLPROXY": {"PROXY_FOR_STANDBYS": true}})")),
                 "23514", "There can only be one DB with PROXY_FOR_STANDBYS=True");
}

TEST(django_rule_power_of_two) {
    std::string doc = databases(proxy_entry + "," + shards("p1", 0, 511) + "," + shards("p2", 512, 1000));
    CHECK_THROWS(import(doc), "23514", "DATABASES['proxy']['PLPROXY']: shard count not a power of 2");
    CHECK_THROWS(import(doc), "23514", "1001");
    // with the proxy outside the document (replace=false, kept from the catalog), the cluster is named by
    // PL_PROXY_CLUSTER_NAME
    CHECK_THROWS(import(databases(R"("proxy": {"HOST": "proxy.db", "PLPROXY": {"PROXY": true}, "ENGINE": "x"},)" +
                                  shards("p1", 0, 2))),
                 "23514", "DATABASES['proxy']['PLPROXY']: shard count not a power of 2");
}

TEST(django_rule_gap) {
    std::string doc = databases(proxy_entry + "," + shards("p1", 0, 511) + "," + shards("p2", 600, 1023));
    CHECK_THROWS(import(doc), "23514", "DATABASES['proxy']['PLPROXY']: gap: shards 512..599");
}

TEST(django_rule_overlap) {
    std::string doc = databases(proxy_entry + "," + shards("p1", 0, 600) + "," + shards("p2", 512, 1023));
    CHECK_THROWS(import(doc), "23514", "DATABASES['proxy']['PLPROXY']: overlap: shards 512..600");
}

TEST(django_rule_start_at_zero) {
    std::string doc = databases(proxy_entry + "," + shards("p1", 1, 511) + "," + shards("p2", 512, 1023));
    CHECK_THROWS(import(doc), "23514", "DATABASES['proxy']['PLPROXY']: not starting at 0");
}

TEST(django_rule_first_after_last) {
    std::string doc = databases(proxy_entry + "," + shards("p1", 0, 1) + "," + shards("p2", 3, 2));
    CHECK_THROWS(import(doc), "23514", "DATABASES['p2']['PLPROXY']['SHARDS']: invalid range");
    // over a catalog with another count: the range is wrong, not the count
    Topology current = import(plproxy_settings).target;
    std::string reversed = databases(proxy_entry + "," + shards("p1", 0, 9) + "," + shards("p2", 10, 5));
    for (bool replace : {false, true})
        CHECK_THROWS(import(reversed, current, replace), "23514",
                     "DATABASES['p2']['PLPROXY']['SHARDS']: invalid range: shards [10, 5]: need 0 <= first <= last");
}

TEST(django_huge_names_are_clipped_in_errors) {
    std::string huge(10 * 1024 * 1024, 'n');
    auto message_of = [](const std::string &doc) -> std::string {
        try {
            import(doc);
        } catch (const shardroute::Error &e) {
            return std::string(e.what()) + "|" + e.detail() + "|" + e.hint();
        }
        return "(accepted)";
    };
    for (const std::string &doc : {
             databases("\"" + huge + "\": {\"HOST\": \"h\"}"),                                        // invalid name
             databases("\"" + huge + "\": {\"HOST\": \"h\", \"X\": 1}"),                              // unknown key
             databases(R"("db": {"HOST": ")" + huge + "\\u0001\"}"),                                  // invalid host
             databases(R"("db": {"HOST": "h", "PORT": ")" + huge + "\"}"),                            // PORT syntax
             databases(R"("db": {"HOST": "h", "ROLE": ")" + huge + "\"}"),                            // ROLE
             "{\"" + huge + "\": 1}",                                                                 // unknown setting
             databases(R"("db": {"HOST": "h"})", R"("REPORTING_DATABASES": {"r": ")" + huge + "\"}"), // unknown node
         }) {
        std::string m = message_of(doc);
        CHECK(m != "(accepted)");
        CHECK(m.size() < 2000);
        CHECK(m.find("... (1048") != std::string::npos); // the first bytes, then the size
    }
    // a multi-byte character is never cut in half
    std::string euros;
    for (int i = 0; i < 100; ++i)
        euros += "\xe2\x82\xac"; // 300 bytes
    std::string clipped = shardroute::clip("x" + euros);
    CHECK_EQ(clipped.substr(0, 199), "x" + euros.substr(0, 198));
    CHECK_EQ(clipped.substr(199, 4), std::string("... "));
    CHECK_EQ(shardroute::clip("short"), std::string("short"));
}

TEST(django_rule_shards_on_a_standby) {
    // CommCare's test_get_standby_plproxy_config_misconfigured: any PLPROXY on a standby, even empty
    std::string doc = databases(proxy_entry + "," + shards("p1", 0, 1) +
                                R"(, "p2": {"HOST": "h", "PLPROXY": {"SHARDS": [2, 3]}, "STANDBY": {"MASTER": "p1"}})");
    CHECK_THROWS(import(doc), "23514",
                 "DATABASES['p2']['PLPROXY']: standby databases should not have PLPROXY configuration");
    for (const char *plproxy : {R"({})", R"({"PROXY_FOR_STANDBYS": true})", R"({"PLPROXY_HOST": "x"})"})
        CHECK_THROWS(import(databases(proxy_entry + "," + shards("p1", 0, 1) + R"(, "s": {"HOST": "h", "PLPROXY": )" +
                                      plproxy + R"(, "STANDBY": {"MASTER": "p1"}})")),
                     "23514", "DATABASES['s']['PLPROXY']: standby databases should not have PLPROXY configuration");
    // shards named for a standby through the legacy layout are the validator's "shards on a standby"
    CHECK_THROWS(
        import(databases(R"("proxy": {"HOST": "p"}, "p1": {"HOST": "h"},
                                     "s": {"HOST": "h", "STANDBY": {"MASTER": "p1"}})",
                         R"("PARTITION_DATABASE_CONFIG": {"proxy": "proxy", "shards": {"p1": [0, 0], "s": [1, 1]}})")),
        "23514", "PARTITION_DATABASE_CONFIG['shards']['s']: shards on a standby");
}

TEST(django_rule_shards_need_a_proxy) {
    // CommCare's config validation refuses a PL/Proxy cluster without a PROXY database
    CHECK_THROWS(import(databases(shards("p1", 0, 1) + "," + shards("p2", 2, 3))), "23514",
                 "DATABASES['p2']['PLPROXY']['SHARDS']: no PROXY database: PL/Proxy cluster \"commcarehq\" needs one "
                 "database with PLPROXY {'PROXY': True}");
    CHECK_THROWS(import(databases(R"("ps": {"HOST": "h", "PLPROXY": {"PROXY_FOR_STANDBYS": true}})")), "23514",
                 "DATABASES['ps']['PLPROXY']['PROXY_FOR_STANDBYS']: no PROXY database");
    CHECK_THROWS(
        import(databases(R"("p1": {"HOST": "h"})", R"("PARTITION_DATABASE_CONFIG": {"shards": {"p1": [0, 0]}})")),
        "23514", "PARTITION_DATABASE_CONFIG: no PROXY database");
    // the catalog's proxy does not count: the document describes the whole cluster
    Topology current = import(plproxy_settings).target;
    CHECK_THROWS(import(databases(shards("p1", 0, 511) + "," + shards("p2", 512, 1023)), current, false), "23514",
                 "no PROXY database");
    // PROXY: false alone still says nothing about a cluster
    CHECK(import(databases(R"("db": {"HOST": "h", "PLPROXY": {"PROXY": false}})")).target.clusters.empty());
}

TEST(django_rule_read_list_one_master) {
    std::string doc = R"({"DATABASES": {"default": {"HOST": "a"}, "ucr": {"HOST": "b"}},
        "REPORTING_DATABASES": {"ucr": {"WRITE": "ucr", "READ": [["ucr", 1], ["default", 1]]}}})";
    CHECK_THROWS(import(doc), "23514", "REPORTING_DATABASES['ucr']['READ']: more than one master");
    std::string via_standbys = R"({"DATABASES": {"a": {"HOST": "a"}, "b": {"HOST": "b"},
          "a1": {"HOST": "a1", "STANDBY": {"MASTER": "a"}}, "b1": {"HOST": "b1", "STANDBY": {"MASTER": "b"}}},
        "LOAD_BALANCED_APPS": {"users": {"WRITE": "a", "READ": [["a1", 1], ["b1", 1]]}}})";
    CHECK_THROWS(import(via_standbys), "23514", "LOAD_BALANCED_APPS['users']['READ']: more than one master");
}

TEST(django_rule_unknown_master) {
    std::string doc = databases(R"("standby1": {"HOST": "s", "STANDBY": {"MASTER": "nowhere"}})");
    CHECK_THROWS(import(doc), "23514", "DATABASES['standby1']['STANDBY']['MASTER']: unknown node");
}

TEST(django_rule_standby_of_a_standby) {
    std::string doc = databases(R"("default": {"HOST": "d"},
        "standby1": {"HOST": "s1", "STANDBY": {"MASTER": "default"}},
        "standby2": {"HOST": "s2", "STANDBY": {"MASTER": "standby1"}})");
    CHECK_THROWS(import(doc), "23514", "DATABASES['standby2']['STANDBY']['MASTER']: standby of a standby");
    CHECK_THROWS(import(databases(R"("s": {"HOST": "s", "STANDBY": {"MASTER": "s"}})")), "23514",
                 "DATABASES['s']['STANDBY']['MASTER']: cycle");
}

TEST(django_rule_negative_weight) {
    std::string doc = R"({"DATABASES": {"ucr": {"HOST": "b"}},
        "REPORTING_DATABASES": {"ucr": {"WRITE": "ucr", "READ": [["ucr", -1]]}}})";
    CHECK_THROWS(import(doc), "23514", "REPORTING_DATABASES['ucr']['READ']: invalid weight");
}

TEST(django_rule_no_password_in_options) {
    std::string doc = databases(R"("default": {"HOST": "d", "OPTIONS": {"password": "hunter2"}})");
    CHECK_THROWS(import(doc), "23514", "DATABASES['default']['OPTIONS']: password in options");
    try {
        import(doc);
    } catch (const shardroute::Error &e) {
        CHECK((std::string(e.what()) + e.detail() + e.hint()).find("hunter2") == std::string::npos);
    }
    CHECK_THROWS(import(databases(R"("default": {"HOST": "d", "OPTIONS": {"colour": "blue"}})")), "23514",
                 "DATABASES['default']['OPTIONS']: unknown option");
}

TEST(django_rule_unknown_write_node_and_names) {
    CHECK_THROWS(import(R"({"REPORTING_DATABASES": {"default": "default"}})"), "23514",
                 "REPORTING_DATABASES['default']: unknown node");
    CHECK_THROWS(import(databases(R"("" : {"HOST": "h"})")), "23514", "DATABASES['']: invalid name");
    CHECK_THROWS(import(databases(proxy_entry, R"("PL_PROXY_CLUSTER_NAME": "")")), "23514",
                 "DATABASES['proxy']['PLPROXY']: invalid name");
    CHECK_THROWS(import(databases(R"("c": {"HOST": "h", "CITUS_NODE_NAME": "w:0"})")), "23514",
                 "DATABASES['c']['CITUS_NODE_NAME']: invalid citus node name");
}

TEST(django_rule_every_problem_in_detail) {
    std::string doc = databases(proxy_entry + "," + shards("p1", 1, 511) +
                                R"(, "s": {"HOST": "s", "STANDBY": {"MASTER": "nowhere"}})");
    try {
        import(doc);
        CHECK(false);
    } catch (const shardroute::Error &e) {
        CHECK(e.detail().find("DATABASES['s']['STANDBY']['MASTER']: unknown node") != std::string::npos);
        CHECK(e.detail().find("DATABASES['proxy']['PLPROXY']: not starting at 0") != std::string::npos);
        CHECK(e.detail().find('\n') != std::string::npos);
    }
}

TEST(django_rule_problem_in_the_kept_catalog_uses_its_label) {
    Topology current = import(standby_settings).target;
    // replacing default by a standby of standby1 makes a cycle; standby1 is not in the document
    CHECK_THROWS(import(databases(R"("default": {"HOST": "d", "STANDBY": {"MASTER": "standby1"}})"), current, false),
                 "23514", "node \"standby1\": cycle");
}

TEST(django_rule_shard_count_cannot_change) {
    Topology current = import(plproxy_settings).target;
    std::string doc = databases(proxy_entry + "," + shards("p1", 0, 1023) + "," + shards("p2", 1024, 2047));
    CHECK_THROWS(
        import(doc, current, false), "23514",
        "DATABASES['p2']['PLPROXY']['SHARDS']: shard count fixed: the shard count of cluster \"commcarehq\" cannot "
        "change (1024 to 2048)");
    CHECK_THROWS(import(doc, current, true), "23514", "drop_cluster");
    // fine into an empty catalog, or when the count stays
    CHECK_EQ(import(doc).target.clusters.at(0).shard_count, 2048);
    std::string same_count = databases(proxy_entry + "," + shards("p1", 0, 99) + "," + shards("p2", 100, 1023));
    CHECK_EQ(action_of(import(same_count, current, true).actions, "commcarehq"), std::string("cluster updated"));
    // a document without SHARDS keeps the catalog's count
    CHECK_EQ(import(databases(proxy_entry), current, true).target.clusters.at(0).shard_count, 1024);
}

// ---------------------------------------------------------------- malformed documents

TEST(django_malformed_top_level) {
    CHECK_THROWS(import("[]"), "22023", "settings must be a JSON object, not an array");
    CHECK_THROWS(import("\"DATABASES\""), "22023", "settings must be a JSON object");
    CHECK_THROWS(import("{\"DATABASES\": "), "22023", "settings are not valid JSON");
    CHECK_THROWS(import("{\"DATABASES\": {}} x"), "22023", "parse error");
    CHECK_THROWS(import(""), "22023", "settings are not valid JSON");
    CHECK_THROWS(import(R"({"a": 1e400})"), "22023", "settings are not valid JSON");
    CHECK_THROWS(import(R"({"DATABASE": {}})"), "22023", "unknown setting \"DATABASE\"");
    CHECK_THROWS(
        import(R"({"DATABASE": {}})"), "22023",
        "DATABASES, LOAD_BALANCED_APPS, PARTITION_DATABASE_CONFIG, PL_PROXY_CLUSTER_NAME, REPORTING_DATABASES, "
        "USE_PARTITIONED_DATABASE");
    CHECK_THROWS(import(R"({"DATABASES": []})"), "22023", "DATABASES must be an object, not an array");
    CHECK_THROWS(import(R"({"USE_PARTITIONED_DATABASE": "yes"})"), "22023",
                 "USE_PARTITIONED_DATABASE must be a boolean");
    CHECK_THROWS(import(R"({"PL_PROXY_CLUSTER_NAME": 1})"), "22023", "PL_PROXY_CLUSTER_NAME must be a string");
    CHECK_EQ(import("{}").actions.size(), size_t(0));
    CHECK_EQ(import(R"({"USE_PARTITIONED_DATABASE": false, "PL_PROXY_CLUSTER_NAME": "x"})").target.clusters.size(),
             size_t(0));
}

TEST(django_malformed_entries) {
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "HOTS": "x"})")), "22023",
                 "DATABASES['db']['HOTS'] is not a known database setting");
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "HOTS": "x"})")), "22023", "CITUS_NODE_NAME");
    CHECK_THROWS(import(databases(R"("db": "h")")), "22023", "DATABASES['db'] must be an object, not a string");
    CHECK_THROWS(import(databases(R"("db": {"PORT": 1})")), "22023", "DATABASES['db'] has no HOST");
    CHECK_THROWS(import(databases(R"("db": {"HOST": ""})")), "22023", "DATABASES['db']['HOST'] is empty");
    CHECK_THROWS(import(databases(R"("db": {"HOST": 1})")), "22023", "DATABASES['db']['HOST'] must be a string");
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "ROLE": "citus_coordinator"})")), "22023",
                 "DATABASES['db']['ROLE']");
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "PLPROXY": {"SHARD": [0, 1]}})")), "22023",
                 "DATABASES['db']['PLPROXY']['SHARD'] is not a known PLPROXY setting");
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "PLPROXY": {"PROXY": 1}})")), "22023",
                 "DATABASES['db']['PLPROXY']['PROXY'] must be a boolean");
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "STANDBY": {"MASTERS": "x"}})")), "22023",
                 "DATABASES['db']['STANDBY']['MASTERS'] is not a known STANDBY setting");
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "STANDBY": {}})")), "22023",
                 "DATABASES['db']['STANDBY'] has no MASTER");
    CHECK_THROWS(
        import(databases(R"("db": {"HOST": "h", "STANDBY": {"MASTER": "x", "ACCEPTABLE_REPLICATION_DELAY": "3"}})")),
        "22023", "['ACCEPTABLE_REPLICATION_DELAY'] must be a number, not a string");
    CHECK_THROWS(
        import(databases(R"("db": {"HOST": "h", "STANDBY": {"MASTER": "x", "ACCEPTABLE_REPLICATION_DELAY": 1e12}})")),
        "22023", "['ACCEPTABLE_REPLICATION_DELAY'] must be a number of seconds");
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "STANDBY": {"MASTER": "x", "MAX_LAG_BYTES": 1.5}})")), "22023",
                 "['MAX_LAG_BYTES'] must be an integer");
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "OPTIONS": {"ssl mode": "x"}})")), "22023",
                 "DATABASES['db']['OPTIONS']['ssl mode'] is not a libpq connection keyword");
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "OPTIONS": {"user": "x"}})")), "22023",
                 "DATABASES['db']['USER']");
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "OPTIONS": {"sslmode": null}})")), "22023",
                 "DATABASES['db']['OPTIONS']['sslmode'] must be a string, a number or a boolean");
    CHECK_THROWS(import(databases(R"("it's": {"HOST": "h", "X": 1})")), "22023", "DATABASES['it\\'s']['X']");
    // Django keys with no catalog meaning are accepted whatever their value
    CHECK_EQ(import(databases(R"("db": {"HOST": "h", "ENGINE": 1, "TEST": {"MIRROR": null}, "CONN_MAX_AGE": null,
        "CONN_HEALTH_CHECKS": true, "ATOMIC_REQUESTS": false, "AUTOCOMMIT": true, "TIME_ZONE": "UTC",
        "DISABLE_SERVER_SIDE_CURSORS": true, "PASSWORD": null})"))
                 .actions.size(),
             size_t(1));
}

// ---------------------------------------------------------------- node_columns' Django keys

namespace {

using nlohmann::json;

// A value for each key with a form of its own (Django::by_hand): a new one needs its line here.
json by_hand_sample(const DjangoKey &k) {
    const std::string key = k.key;
    if (key == "HOST")
        return "other.db";
    if (key == "PORT")
        return 6432;
    if (key == "OPTIONS")
        return {{"sslmode", "require"}};
    if (key == "ROLE")
        return "citus_worker";
    if (key == "PLPROXY_HOST")
        return "inner.db";
    if (key == "MASTER")
        return "q";
    return nullptr;
}

// A plain key (Django::plain) takes a value of its member's type.
struct PlainSample {
    json operator()(std::string Node::*) const { return "sample"; }
    json operator()(std::optional<std::string> Node::*) const { return "sample"; }
    json operator()(int Node::*) const { return 7; }
    json operator()(std::optional<int64_t> Node::*) const { return 7; }
    json operator()(Interval<Node>) const { return 2.5; }
};

} // namespace

// Each Django key of node_columns is accepted, sets its own column and no other, and is exported as it was written.
TEST(django_every_column_key_round_trips) {
    // p and q: primaries; s: a standby of p, which holds the STANDBY keys
    const json base = json::parse(R"({"DATABASES": {"p": {"HOST": "p.db"}, "q": {"HOST": "q.db"},
                                                    "s": {"HOST": "s.db", "STANDBY": {"MASTER": "p"}}}})");
    const Topology before = import(base.dump()).target;
    size_t checked = 0;
    for (const auto &c : node_columns) {
        if (!c.django.key)
            continue;
        const std::string label = std::string(c.django.group ? c.django.group : "") + "/" + c.django.key;
        json sample = c.django.how == Django::plain ? std::visit(PlainSample{}, c.member) : by_hand_sample(c.django);
        if (sample.is_null()) {
            unit::fail(__FILE__, __LINE__, "no sample value for " + label);
            continue;
        }
        const std::string alias = c.django.group && std::string(c.django.group) == "STANDBY" ? "s" : "p";
        json doc = base;
        json &entry = doc["DATABASES"][alias];
        (c.django.group ? entry[c.django.group] : entry)[c.django.key] = sample;
        try {
            Topology after = import(doc.dump()).target;
            json was = encode(*before.find_node(alias)), now = encode(*after.find_node(alias));
            for (const auto &other : node_columns)
                if ((was[other.name] != now[other.name]) != (&other == &c))
                    unit::fail(__FILE__, __LINE__,
                               label + " sets column " + other.name + ": " + was.dump() + " -> " + now.dump());
            json exported = json::parse(export_settings(after))["DATABASES"][alias];
            json back = c.django.group ? exported.value(c.django.group, json::object()) : exported;
            if (back.value(c.django.key, json()) != sample)
                unit::fail(__FILE__, __LINE__, label + " exported as " + exported.dump());
        } catch (const shardroute::Error &e) {
            unit::fail(__FILE__, __LINE__, label + ": " + e.what());
        }
        ++checked;
    }
    CHECK(checked >= 11);
}

// A document with several malformed keys is refused at the first in node_columns' order, as it always was.
TEST(django_entry_keys_are_read_in_column_order) {
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "NAME": 1, "ROLE": "x", "CITUS_NODE_NAME": 1})")), "22023",
                 "DATABASES['db']['NAME'] must be a string");
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "CITUS_NODE_NAME": 1, "OPTIONS": {"a b": 1}})")), "22023",
                 "DATABASES['db']['OPTIONS']['a b']");
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "CITUS_NODE_NAME": 1, "PLPROXY": {"PROXY": 1}})")), "22023",
                 "DATABASES['db']['CITUS_NODE_NAME'] must be a string");
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "PLPROXY": {"PROXY": true},
        "STANDBY": {"MASTER": "x", "APPLICATION_NAME": 1, "MAX_LAG_BYTES": "1", "ACCEPTABLE_REPLICATION_DELAY": "3"}})")),
                 "22023", "['ACCEPTABLE_REPLICATION_DELAY'] must be a number");
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "PLPROXY": {"PROXY": true},
        "STANDBY": {"MASTER": "x", "APPLICATION_NAME": 1, "MAX_LAG_BYTES": "1"}})")),
                 "22023", "['MAX_LAG_BYTES'] must be an integer");
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "PLPROXY": {"PROXY": true},
        "STANDBY": {"MASTER": "x", "APPLICATION_NAME": 1}})")),
                 "22023", "['APPLICATION_NAME'] must be a string");
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "PLPROXY": {"PROXY": true}, "STANDBY": {"MASTER": "x"}})")),
                 "23514", "standby databases should not have PLPROXY configuration");
}

// ---------------------------------------------------------------- CommCare's other spellings

// CommCare's docker localsettings: Django reaches every database as 'postgres', PL/Proxy (on that
// server) as 'localhost'; PLPROXY_HOST sits on the proxy and maps the HOST of all of them.
const std::string docker_settings = fixture("plproxy_host");

TEST(django_plproxy_host) {
    ImportPlan plan = import(docker_settings);
    for (const char *alias : {"default", "proxy", "p1", "p2", "p2_standby"})
        CHECK(node(plan.target, alias)->plproxy_host == std::string("localhost"));
    CHECK(!node(plan.target, "other")->plproxy_host);
    // PL/Proxy's partitions use it; clients (conninfo) keep HOST
    auto options = shardroute::plproxy::server_options(plan.target, "commcarehq", false, {});
    int partitions = 0;
    for (const auto &[key, value] : options)
        if (shardroute::plproxy::is_partition_option(key)) {
            ++partitions;
            CHECK(value.rfind("host=localhost port=5432 dbname=commcarehq_p", 0) == 0);
        }
    CHECK_EQ(partitions, 4);
    CHECK_EQ(conninfo(*node(plan.target, "p1")),
             std::string("host=postgres port=5432 dbname=commcarehq_p1 user=commcarehq"));
    // export writes it on every primary of the host, and the catalog round-trips
    CHECK_ROUND_TRIP(docker_settings);
    std::string exported = export_settings(plan.target);
    CHECK(
        exported.find(
            R"("p1":{"HOST":"postgres","NAME":"commcarehq_p1","PLPROXY":{"PLPROXY_HOST":"localhost","SHARDS":[0,1]})") !=
        std::string::npos);
    // a standby on a mapped host is mapped too, and round-trips through its primary
    std::string with_standby = databases(R"("p": {"HOST": "h", "PLPROXY": {"PROXY": true, "PLPROXY_HOST": "in"}},
        "s": {"HOST": "h", "STANDBY": {"MASTER": "p"}})");
    CHECK(node(import(with_standby).target, "s")->plproxy_host == std::string("in"));
    CHECK_ROUND_TRIP(with_standby);
    // two hosts for one HOST contradict each other
    CHECK_THROWS(import(databases(R"("a": {"HOST": "h", "PLPROXY": {"PLPROXY_HOST": "x"}},
                                     "b": {"HOST": "h", "PLPROXY": {"PLPROXY_HOST": "y"}})")),
                 "22023",
                 "DATABASES['b']['PLPROXY']['PLPROXY_HOST'] maps host \"h\" to \"y\", but "
                 "DATABASES['a']['PLPROXY']['PLPROXY_HOST'] maps it to \"x\"");
    CHECK_THROWS(import(databases(R"("a": {"HOST": "h", "PLPROXY": {"PLPROXY_HOST": ""}})")), "22023",
                 "DATABASES['a']['PLPROXY']['PLPROXY_HOST'] is empty");
    CHECK_THROWS(import(databases(R"("a": {"HOST": "h", "PLPROXY": {"PLPROXY_HOST": 1}})")), "22023",
                 "DATABASES['a']['PLPROXY']['PLPROXY_HOST'] must be a string, not an integer");
    CHECK_THROWS(import(databases(R"("a": {"HOST": "h", "PLPROXY": {"PLPROXY_HOST": "x\ty"}})")), "23514",
                 "DATABASES['a']['PLPROXY']['PLPROXY_HOST']: invalid plproxy_host");
    // what Django cannot say: nodes on one host that disagree, a standby's own plproxy_host
    Topology t = plan.target;
    const_cast<Node *>(node(t, "p2"))->plproxy_host = "127.0.0.1";
    CHECK_THROWS(export_settings(t), "0A000", "share host \"postgres\" but not plproxy_host");
    Topology lone = import(standby_settings).target;
    const_cast<Node *>(node(lone, "standby1"))->plproxy_host = "inside";
    CHECK_THROWS(export_settings(lone), "0A000", "plproxy_host of standby \"standby1\"");
}

TEST(django_legacy_partition_database_config) {
    // commcare-hq's testsettings: the 'groups' layout with a host_map
    std::string groups = fixture("partition_database_config");
    ImportPlan plan = import(groups);
    CHECK_EQ(plan.target.clusters.size(), size_t(1));
    CHECK(plan.target.clusters[0].proxy_node == std::string("proxy"));
    CHECK_EQ(plan.target.clusters[0].shard_count, 4);
    CHECK_EQ(plan.target.ranges.size(), size_t(2));
    CHECK(node(plan.target, "p2")->plproxy_host == std::string("localhost"));
    CHECK_EQ(action_of(plan.actions, "PARTITION_DATABASE_CONFIG"),
             std::string("setting legacy: exported as DATABASES[...]['PLPROXY']"));
    // exported in the current form, which imports to the same catalog
    std::string exported = export_settings(plan.target);
    CHECK(exported.find("PARTITION_DATABASE_CONFIG") == std::string::npos);
    CHECK(exported.find(R"("PLPROXY":{"PLPROXY_HOST":"localhost","PROXY":true})") != std::string::npos);
    CHECK(same(import(exported).target, plan.target));
    // the layout between the two: {'shards': ..., 'proxy': alias}; the five partitions of the demo
    std::string five = R"({"DATABASES": {"proxy": {"HOST": "p"}, "p1": {"HOST": "h"}, "p2": {"HOST": "h"},
        "p3": {"HOST": "h"}, "p4": {"HOST": "h"}, "p5": {"HOST": "h"}},
      "PARTITION_DATABASE_CONFIG": {"proxy": "proxy", "shards": {"p1": [0, 204], "p2": [205, 409], "p3": [410, 614],
                                                                  "p4": [615, 819], "p5": [820, 1023]}}})";
    Topology t5 = import(five).target;
    CHECK_EQ(t5.clusters.at(0).shard_count, 1024);
    CHECK(same(t5, import(databases(R"("proxy": {"HOST": "p", "PLPROXY": {"PROXY": true}},
        "p1": {"HOST": "h", "PLPROXY": {"SHARDS": [0, 204]}}, "p2": {"HOST": "h", "PLPROXY": {"SHARDS": [205, 409]}},
        "p3": {"HOST": "h", "PLPROXY": {"SHARDS": [410, 614]}}, "p4": {"HOST": "h", "PLPROXY": {"SHARDS": [615, 819]}},
        "p5": {"HOST": "h", "PLPROXY": {"SHARDS": [820, 1023]}})"))
                       .target));
    // CommCare's rules, named in the legacy setting
    std::string dbs = R"("proxy": {"HOST": "p"}, "p1": {"HOST": "h"}, "p2": {"HOST": "h"})";
    auto legacy = [&](const std::string &config) {
        return import(databases(dbs, R"("PARTITION_DATABASE_CONFIG": )" + config));
    };
    CHECK_THROWS(legacy(R"({"proxy": "proxy", "shards": {"p1": [0, 1], "p2": [3, 3]}})"), "23514",
                 "PARTITION_DATABASE_CONFIG: gap");
    CHECK_THROWS(legacy(R"({"proxy": "proxy", "shards": {"p1": [0, 1], "p2": [2, 4]}})"), "23514",
                 "PARTITION_DATABASE_CONFIG: shard count not a power of 2");
    CHECK_THROWS(legacy(R"({"proxy": "proxy", "shards": {"p1": [1, 1], "p2": [2, 3]}})"), "23514",
                 "PARTITION_DATABASE_CONFIG: not starting at 0");
    CHECK_THROWS(legacy(R"({"proxy": "proxy", "shards": {"p1": [0, 1], "p2": [3, 2]}})"), "23514",
                 "PARTITION_DATABASE_CONFIG['shards']['p2']: invalid range: shards [3, 2]");
    CHECK_THROWS(legacy(R"({"proxy": "proxy", "shards": {"p9": [0, 1]}})"), "22023",
                 "PARTITION_DATABASE_CONFIG['shards']['p9'] names \"p9\", which is not in DATABASES");
    CHECK_THROWS(legacy(R"({"groups": {"main": ["nowhere"]}})"), "22023",
                 "PARTITION_DATABASE_CONFIG['groups']['main'][0] names \"nowhere\", which is not in DATABASES");
    CHECK_THROWS(legacy(R"({"groups": {"proxy": ["proxy", "p1"]}, "shards": {"p2": [0, 0]}})"), "22023",
                 "PARTITION_DATABASE_CONFIG['groups']['proxy'] must name exactly one database, not 2");
    CHECK_THROWS(legacy(R"({"groups": {"proxy": ["proxy"]}, "proxy": "p1"})"), "22023",
                 "PARTITION_DATABASE_CONFIG['proxy'] is \"p1\", but PARTITION_DATABASE_CONFIG['groups']['proxy'] is "
                 "\"proxy\"");
    CHECK_THROWS(legacy(R"({"proxy": "proxy", "shard": {}})"), "22023",
                 "PARTITION_DATABASE_CONFIG['shard'] is not a known PARTITION_DATABASE_CONFIG setting");
    CHECK_THROWS(legacy(R"({"proxy": "proxy", "host_map": {"h": 1}})"), "22023",
                 "PARTITION_DATABASE_CONFIG['host_map']['h'] must be a string, not an integer");
    CHECK_THROWS(import(databases(R"("proxy": {"HOST": "p", "PLPROXY": {"PROXY": true}}, "p1": {"HOST": "h"})",
                                  R"("PARTITION_DATABASE_CONFIG": {"shards": {"p1": [0, 0]}})")),
                 "22023",
                 "PARTITION_DATABASE_CONFIG and DATABASES['proxy']['PLPROXY'] both describe the PL/Proxy cluster");
}

TEST(django_legacy_standby_delay) {
    // CommCare's connection tests put HQ_ACCEPTABLE_STANDBY_DELAY on every database
    std::string doc = databases(R"("default": {"HOST": "d", "HQ_ACCEPTABLE_STANDBY_DELAY": 3},
        "s1": {"HOST": "s1", "HQ_ACCEPTABLE_STANDBY_DELAY": 7.5, "STANDBY": {"MASTER": "default"}},
        "s2": {"HOST": "s2", "HQ_ACCEPTABLE_STANDBY_DELAY": 1,
               "STANDBY": {"MASTER": "default", "ACCEPTABLE_REPLICATION_DELAY": 30}})");
    ImportPlan plan = import(doc);
    CHECK(node(plan.target, "s1")->max_lag_us == int64_t(7500000));
    CHECK(node(plan.target, "s2")->max_lag_us == int64_t(30000000));
    CHECK(!node(plan.target, "default")->max_lag_us);
    CHECK_EQ(action_of(plan.actions, "DATABASES['s1']['HQ_ACCEPTABLE_STANDBY_DELAY']"),
             std::string("setting legacy: exported as DATABASES['s1']['STANDBY']['ACCEPTABLE_REPLICATION_DELAY']"));
    CHECK_EQ(action_of(plan.actions, "DATABASES['s2']['HQ_ACCEPTABLE_STANDBY_DELAY']"),
             std::string("setting ignored: STANDBY's ACCEPTABLE_REPLICATION_DELAY takes precedence"));
    CHECK(action_of(plan.actions, "DATABASES['default']['HQ_ACCEPTABLE_STANDBY_DELAY']")
              .rfind("setting ignored: not a standby", 0) == 0);
    std::string exported = export_settings(plan.target);
    CHECK(exported.find("HQ_ACCEPTABLE_STANDBY_DELAY") == std::string::npos);
    CHECK(exported.find(R"("STANDBY":{"ACCEPTABLE_REPLICATION_DELAY":7.5,"MASTER":"default"})") != std::string::npos);
    CHECK(same(import(exported).target, plan.target));
    CHECK_THROWS(import(databases(R"("d": {"HOST": "d", "HQ_ACCEPTABLE_STANDBY_DELAY": "3"})")), "22023",
                 "DATABASES['d']['HQ_ACCEPTABLE_STANDBY_DELAY'] must be a number, not a string");
}

TEST(django_bare_load_balanced_apps_and_empty_read_lists) {
    // CommCare's router test: {'users': [('users_db1', 5)]}; WRITE is Django's 'default'
    std::string doc = databases(R"("default": {"HOST": "d"}, "users_db1": {"HOST": "u"})",
                                R"("LOAD_BALANCED_APPS": {"users": [["users_db1", 5]]})");
    ImportPlan plan = import(doc);
    const ReadGroup *g = plan.target.find_read_group("users");
    CHECK(g && g->write_node == "default" && g->setting == load_balanced_apps);
    CHECK_EQ(plan.target.members.size(), size_t(1));
    CHECK_EQ(plan.target.members.at(0).node, std::string("users_db1"));
    CHECK_EQ(plan.target.members.at(0).weight, 5.0);
    CHECK(action_of(plan.actions, "LOAD_BALANCED_APPS['users']", "setting")
              .rfind("setting legacy: WRITE is 'default'", 0) == 0);
    std::string exported = export_settings(plan.target);
    CHECK(exported.find(R"("LOAD_BALANCED_APPS":{"users":{"READ":[["users_db1",5]],"WRITE":"default"}})") !=
          std::string::npos);
    CHECK(same(import(exported).target, plan.target));
    CHECK_THROWS(
        import(databases(R"("users_db1": {"HOST": "u"})", R"("LOAD_BALANCED_APPS": {"users": [["users_db1", 5]]})")),
        "23514", "LOAD_BALANCED_APPS['users']: unknown node: WRITE node \"default\"");
    // empty READ lists, and REPORTING_DATABASES' {'default': 'default'} engine maps
    for (const char *groups :
         {R"("LOAD_BALANCED_APPS": {"users": []})",
          R"("LOAD_BALANCED_APPS": {"users": {"WRITE": "default", "READ": []}})",
          R"("REPORTING_DATABASES": {"default": "default", "ucr": {"WRITE": "default", "READ": []}})",
          R"("REPORTING_DATABASES": {"default": "default", "ucr": "default"})"}) {
        std::string d = databases(R"("default": {"HOST": "d"})", groups);
        ImportPlan p = import(d);
        CHECK(p.target.members.empty());
        for (const auto &rg : p.target.read_groups)
            CHECK_EQ(rg.write_node, std::string("default"));
        CHECK(same(import(export_settings(p.target)).target, p.target));
    }
}

TEST(django_wrong_types) {
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "PORT": [5432]})")), "22023",
                 "DATABASES['db']['PORT'] must be an integer or a string, not an array");
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "PORT": 5432.0})")), "22023",
                 "DATABASES['db']['PORT'] must be an integer or a string, not a number");
    CHECK_THROWS(import(databases(R"("db": {"HOST": "h", "PORT": 99999999999})")), "22023",
                 "DATABASES['db']['PORT'] must be an integer between");
    CHECK_THROWS(import(databases(R"("p1": {"HOST": "h", "PLPROXY": {"SHARDS": [0, 511, 1023]}})")), "22023",
                 "DATABASES['p1']['PLPROXY']['SHARDS'] must be [first, last], two integers, not 3 items");
    CHECK_THROWS(import(databases(R"("p1": {"HOST": "h", "PLPROXY": {"SHARDS": "0-511"}})")), "22023",
                 "DATABASES['p1']['PLPROXY']['SHARDS'] must be [first, last], two integers, not a string");
    CHECK_THROWS(import(databases(R"("p1": {"HOST": "h", "PLPROXY": {"SHARDS": [0, "511"]}})")), "22023",
                 "DATABASES['p1']['PLPROXY']['SHARDS'][1] must be an integer, not a string");
    CHECK_THROWS(import(databases(R"("p1": {"HOST": "h", "PLPROXY": {"SHARDS": [-1, 511]}})")), "22023",
                 "DATABASES['p1']['PLPROXY']['SHARDS'][0] must be an integer between 0 and");
    CHECK_THROWS(import(databases(R"("p1": {"HOST": "h", "PLPROXY": {"SHARDS": [0, 2147483647]}})")), "22023",
                 "must be an integer between 0 and 2147483646");
    std::string db = R"("ucr": {"HOST": "h"}, "s1": {"HOST": "s", "STANDBY": {"MASTER": "ucr"}})";
    CHECK_THROWS(import(databases(db, R"("REPORTING_DATABASES": {"ucr": {"WRITE": "ucr", "READ": ["ucr", 1]}})")),
                 "22023", "REPORTING_DATABASES['ucr']['READ'][0] must be an [alias, weight] pair, not a string");
    CHECK_THROWS(import(databases(db, R"("REPORTING_DATABASES": {"ucr": {"WRITE": "ucr", "READ": [["ucr", 1, 2]]}})")),
                 "22023", "REPORTING_DATABASES['ucr']['READ'][0] must be an [alias, weight] pair, not 3 items");
    CHECK_THROWS(import(databases(db, R"("REPORTING_DATABASES": {"ucr": {"WRITE": "ucr", "READ": [["ucr", "1"]]}})")),
                 "22023", "REPORTING_DATABASES['ucr']['READ'][0][1] must be a number, not a string");
    CHECK_THROWS(import(databases(db, R"("REPORTING_DATABASES": {"ucr": {"WRITE": "ucr", "READ": {}}})")), "22023",
                 "REPORTING_DATABASES['ucr']['READ'] must be an array of [alias, weight] pairs, not an object");
    CHECK_THROWS(import(databases(db, R"("REPORTING_DATABASES": {"ucr": {"WRITE": "ucr"}})")), "22023",
                 "REPORTING_DATABASES['ucr'] must have both WRITE and READ");
    CHECK_THROWS(import(databases(db, R"("REPORTING_DATABASES": {"ucr": ["ucr"]})")), "22023",
                 "REPORTING_DATABASES['ucr'] must be a database alias or an object with WRITE and READ");
    CHECK_THROWS(import(databases(db, R"("LOAD_BALANCED_APPS": {"users": "ucr"})")), "22023",
                 "LOAD_BALANCED_APPS['users'] must be an object with WRITE and READ, or a list of [alias, weight] "
                 "pairs, not a string");
    CHECK_THROWS(import(databases(db, R"("LOAD_BALANCED_APPS": {"users": [["ucr"]]})")), "22023",
                 "LOAD_BALANCED_APPS['users'][0] must be an [alias, weight] pair, not 1 items");
    CHECK_THROWS(import(databases(db, R"("LOAD_BALANCED_APPS": {"users": {"WRITE": "ucr", "READ": [], "X": 1}})")),
                 "22023", "LOAD_BALANCED_APPS['users']['X'] is not a known read group setting");
    CHECK_THROWS(
        import(databases(db, R"("REPORTING_DATABASES": {"ucr": {"WRITE": "ucr", "READ": [["s1", 1], ["s1", 2]]}})")),
        "22023", "REPORTING_DATABASES['ucr']['READ'] lists \"s1\" more than once");
    CHECK_THROWS(
        import(databases(
            db,
            R"("REPORTING_DATABASES": {"ucr": "ucr"}, "LOAD_BALANCED_APPS": {"ucr": {"WRITE": "ucr", "READ": []}})")),
        "22023", "LOAD_BALANCED_APPS['ucr'] is defined in both");
}

TEST(django_limits) {
    std::string deep =
        "{\"DATABASES\": {\"db\": {\"HOST\": \"h\", \"TEST\": " + std::string(40, '[') + std::string(40, ']') + "}}}";
    CHECK_THROWS(import(deep), "54000", "nested too deeply");
    // brackets inside strings do not count
    std::string quoted = databases("\"db\": {\"HOST\": \"h\", \"TEST\": \"" + std::string(100, '[') + "\\\"\"}");
    CHECK_EQ(import(quoted).target.nodes.size(), size_t(1));
    std::string ok_depth =
        "{\"DATABASES\": {\"db\": {\"HOST\": \"h\", \"TEST\": " + std::string(29, '[') + std::string(29, ']') + "}}}";
    CHECK_EQ(import(ok_depth).target.nodes.size(), size_t(1));
    std::string huge = "{\"DATABASES\": {}, \"x\": \"" + std::string(16 * 1024 * 1024, 'a') + "\"}";
    CHECK_THROWS(import(huge), "54000", "too large");
}

// ---------------------------------------------------------------- export limits

TEST(django_export_refuses_what_django_cannot_say) {
    Topology t = import(plproxy_settings).target;
    Topology two = t;
    Cluster other = two.clusters[0];
    other.name = "other";
    two.clusters.push_back(other);
    CHECK_THROWS(export_settings(two), "0A000", "more than one cluster (\"commcarehq\", \"other\")");
    Topology split = t;
    split.ranges = {{"commcarehq", "p1", 0, 255}, {"commcarehq", "p2", 256, 511}, {"commcarehq", "p1", 512, 1023}};
    CHECK_THROWS(export_settings(split), "0A000", "node \"p1\" holds more than one shard range");
    Topology hashtext = t;
    hashtext.clusters[0].algorithm = "hashtext";
    CHECK_THROWS(export_settings(hashtext), "0A000", "algorithm \"hashtext\"");
    Topology bare = t;
    bare.ranges.clear();
    bare.clusters[0].proxy_node.reset();
    CHECK_THROWS(export_settings(bare), "0A000", "cluster \"commcarehq\" has no proxy node");
    Topology no_proxy = t; // shards without a proxy would not import again
    no_proxy.clusters[0].proxy_node.reset();
    CHECK_THROWS(export_settings(no_proxy), "0A000", "cluster \"commcarehq\" has no proxy node");
    Topology twice = t;
    twice.nodes[0].options = "user=a sslmode=require sslmode=disable";
    CHECK_THROWS(export_settings(twice), "0A000", "repeats option \"sslmode\"");
}
