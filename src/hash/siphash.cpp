#include "hash/siphash.hpp"

#include <cstring>

namespace shardroute::hash {

namespace {

inline uint64_t rotl(uint64_t x, int b) noexcept {
    return (x << b) | (x >> (64 - b));
}

// Little-endian load that compiles to one mov on x86-64 and stays correct on
// big-endian machines (the hash is defined on little-endian words).
inline uint64_t load_le64(const unsigned char *p) noexcept {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
#else
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = (v << 8) | p[i];
    return v;
#endif
}

struct State {
    uint64_t v0, v1, v2, v3;

    inline void round() noexcept {
        v0 += v1;
        v1 = rotl(v1, 13);
        v1 ^= v0;
        v0 = rotl(v0, 32);
        v2 += v3;
        v3 = rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = rotl(v1, 17);
        v1 ^= v2;
        v2 = rotl(v2, 32);
    }

    inline void compress(uint64_t m) noexcept {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }
};

} // namespace

uint64_t siphash24(const void *data, size_t len, uint64_t k0, uint64_t k1) noexcept {
    const auto *p = static_cast<const unsigned char *>(data);
    State s{k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL, k0 ^ 0x6c7967656e657261ULL,
            k1 ^ 0x7465646279746573ULL};

    const unsigned char *end = p + (len & ~static_cast<size_t>(7));
    for (; p != end; p += 8)
        s.compress(load_le64(p));

    // Last block: the remaining 0..7 bytes, with the length's low byte on top.
    uint64_t b = static_cast<uint64_t>(len) << 56;
    switch (len & 7) {
    case 7:
        b |= static_cast<uint64_t>(p[6]) << 48;
        [[fallthrough]];
    case 6:
        b |= static_cast<uint64_t>(p[5]) << 40;
        [[fallthrough]];
    case 5:
        b |= static_cast<uint64_t>(p[4]) << 32;
        [[fallthrough]];
    case 4:
        b |= static_cast<uint64_t>(p[3]) << 24;
        [[fallthrough]];
    case 3:
        b |= static_cast<uint64_t>(p[2]) << 16;
        [[fallthrough]];
    case 2:
        b |= static_cast<uint64_t>(p[1]) << 8;
        [[fallthrough]];
    case 1:
        b |= static_cast<uint64_t>(p[0]);
        break;
    default:
        break;
    }
    s.compress(b);

    s.v2 ^= 0xff;
    s.round();
    s.round();
    s.round();
    s.round();
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

} // namespace shardroute::hash
