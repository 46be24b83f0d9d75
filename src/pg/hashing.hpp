// The hash every SQL-facing function uses: SipHash-2-4 from src/hash, or
// PostgreSQL's own hash_any for 'hashtext'.
#pragma once

#include "hash/algorithm.hpp"
#include "hash/siphash.hpp"

#include "pg/postgres.hpp"

namespace shardroute::pg {

// The 64-bit word under key (k0, k1); for hashtext k0 is the extended-hash seed
// and k1 must be 0.
uint64_t hash64(hash::Algorithm algorithm, const char *data, size_t len, uint64_t k0, uint64_t k1);

// hash32 for the algorithms other than siphash24.
int32 hash32_other(hash::Algorithm algorithm, const char *data, size_t len, uint64_t seed);

// pghashlib's int4 result (low 32 bits); for hashtext with seed 0, hashtext() itself.
// Inline: this runs on every row of a RUN ON or lookup, and siphash24 is the common case.
inline int32 hash32(hash::Algorithm algorithm, const char *data, size_t len, uint64_t seed) {
    if (algorithm == hash::Algorithm::siphash24)
        return hash::low32(hash::siphash24(data, len, seed, 0));
    return hash32_other(algorithm, data, len, seed);
}

} // namespace shardroute::pg
