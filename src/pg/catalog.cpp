// Loading the catalog, the triggers that guard it, and the backend-local cache.
#include "common/error.hpp"
#include "routing/route_table.hpp"
#include "topology/snapshot.hpp"
#include "topology/validate.hpp"

#include <nlohmann/json.hpp>

#include "pg/catalog.hpp"
#include "pg/guard.hpp"
#include "pg/run_as.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "commands/async.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "commands/trigger.h"
#include "datatype/timestamp.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "storage/proc.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/builtins.h"
}

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>

namespace shardroute::pg {

namespace {

// Counts catalog-changing statements, so the deferred check runs once per
// batch of changes. ROLLBACK TO undoes changes without undoing this count, and
// the rolled-back trigger events fire again at COMMIT: a subtransaction abort
// forgets the last check, so the next one always runs.
uint64_t catalog_changes = 0;
LocalTransactionId checked_lxid = InvalidLocalTransactionId;
uint64_t checked_changes = 0;

// The catalog as it was before the current transaction's first change to it
// (taken by the BEFORE STATEMENT trigger _catalog_before): the COMMIT check
// compares it with the catalog it validates, so that the NOTIFY names the
// tables whose content changed, and is not sent when none did.
LocalTransactionId before_lxid = InvalidLocalTransactionId;
std::string before_snapshot;
int before_level = 0; // the (sub)transaction nesting level that recorded it
std::vector<std::string> notify_tables;

// Set by every query execution that starts (each statement of a Query
// message, each SQL statement of PL/pgSQL, each cursor): catalog() then reads
// pending invalidations once. Plain C: it only sets a flag and chains on.
bool executor_started = true;
ExecutorStart_hook_type previous_executor_start = nullptr;

void flag_executor_start(QueryDesc *query, int eflags) {
    executor_started = true;
    if (previous_executor_start)
        previous_executor_start(query, eflags);
    else
        standard_ExecutorStart(query, eflags);
}

// The transaction whose catalog change passed the COMMIT check: it sends
// NOTIFY shardroute_topology when it commits.
LocalTransactionId notify_lxid = InvalidLocalTransactionId;

// XACT_EVENT_PRE_COMMIT runs after the deferred triggers and before
// PostgreSQL queues the transaction's notifications. A PostgreSQL callback:
// plain C calls only, and no C++ object with a destructor.
void notify_at_commit(XactEvent event, void *) {
    if (event != XACT_EVENT_PRE_COMMIT || notify_lxid != MyProc->lxid || !OidIsValid(MyDatabaseId))
        return;
    notify_lxid = InvalidLocalTransactionId;
    StringInfoData payload;
    initStringInfo(&payload);
    appendStringInfoString(&payload, "{\"database\": ");
    escape_json(&payload, get_database_name(MyDatabaseId));
    appendStringInfoString(&payload, ", \"tables\": [");
    for (size_t i = 0; i < notify_tables.size(); ++i) {
        if (i > 0)
            appendStringInfoString(&payload, ", ");
        escape_json(&payload, notify_tables[i].c_str());
    }
    appendStringInfoString(&payload, "]}");
    Async_Notify("shardroute_topology", payload.data);
}

void forget_check_on_abort(SubXactEvent event, SubTransactionId, SubTransactionId, void *) {
    int level = GetCurrentTransactionNestLevel();
    if (event == SUBXACT_EVENT_ABORT_SUB) {
        checked_lxid = InvalidLocalTransactionId;
        // the subtransaction that recorded before_snapshot rolled back with
        // its catalog lock and every change since: the next change records again
        if (before_lxid == MyProc->lxid && before_level >= level)
            before_lxid = InvalidLocalTransactionId;
    } else if (event == SUBXACT_EVENT_COMMIT_SUB && before_lxid == MyProc->lxid && before_level >= level) {
        before_level = level - 1; // RELEASE: the parent holds the lock now
    }
}

// Runs a one-row, one-column query under a snapshot that sees everything
// committed so far (and this transaction's earlier commands), and returns the
// value as a string in the caller's memory context. The latest snapshot, not the
// transaction's: the cache outlives transactions and must never keep an old view.
char *fetch_latest(const char *query) {
    return pg_call([query]() noexcept -> char * {
        MemoryContext caller = CurrentMemoryContext;
        if (SPI_connect() != SPI_OK_CONNECT)
            elog(ERROR, "shardroute: SPI_connect failed");
        // parallel mode allows no new snapshot: use the query's (see catalog())
        PushActiveSnapshot(IsInParallelMode() ? GetActiveSnapshot() : GetLatestSnapshot());
        int rc = SPI_execute(query, true, 1);
        PopActiveSnapshot();
        if (rc != SPI_OK_SELECT || SPI_processed != 1)
            elog(ERROR, "shardroute: unexpected result from \"%s\"", query);
        char *value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
        char *out = value ? MemoryContextStrdup(caller, value) : nullptr;
        SPI_finish();
        return out;
    });
}

// On a Citus worker, what shardroute._snapshot() reads (_citus_worker(),
// _citus_copy()), read here with no SQL. Each new backend that a distributed
// query opens on a worker loads its cache once; through the PL/pgSQL functions,
// their queries parsed and planned in a cold backend, that costs about 5 ms. The
// helpers below are plain PostgreSQL code for citus_copy_text()'s pg_call; each
// gives up (InvalidOid, 0, NULL) when Citus's catalogs are not as they expect.

// The number of column `name` of `rel` when it has type `type`.
AttrNumber column_of(Relation rel, const char *name, Oid type) {
    AttrNumber att = get_attnum(RelationGetRelid(rel), name);
    if (att == InvalidAttrNumber || TupleDescAttr(RelationGetDescr(rel), att - 1)->atttypid != type)
        return InvalidAttrNumber;
    return att;
}

// This node's Citus group: 0 on the coordinator, and without Citus metadata.
int32 citus_local_group(Snapshot snapshot) {
    Oid relid = get_relname_relid("pg_dist_local_group", PG_CATALOG_NAMESPACE);
    if (!OidIsValid(relid))
        return 0;
    Relation rel = table_open(relid, AccessShareLock);
    AttrNumber group_att = column_of(rel, "groupid", INT4OID);
    SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, snapshot, 0, nullptr);
    HeapTuple tuple = systable_getnext(scan);
    bool isnull = true;
    Datum group = tuple && group_att != InvalidAttrNumber
                      ? heap_getattr(tuple, group_att, RelationGetDescr(rel), &isnull)
                      : (Datum)0;
    systable_endscan(scan);
    table_close(rel, NoLock);
    return isnull ? 0 : DatumGetInt32(group);
}

// The placement of `table` (citus_topology, a reference table: one shard) that
// Citus lists on `group`, as the relation <schema>.citus_topology_<shardid>.
Oid citus_topology_placement(Oid table, Oid schema, int32 group, Snapshot snapshot) {
    Oid shard_rel = get_relname_relid("pg_dist_shard", PG_CATALOG_NAMESPACE);
    Oid shard_index = get_relname_relid("pg_dist_shard_logical_relid_index", PG_CATALOG_NAMESPACE);
    Oid placement_rel = get_relname_relid("pg_dist_placement", PG_CATALOG_NAMESPACE);
    Oid placement_index = get_relname_relid("pg_dist_placement_shardid_index", PG_CATALOG_NAMESPACE);
    if (!OidIsValid(shard_rel) || !OidIsValid(shard_index) || !OidIsValid(placement_rel) ||
        !OidIsValid(placement_index))
        return InvalidOid;
    Relation shards = table_open(shard_rel, AccessShareLock);
    Relation placements = table_open(placement_rel, AccessShareLock);
    AttrNumber logicalrelid_att = column_of(shards, "logicalrelid", REGCLASSOID);
    AttrNumber shardid_att = column_of(shards, "shardid", INT8OID);
    AttrNumber p_shardid_att = column_of(placements, "shardid", INT8OID);
    AttrNumber p_group_att = column_of(placements, "groupid", INT4OID);
    Oid placement = InvalidOid;
    if (logicalrelid_att != InvalidAttrNumber && shardid_att != InvalidAttrNumber &&
        p_shardid_att != InvalidAttrNumber && p_group_att != InvalidAttrNumber) {
        ScanKeyData key;
        ScanKeyInit(&key, logicalrelid_att, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(table));
        SysScanDesc scan = systable_beginscan(shards, shard_index, true, snapshot, 1, &key);
        HeapTuple shard;
        while (!OidIsValid(placement) && (shard = systable_getnext(scan)) != nullptr) {
            bool isnull;
            int64 shardid = DatumGetInt64(heap_getattr(shard, shardid_att, RelationGetDescr(shards), &isnull));
            ScanKeyData pkey;
            ScanKeyInit(&pkey, p_shardid_att, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(shardid));
            SysScanDesc pscan = systable_beginscan(placements, placement_index, true, snapshot, 1, &pkey);
            HeapTuple row;
            while (!OidIsValid(placement) && (row = systable_getnext(pscan)) != nullptr) {
                Datum g = heap_getattr(row, p_group_att, RelationGetDescr(placements), &isnull);
                if (!isnull && DatumGetInt32(g) == group)
                    placement = get_relname_relid(psprintf("citus_topology_" INT64_FORMAT, shardid), schema);
            }
            systable_endscan(pscan);
        }
        systable_endscan(scan);
    }
    table_close(placements, NoLock);
    table_close(shards, NoLock);
    return placement;
}

// The snapshot of the row with the highest version in `placement`, as text.
char *latest_copy(Oid placement, Snapshot snapshot) {
    Relation rel = table_open(placement, AccessShareLock);
    TupleDesc desc = RelationGetDescr(rel);
    AttrNumber version_att = column_of(rel, "version", INT8OID);
    AttrNumber snapshot_att = column_of(rel, "snapshot", JSONBOID);
    HeapTuple latest = nullptr;
    if (version_att != InvalidAttrNumber && snapshot_att != InvalidAttrNumber) {
        SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, snapshot, 0, nullptr);
        HeapTuple tuple;
        int64 latest_version = 0;
        while ((tuple = systable_getnext(scan)) != nullptr) {
            bool isnull;
            Datum version = heap_getattr(tuple, version_att, desc, &isnull);
            if (isnull || (latest && DatumGetInt64(version) <= latest_version))
                continue;
            latest = heap_copytuple(tuple);
            latest_version = DatumGetInt64(version);
        }
        systable_endscan(scan);
    }
    char *out = nullptr;
    bool isnull = true;
    Datum doc = latest ? heap_getattr(latest, snapshot_att, desc, &isnull) : (Datum)0;
    if (!isnull) {
        Jsonb *jb = DatumGetJsonbP(doc);
        out = JsonbToCString(nullptr, &jb->root, VARSIZE(jb));
    }
    table_close(rel, NoLock);
    return out;
}

// The coordinator's topology as this worker holds it (the text of _citus_copy()'s
// snapshot), with the placement and citus_topology (the relids _snapshot()
// gives); NULL when this is not a Citus worker or it holds no copy the calling
// role may read: then the caller goes through _snapshot(), which decides and
// raises its errors. The snapshot is fetch_latest()'s, and the locks are kept
// until the end of the transaction, as SPI keeps them.
char *citus_copy_text(Oid *placement_out, Oid *table_out) {
    return pg_call([placement_out, table_out]() noexcept -> char * {
        if (!OidIsValid(get_extension_oid("citus", true)))
            return nullptr;
        Oid schema = get_namespace_oid("shardroute", true);
        Oid table = OidIsValid(schema) ? get_relname_relid("citus_topology", schema) : InvalidOid;
        if (!OidIsValid(table))
            return nullptr;
        Snapshot snapshot = RegisterSnapshot(IsInParallelMode() ? GetActiveSnapshot() : GetLatestSnapshot());
        char *out = nullptr;
        int32 group = citus_local_group(snapshot);
        Oid placement = group != 0 ? citus_topology_placement(table, schema, group, snapshot) : InvalidOid;
        if (OidIsValid(placement) && pg_class_aclcheck(placement, GetUserId(), ACL_SELECT) == ACLCHECK_OK)
            out = latest_copy(placement, snapshot);
        UnregisterSnapshot(snapshot);
        *placement_out = placement;
        *table_out = table;
        return out;
    });
}

} // namespace

std::string snapshot_text() {
    // every name schema-qualified: this runs under the caller's search_path
    char *text = fetch_latest("SELECT shardroute._snapshot()::pg_catalog.text");
    if (!text)
        throw Error(sqlstate::internal_error, "shardroute catalog snapshot is NULL");
    return text;
}

namespace {

std::unique_ptr<CatalogCache> cache;
bool cache_valid = false;
bool loading = false;
uint64_t last_generation = 0;

// Relcache callback: runs inside invalidation processing, so it only flips a flag.
void invalidate_callback(Datum, Oid relid) {
    if (loading || relid == InvalidOid) {
        cache_valid = false;
        return;
    }
    if (cache && std::find(cache->relids.begin(), cache->relids.end(), relid) != cache->relids.end())
        cache_valid = false;
}

} // namespace

topology::Topology load_topology() {
    return topology::topology_from_snapshot(snapshot_text());
}

const CatalogCache &catalog() {
    // Another session may have committed a change since this transaction last
    // took a lock (the usual moment invalidations are read): each statement must
    // see what was committed before it began, also the later statements of one
    // Query message and the SQL statements of a PL/pgSQL block. So pending
    // invalidations are read once per executed statement (the ExecutorStart
    // hook below flags it), per client statement and per transaction, never per
    // row: one execution of a query routes with one topology. Runs before any
    // C++ object of this frame exists, as it may ereport.
    static LocalTransactionId seen_lxid = InvalidLocalTransactionId;
    static TimestampTz seen_statement = 0;
    TimestampTz statement = GetCurrentStatementStartTimestamp();
    if (executor_started || statement != seen_statement || MyProc->lxid != seen_lxid) {
        executor_started = false;
        AcceptInvalidationMessages();
        seen_statement = statement;
        seen_lxid = MyProc->lxid;
    }
    if (cache && cache_valid &&
        (cache->only_lxid == InvalidLocalTransactionId ||
         (cache->only_lxid == MyProc->lxid && cache->only_statement == GetCurrentStatementStartTimestamp())))
        return *cache;
    cache_valid = true; // an invalidation arriving during the load clears it again
    loading = true;
    try {
        auto fresh = std::make_unique<CatalogCache>();
        Oid placement = InvalidOid, table = InvalidOid;
        if (char *copy = citus_copy_text(&placement, &table)) {
            // what _snapshot() returns on a worker, with its relids: the placement and the table
            fresh->topology = topology::topology_from_snapshot(copy);
            fresh->relids = {placement, table};
        } else {
            std::string text = snapshot_text();
            fresh->topology = topology::topology_from_snapshot(text);
            nlohmann::json doc = nlohmann::json::parse(text);
            for (const auto &oid : doc.at("relids"))
                fresh->relids.push_back(oid.get<Oid>());
        }
        fresh->routes = routing::build_route_table(fresh->topology);
        fresh->generation = ++last_generation;
        // loaded with the query's snapshot, which may predate a change (whose
        // invalidation this call has already consumed): good for this statement only
        if (IsInParallelMode()) {
            fresh->only_lxid = MyProc->lxid;
            fresh->only_statement = GetCurrentStatementStartTimestamp();
        }
        cache = std::move(fresh);
    } catch (...) {
        loading = false;
        cache_valid = false;
        throw;
    }
    loading = false;
    return *cache;
}

void register_catalog_callbacks() {
    previous_executor_start = ExecutorStart_hook;
    ExecutorStart_hook = flag_executor_start;
    CacheRegisterRelcacheCallback(invalidate_callback, 0);
    RegisterSubXactCallback(forget_check_on_abort, nullptr);
    RegisterXactCallback(notify_at_commit, nullptr);
}

} // namespace shardroute::pg

using namespace shardroute;
using shardroute::pg::before_level;
using shardroute::pg::before_lxid;
using shardroute::pg::before_snapshot;
using shardroute::pg::catalog_changes;
using shardroute::pg::checked_changes;
using shardroute::pg::checked_lxid;
using shardroute::pg::notify_lxid;
using shardroute::pg::pg_call;

namespace {

// A trigger row as the codec reads it (topology/codec.hpp): row_to_json() of
// the tuple, with an interval column also given as <column>_us microseconds,
// counted as extract(epoch) counts them (the rule _snapshot() uses). An
// interval too long for int64 microseconds saturates, and the row rules refuse
// it. PostgreSQL work only, so it runs under pg_call and hands back a C string.
char *row_json(HeapTuple tuple, TupleDesc desc) {
    return pg_call([tuple, desc]() noexcept -> char * {
        Datum row = heap_copy_tuple_as_datum(tuple, desc);
        StringInfoData out;
        initStringInfo(&out);
        char *json = text_to_cstring(DatumGetTextPP(DirectFunctionCall1(row_to_json, row)));
        appendStringInfoString(&out, json);
        for (int i = 0; i < desc->natts; ++i) {
            Form_pg_attribute att = TupleDescAttr(desc, i);
            bool isnull;
            if (att->attisdropped || att->atttypid != INTERVALOID)
                continue;
            Datum d = heap_getattr(tuple, i + 1, desc, &isnull);
            if (isnull)
                continue;
            double us = DatumGetFloat8(DirectFunctionCall2(interval_part, CStringGetTextDatum("epoch"), d)) * 1e6;
            int64 clamped = us >= 9.2e18    ? PG_INT64_MAX
                            : us <= -9.2e18 ? PG_INT64_MIN
                                            : static_cast<int64>(std::llround(us));
            out.len--; // reopen the object: drop its closing brace
            appendStringInfoChar(&out, ',');
            escape_json(&out, psprintf("%s_us", NameStr(att->attname)));
            appendStringInfo(&out, ":" INT64_FORMAT "}", clamped);
        }
        return out.data;
    });
}

TriggerData *trigger_data(FunctionCallInfo fcinfo) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw Error(sqlstate::feature_not_supported, "shardroute trigger functions must be called as triggers");
    return reinterpret_cast<TriggerData *>(fcinfo->context);
}

} // namespace

// BEFORE INSERT OR UPDATE, each row: the rules about one row, so a bad value fails at once.
SHARDROUTE_FUNCTION(shardroute_check_row) {
    TriggerData *td = trigger_data(fcinfo);
    bool update = TRIGGER_FIRED_BY_UPDATE(td->tg_event);
    HeapTuple tuple = update ? td->tg_newtuple : td->tg_trigtuple;
    TupleDesc desc = RelationGetDescr(td->tg_relation);
    char *row = row_json(tuple, desc);
    char *before = update ? row_json(td->tg_trigtuple, desc) : nullptr;
    std::string old_row = before ? before : "";
    auto problems =
        topology::check_catalog_row(RelationGetRelationName(td->tg_relation), row, before ? &old_row : nullptr);
    if (!problems.empty())
        topology::raise_problems(problems, "");
    return PointerGetDatum(tuple);
}

namespace {
// The lock _lock_catalog() takes, taken directly (a trigger runs as the user
// who writes, and at COMMIT as the session user): catalog writers queue, so
// each one sees every earlier change committed when it takes it.
void lock_catalog(TriggerData *td) {
    Oid schema = RelationGetNamespace(td->tg_relation);
    pg_call([schema]() noexcept {
        Oid node_table = get_relname_relid("node", schema);
        if (OidIsValid(node_table))
            LockRelationOid(node_table, ShareRowExclusiveLock);
    });
}
} // namespace

// Deferred constraint trigger: at COMMIT (or SET CONSTRAINTS ... IMMEDIATE) the
// whole catalog must satisfy every rule. Runs once per batch of changes.
SHARDROUTE_FUNCTION(shardroute_check_catalog) {
    trigger_data(fcinfo);
    if (MyProc->lxid == checked_lxid && catalog_changes == checked_changes)
        return PointerGetDatum(nullptr);
    // see other writers' committed changes: the validation is of what the catalog will be
    lock_catalog(trigger_data(fcinfo));
    // make the statement that fired this trigger visible to the snapshot below:
    // at an autocommit COMMIT, or under SET CONSTRAINTS ... IMMEDIATE, it is not yet
    pg_call([]() noexcept { CommandCounterIncrement(); });
    std::string snapshot = pg::snapshot_text();
    auto problems = topology::blocking(topology::validate(topology::topology_from_snapshot(snapshot)));
    if (!problems.empty())
        topology::raise_problems(problems, "invalid shardroute topology: ");
    // On a Citus coordinator the workers route with a copy of this catalog:
    // the copy changes in this same (two-phase) transaction, to exactly what
    // was just validated (README, "Citus").
    if (pg_call([]() noexcept { return OidIsValid(get_extension_oid("citus", true)); }))
        pg::execute_as(pg::extension_owner(), "SELECT shardroute._citus_ship($1::pg_catalog.jsonb)", &snapshot);
    // Application-side routers LISTEN: the notification is queued just before
    // this transaction commits (notify_at_commit), never for a PREPARE, which
    // a queued NOTIFY would refuse; and only when a table's content changed.
    pg::notify_tables =
        topology::changed_tables(before_lxid == MyProc->lxid ? before_snapshot : std::string(), snapshot);
    notify_lxid = pg::notify_tables.empty() ? InvalidLocalTransactionId : MyProc->lxid;
    checked_lxid = MyProc->lxid;
    checked_changes = catalog_changes;
    return PointerGetDatum(nullptr);
}

// AFTER each statement: every backend (this one at the next command) reloads its cache.
SHARDROUTE_FUNCTION(shardroute_catalog_changed) {
    TriggerData *td = trigger_data(fcinfo);
    Oid relid = RelationGetRelid(td->tg_relation);
    pg_call([relid]() noexcept { CacheInvalidateRelcacheByRelid(relid); });
    ++catalog_changes;
    return PointerGetDatum(nullptr);
}

// BEFORE each statement: the first change of a transaction takes the catalog
// lock and records the catalog as it was (before_snapshot), for the NOTIFY. Its own tables, not a Citus
// worker's copy: a worker refuses the change anyway.
SHARDROUTE_FUNCTION(shardroute_catalog_before) {
    TriggerData *td = trigger_data(fcinfo);
    if (before_lxid == MyProc->lxid)
        return PointerGetDatum(nullptr);
    // no other writer commits between this snapshot and this transaction's end
    lock_catalog(td);
    char *text = pg::fetch_latest("SELECT shardroute._catalog_snapshot()::pg_catalog.text");
    before_snapshot = text ? text : "";
    before_lxid = MyProc->lxid;
    before_level = GetCurrentTransactionNestLevel();
    return PointerGetDatum(nullptr);
}

namespace {
Datum invalidate_trigger_table(FunctionCallInfo fcinfo) {
    TriggerData *td = trigger_data(fcinfo);
    Oid relid = RelationGetRelid(td->tg_relation);
    pg_call([relid]() noexcept { CacheInvalidateRelcacheByRelid(relid); });
    return PointerGetDatum(nullptr);
}
} // namespace

// AFTER each statement on a table whose readers cache it (partition_fence):
// every backend's cache of it reloads.
SHARDROUTE_FUNCTION(shardroute_table_changed) {
    return invalidate_trigger_table(fcinfo);
}

// AFTER each statement on citus_topology, on every node's placement of it (Citus
// creates the trigger there): this node's lookup caches reload, since on a
// Citus worker the topology is that copy.
SHARDROUTE_FUNCTION(shardroute_citus_copy_changed) {
    return invalidate_trigger_table(fcinfo);
}
