#include "django/django.hpp"

#include "common/error.hpp"
#include "django/document.hpp"
#include "django/order.hpp"
#include "topology/conninfo.hpp"
#include "topology/validate.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace shardroute::django {

using namespace topology;

namespace {

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

// Where a DATABASES entry sets the node column a problem is about (node_columns); the entry itself for the
// alias and for the problems about the whole node.
std::string node_setting(const Problem &p) {
    std::string entry = sub("DATABASES", p.name);
    for (const auto &c : node_columns)
        if (c.field == p.field && c.django.key)
            return column_setting(entry, c.django);
    return entry;
}

// The Django setting a problem comes from, so the user knows which line of localsettings.py to fix.
// Objects that stay from the catalog keep the validator's own label.
std::string setting_of(const Problem &p, const Document &doc, const Topology &target) {
    switch (p.kind) {
    case ObjectKind::node: {
        if (!doc.find_entry(p.name))
            break;
        return node_setting(p);
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

} // namespace

// Parse, build the document's objects, merge them into the catalog, check the whole result.
ImportPlan plan_import(const std::string &settings_json, const Topology &current, bool replace) {
    Document doc = read_document(settings_json, current);
    ImportPlan plan;
    plan.target = merge(doc, current, replace);
    std::vector<Problem> problems = blocking(validate(plan.target));
    if (!problems.empty())
        raise_setting_problems(problems, doc, plan.target);
    plan.actions = plan_actions(doc, current, plan.target, replace);
    return plan;
}

} // namespace shardroute::django
