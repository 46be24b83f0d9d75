// Runs every registered unit test and ends with the line the test runner counts.
#include "check.hpp"

#include <cstring>

int main(int argc, char **argv) {
    int passed = 0, failed = 0;
    for (const auto &c : unit::registry()) {
        if (argc > 1 && std::strstr(c.name, argv[1]) == nullptr)
            continue;
        unit::failures_in_case() = 0;
        try {
            c.body();
        } catch (const std::exception &e) {
            unit::fail(__FILE__, __LINE__, std::string("uncaught exception: ") + e.what());
        }
        if (unit::failures_in_case() == 0) {
            ++passed;
        } else {
            ++failed;
            std::cerr << "FAILED: " << c.name << "\n";
        }
    }
    std::cout << "unit: " << passed << " passed, " << failed << " failed\n";
    return failed == 0 ? 0 : 1;
}
