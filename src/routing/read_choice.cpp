#include "routing/read_choice.hpp"

#include <cmath>

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

int64_t lag_lower_bound_us(const ReplicationSample &s) noexcept {
    int64_t lag = s.replay_lag_us;
    bool unacknowledged = s.flush_lsn != 0 && s.sent_lsn > s.flush_lsn;
    if (unacknowledged && s.reply_age_us > lag)
        lag = s.reply_age_us;
    return lag;
}

Verdict evaluate_standby(const ReplicationSample *s, const StandbyLimits &limits, uint64_t current_lsn,
                         uint64_t min_lsn) noexcept {
    Verdict v;
    if (!s)
        return v; // not connected
    if (s->replay_lsn != 0 && current_lsn >= s->replay_lsn)
        v.lag_bytes = static_cast<int64_t>(current_lsn - s->replay_lsn);
    v.replay_lag_us = lag_lower_bound_us(*s);
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

namespace {
// A weight as the draw uses it: finite and >= 0, divided by `scale`.
double scaled(double w, double scale) noexcept {
    if (!(w > 0))
        return 0; // NaN, 0, negative
    if (std::isinf(scale))
        return std::isinf(w) ? 1 : 0;
    return w / scale;
}
} // namespace

int weighted_pick(const double *weights, const bool *eligible, size_t n, double r) noexcept {
    double scale = 0;
    for (size_t i = 0; i < n; ++i)
        if (eligible[i] && weights[i] > scale)
            scale = weights[i];
    if (!(scale > 0))
        return -1;
    double total = 0; // at most n: no overflow
    for (size_t i = 0; i < n; ++i)
        if (eligible[i])
            total += scaled(weights[i], scale);
    if (!(total > 0))
        return -1;
    double target = r * total;
    int last = -1;
    for (size_t i = 0; i < n; ++i) {
        double w = eligible[i] ? scaled(weights[i], scale) : 0;
        if (!(w > 0))
            continue;
        last = static_cast<int>(i);
        if (target < w)
            return last;
        target -= w;
    }
    return last; // rounding at r close to 1
}

} // namespace shardroute::routing
