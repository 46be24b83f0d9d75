#include "django/json_access.hpp"

#include "common/error.hpp"
#include "django/django.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <fmt/format.h>
#include <utility>

namespace shardroute::django {

namespace {

constexpr size_t max_settings_bytes = 16 * 1024 * 1024;
constexpr int max_settings_depth = 32;
constexpr const char *numeric_value_out_of_range = "22003"; // what int4in raises
constexpr double max_delay_seconds = 1e9;                   // keeps microseconds exact through a float round trip

} // namespace

// Settings paths are written as Python subscripts, the way users find them in localsettings.py.
// Keys are user data: a huge one is shortened (clip) so it cannot flood an error or the log.
std::string sub(const std::string &path, const std::string &key) {
    std::string out = path + "['";
    for (char c : clip(key)) {
        if (c == '\'' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "']";
}

// Accepted keys go into hints, so a misspelt key is fixed at the first try.
std::string join(const std::vector<const char *> &keys) {
    std::string out;
    for (const char *k : keys)
        out += (out.empty() ? "" : ", ") + std::string(k);
    return out;
}

// Every malformed document gets the same SQLSTATE and starts with the setting to fix.
[[noreturn]] void malformed(const std::string &path, const std::string &what, std::string hint) {
    throw Error(sqlstate::invalid_parameter_value, path + " " + what, {}, std::move(hint));
}

// The JSON type as a user reads it in an error message.
const char *type_name(const json &j) {
    switch (j.type()) {
    case json::value_t::object:
        return "an object";
    case json::value_t::array:
        return "an array";
    case json::value_t::string:
        return "a string";
    case json::value_t::boolean:
        return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
        return "an integer";
    case json::value_t::number_float:
        return "a number";
    default:
        return "null";
    }
}

// Type errors name what was expected and what was found, so "PORT: [5432]" is obvious.
void expect(const json &j, bool ok, const std::string &path, const char *expected) {
    if (!ok)
        malformed(path, fmt::format("must be {}, not {}", expected, type_name(j)));
}

// Typed accessors: a wrong type is reported with its setting path instead of nlohmann's type_error.
const json &object_at(const json &j, const std::string &path) {
    expect(j, j.is_object(), path, "an object");
    return j;
}

std::string string_at(const json &j, const std::string &path) {
    expect(j, j.is_string(), path, "a string");
    return j.get<std::string>();
}

bool bool_at(const json &j, const std::string &path) {
    expect(j, j.is_boolean(), path, "a boolean (true or false)");
    return j.get<bool>();
}

// Integers only (5432, not 5432.0), within [lo, hi].
int64_t integer_at(const json &j, const std::string &path, int64_t lo, int64_t hi) {
    expect(j, j.is_number_integer(), path, "an integer");
    bool in_range = j.is_number_unsigned() ? j.get<uint64_t>() <= static_cast<uint64_t>(hi) &&
                                                 (lo <= 0 || j.get<uint64_t>() >= uint64_t(lo))
                                           : j.get<int64_t>() >= lo && j.get<int64_t>() <= hi;
    if (!in_range)
        malformed(path, fmt::format("must be an integer between {} and {}, not {}", lo, hi, j.dump()));
    return j.get<int64_t>();
}

// Any JSON number (not a boolean): weights and delays may be fractional.
double number_at(const json &j, const std::string &path) {
    expect(j, j.is_number(), path, "a number");
    return j.get<double>();
}

// Unknown keys are refused rather than ignored: a misspelt MASTER must not silently make a primary.
void check_keys(const json &obj, const std::string &path, const std::vector<const char *> &accepted, const char *what) {
    for (const auto &item : obj.items())
        if (std::none_of(accepted.begin(), accepted.end(), [&](const char *k) { return item.key() == k; }))
            malformed(sub(path, item.key()), fmt::format("is not a known {}", what),
                      "Accepted keys: " + join(accepted) + ".");
}

// nlohmann parses with its own stack and memory: refuse what would be costly before handing it over.
static void check_limits(const std::string &text) {
    if (text.size() > max_settings_bytes)
        throw Error(sqlstate::program_limit_exceeded,
                    fmt::format("settings document is too large ({} bytes)", text.size()),
                    fmt::format("The limit is {} bytes.", max_settings_bytes));
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max_settings_depth)
                throw Error(
                    sqlstate::program_limit_exceeded, "settings document is nested too deeply",
                    fmt::format("Objects and arrays may be nested at most {} levels deep.", max_settings_depth));
        } else if ((c == '}' || c == ']') && depth > 0) {
            --depth;
        }
    }
}

// Every nlohmann failure (syntax, number overflow, bad UTF-8) is the user's document, not our bug.
json parse_json(const std::string &text) {
    check_limits(text);
    try {
        return json::parse(text);
    } catch (const json::exception &e) {
        throw Error(sqlstate::invalid_parameter_value, "settings are not valid JSON", clip(e.what()));
    }
}

// A replication delay in seconds (fractions allowed), as microseconds.
int64_t delay_at(const json &j, const std::string &path) {
    double seconds = number_at(j, path);
    if (!(std::fabs(seconds) <= max_delay_seconds))
        malformed(path, fmt::format("must be a number of seconds up to {:.0f}", max_delay_seconds));
    return std::llround(seconds * 1e6);
}

// Django writes PORT as a string ('5432') or a number; '' means the libpq default. Strings follow
// PostgreSQL's int4 input (parse_port), so the errors read like PostgreSQL's own.
int port_at(const json &entry, const std::string &path) {
    if (!entry.contains("PORT"))
        return 5432;
    const json &p = entry["PORT"];
    std::string ppath = sub(path, "PORT");
    if (p.is_number_integer())
        return static_cast<int>(integer_at(p, ppath, INT_MIN, INT_MAX));
    expect(p, p.is_string(), ppath, "an integer or a string");
    std::string text = p.get<std::string>();
    if (text.empty())
        return 5432;
    try {
        return parse_port(text);
    } catch (const Error &e) {
        throw Error(e.code(), ppath + ": " + clip(e.what()), e.detail(), e.hint());
    }
}

// PostgreSQL's int4 input rules (surrounding spaces, an optional sign, digits) and SQLSTATEs, in
// pure C++: the unit tests, the fuzzer and SQL read a PORT the same way.
int parse_port(const std::string &text) {
    size_t b = text.find_first_not_of(" \t\n\r\f\v");
    size_t e = text.find_last_not_of(" \t\n\r\f\v");
    std::string t = b == std::string::npos ? std::string() : text.substr(b, e - b + 1);
    size_t start = !t.empty() && (t[0] == '+' || t[0] == '-') ? 1 : 0;
    if (start == t.size() ||
        !std::all_of(t.begin() + static_cast<long>(start), t.end(), [](char c) { return c >= '0' && c <= '9'; }))
        throw Error(sqlstate::invalid_text_representation,
                    fmt::format("invalid input syntax for type integer: \"{}\"", text));
    long long value = 0;
    for (size_t i = start; i < t.size(); ++i) {
        value = value * 10 + (t[i] - '0');
        if (value > static_cast<long long>(INT_MAX) + 1)
            break;
    }
    if (t[0] == '-')
        value = -value;
    if (value < INT_MIN || value > INT_MAX)
        throw Error(numeric_value_out_of_range, fmt::format("value \"{}\" is out of range for type integer", text));
    return static_cast<int>(value);
}

} // namespace shardroute::django
