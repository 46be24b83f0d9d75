// Queries on the partition databases of a cluster, from the proxy, through
// the cluster's own PL/Proxy connections: the conninfo of the cluster's
// SQL/MED server (as plproxy_sync wrote it) and the caller's user mapping
// for it, as PL/Proxy itself connects. No credential of our own is stored.
// Used by shard_distribution, misplaced_rows and delete_misplaced_rows.
// libpq is used blocking, as dblink does: a query cancel reaches the remote
// query only when it returns.
#include "common/error.hpp"

#include "pg/catalog.hpp"
#include "pg/datum.hpp"
#include "pg/guard.hpp"
#include "pg/libpq_text.hpp"
#include "pg/run_as.hpp"
#include "pg/settings.hpp"
#include "topology/conninfo.hpp"
#include "topology/unknown.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq-fe.h"
}

#include <fmt/format.h>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace shardroute;

namespace {

struct Partition {
    std::string node;
    std::string conninfo; // with the caller's user mapping
    std::vector<int> shards;
};

// libpq keyword values: quoted as conninfo strings quote them.
std::string conninfo_value(const std::string &v) {
    std::string out = "'";
    for (char c : v) {
        if (c == '\'' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "'";
}

// The cluster's PL/Proxy server, checked as PL/Proxy checks it (USAGE), and
// the caller's credentials from its user mapping, as PL/Proxy connects: the
// mapping's user and password, else the calling role's own name (never the
// server's OS user); plus a bounded connection wait.
struct ProxyServer {
    ForeignServer *server;
    std::string credentials;
};

ProxyServer proxy_server(const std::string &cluster) {
    ForeignServer *server =
        pg::pg_call([&cluster]() noexcept { return GetForeignServerByName(cluster.c_str(), true); });
    if (!server)
        throw Error(sqlstate::undefined_object, "PL/Proxy server " + quoted_name(cluster) + " does not exist", {},
                    "Create it with shardroute.plproxy_sync(" + quoted_name(cluster) + ").");
    Oid serverid = server->serverid;
    bool usage = pg::pg_call(
        [serverid]() noexcept { return pg_foreign_server_aclcheck(serverid, GetUserId(), ACL_USAGE) == ACLCHECK_OK; });
    if (!usage)
        throw Error(sqlstate::insufficient_privilege, "permission denied for foreign server " + quoted_name(cluster),
                    {}, "GRANT USAGE ON FOREIGN SERVER " + quoted_name(cluster) + " to the role, as PL/Proxy needs.");
    UserMapping *mapping = pg::pg_call([serverid]() noexcept -> UserMapping * {
        Oid user = GetUserId();
        // GetUserMapping raises when there is none: PL/Proxy needs one too
        return GetUserMapping(user, serverid);
    });
    std::string credentials = " connect_timeout=10";
    bool has_user = false;
    ListCell *cell;
    foreach (cell, mapping->options) {
        auto *def = static_cast<DefElem *>(lfirst(cell));
        std::string key = def->defname;
        if (key == "user" || key == "password")
            credentials +=
                " " + key + "=" + conninfo_value(pg::pg_call([def]() noexcept { return defGetString(def); }));
        has_user = has_user || key == "user";
    }
    if (!has_user)
        credentials +=
            " user=" + conninfo_value(pg::pg_call([]() noexcept { return GetUserNameFromId(GetUserId(), false); }));
    return ProxyServer{server, credentials};
}

// Every primary node of the cluster with its shards and the conninfo of its
// first shard's PL/Proxy partition, plus the caller's user and password.
std::vector<Partition> partitions(const pg::CatalogCache &cache, const std::string &cluster) {
    if (!cache.topology.find_cluster(cluster))
        throw topology::unknown_error(topology::Kind::cluster, cluster,
                                      topology::known_names(cache.topology, topology::Kind::cluster));
    ProxyServer proxy = proxy_server(cluster);
    std::map<int, std::string> by_shard;
    ListCell *cell;
    foreach (cell, proxy.server->options) {
        auto *def = static_cast<DefElem *>(lfirst(cell));
        std::string name = def->defname;
        if (name.size() < 2 || name.size() > 10 || name[0] != 'p' ||
            name.find_first_not_of("0123456789", 1) != std::string::npos)
            continue;
        by_shard[std::stoi(name.substr(1))] = pg::pg_call([def]() noexcept { return defGetString(def); });
    }
    const std::string &credentials = proxy.credentials;
    // The server must agree with the catalog: every shard of a node reaches one
    // database, and no two nodes reach the same one. Otherwise (a change not yet
    // synced, a hand-edited server) "node X" could be another node's database.
    std::map<std::string, Partition> out;
    std::map<std::string, std::string> node_of_conninfo;
    auto out_of_date = [&cluster](const std::string &why) {
        return Error(sqlstate::object_not_in_prerequisite_state,
                     "PL/Proxy server " + quoted_name(cluster) + " does not match the catalog", why,
                     "Run shardroute.plproxy_sync(" + quoted_name(cluster) + ").");
    };
    for (const auto &r : cache.topology.ranges) {
        if (r.cluster != cluster)
            continue;
        auto &p = out[r.node];
        p.node = r.node;
        for (int s = r.first; s <= r.last; ++s) {
            p.shards.push_back(s);
            auto it = by_shard.find(s);
            if (it == by_shard.end())
                throw out_of_date("It has no partition for shard " + std::to_string(s) + ".");
            if (p.conninfo.empty())
                p.conninfo = it->second;
            else if (p.conninfo != it->second)
                throw out_of_date("Shards of node " + quoted_name(r.node) + " reach different databases.");
        }
    }
    for (auto &[name, p] : out) {
        auto [it, fresh] = node_of_conninfo.emplace(p.conninfo, name);
        if (!fresh)
            throw out_of_date("Nodes " + quoted_name(it->second) + " and " + quoted_name(name) +
                              " reach the same database.");
        p.conninfo += credentials;
    }
    std::vector<Partition> list;
    for (auto &[name, p] : out)
        list.push_back(std::move(p));
    return list;
}

struct ConnClose {
    void operator()(PGconn *c) const { PQfinish(c); }
};
struct ResultClear {
    void operator()(PGresult *r) const { PQclear(r); }
};
using Conn = std::unique_ptr<PGconn, ConnClose>;
using Res = std::unique_ptr<PGresult, ResultClear>;

Conn connect(const Partition &p) {
    Conn conn(PQconnectdb(p.conninfo.c_str()));
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK)
        throw Error(sqlstate::connection_failure,
                    "could not connect to the partition database of node " + quoted_name(p.node),
                    conn ? pg::libpq_chomped(PQerrorMessage(conn.get())) : "Out of memory.");
    return conn;
}

Res checked(Res res, const Partition &p) {
    if (!res || PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
        const char *state = res ? PQresultErrorField(res.get(), PG_DIAG_SQLSTATE) : nullptr;
        const char *detail = res ? PQresultErrorField(res.get(), PG_DIAG_MESSAGE_DETAIL) : nullptr;
        const char *hint = res ? PQresultErrorField(res.get(), PG_DIAG_MESSAGE_HINT) : nullptr;
        throw Error(state && std::string(state).size() == 5 ? std::string(state) : sqlstate::connection_failure,
                    "on the partition database of node " + quoted_name(p.node) + ": " +
                        (res ? PQresultErrorField(res.get(), PG_DIAG_MESSAGE_PRIMARY) ?: "" : "no result"),
                    detail ? detail : "", hint ? hint : "");
    }
    return res;
}

// The result of the query sent on conn (its last result, as PQexec keeps).
Res result_of(PGconn *conn, const Partition &p) {
    Res res;
    while (PGresult *next = PQgetResult(conn))
        res.reset(next);
    return checked(std::move(res), p);
}

Res run(PGconn *conn, const Partition &p, const std::string &sql) {
    return checked(Res(PQexec(conn, sql.c_str())), p);
}

// A possibly schema-qualified table name, quoted as an identifier list.
std::string quoted_table(const std::string &name) {
    return pg::pg_call([&name]() noexcept -> char * {
        List *parts = stringToQualifiedNameList(name.c_str());
        StringInfoData out;
        initStringInfo(&out);
        ListCell *c;
        foreach (c, parts) {
            if (out.len > 0)
                appendStringInfoChar(&out, '.');
            appendStringInfoString(&out, quote_identifier(strVal(lfirst(c))));
        }
        return out.data;
    });
}

// The hash of `key` as the partition computes it: the cluster's hash over the
// key's text, or a uuid's 16 raw bytes (as lookups hash a uuid key); and the
// shard, that hash's low bits.
std::string hash_expression(PGconn *conn, const Partition &p, const std::string &table, const std::string &key,
                            const topology::Cluster &c) {
    // a domain's values hash as its base type's (a domain over uuid: 16 bytes)
    std::string type_sql =
        fmt::format("WITH RECURSIVE t(oid, base) AS (SELECT a.atttypid, y.typbasetype FROM pg_catalog.pg_attribute a "
                    "JOIN pg_catalog.pg_type y ON y.oid = a.atttypid WHERE a.attrelid = {}::pg_catalog.regclass "
                    "AND a.attname = {} AND a.attnum > 0 AND NOT a.attisdropped "
                    "UNION ALL SELECT y.oid, y.typbasetype FROM t JOIN pg_catalog.pg_type y ON y.oid = t.base) "
                    "SELECT pg_catalog.format_type(t.oid, NULL) FROM t WHERE t.base = 0",
                    pg::quote_literal(table), pg::quote_literal(key));
    Res type = run(conn, p, type_sql);
    if (PQntuples(type.get()) != 1)
        throw Error(sqlstate::undefined_column,
                    "table " + table + " on node " + quoted_name(p.node) + " has no column " + quoted_name(key));
    std::string algorithm = pg::quote_literal(c.algorithm);
    std::string hash =
        std::string(PQgetvalue(type.get(), 0, 0)) == "uuid"
            ? fmt::format("shardroute.hash_uuid({}, {})", pg::quote_ident(key), algorithm)
            : fmt::format("shardroute.hash_string({}::pg_catalog.text, {})", pg::quote_ident(key), algorithm);
    return hash;
}

std::string shard_expression(PGconn *conn, const Partition &p, const std::string &table, const std::string &key,
                             const topology::Cluster &c) {
    return fmt::format("({} & {})", hash_expression(conn, p, table, key, c), c.shard_count - 1);
}

// A node of the catalog, reached as PL/Proxy on this server reaches it (its
// plproxy_host when set), with the caller's credentials for the cluster's
// PL/Proxy server. Fencing uses it: the node may own no shard any more (its
// shards just moved), so its conninfo comes from the catalog, not the server.
Partition catalog_partition(const pg::CatalogCache &cache, const std::string &cluster, const std::string &node) {
    if (!cache.topology.find_cluster(cluster))
        throw topology::unknown_error(topology::Kind::cluster, cluster,
                                      topology::known_names(cache.topology, topology::Kind::cluster));
    const topology::Node *n = cache.topology.find_node(node);
    if (!n)
        throw topology::unknown_error(topology::Kind::node, node,
                                      topology::known_names(cache.topology, topology::Kind::node));
    if (n->is_standby())
        throw Error(sqlstate::object_not_in_prerequisite_state,
                    "node " + quoted_name(node) + " is a standby: its database is read-only", {},
                    "Record its promotion first with shardroute.promote_standby().");
    return Partition{node, topology::plproxy_conninfo(*n) + proxy_server(cluster).credentials, {}};
}

std::vector<int> int_array(ArrayType *array) {
    Datum *values;
    bool *nulls;
    int n;
    pg::pg_call([&]() noexcept { deconstruct_array(array, INT4OID, 4, true, 'i', &values, &nulls, &n); });
    std::vector<int> out;
    for (int i = 0; i < n; ++i)
        if (!nulls[i])
            out.push_back(DatumGetInt32(values[i]));
    return out;
}

std::vector<std::string> text_array(ArrayType *array) {
    Datum *values;
    bool *nulls;
    int n;
    pg::pg_call([&]() noexcept { deconstruct_array(array, TEXTOID, -1, false, 'i', &values, &nulls, &n); });
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i)
        if (!nulls[i])
            out.emplace_back(pg::text_view(DatumGetTextPP(values[i])));
    return out;
}

// '{1,2,3}'::pg_catalog.int4[]
std::string int_array_sql(const std::vector<int> &values) {
    std::string list;
    for (int v : values)
        list += (list.empty() ? "" : ",") + std::to_string(v);
    return "'{" + list + "}'::pg_catalog.int4[]";
}

// ARRAY['a', 'b']::pg_catalog.<type>[]
std::string literal_array_sql(const std::vector<std::string> &values, const char *type) {
    std::string list;
    for (const auto &v : values)
        list += (list.empty() ? "" : ", ") + pg::quote_literal(v);
    return fmt::format("ARRAY[{}]::pg_catalog.{}[]", list, type);
}

} // namespace

// _partition_counts(cluster, table_name, key_column) -> (node, shard, rows):
// every shard present in the table on every partition database, exactly counted.
SHARDROUTE_FUNCTION(shardroute_partition_counts) {
    // arguments first: detoasting may ereport
    text *cluster_arg = PG_GETARG_TEXT_PP(0), *table_arg = PG_GETARG_TEXT_PP(1), *key_arg = PG_GETARG_TEXT_PP(2);
    const pg::CatalogCache &cache = pg::catalog(); // may ereport: before any C++ object exists
    std::string cluster(pg::text_view(cluster_arg)), table_name(pg::text_view(table_arg)), key(pg::text_view(key_arg));
    const auto *found = cache.topology.find_cluster(cluster);
    if (!found)
        throw topology::unknown_error(topology::Kind::cluster, cluster,
                                      topology::known_names(cache.topology, topology::Kind::cluster));
    const topology::Cluster c = *found;
    std::string table = quoted_table(table_name);
    // every partition scans at once: connect and prepare one by one, then send
    // every query before reading any result
    std::vector<Partition> list = partitions(cache, cluster);
    std::vector<Conn> conns;
    std::vector<std::string> queries;
    for (const auto &p : list) {
        conns.push_back(connect(p));
        std::string hash = hash_expression(conns.back().get(), p, table, key, c);
        queries.push_back(
            fmt::format("SELECT u.shard - 1, u.n FROM pg_catalog.unnest((SELECT shardroute._shard_counts({0}, "
                        "{1}) FROM {2} WHERE {3} IS NOT NULL)) WITH ORDINALITY u(n, shard) WHERE u.n > 0 "
                        "ORDER BY u.shard",
                        hash, c.shard_count, table, pg::quote_ident(key)));
    }
    for (size_t i = 0; i < list.size(); ++i)
        if (!PQsendQuery(conns[i].get(), queries[i].c_str()))
            throw Error(sqlstate::connection_failure,
                        "could not send a query to the partition database of node " + quoted_name(list[i].node),
                        pg::libpq_chomped(PQerrorMessage(conns[i].get())));
    std::vector<pg::TextRow> rows;
    for (size_t i = 0; i < list.size(); ++i) {
        Res res = result_of(conns[i].get(), list[i]);
        for (int r = 0; r < PQntuples(res.get()); ++r)
            rows.push_back(pg::TextRow{list[i].node, std::string(PQgetvalue(res.get(), r, 0)),
                                       std::string(PQgetvalue(res.get(), r, 1))});
    }
    return pg::rows_result(fcinfo, rows);
}

namespace {

// The connection of the last _partition_delete call, kept for the next batch
// (delete_misplaced_rows calls it once per batch, committing in between) and
// closed after the last batch of a table or on an error.
struct CachedConnection {
    std::string conninfo;
    PGconn *conn = nullptr;
    // what the first batch of a table learnt: its shard expression, rows per
    // block (statistics) and size in blocks (re-read near the end)
    std::string table;
    std::string shard;
    int64 per_block = 0;
    int64 blocks = 0;
};
CachedConnection delete_connection;

void close_delete_connection() {
    if (delete_connection.conn)
        PQfinish(delete_connection.conn);
    delete_connection = CachedConnection{};
}

PGconn *open_delete_connection(const Partition &p) {
    if (delete_connection.conn &&
        (delete_connection.conninfo != p.conninfo || PQstatus(delete_connection.conn) != CONNECTION_OK ||
         PQtransactionStatus(delete_connection.conn) != PQTRANS_IDLE))
        close_delete_connection();
    if (!delete_connection.conn) {
        Conn fresh = connect(p);
        // the fence guard lets this session delete rows of shards that moved away
        run(fresh.get(), p, "SELECT pg_catalog.set_config('shardroute.fence_cleanup', 'on', false)");
        delete_connection.conn = fresh.release();
        delete_connection.conninfo = p.conninfo;
    }
    return delete_connection.conn;
}

} // namespace

// _partition_delete(cluster, node, table_name, key_column, shards int4[], batch int4, from_block int8)
//   -> (deleted int8, next_block int8):
// one batch on that node's partition database, committed there: the rows of the
// given shards in the heap blocks from from_block on that hold about `batch`
// rows (a TID range scan: each batch reads only its own blocks). next_block is
// where the next batch starts, -1 after the table's last block.
SHARDROUTE_FUNCTION(shardroute_partition_delete) {
    // arguments first: detoasting may ereport
    text *cluster_arg = PG_GETARG_TEXT_PP(0), *node_arg = PG_GETARG_TEXT_PP(1), *table_arg = PG_GETARG_TEXT_PP(2),
         *key_arg = PG_GETARG_TEXT_PP(3);
    ArrayType *shards_array = PG_GETARG_ARRAYTYPE_P(4);
    int32 batch = PG_GETARG_INT32(5);
    int64 from_block = PG_GETARG_INT64(6), misplaced = PG_GETARG_INT64(7);
    TupleDesc result_desc;
    pg::pg_call([fcinfo, &result_desc]() noexcept {
        if (get_call_result_type(fcinfo, nullptr, &result_desc) != TYPEFUNC_COMPOSITE)
            elog(ERROR, "_partition_delete must return a record");
        result_desc = BlessTupleDesc(result_desc);
    });
    // Topology writers wait until this transaction ends (they take the catalog
    // lock, ShareRowExclusive on shardroute.node): ownership cannot change
    // between the check below and the remote DELETE.
    LockRelationOid(get_relname_relid("node", get_namespace_oid("shardroute", false)), ShareLock);
    const pg::CatalogCache &cache = pg::catalog(); // may ereport: before any C++ object exists
    std::string cluster(pg::text_view(cluster_arg)), node(pg::text_view(node_arg)),
        table_name(pg::text_view(table_arg)), key(pg::text_view(key_arg));
    std::vector<int> shards = int_array(shards_array);
    if (batch <= 0)
        throw Error(sqlstate::invalid_parameter_value, "batch_size must be positive");
    if (from_block < 0 || from_block > 0xFFFFFFFFLL)
        throw Error(sqlstate::invalid_parameter_value, "from_block must be a block number");
    const auto *found = cache.topology.find_cluster(cluster);
    if (!found)
        throw topology::unknown_error(topology::Kind::cluster, cluster,
                                      topology::known_names(cache.topology, topology::Kind::cluster));
    const topology::Cluster c = *found;
    // never a shard the node owns, whatever the caller passed
    for (const auto &r : cache.topology.ranges)
        if (r.cluster == cluster && r.node == node)
            for (int s : shards)
                if (s >= r.first && s <= r.last)
                    throw Error(sqlstate::invalid_parameter_value,
                                "node " + quoted_name(node) + " owns shard " + std::to_string(s));
    auto result = [result_desc](int64 deleted, int64 next) {
        return pg::pg_call([result_desc, deleted, next]() noexcept {
            Datum values[2] = {Int64GetDatum(deleted), Int64GetDatum(next)};
            bool nulls[2] = {false, false};
            return HeapTupleGetDatum(heap_form_tuple(result_desc, values, nulls));
        });
    };
    if (shards.empty())
        return result(0, -1);
    std::string list;
    for (int s : shards)
        list += (list.empty() ? "" : ",") + std::to_string(s);
    std::string table = quoted_table(table_name);
    for (const auto &p : partitions(cache, cluster)) {
        if (p.node != node)
            continue;
        try {
            PGconn *conn = open_delete_connection(p);
            CachedConnection &cached = delete_connection;
            std::string table_key = table + '\n' + key;
            if (cached.table != table_key) {
                cached.table.clear();
                cached.shard = shard_expression(conn, p, table, key, c);
                cached.blocks = 0;
                cached.table = table_key;
            }
            auto read_size = [&]() {
                // rows per block from the statistics (100 before the first
                // ANALYZE), and the table's size now
                Res size = run(conn, p,
                               fmt::format("SELECT CASE WHEN c.reltuples > 0 AND c.relpages > 0 "
                                           "THEN pg_catalog.ceil(c.reltuples / c.relpages)::int8 ELSE 100 END, "
                                           "pg_catalog.pg_relation_size(c.oid) / "
                                           "pg_catalog.current_setting('block_size')::int8 "
                                           "FROM pg_catalog.pg_class c WHERE c.oid = {}::pg_catalog.regclass",
                                           pg::quote_literal(table)));
                cached.per_block = std::max<int64>(1, std::stoll(PQgetvalue(size.get(), 0, 0)));
                cached.blocks = std::stoll(PQgetvalue(size.get(), 0, 1));
            };
            // blocks per batch: about `batch` misplaced rows, at the table's
            // share of misplaced rows (misplaced_rows counted them)
            auto span = [batch, misplaced](const CachedConnection &t) {
                double rows = static_cast<double>(t.per_block) * static_cast<double>(t.blocks);
                double share = misplaced > 0 && rows > 0 ? std::min(1.0, static_cast<double>(misplaced) / rows) : 1.0;
                return std::max<int64>(1, static_cast<int64>(batch / share / static_cast<double>(t.per_block)));
            };
            // the size as the first batch saw it, re-read once the batches reach it
            if (cached.blocks == 0 || from_block + span(cached) >= cached.blocks)
                read_size();
            int64 blocks = cached.blocks;
            const std::string &shard = cached.shard;
            if (from_block >= blocks) {
                close_delete_connection();
                return result(0, -1);
            }
            int64 to_block = std::min<int64>(blocks, from_block + span(cached));
            Res res = run(conn, p,
                          fmt::format("WITH d AS (DELETE FROM {0} WHERE ctid >= '({1},0)'::pg_catalog.tid AND "
                                      "ctid < '({2},0)'::pg_catalog.tid AND {3} = ANY ('{{{4}}}'::pg_catalog.int4[]) "
                                      "RETURNING 1) SELECT pg_catalog.count(*) FROM d",
                                      table, from_block, to_block, shard, list));
            int64 deleted = std::stoll(PQgetvalue(res.get(), 0, 0));
            if (to_block >= blocks)
                close_delete_connection();
            return result(deleted, to_block >= blocks ? -1 : to_block);
        } catch (...) {
            close_delete_connection();
            throw;
        }
    }
    throw Error(sqlstate::undefined_object,
                "node " + quoted_name(node) + " holds no shard of cluster " + quoted_name(cluster));
}

// _fence_push(cluster, node, shards, tables, key_columns) -> shards fenced: on
// the node's database, fences the shards (_fence_local, committed there), then
// waits for the transactions that were writing the tables (_fence_wait).
SHARDROUTE_FUNCTION(shardroute_fence_push) {
    // arguments first: detoasting may ereport
    text *cluster_arg = PG_GETARG_TEXT_PP(0), *node_arg = PG_GETARG_TEXT_PP(1);
    ArrayType *shards_array = PG_GETARG_ARRAYTYPE_P(2), *tables_array = PG_GETARG_ARRAYTYPE_P(3),
              *keys_array = PG_GETARG_ARRAYTYPE_P(4);
    const pg::CatalogCache &cache = pg::catalog(); // may ereport: before any C++ object exists
    std::string cluster(pg::text_view(cluster_arg)), node(pg::text_view(node_arg));
    std::vector<int> shards = int_array(shards_array);
    std::vector<std::string> tables = text_array(tables_array), keys = text_array(keys_array);
    Partition p = catalog_partition(cache, cluster, node);
    const topology::Cluster c = *cache.topology.find_cluster(cluster);
    Conn conn = connect(p);
    std::string regclasses = literal_array_sql(tables, "regclass");
    Res fenced = run(conn.get(), p,
                     fmt::format("SELECT shardroute._fence_local({}, {}, {}, {}, {}, {})", pg::quote_literal(cluster),
                                 c.shard_count, pg::quote_literal(c.algorithm), int_array_sql(shards), regclasses,
                                 literal_array_sql(keys, "text")));
    Res ended =
        run(conn.get(), p, fmt::format("SELECT shardroute._fence_wait({}, {})", regclasses, pg::fence_timeout_ms));
    std::string count = PQgetvalue(ended.get(), 0, 0);
    if (count != "0") {
        std::string message = "fence on node " + quoted_name(node) + ": ended " + count +
                              " transaction(s) still writing after shardroute.fence_timeout";
        pg::pg_call([&message]() noexcept { ereport(NOTICE, errmsg_internal("%s", message.c_str())); });
    }
    return Int32GetDatum(std::stoi(PQgetvalue(fenced.get(), 0, 0)));
}

// _unfence_push(cluster, node, owned, moved) -> fences lifted: on the node's
// database, lifts the fences of the shards it owns, marks the others moved.
SHARDROUTE_FUNCTION(shardroute_unfence_push) {
    // arguments first: detoasting may ereport
    text *cluster_arg = PG_GETARG_TEXT_PP(0), *node_arg = PG_GETARG_TEXT_PP(1);
    ArrayType *owned_array = PG_GETARG_ARRAYTYPE_P(2), *moved_array = PG_GETARG_ARRAYTYPE_P(3);
    const pg::CatalogCache &cache = pg::catalog(); // may ereport: before any C++ object exists
    std::string cluster(pg::text_view(cluster_arg)), node(pg::text_view(node_arg));
    std::vector<int> owned = int_array(owned_array), moved = int_array(moved_array);
    Partition p = catalog_partition(cache, cluster, node);
    Conn conn = connect(p);
    Res lifted = run(conn.get(), p,
                     fmt::format("SELECT shardroute._unfence_local({}, {}, {})", pg::quote_literal(cluster),
                                 int_array_sql(owned), int_array_sql(moved)));
    return Int32GetDatum(std::stoi(PQgetvalue(lifted.get(), 0, 0)));
}

// The aggregate _shard_counts(hash, shard_count) -> int8[]: rows per shard in
// one pass, on the partition side of _partition_counts. A GROUP BY over the
// hash expression would do the same, but the planner, without statistics on
// the expression, expects a group per row and sorts the whole table.
namespace {
struct ShardCounts {
    int32 shard_count;
    int64 rows[FLEXIBLE_ARRAY_MEMBER];
};
} // namespace

SHARDROUTE_FUNCTION(shardroute_shard_counts_accum) {
    MemoryContext context;
    if (!AggCheckCallContext(fcinfo, &context))
        throw Error(sqlstate::feature_not_supported, "_shard_counts_accum must be called as an aggregate");
    auto *state = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<ShardCounts *>(PG_GETARG_POINTER(0));
    if (!state) {
        int32 n = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2);
        if (n <= 0 || n > (1 << 20) || (n & (n - 1)) != 0)
            throw Error(sqlstate::invalid_parameter_value, "shard_count must be a power of 2 up to 1048576");
        state = static_cast<ShardCounts *>(pg::pg_call([context, n]() noexcept {
            return MemoryContextAllocZero(context, offsetof(ShardCounts, rows) + sizeof(int64) * n);
        }));
        state->shard_count = n;
    }
    if (!PG_ARGISNULL(1))
        ++state->rows[static_cast<uint32>(PG_GETARG_INT32(1)) & static_cast<uint32>(state->shard_count - 1)];
    return PointerGetDatum(state);
}

SHARDROUTE_FUNCTION(shardroute_shard_counts_final) {
    if (PG_ARGISNULL(0)) {
        fcinfo->isnull = true;
        return Datum(0);
    }
    auto *state = reinterpret_cast<ShardCounts *>(PG_GETARG_POINTER(0));
    return pg::pg_call([state]() noexcept {
        Datum *cells = static_cast<Datum *>(palloc(sizeof(Datum) * state->shard_count));
        for (int32 i = 0; i < state->shard_count; ++i)
            cells[i] = Int64GetDatum(state->rows[i]);
        return PointerGetDatum(
            construct_array(cells, state->shard_count, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
    });
}
