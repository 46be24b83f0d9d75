// Shard lookups. Each call reads the backend's catalog cache (a flag check when
// nothing changed), resolves the cluster once per call site, hashes the key and
// indexes the shard map: no SPI, no catalog scan, nothing kept past the call.
#include "common/error.hpp"
#include "routing/route_table.hpp"
#include "topology/unknown.hpp"

#include "pg/call_site.hpp"
#include "pg/catalog.hpp"
#include "pg/datum.hpp"
#include "pg/guard.hpp"
#include "pg/hashing.hpp"
#include "pg/lookup.hpp"
#include "pg/read_stats.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/uuid.h"
}

#include <fmt/format.h>
#include <string>

using namespace shardroute;
using routing::ClusterRoute;
using namespace shardroute::pg;

namespace {

[[noreturn]] void unknown_cluster(const pg::CatalogCache &c, std::string_view name) {
    throw topology::unknown_error(topology::Kind::cluster, name,
                                  topology::known_names(c.topology, topology::Kind::cluster));
}

} // namespace

namespace shardroute::pg {

const ClusterRoute &cluster_arg(FunctionCallInfo fcinfo, int argno, const CatalogCache &c) {
    return *resolve_name_arg<const ClusterRoute *>(fcinfo, argno, c.generation, [&c](std::string_view name) {
        const ClusterRoute *route = c.routes.find_cluster(name);
        if (!route)
            unknown_cluster(c, name);
        if (route->shard_count == 0)
            throw Error(sqlstate::invalid_object_definition, fmt::format("cluster {} is not valid", quoted_name(name)),
                        "Its shard count or algorithm breaks a rule.",
                        "SELECT * FROM shardroute.check_topology() lists the problems.");
        return route;
    });
}

int32_t owner_of(const ClusterRoute &route, uint32_t shard) {
    int32_t node = route.owner[shard];
    if (node == routing::unassigned)
        throw Error("55000",
                    fmt::format("shard {} of cluster {} is not assigned to any node", shard, quoted_name(route.name)),
                    {}, "Assign it with shardroute.assign_shards().");
    return node;
}

Datum node_name_datum(const CatalogCache &c, int32_t node) {
    const std::string &name = c.routes.nodes[static_cast<size_t>(node)];
    return text_datum_fast(name);
}

uint32_t text_key_shard(FunctionCallInfo fcinfo, const ClusterRoute &route) {
    text *key = PG_GETARG_TEXT_PP(1);
    return route.shard_of(hash32(route.algorithm, VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key), 0));
}

} // namespace shardroute::pg

namespace {

uint32_t uuid_key_shard(FunctionCallInfo fcinfo, const ClusterRoute &route) {
    pg_uuid_t *key = PG_GETARG_UUID_P(1);
    return route.shard_of(pg::hash32(route.algorithm, reinterpret_cast<const char *>(key->data), UUID_LEN, 0));
}

} // namespace

SHARDROUTE_FUNCTION(shardroute_shard_for_key) {
    const auto &c = pg::catalog();
    PG_RETURN_INT32(static_cast<int32>(text_key_shard(fcinfo, cluster_arg(fcinfo, 0, c))));
}

SHARDROUTE_FUNCTION(shardroute_shard_for_uuid) {
    const auto &c = pg::catalog();
    PG_RETURN_INT32(static_cast<int32>(uuid_key_shard(fcinfo, cluster_arg(fcinfo, 0, c))));
}

namespace {
// shardroute.log_routing: one DEBUG1 line per lookup
Datum routed(const pg::CatalogCache &c, const ClusterRoute &route, uint32_t shard) {
    int32_t node = owner_of(route, shard);
    if (pg::log_routing) {
        const std::string &name = c.routes.nodes[static_cast<size_t>(node)];
        pg::pg_call([&route, &name, shard]() noexcept {
            ereport(DEBUG1, errmsg_internal("shardroute: cluster \"%s\" shard %u is on node \"%s\"", route.name.c_str(),
                                            shard, name.c_str()));
        });
    }
    return node_name_datum(c, node);
}
} // namespace

SHARDROUTE_FUNCTION(shardroute_node_for_key) {
    const auto &c = pg::catalog();
    const ClusterRoute &route = cluster_arg(fcinfo, 0, c);
    return routed(c, route, text_key_shard(fcinfo, route));
}

SHARDROUTE_FUNCTION(shardroute_node_for_uuid) {
    const auto &c = pg::catalog();
    const ClusterRoute &route = cluster_arg(fcinfo, 0, c);
    return routed(c, route, uuid_key_shard(fcinfo, route));
}

SHARDROUTE_FUNCTION(shardroute_node_for_shard) {
    const auto &c = pg::catalog();
    const ClusterRoute &route = cluster_arg(fcinfo, 0, c);
    int32 shard = PG_GETARG_INT32(1);
    if (shard < 0 || static_cast<uint32_t>(shard) >= route.shard_count)
        throw Error(sqlstate::invalid_parameter_value,
                    fmt::format("shard {} is out of range for cluster {}", shard, quoted_name(route.name)),
                    fmt::format("Cluster {} has shards 0..{}.", quoted_name(route.name), route.shard_count - 1));
    return routed(c, route, static_cast<uint32_t>(shard));
}

// One row per owning node (in name order) with its keys in input order. The
// grouping uses palloc'd arrays only, so an ereport part-way leaks nothing.
SHARDROUTE_FUNCTION(shardroute_route_keys) {
    const auto &c = pg::catalog();
    const ClusterRoute &route = cluster_arg(fcinfo, 0, c);
    ArrayType *array = PG_GETARG_ARRAYTYPE_P(1);
    Datum *keys;
    bool *nulls;
    int nkeys;
    deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &keys, &nulls, &nkeys);

    size_t nnodes = c.routes.nodes.size();
    auto *owner = static_cast<int32 *>(palloc(sizeof(int32) * static_cast<size_t>(nkeys) + 1));
    auto *count = static_cast<int *>(palloc0(sizeof(int) * (nnodes + 1)));
    for (int i = 0; i < nkeys; ++i) {
        if (nulls[i])
            throw Error("22004", "route_keys() keys must not be NULL",
                        fmt::format("Element {} of the array is NULL.", i + 1));
        text *key = DatumGetTextPP(keys[i]);
        owner[i] =
            owner_of(route, route.shard_of(pg::hash32(route.algorithm, VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key), 0)));
        ++count[owner[i]];
    }

    InitMaterializedSRF(fcinfo, 0);
    auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    auto *group = static_cast<Datum *>(palloc(sizeof(Datum) * static_cast<size_t>(nkeys) + 1));
    for (size_t node = 0; node < nnodes; ++node) {
        if (count[node] == 0)
            continue;
        int n = 0;
        for (int i = 0; i < nkeys; ++i)
            if (owner[i] == static_cast<int32>(node))
                group[n++] = keys[i];
        Datum values[2] = {node_name_datum(c, static_cast<int32>(node)),
                           PointerGetDatum(construct_array(group, n, TEXTOID, -1, false, TYPALIGN_INT))};
        bool isnull[2] = {false, false};
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
    }
    return (Datum)0;
}

SHARDROUTE_FUNCTION(shardroute_conninfo) {
    const auto &c = pg::catalog();
    text *arg = PG_GETARG_TEXT_PP(0);
    std::string_view name = text_view(arg);
    int32_t node = c.routes.find_node(name);
    if (node == routing::unassigned)
        throw topology::unknown_error(topology::Kind::node, name, c.routes.nodes);
    const std::string &ci = c.routes.conninfo[static_cast<size_t>(node)];
    if (ci.empty())
        throw Error(sqlstate::invalid_object_definition, fmt::format("node {} has invalid options", quoted_name(name)),
                    {}, "SELECT * FROM shardroute.check_topology() lists the problem.");
    return text_datum_fast(ci);
}
