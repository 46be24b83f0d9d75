// The Django settings bridge: CommCare's DATABASES / REPORTING_DATABASES /
// LOAD_BALANCED_APPS / PL_PROXY_CLUSTER_NAME documents (as JSON) to and from
// the catalog model, with CommCare's validation rules, errors naming the setting.
#pragma once
#include "common/cpp_only.hpp"

#include "topology/model.hpp"

#include <functional>
#include <string>
#include <vector>

namespace shardroute::topology {

// One row of import_django_settings()'s result.
struct ImportAction {
    std::string kind;   // "node", "standby", "cluster", "read_group", "setting"
    std::string name;   // the object's name, or the setting path for kind "setting"
    std::string action; // "created", "updated", "unchanged", "dropped", or "ignored: <why>"
};

struct ImportPlan {
    Topology target; // the whole catalog as it must be after the import
    std::vector<ImportAction> actions;
};

// Turns a PORT given as a string into a number. The SQL layer passes
// PostgreSQL's own int4 input function; parse_port_plain is the pure C++ one.
using PortParser = std::function<int(const std::string &text)>;
int parse_port_plain(const std::string &text);

// Default PL_PROXY_CLUSTER_NAME, as CommCare's settings.py has it.
inline constexpr const char *default_plproxy_cluster_name = "commcarehq";

// Plans an import of `settings_json` over the catalog `current`.
// replace = false: objects named in the document are created or updated, the
// rest of the catalog stays. replace = true: the catalog becomes exactly the
// document. Throws Error (SQLSTATE 22023 for malformed documents, 23514 for
// rule violations) whose message names the offending setting, e.g.
// DATABASES['p2']['PLPROXY']['SHARDS'].
ImportPlan plan_django_import(const std::string &settings_json, const Topology &current, bool replace,
                              const PortParser &parse_port = parse_port_plain);

// The inverse: the catalog as a settings document (JSON text, keys sorted).
// plan_django_import(export_django_settings(t), t, true) changes nothing.
std::string export_django_settings(const Topology &topology);

} // namespace shardroute::topology
