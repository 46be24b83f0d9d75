// The lag monitor's rounds (routing/lag_samples): which node is asked, how the
// answers merge into one sample or note per standby, and what is published.
#include "check.hpp"

#include "routing/lag_samples.hpp"
#include "routing/read_choice.hpp"

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

using namespace shardroute;
using namespace shardroute::routing;

namespace {

const ServerIdentity self{7000000000000000001ULL, 1700000000000000};

// a (standbys a1, a2 with application_name "a2_app"), b (standby b1 named "app"),
// c (standby c1 named "app" too), and z1, whose primary "gone" is not a node
topology::Topology fleet() {
    topology::Topology t;
    auto node = [&t](std::string name, std::optional<std::string> primary = std::nullopt,
                     std::optional<std::string> app = std::nullopt) {
        topology::Node n;
        n.name = name;
        n.host = name + ".example";
        n.primary_node = primary;
        n.application_name = app;
        t.nodes.push_back(n);
    };
    node("b");
    node("b1", "b", "app");
    node("a");
    node("a2", "a", "a2_app");
    node("a1", "a");
    node("c");
    node("c1", "c", "app");
    node("z1", "gone");
    return t;
}

const PrimaryGroup &group(const std::vector<PrimaryGroup> &groups, const std::string &primary) {
    for (const auto &g : groups)
        if (g.primary == primary)
            return g;
    static PrimaryGroup none;
    return none;
}

WalSenderRow row(std::optional<std::string> app, std::string state, uint64_t sent, uint64_t flush, uint64_t replay,
                 int64_t lag_us, int64_t reply_age_us) {
    WalSenderRow r;
    r.application_name = std::move(app);
    r.state = std::move(state);
    r.sent_lsn = sent;
    r.flush_lsn = flush;
    r.replay_lsn = replay;
    r.replay_lag_us = lag_us;
    r.reply_age_us = reply_age_us;
    return r;
}

// A remote primary's answer with the given walsender rows.
NodePoll primary_poll(std::vector<WalSenderRow> rows, uint64_t current = 5000) {
    NodePoll p;
    p.answered = Query::primary;
    p.primary.server = {42, 1};
    p.primary.current_lsn = current;
    p.primary.rows = std::move(rows);
    return p;
}

NodePoll failed(std::string error) {
    NodePoll p;
    p.error = std::move(error);
    return p;
}

NodePoll standby_poll(uint64_t receive, uint64_t replay, int64_t age_us, std::optional<std::string> status) {
    NodePoll p;
    p.answered = Query::standby;
    p.standby.has_row = true;
    p.standby.in_recovery = true;
    p.standby.receive_lsn = receive;
    p.standby.replay_lsn = replay;
    p.standby.replay_age_us = age_us;
    p.standby.receiver_status = std::move(status);
    return p;
}

// The sample as LagView hands it to the read rules.
ReplicationSample as_replication(const PolledSample &s) {
    ReplicationSample r;
    r.streaming = s.streaming;
    r.sent_lsn = s.sent_lsn;
    r.flush_lsn = s.flush_lsn;
    r.replay_lsn = s.replay_lsn;
    r.replay_lag_us = s.replay_lag_us;
    r.reply_age_us = s.reply_age_us;
    return r;
}

} // namespace

TEST(lag_walsender_state_names) {
    CHECK(walsender_state("startup") == WalSenderState::startup);
    CHECK(walsender_state("backup") == WalSenderState::backup);
    CHECK(walsender_state("catchup") == WalSenderState::catchup);
    CHECK(walsender_state("streaming") == WalSenderState::streaming);
    CHECK(walsender_state("stopping") == WalSenderState::stopping);
    CHECK(walsender_state("") == WalSenderState::startup); // NULL state
    CHECK(walsender_state("Streaming") == WalSenderState::startup);
}

TEST(lag_standbys_grouped_by_primary) {
    std::vector<PrimaryGroup> g = group_standbys(fleet());
    CHECK_EQ(g.size(), size_t(4));
    std::vector<std::string> order;
    for (const auto &x : g)
        order.push_back(x.primary);
    CHECK((order == std::vector<std::string>{"a", "b", "c", "gone"})); // by primary name
    const PrimaryGroup &a = group(g, "a");
    CHECK(a.in_catalog);
    CHECK_EQ(a.standbys.size(), size_t(2));
    CHECK_EQ(a.standbys[0].name, std::string("a2")); // catalog order within a primary
    CHECK_EQ(a.standbys[0].replication_name, std::string("a2_app"));
    CHECK_EQ(a.standbys[1].name, std::string("a1"));
    CHECK_EQ(a.standbys[1].replication_name, std::string("a1")); // no application_name: its own name
    CHECK(!group(g, "gone").in_catalog);
    CHECK(group_standbys(topology::Topology{}).empty());
}

TEST(lag_round_problem) {
    std::vector<PrimaryGroup> g = group_standbys(fleet()); // 5 standbys
    CHECK_EQ(round_problem(g, true, 1024), std::string());
    CHECK_EQ(round_problem(g, true, 5), std::string());
    CHECK_EQ(round_problem(g, false, 1024), std::string("shardroute.lag_monitor_conninfo is invalid (see the log)"));
    CHECK_EQ(round_problem(g, true, 4),
             std::string("the catalog has 5 standbys: the lag monitor samples the first 4 of them only"));
    CHECK_EQ(round_problem(g, false, 4),
             std::string("shardroute.lag_monitor_conninfo is invalid (see the log); the catalog has 5 standbys: "
                         "the lag monitor samples the first 4 of them only"));
}

TEST(lag_round_asks_standbys_only_without_a_healthy_primary) {
    std::vector<PrimaryGroup> g = group_standbys(fleet());
    auto asked = [](const std::vector<Ask> &asks) {
        std::vector<std::string> out;
        for (const auto &a : asks)
            out.push_back(a.node + (a.query == Query::primary ? ":p" : a.query == Query::standby ? ":s" : ":?"));
        return out;
    };
    // first round: nothing known, every primary and every standby is asked
    CHECK((asked(plan_round(g, {})) ==
           std::vector<std::string>{"a:p", "a2:s", "a1:s", "b:p", "b1:s", "c:p", "c1:s", "z1:s"}));
    // healthy primaries only; a standby whose primary is not in the catalog always measures itself
    std::map<std::string, NodeState> healthy{{"a", {true, false}}, {"b", {true, false}}, {"c", {true, false}}};
    CHECK((asked(plan_round(g, healthy)) == std::vector<std::string>{"a:p", "b:p", "c:p", "z1:s"}));
    // a standby still owing an answer is asked again; b's failure brings b1 in
    healthy["a1"] = {false, true};
    healthy["b"] = {false, false};
    CHECK((asked(plan_round(g, healthy)) == std::vector<std::string>{"a:p", "a1:s", "b:p", "b1:s", "c:p", "z1:s"}));
}

TEST(lag_merge_primary_answer) {
    std::vector<PrimaryGroup> g{group(group_standbys(fleet()), "a")};
    std::map<std::string, NodePoll> polls;
    polls["a"] =
        primary_poll({row("a1", "streaming", 900, 880, 850, 1200, 300),
                      row("a2_app", "catchup", 700, 650, 600, -1, 2000), row("other", "streaming", 1, 1, 1, 0, 0)},
                     1000);
    RoundOutcome r = merge_round(g, polls, self);
    CHECK_EQ(r.samples.size(), size_t(2));
    CHECK(r.notes.empty());
    CHECK(r.this_server.at("a") == false);
    const PolledSample &a1 = r.samples.at("a1");
    CHECK(a1.source == SampleSource::primary);
    CHECK(a1.present);
    CHECK(a1.streaming);
    CHECK(a1.state == WalSenderState::streaming);
    CHECK_EQ(a1.sent_lsn, uint64_t(900));
    CHECK_EQ(a1.flush_lsn, uint64_t(880));
    CHECK_EQ(a1.replay_lsn, uint64_t(850));
    CHECK_EQ(a1.current_lsn, uint64_t(1000));
    CHECK_EQ(a1.replay_lag_us, int64_t(1200));
    CHECK_EQ(a1.reply_age_us, int64_t(300));
    CHECK(a1.state_text.empty());
    const PolledSample &a2 = r.samples.at("a2"); // found by its application_name
    CHECK(a2.present);
    CHECK(!a2.streaming);
    CHECK(a2.state == WalSenderState::catchup);
    CHECK_EQ(a2.replay_lag_us, int64_t(-1));
    CHECK_EQ(a2.current_lsn, uint64_t(1000));
}

// two walsenders carry the name (a standby reconnecting): the streaming one counts
TEST(lag_merge_prefers_the_streaming_walsender) {
    PrimaryAnswer a;
    a.rows = {row("a1", "catchup", 10, 10, 10, 5, 5), row("a1", "streaming", 20, 20, 20, 6, 6),
              row("a1", "catchup", 30, 30, 30, 7, 7)};
    PolledSample s = primary_sample(a, "a1");
    CHECK(s.streaming);
    CHECK_EQ(s.sent_lsn, uint64_t(20));
    CHECK_EQ(s.replay_lag_us, int64_t(6));
    a.rows = {row("a1", "catchup", 10, 10, 10, 5, 5), row("a1", "backup", 30, 30, 30, 7, 7)};
    s = primary_sample(a, "a1");
    CHECK(!s.streaming); // none streams: the last one
    CHECK(s.state == WalSenderState::backup);
    CHECK_EQ(s.sent_lsn, uint64_t(30));
}

// a frozen walreceiver: WAL sent but not flushed, the last reply old. The
// merged sample keeps flush and reply age, so the read rules floor the lag at
// the reply's age although replay_lag looks small.
TEST(lag_merge_keeps_the_frozen_receiver_lower_bound) {
    std::vector<PrimaryGroup> g{group(group_standbys(fleet()), "a")};
    std::map<std::string, NodePoll> polls;
    polls["a"] = primary_poll({row("a1", "streaming", 2000, 1500, 1000, 100000, 5000000),
                               row("a2_app", "streaming", 2000, 2000, 1900, 100000, 9000000)},
                              2000);
    RoundOutcome r = merge_round(g, polls, self);
    ReplicationSample frozen = as_replication(r.samples.at("a1"));
    CHECK_EQ(lag_lower_bound_us(frozen), int64_t(5000000));
    StandbyLimits one_second;
    one_second.max_lag_us = 1000000;
    CHECK(evaluate_standby(&frozen, one_second, r.samples.at("a1").current_lsn).reason == Reason::lag);
    // everything sent is flushed: an idle standby's old reply proves nothing
    ReplicationSample idle = as_replication(r.samples.at("a2"));
    CHECK_EQ(lag_lower_bound_us(idle), int64_t(100000));
    CHECK(evaluate_standby(&idle, one_second, 2000).eligible());
    // a standby measuring itself knows no flush position: no floor from it
    polls.clear();
    polls["a"] = failed("no answer within the deadline");
    polls["a1"] = standby_poll(2000, 1000, 200000, std::string("streaming"));
    r = merge_round(g, polls, self);
    CHECK_EQ(r.samples.at("a1").flush_lsn, uint64_t(0));
    CHECK_EQ(r.samples.at("a1").reply_age_us, int64_t(-1));
    CHECK_EQ(lag_lower_bound_us(as_replication(r.samples.at("a1"))), int64_t(200000));
}

// samples are keyed by standby (node name), each matched in its own primary's
// answer by its replication name: b1 and c1 both connect as "app"
TEST(lag_merge_keyed_per_standby) {
    std::vector<PrimaryGroup> g = group_standbys(fleet());
    std::map<std::string, NodePoll> polls;
    polls["b"] = primary_poll({row("app", "streaming", 100, 100, 100, 1, 1)}, 100);
    polls["c"] = primary_poll({row("app", "catchup", 300, 300, 200, 2, 2), row("c1", "streaming", 9, 9, 9, 9, 9)}, 300);
    RoundOutcome r = merge_round(g, polls, self);
    CHECK(r.samples.at("b1").streaming);
    CHECK_EQ(r.samples.at("b1").replay_lsn, uint64_t(100));
    CHECK_EQ(r.samples.at("b1").current_lsn, uint64_t(100));
    CHECK(!r.samples.at("c1").streaming); // "c1" is not its replication name
    CHECK_EQ(r.samples.at("c1").replay_lsn, uint64_t(200));
    CHECK_EQ(r.samples.at("c1").current_lsn, uint64_t(300));
    CHECK(r.samples.find("app") == r.samples.end());
}

TEST(lag_merge_standby_not_listed_by_its_primary) {
    std::vector<PrimaryGroup> g{group(group_standbys(fleet()), "a")};
    std::map<std::string, NodePoll> polls;
    // a primary without walsenders answers one row with no application_name
    polls["a"] = primary_poll({row(std::nullopt, "", 0, 0, 0, -1, -1)}, 777);
    polls["a1"] = standby_poll(700, 700, 0, std::string("streaming")); // an answer of its own is not used
    RoundOutcome r = merge_round(g, polls, self);
    CHECK(r.notes.empty());
    for (const char *name : {"a1", "a2"}) {
        const PolledSample &s = r.samples.at(name);
        CHECK(s.source == SampleSource::primary);
        CHECK(!s.present);
        CHECK(!s.streaming);
        CHECK_EQ(s.current_lsn, uint64_t(777));
        CHECK_EQ(s.replay_lag_us, int64_t(-1));
    }
    // another standby's walsender only
    polls["a"] = primary_poll({row("a1", "streaming", 1, 1, 1, 0, 0)});
    r = merge_round(g, polls, self);
    CHECK(r.samples.at("a1").present);
    CHECK(!r.samples.at("a2").present);
}

TEST(lag_merge_unreachable_primary) {
    std::vector<PrimaryGroup> g = group_standbys(fleet());
    std::map<std::string, NodePoll> polls;
    polls["a"] = failed("cannot connect: refused");
    polls["a1"] = failed("no connection within the deadline");
    polls["a2"] = standby_poll(500, 400, 2500000, std::string("streaming"));
    polls["b"] = failed("cannot connect: refused");
    polls["c"] = NodePoll{}; // waiting, or retried later: nothing to say yet
    polls["z1"] = failed("query failed: boom");
    RoundOutcome r = merge_round(g, polls, self);
    CHECK_EQ(r.notes.at("a1"),
             std::string("primary: cannot connect: refused; standby: no connection within the deadline"));
    const PolledSample &a2 = r.samples.at("a2"); // measured itself
    CHECK(a2.source == SampleSource::standby);
    CHECK(a2.present);
    CHECK_EQ(a2.state_text, std::string("streaming"));
    CHECK_EQ(a2.replay_lag_us, int64_t(2500000));
    CHECK_EQ(a2.current_lsn, uint64_t(500));
    CHECK(r.notes.find("a2") == r.notes.end());
    CHECK_EQ(r.notes.at("b1"), std::string("primary: cannot connect: refused")); // not asked yet
    CHECK(r.notes.find("c1") == r.notes.end());
    CHECK(r.samples.find("c1") == r.samples.end());
    CHECK_EQ(r.notes.at("z1"), std::string("primary: not in the catalog; standby: query failed: boom"));
    CHECK(r.this_server.empty());
    polls.erase("z1");
    CHECK_EQ(merge_round(g, polls, self).notes.at("z1"), std::string("primary: not in the catalog"));
    // an answer to the primary's query is not a standby's own measure
    polls["a2"] = primary_poll({});
    r = merge_round(g, polls, self);
    CHECK(r.samples.find("a2") == r.samples.end());
    CHECK_EQ(r.notes.at("a2"), std::string("primary: cannot connect: refused"));
}

TEST(lag_merge_this_server) {
    std::vector<PrimaryGroup> g{group(group_standbys(fleet()), "a")};
    std::map<std::string, NodePoll> polls;
    polls["a"] = primary_poll({row("a1", "streaming", 1, 1, 1, 0, 0)});
    polls["a"].primary.server = self;
    RoundOutcome r = merge_round(g, polls, self);
    CHECK(r.this_server.at("a"));
    for (const char *name : {"a1", "a2"}) {
        CHECK(r.samples.at(name).source == SampleSource::local); // read live from this server's walsenders
        CHECK(!r.samples.at(name).present);
    }
    // a promoted copy of this server: same system identifier, another start
    polls["a"].primary.server.start_us = self.start_us + 1;
    r = merge_round(g, polls, self);
    CHECK(!r.this_server.at("a"));
    CHECK(r.samples.at("a1").source == SampleSource::primary);
    CHECK(r.samples.at("a1").present);
    // known from an earlier round: no question asked
    polls["a"] = NodePoll{};
    polls["a"].this_server = true;
    r = merge_round(g, polls, self);
    CHECK(r.this_server.empty());
    CHECK(r.samples.at("a2").source == SampleSource::local);
    // only while it is in the catalog
    g[0].in_catalog = false;
    r = merge_round(g, polls, self);
    CHECK(r.samples.empty());
}

TEST(lag_standby_measures_itself) {
    StandbyAnswer a;
    a.has_row = true;
    a.in_recovery = true;
    a.receive_lsn = 800;
    a.replay_lsn = 800;
    a.replay_age_us = 60000000; // no transaction replayed for a minute: idle, not behind
    a.receiver_status = "streaming";
    PolledSample s = standby_sample(a);
    CHECK(s.source == SampleSource::standby);
    CHECK(s.present);
    CHECK(s.streaming);
    CHECK_EQ(s.replay_lag_us, int64_t(0));
    CHECK_EQ(s.sent_lsn, uint64_t(800));
    CHECK_EQ(s.current_lsn, uint64_t(800));
    a.replay_lsn = 700; // behind: the age of the last replayed transaction
    CHECK_EQ(standby_sample(a).replay_lag_us, int64_t(60000000));
    a.receive_lsn = 0; // never streamed (restored from an archive): only the replay speaks
    s = standby_sample(a);
    CHECK_EQ(s.sent_lsn, uint64_t(700));
    CHECK_EQ(s.current_lsn, uint64_t(700));
    CHECK_EQ(s.replay_lag_us, int64_t(60000000));
    a.receiver_status.reset();
    CHECK_EQ(standby_sample(a).state_text, std::string("no wal receiver"));
    a.in_recovery = false; // promoted
    s = standby_sample(a);
    CHECK(!s.present);
    CHECK(!s.streaming);
    CHECK_EQ(s.state_text, std::string("not in recovery"));
}

// values no server should send pass through as they are: the read rules judge them
TEST(lag_merge_absurd_values) {
    const int64_t huge = std::numeric_limits<int64_t>::max();
    const uint64_t top = std::numeric_limits<uint64_t>::max();
    std::vector<PrimaryGroup> g{group(group_standbys(fleet()), "a")};
    std::map<std::string, NodePoll> polls;
    polls["a"] = primary_poll({row("a1", "streaming", top, top, top, -5000000, huge),
                               row("a2_app", "streaming", 10, 20, 30, huge, std::numeric_limits<int64_t>::min())},
                              top);
    RoundOutcome r = merge_round(g, polls, self);
    const PolledSample &a1 = r.samples.at("a1");
    CHECK_EQ(a1.replay_lag_us, int64_t(-5000000));
    CHECK_EQ(a1.reply_age_us, huge);
    CHECK_EQ(a1.replay_lsn, top);
    CHECK_EQ(a1.current_lsn, top);
    CHECK_EQ(r.samples.at("a2").replay_lag_us, huge);
    CHECK_EQ(r.samples.at("a2").reply_age_us, std::numeric_limits<int64_t>::min());
    ReplicationSample x = as_replication(r.samples.at("a2"));
    CHECK(evaluate_standby(&x, StandbyLimits{}, top).reason == Reason::lag);
    // a negative age on a standby (clocks apart) is kept too
    StandbyAnswer sa;
    sa.has_row = true;
    sa.in_recovery = true;
    sa.receive_lsn = 10;
    sa.replay_lsn = 5;
    sa.replay_age_us = -42;
    CHECK_EQ(standby_sample(sa).replay_lag_us, int64_t(-42));
    // no row at all from a primary: nothing learnt, nothing said, identity undecided
    polls["a"] = primary_poll({});
    polls["a"].primary.server = self;
    r = merge_round(g, polls, self);
    CHECK(r.samples.empty());
    CHECK(r.notes.empty());
    CHECK(r.this_server.empty());
    // no row from a standby: a sample that says it is not connected
    polls["a"] = failed("no answer");
    polls["a1"] = NodePoll{};
    polls["a1"].answered = Query::standby;
    r = merge_round(g, polls, self);
    const PolledSample &a1s = r.samples.at("a1");
    CHECK(a1s.source == SampleSource::standby);
    CHECK(!a1s.present);
    CHECK(a1s.state_text.empty());
    CHECK_EQ(a1s.replay_lag_us, int64_t(-1));
    CHECK_EQ(a1s.current_lsn, uint64_t(0));
    // no standby in the catalog: nothing to merge or publish
    CHECK(merge_round({}, polls, self).samples.empty());
    CHECK(plan_publication(topology::Topology{}, r, 1024).empty());
}

TEST(lag_publication_fresh_kept_and_capped) {
    topology::Topology t = fleet();
    RoundOutcome r;
    r.samples["a1"].source = SampleSource::primary;
    r.samples["b1"].source = SampleSource::standby;
    r.notes["a2"] = "primary: cannot connect";
    r.notes["gone1"] = "not a standby of the catalog";
    std::vector<Publication> p = plan_publication(t, r, 1024);
    std::vector<std::string> order;
    for (const auto &x : p)
        order.push_back(x.standby);
    CHECK((order == std::vector<std::string>{"b1", "a2", "a1", "c1", "z1"})); // standbys, catalog order
    CHECK(p[0].fresh && p[0].fresh->source == SampleSource::standby);
    CHECK(!p[1].fresh); // keeps its previous sample
    CHECK_EQ(p[1].note, std::string("primary: cannot connect"));
    CHECK(p[2].fresh && p[2].fresh->source == SampleSource::primary);
    CHECK(p[2].note.empty());
    CHECK(!p[3].fresh);
    CHECK(p[3].note.empty());      // nothing to say clears an earlier note
    p = plan_publication(t, r, 2); // shared memory is full: the first ones only
    CHECK_EQ(p.size(), size_t(2));
    CHECK_EQ(p[1].standby, std::string("a2"));
    CHECK(plan_publication(t, r, 0).empty());
}
