// The column tables of model.hpp (node_columns, cluster_columns): they name
// exactly the columns of the install script, and every column travels through
// the codec and counts in operator==. A column added to the SQL without its
// line in the table fails here.
#include "check.hpp"

#include "topology/codec.hpp"
#include "topology/model.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace shardroute::topology;
using nlohmann::json;

namespace {

// Read from the repository root, as the fixtures are; a missing file reads as "".
std::string read_text(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The install script of the control file's default_version.
std::string install_script() {
    std::string control = read_text("shardroute.control");
    const std::string key = "default_version = '";
    auto at = control.find(key);
    if (at == std::string::npos)
        return "";
    at += key.size();
    return read_text("sql/shardroute--" + control.substr(at, control.find('\'', at) - at) + ".sql");
}

// The column names of CREATE TABLE @extschema@.<table> (...), one per line as the script writes them.
std::vector<std::string> sql_columns(const std::string &script, const std::string &table) {
    std::vector<std::string> out;
    auto at = script.find("CREATE TABLE @extschema@." + table + " (\n");
    if (at == std::string::npos)
        return out;
    std::istringstream lines(script.substr(script.find('\n', at) + 1));
    std::string line;
    while (std::getline(lines, line) && line.rfind(");", 0) != 0) {
        std::istringstream words(line);
        std::string name;
        words >> name;
        if (!name.empty() && name != "PRIMARY" && name.rfind("--", 0) != 0)
            out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

template <typename Row, size_t N> std::vector<std::string> table_columns(const Column<Row> (&columns)[N]) {
    std::vector<std::string> out;
    for (const auto &c : columns)
        out.push_back(c.name);
    std::sort(out.begin(), out.end());
    return out;
}

std::string joined(const std::vector<std::string> &v) {
    std::string out;
    for (const auto &s : v)
        out += (out.empty() ? "" : ", ") + s;
    return out;
}

// A value of the column's type that no default has, as a row gives it (an interval as <column>_us).
template <typename Row> struct Sample {
    json &row;
    const char *name;
    void operator()(std::string Row::*) const { row[name] = "sample"; }
    void operator()(std::optional<std::string> Row::*) const { row[name] = "sample"; }
    void operator()(int Row::*) const { row[name] = 6543; }
    void operator()(std::optional<int64_t> Row::*) const { row[name] = 9876543210LL; }
    void operator()(Interval<Row>) const { row[std::string(name) + "_us"] = 2500000; }
};

// Each column alone changes the decoded row (decode reads it, operator== compares it), and encode writes it back.
template <typename Row, size_t N, typename Decode>
void check_each_column_travels(const Column<Row> (&columns)[N], Decode decode, const char *file, int line) {
    const json base = json::object();
    const Row plain = decode(base);
    for (const auto &c : columns) {
        json row = base;
        std::visit(Sample<Row>{row, c.name}, c.member);
        Row changed = decode(row);
        if (changed == plain)
            unit::fail(file, line, std::string("column ") + c.name + " is not decoded or not compared");
        json back = encode(changed);
        json want = std::holds_alternative<Interval<Row>>(c.member) ? json("2500000 microseconds") : row[c.name];
        if (back[c.name] != want)
            unit::fail(file, line, std::string("column ") + c.name + " encodes as " + back[c.name].dump());
        if (back.size() != N)
            unit::fail(file, line,
                       "encode writes " + std::to_string(back.size()) + " columns, not " + std::to_string(N) + ": " +
                           back.dump());
    }
}

template <typename Row, size_t N> void check_unique(const Column<Row> (&columns)[N], const char *file, int line) {
    std::set<std::string> names, keys;
    std::set<Field> fields;
    for (const auto &c : columns) {
        if (!names.insert(c.name).second)
            unit::fail(file, line, std::string("column ") + c.name + " is described twice");
        if (!fields.insert(c.field).second)
            unit::fail(file, line, std::string("column ") + c.name + " shares its Field with another");
        if (c.django.key && !keys.insert(std::string(c.django.group ? c.django.group : "") + "/" + c.django.key).second)
            unit::fail(file, line, std::string("column ") + c.name + " shares its Django key with another");
    }
}

} // namespace

TEST(columns_are_the_install_scripts) {
    std::string script = install_script();
    CHECK(!script.empty());
    auto node_sql = sql_columns(script, "node"), cluster_sql = sql_columns(script, "shard_cluster");
    CHECK(node_sql.size() >= 12);
    if (node_sql != table_columns(node_columns))
        unit::fail(__FILE__, __LINE__,
                   "shardroute.node has " + joined(node_sql) + "; node_columns has " +
                       joined(table_columns(node_columns)));
    if (cluster_sql != table_columns(cluster_columns))
        unit::fail(__FILE__, __LINE__,
                   "shardroute.shard_cluster has " + joined(cluster_sql) + "; cluster_columns has " +
                       joined(table_columns(cluster_columns)));
}

TEST(columns_each_travel_through_the_codec) {
    check_each_column_travels(node_columns, decode_node, __FILE__, __LINE__);
    check_each_column_travels(cluster_columns, decode_cluster, __FILE__, __LINE__);
    // NULL and missing read alike, leniently (codec.hpp): a bad row is the row rules' to report
    Node n = decode_node(json{{"name", nullptr}, {"port", "5432"}, {"max_lag_us", 1.5}});
    CHECK(n.name.empty() && n.port == 0 && !n.max_lag_us);
}

TEST(columns_are_described_once) {
    check_unique(node_columns, __FILE__, __LINE__);
    check_unique(cluster_columns, __FILE__, __LINE__);
}

// Each line of the tables points at its own member: a row whose every column
// holds a different value lands in the members named alike (a line whose
// member is swapped with another of the same type still round-trips, so the
// tests above cannot see it).
TEST(columns_point_at_their_members) {
    json node = {{"name", "n"},
                 {"host", "h"},
                 {"port", 1},
                 {"dbname", "db"},
                 {"options", "o"},
                 {"citus_role", "worker"},
                 {"citus_node_name", "c:2"},
                 {"plproxy_host", "ph"},
                 {"primary_node", "pn"},
                 {"max_lag_us", 3},
                 {"max_lag_bytes", 4},
                 {"application_name", "app"}};
    Node n = decode_node(node);
    CHECK(n.name == "n" && n.host == "h" && n.port == 1);
    CHECK(n.dbname == std::optional<std::string>("db") && n.options == std::optional<std::string>("o"));
    CHECK(n.citus_role == std::optional<std::string>("worker"));
    CHECK(n.citus_node_name == std::optional<std::string>("c:2"));
    CHECK(n.plproxy_host == std::optional<std::string>("ph"));
    CHECK(n.primary_node == std::optional<std::string>("pn"));
    CHECK(n.max_lag_us == std::optional<int64_t>(3) && n.max_lag_bytes == std::optional<int64_t>(4));
    CHECK(n.application_name == std::optional<std::string>("app"));
    json cluster = {{"name", "c"},
                    {"shard_count", 8},
                    {"algorithm", "hashtext"},
                    {"proxy_node", "p"},
                    {"standby_proxy_node", "sp"}};
    Cluster c = decode_cluster(cluster);
    CHECK(c.name == "c" && c.shard_count == 8 && c.algorithm == "hashtext");
    CHECK(c.proxy_node == std::optional<std::string>("p"));
    CHECK(c.standby_proxy_node == std::optional<std::string>("sp"));
}
