// CommCare's read routing rules, as plain functions: when is a standby fresh
// enough, and which member of a weighted READ list serves a read.
#pragma once

#include "topology/model.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace shardroute::routing {

// What the primary's pg_stat_replication says of one standby.
struct ReplicationSample {
    bool streaming = false; // state = 'streaming'
    uint64_t sent_lsn = 0;
    uint64_t replay_lsn = 0;    // 0 = not reported yet
    int64_t replay_lag_us = -1; // -1 = NULL
    uint64_t flush_lsn = 0;     // what the standby last said it flushed (0 = unknown)
    int64_t reply_age_us = -1;  // now - the standby's last reply (-1 = unknown)
};

// The lag the primary can prove. replay_lag stops changing when the standby
// stops answering (a frozen walreceiver), so it is only a floor of the truth.
// A live walreceiver answers as soon as it writes or flushes what it was
// sent; WAL sent but not yet flushed (hence not replayed) while the last
// reply is reply_age old means the standby is at least that far behind.
// Flushed-but-not-yet-applied WAL is not used: the standby reports apply
// progress only every wal_receiver_status_interval, so it would flag idle,
// healthy standbys. -1 when nothing is known.
int64_t lag_lower_bound_us(const ReplicationSample &s) noexcept;

using topology::default_max_lag_us; // 3 s, defined with the model

struct StandbyLimits {
    int64_t max_lag_us = default_max_lag_us;
    std::optional<int64_t> max_lag_bytes;
};

enum class Reason { ok, lag, lag_bytes, not_connected, not_streaming, behind_min_lsn, lag_unknown };
const char *reason_name(Reason r) noexcept;

struct Verdict {
    Reason reason = Reason::not_connected;
    int64_t replay_lag_us = -1;       // as judged (NULL with replay = sent counts as 0); -1 unknown
    std::optional<int64_t> lag_bytes; // current WAL position - replay position
    bool eligible() const noexcept { return reason == Reason::ok; }
};

// Eligible = connected, streaming, replay_lag <= max_lag (a NULL lag with
// replay_lsn = sent_lsn counts as 0, any other NULL as too old) and, when set,
// current_lsn - replay_lsn <= max_lag_bytes; with min_lsn (read-your-writes),
// also replay_lsn >= min_lsn. `sample` is null when the standby is absent.
Verdict evaluate_standby(const ReplicationSample *sample, const StandbyLimits &limits, uint64_t current_lsn,
                         uint64_t min_lsn = 0) noexcept;

// Index of the member a uniform draw r in [0, 1) picks among the eligible ones,
// in proportion to their weights; -1 when no eligible member has weight > 0.
// Weights are scaled by the largest eligible one, so weights near DBL_MAX
// (whose sum overflows to inf) still split fairly; an infinite weight counts
// as the largest, NaN and negative weights as 0.
int weighted_pick(const double *weights, const bool *eligible, size_t n, double r) noexcept;

// One of n candidates, each eligible one with the same probability, in one
// pass and without storing them (reservoir sampling): eligible(i) says whether
// candidate i may serve, draw() gives a uniform number in [0, 1) and is called
// once per eligible candidate. -1 when none is eligible. Inline: read_node_for_key
// runs it on every call.
template <typename Eligible, typename Draw> int reservoir_pick(size_t n, Eligible &&eligible, Draw &&draw) {
    int chosen = -1;
    int seen = 0;
    for (size_t i = 0; i < n; ++i) {
        if (!eligible(i))
            continue;
        ++seen; // candidate i replaces the choice with probability 1/seen
        if (draw() * seen < 1.0)
            chosen = static_cast<int>(i);
    }
    return chosen;
}

} // namespace shardroute::routing
