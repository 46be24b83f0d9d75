#include "citus/table_check.hpp"

#include "common/error.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace shardroute::citus {

using nlohmann::json;

bool is_warning(const TableProblem &p) {
    return p.problem.rfind(warning_prefix, 0) == 0;
}

namespace {

std::vector<std::string> strings(const json &j) {
    std::vector<std::string> out;
    if (j.is_array())
        for (const auto &v : j)
            out.push_back(v.is_string() ? v.get<std::string>() : std::string());
    return out;
}

std::vector<std::string> strings(const json &j, const char *key) {
    auto it = j.find(key);
    return it == j.end() ? std::vector<std::string>{} : strings(*it);
}

std::string str(const json &j, const char *key, const std::string &dflt = {}) {
    auto it = j.find(key);
    return it == j.end() || !it->is_string() ? dflt : it->get<std::string>();
}

bool flag(const json &j, const char *key) {
    auto it = j.find(key);
    return it != j.end() && it->is_boolean() && it->get<bool>();
}

int number(const json &j, const char *key, int dflt) {
    auto it = j.find(key);
    return it == j.end() || !it->is_number_integer() ? dflt : it->get<int>();
}

bool contains(const std::vector<std::string> &v, const std::string &x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

long position(const std::vector<std::string> &v, const std::string &x) {
    return std::find(v.begin(), v.end(), x) - v.begin();
}

std::string list(const std::vector<std::string> &v) {
    std::string out;
    for (const auto &x : v)
        out += (out.empty() ? "" : ", ") + x;
    return out;
}

bool distributed_kind(const std::string &k) {
    return k == "h" || k == "s" || k == "a" || k == "r";
}
bool local_kind(const std::string &k) {
    return k == "local" || k == "c";
}

std::string kind_name(const std::string &k) {
    if (k == "h" || k == "a" || k == "r")
        return "a distributed table";
    if (k == "s")
        return "a single-shard distributed table";
    if (k == "n")
        return "a reference table";
    if (k == "c")
        return "a Citus local table";
    return "a local table";
}

// pg_constraint's confdeltype / confupdtype letters
std::string action_name(const std::string &a) {
    return a == "c"   ? "CASCADE"
           : a == "n" ? "SET NULL"
           : a == "d" ? "SET DEFAULT"
           : a == "r" ? "RESTRICT"
                      : "NO ACTION";
}

// Django's on_delete for a database action (Django itself creates NO ACTION
// foreign keys, DEFERRABLE INITIALLY DEFERRED, and runs on_delete in Python).
std::string django_on_delete(const std::string &a) {
    return a == "c"   ? "on_delete=models.CASCADE"
           : a == "n" ? "on_delete=models.SET_NULL"
           : a == "d" ? "on_delete=models.SET_DEFAULT"
           : a == "r" ? "on_delete=models.PROTECT"
                      : "on_delete=models.DO_NOTHING";
}

bool plain_action(const std::string &a) {
    return a == "a" || a == "r";
}

// How a Django many-to-many through table gets distributed with its two sides
// (one distributed, the other a reference table): with both foreign keys in
// place no order of create_distributed_table and create_reference_table works.
std::string through_hint(const std::string &through, const std::string &column, const std::string &distributed,
                         const std::string &other) {
    return fmt::format("Use a custom through model whose primary key includes {} (unique_together is not enough "
                       "while id is the primary key). With both foreign keys in place no order of the Citus calls "
                       "works: create its table without the foreign key to {}, distribute {}, then {} by {}, make "
                       "{} a reference table, then add the foreign key to {}.",
                       column, other.empty() ? "the other side" : other, distributed, through, column,
                       other.empty() ? "the other side" : other, other.empty() ? "it" : other);
}

struct Checker {
    const json &f;
    std::string table;
    bool reference;
    std::string dist;
    std::vector<TableProblem> problems, warnings;

    void problem(std::string p, std::string d, std::string h) {
        problems.push_back({std::move(p), std::move(d), std::move(h)});
    }
    void warning(const std::string &p, std::string d, std::string h) {
        warnings.push_back({warning_prefix + p, std::move(d), std::move(h)});
    }

    void table_itself();
    void distribution_column();
    void unique_keys();
    void outgoing(const json &c);
    void incoming(const json &in);
    void django_save();
    void cluster();
};

void Checker::table_itself() {
    const std::string kind = str(f, "kind", "local");
    if (kind != "local" && kind != "c")
        problem("table already in Citus",
                fmt::format("{} is already {}: create_distributed_table and create_reference_table refuse it.", table,
                            kind_name(kind)),
                "Use alter_distributed_table() or undistribute_table() to change how it is distributed.");
    const std::string parent = str(f, "partition_of");
    if (!parent.empty())
        problem("partition of another table",
                fmt::format("{} is a partition of {}: Citus distributes the partitioned table with its partitions, "
                            "never a partition alone.",
                            table, parent),
                fmt::format("Distribute {} instead; its partitions follow.", parent));
    if (reference && str(f, "relkind") == "p")
        problem("partitioned reference table",
                fmt::format("{} is partitioned: Citus makes only hash-distributed tables of partitioned tables, "
                            "never reference tables.",
                            table),
                "Distribute it by a column instead, or use an unpartitioned model for the reference table.");
    auto triggers = strings(f, "triggers");
    if (!triggers.empty() && !flag(f, "unsafe_triggers"))
        problem("table with triggers",
                fmt::format("{} has triggers ({}): Citus refuses to distribute a table with triggers, disabled ones "
                            "included, unless citus.enable_unsafe_triggers is on.",
                            table, list(triggers)),
                "Move the trigger's work into Django (signals or save()), or drop the triggers before distributing "
                "and create them again with citus.enable_unsafe_triggers on.");
}

void Checker::distribution_column() {
    if (reference)
        return;
    if (dist.empty()) {
        problem("no distribution column",
                fmt::format("A distributed table needs a distribution column; {} has none given.", table),
                "Pass distribution_column (for CommCare tables usually domain or the document id), or reference "
                "=> true.");
        return;
    }
    if (!contains(strings(f, "columns"), dist)) {
        problem("unknown distribution column", fmt::format("Table {} has no column \"{}\".", table, dist), {});
        return;
    }
    auto t = f.find("distribution_type");
    if (t == f.end() || !t->is_object())
        return;
    const std::string type = str(*t, "type");
    if (t->contains("hashable") && !flag(*t, "hashable")) {
        problem("distribution column type cannot be hashed",
                fmt::format("Distribution column \"{}\" of {} is of type {}, which has no default hash operator "
                            "class: Citus cannot hash it into shards.",
                            dist, table, type),
                "Distribute by another field (a ForeignKey to the tenant, a UUIDField, a CharField), or give the "
                "type a default hash operator class.");
        return;
    }
    auto parts = strings(*t, "unhashable_parts");
    if (!parts.empty())
        warning("distribution column holds values that cannot be hashed",
                fmt::format("Distribution column \"{}\" of {} is of type {}, whose {} cannot be hashed: "
                            "create_distributed_table accepts it, but every INSERT, COPY and UPDATE of a row fails "
                            "(Citus 13.2 crashes the server process hashing such a value).",
                            dist, table, type, list(parts)),
                "Distribute by a field of a plain type (integer, text, UUID) instead.");
}

void Checker::unique_keys() {
    if (reference || dist.empty() || !contains(strings(f, "columns"), dist))
        return;
    for (const auto &c : f.at("constraints")) {
        const std::string type = str(c, "type"); // p, u, x, f
        if (type != "p" && type != "u" && type != "x")
            continue;
        const std::string name = str(c, "name");
        auto cols = strings(c, "columns");
        bool ok;
        if (type == "x") {
            // EXCLUDE: the distribution column with an equality operator
            ok = false;
            for (const auto &e : c.value("elements", json::array()))
                if (str(e, "column") == dist && flag(e, "equality"))
                    ok = true;
        } else {
            // the columns of the index, INCLUDE columns too
            auto index_cols =
                c.contains("index_columns") && c.at("index_columns").is_array() ? strings(c, "index_columns") : cols;
            ok = contains(index_cols, dist);
        }
        if (ok)
            continue;
        std::string what = type == "p" ? "PRIMARY KEY" : type == "u" ? "UNIQUE" : "EXCLUDE";
        bool django_id = type == "p" && cols == std::vector<std::string>{"id"};
        problem(fmt::format("{} without the distribution column", what),
                fmt::format("{} {} ({}) of {} does not include distribution column \"{}\"{}: Citus refuses UNIQUE, "
                            "EXCLUDE and PRIMARY KEY constraints that do not include it.",
                            what, name, list(cols), table, dist, type == "x" ? " with an equality operator" : ""),
                django_id ? fmt::format("This is Django's implicit id primary key: distribute by id, or make the key "
                                        "composite (a CompositePrimaryKey(\"{}\", \"id\"), or a migration that "
                                        "makes the primary key ({}, id)).",
                                        dist, dist)
                : type == "x"
                    ? fmt::format("Add {} WITH = to the ExclusionConstraint's expressions.", dist)
                    : fmt::format("Add {} to the constraint (Django: unique_together or UniqueConstraint fields "
                                  "including {}).",
                                  dist, dist));
    }
    for (const auto &i : f.value("unique_indexes", json::array())) {
        auto cols = strings(i, "columns");
        if (contains(cols, dist))
            continue;
        const std::string name = str(i, "name");
        bool expr = flag(i, "expressions");
        problem("unique index without the distribution column",
                fmt::format("Unique index {}{}{} of {} does not have distribution column \"{}\" as a column{}: Citus "
                            "refuses unique indexes that do not include it.",
                            name, flag(i, "partial") ? " (partial)" : "", cols.empty() ? "" : " (" + list(cols) + ")",
                            table, dist, expr ? " (an expression over it does not count)" : ""),
                fmt::format("Add {} as a field of the UniqueConstraint (with condition= or expressions, {} must be "
                            "one of its fields).",
                            dist, dist));
    }
}

void Checker::outgoing(const json &c) {
    const std::string name = str(c, "name");
    const bool self = flag(c, "self");
    const std::string ref = str(c, "ref_table");
    const std::string ref_kind = self ? (reference ? "n" : "h") : str(c, "ref_kind", "local");
    const std::string ref_dist = self ? dist : str(c, "ref_distribution_column");
    auto cols = strings(c, "columns");
    auto ref_cols = strings(c, "ref_columns");
    const std::string del = str(c, "on_delete", "a"), upd = str(c, "on_update", "a");

    if (reference) {
        if (ref_kind == "n")
            return;
        if (local_kind(ref_kind)) {
            if (flag(f, "citus_installed") && !flag(f, "coordinator_in_metadata")) {
                problem("reference table with a foreign key to a local table, coordinator not in Citus",
                        fmt::format("Foreign key {} of {} references local table {}: Citus accepts a reference table "
                                    "referencing a local table only when the coordinator is in its metadata, and it "
                                    "is not (pg_dist_node has no group 0).",
                                    name, table, ref),
                        fmt::format("Register the coordinator: SELECT * FROM shardroute.citus_register(); (it runs "
                                    "citus_set_coordinator_host), or make {} a reference table first.",
                                    ref));
                return;
            }
            if (!plain_action(del) || !plain_action(upd)) {
                problem("reference table with a foreign key action to a local table",
                        fmt::format("Foreign key {} of {} references {}, {}, with ON DELETE {} ON UPDATE {}: a "
                                    "reference table may reference a local table only with NO ACTION or RESTRICT.",
                                    name, table, ref, kind_name(ref_kind), action_name(del), action_name(upd)),
                        fmt::format("Make {} a reference table first, or use on_delete=models.PROTECT or "
                                    "DO_NOTHING on this ForeignKey (Django's default CASCADE runs in Python).",
                                    ref));
                return;
            }
            warning(fmt::format("{} becomes a Citus local table", ref),
                    fmt::format("Foreign key {} of {} references local table {}: create_reference_table adds {} to "
                                "the Citus metadata as a Citus local table, and create_distributed_table({}) then "
                                "fails (\"foreign keys from reference tables and local tables to distributed tables "
                                "are not supported\").",
                                name, table, ref, ref, ref),
                    fmt::format("Make {} a reference table too, before or after this one; if it must be "
                                "distributed, this model cannot be a reference table.",
                                ref));
            return;
        }
        problem("reference table with a foreign key to a distributed table",
                fmt::format("Foreign key {} of {} references {}, {}: reference tables may only reference other "
                            "reference tables and local tables.",
                            name, table, ref, kind_name(ref_kind)),
                fmt::format("Make {} a reference table, or distribute {} instead.", ref, table));
        return;
    }
    if (dist.empty() || !contains(strings(f, "columns"), dist))
        return; // reported as the missing or unknown distribution column

    const bool on_dist = contains(cols, dist);
    if (ref_kind == "n") {
        // to a reference table: on any column
    } else if (ref_kind == "h") {
        bool same_place = on_dist && contains(ref_cols, ref_dist) && cols.size() == ref_cols.size() &&
                          position(cols, dist) == position(ref_cols, ref_dist);
        if (!same_place) {
            problem("foreign key not on the distribution column",
                    fmt::format("Foreign key {} of {} ({}) references {} ({}), {} distributed by \"{}\": between "
                                "distributed tables Citus allows only foreign keys from this table's distribution "
                                "column \"{}\" to that one, at the same position.",
                                name, table, list(cols), ref, list(ref_cols), kind_name(ref_kind), ref_dist, dist),
                    self ? fmt::format("A ForeignKey to the same model must include {}: make it a composite key "
                                       "(ForeignObject over ({}, parent id)), or distribute by the referenced "
                                       "column.",
                                       dist, dist)
                         : fmt::format("Distribute {} by the column that references {}.{}, or make {} a reference "
                                       "table.",
                                       table, ref, ref_dist, ref));
        } else if (!self) {
            const json *t = f.contains("distribution_type") && f.at("distribution_type").is_object()
                                ? &f.at("distribution_type")
                                : nullptr;
            std::string type = t ? str(*t, "type") : "", coll = t ? str(*t, "collation") : "";
            std::string ref_type = str(c, "ref_distribution_type"), ref_coll = str(c, "ref_collation");
            int shards = number(f, "shard_count", 0), ref_shards = number(c, "ref_shards", 0);
            std::string why;
            if (!type.empty() && !ref_type.empty() && (type != ref_type || coll != ref_coll))
                why = fmt::format("\"{}\" is {} but {}.{} is {}", dist, type, ref, ref_dist, ref_type);
            else if (shards > 0 && ref_shards > 0 && shards != ref_shards)
                why = fmt::format("{} has {} shards but citus.shard_count is {}", ref, ref_shards, shards);
            if (!why.empty())
                problem("foreign key between tables that are not co-located",
                        fmt::format("Foreign key {} of {} references {}, which this table would not be co-located "
                                    "with ({}): Citus allows foreign keys between distributed tables only when "
                                    "they are co-located.",
                                    name, table, ref, why),
                        fmt::format("Give the ForeignKey column the type of {}'s primary key, or distribute with "
                                    "colocate_with => '{}'.",
                                    ref, ref));
        }
    } else if (distributed_kind(ref_kind)) {
        problem("foreign key to a table Citus cannot reference",
                fmt::format("Foreign key {} of {} references {}, {}: Citus allows foreign keys only to reference "
                            "tables and to co-located hash-distributed tables.",
                            name, table, ref, kind_name(ref_kind)),
                fmt::format("Make {} a reference table, or drop the constraint (db_constraint=False).", ref));
    } else {
        problem("foreign key to a local table",
                fmt::format("Foreign key {} of {} ({}) references {} ({}), {}: a distributed table may reference "
                            "only reference tables and distributed tables.",
                            name, table, list(cols), ref, list(ref_cols), kind_name(ref_kind)),
                fmt::format("Distribute {} first (by the column this key references), or make it a reference "
                            "table.",
                            ref));
    }
    if (on_dist && (del == "n" || del == "d" || upd == "c" || upd == "n" || upd == "d")) {
        bool on_delete = del == "n" || del == "d";
        problem("foreign key action on the distribution column",
                fmt::format("Foreign key {} of {} includes distribution column \"{}\" with ON {} {}: Citus refuses "
                            "SET NULL / SET DEFAULT on delete and any ON UPDATE action but NO ACTION / RESTRICT "
                            "there.",
                            name, table, dist, on_delete ? "DELETE" : "UPDATE", action_name(on_delete ? del : upd)),
                on_delete ? fmt::format("Django: {} cannot stay on the database constraint; use "
                                        "on_delete=models.CASCADE or PROTECT on this ForeignKey.",
                                        django_on_delete(del))
                          : "Django never creates ON UPDATE actions: drop the one added by hand (NO ACTION).");
    }
}

void Checker::incoming(const json &in) {
    const std::string from = str(in, "table");
    const std::string from_kind = str(in, "kind", "local");
    const std::string name = str(in, "name");
    auto cols = strings(in, "columns");
    const bool through = flag(in, "many_to_many");
    auto refs_distributed = strings(in, "refs_distributed");
    auto refs_local = strings(in, "refs_local");
    const std::string others = list(strings(in, "refs_other"));
    const std::string what = through ? "Many-to-many through table" : "Table";

    if (reference) {
        if (local_kind(from_kind) && !refs_distributed.empty()) {
            problem("local table referencing this table also references a distributed table",
                    fmt::format("{} {} references {} and distributed table {}: making {} a reference table turns {} "
                                "into a Citus local table, which may not reference a distributed table.",
                                what, from, table, list(refs_distributed), table, from),
                    through ? through_hint(from, "the foreign key to " + list(refs_distributed), list(refs_distributed),
                                           table)
                            : fmt::format("Distribute {} (co-located with {}) first.", from, list(refs_distributed)));
        } else if (from_kind == "local" && !refs_local.empty()) {
            warning(fmt::format("{} becomes a Citus local table", from),
                    fmt::format("{} {} references {} and local table {}: create_reference_table adds {} to the Citus "
                                "metadata as a Citus local table, and create_distributed_table({}) then fails "
                                "(\"foreign keys from reference tables and local tables to distributed tables are "
                                "not supported\").",
                                what, from, table, list(refs_local), from, list(refs_local)),
                    through ? through_hint(from, "the foreign key to " + list(refs_local), list(refs_local), table)
                            : fmt::format("Distribute {} and {} first if they are to be distributed.", list(refs_local),
                                          from));
        }
        return;
    }
    if (from_kind == "n" || from_kind == "c") {
        problem(fmt::format("{} referencing this table", kind_name(from_kind).substr(2)),
                fmt::format("{} {} ({}) is {} and references {}: Citus refuses foreign keys from reference tables and "
                            "Citus local tables to distributed tables.",
                            what, from, list(cols), kind_name(from_kind), table),
                through
                    ? through_hint(from, list(cols), table, others)
                    : fmt::format("Distribute {} by {} first, or make {} a reference table.", from, list(cols), table));
        return;
    }
    if (from_kind != "local")
        return;
    std::string later;
    if (!refs_local.empty())
        later = fmt::format(", and create_reference_table({}) then fails (\"foreign keys from reference tables and "
                            "local tables to distributed tables are not supported\")",
                            list(refs_local));
    warning(fmt::format("local table {} referencing this table", from),
            fmt::format("{} {} ({}) stays a local table referencing {} once it is distributed: Citus 13.2 checks the "
                        "foreign key {} on INSERT into {}, but DELETE or UPDATE of a row of {} that {} references is "
                        "not refused (its ON DELETE {} is not run either; rows of {} are left orphaned), "
                        "truncate_local_data_after_distributing_table({}) fails{}.",
                        what, from, list(cols), table, name, from, table, from, action_name(str(in, "on_delete", "a")),
                        from, table, later),
            through ? through_hint(from, list(cols), table, others)
                    : fmt::format("Distribute {} by {} too, or make {} a reference table.", from, list(cols), table));
}

void Checker::django_save() {
    if (reference || dist.empty() || !contains(strings(f, "columns"), dist))
        return;
    std::vector<std::string> pk;
    for (const auto &c : f.at("constraints"))
        if (str(c, "type") == "p")
            pk = strings(c, "columns");
    if (pk == std::vector<std::string>{dist})
        return;
    std::string key = pk.empty() ? "id" : pk.size() == 1 ? pk[0] : "id";
    warning("Model.save() updates the distribution column",
            fmt::format("Django's save() of an existing row runs UPDATE {} SET {} = ..., ... WHERE {} = ...: Citus "
                        "refuses it (\"modifying the partition value of rows is not allowed\") because the WHERE does "
                        "not pin \"{}\", which is not {}'s primary key.",
                        table, dist, key, dist, table),
            fmt::format("Save with update_fields that leave {} out, use QuerySet.filter({}=...).update(), or give the "
                        "model a CompositePrimaryKey including {} (Django 5.2+: save() then sets no primary key "
                        "field).",
                        dist, dist, dist));
}

void Checker::cluster() {
    if (!flag(f, "citus_installed"))
        return;
    int workers = number(f, "active_workers", 0);
    int factor = number(f, "replication_factor", 1);
    if (workers == 0)
        problem("no active worker nodes", "Citus has no active worker node to place shards on.",
                "Register the workers: SELECT * FROM shardroute.citus_register();");
    else if (!reference && factor > workers)
        problem("replication factor above worker count",
                fmt::format("citus.shard_replication_factor ({}) exceeds the number of active worker nodes ({}).",
                            factor, workers),
                "Add more worker nodes or lower citus.shard_replication_factor.");
}

} // namespace

std::vector<TableProblem> check_table(const std::string &facts_json) {
    json f = json::parse(facts_json);
    Checker c{f,
              f.at("table").get<std::string>(),
              f.at("reference").get<bool>(),
              f.at("distribution_column").is_null() ? "" : f.at("distribution_column").get<std::string>(),
              {},
              {}};
    c.table_itself();
    c.distribution_column();
    c.unique_keys();
    for (const auto &con : f.at("constraints"))
        if (str(con, "type") == "f")
            c.outgoing(con);
    for (const auto &in : f.value("incoming", json::array()))
        c.incoming(in);
    c.django_save();
    c.cluster();
    std::vector<TableProblem> out = std::move(c.problems);
    out.insert(out.end(), c.warnings.begin(), c.warnings.end());
    return out;
}

} // namespace shardroute::citus
