// Read routing: a weighted, lag-aware choice among a read group's members,
// from this server's walsenders in shared memory. Per call: one pass over the
// walsender slots, no SPI, no catalog scan, nothing kept past the call.
#include "common/error.hpp"
#include "routing/read_choice.hpp"
#include "routing/route_table.hpp"
#include "topology/unknown.hpp"

#include "pg/call_site.hpp"
#include "pg/catalog.hpp"
#include "pg/read_stats.hpp"
#include "pg/datum.hpp"
#include "pg/guard.hpp"
#include "pg/lookup.hpp"
#include "pg/lag_monitor.hpp"

extern "C" {
#include "common/pg_prng.h"
#include "utils/pg_lsn.h"
}

#include <fmt/format.h>
#include <string>

using namespace shardroute;
using routing::ReadGroupRoute;

namespace {

constexpr size_t stack_members = 32;

const ReadGroupRoute &group_arg(FunctionCallInfo fcinfo, const pg::CatalogCache &c) {
    return *pg::resolve_name_arg<const ReadGroupRoute *>(fcinfo, 0, c.generation, [&c](std::string_view name) {
        const ReadGroupRoute *g = c.routes.find_read_group(name);
        if (!g) {
            throw topology::unknown_error(topology::Kind::read_group, name,
                                          topology::known_names(c.topology, topology::Kind::read_group));
        }
        if (g->write_node == routing::unassigned)
            throw Error(sqlstate::invalid_object_definition,
                        fmt::format("read group {} is not valid", quoted_name(name)), {},
                        "SELECT * FROM shardroute.check_topology() lists the problems.");
        return g;
    });
}

Datum node_text(const pg::CatalogCache &c, int32_t node) {
    return pg::node_name_datum(c, node);
}

// Weighted random over the eligible members; the WRITE node when none is
// (also when the READ list is empty: CommCare's rule).
Datum choose(FunctionCallInfo fcinfo, uint64_t min_lsn) {
    const auto &c = pg::catalog();
    const ReadGroupRoute &g = group_arg(fcinfo, c);
    size_t n = g.members.size();
    double weights_buf[stack_members];
    bool eligible_buf[stack_members];
    double *weights = n <= stack_members ? weights_buf : static_cast<double *>(palloc(sizeof(double) * n));
    bool *eligible = n <= stack_members ? eligible_buf : static_cast<bool *>(palloc(sizeof(bool) * n));

    pg::LagView lag;
    for (size_t i = 0; i < n; ++i) {
        const auto &m = g.members[i];
        weights[i] = m.weight;
        if (m.standby < 0) {
            eligible[i] = true; // a primary is always eligible, and has every write
        } else {
            const auto &sb = c.routes.standbys[static_cast<size_t>(m.standby)];
            eligible[i] = lag.evaluate(sb, c.routes.nodes[static_cast<size_t>(sb.node)], min_lsn).eligible();
        }
    }
    int pick = routing::weighted_pick(weights, eligible, n, pg_prng_double(&pg_global_prng_state));
    int32_t node = pick >= 0 ? g.members[static_cast<size_t>(pick)].node : g.write_node;
    pg::count_choice(c, static_cast<size_t>(&g - c.routes.read_groups.data()), node);
    return node_text(c, node);
}

} // namespace

SHARDROUTE_FUNCTION(shardroute_choose_read_node) {
    return choose(fcinfo, 0);
}

SHARDROUTE_FUNCTION(shardroute_choose_read_node_lsn) {
    XLogRecPtr min_lsn = PG_GETARG_LSN(1);
    return choose(fcinfo, min_lsn == InvalidXLogRecPtr ? 0 : min_lsn);
}

// The owning node's eligible standbys (one at random if several), else the node.
SHARDROUTE_FUNCTION(shardroute_read_node_for_key) {
    const auto &c = pg::catalog();
    const routing::ClusterRoute &route = pg::cluster_arg(fcinfo, 0, c);
    int32_t owner = pg::owner_of(route, pg::text_key_shard(fcinfo, route));
    const auto &candidates = c.routes.standbys_of[static_cast<size_t>(owner)];
    if (candidates.empty())
        return node_text(c, owner);
    pg::LagView lag;
    int pick = routing::reservoir_pick(
        candidates.size(),
        [&](size_t i) {
            const auto &sb = c.routes.standbys[static_cast<size_t>(candidates[i])];
            return lag.evaluate(sb, c.routes.nodes[static_cast<size_t>(sb.node)]).eligible();
        },
        []() { return pg_prng_double(&pg_global_prng_state); });
    return node_text(c, pick >= 0 ? c.routes.standbys[static_cast<size_t>(candidates[static_cast<size_t>(pick)])].node
                                  : owner);
}

// One row per registered standby: why it is or is not eligible right now.
SHARDROUTE_FUNCTION(shardroute_standby_status) {
    const auto &c = pg::catalog();
    pg::LagView lag;
    InitMaterializedSRF(fcinfo, 0);
    auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    for (const auto &sb : c.routes.standbys) {
        const std::string &name = c.routes.nodes[static_cast<size_t>(sb.node)];
        pg::StandbyLag l = lag.find(sb, name);
        routing::Verdict v = lag.evaluate(sb, l);
        bool known = !l.stale && l.present;
        Datum values[14];
        bool nulls[14] = {false};
        values[0] = node_text(c, sb.node);
        if (sb.primary != routing::unassigned)
            values[1] = node_text(c, sb.primary);
        else
            nulls[1] = true;
        if (known && l.state)
            values[2] = pg::text_datum(l.state);
        else
            nulls[2] = true;
        if (known && v.replay_lag_us >= 0)
            values[3] = pg::interval_datum(v.replay_lag_us);
        else
            nulls[3] = true;
        if (known && v.lag_bytes)
            values[4] = Int64GetDatum(*v.lag_bytes);
        else
            nulls[4] = true;
        values[5] = pg::interval_datum(sb.limits.max_lag_us);
        if (sb.limits.max_lag_bytes)
            values[6] = Int64GetDatum(*sb.limits.max_lag_bytes);
        else
            nulls[6] = true;
        values[7] = BoolGetDatum(v.eligible());
        values[8] = pg::text_datum(routing::reason_name(v.reason));
        values[9] = pg::text_datum(l.source);
        if (l.sampled)
            values[10] = pg::interval_datum(l.age_us);
        else
            nulls[10] = true; // no sample at all: source says why
        // the lag monitor's record: its last failure for this standby, and its last sample
        if (l.monitor_error) {
            values[11] = pg::text_datum(l.monitor_error);
            values[12] = TimestampTzGetDatum(l.monitor_error_at);
        } else {
            nulls[11] = nulls[12] = true;
        }
        if (l.monitor_ok_at)
            values[13] = TimestampTzGetDatum(l.monitor_ok_at);
        else
            nulls[13] = true;
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    }
    return (Datum)0;
}
