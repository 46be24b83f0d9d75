// Replays every input the Django settings fuzzer once broke on
// (test/fuzz/regressions/, relative to the repository root, where the unit
// binary runs) through the fuzzer's own checks, so a fixed bug stays fixed
// without needing clang's libFuzzer to notice.
#include "check.hpp"

#include "../fuzz/fuzz_django.cpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

const char *const regressions_dir = "test/fuzz/regressions";

std::vector<std::filesystem::path> regression_files() {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(regressions_dir, ec))
        if (entry.is_regular_file() && entry.path().extension() == ".json")
            files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    return files;
}

} // namespace

TEST(fuzz_regressions_replay) {
    auto files = regression_files();
    CHECK(!files.empty()); // run from the repository root
    for (const auto &path : files) {
        std::ifstream in(path, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        try {
            std::string failure =
                fuzz_django::check_input(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
            if (!failure.empty())
                unit::fail(__FILE__, __LINE__, path.string() + ": " + failure);
        } catch (const std::exception &e) {
            unit::fail(__FILE__, __LINE__, path.string() + ": uncaught " + e.what());
        }
    }
}

// The fixed catalog the fuzzer merges into must itself be valid and round-trip.
TEST(fuzz_fixed_topology_is_valid) {
    auto t = fuzz_django::fixed_topology();
    CHECK(shardroute::topology::validate(t).empty());
    std::string exported = shardroute::django::export_settings(t);
    auto again = shardroute::django::plan_import(exported, t, true);
    for (const auto &a : again.actions)
        CHECK_EQ(a.action, std::string("unchanged"));
    CHECK(fuzz_django::same(again.target, t));
}
