#include "django/document.hpp"

#include "common/error.hpp"
#include "topology/conninfo.hpp"
#include "topology/validate.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <initializer_list>
#include <set>

namespace shardroute::django {

using namespace topology;

namespace {

constexpr std::initializer_list<const char *> top_level_keys = {
    "DATABASES",           "LOAD_BALANCED_APPS",      "PARTITION_DATABASE_CONFIG", "PL_PROXY_CLUSTER_NAME",
    "REPORTING_DATABASES", "USE_PARTITIONED_DATABASE"};
// The keys of an entry and of its groups, in the order hints list them; a key that node_columns adds and these
// lists do not name is accepted too, listed last (accepted_keys).
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
constexpr std::initializer_list<const char *> partition_config_keys = {"groups", "host_map", "proxy", "shards"};
// Django's DEFAULT_DB_ALIAS: CommCare's router reads a bare LOAD_BALANCED_APPS list with it as the WRITE database.
constexpr const char *django_default_alias = "default";
constexpr std::initializer_list<const char *> standby_keys = {"ACCEPTABLE_REPLICATION_DELAY", "APPLICATION_NAME",
                                                              "MASTER", "MAX_LAG_BYTES"};
constexpr std::initializer_list<const char *> read_group_keys = {"READ", "WRITE"};

// The keys a DATABASES entry (group nullptr) or one of its groups accepts: `listed`, then what node_columns adds.
std::vector<const char *> accepted_keys(std::initializer_list<const char *> listed, const char *group) {
    std::vector<const char *> keys(listed);
    auto add = [&keys](const char *key) {
        if (std::none_of(keys.begin(), keys.end(), [key](const char *k) { return std::strcmp(k, key) == 0; }))
            keys.push_back(key);
    };
    for (const auto &c : node_columns) {
        const DjangoKey &d = c.django;
        if (!d.key)
            continue;
        if (!group)
            add(d.group ? d.group : d.key);
        else if (d.group && std::strcmp(d.group, group) == 0)
            add(d.key);
    }
    return keys;
}

// A plain column's value (Django::plain), by the member's type.
void read_value(const json &v, const std::string &path, Node &n, std::string Node::*member) {
    n.*member = string_at(v, path);
}
void read_value(const json &v, const std::string &path, Node &n, std::optional<std::string> Node::*member) {
    n.*member = string_at(v, path);
}
void read_value(const json &v, const std::string &path, Node &n, int Node::*member) {
    n.*member = static_cast<int>(integer_at(v, path, INT_MIN, INT_MAX));
}
void read_value(const json &v, const std::string &path, Node &n, std::optional<int64_t> Node::*member) {
    n.*member = integer_at(v, path, INT64_MIN, INT64_MAX);
}
void read_value(const json &v, const std::string &path, Node &n, Interval<Node> interval) {
    n.*interval.us = delay_at(v, path);
}

// A plain column, when the entry (or its group, when the entry has that group) has its key.
void read_plain(const json &entry, const std::string &path, const Column<Node> &c, Node &n) {
    const json *holder = &entry;
    if (c.django.group) {
        if (!entry.contains(c.django.group))
            return;
        holder = &object_at(entry[c.django.group], sub(path, c.django.group));
    }
    if (holder->contains(c.django.key))
        std::visit([&](auto member) { read_value((*holder)[c.django.key], column_setting(path, c.django), n, member); },
                   c.member);
}

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
    check_keys(object_at(j, path), path, accepted_keys(plproxy_keys, "PLPROXY"), "PLPROXY setting");
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

// CommCare's STANDBY group: MASTER makes the entry a standby, with CommCare's default delay. The rest of the
// group (ACCEPTABLE_REPLICATION_DELAY, and shardroute's MAX_LAG_BYTES and APPLICATION_NAME, which CommCare
// ignores) are plain columns.
void read_standby(const json &j, const std::string &path, Node &n) {
    check_keys(object_at(j, path), path, accepted_keys(standby_keys, "STANDBY"), "STANDBY setting");
    if (!j.contains("MASTER"))
        malformed(path, "has no MASTER", "MASTER is the alias of the database this standby replicates.");
    n.primary_node = string_at(j["MASTER"], sub(path, "MASTER"));
    n.max_lag_us = topology::default_max_lag_us;
}

// The columns whose Django form is their own (Django::by_hand in node_columns).
void read_by_hand(const Column<Node> &c, const json &j, const std::string &path, Entry &e, Document &doc) {
    Node &n = e.node;
    switch (c.field) {
    case Field::host:
        if (!j.contains("HOST"))
            malformed(path, "has no HOST", "shardroute needs a host name or address for every database.");
        n.host = string_at(j["HOST"], sub(path, "HOST"));
        if (n.host.empty())
            malformed(sub(path, "HOST"), "is empty", "shardroute needs a host name or address for every database.");
        break;
    case Field::port:
        n.port = port_at(j, path);
        break;
    case Field::options: // with USER; PASSWORD never enters the catalog
        n.options = node_options(j, path);
        if (j.contains("PASSWORD")) {
            const json &pw = j["PASSWORD"];
            if (!pw.is_null() && !(pw.is_string() && pw.get<std::string>().empty()))
                doc.setting_actions.push_back(
                    {"setting", sub(path, "PASSWORD"),
                     "ignored: passwords never enter the catalog (use .pgpass or a user mapping)"});
        }
        break;
    case Field::citus_role:
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
        break;
    case Field::plproxy_host: // the whole PLPROXY group: the cluster's flags and SHARDS too
        if (j.contains("PLPROXY"))
            read_plproxy(j["PLPROXY"], sub(path, "PLPROXY"), e);
        break;
    case Field::primary_node:
        if (j.contains("STANDBY"))
            read_standby(j["STANDBY"], sub(path, "STANDBY"), n);
        break;
    default:
        throw Error(sqlstate::internal_error, "no reader for " + column_setting(path, c.django));
    }
}

// One DATABASES entry to a node, column by column in node_columns' order; rules across entries are the
// validator's job.
Entry read_entry(const std::string &alias, const json &j, Document &doc) {
    std::string path = sub("DATABASES", alias);
    check_keys(object_at(j, path), path, accepted_keys(entry_keys, nullptr), "database setting");
    Entry e;
    Node &n = e.node;
    n.name = alias;
    for (const auto &c : node_columns) {
        if (!c.django.key)
            continue; // the alias
        if (c.django.how == Django::plain)
            read_plain(j, path, c, n);
        else
            read_by_hand(c, j, path, e, doc);
    }
    // CommCare's config check refuses it too (test_get_standby_plproxy_config_misconfigured)
    if (n.is_standby() && e.has_plproxy)
        throw Error(sqlstate::check_violation,
                    sub(path, "PLPROXY") + ": standby databases should not have PLPROXY configuration", {},
                    "The standby cluster is built from each shard database's standby (STANDBY MASTER) and the "
                    "PROXY_FOR_STANDBYS database: remove PLPROXY from the standby.");
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

} // namespace

std::string column_setting(const std::string &entry_path, const DjangoKey &key) {
    return sub(key.group ? sub(entry_path, key.group) : entry_path, key.key);
}

Document read_document(const std::string &settings_json, const Topology &current) {
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
            doc.entries.push_back(read_entry(item.key(), item.value(), doc));
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

} // namespace shardroute::django
