// The lag monitor's rounds as plain data: which node each round asks, how the
// answers (a primary's pg_stat_replication, or a standby asked about itself)
// become one sample per standby or a note saying why there is none, and what
// is published for each standby. The worker (pg/lag_worker.cpp) fills these
// structs from libpq results and copies the outcome into shared memory.
#pragma once

#include "topology/model.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shardroute::routing {

// pg_stat_replication.state, in the order of PostgreSQL's WalSndState (the
// worker checks that at compile time).
enum class WalSenderState : int { startup, backup, catchup, streaming, stopping };

// Anything unknown counts as startup.
WalSenderState walsender_state(std::string_view state) noexcept;

// Where a sample comes from, in the order of the shared memory's lag::Source.
enum class SampleSource : int { none, local, primary, standby };

// The query a node is asked: its pg_stat_replication, or its own replay.
enum class Query { none, primary, standby };

// A primary and its standbys, as the catalog lists them.
struct StandbyOf {
    std::string name;
    std::string replication_name; // application_name in the primary's pg_stat_replication
};

struct PrimaryGroup {
    std::string primary;
    bool in_catalog = true; // the primary a standby names is a node of the catalog
    std::vector<StandbyOf> standbys;
};

// The catalog's standbys by primary (ordered by primary name), each group in
// catalog order.
std::vector<PrimaryGroup> group_standbys(const topology::Topology &t);

// Why samples may be missing, whatever the nodes answer ("" when nothing).
std::string round_problem(const std::vector<PrimaryGroup> &groups, bool conninfo_valid, size_t max_samples);

// What the worker knows of a node's connection when a round starts.
struct NodeState {
    bool healthy = false;  // its last attempt answered
    bool querying = false; // still waiting for an earlier round's answer
};

struct Ask {
    std::string node;
    Query query = Query::none;
};

// Which nodes a round asks, and what. Every primary of the catalog reads its
// pg_stat_replication; its standbys measure themselves only when it is not in
// the catalog or did not answer last time (a dead primary costs one round,
// not one deadline of everybody's time), or while an answer of theirs is due.
// `nodes` by name; a node missing there has the default NodeState.
std::vector<Ask> plan_round(const std::vector<PrimaryGroup> &groups, const std::map<std::string, NodeState> &nodes);

// A server's identity: a promoted copy of this server has its system
// identifier, but not its postmaster start.
struct ServerIdentity {
    uint64_t system_identifier = 0;
    int64_t start_us = 0; // postmaster start, in microseconds since 1970
    bool operator==(const ServerIdentity &o) const noexcept {
        return system_identifier == o.system_identifier && start_us == o.start_us;
    }
};

// One row of a primary's answer. pg_stat_replication is LEFT JOINed, so a
// primary without walsenders answers one row with no application_name.
struct WalSenderRow {
    std::optional<std::string> application_name;
    std::string state;
    uint64_t sent_lsn = 0; // 0: NULL
    uint64_t flush_lsn = 0;
    uint64_t replay_lsn = 0;
    int64_t replay_lag_us = -1; // -1: NULL
    int64_t reply_age_us = -1;  // now - reply_time; -1: NULL
};

// A primary's answer; no row at all says nothing.
struct PrimaryAnswer {
    ServerIdentity server;    // from the first row
    uint64_t current_lsn = 0; // its WAL position (replay position when in recovery); 0: NULL
    std::vector<WalSenderRow> rows;
};

// A standby's answer about itself (CommCare's check).
struct StandbyAnswer {
    bool has_row = false;
    bool in_recovery = false;
    uint64_t receive_lsn = 0;                   // 0: NULL
    uint64_t replay_lsn = 0;                    // 0: NULL
    int64_t replay_age_us = -1;                 // now - last replayed transaction; -1: NULL
    std::optional<std::string> receiver_status; // pg_stat_wal_receiver.status; none: no WAL receiver
};

// One standby's sample, as the monitor publishes it.
struct PolledSample {
    SampleSource source = SampleSource::none;
    bool present = false; // connected (its primary lists it, or it is in recovery)
    bool streaming = false;
    WalSenderState state = WalSenderState::startup; // primary source
    std::string state_text;                         // standby source
    uint64_t sent_lsn = 0;
    uint64_t flush_lsn = 0; // primary source only: what the lower bound of lag needs
    uint64_t replay_lsn = 0;
    uint64_t current_lsn = 0; // the primary's WAL position, for lag_bytes
    int64_t replay_lag_us = -1;
    int64_t reply_age_us = -1; // primary source only
};

// A standby as its primary's answer shows it: the walsender carrying its
// replication name (a streaming one when several do); a standby the primary
// does not list is not present.
PolledSample primary_sample(const PrimaryAnswer &a, std::string_view replication_name);

// A standby whose primary cannot be asked measures itself: replayed all it
// received -> no lag, else the age of the last replayed transaction.
PolledSample standby_sample(const StandbyAnswer &a);

// What a node's connection gave this round.
struct NodePoll {
    bool this_server = false;     // an earlier answer showed it is this very server
    Query answered = Query::none; // the query it answered this round (none: no answer)
    PrimaryAnswer primary;        // when answered == primary
    StandbyAnswer standby;        // when answered == standby
    std::string error;            // its last failure ("" when none)
};

struct RoundOutcome {
    std::map<std::string, PolledSample> samples; // by standby: sampled this round
    std::map<std::string, std::string> notes;    // by standby not sampled: why
    std::map<std::string, bool> this_server;     // by primary whose answer said whether it is this server
};

// Merges one round. A primary that is this server gives its standbys a local
// sample (readers read its walsenders live); a primary that answered gives
// each of its standbys a primary sample; otherwise each standby that answered
// gives its own, and the others a note naming the failures. `polls` has an
// entry for every node the worker holds a connection state for; `self` is
// this server's identity.
RoundOutcome merge_round(const std::vector<PrimaryGroup> &groups, const std::map<std::string, NodePoll> &polls,
                         const ServerIdentity &self);

// What is published for one standby: this round's sample, or (none) its
// previous one, which ages into 'lag unknown', with the note saying why.
struct Publication {
    std::string standby;
    std::optional<PolledSample> fresh;
    std::string note; // with a kept sample
};

// One publication per standby of the catalog, in catalog order, up to
// max_samples (shared memory holds no more); standbys gone from the catalog go.
std::vector<Publication> plan_publication(const topology::Topology &t, const RoundOutcome &round, size_t max_samples);

} // namespace shardroute::routing
