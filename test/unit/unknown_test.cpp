// The unknown-object error (topology/unknown.hpp): one shape for every kind,
// whichever function meets the name.
#include "check.hpp"

#include "topology/unknown.hpp"

#include <string>
#include <vector>

using namespace shardroute;
using namespace shardroute::topology;

TEST(unknown_lists_known_names_sorted_with_hint) {
    Error e = unknown_error(Kind::node, "zz", {"b", "a", "s"});
    CHECK_EQ(e.code(), std::string("42704"));
    CHECK_EQ(std::string(e.what()), std::string("node \"zz\" does not exist"));
    CHECK_EQ(e.detail(), std::string("Known nodes: a, b, s."));
    CHECK_EQ(e.hint(), std::string("Register it with shardroute.add_node(), shardroute.add_standby() or "
                                   "shardroute.import_django_settings()."));
}

TEST(unknown_with_nothing_known_says_so) {
    Error e = unknown_error(Kind::read_group, "g", {});
    CHECK_EQ(std::string(e.what()), std::string("read group \"g\" does not exist"));
    CHECK_EQ(e.detail(), std::string("The catalog has no read groups."));
    CHECK_EQ(e.hint(),
             std::string("Create it with shardroute.create_read_group() or shardroute.import_django_settings()."));
}

TEST(unknown_lists_at_most_twenty_and_clips_names) {
    std::vector<std::string> known;
    for (int i = 0; i < 25; ++i)
        known.push_back("c" + std::to_string(100 + i));
    Error e = unknown_error(Kind::cluster, std::string(300, 'x'), known);
    CHECK(e.detail().find("c119, and 5 more.") != std::string::npos);
    CHECK(e.detail().find("c120") == std::string::npos);
    CHECK(std::string(e.what()).find("... (300 bytes)\" does not exist") != std::string::npos);
}

TEST(unknown_records_the_callers_location) {
    int line = __LINE__ + 1;
    Error e = unknown_error(Kind::standby, "s", {});
    CHECK_EQ(e.line(), line);
    CHECK(std::string(e.file()).find("unknown_test.cpp") != std::string::npos);
}

TEST(unknown_kind_names_round_trip) {
    for (Kind k : {Kind::node, Kind::standby, Kind::cluster, Kind::read_group})
        CHECK(parse_kind(kind_name(k)) == k);
    bool threw = false;
    try {
        parse_kind("table");
    } catch (const Error &e) {
        threw = e.code() == "22023";
    }
    CHECK(threw);
}
