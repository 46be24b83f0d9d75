// Module entry: the magic block, GUCs and the catalog cache's invalidation hook.
#include "common/error.hpp"

#include "pg/catalog.hpp"
#include "pg/fence_guard.hpp"
#include "pg/lag_monitor.hpp"
#include "pg/postgres.hpp"
#include "pg/read_stats.hpp"
#include "pg/settings.hpp"

extern "C" {
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void _PG_init(void);
}

namespace shardroute::pg {
bool read_from_standbys = false;
int fence_timeout_ms = 5000;
bool fence_cleanup = false;
} // namespace shardroute::pg

void _PG_init(void) {
    DefineCustomBoolVariable("shardroute.read_from_standbys",
                             "Lets shardroute.read_cluster() answer with the standby PL/Proxy cluster.",
                             "When on, read_cluster() returns the standby cluster if every shard's standby is "
                             "eligible; SET LOCAL it around reads, like CommCare's read_from_plproxy_standbys().",
                             &shardroute::pg::read_from_standbys, false, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "shardroute.fence_timeout", "How long fence_shards() waits for writes already under way before ending them.",
        "Transactions that held a write lock on a sharded table when the fence was placed are "
        "waited for; those still open after this time are terminated.",
        &shardroute::pg::fence_timeout_ms, 5000, 0, 3600 * 1000, PGC_USERSET, GUC_UNIT_MS, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable("shardroute.fence_cleanup",
                             "Lets DELETE remove the rows of shards that moved away from this database.",
                             "The fence guard refuses every write to a shard marked moved; the misplaced-row "
                             "clean-up turns this on for its own session.",
                             &shardroute::pg::fence_cleanup, false, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable("shardroute.log_routing", "Logs each read choice at DEBUG1.", nullptr,
                             &shardroute::pg::log_routing, false, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    shardroute::pg::lag_monitor_define_gucs();
    MarkGUCPrefixReserved("shardroute");
    if (process_shared_preload_libraries_in_progress) {
        shardroute::pg::lag_monitor_preload();
        shardroute::pg::read_stats_preload();
    }
    shardroute::pg::register_catalog_callbacks();
    shardroute::pg::register_fence_callbacks();
    // clipped names in messages cut at a character of the server encoding
    shardroute::clip_boundary = [](std::string_view value, size_t limit) -> size_t {
        return static_cast<size_t>(pg_mbcliplen(value.data(), static_cast<int>(std::min<size_t>(value.size(), INT_MAX)),
                                                static_cast<int>(limit)));
    };
}
