// Read-choice counters: a fixed table of (database, read group, node) slots in
// shared memory. A slot is claimed under a spinlock; its counter is one atomic
// word, a tag in the top 16 bits and the count below. A backend remembers a
// slot with its tag and counts with a compare-and-swap that only succeeds
// while the tag is unchanged. reset_read_stats() zeroes this database's
// counters and restarts their `since`; when the table is full, a slot whose
// count is 0 (nothing chosen since its reset) is reused under a new tag, so a
// backend that still remembers it can never count into the new pair.
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

constexpr int tag_shift = 48;
constexpr uint64_t count_mask = (uint64_t{1} << tag_shift) - 1;

struct Slot {
    Oid database;
    char group[NAMEDATALEN];
    char node[NAMEDATALEN];
    TimestampTz since;     // when its counting began: claimed, or reset
    pg_atomic_uint64 word; // tag << tag_shift | count
};

struct ReadStats {
    slock_t lock; // claims, reuses, resets and readers of the names
    int used;
    pg_atomic_uint32 resets; // a full table may have room again when this moves
    Slot slots[max_slots];
};

uint16_t tag_of(uint64_t word) {
    return static_cast<uint16_t>(word >> tag_shift);
}

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
        pg_atomic_init_u32(&stats->resets, 0);
        for (auto &s : stats->slots)
            pg_atomic_init_u64(&s.word, 0);
    }
    LWLockRelease(AddinShmemInitLock);
}

// A slot as a backend remembers it; with no slot (the table was full), the
// number of resets then, so that it looks again only after another reset.
struct SlotRef {
    Slot *slot;
    uint32_t tag;
};

// The slot of (group, node) in this database, claimed when new (a free slot,
// else one whose count is 0 under a new tag); {nullptr} when the table is full.
SlotRef find_slot(const std::string &group, const std::string &node) noexcept {
    char g[NAMEDATALEN], n[NAMEDATALEN];
    strlcpy(g, group.c_str(), NAMEDATALEN);
    strlcpy(n, node.c_str(), NAMEDATALEN);
    TimestampTz now = GetCurrentTimestamp();
    SlotRef found{nullptr, pg_atomic_read_u32(&stats->resets)};
    SpinLockAcquire(&stats->lock);
    for (int i = 0; i < stats->used && !found.slot; ++i)
        if (stats->slots[i].database == MyDatabaseId && strcmp(stats->slots[i].group, g) == 0 &&
            strcmp(stats->slots[i].node, n) == 0)
            found = {&stats->slots[i], tag_of(pg_atomic_read_u64(&stats->slots[i].word))};
    Slot *claim = nullptr;
    if (!found.slot && stats->used < max_slots)
        claim = &stats->slots[stats->used++];
    for (int i = 0; i < stats->used && !found.slot && !claim; ++i) {
        uint64_t word = pg_atomic_read_u64(&stats->slots[i].word);
        // a new tag with a count of 0, only if the count is still 0: a backend
        // counting into it meanwhile keeps it
        if ((word & count_mask) == 0 &&
            pg_atomic_compare_exchange_u64(&stats->slots[i].word, &word,
                                           static_cast<uint64_t>(static_cast<uint16_t>(tag_of(word) + 1)) << tag_shift))
            claim = &stats->slots[i];
    }
    if (claim) {
        claim->database = MyDatabaseId;
        memcpy(claim->group, g, NAMEDATALEN);
        memcpy(claim->node, n, NAMEDATALEN);
        claim->since = now;
        found = {claim, tag_of(pg_atomic_read_u64(&claim->word))};
    }
    SpinLockRelease(&stats->lock);
    static bool told = false;
    if (!found.slot && !told) {
        told = true;
        ereport(LOG, (errmsg("shardroute: the read_stats table is full (%d pairs with choices counted): new pairs "
                             "go uncounted",
                             max_slots),
                      errhint("SELECT shardroute.reset_read_stats() in each database makes room.")));
    }
    return found;
}

// Adds one to the slot's count unless it was given to another pair since the
// backend found it (false: find it again).
bool count_into(SlotRef ref) noexcept {
    uint64_t word = pg_atomic_read_u64(&ref.slot->word);
    do {
        if (tag_of(word) != ref.tag)
            return false;
    } while (!pg_atomic_compare_exchange_u64(&ref.slot->word, &word, word + 1));
    return true;
}

// This backend's slots for the current catalog generation.
uint64_t slots_generation = 0;
std::unordered_map<uint64_t, SlotRef> slots;

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
        if (it != slots.end()) {
            if (it->second.slot ? count_into(it->second) : it->second.tag == pg_atomic_read_u32(&stats->resets))
                return; // counted, or the table is still full
        }
        // new to this backend, or its slot went to another pair: find it again
        SlotRef ref = find_slot(c.routes.read_groups[group].name, c.routes.nodes[static_cast<size_t>(node)]);
        slots[key] = ref;
        if (ref.slot)
            count_into(ref);
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
        int used = stats->used;
        for (int i = 0; i < used; ++i) {
            Slot &s = stats->slots[i];
            Slot copy; // names and since as one claim left them
            SpinLockAcquire(&stats->lock);
            bool ours = s.database == MyDatabaseId;
            if (ours) {
                memcpy(copy.group, s.group, NAMEDATALEN);
                memcpy(copy.node, s.node, NAMEDATALEN);
                copy.since = s.since;
            }
            SpinLockRelease(&stats->lock);
            if (!ours)
                continue;
            TimestampTz since = copy.since;
            rows.push_back(pg::TextRow{std::string(copy.group), std::string(copy.node),
                                       std::to_string(pg_atomic_read_u64(&s.word) & count_mask),
                                       pg::pg_call([since]() noexcept { return timestamptz_to_str(since); })});
        }
    }
    return pg::rows_result(fcinfo, rows);
}

SHARDROUTE_FUNCTION(shardroute_reset_read_stats) {
    if (!stats)
        throw Error(sqlstate::object_not_in_prerequisite_state, "read statistics need shared memory",
                    "shardroute is not in shared_preload_libraries.",
                    "Add shardroute to shared_preload_libraries and restart the server.");
    TimestampTz now = pg::pg_call([]() noexcept { return GetCurrentTimestamp(); });
    SpinLockAcquire(&stats->lock);
    for (int i = 0; i < stats->used; ++i) {
        Slot &s = stats->slots[i];
        if (s.database != MyDatabaseId)
            continue;
        // the count to 0, keeping the tag: backends go on counting into it
        uint64_t word = pg_atomic_read_u64(&s.word);
        while (!pg_atomic_compare_exchange_u64(&s.word, &word, word & ~count_mask)) {
        }
        s.since = now;
    }
    SpinLockRelease(&stats->lock);
    pg_atomic_fetch_add_u32(&stats->resets, 1);
    return (Datum)0;
}
