// The fence guard: an AFTER ROW trigger on each sharded table of a partition
// database (fence_shards creates it), with arguments (cluster, key column).
// AFTER, so that it sees the row as written (generated columns, other
// triggers' changes). It hashes the row's key as the lookups do (a domain's
// value as its base type) and refuses the write when shardroute.partition_fence
// lists the shard, with SQLSTATE 25006 so that writers retry: 'fenced' while a
// move is under way, 'moved' once the shard lives elsewhere; a 'moved' shard's
// misplaced rows may be deleted only with shardroute.fence_cleanup on (the
// misplaced-row clean-up sets it).
//
// The fences are cached per backend and reloaded, with the latest committed
// data, after a relcache invalidation of partition_fence. A writer takes its
// table lock before this trigger runs, and taking a lock reads pending
// invalidations; fence_shards waits for the writers that held the lock before
// the fence committed (_fence_wait, also those of each partition of a
// partitioned table), so every later write sees the fence. That wait is what
// makes the guard correct: a transaction that holds the lock already may run
// statements that read no invalidation (a cached plan).
#include "common/error.hpp"
#include "hash/algorithm.hpp"

#include "pg/fence_guard.hpp"
#include "pg/guard.hpp"
#include "pg/hashing.hpp"
#include "pg/settings.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/uuid.h"
}

#include <fmt/format.h>
#include <map>
#include <string>
#include <vector>

using namespace shardroute;

namespace {

struct ClusterFences {
    uint32_t shard_count = 0;
    hash::Algorithm algorithm = hash::Algorithm::siphash24;
    std::vector<char> kind; // per shard: 0 open, 'f' fenced, 'm' moved
};

struct FenceCache {
    bool valid = false;
    Oid relid = InvalidOid;
    std::map<std::string, ClusterFences, std::less<>> clusters;
};

FenceCache fences;

void invalidate(Datum, Oid relid) {
    if (relid == InvalidOid || relid == fences.relid)
        fences.valid = false;
}

// One row of partition_fence, in palloc'd memory.
struct RawFence {
    char *cluster;
    int32 shard;
    int32 shard_count;
    char *algorithm;
    char kind;
};

struct RawFences {
    Oid relid;
    RawFence *rows;
    int count;
};

// Reads the whole table with the latest committed data. No C++ object is
// alive in here: it runs under pg_call.
RawFences *read_fences() noexcept {
    auto *result = static_cast<RawFences *>(palloc0(sizeof(RawFences)));
    RawFences &out = *result;
    Oid schema = get_namespace_oid("shardroute", true);
    if (!OidIsValid(schema))
        return result;
    out.relid = get_relname_relid("partition_fence", schema);
    if (!OidIsValid(out.relid))
        return result;
    Relation rel = table_open(out.relid, AccessShareLock);
    TupleDesc desc = RelationGetDescr(rel);
    Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
    TableScanDesc scan = table_beginscan(rel, snapshot, 0, nullptr);
    int capacity = 16;
    out.rows = static_cast<RawFence *>(palloc(sizeof(RawFence) * capacity));
    HeapTuple tuple;
    while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
        Datum values[6];
        bool nulls[6];
        if (desc->natts != 6)
            elog(ERROR, "shardroute.partition_fence has %d columns, expected 6", desc->natts);
        heap_deform_tuple(tuple, desc, values, nulls);
        if (nulls[0] || nulls[1] || nulls[2] || nulls[3] || nulls[4])
            continue;
        if (out.count == capacity) {
            capacity *= 2;
            out.rows = static_cast<RawFence *>(repalloc(out.rows, sizeof(RawFence) * capacity));
        }
        char *kind = TextDatumGetCString(values[4]);
        out.rows[out.count++] =
            RawFence{TextDatumGetCString(values[0]), DatumGetInt32(values[1]), DatumGetInt32(values[2]),
                     TextDatumGetCString(values[3]), static_cast<char>(kind[0] == 'm' ? 'm' : 'f')};
    }
    table_endscan(scan);
    UnregisterSnapshot(snapshot);
    table_close(rel, AccessShareLock);
    return result;
}

const FenceCache &current_fences() {
    if (fences.valid)
        return fences;
    const RawFences &raw = *pg::pg_call([]() noexcept { return read_fences(); });
    FenceCache fresh;
    fresh.relid = raw.relid;
    for (int i = 0; i < raw.count; ++i) {
        const RawFence &r = raw.rows[i];
        auto algorithm = hash::find_algorithm(r.algorithm);
        if (!algorithm || r.shard_count <= 0 || r.shard < 0 || r.shard >= r.shard_count)
            continue; // the table's checks make this unreachable
        auto &c = fresh.clusters[r.cluster];
        if (c.shard_count != static_cast<uint32_t>(r.shard_count)) {
            c.shard_count = static_cast<uint32_t>(r.shard_count);
            c.kind.assign(c.shard_count, 0);
        }
        c.algorithm = *algorithm;
        c.kind[static_cast<size_t>(r.shard)] = r.kind;
    }
    fresh.valid = true;
    fences = std::move(fresh);
    return fences;
}

// The shard of the row's key column as the lookups compute it: the hash of a
// uuid's 16 bytes, else of the value's text (a char(n) without its padding).
// -1 for a NULL key.
struct KeyBytes {
    const char *data;
    size_t len;
    bool null;
};

KeyBytes *key_bytes(HeapTuple tuple, TupleDesc desc, int attnum, Oid type) noexcept {
    auto *out = static_cast<KeyBytes *>(palloc(sizeof(KeyBytes)));
    bool isnull;
    Datum value = heap_getattr(tuple, attnum, desc, &isnull);
    if (isnull)
        *out = KeyBytes{nullptr, 0, true};
    else if (type == UUIDOID)
        *out = KeyBytes{reinterpret_cast<const char *>(DatumGetUUIDP(value)->data), UUID_LEN, false};
    else if (type == TEXTOID || type == VARCHAROID || type == BPCHAROID) {
        text *t = DatumGetTextPP(value);
        size_t len = VARSIZE_ANY_EXHDR(t);
        const char *data = VARDATA_ANY(t);
        if (type == BPCHAROID)
            while (len > 0 && data[len - 1] == ' ')
                --len;
        *out = KeyBytes{data, len, false};
    } else {
        Oid output;
        bool varlena;
        getTypeOutputInfo(type, &output, &varlena);
        char *s = OidOutputFunctionCall(output, value);
        *out = KeyBytes{s, strlen(s), false};
    }
    return out;
}

void check_row(const ClusterFences &c, std::string_view cluster, HeapTuple tuple, TupleDesc desc, int attnum, Oid type,
               bool deleting) {
    const KeyBytes &key = *pg::pg_call([&]() noexcept { return key_bytes(tuple, desc, attnum, type); });
    if (key.null)
        return;
    uint32_t shard = static_cast<uint32_t>(pg::hash32(c.algorithm, key.data, key.len, 0)) & (c.shard_count - 1);
    char kind = c.kind[shard];
    if (kind == 'f')
        throw Error("25006", fmt::format("shard {} of cluster {} is fenced", shard, quoted_name(cluster)),
                    "The shard is being moved: writes to it are refused until shardroute.unfence_shards() ends the "
                    "move, usually within seconds.",
                    "Retry the write.");
    if (kind == 'm' && !(deleting && pg::fence_cleanup))
        throw Error("25006",
                    fmt::format("shard {} of cluster {} has moved to another database", shard, quoted_name(cluster)),
                    "This database no longer owns the shard: its rows here are misplaced copies, which "
                    "shardroute.delete_misplaced_rows() removes.",
                    "Retry the write through the proxy, which routes it to the shard's owner.");
}

} // namespace

namespace shardroute::pg {

void register_fence_callbacks() {
    CacheRegisterRelcacheCallback(invalidate, 0);
}

} // namespace shardroute::pg

SHARDROUTE_FUNCTION(shardroute_fence_guard) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw Error(sqlstate::feature_not_supported, "shardroute trigger functions must be called as triggers");
    auto *td = reinterpret_cast<TriggerData *>(fcinfo->context);
    if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) || td->tg_trigger->tgnargs != 2)
        throw Error(sqlstate::feature_not_supported,
                    "shardroute.fence_guard() must be an AFTER ROW trigger with arguments (cluster, key column)");
    bool updating = TRIGGER_FIRED_BY_UPDATE(td->tg_event), deleting = TRIGGER_FIRED_BY_DELETE(td->tg_event);
    HeapTuple result = updating ? td->tg_newtuple : td->tg_trigtuple;
    const FenceCache &cache = current_fences();
    if (cache.clusters.empty())
        return PointerGetDatum(result);
    std::string_view cluster = td->tg_trigger->tgargs[0];
    auto it = cache.clusters.find(cluster);
    if (it == cache.clusters.end())
        return PointerGetDatum(result);
    TupleDesc desc = RelationGetDescr(td->tg_relation);
    const char *column = td->tg_trigger->tgargs[1];
    int attnum = pg::pg_call([desc, column]() noexcept { return SPI_fnumber(desc, column); });
    if (attnum <= 0)
        throw Error(sqlstate::undefined_column,
                    fmt::format("table {} has no column {}", quoted_name(RelationGetRelationName(td->tg_relation)),
                                quoted_name(column)),
                    "Its shardroute_fence trigger hashes that column to find each written row's shard.",
                    "Rename the column back, or register the new name with shardroute.add_sharded_table() on the "
                    "proxy and fence the shards again.");
    Oid column_type = TupleDescAttr(desc, attnum - 1)->atttypid;
    Oid type = pg::pg_call([column_type]() noexcept { return getBaseType(column_type); });
    // an UPDATE may move a row between shards: both must be open
    check_row(it->second, cluster, td->tg_trigtuple, desc, attnum, type, deleting);
    if (updating)
        check_row(it->second, cluster, td->tg_newtuple, desc, attnum, type, false);
    return PointerGetDatum(result);
}
