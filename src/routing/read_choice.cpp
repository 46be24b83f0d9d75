#include "routing/read_choice.hpp"

namespace shardroute::routing {

const char *reason_name(Reason r) noexcept {
    switch (r) {
    case Reason::ok:
        return "ok";
    case Reason::lag:
        return "lag";
    case Reason::lag_bytes:
        return "lag bytes";
    case Reason::not_connected:
        return "not connected";
    case Reason::not_streaming:
        return "not streaming";
    case Reason::behind_min_lsn:
        return "behind min_lsn";
    case Reason::lag_unknown:
        return "lag unknown";
    }
    return "?";
}

Verdict evaluate_standby(const ReplicationSample *s, const StandbyLimits &limits, uint64_t current_lsn,
                         uint64_t min_lsn) noexcept {
    Verdict v;
    if (!s)
        return v; // not connected
    if (s->replay_lsn != 0 && current_lsn >= s->replay_lsn)
        v.lag_bytes = static_cast<int64_t>(current_lsn - s->replay_lsn);
    v.replay_lag_us = s->replay_lag_us;
    if (v.replay_lag_us < 0 && s->replay_lsn != 0 && s->replay_lsn == s->sent_lsn)
        v.replay_lag_us = 0; // idle and caught up: PostgreSQL shows NULL
    if (!s->streaming) {
        v.reason = Reason::not_streaming;
    } else if (v.replay_lag_us < 0 || v.replay_lag_us > limits.max_lag_us) {
        v.reason = Reason::lag;
    } else if (limits.max_lag_bytes && (!v.lag_bytes || *v.lag_bytes > *limits.max_lag_bytes)) {
        v.reason = Reason::lag_bytes;
    } else if (min_lsn != 0 && s->replay_lsn < min_lsn) {
        v.reason = Reason::behind_min_lsn;
    } else {
        v.reason = Reason::ok;
    }
    return v;
}

int weighted_pick(const double *weights, const bool *eligible, size_t n, double r) noexcept {
    double total = 0;
    for (size_t i = 0; i < n; ++i)
        if (eligible[i] && weights[i] > 0)
            total += weights[i];
    if (!(total > 0))
        return -1;
    double target = r * total;
    int last = -1;
    for (size_t i = 0; i < n; ++i) {
        if (!eligible[i] || !(weights[i] > 0))
            continue;
        last = static_cast<int>(i);
        if (target < weights[i])
            return last;
        target -= weights[i];
    }
    return last; // rounding at r close to 1
}

} // namespace shardroute::routing
