// libpq's error messages end with a newline and may span several lines: chomped
// for an error's detail (as postgres_fdw shows them), or on one line for a
// status column such as standby_status().monitor_error.
#pragma once

#include <string>

namespace shardroute::pg {

inline std::string libpq_chomped(const char *msg) {
    std::string s = msg ? msg : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t'))
        s.pop_back();
    return s;
}

inline std::string libpq_one_line(const char *msg) {
    std::string s = libpq_chomped(msg);
    for (char &ch : s)
        if (ch == '\n' || ch == '\t')
            ch = ' ';
    return s;
}

} // namespace shardroute::pg
