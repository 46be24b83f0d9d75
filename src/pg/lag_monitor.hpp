// The lag monitor: a background worker (with shared_preload_libraries) that
// samples the replication lag of every registered standby, wherever its
// primary runs, into shared memory (lag_worker.cpp); and LagView, through
// which every routing call reads a standby's lag: from that shared memory, or
// live from this server's walsenders for standbys of this server, when no
// monitor runs, or in a database the monitor does not watch.
#pragma once

#include "routing/read_choice.hpp"
#include "routing/route_table.hpp"

#include "pg/postgres.hpp"
#include "pg/replication.hpp"

#include <cstdint>

namespace shardroute::pg {

// shardroute.lag_poll_interval (ms), shardroute.lag_monitor_database and
// shardroute.lag_monitor_conninfo (superuser-only: the credentials the
// monitor connects with; the catalog gives host, port and dbname only).
extern int lag_poll_interval_ms;
extern char *lag_monitor_database;
extern char *lag_monitor_conninfo;

// From _PG_init while shared_preload_libraries is processed: GUCs, shared
// memory hooks and the worker's registration.
void lag_monitor_preload();
void lag_monitor_define_gucs();

// One standby's lag as the routing functions see it.
struct StandbyLag {
    bool present = false;        // connected to its primary, as far as the source knows
    const char *state = nullptr; // 'streaming', ... (NULL when not present)
    routing::ReplicationSample sample;
    uint64_t current_lsn = 0; // its primary's WAL position, for lag_bytes
    const char *source = "";  // valid until the next find() on the same view
    bool sampled = false;     // a sample exists (live or from the monitor): age_us is meaningful
    int64_t age_us = 0;       // age of the sample (0: read live)
    bool stale = false;       // no sample, or older than three poll intervals: lag unknown
    // the lag monitor's record for this standby (all unset without one)
    const char *monitor_error = nullptr; // the last poll that failed for it, valid until the next find()
    int64_t monitor_error_at = 0;        // TimestampTz of that poll, 0: none
    int64_t monitor_ok_at = 0;           // TimestampTz of its last sample, 0: none
};

class LagView {
  public:
    LagView() = default;
    StandbyLag find(const routing::StandbyRoute &standby, const std::string &name);
    routing::Verdict evaluate(const routing::StandbyRoute &standby, const StandbyLag &lag, uint64_t min_lsn = 0);
    routing::Verdict evaluate(const routing::StandbyRoute &standby, const std::string &name, uint64_t min_lsn = 0) {
        return evaluate(standby, find(standby, name), min_lsn);
    }

  private:
    enum Mode { unknown, not_running, not_monitored, monitored };
    // what the monitor offers this database, asked once, when a standby is looked up
    Mode mode();
    StandbyLag read_local(const routing::StandbyRoute &standby);
    Mode mode_ = unknown;
    char problem_[256] = "";
    char database_[64] = "";
    char source_[400] = "";
    char state_[32] = "";
    char error_[256] = "";
    bool local_read_ = false; // this server's walsenders, read once per call when needed
    WalSenders local_ = WalSenders::none();
    uint64_t local_lsn_ = 0;
};

} // namespace shardroute::pg
