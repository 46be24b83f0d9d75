// Read-choice counters: a fixed table of (database, read group, node) slots in
// shared memory, each an atomic counter. A slot is claimed once, under a
// spinlock, and keeps its names for the server's life: reset_read_stats()
// zeroes the counters only, so the slot a backend remembered never changes
// meaning. When the table is full, new pairs go uncounted (logged once).
#include "common/error.hpp"

#include "pg/datum.hpp"
#include "pg/guard.hpp"
#include "pg/read_stats.hpp"

extern "C" {
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/timestamp.h"
}

#include <fmt/format.h>
#include <string>
#include <unordered_map>
#include <vector>

using namespace shardroute;

namespace shardroute::pg {
bool log_routing = false;
}

namespace {

constexpr int max_slots = 4096;

struct Slot {
    Oid database;
    char group[NAMEDATALEN];
    char node[NAMEDATALEN];
    pg_atomic_uint64 chosen;
};

struct ReadStats {
    slock_t lock;
    int used;
    TimestampTz since;
    Slot slots[max_slots];
};

ReadStats *stats = nullptr;
shmem_request_hook_type prev_request = nullptr;
shmem_startup_hook_type prev_startup = nullptr;

void request() {
    if (prev_request)
        prev_request();
    RequestAddinShmemSpace(MAXALIGN(sizeof(ReadStats)));
}

void startup() {
    if (prev_startup)
        prev_startup();
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    bool found;
    stats = static_cast<ReadStats *>(ShmemInitStruct("shardroute_read_stats", sizeof(ReadStats), &found));
    if (!found) {
        memset(stats, 0, sizeof(ReadStats));
        SpinLockInit(&stats->lock);
        stats->since = GetCurrentTimestamp();
        for (auto &s : stats->slots)
            pg_atomic_init_u64(&s.chosen, 0);
    }
    LWLockRelease(AddinShmemInitLock);
}

// The slot of (group, node), claimed when new; nullptr when the table is full.
Slot *find_slot(const std::string &group, const std::string &node) noexcept {
    char g[NAMEDATALEN], n[NAMEDATALEN];
    strlcpy(g, group.c_str(), NAMEDATALEN);
    strlcpy(n, node.c_str(), NAMEDATALEN);
    Slot *found = nullptr;
    SpinLockAcquire(&stats->lock);
    for (int i = 0; i < stats->used && !found; ++i)
        if (stats->slots[i].database == MyDatabaseId && strcmp(stats->slots[i].group, g) == 0 &&
            strcmp(stats->slots[i].node, n) == 0)
            found = &stats->slots[i];
    if (!found && stats->used < max_slots) {
        found = &stats->slots[stats->used];
        found->database = MyDatabaseId;
        memcpy(found->group, g, NAMEDATALEN);
        memcpy(found->node, n, NAMEDATALEN);
        ++stats->used;
    }
    SpinLockRelease(&stats->lock);
    static bool told = false;
    if (!found && !told) {
        told = true;
        ereport(LOG,
                (errmsg("shardroute: the read_stats table is full (%d pairs): new choices go uncounted", max_slots),
                 errhint("Restart the server to empty it.")));
    }
    return found;
}

// This backend's slots for the current catalog generation.
uint64_t slots_generation = 0;
std::unordered_map<uint64_t, Slot *> slots;

} // namespace

namespace shardroute::pg {

void read_stats_preload() {
    prev_request = shmem_request_hook;
    shmem_request_hook = request;
    prev_startup = shmem_startup_hook;
    shmem_startup_hook = startup;
}

void count_choice(const CatalogCache &c, size_t group, int32_t node) noexcept {
    if (log_routing) {
        const std::string &g = c.routes.read_groups[group].name;
        const std::string &n = c.routes.nodes[static_cast<size_t>(node)];
        pg_call([&g, &n]() noexcept {
            ereport(DEBUG1, errmsg_internal("shardroute: read group \"%s\" chose node \"%s\"", g.c_str(), n.c_str()));
        });
    }
    if (!stats)
        return;
    try {
        if (slots_generation != c.generation) {
            slots.clear();
            slots_generation = c.generation;
        }
        uint64_t key = (static_cast<uint64_t>(group) << 32) | static_cast<uint32_t>(node);
        auto it = slots.find(key);
        Slot *slot =
            it != slots.end()
                ? it->second
                : (slots[key] = find_slot(c.routes.read_groups[group].name, c.routes.nodes[static_cast<size_t>(node)]));
        if (slot)
            pg_atomic_fetch_add_u64(&slot->chosen, 1);
    } catch (...) {
        // out of memory for the backend's map: this choice goes uncounted
    }
}

} // namespace shardroute::pg

// _read_stats() -> (read_group, node, chosen, since) as text, for this
// database; no rows without shared memory (shardroute not preloaded).
SHARDROUTE_FUNCTION(shardroute_read_stats) {
    std::vector<pg::TextRow> rows;
    if (stats) {
        TimestampTz since = stats->since;
        std::string since_text = pg::pg_call([since]() noexcept { return timestamptz_to_str(since); });
        int used = stats->used;
        for (int i = 0; i < used; ++i) {
            const Slot &s = stats->slots[i];
            if (s.database != MyDatabaseId)
                continue;
            rows.push_back(pg::TextRow{std::string(s.group), std::string(s.node),
                                       std::to_string(pg_atomic_read_u64(const_cast<pg_atomic_uint64 *>(&s.chosen))),
                                       since_text});
        }
    }
    return pg::rows_result(fcinfo, rows);
}

SHARDROUTE_FUNCTION(shardroute_reset_read_stats) {
    if (!stats)
        throw Error(sqlstate::object_not_in_prerequisite_state, "read statistics need shared memory",
                    "shardroute is not in shared_preload_libraries.",
                    "Add shardroute to shared_preload_libraries and restart the server.");
    int used = stats->used;
    for (int i = 0; i < used; ++i)
        if (stats->slots[i].database == MyDatabaseId)
            pg_atomic_write_u64(&stats->slots[i].chosen, 0);
    stats->since = pg::pg_call([]() noexcept { return GetCurrentTimestamp(); });
    return (Datum)0;
}
