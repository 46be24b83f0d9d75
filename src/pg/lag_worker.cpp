// The lag monitor's background worker. It runs C++ between PostgreSQL calls;
// every PostgreSQL call that can raise an ERROR (catalog, waits, interrupts)
// goes through pg_call, and a failure abandons the poll and is logged. A
// cancel (pg_cancel_backend) abandons the current poll only; SIGTERM ends the
// process (the postmaster restarts it unless it is shutting down).
//
// Every node is sampled over its own non-blocking libpq connection: all
// connections progress together in one wait on their sockets, each with its
// own deadline, so a dead or black-holed host delays no other sample once it
// is connecting. Host names are the exception: libpq resolves them
// synchronously (getaddrinfo) when a connection starts, and a backend has no
// asynchronous resolver, so a hanging resolver delays the whole round by up to
// its own timeout. Nodes whose names may resolve slowly should be registered
// by IP address.
//
// Which nodes a round asks, how their answers merge into one sample per
// standby and what is published are plain C++ (routing/lag_samples.hpp): this
// file holds the connections, the waits and the shared memory around them.
#include "common/error.hpp"
#include "routing/lag_samples.hpp"
#include "topology/conninfo.hpp"
#include "topology/model.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pg/catalog.hpp"
#include "pg/guard.hpp"
#include "pg/lag_monitor.hpp"
#include "pg/libpq_text.hpp"
#include "pg/lag_shmem.hpp"

extern "C" {
#include "access/xact.h"
#include "access/xlog.h"
#include "commands/extension.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "replication/walsender_private.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

PGDLLEXPORT void shardroute_lag_monitor_main(Datum);
}

using namespace shardroute;
using shardroute::pg::pg_call;
namespace lag = shardroute::pg::lag;

namespace {

constexpr int default_deadline_ms = 2000; // connect or answer, when the node sets no connect_timeout
constexpr int max_deadline_ms = 10000;    // a node's connect_timeout is honoured up to this
// Stands for "no password file": libpq then never reads the OS user's ~/.pgpass
// (or PGPASSFILE) for hosts the catalog names.
const char *no_passfile = "/dev/null/shardroute-no-passfile";
constexpr int max_backoff_s = 60;

uint64 local_system_identifier = 0;
int64 local_start_us = 0; // postmaster start, as microseconds since 1970

// (EXTRACT is grammar: it always means pg_catalog.extract, whatever the search_path)
const char *primary_sql =
    "SELECT s.system_identifier::pg_catalog.text,"
    " (extract(epoch FROM pg_catalog.pg_postmaster_start_time()) * 1000000)::pg_catalog.int8,"
    " CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()::pg_catalog.text"
    " ELSE pg_catalog.pg_current_wal_lsn()::pg_catalog.text END,"
    " r.application_name, r.state, r.sent_lsn::pg_catalog.text, r.flush_lsn::pg_catalog.text,"
    " r.replay_lsn::pg_catalog.text,"
    " (extract(epoch FROM r.replay_lag) * 1000000)::pg_catalog.int8,"
    " (extract(epoch FROM pg_catalog.now() OPERATOR(pg_catalog.-) r.reply_time) * 1000000)"
    "::pg_catalog.int8"
    " FROM pg_catalog.pg_control_system() s LEFT JOIN pg_catalog.pg_stat_replication r ON true";

// CommCare's own check, on the standby: replayed all it received -> 0, else
// the age of the last replayed transaction.
const char *standby_sql =
    "SELECT pg_catalog.pg_is_in_recovery(), pg_catalog.pg_last_wal_receive_lsn()::pg_catalog.text,"
    " pg_catalog.pg_last_wal_replay_lsn()::pg_catalog.text,"
    " (extract(epoch FROM pg_catalog.now() OPERATOR(pg_catalog.-)"
    " pg_catalog.pg_last_xact_replay_timestamp()) * 1000000)::pg_catalog.int8,"
    " (SELECT w.status FROM pg_catalog.pg_stat_wal_receiver w)";

// One node's connection and where it stands.
struct Endpoint {
    std::string address; // host, port, dbname, deadline: a change means a new connection
    PGconn *pg = nullptr;
    enum Phase { idle, connecting, ready, querying } phase = idle;
    bool want_write = true; // what PQconnectPoll / PQflush wait for
    TimestampTz deadline = 0;
    TimestampTz retry_after = 0;
    int failures = 0;
    bool healthy = false; // the last attempt answered
    int local = -1;       // -1 unknown, 1: this very server (read its walsenders), 0: another
    const char *sql = nullptr;
    bool answered = false; // this round
    PGresult *result = nullptr;
    std::string error; // last failure, logged when it changes
    std::string logged;
};

std::map<std::string, Endpoint> endpoints; // by node name
std::string monitor_conninfo_seen;         // GUC value the keyword list was built from
std::vector<std::pair<std::string, std::string>> monitor_keywords;
bool monitor_conninfo_valid = true;

uint64 parse_lsn(const char *s) {
    unsigned hi = 0, lo = 0;
    if (!s || sscanf(s, "%X/%X", &hi, &lo) != 2)
        return 0;
    return (static_cast<uint64>(hi) << 32) | lo;
}

void log_once(Endpoint &e, const std::string &node) {
    if (e.error == e.logged)
        return;
    e.logged = e.error;
    if (!e.error.empty())
        elog(LOG, "shardroute lag monitor: node \"%s\": %s", node.c_str(), e.error.c_str());
}

void close_endpoint(Endpoint &e) {
    if (e.result)
        PQclear(e.result);
    e.result = nullptr;
    if (e.pg)
        PQfinish(e.pg);
    e.pg = nullptr;
    e.phase = Endpoint::idle;
    e.answered = false; // no result: nothing of an earlier round may be read as this round's answer
}

void fail(Endpoint &e, const std::string &why, TimestampTz now) {
    close_endpoint(e);
    e.error = why;
    e.healthy = false;
    e.answered = false;
    e.failures = std::min(e.failures + 1, 6);
    // a failed node is retried after a pause, growing while it stays down
    int64 pause_ms = std::min<int64>(static_cast<int64>(pg::lag_poll_interval_ms) << (e.failures - 1),
                                     static_cast<int64>(max_backoff_s) * 1000);
    e.retry_after = now + std::max<int64>(pause_ms, 500) * 1000;
}

// The keywords of shardroute.lag_monitor_conninfo, parsed when it changes.
// host, hostaddr, port and dbname always come from the catalog. Without a
// passfile or password of its own the monitor reads no password file at all:
// the OS user's ~/.pgpass holds the server's passwords, which must never be
// offered to a host that a role allowed to add nodes put in the catalog.
void refresh_monitor_keywords() {
    std::string now = pg::lag_monitor_conninfo ? pg::lag_monitor_conninfo : "";
    if (now == monitor_conninfo_seen && !monitor_keywords.empty())
        return;
    monitor_conninfo_seen = now;
    monitor_keywords.clear();
    monitor_keywords.emplace_back("application_name", "shardroute_lag_monitor");
    monitor_keywords.emplace_back("keepalives", "1");
    monitor_keywords.emplace_back("keepalives_idle", "5");
    monitor_keywords.emplace_back("keepalives_interval", "2");
    monitor_keywords.emplace_back("keepalives_count", "2");
    monitor_keywords.emplace_back("options", "-c statement_timeout=5000");
    char *err = nullptr;
    PQconninfoOption *opts = PQconninfoParse(now.c_str(), &err);
    monitor_conninfo_valid = opts != nullptr;
    if (!opts) {
        elog(LOG, "shardroute lag monitor: shardroute.lag_monitor_conninfo is invalid: %s", err ? err : "?");
        if (err)
            PQfreemem(err);
        return;
    }
    bool own_password = false;
    for (PQconninfoOption *o = opts; o->keyword; ++o) {
        if (!o->val)
            continue;
        std::string k = o->keyword;
        if (k == "host" || k == "hostaddr" || k == "port" || k == "dbname")
            continue;
        own_password |= k == "passfile" || k == "password";
        monitor_keywords.emplace_back(k, o->val);
    }
    PQconninfoFree(opts);
    if (!own_password)
        monitor_keywords.emplace_back("passfile", no_passfile);
}

// How long a node may take to connect or to answer: its own connect_timeout
// when the catalog gives one (libpq's rule: under 2 s counts as 2 s), else 2 s;
// never more than 10 s, so that a node's setting cannot keep its standbys'
// samples waiting for long.
int deadline_ms(const topology::Node &node) {
    if (!node.options)
        return default_deadline_ms;
    try {
        for (const auto &[k, v] : topology::parse_options(*node.options))
            if (k == "connect_timeout") {
                long s = strtol(v.c_str(), nullptr, 10);
                if (s <= 0)
                    return default_deadline_ms;
                return static_cast<int>(std::clamp<long>(s, 2, max_deadline_ms / 1000) * 1000);
            }
    } catch (const std::exception &) {
    }
    return default_deadline_ms;
}

std::string address_of(const topology::Node &node) {
    return node.host + "\n" + std::to_string(node.port) + "\n" + node.dbname.value_or("") + "\n" +
           std::to_string(deadline_ms(node));
}

// Starts a non-blocking connection: the monitor's own keywords, then host,
// port and dbname from the catalog (nothing else the catalog says).
void start_connection(Endpoint &e, const topology::Node &node, TimestampTz now) {
    std::vector<std::pair<std::string, std::string>> kv = monitor_keywords;
    kv.emplace_back("host", node.host);
    kv.emplace_back("port", std::to_string(node.port));
    if (node.dbname)
        kv.emplace_back("dbname", *node.dbname);
    std::vector<const char *> keys, values;
    for (const auto &[k, v] : kv) {
        keys.push_back(k.c_str());
        values.push_back(v.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    e.pg = PQconnectStartParams(keys.data(), values.data(), 0);
    if (!e.pg || PQstatus(e.pg) == CONNECTION_BAD) {
        fail(e, "cannot connect: " + pg::libpq_one_line(e.pg ? PQerrorMessage(e.pg) : "out of memory"), now);
        return;
    }
    e.phase = Endpoint::connecting;
    e.want_write = true;
    e.deadline = now + static_cast<int64>(deadline_ms(node)) * 1000;
}

void send_query(Endpoint &e, TimestampTz now, int deadline) {
    if (!PQsendQuery(e.pg, e.sql)) {
        fail(e, "query failed: " + pg::libpq_one_line(PQerrorMessage(e.pg)), now);
        return;
    }
    e.phase = Endpoint::querying;
    e.deadline = now + static_cast<int64>(deadline) * 1000;
    e.want_write = PQflush(e.pg) == 1;
}

// Moves one endpoint on after its socket became ready (or to check it).
void advance(Endpoint &e, TimestampTz now, int deadline) {
    if (e.phase == Endpoint::connecting) {
        PostgresPollingStatusType st = PQconnectPoll(e.pg);
        if (st == PGRES_POLLING_FAILED) {
            fail(e, "cannot connect: " + pg::libpq_one_line(PQerrorMessage(e.pg)), now);
            return;
        }
        if (st != PGRES_POLLING_OK) {
            e.want_write = st == PGRES_POLLING_WRITING;
            return;
        }
        PQsetnonblocking(e.pg, 1);
        e.phase = Endpoint::ready;
        if (e.sql)
            send_query(e, now, deadline);
        return;
    }
    if (e.phase != Endpoint::querying)
        return;
    if (e.want_write) {
        int f = PQflush(e.pg);
        if (f < 0) {
            fail(e, "query failed: " + pg::libpq_one_line(PQerrorMessage(e.pg)), now);
            return;
        }
        e.want_write = f == 1;
        if (e.want_write)
            return;
    }
    if (!PQconsumeInput(e.pg)) {
        fail(e, "connection lost: " + pg::libpq_one_line(PQerrorMessage(e.pg)), now);
        return;
    }
    while (!PQisBusy(e.pg)) {
        PGresult *r = PQgetResult(e.pg);
        if (!r) {
            e.phase = Endpoint::ready;
            if (!e.result) {
                fail(e, "no answer", now);
                return;
            }
            if (PQresultStatus(e.result) != PGRES_TUPLES_OK) {
                std::string why = "query failed: " + pg::libpq_one_line(PQresultErrorMessage(e.result));
                fail(e, why, now);
                return;
            }
            e.answered = true;
            e.healthy = true;
            e.failures = 0;
            e.error.clear();
            return;
        }
        if (e.result)
            PQclear(e.result);
        e.result = r;
    }
}

// Plain data for the wait below: PostgreSQL code holding no C++ object. The
// arrays are sized by the caller (one entry per connection in progress).
struct WaitSpec {
    int n;
    pgsocket *socks;
    uint32 *events;
    bool *ready;
};

// Waits for any of the sockets, the latch, or the timeout (through pg_call).
void wait_sockets(WaitSpec *w, long timeout_ms) {
    pg_call([w, timeout_ms]() noexcept {
        // PostgreSQL 15 does not release a wait event set (an epoll fd) on
        // error: it is freed here on every path
        WaitEventSet *volatile set = CreateWaitEventSet(CurrentMemoryContext, w->n + 2);
        PG_TRY();
        {
            AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, nullptr);
            AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, nullptr, nullptr);
            for (int i = 0; i < w->n; ++i) {
                w->ready[i] = false;
                AddWaitEventToSet(set, w->events[i], w->socks[i], nullptr,
                                  reinterpret_cast<void *>(static_cast<intptr_t>(i)));
            }
            WaitEvent occurred[16];
            int got = WaitEventSetWait(set, timeout_ms, occurred, 16, PG_WAIT_EXTENSION);
            for (int i = 0; i < got; ++i) {
                if (occurred[i].events & WL_LATCH_SET)
                    ResetLatch(MyLatch);
                else if (occurred[i].events & (WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE))
                    w->ready[reinterpret_cast<intptr_t>(occurred[i].user_data)] = true;
            }
        }
        PG_FINALLY();
        { FreeWaitEventSet(set); }
        PG_END_TRY();
        CHECK_FOR_INTERRUPTS();
    });
}

// Runs the queries of one round on every endpoint in `names` at once, until
// each has answered or failed, or the round's end. Endpoints still waiting
// then keep their state and deadline for the next round.
void run_round(const std::vector<std::string> &names, const topology::Topology &t, TimestampTz round_end) {
    TimestampTz now = GetCurrentTimestamp();
    for (const auto &name : names) {
        Endpoint &e = endpoints[name];
        const topology::Node *node = t.find_node(name);
        e.answered = false;
        if (e.result && e.phase != Endpoint::querying) {
            PQclear(e.result);
            e.result = nullptr;
        }
        if (!node)
            continue;
        std::string addr = address_of(*node);
        if (addr != e.address) {
            close_endpoint(e); // a node that moved: new connection, and decide "local" again
            e.address = addr;
            e.local = -1;
            e.retry_after = 0;
            e.failures = 0;
        }
        if (e.local == 1 && e.sql == primary_sql)
            continue;
        if (e.phase == Endpoint::idle) {
            if (now < e.retry_after || !monitor_conninfo_valid)
                continue;
            start_connection(e, *node, now);
            if (e.phase == Endpoint::idle)
                continue;
        }
        if (e.phase == Endpoint::ready) {
            if (PQstatus(e.pg) != CONNECTION_OK) {
                fail(e, "connection lost", now);
                continue;
            }
            send_query(e, now, deadline_ms(*node));
        }
    }
    // every connection in progress is waited on, however many there are
    std::vector<pgsocket> socks(names.size());
    std::vector<uint32> events(names.size());
    auto ready = std::make_unique<bool[]>(names.size() + 1);
    auto w = std::make_unique<WaitSpec>();
    w->socks = socks.data();
    w->events = events.data();
    w->ready = ready.get();
    for (;;) {
        now = GetCurrentTimestamp();
        std::vector<std::string> waiting;
        TimestampTz wake = round_end;
        w->n = 0;
        for (const auto &name : names) {
            Endpoint &e = endpoints[name];
            if (e.phase != Endpoint::connecting && e.phase != Endpoint::querying)
                continue;
            if (now >= e.deadline) {
                fail(e,
                     e.phase == Endpoint::connecting ? "no connection within the deadline"
                                                     : "no answer within the deadline",
                     now);
                continue;
            }
            if (e.phase == Endpoint::querying && e.answered)
                continue;
            wake = std::min(wake, e.deadline);
            w->socks[w->n] = PQsocket(e.pg);
            w->events[w->n] = e.want_write ? WL_SOCKET_WRITEABLE : WL_SOCKET_READABLE;
            waiting.push_back(name);
            ++w->n;
        }
        if (waiting.empty() || now >= round_end)
            return;
        long timeout_ms = std::max<long>(1, static_cast<long>((wake - now + 999) / 1000));
        wait_sockets(w.get(), timeout_ms);
        now = GetCurrentTimestamp();
        for (int i = 0; i < w->n; ++i) {
            if (!w->ready[i])
                continue;
            const topology::Node *node = t.find_node(waiting[static_cast<size_t>(i)]);
            advance(endpoints[waiting[static_cast<size_t>(i)]], now, node ? deadline_ms(*node) : default_deadline_ms);
        }
    }
}

// The worker's plain data and the shared memory's must agree on numbers.
static_assert(static_cast<int>(routing::WalSenderState::startup) == WALSNDSTATE_STARTUP &&
              static_cast<int>(routing::WalSenderState::backup) == WALSNDSTATE_BACKUP &&
              static_cast<int>(routing::WalSenderState::catchup) == WALSNDSTATE_CATCHUP &&
              static_cast<int>(routing::WalSenderState::streaming) == WALSNDSTATE_STREAMING &&
              static_cast<int>(routing::WalSenderState::stopping) == WALSNDSTATE_STOPPING);
static_assert(static_cast<int>(routing::SampleSource::none) == lag::source_none &&
              static_cast<int>(routing::SampleSource::local) == lag::source_local &&
              static_cast<int>(routing::SampleSource::primary) == lag::source_primary &&
              static_cast<int>(routing::SampleSource::standby) == lag::source_standby);

int64 int8_value(const PGresult *res, int row, int col) {
    return PQgetisnull(res, row, col) ? -1 : strtoll(PQgetvalue(res, row, col), nullptr, 10);
}

// A primary's answer to primary_sql, as plain data.
routing::PrimaryAnswer primary_answer(const PGresult *res) {
    routing::PrimaryAnswer a;
    int rows = PQntuples(res);
    if (rows == 0)
        return a;
    a.server.system_identifier = strtoull(PQgetvalue(res, 0, 0), nullptr, 10);
    a.server.start_us = strtoll(PQgetvalue(res, 0, 1), nullptr, 10);
    a.current_lsn = PQgetisnull(res, 0, 2) ? 0 : parse_lsn(PQgetvalue(res, 0, 2));
    a.rows.resize(static_cast<size_t>(rows));
    for (int i = 0; i < rows; ++i) {
        routing::WalSenderRow &r = a.rows[static_cast<size_t>(i)];
        if (!PQgetisnull(res, i, 3))
            r.application_name = PQgetvalue(res, i, 3);
        r.state = PQgetvalue(res, i, 4);
        r.sent_lsn = parse_lsn(PQgetvalue(res, i, 5));
        r.flush_lsn = parse_lsn(PQgetvalue(res, i, 6));
        r.replay_lsn = parse_lsn(PQgetvalue(res, i, 7));
        r.replay_lag_us = int8_value(res, i, 8);
        r.reply_age_us = int8_value(res, i, 9);
    }
    return a;
}

// A standby's answer to standby_sql, as plain data.
routing::StandbyAnswer standby_answer(const PGresult *res) {
    routing::StandbyAnswer a;
    if (PQntuples(res) == 0)
        return a;
    a.has_row = true;
    a.in_recovery = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    a.receive_lsn = PQgetisnull(res, 0, 1) ? 0 : parse_lsn(PQgetvalue(res, 0, 1));
    a.replay_lsn = PQgetisnull(res, 0, 2) ? 0 : parse_lsn(PQgetvalue(res, 0, 2));
    a.replay_age_us = int8_value(res, 0, 3);
    if (!PQgetisnull(res, 0, 4))
        a.receiver_status = PQgetvalue(res, 0, 4);
    return a;
}

enum class Catalog { ok, no_extension };

// The catalog of the monitor's database.
Catalog read_topology(topology::Topology &out) {
    bool installed = pg_call([]() noexcept {
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        bool has = OidIsValid(get_extension_oid("shardroute", true));
        if (!has)
            CommitTransactionCommand();
        return has;
    });
    if (!installed)
        return Catalog::no_extension;
    out = pg::load_topology();
    pg_call([]() noexcept { CommitTransactionCommand(); });
    return Catalog::ok;
}

std::string problem_logged;

// Says (once in the log, always in shared memory) why samples are missing.
void report_problem(const std::string &problem) {
    if (problem != problem_logged && !problem.empty())
        elog(LOG, "shardroute lag monitor: %s", problem.c_str());
    problem_logged = problem;
    lag::set_problem(problem);
}

// Publishes a round: standbys sampled now get new values; the others keep
// their old sample, which ages into 'lag unknown'; standbys gone from the
// catalog go. The new array is built outside the lock, which is held only to
// copy it.
void publish(const std::vector<routing::Publication> &plan) {
    auto previous = std::make_unique<lag::MonitorSample[]>(lag::max_samples);
    LWLockAcquire(lag::monitor_lock, LW_SHARED);
    int nprevious = lag::monitor->nsamples;
    memcpy(previous.get(), lag::monitor->samples, sizeof(lag::MonitorSample) * static_cast<size_t>(nprevious));
    LWLockRelease(lag::monitor_lock);

    TimestampTz stamp = GetCurrentTimestamp();
    std::vector<lag::MonitorSample> next;
    for (const auto &p : plan) {
        lag::MonitorSample slot;
        memset(&slot, 0, sizeof(slot));
        strlcpy(slot.standby, p.standby.c_str(), NAMEDATALEN);
        const lag::MonitorSample *before = nullptr;
        for (int i = 0; i < nprevious; ++i)
            if (strncmp(previous[static_cast<size_t>(i)].standby, slot.standby, NAMEDATALEN) == 0)
                before = &previous[static_cast<size_t>(i)];
        if (!p.fresh) {
            if (before)
                slot = *before;
            lag::copy_text(slot.note, sizeof(slot.note), p.note);
            if (!p.note.empty()) {
                lag::copy_text(slot.last_error, sizeof(slot.last_error), p.note);
                slot.last_error_at = stamp;
            }
        } else {
            if (before) {
                memcpy(slot.last_error, before->last_error, sizeof(slot.last_error));
                slot.last_error_at = before->last_error_at;
            }
            const routing::PolledSample &smp = *p.fresh;
            slot.source = static_cast<int>(smp.source);
            slot.present = smp.present;
            slot.streaming = smp.streaming;
            slot.state = static_cast<int>(smp.state);
            lag::copy_text(slot.state_text, sizeof(slot.state_text), smp.state_text);
            slot.sent_lsn = smp.sent_lsn;
            slot.flush_lsn = smp.flush_lsn;
            slot.replay_lsn = smp.replay_lsn;
            slot.current_lsn = smp.current_lsn;
            slot.replay_lag_us = smp.replay_lag_us;
            slot.reply_age_us = smp.reply_age_us;
            slot.sampled_at = stamp;
        }
        next.push_back(slot);
    }
    LWLockAcquire(lag::monitor_lock, LW_EXCLUSIVE);
    memcpy(lag::monitor->samples, next.data(), sizeof(lag::MonitorSample) * next.size());
    lag::monitor->nsamples = static_cast<int>(next.size());
    LWLockRelease(lag::monitor_lock);
}

void poll_once(TimestampTz round_end) {
    topology::Topology t;
    if (read_topology(t) == Catalog::no_extension) {
        report_problem(std::string("extension shardroute is not installed in database \"") + pg::lag_monitor_database +
                       "\"");
        return;
    }
    refresh_monitor_keywords();

    std::vector<routing::PrimaryGroup> groups = routing::group_standbys(t);
    report_problem(routing::round_problem(groups, monitor_conninfo_valid, lag::max_samples));

    // primaries first; standbys measure themselves when theirs cannot answer
    std::map<std::string, routing::NodeState> states;
    for (const auto &[name, e] : endpoints)
        states[name] = {e.healthy, e.phase == Endpoint::querying};
    std::vector<std::string> names;
    for (const auto &ask : routing::plan_round(groups, states)) {
        endpoints[ask.node].sql = ask.query == routing::Query::primary ? primary_sql : standby_sql;
        names.push_back(ask.node);
    }
    // connections to nodes gone from the catalog, or no longer asked, close
    for (auto it = endpoints.begin(); it != endpoints.end();) {
        if (std::find(names.begin(), names.end(), it->first) == names.end()) {
            close_endpoint(it->second);
            if (!t.find_node(it->first)) {
                it = endpoints.erase(it);
                continue;
            }
        }
        ++it;
    }
    run_round(names, t, round_end);

    // what each connection gave, as plain data for the merge
    std::map<std::string, routing::NodePoll> polls;
    for (const auto &[name, e] : endpoints) {
        routing::NodePoll &p = polls[name];
        p.this_server = e.local == 1;
        p.error = e.error;
        if (!e.answered || !e.result)
            continue;
        if (e.sql == primary_sql) {
            p.answered = routing::Query::primary;
            p.primary = primary_answer(e.result);
        } else if (e.sql == standby_sql) {
            p.answered = routing::Query::standby;
            p.standby = standby_answer(e.result);
        }
    }
    routing::RoundOutcome round = routing::merge_round(groups, polls, {local_system_identifier, local_start_us});
    for (const auto &[primary, here] : round.this_server) {
        Endpoint &e = endpoints[primary];
        e.local = here ? 1 : 0;
        if (here)
            close_endpoint(e); // this server: its walsenders are read from shared memory
    }
    for (auto &[name, e] : endpoints)
        log_once(e, name);
    publish(routing::plan_publication(t, round, lag::max_samples));
}

// Sleeps up to `ms`, waking for SIGTERM (which ends the process), a reload
// (true), or the timeout (false).
bool sleep_or_reload(long ms) {
    int rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms, PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    if (ProcDiePending)
        proc_exit(1);
    (void)rc;
    return ConfigReloadPending;
}

void beat() {
    LWLockAcquire(lag::monitor_lock, LW_EXCLUSIVE);
    lag::monitor->heartbeat = GetCurrentTimestamp();
    lag::monitor->interval_ms = pg::lag_poll_interval_ms;
    LWLockRelease(lag::monitor_lock);
}

// Before connecting to its database: when the last worker died while
// connecting to the same database (it does not exist: FATAL), wait, longer
// each time (2, 4, ... 60 s), and say why; a reload that names another
// database ends the wait.
void back_off_before_connecting() {
    for (;;) {
        LWLockAcquire(lag::monitor_lock, LW_EXCLUSIVE);
        bool same = lag::monitor->connecting_to[0] != '\0' &&
                    strncmp(lag::monitor->connecting_to, pg::lag_monitor_database, NAMEDATALEN) == 0;
        int failures = same ? lag::monitor->connect_failures + 1 : 0;
        lag::monitor->connect_failures = failures;
        strlcpy(lag::monitor->connecting_to, pg::lag_monitor_database, NAMEDATALEN);
        int wait_s = failures == 0 ? 0 : std::min(1 << std::min(failures, 6), max_backoff_s);
        if (failures > 0)
            lag::copy_text(lag::monitor->problem, lag::problem_len,
                           "cannot connect to database \"" + std::string(pg::lag_monitor_database) +
                               "\" (shardroute.lag_monitor_database); next try in " + std::to_string(wait_s) + " s");
        LWLockRelease(lag::monitor_lock);
        if (failures == 0)
            return;
        if (failures == 1)
            elog(LOG,
                 "shardroute lag monitor: cannot connect to database \"%s\"; retrying every %d s at most, "
                 "until shardroute.lag_monitor_database names a database that exists",
                 pg::lag_monitor_database, max_backoff_s);
        std::string before = pg::lag_monitor_database;
        TimestampTz until = GetCurrentTimestamp() + static_cast<int64>(wait_s) * 1000000;
        bool changed = false;
        while (!changed && GetCurrentTimestamp() < until) {
            if (sleep_or_reload(std::max<long>(1, static_cast<long>((until - GetCurrentTimestamp()) / 1000)))) {
                ConfigReloadPending = false;
                ProcessConfigFile(PGC_SIGHUP);
                changed = before != pg::lag_monitor_database;
            }
        }
        if (changed)
            continue; // another database: try it at once
        return;
    }
}

} // namespace

void shardroute_lag_monitor_main(Datum) {
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    back_off_before_connecting();
    BackgroundWorkerInitializeConnection(pg::lag_monitor_database, nullptr, 0);
    std::string database = pg::lag_monitor_database;
    pgstat_report_appname("shardroute lag monitor");
    local_system_identifier = GetSystemIdentifier();
    local_start_us = PgStartTime + (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
    elog(LOG, "shardroute lag monitor started (database \"%s\", every %d ms)", database.c_str(),
         pg::lag_poll_interval_ms);
    LWLockAcquire(lag::monitor_lock, LW_EXCLUSIVE);
    lag::monitor->worker_pid = MyProcPid;
    lag::monitor->connecting_to[0] = '\0';
    lag::monitor->connect_failures = 0;
    lag::monitor->problem[0] = '\0';
    if (lag::monitor->database != MyDatabaseId)
        lag::monitor->nsamples = 0; // another database's samples mean nothing here
    lag::monitor->database = MyDatabaseId;
    strlcpy(lag::monitor->database_name, database.c_str(), NAMEDATALEN);
    LWLockRelease(lag::monitor_lock);

    for (;;) {
        TimestampTz started = GetCurrentTimestamp();
        TimestampTz round_end = started + static_cast<int64>(pg::lag_poll_interval_ms) * 1000;
        try {
            pg_call([]() noexcept { CHECK_FOR_INTERRUPTS(); });
            if (ConfigReloadPending) {
                ConfigReloadPending = false;
                ProcessConfigFile(PGC_SIGHUP);
                if (database != pg::lag_monitor_database) {
                    elog(LOG, "shardroute lag monitor: shardroute.lag_monitor_database is now \"%s\": restarting",
                         pg::lag_monitor_database);
                    proc_exit(1); // the postmaster starts a worker on the new database
                }
            }
            poll_once(round_end);
        } catch (const pg::PgException &e) {
            // the poll cannot go on (an error, or a cancel): report, clean up, try again next time
            ErrorData *edata = e.edata();
            elog(LOG, "shardroute lag monitor: %s", edata && edata->message ? edata->message : "error");
            if (edata)
                FreeErrorData(edata); // copied outside any transaction's memory: nothing else frees it
            QueryCancelPending = false;
            AbortCurrentTransaction();
        } catch (const std::exception &e) {
            elog(LOG, "shardroute lag monitor: %s", e.what());
            if (IsTransactionState())
                AbortCurrentTransaction();
        }
        beat();
        pgstat_report_activity(STATE_IDLE, nullptr);
        TimestampTz now = GetCurrentTimestamp();
        if (now < round_end)
            sleep_or_reload(static_cast<long>((round_end - now + 999) / 1000));
    }
}
