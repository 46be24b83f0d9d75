// Reading a settings document: typed getters whose errors start with the
// setting path (DATABASES['p1']['PORT']), and the size and depth limits
// checked before nlohmann sees the text. Internal to src/django/.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace shardroute::django {

using json = nlohmann::json;

// DATABASES['p1']: settings paths as Python subscripts, the way users find
// them in localsettings.py; a huge key is clipped.
std::string sub(const std::string &path, const std::string &key);

// "A, B, C": accepted keys, for hints.
std::string join(const std::vector<const char *> &keys);

// Throws Error 22023 "<path> <what>".
[[noreturn]] void malformed(const std::string &path, const std::string &what, std::string hint = {});

// "an object", "a string", ...: the JSON type as an error message names it.
const char *type_name(const json &j);

// Throws "<path> must be <expected>, not <type>" unless ok.
void expect(const json &j, bool ok, const std::string &path, const char *expected);

const json &object_at(const json &j, const std::string &path);
std::string string_at(const json &j, const std::string &path);
bool bool_at(const json &j, const std::string &path);
// Integers only (5432, not 5432.0), within [lo, hi].
int64_t integer_at(const json &j, const std::string &path, int64_t lo, int64_t hi);
// Any JSON number (not a boolean).
double number_at(const json &j, const std::string &path);
// A replication delay in seconds (fractions allowed), as microseconds.
int64_t delay_at(const json &j, const std::string &path);
// An entry's PORT: absent or '' is 5432, an integer as is, a string by parse_port.
int port_at(const json &entry, const std::string &path);

// Refuses keys not in `accepted`, naming them and listing the accepted ones.
void check_keys(const json &obj, const std::string &path, const std::vector<const char *> &accepted, const char *what);

// The document, within the size and depth limits; every parse failure is 22023.
json parse_json(const std::string &text);

} // namespace shardroute::django
