// The lag monitor's shared memory: written by the worker (lag_worker.cpp),
// read by every routing call (lag_monitor.cpp). Plain data only.
#pragma once

#include "common/error.hpp"

#include "pg/postgres.hpp"

#include <cstring>
#include <string_view>

extern "C" {
#include "datatype/timestamp.h"
#include "storage/lwlock.h"
}

namespace shardroute::pg::lag {

constexpr int max_samples = 1024;
constexpr int problem_len = 256;
constexpr int note_len = 256;

// In the order of routing::SampleSource (lag_worker.cpp checks it).
enum Source : int { source_none = 0, source_local, source_primary, source_standby };

// One standby's last sample, written by the worker only.
struct MonitorSample {
    char standby[NAMEDATALEN];
    int source;
    bool present;
    bool streaming;
    int state;           // WalSndState, for primary and local sources
    char state_text[32]; // for the standby-itself source
    uint64 sent_lsn;
    uint64 flush_lsn;
    uint64 replay_lsn;
    uint64 current_lsn;
    int64 replay_lag_us;
    int64 reply_age_us;
    TimestampTz sampled_at;    // 0: never sampled
    char note[note_len];       // why the last poll could not sample it (empty: it could)
    char last_error[note_len]; // the last poll that could not sample it, kept after later successes
    TimestampTz last_error_at; // 0: none since the server started
};

struct MonitorShmem {
    pid_t worker_pid;
    TimestampTz heartbeat;
    int interval_ms;
    // The samples belong to this database's catalog: other databases never
    // read them (a standby name means different servers in different catalogs).
    Oid database;
    char database_name[NAMEDATALEN];
    // Why samples are missing, for standby_status (empty: nothing to say).
    char problem[problem_len];
    // Start-up bookkeeping: a worker that died while connecting to its
    // database (FATAL: does not exist) is noticed by the next one, which waits.
    char connecting_to[NAMEDATALEN];
    int connect_failures;
    int nsamples;
    MonitorSample samples[max_samples];
};

extern MonitorShmem *monitor;
extern LWLock *monitor_lock;

const char *source_name(int s);

// Sets the problem text under the lock (empty string clears it).
void set_problem(std::string_view text);

// Copies text into a fixed buffer of shared memory; text that does not fit is
// cut at a character of the server encoding (shardroute::clip_boundary) and
// ends in "...", so what standby_status() shows is always valid text.
inline void copy_text(char *dst, size_t size, std::string_view text) noexcept {
    if (size == 0)
        return;
    if (text.size() < size) {
        memcpy(dst, text.data(), text.size());
        dst[text.size()] = '\0';
        return;
    }
    constexpr std::string_view more = "...";
    size_t keep = size > more.size() + 1 ? clip_boundary(text, size - more.size() - 1) : 0;
    memcpy(dst, text.data(), keep);
    memcpy(dst + keep, more.data(), std::min(more.size(), size - 1 - keep));
    dst[std::min(keep + more.size(), size - 1)] = '\0';
}

} // namespace shardroute::pg::lag
