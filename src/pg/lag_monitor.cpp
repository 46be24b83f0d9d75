#include "common/error.hpp"
#include "routing/read_choice.hpp"
#include "topology/conninfo.hpp"
#include "topology/model.hpp"

#include <map>
#include <string>
#include <vector>

#include "pg/catalog.hpp"
#include "pg/guard.hpp"
#include "pg/lag_monitor.hpp"
#include "pg/replication.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_control.h"
#include "commands/extension.h"
#include "libpq-fe.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "replication/walsender_private.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

PGDLLEXPORT void shardroute_lag_monitor_main(Datum);
}

namespace shardroute::pg {

int lag_poll_interval_ms = 1000;
char *lag_monitor_database = nullptr;

namespace {

constexpr int max_samples = 1024;

enum Source : int { source_none = 0, source_local, source_primary, source_standby };

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

// One standby's last sample, written by the worker only.
struct MonitorSample {
    char standby[NAMEDATALEN];
    int source;
    bool present;
    bool streaming;
    int state; // WalSndState, for primary and local sources
    uint64 sent_lsn;
    uint64 replay_lsn;
    uint64 current_lsn;
    int64 replay_lag_us;
    TimestampTz sampled_at;
};

struct MonitorShmem {
    pid_t worker_pid;
    TimestampTz heartbeat;
    int interval_ms;
    int nsamples;
    MonitorSample samples[max_samples];
};

MonitorShmem *monitor = nullptr;
LWLock *monitor_lock = nullptr;
shmem_request_hook_type prev_shmem_request_hook = nullptr;
shmem_startup_hook_type prev_shmem_startup_hook = nullptr;

void monitor_shmem_request() {
    if (prev_shmem_request_hook)
        prev_shmem_request_hook();
    RequestAddinShmemSpace(MAXALIGN(sizeof(MonitorShmem)));
    RequestNamedLWLockTranche("shardroute_lag_monitor", 1);
}

void monitor_shmem_startup() {
    if (prev_shmem_startup_hook)
        prev_shmem_startup_hook();
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    bool found;
    monitor = static_cast<MonitorShmem *>(ShmemInitStruct("shardroute_lag_monitor", sizeof(MonitorShmem), &found));
    if (!found)
        memset(monitor, 0, sizeof(MonitorShmem));
    monitor_lock = &(GetNamedLWLockTranche("shardroute_lag_monitor"))->lock;
    LWLockRelease(AddinShmemInitLock);
}

// The worker is alive when its heartbeat is recent (it beats every poll).
bool worker_alive(TimestampTz now) {
    if (!monitor)
        return false;
    LWLockAcquire(monitor_lock, LW_SHARED);
    TimestampTz beat = monitor->heartbeat;
    int interval = monitor->interval_ms;
    LWLockRelease(monitor_lock);
    return beat != 0 && now - beat <= static_cast<int64>(std::max(3 * interval, 3000)) * 1000;
}

bool copy_sample(const std::string &name, MonitorSample *out, int *interval_ms) {
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
    worker.bgw_restart_time = 1; // seconds: a crashed or killed worker comes back
    strlcpy(worker.bgw_library_name, "shardroute", BGW_MAXLEN);
    strlcpy(worker.bgw_function_name, "shardroute_lag_monitor_main", BGW_MAXLEN);
    strlcpy(worker.bgw_name, "shardroute lag monitor", BGW_MAXLEN);
    strlcpy(worker.bgw_type, "shardroute lag monitor", BGW_MAXLEN);
    RegisterBackgroundWorker(&worker);
}

LagView::LagView() = default;

bool LagView::running() {
    if (running_ < 0)
        running_ = worker_alive(GetCurrentTimestamp()) ? 1 : 0;
    return running_ == 1;
}

StandbyLag LagView::find(const routing::StandbyRoute &standby, const std::string &name) {
    StandbyLag out;
    MonitorSample s;
    int interval_ms = lag_poll_interval_ms;
    bool running = this->running();
    bool sampled = running && copy_sample(name, &s, &interval_ms);
    if (!running || (sampled && s.source == source_local)) {
        // this server's own walsenders, read live: fresher than any sample
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
        out.source = running ? "local walsender" : "local walsender (lag monitor not running)";
        return out;
    }
    if (!sampled || s.sampled_at == 0) {
        out.source = "none yet";
        out.stale = true;
        return out;
    }
    out.present = s.present;
    out.state = !s.present                   ? nullptr
                : s.source == source_standby ? (s.streaming ? "streaming" : "not streaming")
                                             : walsender_state_name(s.state);
    out.sample.streaming = s.streaming;
    out.sample.sent_lsn = s.sent_lsn;
    out.sample.replay_lsn = s.replay_lsn;
    out.sample.replay_lag_us = s.replay_lag_us;
    out.current_lsn = s.current_lsn;
    out.source = source_name(s.source);
    out.age_us = GetCurrentTimestamp() - s.sampled_at;
    out.stale = out.age_us > 3 * static_cast<int64_t>(interval_ms) * 1000;
    return out;
}

routing::Verdict LagView::evaluate(const routing::StandbyRoute &standby, const std::string &name, uint64_t min_lsn) {
    StandbyLag lag = find(standby, name);
    if (lag.stale) {
        routing::Verdict v;
        v.reason = routing::Reason::lag_unknown;
        return v;
    }
    return routing::evaluate_standby(lag.present ? &lag.sample : nullptr, standby.limits, lag.current_lsn, min_lsn);
}

} // namespace shardroute::pg

// ---------------------------------------------------------------------------
// The worker. It runs C++ between PostgreSQL calls; every PostgreSQL call that
// can fail goes through pg_call, and a failure aborts the poll's transaction
// and is logged. An error that escapes ends the process; the postmaster
// restarts it after bgw_restart_time.
// ---------------------------------------------------------------------------

using namespace shardroute;
using shardroute::pg::pg_call;

namespace {

struct Conn {
    std::string conninfo;
    PGconn *pg = nullptr;
    TimestampTz retry_after = 0;
    bool local = false; // the node is this server: read walsenders instead
};

std::map<std::string, Conn> connections; // by node name
uint64 local_system_identifier = 0;

uint64 parse_lsn(const char *s) {
    unsigned hi = 0, lo = 0;
    if (!s || sscanf(s, "%X/%X", &hi, &lo) != 2)
        return 0;
    return (static_cast<uint64>(hi) << 32) | lo;
}

// An open connection to the node, or nullptr; a failed node is retried after
// a pause, so a dead host costs at most one connect_timeout per pause.
PGconn *connection(const std::string &node, const std::string &conninfo, TimestampTz now) {
    Conn &c = connections[node];
    if (c.conninfo != conninfo && c.pg) {
        PQfinish(c.pg);
        c.pg = nullptr;
    }
    c.conninfo = conninfo;
    if (c.pg && PQstatus(c.pg) == CONNECTION_OK)
        return c.pg;
    if (c.pg) {
        PQfinish(c.pg);
        c.pg = nullptr;
    }
    if (now < c.retry_after)
        return nullptr;
    std::string full = conninfo + " connect_timeout=2 application_name=shardroute_lag_monitor"
                                  " options='-c statement_timeout=2000'";
    c.pg = PQconnectdb(full.c_str());
    if (PQstatus(c.pg) != CONNECTION_OK) {
        elog(LOG, "shardroute lag monitor: cannot connect to node \"%s\": %s", node.c_str(), PQerrorMessage(c.pg));
        PQfinish(c.pg);
        c.pg = nullptr;
        c.retry_after = now + static_cast<int64>(std::max(pg::lag_poll_interval_ms * 3, 2000)) * 1000;
    }
    return c.pg;
}

void drop_connection(const std::string &node) {
    Conn &c = connections[node];
    if (c.pg)
        PQfinish(c.pg);
    c.pg = nullptr;
}

PGresult *run(const std::string &node, PGconn *pg, const char *sql) {
    PGresult *res = PQexec(pg, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        elog(LOG, "shardroute lag monitor: query on node \"%s\" failed: %s", node.c_str(), PQerrorMessage(pg));
        PQclear(res);
        drop_connection(node);
        return nullptr;
    }
    return res;
}

struct Sample {
    int source = 0;
    bool present = false;
    bool streaming = false;
    int state = 0;
    uint64 sent = 0, replay = 0, current = 0;
    int64 lag_us = -1;
};

// Samples the standbys of `primary` through its pg_stat_replication. False
// when the primary cannot be read.
bool sample_from_primary(const topology::Node &primary, const std::vector<const topology::Node *> &standbys,
                         TimestampTz now, std::map<std::string, Sample> &out) {
    Conn &c = connections[primary.name];
    if (!c.local) {
        PGconn *pg = connection(primary.name, topology::conninfo(primary), now);
        if (!pg)
            return false;
        PGresult *res = run(primary.name, pg,
                            "SELECT s.system_identifier::text, pg_current_wal_lsn()::text, r.application_name, "
                            "r.state, r.sent_lsn::text, r.replay_lsn::text, "
                            "(extract(epoch FROM r.replay_lag) * 1000000)::int8 "
                            "FROM pg_control_system() s LEFT JOIN pg_stat_replication r ON true");
        if (!res)
            return false;
        uint64 sysid = PQntuples(res) > 0 ? strtoull(PQgetvalue(res, 0, 0), nullptr, 10) : 0;
        if (sysid == local_system_identifier) {
            c.local = true; // this server: its walsenders are read from shared memory
            PQclear(res);
            drop_connection(primary.name);
        } else {
            uint64 current = PQntuples(res) > 0 ? parse_lsn(PQgetvalue(res, 0, 1)) : 0;
            for (const auto *sb : standbys) {
                Sample s;
                s.source = pg::source_primary;
                s.current = current;
                for (int i = 0; i < PQntuples(res); ++i) {
                    if (PQgetisnull(res, i, 2) || sb->replication_name() != PQgetvalue(res, i, 2))
                        continue;
                    if (s.present && s.streaming)
                        break;
                    s.present = true;
                    std::string state = PQgetvalue(res, i, 3);
                    s.streaming = state == "streaming";
                    s.state = state == "streaming"  ? WALSNDSTATE_STREAMING
                              : state == "catchup"  ? WALSNDSTATE_CATCHUP
                              : state == "backup"   ? WALSNDSTATE_BACKUP
                              : state == "stopping" ? WALSNDSTATE_STOPPING
                                                    : WALSNDSTATE_STARTUP;
                    s.sent = parse_lsn(PQgetvalue(res, i, 4));
                    s.replay = parse_lsn(PQgetvalue(res, i, 5));
                    s.lag_us = PQgetisnull(res, i, 6) ? -1 : strtoll(PQgetvalue(res, i, 6), nullptr, 10);
                }
                out[sb->name] = s;
            }
            PQclear(res);
            return true;
        }
    }
    for (const auto *sb : standbys) {
        Sample s;
        s.source = pg::source_local;
        out[sb->name] = s; // readers read this server's walsenders live
    }
    return true;
}

// When the primary cannot be read: the standby measures itself.
bool sample_from_standby(const topology::Node &standby, TimestampTz now, Sample &s) {
    PGconn *pg = connection(standby.name, topology::conninfo(standby), now);
    if (!pg)
        return false;
    PGresult *res = run(standby.name, pg,
                        "SELECT pg_last_wal_receive_lsn()::text, pg_last_wal_replay_lsn()::text, "
                        "(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000000)::int8, "
                        "(SELECT status FROM pg_stat_wal_receiver)");
    if (!res)
        return false;
    s.source = pg::source_standby;
    s.present = !PQgetisnull(res, 0, 3);
    s.streaming = s.present && strcmp(PQgetvalue(res, 0, 3), "streaming") == 0;
    s.sent = parse_lsn(PQgetvalue(res, 0, 0));
    s.replay = parse_lsn(PQgetvalue(res, 0, 1));
    s.current = s.sent;
    if (s.replay != 0 && s.replay == s.sent)
        s.lag_us = 0;
    else
        s.lag_us = PQgetisnull(res, 0, 2) ? -1 : strtoll(PQgetvalue(res, 0, 2), nullptr, 10);
    PQclear(res);
    return true;
}

// The catalog of the monitor's database, or nothing when shardroute is not installed there.
bool read_topology(topology::Topology &out) {
    bool installed = pg_call([]() {
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        bool has = OidIsValid(get_extension_oid("shardroute", true));
        if (!has)
            CommitTransactionCommand();
        return has;
    });
    if (!installed)
        return false;
    out = pg::load_topology();
    pg_call([]() { CommitTransactionCommand(); });
    return true;
}

void poll_once() {
    topology::Topology t;
    if (!read_topology(t))
        return;
    TimestampTz now = GetCurrentTimestamp();
    std::map<std::string, std::vector<const topology::Node *>> standbys_of;
    for (const auto &n : t.nodes)
        if (n.is_standby())
            standbys_of[*n.primary_node].push_back(&n);
    std::map<std::string, Sample> fresh;
    for (const auto &[primary_name, standbys] : standbys_of) {
        const topology::Node *primary = t.find_node(primary_name);
        if (primary && sample_from_primary(*primary, standbys, now, fresh))
            continue;
        for (const auto *sb : standbys) {
            Sample s;
            if (sample_from_standby(*sb, now, s))
                fresh[sb->name] = s;
        }
    }

    // publish: standbys sampled now get new values; the others keep their old
    // sample, which ages into 'lag unknown'; standbys gone from the catalog go.
    // The new array is built outside the lock, which is held only to copy it.
    std::vector<pg::MonitorSample> previous(pg::max_samples);
    LWLockAcquire(pg::monitor_lock, LW_SHARED);
    int nprevious = pg::monitor->nsamples;
    memcpy(previous.data(), pg::monitor->samples, sizeof(pg::MonitorSample) * static_cast<size_t>(nprevious));
    LWLockRelease(pg::monitor_lock);

    TimestampTz stamp = GetCurrentTimestamp();
    std::vector<pg::MonitorSample> next;
    for (const auto &node : t.nodes) {
        if (!node.is_standby() || next.size() >= static_cast<size_t>(pg::max_samples))
            continue;
        pg::MonitorSample slot;
        memset(&slot, 0, sizeof(slot));
        strlcpy(slot.standby, node.name.c_str(), NAMEDATALEN);
        auto it = fresh.find(node.name);
        if (it == fresh.end()) {
            for (int i = 0; i < nprevious; ++i)
                if (strncmp(previous[static_cast<size_t>(i)].standby, slot.standby, NAMEDATALEN) == 0)
                    slot = previous[static_cast<size_t>(i)];
        } else {
            const Sample &smp = it->second;
            slot.source = smp.source;
            slot.present = smp.present;
            slot.streaming = smp.streaming;
            slot.state = smp.state;
            slot.sent_lsn = smp.sent;
            slot.replay_lsn = smp.replay;
            slot.current_lsn = smp.current;
            slot.replay_lag_us = smp.lag_us;
            slot.sampled_at = stamp;
        }
        next.push_back(slot);
    }
    LWLockAcquire(pg::monitor_lock, LW_EXCLUSIVE);
    memcpy(pg::monitor->samples, next.data(), sizeof(pg::MonitorSample) * next.size());
    pg::monitor->nsamples = static_cast<int>(next.size());
    LWLockRelease(pg::monitor_lock);
}

} // namespace

void shardroute_lag_monitor_main(Datum) {
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    BackgroundWorkerInitializeConnection(pg::lag_monitor_database, nullptr, 0);
    pgstat_report_appname("shardroute lag monitor");
    local_system_identifier = GetSystemIdentifier();
    elog(LOG, "shardroute lag monitor started (database \"%s\", every %d ms)", pg::lag_monitor_database,
         pg::lag_poll_interval_ms);
    LWLockAcquire(pg::monitor_lock, LW_EXCLUSIVE);
    pg::monitor->worker_pid = MyProcPid;
    LWLockRelease(pg::monitor_lock);

    for (;;) {
        CHECK_FOR_INTERRUPTS();
        if (ConfigReloadPending) {
            ConfigReloadPending = false;
            ProcessConfigFile(PGC_SIGHUP);
        }
        try {
            poll_once();
        } catch (const pg::PgException &e) {
            // the poll's transaction cannot go on: report, clean up, try again next time
            ErrorData *edata = e.edata();
            elog(LOG, "shardroute lag monitor: %s", edata && edata->message ? edata->message : "error");
            AbortCurrentTransaction();
        } catch (const std::exception &e) {
            elog(LOG, "shardroute lag monitor: %s", e.what());
            if (IsTransactionState())
                AbortCurrentTransaction();
        }
        LWLockAcquire(pg::monitor_lock, LW_EXCLUSIVE);
        pg::monitor->heartbeat = GetCurrentTimestamp();
        pg::monitor->interval_ms = pg::lag_poll_interval_ms;
        LWLockRelease(pg::monitor_lock);
        pgstat_report_activity(STATE_IDLE, nullptr);
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, pg::lag_poll_interval_ms,
                        PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
    }
}
