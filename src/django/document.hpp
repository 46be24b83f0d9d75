// What a settings document says, read and checked setting by setting, before
// it meets the catalog: the entries of DATABASES (with their part in the
// PL/Proxy cluster), the cluster, the read groups, and the rows about settings
// that are ignored or legacy. Internal to src/django/.
#pragma once

#include "django/django.hpp"
#include "django/json_access.hpp"
#include "topology/model.hpp"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace shardroute::django {

// CommCare's older PL/Proxy layout: {"shards": {alias: [first, last]}, "groups": {"proxy": [alias], ...}}, or
// {"shards": ..., "proxy": alias}; host_map maps a HOST to the host PL/Proxy uses, as PLPROXY_HOST does.
inline constexpr const char *partition_database_config = "PARTITION_DATABASE_CONFIG";

// One DATABASES entry: the node, plus its part in the PL/Proxy cluster.
struct Entry {
    topology::Node node;
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
    std::optional<topology::Cluster> cluster;
    std::vector<topology::ShardRange> ranges;
    std::vector<topology::ReadGroup> groups;
    std::vector<topology::ReadMember> members;
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
    const topology::ReadGroup *find_group(const std::string &name) const {
        for (const auto &g : groups)
            if (g.name == name)
                return &g;
        return nullptr;
    }
};

// Where the entry at `entry_path` sets a node column: DATABASES['p1']['STANDBY']['MASTER'].
std::string column_setting(const std::string &entry_path, const topology::DjangoKey &key);

// The whole document, refused at the first malformed setting; `current` only supplies the shard count.
Document read_document(const std::string &settings_json, const topology::Topology &current);

} // namespace shardroute::django
