#include "hash/algorithm.hpp"

#include "common/error.hpp"

#include <fmt/format.h>

namespace shardroute::hash {

namespace {
struct Known {
    std::string_view name;
    Algorithm algorithm;
};
constexpr Known known[] = {{"siphash24", Algorithm::siphash24}, {"hashtext", Algorithm::hashtext}};
} // namespace

std::optional<Algorithm> find_algorithm(std::string_view name) noexcept {
    for (const auto &k : known)
        if (k.name == name)
            return k.algorithm;
    return std::nullopt;
}

std::string known_algorithms() {
    std::string out;
    for (const auto &k : known) {
        if (!out.empty())
            out += ", ";
        out += k.name;
    }
    return out;
}

Algorithm parse_algorithm(std::string_view name) {
    if (auto a = find_algorithm(name))
        return *a;
    throw Error(sqlstate::invalid_parameter_value, "unknown hash algorithm " + quoted_name(name),
                fmt::format("Known algorithms: {}.", known_algorithms()),
                "Use 'siphash24' for the CommCare shard hash (pghashlib compatible).");
}

const char *algorithm_name(Algorithm a) noexcept {
    for (const auto &k : known)
        if (k.algorithm == a)
            return k.name.data();
    return "?";
}

} // namespace shardroute::hash
