#include "citus/table_check.hpp"

#include "common/error.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace shardroute::citus {

using nlohmann::json;

namespace {

std::vector<std::string> strings(const json &j) {
    std::vector<std::string> out;
    if (j.is_array())
        for (const auto &v : j)
            out.push_back(v.get<std::string>());
    return out;
}

bool contains(const std::vector<std::string> &v, const std::string &x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

std::string list(const std::vector<std::string> &v) {
    std::string out;
    for (const auto &x : v)
        out += (out.empty() ? "" : ", ") + x;
    return out;
}

// 'h' hash distributed, 'n' reference, 'local' not in Citus metadata
std::string kind_name(const std::string &k) {
    return k == "h" ? "a distributed table" : k == "n" ? "a reference table" : "a local table";
}

} // namespace

std::vector<TableProblem> check_table(const std::string &facts_json) {
    json f = json::parse(facts_json);
    std::vector<TableProblem> out;
    const std::string table = f.at("table").get<std::string>();
    const bool reference = f.at("reference").get<bool>();
    const std::string dist =
        f.at("distribution_column").is_null() ? "" : f.at("distribution_column").get<std::string>();
    const bool citus = f.at("citus_installed").get<bool>();

    if (!reference && dist.empty())
        out.push_back({"no distribution column",
                       fmt::format("A distributed table needs a distribution column; {} has none given.", table),
                       "Pass distribution_column (for CommCare tables usually domain or the document id), or reference "
                       "=> true."});
    if (!reference && !dist.empty() && !contains(strings(f.at("columns")), dist))
        out.push_back({"unknown distribution column", fmt::format("Table {} has no column \"{}\".", table, dist), {}});

    for (const auto &c : f.at("constraints")) {
        const std::string type = c.at("type").get<std::string>(); // p, u, x, f
        const std::string name = c.at("name").get<std::string>();
        auto cols = strings(c.at("columns"));
        if ((type == "p" || type == "u" || type == "x") && !reference && !dist.empty() && !contains(cols, dist)) {
            std::string what = type == "p" ? "PRIMARY KEY" : type == "u" ? "UNIQUE" : "EXCLUDE";
            bool django_id = type == "p" && cols == std::vector<std::string>{"id"};
            out.push_back(
                {fmt::format("{} without the distribution column", what),
                 fmt::format("{} {} ({}) of {} does not include distribution column \"{}\": Citus refuses UNIQUE, "
                             "EXCLUDE and PRIMARY KEY constraints that do not include it.",
                             what, name, list(cols), table, dist),
                 django_id
                     ? fmt::format("This is Django's implicit id primary key: distribute by id, or make the key "
                                   "composite (primary key or unique_together on (id, {})).",
                                   dist)
                     : fmt::format("Add {} to the constraint (Django: unique_together including {}).", dist, dist)});
        }
        if (type != "f")
            continue;
        const std::string ref = c.at("ref_table").get<std::string>();
        const std::string ref_kind = c.at("ref_kind").get<std::string>();
        const std::string ref_dist =
            c.at("ref_distribution_column").is_null() ? "" : c.at("ref_distribution_column").get<std::string>();
        auto ref_cols = strings(c.at("ref_columns"));
        if (reference) {
            if (ref_kind != "n")
                out.push_back(
                    {"reference table with a foreign key to a non-reference table",
                     fmt::format("Foreign key {} of {} references {}, {}: reference tables may only reference "
                                 "other reference tables.",
                                 name, table, ref, kind_name(ref_kind)),
                     fmt::format("Make {} a reference table first, or distribute {} instead.", ref, table)});
            continue;
        }
        bool on_dist = !dist.empty() && contains(cols, dist);
        if (ref_kind == "n") {
            // to a reference table: allowed on any column
        } else if (ref_kind == "h" && on_dist && contains(ref_cols, ref_dist) && cols.size() == ref_cols.size() &&
                   std::find(cols.begin(), cols.end(), dist) - cols.begin() ==
                       std::find(ref_cols.begin(), ref_cols.end(), ref_dist) - ref_cols.begin()) {
            // co-located distributed tables joined on the distribution column
        } else {
            out.push_back({"foreign key to a table Citus cannot reference",
                           fmt::format("Foreign key {} of {} ({}) references {} ({}), {}: Citus allows foreign keys "
                                       "only to reference tables, or to a distributed table on its distribution "
                                       "column from this table's distribution column \"{}\".",
                                       name, table, list(cols), ref, list(ref_cols), kind_name(ref_kind), dist),
                           ref_kind == "local"
                               ? fmt::format("Distribute {} first (by the column this key references), or make it a "
                                             "reference table.",
                                             ref)
                               : "Include the distribution column in the foreign key, or make the referenced table a "
                                 "reference table."});
        }
        if (on_dist) {
            std::string del = c.at("on_delete").get<std::string>(), upd = c.at("on_update").get<std::string>();
            if (del == "n" || del == "d" || upd == "c" || upd == "n" || upd == "d")
                out.push_back({"foreign key action on the distribution column",
                               fmt::format("Foreign key {} of {} includes distribution column \"{}\" with ON {} {}: "
                                           "Citus refuses SET NULL / SET DEFAULT on delete and any ON UPDATE action "
                                           "but NO ACTION / RESTRICT there.",
                                           name, table, dist, (del == "n" || del == "d") ? "DELETE" : "UPDATE",
                                           (del == "n" || upd == "n")   ? "SET NULL"
                                           : (del == "d" || upd == "d") ? "SET DEFAULT"
                                                                        : "CASCADE"),
                               "Django: on_delete=models.CASCADE or PROTECT on this ForeignKey."});
        }
    }

    // tables whose foreign keys point here: once this table is distributed they must be too
    for (const auto &in : f.at("incoming")) {
        const std::string from = in.at("table").get<std::string>();
        const std::string from_kind = in.at("kind").get<std::string>();
        auto cols = strings(in.at("columns"));
        if (reference || from_kind != "local")
            continue;
        bool through = in.at("many_to_many").get<bool>();
        out.push_back(
            {through ? "many-to-many table not distributed with this table" : "local table referencing this table",
             fmt::format("{} {} references {} ({}): a local table cannot reference a distributed table; "
                         "its foreign key checks fail with \"consistency check on SPI tuple count failed\".",
                         through ? "Many-to-many through table" : "Table", from, table, list(cols)),
             through ? fmt::format("Distribute {} by {} too, co-located with {}: its unique key ({}) must "
                                   "include that column (a custom through model with unique_together).",
                                   from, list(cols), table,
                                   in.at("unique_columns").is_null() ? "" : list(strings(in.at("unique_columns"))))
                     : fmt::format("Distribute {} by {} too, or make {} a reference table.", from, list(cols), table)});
    }

    if (citus) {
        int workers = f.at("active_workers").get<int>();
        int factor = f.at("replication_factor").get<int>();
        if (workers == 0)
            out.push_back({"no active worker nodes", "Citus has no active worker node to place shards on.",
                           "Register the workers: SELECT * FROM shardroute.citus_register();"});
        else if (!reference && factor > workers)
            out.push_back({"replication factor above worker count",
                           fmt::format("citus.shard_replication_factor ({}) exceeds the number of active worker "
                                       "nodes ({}).",
                                       factor, workers),
                           "Add more worker nodes or lower citus.shard_replication_factor."});
    }
    return out;
}

} // namespace shardroute::citus
