// The hash algorithms shardroute knows, by the names pghashlib and plproxy users type.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace shardroute::hash {

enum class Algorithm {
    siphash24, // pghashlib hash_string(..., 'siphash24'): CommCare's shard hash
    hashtext,  // PostgreSQL's own hashtext(), as classic plproxy setups use
};

// Exact, case-sensitive match, as pghashlib does; nullopt for an unknown name.
std::optional<Algorithm> find_algorithm(std::string_view name) noexcept;

// Like find_algorithm, but an unknown name throws Error 22023 listing the known ones.
Algorithm parse_algorithm(std::string_view name);

const char *algorithm_name(Algorithm a) noexcept;

// "siphash24, hashtext": for messages and hints.
std::string known_algorithms();

} // namespace shardroute::hash
