// The Django settings format: CommCare's DATABASES / REPORTING_DATABASES /
// LOAD_BALANCED_APPS / PL_PROXY_CLUSTER_NAME documents (as JSON) to and from
// the catalog model, with CommCare's validation rules, errors naming the setting.
// An outside format, like src/plproxy/ and src/citus/: pure C++, no callback
// into PostgreSQL. Layout: json_access (typed getters, limits, PORT),
// document (settings -> Document), import (Document -> catalog plan),
// export (catalog -> settings), order (the one order of catalog lists).
#pragma once

#include "topology/model.hpp"

#include <string>
#include <vector>

namespace shardroute::django {

// One row of import_django_settings()'s result.
struct ImportAction {
    std::string kind;   // "node", "standby", "cluster", "read_group", "setting"
    std::string name;   // the object's name, or the setting path for kind "setting"
    std::string action; // "created", "updated", "unchanged", "dropped", or "ignored: <why>"
};

struct ImportPlan {
    topology::Topology target; // the whole catalog as it must be after the import
    std::vector<ImportAction> actions;
};

// Default PL_PROXY_CLUSTER_NAME, as CommCare's settings.py has it.
inline constexpr const char *default_plproxy_cluster_name = "commcarehq";

// A PORT given as a string, read by PostgreSQL's int4 input rules (surrounding
// spaces, an optional sign, digits) with its SQLSTATEs and wording: 22P02
// "invalid input syntax for type integer", 22003 "... out of range for type
// integer". The port range itself is the validator's rule.
int parse_port(const std::string &text);

// Plans an import of `settings_json` over the catalog `current`.
// replace = false: objects named in the document are created or updated, the
// rest of the catalog stays. replace = true: the catalog becomes exactly the
// document. Throws Error (SQLSTATE 22023 for malformed documents, 23514 for
// rule violations) whose message names the offending setting, e.g.
// DATABASES['p2']['PLPROXY']['SHARDS'].
ImportPlan plan_import(const std::string &settings_json, const topology::Topology &current, bool replace);

// The inverse: the catalog as a settings document (JSON text, keys sorted).
// plan_import(export_settings(t), t, true) changes nothing.
std::string export_settings(const topology::Topology &topology);

} // namespace shardroute::django
