#include "topology/unknown.hpp"

#include <algorithm>

namespace shardroute::topology {

namespace {

constexpr size_t listed_names = 20;

std::string_view create_hint(Kind kind) {
    switch (kind) {
    case Kind::node:
        return "Register it with shardroute.add_node(), shardroute.add_standby() or "
               "shardroute.import_django_settings().";
    case Kind::standby:
        return "Register it with shardroute.add_standby() or shardroute.import_django_settings().";
    case Kind::cluster:
        return "Create it with shardroute.create_cluster() or shardroute.import_django_settings().";
    case Kind::read_group:
        return "Create it with shardroute.create_read_group() or shardroute.import_django_settings().";
    }
    return {};
}

} // namespace

std::string_view kind_name(Kind kind) {
    switch (kind) {
    case Kind::node:
        return "node";
    case Kind::standby:
        return "standby";
    case Kind::cluster:
        return "cluster";
    case Kind::read_group:
        return "read group";
    }
    return "object";
}

Kind parse_kind(std::string_view name) {
    for (Kind k : {Kind::node, Kind::standby, Kind::cluster, Kind::read_group})
        if (kind_name(k) == name)
            return k;
    throw Error(sqlstate::invalid_parameter_value, "unknown kind of object " + quoted_name(name),
                "Known kinds: node, standby, cluster, read group.");
}

Error unknown_error(Kind kind, std::string_view name, std::vector<std::string> known, const char *file, int line,
                    const char *function) {
    std::string kind_text(kind_name(kind));
    std::sort(known.begin(), known.end());
    known.erase(std::unique(known.begin(), known.end()), known.end());
    std::string detail;
    if (known.empty()) {
        detail = "The catalog has no " + kind_text + "s.";
    } else {
        detail = "Known " + kind_text + "s: ";
        for (size_t i = 0; i < known.size() && i < listed_names; ++i)
            detail += (i ? ", " : "") + clip(known[i]);
        if (known.size() > listed_names)
            detail += ", and " + std::to_string(known.size() - listed_names) + " more";
        detail += ".";
    }
    return Error(sqlstate::undefined_object, kind_text + " " + quoted_name(name) + " does not exist", detail,
                 std::string(create_hint(kind)), file, line, function);
}

std::vector<std::string> known_names(const Topology &t, Kind kind) {
    std::vector<std::string> out;
    switch (kind) {
    case Kind::node:
    case Kind::standby:
        for (const auto &n : t.nodes)
            if (kind == Kind::node || n.is_standby())
                out.push_back(n.name);
        break;
    case Kind::cluster:
        for (const auto &c : t.clusters)
            out.push_back(c.name);
        break;
    case Kind::read_group:
        for (const auto &g : t.read_groups)
            out.push_back(g.name);
        break;
    }
    return out;
}

} // namespace shardroute::topology
