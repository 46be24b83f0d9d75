// The catalog rules (validate.cpp) and libpq option handling (conninfo.cpp):
// every rule produces its problem on a topology that is valid except for it,
// and option values survive quoting whatever they contain.
#include "check.hpp"

#include "common/error.hpp"
#include "topology/conninfo.hpp"
#include "topology/validate.hpp"

#include <limits>
#include <string>
#include <vector>

using namespace shardroute::topology;

namespace {

Node node(const std::string &name, const std::string &host = "db.example") {
    Node n;
    n.name = name;
    n.host = host;
    return n;
}

Node standby(const std::string &name, const std::string &primary) {
    Node n = node(name);
    n.primary_node = primary;
    n.max_lag_us = 3000000;
    return n;
}

// A small catalog that breaks no rule: a 4-shard cluster on p1/p2, a standby
// of p1, and a read group over default and its standby.
Topology valid_topology() {
    Topology t;
    t.nodes = {node("default"), standby("default_standby", "default"),
               node("p1"),      node("p2"),
               node("proxy"),   standby("p1_standby", "p1")};
    Cluster c;
    c.name = "commcarehq";
    c.shard_count = 4;
    c.proxy_node = "proxy";
    t.clusters = {c};
    t.ranges = {{"commcarehq", "p1", 0, 1}, {"commcarehq", "p2", 2, 3}};
    t.read_groups = {{"users", "default", std::string(load_balanced_apps)}};
    t.members = {{"users", "default", 1}, {"users", "default_standby", 4}};
    return t;
}

// The problem of `kind` named `name` with `rule`, or nullptr.
const Problem *find(const std::vector<Problem> &ps, ObjectKind kind, const std::string &name, const std::string &rule) {
    for (const auto &p : ps)
        if (p.kind == kind && p.name == name && p.rule == rule)
            return &p;
    return nullptr;
}

std::string rules(const std::vector<Problem> &ps) {
    std::string out;
    for (const auto &p : ps)
        out += (out.empty() ? "" : "; ") + p.object() + ": " + p.message;
    return out;
}

Node *node_named(Topology &t, const std::string &name) {
    for (auto &n : t.nodes)
        if (n.name == name)
            return &n;
    return nullptr;
}

#define CHECK_RULE(problems, kind, name, rule)                                                                         \
    do {                                                                                                               \
        auto _ps = (problems);                                                                                         \
        if (!find(_ps, kind, name, rule))                                                                              \
            unit::fail(__FILE__, __LINE__,                                                                             \
                       std::string("missing rule \"") + (rule) + "\" on " + (name) + "; got: " + rules(_ps));          \
    } while (0)

} // namespace

TEST(validate_valid_topology_has_no_problems) {
    auto ps = validate(valid_topology());
    CHECK_EQ(rules(ps), std::string());
    CHECK(validate(Topology{}).empty());
}

TEST(validate_node_rules) {
    auto with = [](auto change) {
        Topology t = valid_topology();
        change(*node_named(t, "p2"));
        return validate(t);
    };
    CHECK_RULE(with([](Node &n) { n.name = std::string(64, 'x'); }), ObjectKind::node, std::string(64, 'x'),
               "invalid name");
    CHECK_RULE(with([](Node &n) { n.host = ""; }), ObjectKind::node, "p2", "invalid host");
    CHECK_RULE(with([](Node &n) { n.host = "a\nb"; }), ObjectKind::node, "p2", "invalid host");
    CHECK_RULE(with([](Node &n) { n.port = 0; }), ObjectKind::node, "p2", "invalid port");
    CHECK_RULE(with([](Node &n) { n.port = 65536; }), ObjectKind::node, "p2", "invalid port");
    CHECK_RULE(with([](Node &n) { n.dbname = ""; }), ObjectKind::node, "p2", "invalid dbname");
    CHECK_RULE(with([](Node &n) { n.options = "user=x password=secret"; }), ObjectKind::node, "p2",
               "password in options");
    CHECK_RULE(with([](Node &n) { n.options = "sslpassword=secret"; }), ObjectKind::node, "p2", "password in options");
    CHECK_RULE(with([](Node &n) { n.options = "port=5433"; }), ObjectKind::node, "p2", "reserved option");
    CHECK_RULE(with([](Node &n) { n.options = "colour=blue"; }), ObjectKind::node, "p2", "unknown option");
    CHECK_RULE(with([](Node &n) { n.options = "user"; }), ObjectKind::node, "p2", "invalid options");
    CHECK_RULE(with([](Node &n) { n.citus_role = "master"; }), ObjectKind::node, "p2", "invalid citus role");
    CHECK_RULE(with([](Node &n) { n.citus_node_name = "worker:99999"; }), ObjectKind::node, "p2",
               "invalid citus node name");
    CHECK_RULE(with([](Node &n) { n.citus_node_name = ":5432"; }), ObjectKind::node, "p2", "invalid citus node name");
    CHECK_RULE(with([](Node &n) { n.max_lag_us = 1; }), ObjectKind::node, "p2", "standby setting on a primary");
    // accepted spellings
    CHECK(with([](Node &n) {
              n.options = "user=commcarehq sslmode=require application_name='a b'";
              n.citus_role = "worker";
              n.citus_node_name = "citus_worker1:5432";
          }).empty());
    CHECK(with([](Node &n) { n.citus_node_name = "citus_worker1"; }).empty());
}

TEST(validate_password_problem_never_echoes_the_secret) {
    Topology t = valid_topology();
    node_named(t, "p2")->options = "password=hunter2";
    for (const auto &p : validate(t))
        CHECK(p.message.find("hunter2") == std::string::npos);
}

TEST(validate_standby_rules) {
    auto with = [](auto change) {
        Topology t = valid_topology();
        change(t);
        return validate(t);
    };
    CHECK_RULE(with([](Topology &t) { node_named(t, "p1_standby")->primary_node = "nowhere"; }), ObjectKind::node,
               "p1_standby", "unknown node");
    CHECK_RULE(with([](Topology &t) { node_named(t, "p1_standby")->primary_node = "p1_standby"; }), ObjectKind::node,
               "p1_standby", "cycle");
    CHECK_RULE(with([](Topology &t) { t.nodes.push_back(standby("cascade", "p1_standby")); }), ObjectKind::node,
               "cascade", "standby of a standby");
    CHECK_RULE(with([](Topology &t) {
                   t.nodes.push_back(standby("a", "b"));
                   t.nodes.push_back(standby("b", "a"));
               }),
               ObjectKind::node, "a", "cycle");
    CHECK_RULE(with([](Topology &t) { node_named(t, "p1_standby")->max_lag_us = -1; }), ObjectKind::node, "p1_standby",
               "invalid max_lag");
    CHECK_RULE(with([](Topology &t) { node_named(t, "p1_standby")->max_lag_bytes = -1; }), ObjectKind::node,
               "p1_standby", "invalid max_lag_bytes");
    CHECK_RULE(with([](Topology &t) { node_named(t, "p1_standby")->application_name = ""; }), ObjectKind::node,
               "p1_standby", "invalid application_name");
}

TEST(validate_cluster_rules) {
    auto with = [](auto change) {
        Topology t = valid_topology();
        change(t);
        return validate(t);
    };
    CHECK_RULE(with([](Topology &t) {
                   t.clusters[0].name = "";
                   t.ranges.clear();
               }),
               ObjectKind::cluster, "", "invalid name");
    CHECK_RULE(with([](Topology &t) {
                   t.clusters[0].shard_count = 3;
                   t.ranges[1].last = 2;
               }),
               ObjectKind::cluster, "commcarehq", "shard count not a power of 2");
    CHECK_RULE(with([](Topology &t) { t.clusters[0].shard_count = 131072; }), ObjectKind::cluster, "commcarehq",
               "shard count not a power of 2");
    CHECK_RULE(with([](Topology &t) { t.clusters[0].algorithm = "md5"; }), ObjectKind::cluster, "commcarehq",
               "unknown algorithm");
    CHECK_RULE(with([](Topology &t) { t.clusters[0].proxy_node = "nowhere"; }), ObjectKind::cluster, "commcarehq",
               "unknown node");
    CHECK_RULE(with([](Topology &t) { t.clusters[0].standby_proxy_node = "nowhere"; }), ObjectKind::cluster,
               "commcarehq", "unknown node");
    CHECK_RULE(with([](Topology &t) { t.clusters[0].proxy_node = "p1_standby"; }), ObjectKind::cluster, "commcarehq",
               "proxy is a standby");
    CHECK_RULE(with([](Topology &t) { t.clusters[0].standby_proxy_node = "proxy"; }), ObjectKind::cluster, "commcarehq",
               "same proxy for standbys");
    CHECK_RULE(with([](Topology &t) { t.ranges[0].first = 1; }), ObjectKind::cluster, "commcarehq",
               "not starting at 0");
    CHECK_RULE(with([](Topology &t) { t.ranges[0].last = 0; }), ObjectKind::cluster, "commcarehq", "gap");
    CHECK_RULE(with([](Topology &t) { t.ranges[1].last = 2; }), ObjectKind::cluster, "commcarehq", "gap");
    CHECK_RULE(with([](Topology &t) { t.ranges[0].last = 2; }), ObjectKind::cluster, "commcarehq", "overlap");
    CHECK_RULE(with([](Topology &t) { t.ranges[1].last = 4; }), ObjectKind::cluster, "commcarehq",
               "range beyond shard count");
    // a standby proxy of its own is fine
    CHECK(with([](Topology &t) {
              t.nodes.push_back(node("proxy_standby"));
              t.clusters[0].standby_proxy_node = "proxy_standby";
          }).empty());
    // a cluster with no shards yet is reported, but does not block a COMMIT
    auto empty = with([](Topology &t) { t.ranges.clear(); });
    CHECK_RULE(empty, ObjectKind::cluster, "commcarehq", "no shards assigned");
    CHECK(empty.size() == 1 && empty[0].incomplete);
    CHECK(blocking(empty).empty());
}

TEST(validate_gap_names_the_neighbours) {
    Topology t = valid_topology();
    t.clusters[0].shard_count = 8;
    t.ranges = {{"commcarehq", "p1", 0, 1}, {"commcarehq", "p2", 4, 7}};
    auto ps = validate(t);
    const Problem *gap = find(ps, ObjectKind::cluster, "commcarehq", "gap");
    CHECK(gap != nullptr);
    if (gap) {
        CHECK(gap->message.find("2..3") != std::string::npos);
        CHECK(gap->message.find("\"p1\"") != std::string::npos);
        CHECK(gap->message.find("\"p2\"") != std::string::npos);
    }
}

TEST(validate_range_rules) {
    auto with = [](auto change) {
        Topology t = valid_topology();
        change(t);
        return validate(t);
    };
    CHECK_RULE(with([](Topology &t) {
                   t.ranges.push_back({"commcarehq", "p2", 3, 2});
               }),
               ObjectKind::shard_range, "commcarehq", "invalid range");
    CHECK_RULE(with([](Topology &t) {
                   t.ranges.push_back({"commcarehq", "p2", -1, 0});
               }),
               ObjectKind::shard_range, "commcarehq", "invalid range");
    CHECK_RULE(with([](Topology &t) {
                   t.ranges.push_back({"other", "p2", 0, 3});
               }),
               ObjectKind::shard_range, "other", "unknown cluster");
    CHECK_RULE(with([](Topology &t) { t.ranges[1].node = "nowhere"; }), ObjectKind::shard_range, "commcarehq",
               "unknown node");
    CHECK_RULE(with([](Topology &t) { t.ranges[1].node = "p1_standby"; }), ObjectKind::shard_range, "commcarehq",
               "shards on a standby");
    auto ps = with([](Topology &t) { t.ranges[1].node = "p1_standby"; });
    const Problem *p = find(ps, ObjectKind::shard_range, "commcarehq", "shards on a standby");
    if (p)
        CHECK_EQ(p->detail, std::string("p1_standby"));
}

TEST(validate_read_group_rules) {
    auto with = [](auto change) {
        Topology t = valid_topology();
        change(t);
        return validate(t);
    };
    CHECK_RULE(with([](Topology &t) {
                   t.read_groups.push_back({"", "default", std::string(reporting_databases)});
               }),
               ObjectKind::read_group, "", "invalid name");
    CHECK_RULE(with([](Topology &t) { t.read_groups[0].setting = "DATABASES"; }), ObjectKind::read_group, "users",
               "invalid setting");
    CHECK_RULE(with([](Topology &t) { t.read_groups[0].write_node = "nowhere"; }), ObjectKind::read_group, "users",
               "unknown node");
    CHECK_RULE(with([](Topology &t) { t.read_groups[0].write_node = "default_standby"; }), ObjectKind::read_group,
               "users", "write node is a standby");
    // two masters: default and p1 (through its standby)
    CHECK_RULE(with([](Topology &t) {
                   t.members.push_back({"users", "p1_standby", 1});
               }),
               ObjectKind::read_group, "users", "more than one master");
    CHECK_RULE(with([](Topology &t) {
                   t.members.push_back({"users", "p1", 1});
               }),
               ObjectKind::read_group, "users", "more than one master");
    CHECK_RULE(with([](Topology &t) { t.members[1].weight = -1; }), ObjectKind::read_member, "users", "invalid weight");
    CHECK_RULE(with([](Topology &t) { t.members[1].weight = std::numeric_limits<double>::infinity(); }),
               ObjectKind::read_member, "users", "invalid weight");
    CHECK_RULE(with([](Topology &t) {
                   t.members.push_back({"nogroup", "default", 1});
               }),
               ObjectKind::read_member, "nogroup", "unknown read group");
    CHECK_RULE(with([](Topology &t) {
                   t.members.push_back({"users", "nowhere", 1});
               }),
               ObjectKind::read_member, "users", "unknown node");
    // standbys of one master without the master itself, and weight 0, are fine
    CHECK(with([](Topology &t) { t.members = {{"users", "default_standby", 0}}; }).empty());
}

TEST(validate_every_problem_at_once) {
    Topology t = valid_topology();
    node_named(t, "p2")->port = 0;
    t.ranges[0].first = 1;
    t.members[1].weight = -1;
    auto ps = validate(t);
    CHECK(find(ps, ObjectKind::node, "p2", "invalid port"));
    CHECK(find(ps, ObjectKind::cluster, "commcarehq", "not starting at 0"));
    CHECK(find(ps, ObjectKind::read_member, "users", "invalid weight"));
}

TEST(validate_single_row_checks) {
    CHECK(check_node(node("ok")).empty());
    CHECK_EQ(check_node(node("")).size(), size_t(1));
    Cluster c;
    c.name = "c";
    CHECK(check_cluster(c).empty());
    c.shard_count = 0;
    CHECK_EQ(check_cluster(c).front().rule, std::string("shard count not a power of 2"));
    CHECK(check_range({"c", "n", 0, 0}).empty());
    CHECK(check_read_group({"g", "n", std::string(reporting_databases)}).empty());
    CHECK(check_member({"g", "n", 0}).empty());
}

TEST(validate_valid_name) {
    CHECK(valid_name("p1"));
    CHECK(valid_name(std::string(63, 'a')));
    CHECK(!valid_name(std::string(64, 'a')));
    CHECK(!valid_name(""));
    CHECK(!valid_name("a\tb"));
    CHECK(!valid_name(std::string("a\0b", 3)));
    CHECK(valid_name("icds-ucr"));
}

TEST(validate_problem_object_labels) {
    CHECK_EQ((Problem{ObjectKind::node, "p1", "", Field::none, "", "", ""}.object()), std::string("node \"p1\""));
    CHECK_EQ((Problem{ObjectKind::cluster, "c", "", Field::none, "", "", ""}.object()), std::string("cluster \"c\""));
    CHECK_EQ((Problem{ObjectKind::shard_range, "c", "p1", Field::none, "", "", ""}.object()),
             std::string("shard range of cluster \"c\" on node \"p1\""));
    CHECK_EQ((Problem{ObjectKind::read_group, "ucr", "", Field::none, "", "", ""}.object()),
             std::string("read group \"ucr\""));
    CHECK_EQ((Problem{ObjectKind::read_member, "ucr", "s1", Field::none, "", "", ""}.object()),
             std::string("read group \"ucr\" member \"s1\""));
}

TEST(raise_problems_carries_everything) {
    Topology t = valid_topology();
    node_named(t, "p2")->port = 0;
    CHECK_THROWS(raise_problems(validate(t), "add_node: "), "23514", "add_node: node \"p2\": invalid port");
    t.ranges[0].first = 1;
    auto ps = validate(t);
    try {
        raise_problems(ps, "");
        CHECK(false);
    } catch (const shardroute::Error &e) {
        CHECK_EQ(e.code(), std::string("23514"));
        CHECK(e.detail().find("invalid port") != std::string::npos);
        CHECK(e.detail().find("not starting at 0") != std::string::npos);
        CHECK(e.hint().find("check_topology") != std::string::npos);
    }
}

// ---------------------------------------------------------------- conninfo

TEST(conninfo_parse_plain_and_quoted) {
    Options o = parse_options("user=commcarehq  sslmode = require application_name='my app' options='-c x=\\'y\\''");
    CHECK_EQ(o.size(), size_t(4));
    CHECK_EQ(o[0].first, std::string("user"));
    CHECK_EQ(o[0].second, std::string("commcarehq"));
    CHECK_EQ(o[1].first, std::string("sslmode"));
    CHECK_EQ(o[1].second, std::string("require"));
    CHECK_EQ(o[2].second, std::string("my app"));
    CHECK_EQ(o[3].second, std::string("-c x='y'"));
    CHECK(parse_options("").empty());
    CHECK(parse_options("   \t\n").empty());
    CHECK_EQ(parse_options("a=''")[0].second, std::string());
    CHECK_EQ(parse_options("a=b\\ c")[0].second, std::string("b c")); // libpq: backslash escapes unquoted too
}

TEST(conninfo_parse_malformed) {
    CHECK_THROWS(parse_options("user"), "22023", "missing \"=\" after \"user\"");
    CHECK_THROWS(parse_options("user=x sslmode"), "22023", "missing \"=\"");
    CHECK_THROWS(parse_options("a='unterminated"), "22023", "unterminated quoted value");
    CHECK_THROWS(parse_options("=x"), "22023", "no keyword");
}

TEST(conninfo_quote_round_trips) {
    const std::vector<std::string> values = {"plain",      "",      "two words", "it's",     "back\\slash",
                                             "trailing\\", "'",     "\\'",       "a=b",      "tab\there",
                                             "new\nline",  " lead", "ünïcødé",   "''\\\\''", "x y'z\\w"};
    for (const auto &v : values) {
        std::string text = "application_name=" + quote_conninfo_value(v) + " sslmode=require";
        Options o;
        try {
            o = parse_options(text);
        } catch (const shardroute::Error &e) {
            unit::fail(__FILE__, __LINE__, "could not parse back " + text + ": " + e.what());
            continue;
        }
        CHECK_EQ(o.size(), size_t(2));
        if (o.size() == 2) {
            CHECK_EQ(o[0].second, v);
            CHECK_EQ(o[1].second, std::string("require"));
        }
    }
    CHECK_EQ(quote_conninfo_value("plain"), std::string("plain"));
    CHECK_EQ(quote_conninfo_value(""), std::string("''"));
    CHECK_EQ(quote_conninfo_value("it's"), std::string("'it\\'s'"));
    CHECK_EQ(quote_conninfo_value("a b"), std::string("'a b'"));
}

TEST(conninfo_format_options_round_trips) {
    Options o = {{"user", "comm care"}, {"options", "-c search_path='a b'"}, {"sslmode", "require"}};
    CHECK(parse_options(format_options(o)) == o);
    CHECK_EQ(format_options({}), std::string());
    CHECK_EQ(format_options({{"user", "x"}, {"sslmode", "require"}}), std::string("user=x sslmode=require"));
}

TEST(conninfo_check_options) {
    CHECK(check_options(parse_options("user=x sslmode=require connect_timeout=10")).empty());
    auto rule = [](const std::string &text) {
        auto ps = check_options(parse_options(text));
        return ps.empty() ? std::string() : ps.front().rule;
    };
    CHECK_EQ(rule("password=x"), std::string("password in options"));
    CHECK_EQ(rule("sslpassword=x"), std::string("password in options"));
    CHECK_EQ(rule("host=x"), std::string("reserved option"));
    CHECK_EQ(rule("hostaddr=1.2.3.4"), std::string("reserved option"));
    CHECK_EQ(rule("port=1"), std::string("reserved option"));
    CHECK_EQ(rule("dbname=x"), std::string("reserved option"));
    CHECK_EQ(rule("colour=x"), std::string("unknown option"));
    CHECK_EQ(check_options(parse_options("password=a colour=b host=c")).size(), size_t(3));
}

TEST(conninfo_full_string) {
    Node n;
    n.name = "p1";
    n.host = "db 1";
    n.port = 6432;
    CHECK_EQ(conninfo(n), std::string("host='db 1' port=6432"));
    n.dbname = "commcare's";
    n.options = "user=commcarehq   sslmode=require";
    CHECK_EQ(conninfo(n), std::string("host='db 1' port=6432 dbname='commcare\\'s' user=commcarehq sslmode=require"));
    Options back = parse_options(conninfo(n));
    CHECK_EQ(back[0].second, std::string("db 1"));
    CHECK_EQ(back[2].second, std::string("commcare's"));
    n.options = "";
    CHECK_EQ(conninfo(n), std::string("host='db 1' port=6432 dbname='commcare\\'s'"));
}

// Found by the fuzzer: a cluster whose every range is invalid left no previous
// range to name, and the "beyond shard count" check dereferenced it.
TEST(validate_invalid_cluster_with_only_invalid_ranges_does_not_crash) {
    using namespace shardroute::topology;
    Topology t;
    Node p1;
    p1.name = "p1";
    p1.host = "h";
    t.nodes.push_back(p1);
    t.clusters.push_back(Cluster{"c", -1022, "siphash24", std::nullopt, std::nullopt});
    t.ranges.push_back(ShardRange{"c", "p1", 512, -1023});
    auto problems = validate(t);
    CHECK(!problems.empty());
}

TEST(conninfo_trailing_backslash_dropped_and_control_characters_refused) {
    using namespace shardroute::topology;
    auto opts = parse_options("application_name=abc\\");
    CHECK_EQ(opts.size(), size_t{1});
    CHECK_EQ(opts[0].second, std::string("abc"));
    auto problems = check_options(parse_options("application_name='a\x01z'"));
    CHECK_EQ(problems.size(), size_t{1});
    CHECK_EQ(problems[0].rule, std::string("invalid options"));
}

TEST(validate_problems_name_their_field) {
    Topology t = valid_topology();
    node_named(t, "p2")->port = 0;
    t.ranges[0].first = 1;
    bool port = false, shards = false;
    for (const auto &p : validate(t)) {
        port = port || (p.rule == "invalid port" && p.field == Field::port);
        shards = shards || (p.rule == "not starting at 0" && p.field == Field::shards);
    }
    CHECK(port);
    CHECK(shards);
    Cluster before = t.clusters[0], after = t.clusters[0];
    after.shard_count *= 2;
    auto changed = check_cluster_change(before, after);
    CHECK(changed.size() == 1 && changed[0].field == Field::shard_count && changed[0].rule == "shard count fixed");
    CHECK(check_cluster_change(before, before).empty());
}
