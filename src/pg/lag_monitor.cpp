// The lag monitor's shared memory, GUCs and registration, and LagView: how a
// routing call reads a standby's lag (hot path: one shared lock per lookup,
// no allocation).
#include "pg/lag_monitor.hpp"

#include "pg/lag_shmem.hpp"

extern "C" {
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "replication/walsender_private.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/timestamp.h"
}

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace shardroute::pg {

int lag_poll_interval_ms = 1000;
char *lag_monitor_database = nullptr;
char *lag_monitor_conninfo = nullptr;

namespace lag {

MonitorShmem *monitor = nullptr;
LWLock *monitor_lock = nullptr;

const char *source_name(int s) {
    switch (s) {
    case source_local:
        return "local walsender";
    case source_primary:
        return "primary";
    case source_standby:
        return "standby itself";
    default:
        return "none";
    }
}

void set_problem(std::string_view text) {
    LWLockAcquire(monitor_lock, LW_EXCLUSIVE);
    copy_text(monitor->problem, problem_len, text);
    LWLockRelease(monitor_lock);
}

} // namespace lag

namespace {

using lag::monitor;
using lag::monitor_lock;

shmem_request_hook_type prev_shmem_request_hook = nullptr;
shmem_startup_hook_type prev_shmem_startup_hook = nullptr;

void monitor_shmem_request() {
    if (prev_shmem_request_hook)
        prev_shmem_request_hook();
    RequestAddinShmemSpace(MAXALIGN(sizeof(lag::MonitorShmem)));
    RequestNamedLWLockTranche("shardroute_lag_monitor", 1);
}

void monitor_shmem_startup() {
    if (prev_shmem_startup_hook)
        prev_shmem_startup_hook();
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    bool found;
    monitor =
        static_cast<lag::MonitorShmem *>(ShmemInitStruct("shardroute_lag_monitor", sizeof(lag::MonitorShmem), &found));
    if (!found)
        memset(monitor, 0, sizeof(lag::MonitorShmem));
    monitor_lock = &(GetNamedLWLockTranche("shardroute_lag_monitor"))->lock;
    LWLockRelease(AddinShmemInitLock);
}

// Looks a standby's sample up, under one shared lock.
bool copy_sample(const std::string &name, lag::MonitorSample *out, int *interval_ms) {
    bool found = false;
    LWLockAcquire(monitor_lock, LW_SHARED);
    *interval_ms = monitor->interval_ms;
    for (int i = 0; i < monitor->nsamples; ++i) {
        if (strncmp(monitor->samples[i].standby, name.c_str(), NAMEDATALEN) == 0) {
            *out = monitor->samples[i];
            found = true;
            break;
        }
    }
    LWLockRelease(monitor_lock);
    return found;
}

} // namespace

void lag_monitor_define_gucs() {
    DefineCustomIntVariable("shardroute.lag_poll_interval", "How often the lag monitor samples every standby.", nullptr,
                            &lag_poll_interval_ms, 1000, 50, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr,
                            nullptr);
    DefineCustomStringVariable("shardroute.lag_monitor_database",
                               "Database whose shardroute catalog the lag monitor reads.", nullptr,
                               &lag_monitor_database, "postgres", PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable(
        "shardroute.lag_monitor_conninfo", "libpq keywords the lag monitor connects to other servers with.",
        "user, passfile, sslmode, ...: host, hostaddr, port and dbname are ignored (they come from the catalog).",
        &lag_monitor_conninfo, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY, nullptr, nullptr, nullptr);
}

void lag_monitor_preload() {
    prev_shmem_request_hook = shmem_request_hook;
    shmem_request_hook = monitor_shmem_request;
    prev_shmem_startup_hook = shmem_startup_hook;
    shmem_startup_hook = monitor_shmem_startup;

    BackgroundWorker worker;
    memset(&worker, 0, sizeof(worker));
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker.bgw_restart_time = 1; // seconds: a crashed or killed worker comes back (and backs off itself)
    strlcpy(worker.bgw_library_name, "shardroute", BGW_MAXLEN);
    strlcpy(worker.bgw_function_name, "shardroute_lag_monitor_main", BGW_MAXLEN);
    strlcpy(worker.bgw_name, "shardroute lag monitor", BGW_MAXLEN);
    strlcpy(worker.bgw_type, "shardroute lag monitor", BGW_MAXLEN);
    RegisterBackgroundWorker(&worker);
}

// The monitor is alive when its heartbeat is recent (it beats every poll);
// its samples are for this database only when it watches this database.
LagView::Mode LagView::mode() {
    if (mode_ != unknown)
        return mode_;
    mode_ = not_running;
    if (!monitor)
        return mode_;
    TimestampTz now = GetCurrentTimestamp();
    LWLockAcquire(monitor_lock, LW_SHARED);
    TimestampTz beat = monitor->heartbeat;
    int interval = monitor->interval_ms;
    Oid database = monitor->database;
    strlcpy(problem_, monitor->problem, sizeof(problem_));
    strlcpy(database_, monitor->database_name, sizeof(database_));
    LWLockRelease(monitor_lock);
    bool alive = beat != 0 && now - beat <= static_cast<int64>(std::max(3 * interval, 3000)) * 1000;
    if (alive)
        mode_ = database == MyDatabaseId ? monitored : not_monitored;
    return mode_;
}

// This server's own walsenders, read live: fresher than any sample.
StandbyLag LagView::read_local(const routing::StandbyRoute &standby) {
    StandbyLag out;
    if (!local_read_) {
        local_ = WalSenders();
        local_lsn_ = current_wal_lsn();
        local_read_ = true;
    }
    LocalStandby l = local_.find(standby);
    out.present = l.present;
    out.state = l.present ? walsender_state_name(l.state) : nullptr;
    out.sample = l.sample;
    out.current_lsn = local_lsn_;
    out.sampled = true;
    return out;
}

StandbyLag LagView::find(const routing::StandbyRoute &standby, const std::string &name) {
    Mode m = mode();
    if (m == not_running || m == not_monitored) {
        StandbyLag out = read_local(standby);
        if (m == not_monitored)
            snprintf(source_, sizeof(source_), "local walsender (the lag monitor watches database \"%s\")", database_);
        else if (problem_[0])
            snprintf(source_, sizeof(source_), "local walsender (lag monitor not running: %s)", problem_);
        else
            snprintf(source_, sizeof(source_), "local walsender (lag monitor not running)");
        out.source = source_;
        return out;
    }
    lag::MonitorSample s;
    int interval_ms = lag_poll_interval_ms;
    bool sampled = copy_sample(name, &s, &interval_ms);
    auto monitor_record = [this, &s, sampled](StandbyLag &out) {
        if (!sampled)
            return;
        if (s.last_error_at != 0) {
            strlcpy(error_, s.last_error, sizeof(error_)); // outlives the copy `s`
            out.monitor_error = error_;
            out.monitor_error_at = s.last_error_at;
        }
        out.monitor_ok_at = s.sampled_at;
    };
    if (sampled && s.source == lag::source_local) {
        StandbyLag out = read_local(standby);
        out.source = "local walsender";
        monitor_record(out);
        return out;
    }
    StandbyLag out;
    monitor_record(out);
    if (!sampled || s.sampled_at == 0) {
        if (sampled && s.note[0])
            snprintf(source_, sizeof(source_), "none: %s", s.note);
        else if (problem_[0])
            snprintf(source_, sizeof(source_), "none: %s", problem_);
        else
            snprintf(source_, sizeof(source_), "none yet");
        out.source = source_;
        out.stale = true;
        return out;
    }
    out.present = s.present;
    out.state = !s.present ? nullptr : s.source == lag::source_standby ? s.state_text : walsender_state_name(s.state);
    if (out.state == s.state_text) {
        strlcpy(state_, s.state_text, sizeof(state_)); // outlives the copy `s`
        out.state = state_;
    }
    out.sample.streaming = s.streaming;
    out.sample.sent_lsn = s.sent_lsn;
    out.sample.flush_lsn = s.flush_lsn;
    out.sample.replay_lsn = s.replay_lsn;
    out.sample.replay_lag_us = s.replay_lag_us;
    out.sample.reply_age_us = s.reply_age_us;
    out.current_lsn = s.current_lsn;
    out.sampled = true;
    out.age_us = GetCurrentTimestamp() - s.sampled_at;
    out.stale = out.age_us > 3 * static_cast<int64_t>(interval_ms) * 1000;
    if (out.stale && (s.note[0] || problem_[0])) {
        snprintf(source_, sizeof(source_), "%s (stale: %s)", lag::source_name(s.source), s.note[0] ? s.note : problem_);
        out.source = source_;
    } else {
        out.source = lag::source_name(s.source);
    }
    return out;
}

routing::Verdict LagView::evaluate(const routing::StandbyRoute &standby, const StandbyLag &lag, uint64_t min_lsn) {
    if (lag.stale) {
        routing::Verdict v;
        v.reason = routing::Reason::lag_unknown;
        return v;
    }
    return routing::evaluate_standby(lag.present ? &lag.sample : nullptr, standby.limits, lag.current_lsn, min_lsn);
}

} // namespace shardroute::pg
