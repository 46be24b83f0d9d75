// SQL glue of the Django settings format (src/django/): jsonb in and out, and
// the current catalog from SPI. The import itself calls nothing in PostgreSQL.
#include "common/error.hpp"
#include "django/django.hpp"
#include "topology/snapshot.hpp"

#include <nlohmann/json.hpp>

#include "pg/catalog.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "utils/jsonb.h"
}

using namespace shardroute;

namespace {

std::string jsonb_text(Jsonb *doc) {
    return pg::pg_call([doc]() noexcept { return JsonbToCString(nullptr, &doc->root, VARSIZE(doc)); });
}

Datum to_jsonb(const std::string &text) {
    return pg::pg_call([&text]() noexcept { return DirectFunctionCall1(jsonb_in, CStringGetDatum(text.c_str())); });
}

} // namespace

// _django_plan(settings, replace) -> {"target": <snapshot>, "actions": [[kind, name, action], ...]}
// Not STRICT: a NULL document must be refused like any other non-object ("not null"), never read as
// an empty plan, which import_django_settings would apply as "delete everything".
SHARDROUTE_FUNCTION(shardroute_django_plan) {
    Jsonb *settings = PG_ARGISNULL(0) ? nullptr : PG_GETARG_JSONB_P(0);
    bool replace = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
    auto plan =
        django::plan_import(settings ? jsonb_text(settings) : std::string("null"), pg::load_topology(), replace);
    nlohmann::json out = {{"target", nlohmann::json::parse(topology::topology_to_snapshot(plan.target))},
                          {"actions", nlohmann::json::array()}};
    for (const auto &a : plan.actions)
        out["actions"].push_back({a.kind, a.name, a.action});
    return to_jsonb(out.dump());
}

SHARDROUTE_FUNCTION(shardroute_export_django_settings) {
    return to_jsonb(django::export_settings(pg::load_topology()));
}
