// This server's walsenders, read from shared memory the way
// pg_stat_get_wal_senders() does, matched to registered standbys by the
// application_name they connect with.
#pragma once

#include "routing/read_choice.hpp"
#include "routing/route_table.hpp"

#include "pg/postgres.hpp"

namespace shardroute::pg {

// One standby as this server's pg_stat_replication shows it.
struct LocalStandby {
    bool present; // a walsender with the standby's application_name exists
    int state;    // WalSndState, when present
    routing::ReplicationSample sample;
};

// Reads the walsenders once per call (no allocation after the first call).
class WalSenders {
  public:
    WalSenders();
    // No walsender read at all: for groups without standby members.
    static WalSenders none() { return WalSenders(0); }
    // The walsender serving `standby`, preferring one that is streaming.
    LocalStandby find(const routing::StandbyRoute &standby) const;

  private:
    explicit WalSenders(int count) : count_(count) {}
    int count_;
    TimestampTz now_ = 0; // when the slots were read, for the age of each reply
};

// pg_current_wal_lsn() on a primary; the replay position on a standby.
uint64_t current_wal_lsn();

// The WAL position flushed on this server (what a standby must replay to be
// caught up before a promote): GetFlushRecPtr on a primary, replay on a standby.
uint64_t flushed_wal_lsn();

// 'startup', 'catchup', 'streaming', ... as pg_stat_replication.state shows them.
const char *walsender_state_name(int state);

} // namespace shardroute::pg
