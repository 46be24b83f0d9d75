// PL/Proxy integration: SQL/MED servers generated from the catalog, the
// cluster a read should use, and the check to run before promoting a standby.
#include "common/error.hpp"
#include "plproxy/server_options.hpp"
#include "topology/validate.hpp"

#include <nlohmann/json.hpp>

#include "pg/catalog.hpp"
#include "pg/guard.hpp"
#include "pg/lag_monitor.hpp"
#include "pg/lookup.hpp"
#include "pg/settings.hpp"

extern "C" {
#include "commands/defrem.h"
#include "executor/spi.h"
#include "foreign/foreign.h"
#include "utils/jsonb.h"
}

#include <fmt/format.h>
#include <optional>
#include <string>

using namespace shardroute;

namespace {

std::string arg_string(FunctionCallInfo fcinfo, int argno) {
    text *t = PG_GETARG_TEXT_PP(argno);
    return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

std::string quote_ident(const std::string &s) {
    return pg::pg_call([&s]() { return quote_identifier(s.c_str()); });
}

std::string quote_literal(const std::string &s) {
    return pg::pg_call([&s]() { return quote_literal_cstr(s.c_str()); });
}

// {"query_timeout": 30, ...} -> settings; values may be strings, numbers or booleans.
plproxy::Options settings_from_jsonb(Jsonb *doc) {
    std::string text = pg::pg_call([doc]() { return JsonbToCString(nullptr, &doc->root, VARSIZE(doc)); });
    nlohmann::json j = nlohmann::json::parse(text);
    if (!j.is_object())
        throw Error(sqlstate::invalid_parameter_value, "PL/Proxy options must be a JSON object",
                    "Valid options: " + plproxy::known_settings() + ".");
    plproxy::Options out;
    for (const auto &[key, value] : j.items()) {
        if (value.is_string())
            out.emplace_back(key, value.get<std::string>());
        else if (value.is_boolean())
            out.emplace_back(key, value.get<bool>() ? "1" : "0");
        else if (value.is_number_integer() || value.is_number_unsigned())
            out.emplace_back(key, value.dump());
        else
            throw Error(sqlstate::invalid_parameter_value,
                        fmt::format("PL/Proxy option \"{}\" must be a number, a string or a boolean", key));
    }
    plproxy::check_settings(out);
    return out;
}

// The server's current options, read from its catalog entry (a plain copy).
std::optional<plproxy::Options> server_options_now(const std::string &server, Oid plproxy_fdw) {
    ForeignServer *fs = pg::pg_call([&server]() { return GetForeignServerByName(server.c_str(), true); });
    if (!fs)
        return std::nullopt;
    if (fs->fdwid != plproxy_fdw)
        throw Error(sqlstate::duplicate_object,
                    fmt::format("server \"{}\" exists and is not a PL/Proxy server", server), {},
                    "Pass another server name to shardroute.plproxy_sync().");
    plproxy::Options out;
    ListCell *cell;
    foreach (cell, fs->options) {
        auto *def = static_cast<DefElem *>(lfirst(cell));
        out.emplace_back(def->defname, pg::pg_call([def]() { return defGetString(def); }));
    }
    return out;
}

void execute(const std::string &sql) {
    pg::pg_call([&sql]() {
        if (SPI_connect() != SPI_OK_CONNECT)
            elog(ERROR, "shardroute: SPI_connect failed");
        SPI_execute(sql.c_str(), false, 0);
        SPI_finish();
    });
}

Datum text_datum(const std::string &s) {
    return PointerGetDatum(
        pg::pg_call([&s]() { return cstring_to_text_with_len(s.data(), static_cast<int>(s.size())); }));
}

} // namespace

// plproxy_sync(cluster, server, for_standbys, options) -> server name. Creates the
// server, or alters only the options that differ; a no-op when nothing changed.
SHARDROUTE_FUNCTION(shardroute_plproxy_sync) {
    if (PG_ARGISNULL(0))
        throw Error("22004", "cluster must not be NULL");
    std::string cluster = arg_string(fcinfo, 0);
    bool for_standbys = !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);
    std::string server = !PG_ARGISNULL(1) ? arg_string(fcinfo, 1) : for_standbys ? cluster + "_standby" : cluster;
    std::optional<plproxy::Options> given;
    if (!PG_ARGISNULL(3))
        given = settings_from_jsonb(PG_GETARG_JSONB_P(3));

    Oid fdw = pg::pg_call([]() { return get_foreign_data_wrapper_oid("plproxy", true); });
    if (!OidIsValid(fdw))
        throw Error(sqlstate::undefined_object, "foreign-data wrapper \"plproxy\" does not exist", {},
                    "Install PL/Proxy in this database: CREATE EXTENSION plproxy.");

    topology::Topology t = pg::load_topology();
    auto problems = topology::validate(t);
    if (!problems.empty())
        topology::raise_problems(problems, "cannot generate a PL/Proxy cluster from an invalid topology: ");

    std::optional<plproxy::Options> current = server_options_now(server, fdw);
    plproxy::Options settings; // given ones, else the server's own, else the defaults
    if (given) {
        settings = *given;
    } else if (current) {
        for (const auto &kv : *current)
            if (plproxy::is_setting(kv.first))
                settings.push_back(kv);
    }
    plproxy::Options desired = plproxy::server_options(t, cluster, for_standbys, settings);

    std::string sql;
    if (!current) {
        sql = "CREATE SERVER " + quote_ident(server) + " FOREIGN DATA WRAPPER plproxy OPTIONS (";
        for (size_t i = 0; i < desired.size(); ++i)
            sql += (i ? ", " : "") + quote_ident(desired[i].first) + " " + quote_literal(desired[i].second);
        sql += ")";
    } else {
        auto changes = plproxy::diff(*current, desired);
        if (changes.empty())
            return text_datum(server);
        sql = "ALTER SERVER " + quote_ident(server) + " OPTIONS (";
        for (size_t i = 0; i < changes.size(); ++i) {
            const auto &ch = changes[i];
            sql += i ? ", " : "";
            if (ch.kind == plproxy::Change::drop)
                sql += "DROP " + quote_ident(ch.name);
            else
                sql += (ch.kind == plproxy::Change::add ? "ADD " : "SET ") + quote_ident(ch.name) + " " +
                       quote_literal(ch.value);
        }
        sql += ")";
    }
    execute(sql);
    return text_datum(server);
}

// CLUSTER shardroute.read_cluster('commcarehq'): the standby cluster when
// shardroute.read_from_standbys is on and every shard's standby is eligible,
// else the primary cluster. Runs on every proxied call: cache and shared memory only.
SHARDROUTE_FUNCTION(shardroute_read_cluster) {
    const auto &c = pg::catalog();
    const routing::ClusterRoute &route = pg::cluster_arg(fcinfo, 0, c);
    bool standby = pg::read_from_standbys && !route.nodes.empty();
    if (standby) {
        pg::LagView lag;
        for (int32_t node : route.nodes) {
            const auto &candidates = c.routes.standbys_of[static_cast<size_t>(node)];
            if (candidates.empty()) {
                standby = false;
                break;
            }
            const auto &sb = c.routes.standbys[static_cast<size_t>(candidates.front())]; // as plproxy_sync chose
            if (!lag.evaluate(sb, c.routes.nodes[static_cast<size_t>(sb.node)]).eligible()) {
                standby = false;
                break;
            }
        }
    }
    constexpr char suffix[] = "_standby";
    size_t len = route.name.size() + (standby ? sizeof(suffix) - 1 : 0);
    auto *out = static_cast<text *>(palloc(VARHDRSZ + len));
    SET_VARSIZE(out, VARHDRSZ + len);
    memcpy(VARDATA(out), route.name.data(), route.name.size());
    if (standby)
        memcpy(VARDATA(out) + route.name.size(), suffix, sizeof(suffix) - 1);
    PG_RETURN_TEXT_P(out);
}

// True when the standby's walsender is streaming and has replayed all this
// server flushed: the check to run before promoting it
// (seeds/moving-a-sharded-database.rst, step 6).
SHARDROUTE_FUNCTION(shardroute_replication_caught_up) {
    text *arg = PG_GETARG_TEXT_PP(0); // detoasted before any C++ object exists
    const auto &c = pg::catalog();
    std::string_view name(VARDATA_ANY(arg), VARSIZE_ANY_EXHDR(arg));
    for (const auto &sb : c.routes.standbys) {
        if (c.routes.nodes[static_cast<size_t>(sb.node)] != name)
            continue;
        // caught up = replayed everything this server flushed, not only what
        // was sent: WAL flushed but not yet sent would be lost by a promote
        pg::LocalStandby local = pg::WalSenders().find(sb);
        uint64_t flushed = pg::flushed_wal_lsn();
        PG_RETURN_BOOL(local.present && local.sample.streaming && local.sample.replay_lsn != 0 &&
                       local.sample.replay_lsn >= flushed);
    }
    throw Error(sqlstate::undefined_object, fmt::format("standby \"{}\" does not exist", name), {},
                "Register it with shardroute.add_standby().");
}
