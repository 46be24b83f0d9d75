#include "topology/validate.hpp"

#include "common/error.hpp"
#include "hash/algorithm.hpp"
#include "topology/codec.hpp"
#include "topology/conninfo.hpp"
#include "topology/host_port.hpp"
#include "topology/standby_server.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

namespace shardroute::topology {

namespace {

constexpr int max_shard_count = 65536;
constexpr int64_t max_lag_limit_us = 366LL * 24 * 3600 * 1000000;

bool has_control(const std::string &s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

std::string q(const std::string &s) {
    return quoted_name(s);
}

struct Collector {
    std::vector<Problem> &out;
    ObjectKind kind;
    std::string name;
    std::string detail;

    void add(Field field, std::string rule, const std::string &what, std::string hint = {}) {
        out.push_back(Problem{kind, name, detail, field, rule, rule + ": " + what, std::move(hint)});
    }
};

void check_name(Collector &c, const std::string &what, const std::string &name) {
    if (!valid_name(name))
        c.add(Field::name, "invalid name",
              fmt::format("{} name {} must be 1 to 63 bytes without control characters", what, q(name)));
}

} // namespace

bool valid_name(const std::string &name) {
    return !name.empty() && name.size() <= 63 && !has_control(name);
}

std::string Problem::object() const {
    switch (kind) {
    case ObjectKind::node:
        return "node " + q(name);
    case ObjectKind::cluster:
        return "cluster " + q(name);
    case ObjectKind::shard_range:
        return fmt::format("shard range of cluster {} on node {}", q(name), q(detail));
    case ObjectKind::read_group:
        return "read group " + q(name);
    case ObjectKind::read_member:
        return fmt::format("read group {} member {}", q(name), q(detail));
    }
    return name;
}

std::vector<Problem> check_node(const Node &n) {
    std::vector<Problem> out;
    Collector c{out, ObjectKind::node, n.name, {}};
    check_name(c, "node", n.name);
    if (n.host.empty() || has_control(n.host))
        c.add(Field::host, "invalid host",
              fmt::format("host {} of node {} must be non-empty without control characters", q(n.host), q(n.name)));
    if (n.plproxy_host && (n.plproxy_host->empty() || has_control(*n.plproxy_host)))
        c.add(Field::plproxy_host, "invalid plproxy_host",
              fmt::format("plproxy_host {} of node {} must be non-empty without control characters", q(*n.plproxy_host),
                          q(n.name)),
              "plproxy_host is the host PL/Proxy connects to when it differs from host; NULL means host.");
    if (n.port < 1 || n.port > 65535)
        c.add(Field::port, "invalid port",
              fmt::format("port {} of node {} is not between 1 and 65535", n.port, q(n.name)));
    if (n.dbname && (n.dbname->empty() || n.dbname->size() > 63 || has_control(*n.dbname)))
        c.add(Field::dbname, "invalid dbname",
              fmt::format("dbname {} of node {} must be 1 to 63 bytes without control characters", q(*n.dbname),
                          q(n.name)));
    if (n.options) {
        try {
            for (const auto &p : check_options(parse_options(*n.options)))
                c.add(Field::options, p.rule, p.message, p.hint);
        } catch (const Error &e) {
            c.add(Field::options, "invalid options", fmt::format("{}: {}", e.what(), e.detail()), e.hint());
        }
    }
    if (n.citus_role && *n.citus_role != "coordinator" && *n.citus_role != "worker")
        c.add(
            Field::citus_role, "invalid citus role",
            fmt::format("citus_role {} of node {} is neither 'coordinator' nor 'worker'", q(*n.citus_role), q(n.name)));
    if (n.citus_node_name) {
        const std::string &cn = *n.citus_node_name;
        if (has_control(cn) || !parse_host_port(cn))
            c.add(Field::citus_node_name, "invalid citus node name",
                  fmt::format("citus_node_name {} of node {} is not host or host:port", q(cn), q(n.name)),
                  "CITUS_NODE_NAME is the host:port the coordinator uses to reach the worker, e.g. "
                  "'citus_worker1:5432'.");
    }
    if (n.is_standby()) {
        if (*n.primary_node == n.name)
            c.add(Field::primary_node, "cycle", fmt::format("standby {} names itself as its primary", q(n.name)));
        if (n.max_lag_us && *n.max_lag_us < 0)
            c.add(Field::max_lag, "invalid max_lag", fmt::format("max_lag of standby {} is negative", q(n.name)));
        else if (n.max_lag_us && *n.max_lag_us > max_lag_limit_us)
            c.add(Field::max_lag, "invalid max_lag",
                  fmt::format("max_lag of standby {} is more than 1 year", q(n.name)),
                  "A standby that may be a year behind is not a read replica; drop it from READ lists instead.");
        if (n.max_lag_bytes && *n.max_lag_bytes < 0)
            c.add(Field::max_lag_bytes, "invalid max_lag_bytes",
                  fmt::format("max_lag_bytes of standby {} is negative", q(n.name)));
        if (n.application_name &&
            (n.application_name->empty() || n.application_name->size() > 63 || has_control(*n.application_name)))
            c.add(Field::application_name, "invalid application_name",
                  fmt::format("application_name {} of standby {} must be 1 to 63 bytes without control characters",
                              q(*n.application_name), q(n.name)));
    } else if (n.max_lag_us || n.max_lag_bytes || n.application_name) {
        c.add(Field::none, "standby setting on a primary",
              fmt::format("node {} has max_lag, max_lag_bytes or application_name but no primary", q(n.name)),
              "Register standbys with shardroute.add_standby().");
    }
    return out;
}

std::vector<Problem> check_cluster_change(const Cluster &before, const Cluster &after) {
    std::vector<Problem> out;
    Collector c{out, ObjectKind::cluster, after.name, {}};
    if (before.shard_count != after.shard_count)
        c.add(Field::shard_count, "shard count fixed",
              fmt::format("the shard count of cluster {} cannot change ({} to {})", q(after.name), before.shard_count,
                          after.shard_count),
              "Shards hold data under hash & (count - 1); drop_cluster() and create it again only if it holds no "
              "data.");
    return out;
}

std::vector<Problem> check_cluster(const Cluster &cl) {
    std::vector<Problem> out;
    Collector c{out, ObjectKind::cluster, cl.name, {}};
    check_name(c, "cluster", cl.name);
    // PL/Proxy's server for the cluster's standbys is named <cluster>_standby, and
    // PostgreSQL names are at most 63 bytes
    if (valid_name(cl.name) && cl.name.size() > max_cluster_name_bytes)
        c.add(Field::name, "invalid name",
              fmt::format("cluster name {} is longer than 55 bytes, so {}_standby cannot name its standby server",
                          q(cl.name), cl.name),
              "Use a shorter PL_PROXY_CLUSTER_NAME.");
    if (cl.shard_count < 1 || cl.shard_count > max_shard_count || (cl.shard_count & (cl.shard_count - 1)) != 0)
        c.add(Field::shard_count, "shard count not a power of 2",
              fmt::format("shard count {} of cluster {} is not a power of 2 between 1 and {}", cl.shard_count,
                          q(cl.name), max_shard_count),
              "PL/Proxy picks partition hash & (count - 1): use 2, 4, 8, ... 1024. It cannot change once data exists.");
    if (!hash::find_algorithm(cl.algorithm))
        c.add(Field::algorithm, "unknown algorithm",
              fmt::format("cluster {} uses unknown hash algorithm {}", q(cl.name), q(cl.algorithm)),
              "Known algorithms: " + hash::known_algorithms() + ".");
    return out;
}

std::vector<Problem> check_range(const ShardRange &r) {
    std::vector<Problem> out;
    Collector c{out, ObjectKind::shard_range, r.cluster, r.node};
    if (r.first < 0 || r.last < r.first)
        c.add(Field::shards, "invalid range",
              fmt::format("shards [{}, {}] of cluster {} on node {}: need 0 <= first <= last", r.first, r.last,
                          q(r.cluster), q(r.node)));
    return out;
}

std::vector<Problem> check_read_group(const ReadGroup &g) {
    std::vector<Problem> out;
    Collector c{out, ObjectKind::read_group, g.name, {}};
    check_name(c, "read group", g.name);
    if (g.setting != reporting_databases && g.setting != load_balanced_apps)
        c.add(Field::setting, "invalid setting",
              fmt::format("read group {} comes from unknown setting {}", q(g.name), q(g.setting)));
    return out;
}

std::vector<Problem> check_member(const ReadMember &m) {
    std::vector<Problem> out;
    Collector c{out, ObjectKind::read_member, m.read_group, m.node};
    if (!std::isfinite(m.weight) || m.weight < 0)
        c.add(Field::weight, "invalid weight",
              fmt::format("weight {} of {} in read group {} must be a finite number >= 0", m.weight, q(m.node),
                          q(m.read_group)));
    return out;
}

std::vector<Problem> validate(const Topology &t) {
    std::vector<Problem> out;
    auto append = [&out](std::vector<Problem> more) {
        out.insert(out.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
    };

    // nodes: rows, then standby chains
    for (const auto &n : t.nodes) {
        append(check_node(n));
        if (!n.is_standby() || *n.primary_node == n.name)
            continue;
        Collector c{out, ObjectKind::node, n.name, {}};
        const Node *primary = t.find_node(*n.primary_node);
        if (!primary) {
            c.add(Field::primary_node, "unknown node",
                  fmt::format("primary {} of standby {} does not exist", q(*n.primary_node), q(n.name)));
        } else if (primary->is_standby()) {
            // follow the chain to tell a cycle from a plain cascade
            std::set<std::string> seen{n.name};
            const Node *p = primary;
            bool cycle = false;
            while (p && p->is_standby()) {
                if (!seen.insert(p->name).second) {
                    cycle = true;
                    break;
                }
                p = t.find_node(*p->primary_node);
            }
            if (cycle)
                c.add(
                    Field::primary_node, "cycle",
                    fmt::format("standby {} is part of a cycle of primaries through {}", q(n.name), q(primary->name)));
            else
                c.add(Field::primary_node, "standby of a standby",
                      fmt::format("primary {} of standby {} is itself a standby of {}", q(primary->name), q(n.name),
                                  q(*primary->primary_node)),
                      "Name the standby's real primary: lag is read from that primary's pg_stat_replication.");
        }
    }

    // clusters: proxies and shard coverage
    for (const auto &cl : t.clusters) {
        append(check_cluster(cl));
        Collector c{out, ObjectKind::cluster, cl.name, {}};
        for (const auto &[what, field, proxy] :
             {std::tuple<const char *, Field, const std::optional<std::string> *>{"proxy_node", Field::proxy_node,
                                                                                  &cl.proxy_node},
              {"standby_proxy_node", Field::standby_proxy_node, &cl.standby_proxy_node}}) {
            if (!*proxy)
                continue;
            const Node *p = t.find_node(**proxy);
            if (!p)
                c.add(field, "unknown node",
                      fmt::format("{} {} of cluster {} does not exist", what, q(**proxy), q(cl.name)));
            else if (p->is_standby())
                c.add(field, "proxy is a standby",
                      fmt::format("{} {} of cluster {} is a standby; proxies must be writable databases", what,
                                  q(**proxy), q(cl.name)));
        }
        if (cl.proxy_node && cl.standby_proxy_node && *cl.proxy_node == *cl.standby_proxy_node)
            c.add(Field::standby_proxy_node, "same proxy for standbys",
                  fmt::format("cluster {} uses {} both as proxy and as standby proxy", q(cl.name), q(*cl.proxy_node)),
                  "The standby cluster's functions must live in a separate database (PROXY_FOR_STANDBYS).");

        std::vector<const ShardRange *> mine;
        for (const auto &r : t.ranges)
            if (r.cluster == cl.name)
                mine.push_back(&r);
        if (mine.empty()) {
            // reported, but a COMMIT may leave it so: a cluster is created, then filled
            c.add(Field::shards, "no shards assigned",
                  fmt::format("cluster {} has no shard ranges: every lookup in it fails", q(cl.name)),
                  "Assign its shards with shardroute.assign_shards(), or drop it with shardroute.drop_cluster().");
            out.back().incomplete = true;
            continue;
        }
        std::sort(mine.begin(), mine.end(), [](auto *a, auto *b) {
            return std::tie(a->first, a->last, a->node) < std::tie(b->first, b->last, b->node);
        });
        long next = 0; // first shard not yet covered
        const ShardRange *prev = nullptr;
        for (const auto *r : mine) {
            if (r->first < 0 || r->last < r->first)
                continue; // reported by check_range
            if (r->first > next) {
                if (next == 0)
                    c.add(Field::shards, "not starting at 0",
                          fmt::format("shard ranges of cluster {} start at {}, not 0 (node {})", q(cl.name), r->first,
                                      q(r->node)));
                else
                    c.add(Field::shards, "gap",
                          fmt::format("shards {}..{} of cluster {} are assigned to no node (between {} and {})", next,
                                      r->first - 1, q(cl.name), q(prev->node), q(r->node)));
            } else if (r->first < next && prev) {
                c.add(Field::shards, "overlap",
                      fmt::format("shards {}..{} of cluster {} are assigned to both {} and {}", r->first,
                                  std::min<long>(next - 1, r->last), q(cl.name), q(prev->node), q(r->node)),
                      "Use shardroute.assign_shards(), which moves shards from their old node.");
            }
            if (r->last + 1L > next) {
                next = r->last + 1L;
                prev = r;
            }
        }
        if (next < cl.shard_count)
            c.add(Field::shards, "gap",
                  fmt::format("shards {}..{} of cluster {} are assigned to no node", next, cl.shard_count - 1,
                              q(cl.name)));
        else if (prev && next > cl.shard_count)
            c.add(Field::shards, "range beyond shard count",
                  fmt::format("cluster {} has {} shards but shard {} is assigned (node {})", q(cl.name), cl.shard_count,
                              next - 1, q(prev->node)));
    }

    // shard ranges: each names a cluster and a primary node
    for (const auto &r : t.ranges) {
        append(check_range(r));
        Collector c{out, ObjectKind::shard_range, r.cluster, r.node};
        if (!t.find_cluster(r.cluster))
            c.add(Field::cluster, "unknown cluster",
                  fmt::format("shards [{}, {}] name unknown cluster {}", r.first, r.last, q(r.cluster)));
        const Node *n = t.find_node(r.node);
        if (!n)
            c.add(Field::node, "unknown node",
                  fmt::format("shards [{}, {}] of cluster {} name unknown node {}", r.first, r.last, q(r.cluster),
                              q(r.node)));
        else if (n->is_standby())
            c.add(Field::node, "shards on a standby",
                  fmt::format("shards [{}, {}] of cluster {} are assigned to standby {}", r.first, r.last, q(r.cluster),
                              q(r.node)),
                  "Assign shards to the primary; its standbys are found through their primary_node.");
    }

    // read groups: write node, members, and at most one master
    for (const auto &g : t.read_groups) {
        append(check_read_group(g));
        Collector c{out, ObjectKind::read_group, g.name, {}};
        const Node *w = t.find_node(g.write_node);
        if (!w)
            c.add(Field::write_node, "unknown node",
                  fmt::format("WRITE node {} of read group {} does not exist", q(g.write_node), q(g.name)));
        else if (w->is_standby())
            c.add(Field::write_node, "write node is a standby",
                  fmt::format("WRITE node {} of read group {} is a standby", q(g.write_node), q(g.name)));
        std::map<std::string, std::vector<std::string>> masters; // master -> members that lead to it
        for (const auto &m : t.members) {
            if (m.read_group != g.name)
                continue;
            const Node *n = t.find_node(m.node);
            if (!n)
                continue; // reported below
            const std::string &master = n->is_standby() ? *n->primary_node : n->name;
            masters[master].push_back(m.node);
        }
        if (masters.size() > 1) {
            std::string list;
            for (const auto &[master, via] : masters) {
                list += (list.empty() ? "" : ", ") + q(master) + " (via ";
                for (size_t i = 0; i < via.size(); ++i)
                    list += (i ? ", " : "") + q(via[i]);
                list += ")";
            }
            c.add(Field::read_list, "more than one master",
                  fmt::format("READ list of read group {} refers to {} masters: {}", q(g.name), masters.size(), list),
                  "A READ list may hold one master and standbys of that master only.");
        }
    }
    for (const auto &m : t.members) {
        append(check_member(m));
        Collector c{out, ObjectKind::read_member, m.read_group, m.node};
        if (!t.find_read_group(m.read_group))
            c.add(Field::read_group, "unknown read group",
                  fmt::format("member {} names unknown read group {}", q(m.node), q(m.read_group)));
        if (!t.find_node(m.node))
            c.add(Field::node, "unknown node",
                  fmt::format("READ list of read group {} names unknown node {}", q(m.read_group), q(m.node)));
    }
    return out;
}

std::vector<Problem> check_catalog_row(std::string_view table, const std::string &row, const std::string *before) {
    nlohmann::json now = nlohmann::json::parse(row);
    if (table == "node")
        return check_node(decode_node(now));
    if (table == "shard_cluster") {
        auto problems = check_cluster(decode_cluster(now));
        if (before)
            for (auto &p : check_cluster_change(decode_cluster(nlohmann::json::parse(*before)), decode_cluster(now)))
                problems.push_back(std::move(p));
        return problems;
    }
    if (table == "shard_range")
        return check_range(decode_range(now));
    if (table == "read_group")
        return check_read_group(decode_read_group(now));
    if (table == "read_member")
        return check_member(decode_member(now));
    return {};
}

std::vector<Problem> blocking(std::vector<Problem> problems) {
    problems.erase(std::remove_if(problems.begin(), problems.end(), [](const Problem &p) { return p.incomplete; }),
                   problems.end());
    return problems;
}

void raise_problems(const std::vector<Problem> &problems, const std::string &context) {
    std::string detail;
    for (const auto &p : problems)
        detail += (detail.empty() ? "" : "\n") + p.object() + ": " + p.message;
    std::string hint = problems.front().hint;
    if (problems.size() > 1)
        hint += std::string(hint.empty() ? "" : " ") + "SELECT * FROM shardroute.check_topology() lists every problem.";
    throw Error(sqlstate::check_violation, context + problems.front().object() + ": " + problems.front().message,
                problems.size() > 1 ? detail : std::string(), hint);
}

} // namespace shardroute::topology
