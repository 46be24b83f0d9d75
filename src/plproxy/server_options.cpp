#include "plproxy/server_options.hpp"
#include "topology/standby_server.hpp"

#include "common/error.hpp"
#include "topology/conninfo.hpp"
#include "topology/unknown.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <map>

namespace shardroute::plproxy {

using topology::Kind;
using topology::known_names;
using topology::unknown_error;

namespace {

constexpr std::string_view settings[] = {"connection_lifetime", "query_timeout",  "disable_binary",
                                         "modular_mapping",     "keepalive_idle", "keepalive_interval",
                                         "keepalive_count"};

bool all_digits(std::string_view s) {
    return !s.empty() && s.size() <= 9 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

} // namespace

bool is_setting(std::string_view key) {
    return std::find(std::begin(settings), std::end(settings), key) != std::end(settings);
}

std::string known_settings() {
    std::string out;
    for (auto s : settings)
        out += (out.empty() ? "" : ", ") + std::string(s);
    return out;
}

std::string partition_option(int shard) {
    return fmt::format("p{:04d}", shard);
}

bool is_partition_option(std::string_view key) {
    return key.size() > 1 && key[0] == 'p' &&
           std::all_of(key.begin() + 1, key.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void check_settings(const Options &given) {
    for (const auto &[key, value] : given) {
        if (!is_setting(key))
            throw Error(sqlstate::invalid_parameter_value, quoted_name(key) + " is not a PL/Proxy cluster option",
                        "Valid options: " + known_settings() + ".",
                        "Partition options (p0000, ...) are generated from the shard ranges.");
        if (!all_digits(value))
            throw Error(sqlstate::invalid_parameter_value,
                        "PL/Proxy option " + quoted_name(key) + " must be a whole number, not " + quoted_name(value));
    }
}

Options server_options(const topology::Topology &t, const std::string &cluster_name, bool for_standbys,
                       const Options &given) {
    const topology::Cluster *cluster = t.find_cluster(cluster_name);
    if (!cluster)
        throw unknown_error(Kind::cluster, cluster_name, known_names(t, Kind::cluster));
    check_settings(given);

    std::map<std::string, std::string> chosen = {{"connection_lifetime", "1800"}, {"disable_binary", "1"}};
    for (const auto &[key, value] : given)
        chosen[key] = value;
    Options out;
    for (auto s : settings) // a fixed order, so equal settings compare equal
        if (auto it = chosen.find(std::string(s)); it != chosen.end())
            out.emplace_back(it->first, it->second);

    std::vector<std::string> owner(static_cast<size_t>(cluster->shard_count));
    for (const auto &r : t.ranges)
        if (r.cluster == cluster_name)
            for (long s = std::max(0, r.first); s <= r.last && s < cluster->shard_count; ++s)
                owner[static_cast<size_t>(s)] = r.node;
    auto unassigned = std::find(owner.begin(), owner.end(), std::string());
    if (unassigned != owner.end())
        throw Error("55000",
                    fmt::format("shard {} of cluster \"{}\" is not assigned to any node", unassigned - owner.begin(),
                                cluster_name),
                    {}, "Every shard needs a node before PL/Proxy can use the cluster: shardroute.assign_shards().");

    std::map<std::string, std::string> conninfo; // node -> partition conninfo
    std::vector<std::string> without_standby;
    for (const auto &node : owner) {
        if (conninfo.count(node))
            continue;
        const topology::Node *target = t.find_node(node);
        if (for_standbys && target) {
            target = topology::serving_standby(t, node);
            if (!target) {
                without_standby.push_back(node);
                conninfo[node] = "";
                continue;
            }
        }
        if (!target)
            throw unknown_error(Kind::node, node, known_names(t, Kind::node));
        conninfo[node] = topology::plproxy_conninfo(*target);
    }
    if (!without_standby.empty()) {
        std::string list;
        for (const auto &n : without_standby)
            list += (list.empty() ? "\"" : ", \"") + n + "\"";
        throw Error(sqlstate::undefined_object,
                    fmt::format("cluster {} has nodes without a standby: {}", quoted_name(cluster_name), list),
                    "The standby cluster points every shard at a standby of its node.",
                    "Register them with shardroute.add_standby().");
    }
    for (size_t s = 0; s < owner.size(); ++s)
        out.emplace_back(partition_option(static_cast<int>(s)), conninfo[owner[s]]);
    return out;
}

std::vector<Change> diff(const Options &current, const Options &desired) {
    std::map<std::string, std::string> have(current.begin(), current.end());
    std::map<std::string, bool> wanted;
    std::vector<Change> out;
    for (const auto &[key, value] : desired) {
        wanted[key] = true;
        auto it = have.find(key);
        if (it == have.end())
            out.push_back({Change::add, key, value});
        else if (it->second != value)
            out.push_back({Change::set, key, value});
    }
    for (const auto &[key, value] : current)
        if (!wanted.count(key))
            out.push_back({Change::drop, key, {}});
    return out;
}

} // namespace shardroute::plproxy
