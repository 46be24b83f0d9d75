// The lag monitor: a background worker (with shared_preload_libraries) that
// samples the replication lag of every registered standby, wherever its
// primary runs, into shared memory; and LagView, through which every routing
// call reads a standby's lag: from that shared memory, or live from this
// server's walsenders for standbys of this server (or when no monitor runs).
#pragma once

#include "routing/read_choice.hpp"
#include "routing/route_table.hpp"

#include "pg/postgres.hpp"
#include "pg/replication.hpp"

#include <cstdint>

namespace shardroute::pg {

// shardroute.lag_poll_interval (ms) and shardroute.lag_monitor_database.
extern int lag_poll_interval_ms;
extern char *lag_monitor_database;

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
    const char *source = "";
    int64_t age_us = 0; // age of the sample (0: read live)
    bool stale = false; // older than three poll intervals: lag unknown
};

class LagView {
  public:
    LagView();
    StandbyLag find(const routing::StandbyRoute &standby, const std::string &name);
    routing::Verdict evaluate(const routing::StandbyRoute &standby, const std::string &name, uint64_t min_lsn = 0);

  private:
    // whether the monitor is alive, asked once, and only when a standby is looked up
    bool running();
    int running_ = -1;
    bool local_read_ = false; // this server's walsenders, read once per call when needed
    WalSenders local_ = WalSenders::none();
    uint64_t local_lsn_ = 0;
};

} // namespace shardroute::pg
