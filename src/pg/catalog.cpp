// Loading the catalog, the triggers that guard it, and the backend-local cache.
#include "common/error.hpp"
#include "routing/route_table.hpp"
#include "topology/snapshot.hpp"
#include "topology/validate.hpp"

#include <nlohmann/json.hpp>

#include "pg/catalog.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "storage/proc.h"
#include "storage/lmgr.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/builtins.h"
}

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
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

void forget_check_on_abort(SubXactEvent event, SubTransactionId, SubTransactionId, void *) {
    if (event == SUBXACT_EVENT_ABORT_SUB)
        checked_lxid = InvalidLocalTransactionId;
}

// Runs a one-row, one-column query under a snapshot that sees everything
// committed so far (and this transaction's earlier commands), and returns the
// value as a string in the caller's memory context. The latest snapshot, not the
// transaction's: the cache outlives transactions and must never keep an old view.
char *fetch_latest(const char *query) {
    return pg_call([query]() -> char * {
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

std::string snapshot_text() {
    // every name schema-qualified: this runs under the caller's search_path
    char *text = fetch_latest("SELECT shardroute._snapshot()::pg_catalog.text");
    if (!text)
        throw Error(sqlstate::internal_error, "shardroute catalog snapshot is NULL");
    return text;
}

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
    // took a lock (the usual moment invalidations are read): a READ COMMITTED
    // statement must see it. Cheap when nothing is pending; runs before any
    // C++ object of this frame exists, as it may ereport.
    AcceptInvalidationMessages();
    if (cache && cache_valid &&
        (cache->only_lxid == InvalidLocalTransactionId ||
         (cache->only_lxid == MyProc->lxid && cache->only_statement == GetCurrentStatementStartTimestamp())))
        return *cache;
    cache_valid = true; // an invalidation arriving during the load clears it again
    loading = true;
    try {
        std::string text = snapshot_text();
        auto fresh = std::make_unique<CatalogCache>();
        fresh->topology = topology::topology_from_snapshot(text);
        fresh->routes = routing::build_route_table(fresh->topology);
        nlohmann::json doc = nlohmann::json::parse(text);
        for (const auto &oid : doc.at("relids"))
            fresh->relids.push_back(oid.get<Oid>());
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
    CacheRegisterRelcacheCallback(invalidate_callback, 0);
    RegisterSubXactCallback(forget_check_on_abort, nullptr);
}

} // namespace shardroute::pg

using namespace shardroute;
using shardroute::pg::catalog_changes;
using shardroute::pg::checked_changes;
using shardroute::pg::checked_lxid;
using shardroute::pg::pg_call;

namespace {

// A trigger row's columns as text (intervals as microseconds), keyed by column name.
using Row = std::map<std::string, std::optional<std::string>>;

// Copies the tuple's values out as C strings: PostgreSQL work only, so it runs
// under pg_call and hands plain pointers back.
char **row_values(HeapTuple tuple, TupleDesc desc) {
    return pg_call([tuple, desc]() -> char ** {
        auto **values = static_cast<char **>(palloc0(sizeof(char *) * desc->natts));
        for (int i = 0; i < desc->natts; ++i) {
            Form_pg_attribute att = TupleDescAttr(desc, i);
            if (att->attisdropped)
                continue;
            bool isnull;
            Datum d = heap_getattr(tuple, i + 1, desc, &isnull);
            if (isnull)
                continue;
            if (att->atttypid == INTERVALOID) {
                // seconds as extract(epoch) counts them, the same rule _snapshot() uses; an
                // interval too long for int64 microseconds saturates, and the row rules refuse it
                double seconds = DatumGetFloat8(DirectFunctionCall2(interval_part, CStringGetTextDatum("epoch"), d));
                double us = seconds * 1e6;
                values[i] = psprintf(INT64_FORMAT, us >= 9.2e18    ? PG_INT64_MAX
                                                   : us <= -9.2e18 ? PG_INT64_MIN
                                                                   : static_cast<int64>(std::llround(us)));
            } else {
                values[i] = SPI_getvalue(tuple, desc, i + 1);
            }
        }
        return values;
    });
}

Row read_row(HeapTuple tuple, TupleDesc desc) {
    char **values = row_values(tuple, desc);
    Row row;
    for (int i = 0; i < desc->natts; ++i) {
        Form_pg_attribute att = TupleDescAttr(desc, i);
        if (att->attisdropped)
            continue;
        row[NameStr(att->attname)] = values[i] ? std::optional<std::string>(values[i]) : std::nullopt;
    }
    return row;
}

std::string need(const Row &r, const char *col) {
    auto it = r.find(col);
    return it != r.end() && it->second ? *it->second : std::string();
}
std::optional<std::string> maybe(const Row &r, const char *col) {
    auto it = r.find(col);
    return it != r.end() ? it->second : std::nullopt;
}
std::optional<int64_t> maybe_int(const Row &r, const char *col) {
    auto v = maybe(r, col);
    return v ? std::optional<int64_t>(std::stoll(*v)) : std::nullopt;
}

// The row rules of one catalog table, applied to a row about to be written.
std::vector<topology::Problem> check_row(const std::string &table, const Row &r, const Row *old) {
    using namespace topology;
    if (table == "node") {
        topology::Node n;
        n.name = need(r, "name");
        n.host = need(r, "host");
        n.port = static_cast<int>(maybe_int(r, "port").value_or(0));
        n.dbname = maybe(r, "dbname");
        n.options = maybe(r, "options");
        n.citus_role = maybe(r, "citus_role");
        n.citus_node_name = maybe(r, "citus_node_name");
        n.plproxy_host = maybe(r, "plproxy_host");
        n.primary_node = maybe(r, "primary_node");
        n.max_lag_us = maybe_int(r, "max_lag");
        n.max_lag_bytes = maybe_int(r, "max_lag_bytes");
        n.application_name = maybe(r, "application_name");
        return check_node(n);
    }
    if (table == "shard_cluster") {
        Cluster c{need(r, "name"), static_cast<int>(maybe_int(r, "shard_count").value_or(0)), need(r, "algorithm"),
                  maybe(r, "proxy_node"), maybe(r, "standby_proxy_node")};
        auto problems = check_cluster(c);
        if (old && maybe_int(*old, "shard_count") != maybe_int(r, "shard_count"))
            problems.push_back(Problem{ObjectKind::cluster,
                                       c.name,
                                       {},
                                       "shard count fixed",
                                       "shard count fixed: the shard count of cluster \"" + c.name +
                                           "\" cannot change (" + need(*old, "shard_count") + " to " +
                                           need(r, "shard_count") + ")",
                                       "Shards hold data under hash & (count - 1); drop_cluster() and create it "
                                       "again only if it holds no data."});
        return problems;
    }
    if (table == "shard_range")
        return check_range(ShardRange{need(r, "cluster"), need(r, "node"),
                                      static_cast<int>(maybe_int(r, "first_shard").value_or(-1)),
                                      static_cast<int>(maybe_int(r, "last_shard").value_or(-1))});
    if (table == "read_group")
        return check_read_group(ReadGroup{need(r, "name"), need(r, "write_node"), need(r, "setting")});
    if (table == "read_member")
        // strtod, not stod: a subnormal weight (1e-320) is a valid tiny number, not an error
        return check_member(
            ReadMember{need(r, "read_group"), need(r, "node"), std::strtod(need(r, "weight").c_str(), nullptr)});
    return {};
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
    std::string table = RelationGetRelationName(td->tg_relation);
    Row row = read_row(tuple, desc);
    std::optional<Row> old;
    if (update)
        old = read_row(td->tg_trigtuple, desc);
    auto problems = check_row(table, row, old ? &*old : nullptr);
    if (!problems.empty())
        topology::raise_problems(problems, "");
    return PointerGetDatum(tuple);
}

// Deferred constraint trigger: at COMMIT (or SET CONSTRAINTS ... IMMEDIATE) the
// whole catalog must satisfy every rule. Runs once per batch of changes.
SHARDROUTE_FUNCTION(shardroute_check_catalog) {
    trigger_data(fcinfo);
    if (MyProc->lxid == checked_lxid && catalog_changes == checked_changes)
        return PointerGetDatum(nullptr);
    // see other writers' committed changes: the validation is of what the catalog will be
    // the lock _lock_catalog() takes, taken directly: at COMMIT this runs as the session user
    Oid schema = RelationGetNamespace(trigger_data(fcinfo)->tg_relation);
    pg_call([schema]() {
        Oid node_table = get_relname_relid("node", schema);
        if (OidIsValid(node_table))
            LockRelationOid(node_table, ShareRowExclusiveLock);
    });
    // make the statement that fired this trigger visible to the snapshot below:
    // at an autocommit COMMIT, or under SET CONSTRAINTS ... IMMEDIATE, it is not yet
    pg_call([]() { CommandCounterIncrement(); });
    auto problems = topology::blocking(topology::validate(pg::load_topology()));
    if (!problems.empty())
        topology::raise_problems(problems, "invalid shardroute topology: ");
    checked_lxid = MyProc->lxid;
    checked_changes = catalog_changes;
    return PointerGetDatum(nullptr);
}

// AFTER each statement: every backend (this one at the next command) reloads its cache.
SHARDROUTE_FUNCTION(shardroute_catalog_changed) {
    TriggerData *td = trigger_data(fcinfo);
    Oid relid = RelationGetRelid(td->tg_relation);
    pg_call([relid]() { CacheInvalidateRelcacheByRelid(relid); });
    ++catalog_changes;
    return PointerGetDatum(nullptr);
}
