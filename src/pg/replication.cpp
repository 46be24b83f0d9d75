#include "pg/replication.hpp"

extern "C" {
#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "replication/walsender.h"
#include "replication/walsender_private.h"
#include "storage/spin.h"
#include "utils/backend_status.h"
}

#include <cstring>

namespace shardroute::pg {

namespace {

// One walsender slot as copied under its spinlock, plus its application_name.
struct SenderCopy {
    pid_t pid;
    WalSndState state;
    XLogRecPtr sent;
    XLogRecPtr apply;
    TimeOffset apply_lag;
    const char *application_name; // into the pid cache, or "" when unknown
};

// application_name of walsender pids. A walsender keeps its pid for its whole
// connection, so the backend status array is read only when a new one appears.
struct PidName {
    int pid;
    char name[NAMEDATALEN];
};

SenderCopy *senders = nullptr; // max_wal_senders entries, in TopMemoryContext
PidName *names = nullptr;      // max_wal_senders entries
int names_used = 0;

const char *cached_name(int pid) {
    for (int i = 0; i < names_used; ++i)
        if (names[i].pid == pid)
            return names[i].name;
    return nullptr;
}

// Re-reads application_name for the current walsender pids from the backend
// status array (a local snapshot that is released at once).
void refresh_names(const SenderCopy *copies, int n) {
    int used = 0;
    int backends = pgstat_fetch_stat_numbackends();
    for (int b = 1; b <= backends && used < max_wal_senders; ++b) {
        LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(b);
        if (!local)
            continue;
        PgBackendStatus *be = &local->backendStatus;
        for (int i = 0; i < n; ++i) {
            if (copies[i].pid != 0 && copies[i].pid == be->st_procpid) {
                names[used].pid = be->st_procpid;
                strlcpy(names[used].name, be->st_appname ? be->st_appname : "", NAMEDATALEN);
                ++used;
                break;
            }
        }
    }
    names_used = used;
    pgstat_clear_backend_activity_snapshot();
}

} // namespace

WalSenders::WalSenders() : count_(0) {
    if (max_wal_senders <= 0 || WalSndCtl == nullptr)
        return;
    if (!senders) {
        senders = static_cast<SenderCopy *>(
            MemoryContextAllocZero(TopMemoryContext, sizeof(SenderCopy) * static_cast<size_t>(max_wal_senders)));
        names = static_cast<PidName *>(
            MemoryContextAllocZero(TopMemoryContext, sizeof(PidName) * static_cast<size_t>(max_wal_senders)));
    }
    bool missing = false;
    for (int i = 0; i < max_wal_senders; ++i) {
        WalSnd *walsnd = &WalSndCtl->walsnds[i];
        SenderCopy c;
        SpinLockAcquire(&walsnd->mutex);
        c.pid = walsnd->pid;
        c.state = walsnd->state;
        c.sent = walsnd->sentPtr;
        c.apply = walsnd->apply;
        c.apply_lag = walsnd->applyLag;
        SpinLockRelease(&walsnd->mutex);
        if (c.pid == 0)
            continue;
        c.application_name = cached_name(c.pid);
        missing |= c.application_name == nullptr;
        senders[count_++] = c;
    }
    if (missing) {
        refresh_names(senders, count_);
        for (int i = 0; i < count_; ++i) {
            const char *name = cached_name(senders[i].pid);
            senders[i].application_name = name ? name : "";
        }
    }
}

LocalStandby WalSenders::find(const routing::StandbyRoute &standby) const {
    LocalStandby out{};
    for (int i = 0; i < count_; ++i) {
        const SenderCopy &c = senders[i];
        if (standby.replication_name != c.application_name)
            continue;
        if (out.present && out.sample.streaming)
            break; // keep the streaming one
        out.present = true;
        out.state = c.state;
        out.sample.streaming = c.state == WALSNDSTATE_STREAMING;
        out.sample.sent_lsn = c.sent;
        out.sample.replay_lsn = c.apply;
        out.sample.replay_lag_us = c.apply_lag;
    }
    return out;
}

uint64_t current_wal_lsn() {
    return RecoveryInProgress() ? GetXLogReplayRecPtr(nullptr) : GetXLogWriteRecPtr();
}

const char *walsender_state_name(int state) {
    switch (state) {
    case WALSNDSTATE_STARTUP:
        return "startup";
    case WALSNDSTATE_BACKUP:
        return "backup";
    case WALSNDSTATE_CATCHUP:
        return "catchup";
    case WALSNDSTATE_STREAMING:
        return "streaming";
    case WALSNDSTATE_STOPPING:
        return "stopping";
    }
    return "unknown";
}

} // namespace shardroute::pg
