// SipHash-2-4 (Aumasson & Bernstein), as pghashlib's hash_string(..., 'siphash24')
// computes it: the CommCare fleet shards on the low 32 bits of this word.
#pragma once

#include <cstddef>
#include <cstdint>

namespace shardroute::hash {

// SipHash-2-4 of `len` bytes with the 128-bit key (k0, k1), k0 holding key bytes
// 0..7 little-endian. pghashlib passes the seed as k0 (sign-extended) and k1 = 0.
uint64_t siphash24(const void *data, size_t len, uint64_t k0, uint64_t k1) noexcept;

// pghashlib's int4 result: the low 32 bits of the 64-bit word, as a signed value.
inline int32_t low32(uint64_t h) noexcept {
    return static_cast<int32_t>(static_cast<uint32_t>(h));
}

} // namespace shardroute::hash
