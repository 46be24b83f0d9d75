// The read routing rules (README.md, "Read routing"), one case each.
#include "check.hpp"

#include "routing/read_choice.hpp"

#include <vector>

using namespace shardroute::routing;

namespace {
ReplicationSample streaming(uint64_t sent, uint64_t replay, int64_t lag_us) {
    ReplicationSample s;
    s.streaming = true;
    s.sent_lsn = sent;
    s.replay_lsn = replay;
    s.replay_lag_us = lag_us;
    return s;
}
} // namespace

TEST(standby_absent_is_not_connected) {
    CHECK(evaluate_standby(nullptr, StandbyLimits{}, 100).reason == Reason::not_connected);
}

TEST(standby_not_streaming) {
    ReplicationSample s = streaming(100, 100, 0);
    s.streaming = false;
    CHECK(evaluate_standby(&s, StandbyLimits{}, 100).reason == Reason::not_streaming);
}

TEST(standby_lag_within_and_beyond_max_lag) {
    ReplicationSample s = streaming(100, 90, 3000000);
    CHECK(evaluate_standby(&s, StandbyLimits{}, 100).eligible()); // <= 3 s
    s.replay_lag_us = 3000001;
    CHECK(evaluate_standby(&s, StandbyLimits{}, 100).reason == Reason::lag);
}

TEST(standby_null_lag_counts_as_zero_only_when_caught_up) {
    ReplicationSample s = streaming(100, 100, -1);
    Verdict v = evaluate_standby(&s, StandbyLimits{}, 100);
    CHECK(v.eligible());
    CHECK_EQ(v.replay_lag_us, int64_t{0});
    s.replay_lsn = 90;
    CHECK(evaluate_standby(&s, StandbyLimits{}, 100).reason == Reason::lag);
}

TEST(standby_lag_bytes_only_when_set) {
    ReplicationSample s = streaming(1000, 400, 1000);
    StandbyLimits limits;
    CHECK(evaluate_standby(&s, limits, 1000).eligible());
    limits.max_lag_bytes = 600;
    Verdict v = evaluate_standby(&s, limits, 1000);
    CHECK(v.eligible());
    CHECK_EQ(*v.lag_bytes, int64_t{600});
    limits.max_lag_bytes = 599;
    CHECK(evaluate_standby(&s, limits, 1000).reason == Reason::lag_bytes);
}

TEST(standby_read_your_writes) {
    ReplicationSample s = streaming(1000, 900, 0);
    CHECK(evaluate_standby(&s, StandbyLimits{}, 1000, 900).eligible());
    CHECK(evaluate_standby(&s, StandbyLimits{}, 1000, 901).reason == Reason::behind_min_lsn);
}

TEST(weighted_pick_proportions_and_exclusions) {
    std::vector<double> w = {1, 2, 2};
    bool all[] = {true, true, true};
    int counts[3] = {0, 0, 0};
    for (int i = 0; i < 5000; ++i)
        ++counts[weighted_pick(w.data(), all, 3, (i + 0.5) / 5000.0)];
    CHECK_EQ(counts[0], 1000); // an even sweep of r gives exact shares 20/40/40
    CHECK_EQ(counts[1], 2000);
    CHECK_EQ(counts[2], 2000);
    bool some[] = {true, false, true};
    for (int i = 0; i < 100; ++i)
        CHECK(weighted_pick(w.data(), some, 3, i / 100.0) != 1);
    bool none[] = {false, false, false};
    CHECK_EQ(weighted_pick(w.data(), none, 3, 0.5), -1);
    std::vector<double> zero = {0, 0};
    bool two[] = {true, true};
    CHECK_EQ(weighted_pick(zero.data(), two, 2, 0.5), -1);
    CHECK_EQ(weighted_pick(w.data(), all, 3, 0.999999999), 2);
}

// weights whose sum overflows to inf still split in proportion (issue 10, item 9)
TEST(weighted_pick_huge_weights_split_fairly) {
    double w[] = {1e308, 1e308};
    bool e[] = {true, true};
    int counts[2] = {0, 0};
    for (int i = 0; i < 1000; ++i)
        ++counts[weighted_pick(w, e, 2, (i + 0.5) / 1000.0)];
    CHECK(counts[0] == 500);
    CHECK(counts[1] == 500);
    double w3[] = {1e308, 1e308, 1e308};
    bool e3[] = {true, false, true};
    CHECK(weighted_pick(w3, e3, 3, 0.25) == 0);
    CHECK(weighted_pick(w3, e3, 3, 0.75) == 2);
}

TEST(weighted_pick_infinite_and_nan_weights) {
    double inf = 1.0 / 0.0;
    double w[] = {inf, 1.0, inf};
    bool e[] = {true, true, true};
    CHECK(weighted_pick(w, e, 3, 0.25) == 0);
    CHECK(weighted_pick(w, e, 3, 0.75) == 2);
    double nan_w[] = {0.0 / 0.0, 2.0};
    bool e2[] = {true, true};
    CHECK(weighted_pick(nan_w, e2, 2, 0.0) == 1);
    CHECK(weighted_pick(nan_w, e2, 2, 0.99) == 1);
}

// a frozen walreceiver: replay_lag stays small, but WAL sent and not flushed
// with a 5 s old reply proves 5 s of lag (issue 10, item 3)
TEST(frozen_walreceiver_lag_from_reply_age) {
    ReplicationSample s = streaming(200, 100, 100000);
    s.flush_lsn = 150;
    s.reply_age_us = 5000000;
    CHECK(lag_lower_bound_us(s) == 5000000);
    Verdict v = evaluate_standby(&s, StandbyLimits{}, 200);
    CHECK(v.reason == Reason::lag);
    CHECK(v.replay_lag_us == 5000000);
}

// an idle, healthy standby answers only every wal_receiver_status_interval:
// everything sent is flushed, so the reply's age says nothing
TEST(idle_standby_reply_age_ignored) {
    ReplicationSample s = streaming(200, 190, 100000);
    s.flush_lsn = 200;
    s.reply_age_us = 9000000;
    CHECK(lag_lower_bound_us(s) == 100000);
    CHECK(evaluate_standby(&s, StandbyLimits{}, 200).eligible());
    ReplicationSample unknown = streaming(200, 100, 100000); // no flush position known
    unknown.reply_age_us = 9000000;
    CHECK(lag_lower_bound_us(unknown) == 100000);
}
