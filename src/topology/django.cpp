#include "topology/django.hpp"

#include "common/error.hpp"
#include "topology/conninfo.hpp"
#include "topology/validate.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <fmt/format.h>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

namespace shardroute::topology {

namespace {

using json = nlohmann::json;

constexpr size_t max_settings_bytes = 16 * 1024 * 1024;
constexpr int max_settings_depth = 32;
constexpr const char *numeric_value_out_of_range = "22003"; // what int4in raises
constexpr double default_delay_seconds = 3;
constexpr double max_delay_seconds = 1e9; // keeps microseconds exact through a float round trip

constexpr std::initializer_list<const char *> top_level_keys = {
    "DATABASES",           "LOAD_BALANCED_APPS",      "PARTITION_DATABASE_CONFIG", "PL_PROXY_CLUSTER_NAME",
    "REPORTING_DATABASES", "USE_PARTITIONED_DATABASE"};
// clang-format off
constexpr std::initializer_list<const char *> entry_keys = {
    "HOST", "PORT", "NAME", "USER", "PASSWORD", "OPTIONS", "ROLE", "CITUS_NODE_NAME", "PLPROXY", "STANDBY",
    // CommCare's legacy spelling of STANDBY's ACCEPTABLE_REPLICATION_DELAY
    "HQ_ACCEPTABLE_STANDBY_DELAY",
    // Django's own, with no catalog meaning: accepted and ignored
    "ENGINE", "TEST", "DISABLE_SERVER_SIDE_CURSORS", "CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "ATOMIC_REQUESTS",
    "AUTOCOMMIT", "TIME_ZONE"};
// clang-format on
constexpr std::initializer_list<const char *> plproxy_keys = {"PLPROXY_HOST", "PROXY", "PROXY_FOR_STANDBYS", "SHARDS"};
// CommCare's older PL/Proxy layout: {"shards": {alias: [first, last]}, "groups": {"proxy": [alias], ...}}, or
// {"shards": ..., "proxy": alias}; host_map maps a HOST to the host PL/Proxy uses, as PLPROXY_HOST does.
constexpr const char *partition_database_config = "PARTITION_DATABASE_CONFIG";
constexpr std::initializer_list<const char *> partition_config_keys = {"groups", "host_map", "proxy", "shards"};
// Django's DEFAULT_DB_ALIAS: CommCare's router reads a bare LOAD_BALANCED_APPS list with it as the WRITE database.
constexpr const char *django_default_alias = "default";
constexpr std::initializer_list<const char *> standby_keys = {"ACCEPTABLE_REPLICATION_DELAY", "APPLICATION_NAME",
                                                              "MASTER", "MAX_LAG_BYTES"};
constexpr std::initializer_list<const char *> read_group_keys = {"READ", "WRITE"};

// ---------------------------------------------------------------- reading JSON

// Settings paths are written as Python subscripts, the way users find them in localsettings.py.
// Keys are user data: a huge one is shortened (clip) so it cannot flood an error or the log.
std::string sub(const std::string &path, const std::string &key) {
    std::string out = path + "['";
    for (char c : clip(key)) {
        if (c == '\'' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "']";
}

// Accepted keys go into hints, so a misspelt key is fixed at the first try.
std::string join(std::initializer_list<const char *> keys) {
    std::string out;
    for (const char *k : keys)
        out += (out.empty() ? "" : ", ") + std::string(k);
    return out;
}

// Every malformed document gets the same SQLSTATE and starts with the setting to fix.
[[noreturn]] void malformed(const std::string &path, const std::string &what, std::string hint = {}) {
    throw Error(sqlstate::invalid_parameter_value, path + " " + what, {}, std::move(hint));
}

// The JSON type as a user reads it in an error message.
const char *type_name(const json &j) {
    switch (j.type()) {
    case json::value_t::object:
        return "an object";
    case json::value_t::array:
        return "an array";
    case json::value_t::string:
        return "a string";
    case json::value_t::boolean:
        return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
        return "an integer";
    case json::value_t::number_float:
        return "a number";
    default:
        return "null";
    }
}

// Type errors name what was expected and what was found, so "PORT: [5432]" is obvious.
void expect(const json &j, bool ok, const std::string &path, const char *expected) {
    if (!ok)
        malformed(path, fmt::format("must be {}, not {}", expected, type_name(j)));
}

// Typed accessors: a wrong type is reported with its setting path instead of nlohmann's type_error.
const json &object_at(const json &j, const std::string &path) {
    expect(j, j.is_object(), path, "an object");
    return j;
}

std::string string_at(const json &j, const std::string &path) {
    expect(j, j.is_string(), path, "a string");
    return j.get<std::string>();
}

bool bool_at(const json &j, const std::string &path) {
    expect(j, j.is_boolean(), path, "a boolean (true or false)");
    return j.get<bool>();
}

// Integers only (5432, not 5432.0), within [lo, hi].
int64_t integer_at(const json &j, const std::string &path, int64_t lo, int64_t hi) {
    expect(j, j.is_number_integer(), path, "an integer");
    bool in_range = j.is_number_unsigned() ? j.get<uint64_t>() <= static_cast<uint64_t>(hi) &&
                                                 (lo <= 0 || j.get<uint64_t>() >= uint64_t(lo))
                                           : j.get<int64_t>() >= lo && j.get<int64_t>() <= hi;
    if (!in_range)
        malformed(path, fmt::format("must be an integer between {} and {}, not {}", lo, hi, j.dump()));
    return j.get<int64_t>();
}

// Any JSON number (not a boolean): weights and delays may be fractional.
double number_at(const json &j, const std::string &path) {
    expect(j, j.is_number(), path, "a number");
    return j.get<double>();
}

// Unknown keys are refused rather than ignored: a misspelt MASTER must not silently make a primary.
void check_keys(const json &obj, const std::string &path, std::initializer_list<const char *> accepted,
                const char *what) {
    for (const auto &item : obj.items())
        if (std::none_of(accepted.begin(), accepted.end(), [&](const char *k) { return item.key() == k; }))
            malformed(sub(path, item.key()), fmt::format("is not a known {}", what),
                      "Accepted keys: " + join(accepted) + ".");
}

// nlohmann parses with its own stack and memory: refuse what would be costly before handing it over.
void check_limits(const std::string &text) {
    if (text.size() > max_settings_bytes)
        throw Error(sqlstate::program_limit_exceeded,
                    fmt::format("settings document is too large ({} bytes)", text.size()),
                    fmt::format("The limit is {} bytes.", max_settings_bytes));
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max_settings_depth)
                throw Error(
                    sqlstate::program_limit_exceeded, "settings document is nested too deeply",
                    fmt::format("Objects and arrays may be nested at most {} levels deep.", max_settings_depth));
        } else if ((c == '}' || c == ']') && depth > 0) {
            --depth;
        }
    }
}

// Every nlohmann failure (syntax, number overflow, bad UTF-8) is the user's document, not our bug.
json parse_json(const std::string &text) {
    check_limits(text);
    try {
        return json::parse(text);
    } catch (const json::exception &e) {
        throw Error(sqlstate::invalid_parameter_value, "settings are not valid JSON", clip(e.what()));
    }
}

// ---------------------------------------------------------------- the document

// One DATABASES entry: the node, plus its part in the PL/Proxy cluster.
struct Entry {
    Node node;
    bool proxy = false;
    bool standby_proxy = false;
    bool has_plproxy = false;                // a PLPROXY key, even empty: refused on standbys
    std::optional<std::string> plproxy_host; // this entry's PLPROXY_HOST, before the host map applies it
    std::optional<std::pair<int, int>> shards;
};

// CommCare keeps one host map (HOST -> the host PL/Proxy uses), filled from every PLPROXY_HOST
// and the legacy host_map: a mapping applies to every database on that HOST.
struct HostMapping {
    std::string plproxy_host;
    std::string setting; // where the document says so, for conflicts
};

// What the document says, before it meets the catalog.
struct Document {
    std::vector<Entry> entries; // sorted by alias (nlohmann objects are sorted)
    std::string cluster_name = default_plproxy_cluster_name;
    std::optional<Cluster> cluster;
    std::vector<ShardRange> ranges;
    std::vector<ReadGroup> groups;
    std::vector<ReadMember> members;
    std::vector<ImportAction> setting_actions;
    std::map<std::string, HostMapping> host_map;
    bool legacy_partition_config = false; // the cluster came from PARTITION_DATABASE_CONFIG

    const Entry *find_entry(const std::string &alias) const {
        for (const auto &e : entries)
            if (e.node.name == alias)
                return &e;
        return nullptr;
    }
    Entry *find_entry(const std::string &alias) {
        return const_cast<Entry *>(static_cast<const Document *>(this)->find_entry(alias));
    }
    // Where the document gives `alias` its shard range, in whichever layout it uses.
    std::string shards_setting(const std::string &alias) const {
        if (legacy_partition_config)
            return sub(sub(partition_database_config, "shards"), alias);
        return sub(sub(sub("DATABASES", alias), "PLPROXY"), "SHARDS");
    }
    const ReadGroup *find_group(const std::string &name) const {
        for (const auto &g : groups)
            if (g.name == name)
                return &g;
        return nullptr;
    }
};

// Django passes OPTIONS to psycopg2 as keyword arguments; libpq wants text.
std::string option_text(const json &v, const std::string &path) {
    if (v.is_string())
        return v.get<std::string>();
    if (v.is_boolean())
        return v.get<bool>() ? "1" : "0";
    if (v.is_number_unsigned())
        return std::to_string(v.get<uint64_t>());
    if (v.is_number_integer())
        return std::to_string(v.get<int64_t>());
    if (v.is_number_float())
        return fmt::format("{}", v.get<double>());
    expect(v, false, path, "a string, a number or a boolean");
    return {};
}

// USER first, then OPTIONS in key order: one canonical text, so export and re-import agree.
std::optional<std::string> node_options(const json &entry, const std::string &path) {
    Options options;
    if (entry.contains("USER"))
        options.emplace_back("user", string_at(entry["USER"], sub(path, "USER")));
    if (entry.contains("OPTIONS")) {
        std::string opath = sub(path, "OPTIONS");
        for (const auto &item : object_at(entry["OPTIONS"], opath).items()) {
            const std::string &key = item.key();
            bool word = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
                return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
            });
            if (!word)
                malformed(sub(opath, key), "is not a libpq connection keyword");
            if (key == "user")
                malformed(sub(opath, key), "is not accepted here", "Set the user with " + sub(path, "USER") + ".");
            options.emplace_back(key, option_text(item.value(), sub(opath, key)));
        }
    }
    if (options.empty())
        return std::nullopt;
    return format_options(options);
}

// Django writes PORT as a string ('5432') or a number; '' means the libpq default. The SQL layer
// parses strings with int4in, so its errors read like PostgreSQL's own.
int entry_port(const json &entry, const std::string &path, const PortParser &parse_port) {
    if (!entry.contains("PORT"))
        return 5432;
    const json &p = entry["PORT"];
    std::string ppath = sub(path, "PORT");
    if (p.is_number_integer())
        return static_cast<int>(integer_at(p, ppath, INT_MIN, INT_MAX));
    expect(p, p.is_string(), ppath, "an integer or a string");
    std::string text = p.get<std::string>();
    if (text.empty())
        return 5432;
    try {
        return parse_port(text);
    } catch (const Error &e) {
        throw Error(e.code(), ppath + ": " + clip(e.what()), e.detail(), e.hint());
    }
}

// [first, last], inclusive. A reversed pair is the range rule's error, said before any count is derived from it.
std::pair<int, int> read_shards(const json &s, const std::string &spath) {
    if (!s.is_array() || s.size() != 2)
        malformed(spath, fmt::format("must be [first, last], two integers, not {}",
                                     s.is_array() ? fmt::format("{} items", s.size()) : type_name(s)));
    // shard_count = last + 1 must fit an int4
    int first = static_cast<int>(integer_at(s[0], spath + "[0]", 0, INT_MAX - 1));
    int last = static_cast<int>(integer_at(s[1], spath + "[1]", 0, INT_MAX - 1));
    if (first > last)
        throw Error(sqlstate::check_violation,
                    fmt::format("{}: invalid range: shards [{}, {}]: need 0 <= first <= last", spath, first, last), {},
                    "SHARDS is [first, last], both inclusive: [0, 511] holds shards 0 to 511.");
    return {first, last};
}

// A host PL/Proxy must use instead of `host`; two different ones for one HOST contradict each other.
void map_host(Document &doc, const std::string &host, const std::string &plproxy_host, const std::string &setting) {
    auto [it, added] = doc.host_map.try_emplace(host, HostMapping{plproxy_host, setting});
    if (!added && it->second.plproxy_host != plproxy_host)
        throw Error(sqlstate::invalid_parameter_value,
                    fmt::format("{} maps host \"{}\" to \"{}\", but {} maps it to \"{}\"", setting, clip(host),
                                clip(plproxy_host), it->second.setting, clip(it->second.plproxy_host)),
                    {},
                    "PL/Proxy reaches every database on one HOST through the same host: give them one PLPROXY_HOST.");
}

// PLPROXY only marks the entry; the cluster is assembled once every entry is read.
void read_plproxy(const json &j, const std::string &path, Entry &e) {
    check_keys(object_at(j, path), path, plproxy_keys, "PLPROXY setting");
    e.has_plproxy = true;
    if (j.contains("PROXY"))
        e.proxy = bool_at(j["PROXY"], sub(path, "PROXY"));
    if (j.contains("PROXY_FOR_STANDBYS"))
        e.standby_proxy = bool_at(j["PROXY_FOR_STANDBYS"], sub(path, "PROXY_FOR_STANDBYS"));
    if (j.contains("SHARDS"))
        e.shards = read_shards(j["SHARDS"], sub(path, "SHARDS"));
    if (j.contains("PLPROXY_HOST")) {
        std::string hpath = sub(path, "PLPROXY_HOST");
        e.plproxy_host = string_at(j["PLPROXY_HOST"], hpath);
        if (e.plproxy_host->empty())
            malformed(hpath, "is empty", "PLPROXY_HOST is the host PL/Proxy connects to instead of HOST.");
    }
}

// A replication delay in seconds (fractions allowed), as microseconds.
int64_t delay_at(const json &j, const std::string &path) {
    double seconds = number_at(j, path);
    if (!(std::fabs(seconds) <= max_delay_seconds))
        malformed(path, fmt::format("must be a number of seconds up to {:.0f}", max_delay_seconds));
    return std::llround(seconds * 1e6);
}

// CommCare's STANDBY group, plus shardroute's MAX_LAG_BYTES and APPLICATION_NAME, which CommCare ignores.
void read_standby(const json &j, const std::string &path, Node &n) {
    check_keys(object_at(j, path), path, standby_keys, "STANDBY setting");
    if (!j.contains("MASTER"))
        malformed(path, "has no MASTER", "MASTER is the alias of the database this standby replicates.");
    n.primary_node = string_at(j["MASTER"], sub(path, "MASTER"));
    n.max_lag_us = std::llround(default_delay_seconds * 1e6);
    if (j.contains("ACCEPTABLE_REPLICATION_DELAY"))
        n.max_lag_us = delay_at(j["ACCEPTABLE_REPLICATION_DELAY"], sub(path, "ACCEPTABLE_REPLICATION_DELAY"));
    if (j.contains("MAX_LAG_BYTES"))
        n.max_lag_bytes = integer_at(j["MAX_LAG_BYTES"], sub(path, "MAX_LAG_BYTES"), INT64_MIN, INT64_MAX);
    if (j.contains("APPLICATION_NAME"))
        n.application_name = string_at(j["APPLICATION_NAME"], sub(path, "APPLICATION_NAME"));
}

// One DATABASES entry to a node; rules across entries are the validator's job.
Entry read_entry(const std::string &alias, const json &j, const PortParser &parse_port, Document &doc) {
    std::string path = sub("DATABASES", alias);
    check_keys(object_at(j, path), path, entry_keys, "database setting");
    Entry e;
    Node &n = e.node;
    n.name = alias;
    if (!j.contains("HOST"))
        malformed(path, "has no HOST", "shardroute needs a host name or address for every database.");
    n.host = string_at(j["HOST"], sub(path, "HOST"));
    if (n.host.empty())
        malformed(sub(path, "HOST"), "is empty", "shardroute needs a host name or address for every database.");
    n.port = entry_port(j, path, parse_port);
    if (j.contains("NAME"))
        n.dbname = string_at(j["NAME"], sub(path, "NAME"));
    n.options = node_options(j, path);
    if (j.contains("PASSWORD")) {
        const json &pw = j["PASSWORD"];
        if (!pw.is_null() && !(pw.is_string() && pw.get<std::string>().empty()))
            doc.setting_actions.push_back(
                {"setting", sub(path, "PASSWORD"),
                 "ignored: passwords never enter the catalog (use .pgpass or a user mapping)"});
    }
    if (j.contains("ROLE")) {
        std::string role = string_at(j["ROLE"], sub(path, "ROLE"));
        if (role == "citus_master")
            n.citus_role = "coordinator";
        else if (role == "citus_worker")
            n.citus_role = "worker";
        else
            malformed(sub(path, "ROLE"),
                      fmt::format("is \"{}\", neither 'citus_master' nor 'citus_worker'", clip(role)));
    }
    if (j.contains("CITUS_NODE_NAME"))
        n.citus_node_name = string_at(j["CITUS_NODE_NAME"], sub(path, "CITUS_NODE_NAME"));
    if (j.contains("PLPROXY"))
        read_plproxy(j["PLPROXY"], sub(path, "PLPROXY"), e);
    if (j.contains("STANDBY")) {
        read_standby(j["STANDBY"], sub(path, "STANDBY"), n);
        // CommCare's config check refuses it too (test_get_standby_plproxy_config_misconfigured)
        if (e.has_plproxy)
            throw Error(sqlstate::check_violation,
                        sub(path, "PLPROXY") + ": standby databases should not have PLPROXY configuration", {},
                        "The standby cluster is built from each shard database's standby (STANDBY MASTER) and the "
                        "PROXY_FOR_STANDBYS database: remove PLPROXY from the standby.");
    }
    if (j.contains("HQ_ACCEPTABLE_STANDBY_DELAY")) {
        // CommCare reads STANDBY's ACCEPTABLE_REPLICATION_DELAY first, then this legacy key
        std::string dpath = sub(path, "HQ_ACCEPTABLE_STANDBY_DELAY");
        int64_t delay = delay_at(j["HQ_ACCEPTABLE_STANDBY_DELAY"], dpath);
        if (!n.is_standby()) {
            doc.setting_actions.push_back(
                {"setting", dpath,
                 "ignored: not a standby (add STANDBY {'MASTER': ...} to route reads to it by replication delay)"});
        } else if (j["STANDBY"].contains("ACCEPTABLE_REPLICATION_DELAY")) {
            doc.setting_actions.push_back(
                {"setting", dpath, "ignored: STANDBY's ACCEPTABLE_REPLICATION_DELAY takes precedence"});
        } else {
            n.max_lag_us = delay;
            doc.setting_actions.push_back(
                {"setting", dpath, "legacy: exported as " + sub(sub(path, "STANDBY"), "ACCEPTABLE_REPLICATION_DELAY")});
        }
    }
    if (e.plproxy_host)
        map_host(doc, n.host, *e.plproxy_host, sub(sub(path, "PLPROXY"), "PLPROXY_HOST"));
    return e;
}

// A READ list, [[alias, weight], ...]; empty is allowed (reads then go to the WRITE database).
void read_list(const std::string &name, const json &read, const std::string &rpath, Document &doc) {
    expect(read, read.is_array(), rpath, "an array of [alias, weight] pairs");
    std::set<std::string> seen;
    for (size_t i = 0; i < read.size(); ++i) {
        std::string ipath = fmt::format("{}[{}]", rpath, i);
        const json &pair = read[i];
        if (!pair.is_array() || pair.size() != 2)
            malformed(ipath, fmt::format("must be an [alias, weight] pair, not {}",
                                         pair.is_array() ? fmt::format("{} items", pair.size()) : type_name(pair)));
        ReadMember m{name, string_at(pair[0], ipath + "[0]"), number_at(pair[1], ipath + "[1]")};
        if (!seen.insert(m.node).second)
            malformed(rpath, fmt::format("lists \"{}\" more than once", clip(m.node)));
        doc.members.push_back(std::move(m));
    }
}

// {"WRITE": alias, "READ": [[alias, weight], ...]}; in REPORTING_DATABASES also a bare alias, in
// LOAD_BALANCED_APPS also a bare READ list.
void read_group(const std::string &setting, const std::string &name, const json &j, Document &doc) {
    std::string path = sub(setting, name);
    if (doc.find_group(name))
        malformed(path, fmt::format("is defined in both {} and {}", reporting_databases, load_balanced_apps),
                  "A read group name must be unique across both settings.");
    ReadGroup g{name, {}, setting};
    if (setting == reporting_databases && j.is_string()) {
        g.write_node = j.get<std::string>();
        doc.groups.push_back(g);
        return;
    }
    if (setting == load_balanced_apps && j.is_array()) {
        // the bare list CommCare's router reads: reads among the list, everything else on 'default'
        g.write_node = django_default_alias;
        read_list(name, j, path, doc);
        doc.groups.push_back(g);
        doc.setting_actions.push_back(
            {"setting", path,
             fmt::format("legacy: WRITE is '{}'; exported as {{'WRITE': '{}', 'READ': [...]}}", django_default_alias,
                         django_default_alias)});
        return;
    }
    expect(j, j.is_object(), path,
           setting == reporting_databases ? "a database alias or an object with WRITE and READ"
                                          : "an object with WRITE and READ, or a list of [alias, weight] pairs");
    check_keys(j, path, read_group_keys, "read group setting");
    if (!j.contains("WRITE") || !j.contains("READ"))
        malformed(path, "must have both WRITE and READ");
    g.write_node = string_at(j["WRITE"], sub(path, "WRITE"));
    read_list(name, j["READ"], sub(path, "READ"), doc);
    doc.groups.push_back(g);
}

// Aliases a legacy setting names must be DATABASES entries (CommCare: "... not in found in DATABASES").
Entry &legacy_entry(Document &doc, const std::string &alias, const std::string &path) {
    Entry *e = doc.find_entry(alias);
    if (!e)
        malformed(path, fmt::format("names \"{}\", which is not in DATABASES", clip(alias)));
    return *e;
}

// PARTITION_DATABASE_CONFIG, CommCare's older layout, marks the same entries PLPROXY would; export writes PLPROXY.
void read_partition_config(const json &j, Document &doc) {
    const std::string path = partition_database_config;
    check_keys(object_at(j, path), path, partition_config_keys, "PARTITION_DATABASE_CONFIG setting");
    for (const auto &e : doc.entries)
        if (e.has_plproxy)
            malformed(path,
                      "and " + sub(sub("DATABASES", e.node.name), "PLPROXY") + " both describe the PL/Proxy cluster",
                      "Keep one of them: export_django_settings() writes the PLPROXY form.");
    doc.legacy_partition_config = true;
    std::optional<std::string> proxy;
    if (j.contains("groups")) {
        std::string gpath = sub(path, "groups");
        for (const auto &group : object_at(j["groups"], gpath).items()) {
            std::string ipath = sub(gpath, group.key());
            expect(group.value(), group.value().is_array(), ipath, "an array of database aliases");
            for (size_t i = 0; i < group.value().size(); ++i)
                legacy_entry(doc, string_at(group.value()[i], fmt::format("{}[{}]", ipath, i)),
                             fmt::format("{}[{}]", ipath, i));
            if (group.key() == "proxy") {
                if (group.value().size() != 1)
                    malformed(ipath, fmt::format("must name exactly one database, not {}", group.value().size()));
                proxy = group.value()[0].get<std::string>();
            }
        }
    }
    if (j.contains("proxy")) {
        std::string ppath = sub(path, "proxy");
        std::string alias = string_at(j["proxy"], ppath);
        if (proxy && *proxy != alias)
            malformed(ppath, fmt::format("is \"{}\", but {} is \"{}\"", clip(alias), sub(sub(path, "groups"), "proxy"),
                                         clip(*proxy)));
        legacy_entry(doc, alias, ppath);
        proxy = alias;
    }
    if (proxy)
        doc.find_entry(*proxy)->proxy = true;
    if (j.contains("shards")) {
        std::string spath = sub(path, "shards");
        for (const auto &item : object_at(j["shards"], spath).items()) {
            std::string ipath = sub(spath, item.key());
            legacy_entry(doc, item.key(), ipath).shards = read_shards(item.value(), ipath);
        }
    }
    if (j.contains("host_map")) {
        std::string hpath = sub(path, "host_map");
        for (const auto &item : object_at(j["host_map"], hpath).items()) {
            std::string ipath = sub(hpath, item.key());
            std::string to = string_at(item.value(), ipath);
            if (to.empty())
                malformed(ipath, "is empty", "host_map maps a HOST to the host PL/Proxy connects to instead.");
            map_host(doc, item.key(), to, ipath);
        }
    }
    doc.setting_actions.push_back({"setting", path, "legacy: exported as DATABASES[...]['PLPROXY']"});
}

// The PL/Proxy cluster the entries describe, with CommCare's one-proxy rule.
void build_cluster(Document &doc, const Topology &current) {
    std::vector<std::string> proxies, standby_proxies;
    const Entry *top = nullptr; // the entry holding the highest shard: it sets the count
    for (const auto &e : doc.entries) {
        if (e.proxy)
            proxies.push_back(e.node.name);
        if (e.standby_proxy)
            standby_proxies.push_back(e.node.name);
        if (e.shards) {
            doc.ranges.push_back({doc.cluster_name, e.node.name, e.shards->first, e.shards->second});
            if (!top || e.shards->second > top->shards->second)
                top = &e;
        }
    }
    // PLPROXY: {} (or only false flags) says nothing about a cluster, and could not be exported back.
    if (proxies.empty() && standby_proxies.empty() && !top)
        return;
    for (const auto &[list, flag] : {std::pair{&proxies, "PROXY"}, {&standby_proxies, "PROXY_FOR_STANDBYS"}}) {
        if (list->size() < 2)
            continue;
        std::string where;
        for (const auto &alias : *list)
            where += (where.empty() ? "" : ", ") + sub(sub(sub("DATABASES", alias), "PLPROXY"), flag);
        throw Error(sqlstate::check_violation,
                    fmt::format("There can only be one DB with {}=True (found {}: {})", flag, list->size(), where), {},
                    fmt::format("Cluster \"{}\" has one proxy database.", clip(doc.cluster_name)));
    }
    // CommCare's PartitionValidationError: the cluster is reached through its proxy, so one must exist
    if (proxies.empty()) {
        std::string where = doc.legacy_partition_config ? std::string(partition_database_config)
                            : top
                                ? doc.shards_setting(top->node.name)
                                : sub(sub(sub("DATABASES", standby_proxies.front()), "PLPROXY"), "PROXY_FOR_STANDBYS");
        throw Error(sqlstate::check_violation,
                    fmt::format("{}: no PROXY database: PL/Proxy cluster \"{}\" needs one database with "
                                "PLPROXY {{'PROXY': True}}",
                                where, clip(doc.cluster_name)),
                    {},
                    doc.legacy_partition_config
                        ? "Name it in PARTITION_DATABASE_CONFIG['proxy'] or ['groups']['proxy']."
                        : "Mark the database holding the PL/Proxy functions with PLPROXY: {\"PROXY\": true}.");
    }
    Cluster cl;
    cl.name = doc.cluster_name;
    cl.algorithm = "siphash24";
    if (!proxies.empty())
        cl.proxy_node = proxies.front();
    if (!standby_proxies.empty())
        cl.standby_proxy_node = standby_proxies.front();
    const Cluster *old = current.find_cluster(cl.name);
    if (old)
        cl.shard_count = old->shard_count; // a document without SHARDS keeps the count
    if (top) {
        int count = top->shards->second + 1;
        Cluster after = cl;
        after.shard_count = count;
        if (old) {
            auto changed = check_cluster_change(*old, after);
            if (!changed.empty())
                throw Error(sqlstate::check_violation, doc.shards_setting(top->node.name) + ": " + changed[0].message,
                            fmt::format("The catalog's cluster {} (PL_PROXY_CLUSTER_NAME) has {} shards; the SHARDS "
                                        "ranges end at shard {}.",
                                        quoted_name(cl.name), old->shard_count, count - 1),
                            changed[0].hint);
        }
        cl.shard_count = count;
    }
    doc.cluster = cl;
}

// The whole document, refused at the first malformed setting; `current` only supplies the shard count.
Document read_document(const std::string &settings_json, const Topology &current, const PortParser &parse_port) {
    json root = parse_json(settings_json);
    if (!root.is_object())
        throw Error(sqlstate::invalid_parameter_value,
                    fmt::format("settings must be a JSON object, not {}", type_name(root)), {},
                    "Pass {\"DATABASES\": {...}, \"REPORTING_DATABASES\": {...}, ...} as in localsettings.py.");
    for (const auto &item : root.items())
        if (std::none_of(top_level_keys.begin(), top_level_keys.end(), [&](const char *k) { return item.key() == k; }))
            throw Error(sqlstate::invalid_parameter_value, fmt::format("unknown setting \"{}\"", clip(item.key())), {},
                        "Accepted settings: " + join(top_level_keys) + ".");
    Document doc;
    if (root.contains("USE_PARTITIONED_DATABASE"))
        bool_at(root["USE_PARTITIONED_DATABASE"], "USE_PARTITIONED_DATABASE");
    if (root.contains("PL_PROXY_CLUSTER_NAME"))
        doc.cluster_name = string_at(root["PL_PROXY_CLUSTER_NAME"], "PL_PROXY_CLUSTER_NAME");
    if (root.contains("DATABASES"))
        for (const auto &item : object_at(root["DATABASES"], "DATABASES").items())
            doc.entries.push_back(read_entry(item.key(), item.value(), parse_port, doc));
    if (root.contains(partition_database_config))
        read_partition_config(root[partition_database_config], doc);
    // the host map applies to every database on a mapped HOST, standbys included
    for (auto &e : doc.entries) {
        auto it = doc.host_map.find(e.node.host);
        if (it != doc.host_map.end())
            e.node.plproxy_host = it->second.plproxy_host;
    }
    for (const auto setting : {reporting_databases, load_balanced_apps}) {
        std::string key(setting);
        if (root.contains(key))
            for (const auto &item : object_at(root[key], key).items())
                read_group(key, item.key(), item.value(), doc);
    }
    build_cluster(doc, current);
    return doc;
}

// ---------------------------------------------------------------- merging

// libpq reads options in any order: typed in another order (or empty rather than absent) they
// are still the same options, and the catalog's spelling should not show up as a change.
bool same_options(const std::optional<std::string> &a, const std::optional<std::string> &b) {
    try {
        Options x = parse_options(a.value_or("")), y = parse_options(b.value_or(""));
        auto by_key = [](const auto &l, const auto &r) { return l.first < r.first; };
        std::stable_sort(x.begin(), x.end(), by_key);
        std::stable_sort(y.begin(), y.end(), by_key);
        return x == y;
    } catch (const Error &) {
        return false;
    }
}

// Sorting by a key tuple reads better than a hand-written comparator per type.
template <typename T, typename Key> void sort_by(std::vector<T> &v, Key key) {
    std::sort(v.begin(), v.end(), [&](const T &a, const T &b) { return key(a) < key(b); });
}

// One order for every list, so equal catalogs compare equal and actions come out sorted.
void sort_topology(Topology &t) {
    sort_by(t.nodes, [](const Node &n) { return n.name; });
    sort_by(t.clusters, [](const Cluster &c) { return c.name; });
    sort_by(t.ranges, [](const ShardRange &r) { return std::tie(r.cluster, r.first, r.last, r.node); });
    sort_by(t.read_groups, [](const ReadGroup &g) { return g.name; });
    sort_by(t.members, [](const ReadMember &m) { return std::tie(m.read_group, m.node); });
}

// A document object replaces the catalog's object of the same name, wherever it sits.
template <typename T> void put_named(std::vector<T> &v, const T &x) {
    for (auto &y : v)
        if (y.name == x.name) {
            y = x;
            return;
        }
    v.push_back(x);
}

// replace=false: the document's objects over the catalog; replace=true: the document alone.
Topology merge(const Document &doc, const Topology &current, bool replace) {
    Topology t;
    if (!replace)
        t = current;
    for (const auto &e : doc.entries) {
        Node n = e.node;
        const Node *old = current.find_node(n.name);
        if (old && same_options(old->options, n.options))
            n.options = old->options; // keep the catalog's spelling
        put_named(t.nodes, n);
    }
    if (doc.cluster) {
        put_named(t.clusters, *doc.cluster);
        t.ranges.erase(std::remove_if(t.ranges.begin(), t.ranges.end(),
                                      [&](const ShardRange &r) { return r.cluster == doc.cluster->name; }),
                       t.ranges.end());
        t.ranges.insert(t.ranges.end(), doc.ranges.begin(), doc.ranges.end());
    }
    for (const auto &g : doc.groups) {
        put_named(t.read_groups, g);
        t.members.erase(std::remove_if(t.members.begin(), t.members.end(),
                                       [&](const ReadMember &m) { return m.read_group == g.name; }),
                        t.members.end());
    }
    t.members.insert(t.members.end(), doc.members.begin(), doc.members.end());
    sort_topology(t);
    return t;
}

// ---------------------------------------------------------------- validation

// Where in a DATABASES entry a node's field is set. Every field is named here:
// a new one fails the build (-Wswitch) until it says where it lives in Django.
std::string database_key(Field field) {
    switch (field) {
    case Field::host:
        return "['HOST']";
    case Field::port:
        return "['PORT']";
    case Field::dbname:
        return "['NAME']";
    case Field::options:
        return "['OPTIONS']";
    case Field::citus_role:
        return "['ROLE']";
    case Field::citus_node_name:
        return "['CITUS_NODE_NAME']";
    case Field::plproxy_host:
        return "['PLPROXY']['PLPROXY_HOST']";
    case Field::primary_node:
        return "['STANDBY']['MASTER']";
    case Field::max_lag:
        return "['STANDBY']['ACCEPTABLE_REPLICATION_DELAY']";
    case Field::max_lag_bytes:
        return "['STANDBY']['MAX_LAG_BYTES']";
    case Field::application_name:
        return "['STANDBY']['APPLICATION_NAME']";
    case Field::none:
    case Field::name: // the alias itself
    case Field::shard_count:
    case Field::algorithm:
    case Field::proxy_node:
    case Field::standby_proxy_node:
    case Field::shards:
    case Field::cluster:
    case Field::node:
    case Field::write_node:
    case Field::setting:
    case Field::read_list:
    case Field::read_group:
    case Field::weight:
        return "";
    }
    return "";
}

// The Django setting a problem comes from, so the user knows which line of localsettings.py to fix.
// Objects that stay from the catalog keep the validator's own label.
std::string setting_of(const Problem &p, const Document &doc, const Topology &target) {
    switch (p.kind) {
    case ObjectKind::node: {
        if (!doc.find_entry(p.name))
            break;
        return sub("DATABASES", p.name) + database_key(p.field);
    }
    case ObjectKind::cluster: {
        if (!doc.cluster || doc.cluster->name != p.name)
            break;
        const Cluster *cl = target.find_cluster(p.name);
        if (doc.legacy_partition_config)
            return partition_database_config;
        if (cl && cl->proxy_node && doc.find_entry(*cl->proxy_node))
            return sub(sub("DATABASES", *cl->proxy_node), "PLPROXY");
        return fmt::format("PL_PROXY_CLUSTER_NAME '{}'", clip(p.name));
    }
    case ObjectKind::shard_range:
        if (!doc.cluster || doc.cluster->name != p.name)
            break;
        return doc.shards_setting(p.detail);
    case ObjectKind::read_group:
    case ObjectKind::read_member: {
        const ReadGroup *g = doc.find_group(p.name);
        if (!g)
            break;
        bool read_list = p.kind == ObjectKind::read_member || p.field == Field::read_list;
        return sub(g->setting, g->name) + (read_list ? "['READ']" : "");
    }
    }
    return p.object();
}

// Like raise_problems, but every line starts with the setting the user has to edit.
[[noreturn]] void raise_setting_problems(const std::vector<Problem> &problems, const Document &doc,
                                         const Topology &target) {
    std::string detail;
    for (const auto &p : problems)
        detail += (detail.empty() ? "" : "\n") + setting_of(p, doc, target) + ": " + p.message;
    const Problem &first = problems.front();
    // the detail lists every problem; with only one, the message already says it all
    throw Error(sqlstate::check_violation, setting_of(first, doc, target) + ": " + first.message,
                problems.size() > 1 ? detail : std::string(), first.hint);
}

// ---------------------------------------------------------------- actions

// A cluster's ranges in a fixed order: compared for "updated", and written as SHARDS.
std::vector<ShardRange> ranges_of(const Topology &t, const std::string &cluster) {
    std::vector<ShardRange> out;
    for (const auto &r : t.ranges)
        if (r.cluster == cluster)
            out.push_back(r);
    sort_by(out, [](const ShardRange &r) { return std::tie(r.first, r.last, r.node); });
    return out;
}

// A group's READ list in a fixed order: compared for "updated", and exported sorted by alias.
std::vector<ReadMember> members_of(const Topology &t, const std::string &group) {
    std::vector<ReadMember> out;
    for (const auto &m : t.members)
        if (m.read_group == group)
            out.push_back(m);
    sort_by(out, [](const ReadMember &m) { return m.node; });
    return out;
}

// The one word each import row reports.
const char *change(bool existed, bool same) {
    return !existed ? "created" : same ? "unchanged" : "updated";
}

// Rows in a fixed order: nodes, cluster, read groups, settings, then what replace=true drops.
std::vector<ImportAction> plan_actions(const Document &doc, const Topology &current, const Topology &target,
                                       bool replace) {
    std::vector<ImportAction> out;
    for (const auto &n : target.nodes) {
        if (!doc.find_entry(n.name))
            continue;
        const Node *old = current.find_node(n.name);
        out.push_back({n.is_standby() ? "standby" : "node", n.name, change(old, old && *old == n)});
    }
    if (doc.cluster) {
        const std::string &name = doc.cluster->name;
        const Cluster *old = current.find_cluster(name);
        bool same = old && *old == *target.find_cluster(name) && ranges_of(current, name) == ranges_of(target, name);
        out.push_back({"cluster", name, change(old, same)});
    }
    for (const auto &g : target.read_groups) {
        if (!doc.find_group(g.name))
            continue;
        const ReadGroup *old = current.find_read_group(g.name);
        bool same = old && *old == g && members_of(current, g.name) == members_of(target, g.name);
        out.push_back({"read_group", g.name, change(old, same)});
    }
    out.insert(out.end(), doc.setting_actions.begin(), doc.setting_actions.end());
    if (replace) {
        Topology sorted = current;
        sort_topology(sorted);
        for (const auto &n : sorted.nodes)
            if (!target.find_node(n.name))
                out.push_back({n.is_standby() ? "standby" : "node", n.name, "dropped"});
        for (const auto &c : sorted.clusters)
            if (!target.find_cluster(c.name))
                out.push_back({"cluster", c.name, "dropped"});
        for (const auto &g : sorted.read_groups)
            if (!target.find_read_group(g.name))
                out.push_back({"read_group", g.name, "dropped"});
    }
    return out;
}

// ---------------------------------------------------------------- export

// Exporting must never silently drop part of the catalog: what Django cannot say is an error.
[[noreturn]] void not_expressible(const std::string &what, const std::string &hint) {
    throw Error(sqlstate::feature_not_supported, what + ": not expressible in Django settings", {}, hint);
}

// Whole numbers as integers, so weights and delays read back as the user wrote them.
json number(double x) {
    if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 9007199254740992.0)
        return static_cast<int64_t>(x);
    return x;
}

// One DATABASES entry, without PLPROXY (export_cluster adds it); USER is split back out of the options.
json entry_of(const Node &n) {
    json e = json::object();
    e["HOST"] = n.host;
    e["PORT"] = n.port;
    if (n.dbname)
        e["NAME"] = *n.dbname;
    if (n.options) {
        json options = json::object();
        bool have_user = false;
        for (const auto &[key, value] : parse_options(*n.options)) {
            if (key == "user" && !have_user) {
                e["USER"] = value;
                have_user = true;
            } else if (options.contains(key) || key == "user") {
                not_expressible(fmt::format("node \"{}\" repeats option \"{}\"", n.name, key),
                                "OPTIONS is a dictionary: give each libpq keyword once (shardroute.alter_node).");
            } else {
                options[key] = value;
            }
        }
        if (!options.empty())
            e["OPTIONS"] = options;
    }
    if (n.citus_role) {
        if (*n.citus_role == "coordinator")
            e["ROLE"] = "citus_master";
        else if (*n.citus_role == "worker")
            e["ROLE"] = "citus_worker";
        else
            not_expressible(fmt::format("citus_role \"{}\" of node \"{}\"", *n.citus_role, n.name),
                            "Django's ROLE is citus_master or citus_worker.");
    }
    if (n.citus_node_name)
        e["CITUS_NODE_NAME"] = *n.citus_node_name;
    if (n.primary_node) {
        json s = json::object();
        s["MASTER"] = *n.primary_node;
        if (n.max_lag_us)
            s["ACCEPTABLE_REPLICATION_DELAY"] =
                *n.max_lag_us % 1000000 == 0 ? json(*n.max_lag_us / 1000000) : json(*n.max_lag_us / 1e6);
        if (n.max_lag_bytes)
            s["MAX_LAG_BYTES"] = *n.max_lag_bytes;
        if (n.application_name)
            s["APPLICATION_NAME"] = *n.application_name;
        e["STANDBY"] = s;
    }
    return e;
}

// CommCare has one PL/Proxy cluster, and one SHARDS pair per database.
void export_cluster(const Topology &t, json &doc, json &dbs) {
    if (t.clusters.size() > 1) {
        std::string names;
        for (const auto &c : t.clusters)
            names += (names.empty() ? "\"" : ", \"") + c.name + "\"";
        not_expressible("more than one cluster (" + names + ")",
                        "CommCare settings describe one PL/Proxy cluster (PL_PROXY_CLUSTER_NAME).");
    }
    for (const auto &r : t.ranges)
        if (t.clusters.empty() || r.cluster != t.clusters.front().name)
            not_expressible(fmt::format("shards of unknown cluster \"{}\"", r.cluster),
                            "Run shardroute.check_topology().");
    if (t.clusters.empty())
        return;
    const Cluster &cl = t.clusters.front();
    if (cl.algorithm != "siphash24")
        not_expressible(fmt::format("cluster \"{}\" uses algorithm \"{}\"", cl.name, cl.algorithm),
                        "CommCare's PL/Proxy functions hash with siphash24.");
    auto plproxy = [&](const std::string &node) -> json & {
        if (!dbs.contains(node))
            not_expressible(fmt::format("cluster \"{}\" names unknown node \"{}\"", cl.name, node),
                            "Run shardroute.check_topology().");
        return dbs[node]["PLPROXY"];
    };
    if (cl.proxy_node)
        plproxy(*cl.proxy_node)["PROXY"] = true;
    if (cl.standby_proxy_node)
        plproxy(*cl.standby_proxy_node)["PROXY_FOR_STANDBYS"] = true;
    for (const auto &r : ranges_of(t, cl.name)) {
        json &p = plproxy(r.node);
        if (p.contains("SHARDS"))
            not_expressible(
                fmt::format("node \"{}\" holds more than one shard range of cluster \"{}\"", r.node, cl.name),
                "Django's SHARDS is one [first, last] pair per database: give each node one "
                "continuous range (shardroute.assign_shards).");
        p["SHARDS"] = json::array({r.first, r.last});
    }
    // import refuses a cluster without PROXY (as CommCare does), so export cannot write one
    if (!cl.proxy_node)
        not_expressible(fmt::format("cluster \"{}\" has no proxy node", cl.name),
                        "CommCare's PL/Proxy cluster needs a database with PLPROXY {'PROXY': True}: set "
                        "shardroute.shard_cluster.proxy_node, or drop the cluster with shardroute.drop_cluster().");
    doc["PL_PROXY_CLUSTER_NAME"] = cl.name;
}

// PLPROXY_HOST maps a HOST for every database on it, so nodes sharing a host must agree, and a
// standby's (it may not carry PLPROXY) needs a primary on the same host to carry it.
void export_plproxy_hosts(const Topology &t, json &dbs) {
    std::map<std::string, std::vector<const Node *>> by_host;
    for (const auto &n : t.nodes)
        by_host[n.host].push_back(&n);
    for (const auto &[host, nodes] : by_host) {
        const Node *mapped = nullptr, *carrier = nullptr;
        for (const Node *n : nodes) {
            if (n->plproxy_host && !mapped)
                mapped = n;
            if (!n->is_standby() && !carrier)
                carrier = n;
        }
        if (!mapped)
            continue;
        for (const Node *n : nodes)
            if (n->plproxy_host != mapped->plproxy_host)
                not_expressible(fmt::format("nodes \"{}\" and \"{}\" share host \"{}\" but not plproxy_host",
                                            mapped->name, n->name, host),
                                "Django's PLPROXY_HOST maps a HOST for every database on it: give the nodes on one "
                                "host the same plproxy_host (shardroute.alter_node).");
        if (!carrier)
            not_expressible(fmt::format("plproxy_host of standby \"{}\"", mapped->name),
                            "A standby may not have PLPROXY settings: PLPROXY_HOST must sit on a primary with the "
                            "same HOST.");
        for (const Node *n : nodes)
            if (!n->is_standby())
                dbs[n->name]["PLPROXY"]["PLPROXY_HOST"] = *n->plproxy_host;
    }
}

// REPORTING_DATABASES keeps CommCare's short form ('default': 'default') for groups without a READ list.
void export_read_groups(const Topology &t, json &doc) {
    for (const auto &g : t.read_groups) {
        if (g.setting != reporting_databases && g.setting != load_balanced_apps)
            not_expressible(fmt::format("read group \"{}\" of setting \"{}\"", g.name, g.setting),
                            "Read groups come from REPORTING_DATABASES or LOAD_BALANCED_APPS.");
        std::vector<ReadMember> members = members_of(t, g.name);
        json &slot = doc[g.setting][g.name];
        if (g.setting == reporting_databases && members.empty()) {
            slot = g.write_node;
            continue;
        }
        json read = json::array();
        for (const auto &m : members)
            read.push_back(json::array({m.node, number(m.weight)}));
        slot = {{"WRITE", g.write_node}, {"READ", read}};
    }
}

} // namespace

// The pure C++ stand-in for PostgreSQL's int4 input, with the same rules (surrounding spaces, an
// optional sign, digits) and the same SQLSTATEs, so unit tests and the fuzzer see what SQL sees.
int parse_port_plain(const std::string &text) {
    size_t b = text.find_first_not_of(" \t\n\r\f\v");
    size_t e = text.find_last_not_of(" \t\n\r\f\v");
    std::string t = b == std::string::npos ? std::string() : text.substr(b, e - b + 1);
    size_t start = !t.empty() && (t[0] == '+' || t[0] == '-') ? 1 : 0;
    if (start == t.size() ||
        !std::all_of(t.begin() + static_cast<long>(start), t.end(), [](char c) { return c >= '0' && c <= '9'; }))
        throw Error(sqlstate::invalid_text_representation,
                    fmt::format("invalid input syntax for type integer: \"{}\"", text));
    long long value = 0;
    for (size_t i = start; i < t.size(); ++i) {
        value = value * 10 + (t[i] - '0');
        if (value > static_cast<long long>(INT_MAX) + 1)
            break;
    }
    if (t[0] == '-')
        value = -value;
    if (value < INT_MIN || value > INT_MAX)
        throw Error(numeric_value_out_of_range, fmt::format("value \"{}\" is out of range for type integer", text));
    return static_cast<int>(value);
}

// Parse, build the document's objects, merge them into the catalog, check the whole result.
ImportPlan plan_django_import(const std::string &settings_json, const Topology &current, bool replace,
                              const PortParser &parse_port) {
    Document doc = read_document(settings_json, current, parse_port);
    ImportPlan plan;
    plan.target = merge(doc, current, replace);
    std::vector<Problem> problems = blocking(validate(plan.target));
    if (!problems.empty())
        raise_setting_problems(problems, doc, plan.target);
    plan.actions = plan_actions(doc, current, plan.target, replace);
    return plan;
}

// The catalog as CommCare would write it; anything CommCare cannot say is an error, never dropped.
std::string export_django_settings(const Topology &t) {
    json doc = json::object();
    json dbs = json::object();
    for (const auto &n : t.nodes)
        dbs[n.name] = entry_of(n);
    export_cluster(t, doc, dbs);
    export_plproxy_hosts(t, dbs);
    doc["DATABASES"] = dbs;
    export_read_groups(t, doc);
    try {
        return doc.dump();
    } catch (const json::exception &e) {
        throw Error(sqlstate::invalid_parameter_value, "the catalog cannot be written as JSON", e.what(),
                    "Names and options must be valid UTF-8.");
    }
}

} // namespace shardroute::topology
