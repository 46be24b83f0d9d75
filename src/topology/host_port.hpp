// "host" or "host:port", as Django's CITUS_NODE_NAME names a Citus node: the
// validator's rule and the Citus registration plan read it with this one parse.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace shardroute::topology {

struct HostPort {
    std::string host;
    std::optional<int> port; // none: "host" alone, the node's own port applies
};

// The port is what follows the last ':', 1 to 65535 in at most 5 digits (no
// sign, no spaces); the host is everything before it and is not empty, so
// "[::1]:5432" is host "[::1]" (brackets kept) and port 5432. nullopt when
// `text` is empty or its port part is malformed.
std::optional<HostPort> parse_host_port(std::string_view text);

} // namespace shardroute::topology
