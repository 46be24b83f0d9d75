// libFuzzer target for the Django settings format (src/django/).
// Any bytes are a settings document: the import may refuse them with
// shardroute::Error, but must never crash, hang or leak, and whatever it
// accepts must be committable (valid but for unfilled clusters), exportable
// and re-import unchanged.
// test/unit/fuzz_regressions_test.cpp includes this file to replay
// test/fuzz/regressions/ through the same checks. See test/fuzz/README.md.
#include "common/error.hpp"
#include "django/django.hpp"
#include "topology/validate.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace fuzz_django {

using namespace shardroute::django;
using namespace shardroute::topology;

// A small catalog the document merges into: a 4-shard cluster, a standby and
// read groups, with names the fixture documents reuse.
inline Topology fixed_topology() {
    Topology t;
    auto node = [](const char *name, const char *host) {
        Node n;
        n.name = name;
        n.host = host;
        n.dbname = "commcarehq";
        n.options = "user=commcarehq";
        return n;
    };
    Node standby = node("default_standby", "db0-standby");
    standby.primary_node = "default";
    standby.max_lag_us = 3000000;
    t.nodes = {node("default", "db0"), standby, node("p1", "p1.db"), node("p2", "p2.db"), node("proxy", "proxy.db")};
    Cluster c;
    c.name = default_plproxy_cluster_name;
    c.shard_count = 4;
    c.proxy_node = "proxy";
    t.clusters = {c};
    t.ranges = {{c.name, "p1", 0, 1}, {c.name, "p2", 2, 3}};
    t.read_groups = {{"default", "default", std::string(reporting_databases)},
                     {"ucr", "default", std::string(reporting_databases)}};
    t.members = {{"ucr", "default", 1}, {"ucr", "default_standby", 2}};
    return t;
}

inline bool same(const Topology &a, const Topology &b) {
    return a.nodes == b.nodes && a.clusters == b.clusters && a.ranges == b.ranges && a.read_groups == b.read_groups &&
           a.members == b.members;
}

// Empty when the import behaved; else what went wrong. Exceptions other than
// shardroute::Error propagate: to the fuzzer they are crashes.
inline std::string check_input(const uint8_t *data, size_t size) {
    static const Topology empty;
    static const Topology fixed = fixed_topology();
    const std::string text(reinterpret_cast<const char *>(data), size);
    const bool replace = size % 2 == 1; // chosen by the input, keeping it plain JSON
    for (const Topology *current : {&empty, &fixed}) {
        ImportPlan plan;
        try {
            plan = plan_import(text, *current, replace);
        } catch (const shardroute::Error &) {
            continue; // refusing a document is fine
        }
        // a cluster not filled yet (PROXY without SHARDS) may be committed, as in SQL
        auto problems = blocking(validate(plan.target));
        if (!problems.empty())
            return "accepted an invalid catalog: " + problems.front().message;
        std::string exported;
        try {
            exported = export_settings(plan.target);
        } catch (const shardroute::Error &) {
            continue; // not every catalog is expressible (two clusters, ...)
        }
        ImportPlan again;
        try {
            again = plan_import(exported, plan.target, true);
        } catch (const shardroute::Error &e) {
            return "export does not re-import: " + std::string(e.what()) + "\n" + exported;
        }
        for (const auto &a : again.actions)
            if (a.kind != "setting" && a.action != "unchanged")
                return "re-import " + a.action + " " + a.kind + " " + a.name + "\n" + exported;
        if (!same(again.target, plan.target))
            return "re-import is not the same catalog\n" + exported;
    }
    return {};
}

} // namespace fuzz_django

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string failure = fuzz_django::check_input(data, size);
    if (!failure.empty()) {
        std::fprintf(stderr, "fuzz_django: %s\n", failure.c_str());
        std::abort();
    }
    return 0;
}
