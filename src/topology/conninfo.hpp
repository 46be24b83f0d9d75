// libpq connection strings: parsing a node's extra `options`, checking them
// (never a password), and writing a node's full conninfo with correct quoting.
#pragma once

#include "topology/model.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shardroute::topology {

using Options = std::vector<std::pair<std::string, std::string>>;

// Parses "keyword=value ..." as libpq does (values may be single-quoted, with
// backslash escapes). Throws Error 22023 on malformed input.
Options parse_options(std::string_view text);

// Empty when the options are acceptable in the catalog; else the reason.
// Refused: password and sslpassword (secrets), host/hostaddr/port/dbname (own
// columns), and keywords libpq does not know.
struct OptionProblem {
    std::string rule;
    std::string message;
    std::string hint;
};
std::vector<OptionProblem> check_options(const Options &options);

// A value as libpq reads it back: bare when safe, else single-quoted with escapes.
std::string quote_conninfo_value(std::string_view value);

// "host=... port=... dbname=... <options>": everything libpq needs, no password.
std::string conninfo(const Node &node);

// The same, as PL/Proxy on this server must use it: host is the node's
// plproxy_host when set (Django PLPROXY_HOST, e.g. inside a container network).
std::string plproxy_conninfo(const Node &node);

// Writes options back as text, in order.
std::string format_options(const Options &options);

} // namespace shardroute::topology
