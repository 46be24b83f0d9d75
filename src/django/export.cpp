#include "django/django.hpp"

#include "common/error.hpp"
#include "django/json_access.hpp"
#include "django/order.hpp"
#include "topology/conninfo.hpp"

#include <cmath>
#include <fmt/format.h>
#include <map>

namespace shardroute::django {

using namespace topology;

namespace {

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

// Microseconds as the seconds Django writes: whole ones as an integer.
json seconds(int64_t us) {
    return us % 1000000 == 0 ? json(us / 1000000) : json(us / 1e6);
}

// A plain column's value (Django::plain), by the member's type; absent when NULL.
json plain_value(const Node &n, std::string Node::*member) {
    return n.*member;
}
json plain_value(const Node &n, std::optional<std::string> Node::*member) {
    return n.*member ? json(*(n.*member)) : json();
}
json plain_value(const Node &n, int Node::*member) {
    return n.*member;
}
json plain_value(const Node &n, std::optional<int64_t> Node::*member) {
    return n.*member ? json(*(n.*member)) : json();
}
json plain_value(const Node &n, Interval<Node> interval) {
    return n.*interval.us ? seconds(*(n.*interval.us)) : json();
}

// One DATABASES entry, without PLPROXY (export_cluster adds it); USER is split back out of the options.
json entry_of(const Node &n) {
    json e = json::object();
    e["HOST"] = n.host;
    e["PORT"] = n.port;
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
    if (n.primary_node)
        e["STANDBY"] = {{"MASTER", *n.primary_node}};
    // the plain columns: in the entry, or in a group it has (a standby's STANDBY)
    for (const auto &c : node_columns) {
        if (!c.django.key || c.django.how != Django::plain || (c.django.group && !e.contains(c.django.group)))
            continue;
        json v = std::visit([&n](auto member) { return plain_value(n, member); }, c.member);
        if (!v.is_null())
            (c.django.group ? e[c.django.group] : e)[c.django.key] = v;
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

// The catalog as CommCare would write it; anything CommCare cannot say is an error, never dropped.
std::string export_settings(const Topology &t) {
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

} // namespace shardroute::django
