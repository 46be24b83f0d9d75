// Included first by every pure C++ file: those files must compile without
// PostgreSQL headers, so they can be unit-tested and fuzzed without a server.
#pragma once
#ifdef POSTGRES_H
static_assert(false, "pure C++ files must not include PostgreSQL headers (only src/pg/ does)");
#endif
