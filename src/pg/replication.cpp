#include "pg/replication.hpp"

extern "C" {
#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "replication/walsender.h"
#include "replication/walsender_private.h"
#include "storage/spin.h"
#include "utils/backend_status.h"
#include "utils/memutils.h"
}

#include <cstring>

namespace shardroute::pg {

namespace {

// One walsender slot as copied under its spinlock, plus its application_name.
struct SenderCopy {
    pid_t pid;
    WalSndState state;
    XLogRecPtr sent;
    XLogRecPtr flush;
    XLogRecPtr apply;
    TimeOffset apply_lag;
    TimestampTz reply_time;
    const char *application_name; // into the pid cache, or "" when unknown
};

// application_name of walsender pids. A walsender keeps its pid for its whole
// connection, so the backend status array is read only when a new one
// appears. A pid can come back as another walsender (pid reuse): an entry is
// trusted only for the slot it was read in and for name_ttl_us, so a reused pid
// is seen under its new name within that time.
struct PidName {
    int pid;
    int slot;
    TimestampTz read_at;
    char name[NAMEDATALEN];
};
constexpr int64 name_ttl_us = 1000000;

SenderCopy *senders = nullptr; // max_wal_senders entries, in TopMemoryContext
int *sender_slots = nullptr;   // the WalSnd slot of each entry of senders
PidName *names = nullptr;      // max_wal_senders entries
int names_used = 0;

const char *cached_name(int pid, int slot, TimestampTz now) {
    for (int i = 0; i < names_used; ++i)
        if (names[i].pid == pid && names[i].slot == slot && now - names[i].read_at < name_ttl_us)
            return names[i].name;
    return nullptr;
}

// Whether this backend holds a snapshot of the backend status array (taken by
// pg_stat_activity and friends, kept until the end of the transaction).
// backend_status.c keeps it in its own context under TopMemoryContext and
// deletes that context when the snapshot is cleared.
bool have_backend_status_snapshot() {
    for (MemoryContext c = TopMemoryContext->firstchild; c; c = c->nextchild)
        if (strcmp(c->name, "Backend Status Snapshot") == 0)
            return true;
    return false;
}

// Re-reads application_name for the current walsender pids from the backend
// status array. A snapshot the caller already took (pg_stat_activity in the
// same transaction) is used as it is and kept, so that the caller's view of
// the stats stays consistent; one taken here is released at once. A walsender
// newer than the caller's snapshot then has no name yet: it is not cached, and
// looked up again by the next call.
void refresh_names(const SenderCopy *copies, const int *slots, int n, TimestampTz now) {
    bool callers_snapshot = have_backend_status_snapshot();
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
                names[used].slot = slots[i];
                names[used].read_at = now;
                strlcpy(names[used].name, be->st_appname ? be->st_appname : "", NAMEDATALEN);
                ++used;
                break;
            }
        }
    }
    names_used = used;
    if (!callers_snapshot)
        pgstat_clear_backend_activity_snapshot();
}

} // namespace

WalSenders::WalSenders() : count_(0) {
    if (max_wal_senders <= 0 || WalSndCtl == nullptr)
        return;
    if (!senders) {
        // all three arrays exist before any is published: an allocation that
        // fails (ERROR) leaves nothing half set up
        size_t n = static_cast<size_t>(max_wal_senders);
        auto *new_names = static_cast<PidName *>(MemoryContextAllocZero(TopMemoryContext, sizeof(PidName) * n));
        auto *new_slots = static_cast<int *>(MemoryContextAllocZero(TopMemoryContext, sizeof(int) * n));
        auto *new_senders = static_cast<SenderCopy *>(MemoryContextAllocZero(TopMemoryContext, sizeof(SenderCopy) * n));
        names = new_names;
        sender_slots = new_slots;
        senders = new_senders;
    }
    TimestampTz now = GetCurrentTimestamp();
    now_ = now;
    bool missing = false;
    for (int i = 0; i < max_wal_senders; ++i) {
        WalSnd *walsnd = &WalSndCtl->walsnds[i];
        SenderCopy c;
        SpinLockAcquire(&walsnd->mutex);
        c.pid = walsnd->pid;
        c.state = walsnd->state;
        c.sent = walsnd->sentPtr;
        c.flush = walsnd->flush;
        c.apply = walsnd->apply;
        c.apply_lag = walsnd->applyLag;
        c.reply_time = walsnd->replyTime;
        SpinLockRelease(&walsnd->mutex);
        if (c.pid == 0)
            continue;
        c.application_name = cached_name(c.pid, i, now);
        missing |= c.application_name == nullptr;
        sender_slots[count_] = i;
        senders[count_++] = c;
    }
    if (missing) {
        refresh_names(senders, sender_slots, count_, now);
        for (int i = 0; i < count_; ++i) {
            const char *name = cached_name(senders[i].pid, sender_slots[i], now);
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
        out.sample.flush_lsn = c.flush;
        out.sample.reply_age_us = c.reply_time != 0 ? now_ - c.reply_time : -1;
    }
    return out;
}

uint64_t current_wal_lsn() {
    return RecoveryInProgress() ? GetXLogReplayRecPtr(nullptr) : GetXLogWriteRecPtr();
}

uint64_t flushed_wal_lsn() {
    return RecoveryInProgress() ? GetXLogReplayRecPtr(nullptr) : GetFlushRecPtr(nullptr);
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
