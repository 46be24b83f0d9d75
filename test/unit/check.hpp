// A tiny test registry for the pure C++ cores: no server, no framework to install.
// Each TEST is one counted test; CHECK failures are reported with file:line.
#pragma once

#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace unit {

struct Case {
    const char *name;
    std::function<void()> body;
};

inline std::vector<Case> &registry() {
    static std::vector<Case> cases;
    return cases;
}

inline int &failures_in_case() {
    static int n = 0;
    return n;
}

struct Register {
    Register(const char *name, std::function<void()> body) { registry().push_back({name, std::move(body)}); }
};

inline void fail(const char *file, int line, const std::string &what) {
    ++failures_in_case();
    std::cerr << "  " << file << ":" << line << ": " << what << "\n";
}

} // namespace unit

#define UNIT_CAT2(a, b) a##b
#define UNIT_CAT(a, b) UNIT_CAT2(a, b)
#define TEST(name)                                                                                                     \
    static void UNIT_CAT(test_, name)();                                                                               \
    static unit::Register UNIT_CAT(reg_, name)(#name, UNIT_CAT(test_, name));                                          \
    static void UNIT_CAT(test_, name)()

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond))                                                                                                   \
            unit::fail(__FILE__, __LINE__, "CHECK(" #cond ") failed");                                                 \
    } while (0)

#define CHECK_EQ(a, b)                                                                                                 \
    do {                                                                                                               \
        auto _va = (a);                                                                                                \
        auto _vb = (b);                                                                                                \
        if (!(_va == _vb)) {                                                                                           \
            std::ostringstream _os;                                                                                    \
            _os << "CHECK_EQ(" #a ", " #b ") failed: " << _va << " != " << _vb;                                        \
            unit::fail(__FILE__, __LINE__, _os.str());                                                                 \
        }                                                                                                              \
    } while (0)

// Expects `expr` to throw shardroute::Error with SQLSTATE `code` and a message containing `part`.
#define CHECK_THROWS(expr, want_code, part)                                                                            \
    do {                                                                                                               \
        bool _thrown = false;                                                                                          \
        try {                                                                                                          \
            (void)(expr);                                                                                              \
        } catch (const shardroute::Error &_e) {                                                                        \
            _thrown = true;                                                                                            \
            std::string _all = std::string(_e.what()) + " | " + _e.detail() + " | " + _e.hint();                       \
            if (_e.code() != (want_code) || _all.find(part) == std::string::npos)                                      \
                unit::fail(__FILE__, __LINE__, "unexpected error " + _e.code() + ": " + _all);                         \
        }                                                                                                              \
        if (!_thrown)                                                                                                  \
            unit::fail(__FILE__, __LINE__, "expected an error from " #expr);                                           \
    } while (0)
