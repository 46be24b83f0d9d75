#include "topology/conninfo.hpp"

#include "common/error.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace shardroute::topology {

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// libpq 15's connection keywords (PQconndefaults), less the ones handled below.
constexpr std::string_view known_keywords[] = {"user",
                                               "passfile",
                                               "channel_binding",
                                               "connect_timeout",
                                               "client_encoding",
                                               "options",
                                               "application_name",
                                               "fallback_application_name",
                                               "keepalives",
                                               "keepalives_idle",
                                               "keepalives_interval",
                                               "keepalives_count",
                                               "tcp_user_timeout",
                                               "sslmode",
                                               "sslcompression",
                                               "sslcert",
                                               "sslkey",
                                               "sslrootcert",
                                               "sslcrl",
                                               "sslcrldir",
                                               "sslsni",
                                               "requirepeer",
                                               "ssl_min_protocol_version",
                                               "ssl_max_protocol_version",
                                               "gssencmode",
                                               "krbsrvname",
                                               "gsslib",
                                               "service",
                                               "target_session_attrs"};

[[noreturn]] void malformed(std::string_view text, const std::string &why) {
    throw Error(sqlstate::invalid_parameter_value, "invalid connection options " + quoted_name(text), why,
                "Write libpq keywords as keyword=value separated by spaces, e.g. 'user=commcarehq sslmode=require'.");
}

} // namespace

Options parse_options(std::string_view text) {
    Options out;
    size_t i = 0, n = text.size();
    while (true) {
        while (i < n && is_space(text[i]))
            ++i;
        if (i == n)
            break;
        size_t k = i;
        while (i < n && text[i] != '=' && !is_space(text[i]))
            ++i;
        std::string key(text.substr(k, i - k));
        while (i < n && is_space(text[i]))
            ++i;
        if (i == n || text[i] != '=')
            malformed(text, fmt::format("missing \"=\" after {}", quoted_name(key)));
        ++i;
        while (i < n && is_space(text[i]))
            ++i;
        std::string value;
        if (i < n && text[i] == '\'') {
            ++i;
            bool closed = false;
            while (i < n) {
                char c = text[i++];
                if (c == '\\' && i < n) {
                    value += text[i++];
                } else if (c == '\'') {
                    closed = true;
                    break;
                } else {
                    value += c;
                }
            }
            if (!closed)
                malformed(text, fmt::format("unterminated quoted value for {}", quoted_name(key)));
        } else {
            while (i < n && !is_space(text[i])) {
                if (text[i] == '\\') { // an escape; a trailing backslash is dropped, as libpq does
                    if (++i == n)
                        break;
                }
                value += text[i++];
            }
        }
        if (key.empty())
            malformed(text, "an option has no keyword");
        out.emplace_back(std::move(key), std::move(value));
    }
    return out;
}

std::vector<OptionProblem> check_options(const Options &options) {
    std::vector<OptionProblem> problems;
    for (const auto &[key, value] : options) {
        if (std::any_of(value.begin(), value.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
            problems.push_back({"invalid options",
                                fmt::format("the value of {} holds a control character", quoted_name(key)),
                                "Option values are plain text on one line."});
        } else if (key == "password" || key == "sslpassword") {
            problems.push_back({"password in options",
                                fmt::format("{} may not be stored in the catalog", quoted_name(key)),
                                "Passwords never enter the catalog: use a .pgpass file on the servers that connect, "
                                "or a user mapping (CREATE USER MAPPING ... OPTIONS (user '...', password '...'))."});
        } else if (key == "host" || key == "hostaddr" || key == "port" || key == "dbname") {
            problems.push_back({"reserved option", fmt::format("{} has its own argument", quoted_name(key)),
                                "Pass host, port and dbname as arguments of add_node/alter_node, not in options."});
        } else if (std::find(std::begin(known_keywords), std::end(known_keywords), key) == std::end(known_keywords)) {
            std::string known;
            for (auto k : known_keywords)
                known += (known.empty() ? "" : ", ") + std::string(k);
            problems.push_back({"unknown option", fmt::format("{} is not a libpq connection keyword", quoted_name(key)),
                                "Known keywords: " + known + "."});
        }
    }
    return problems;
}

std::string quote_conninfo_value(std::string_view value) {
    bool plain = !value.empty() && std::none_of(value.begin(), value.end(), [](char c) {
        return is_space(c) || c == '\'' || c == '\\' || c == '=';
    });
    if (plain)
        return std::string(value);
    std::string out = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\')
            out += '\\';
        out += c;
    }
    out += '\'';
    return out;
}

std::string format_options(const Options &options) {
    std::string out;
    for (const auto &[key, value] : options) {
        if (!out.empty())
            out += ' ';
        out += key + "=" + quote_conninfo_value(value);
    }
    return out;
}

namespace {

// One writer for both conninfos: they differ in the host only.
std::string conninfo_with_host(const Node &node, const std::string &host) {
    std::string out = "host=" + quote_conninfo_value(host) + " port=" + std::to_string(node.port);
    if (node.dbname)
        out += " dbname=" + quote_conninfo_value(*node.dbname);
    if (node.options) {
        std::string extra = format_options(parse_options(*node.options));
        if (!extra.empty())
            out += " " + extra;
    }
    return out;
}

} // namespace

std::string conninfo(const Node &node) {
    return conninfo_with_host(node, node.host);
}

std::string plproxy_conninfo(const Node &node) {
    return conninfo_with_host(node, node.plproxy_host.value_or(node.host));
}

} // namespace shardroute::topology
