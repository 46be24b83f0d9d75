#include "topology/host_port.hpp"

#include <algorithm>

namespace shardroute::topology {

std::optional<HostPort> parse_host_port(std::string_view text) {
    if (text.empty())
        return std::nullopt;
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
        return HostPort{std::string(text), std::nullopt};
    std::string_view host = text.substr(0, colon), digits = text.substr(colon + 1);
    // at most 5 digits: the value below cannot overflow
    if (host.empty() || digits.empty() || digits.size() > 5 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    int port = 0;
    for (char c : digits)
        port = port * 10 + (c - '0');
    if (port < 1 || port > 65535)
        return std::nullopt;
    return HostPort{std::string(host), port};
}

} // namespace shardroute::topology
