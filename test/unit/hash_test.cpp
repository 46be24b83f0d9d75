// The SipHash-2-4 core against the published reference vectors and the values
// pghashlib returns for the CommCare fleet (the same values as sql/hash.sql).
#include "check.hpp"

#include "common/error.hpp"
#include "hash/algorithm.hpp"
#include "hash/siphash.hpp"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

using namespace shardroute::hash;

namespace {

// SipHash-2-4 reference vectors (Aumasson & Bernstein, vectors_sip64): key
// 00 01 .. 0f, message 00 01 .. (i-1) for i = 0..63, output as a little-endian word.
const uint64_t reference[64] = {
    0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL, 0x0d6c8009d9a94f5aULL, 0x85676696d7fb7e2dULL, 0xcf2794e0277187b7ULL,
    0x18765564cd99a68dULL, 0xcbc9466e58fee3ceULL, 0xab0200f58b01d137ULL, 0x93f5f5799a932462ULL, 0x9e0082df0ba9e4b0ULL,
    0x7a5dbbc594ddb9f3ULL, 0xf4b32f46226bada7ULL, 0x751e8fbc860ee5fbULL, 0x14ea5627c0843d90ULL, 0xf723ca908e7af2eeULL,
    0xa129ca6149be45e5ULL, 0x3f2acc7f57c29bdbULL, 0x699ae9f52cbe4794ULL, 0x4bc1b3f0968dd39cULL, 0xbb6dc91da77961bdULL,
    0xbed65cf21aa2ee98ULL, 0xd0f2cbb02e3b67c7ULL, 0x93536795e3a33e88ULL, 0xa80c038ccd5ccec8ULL, 0xb8ad50c6f649af94ULL,
    0xbce192de8a85b8eaULL, 0x17d835b85bbb15f3ULL, 0x2f2e6163076bcfadULL, 0xde4daaaca71dc9a5ULL, 0xa6a2506687956571ULL,
    0xad87a3535c49ef28ULL, 0x32d892fad841c342ULL, 0x7127512f72f27cceULL, 0xa7f32346f95978e3ULL, 0x12e0b01abb051238ULL,
    0x15e034d40fa197aeULL, 0x314dffbe0815a3b4ULL, 0x027990f029623981ULL, 0xcadcd4e59ef40c4dULL, 0x9abfd8766a33735cULL,
    0x0e3ea96b5304a7d0ULL, 0xad0c42d6fc585992ULL, 0x187306c89bc215a9ULL, 0xd4a60abcf3792b95ULL, 0xf935451de4f21df2ULL,
    0xa9538f0419755787ULL, 0xdb9acddff56ca510ULL, 0xd06c98cd5c0975ebULL, 0xe612a3cb9ecba951ULL, 0xc766e62cfcadaf96ULL,
    0xee64435a9752fe72ULL, 0xa192d576b245165aULL, 0x0a8787bf8ecb74b2ULL, 0x81b3e73d20b49b6fULL, 0x7fa8220ba3b2eceaULL,
    0x245731c13ca42499ULL, 0xb78dbfaf3a8d83bdULL, 0xea1ad565322a1a0bULL, 0x60e61c23a3795013ULL, 0x6606d7e446282b93ULL,
    0x6ca4ecb15c5f91e1ULL, 0x9f626da15c9625f3ULL, 0xe51b38608ef25f57ULL, 0x958a324ceb064572ULL,
};

const uint64_t ref_k0 = 0x0706050403020100ULL;
const uint64_t ref_k1 = 0x0f0e0d0c0b0a0908ULL;

uint64_t sip(const std::string &s, uint64_t k0 = 0, uint64_t k1 = 0) {
    return siphash24(s.data(), s.size(), k0, k1);
}

} // namespace

TEST(siphash_reference_vectors_all_64) {
    unsigned char msg[64];
    for (int i = 0; i < 64; ++i)
        msg[i] = static_cast<unsigned char>(i);
    for (int len = 0; len < 64; ++len)
        CHECK_EQ(siphash24(msg, static_cast<size_t>(len), ref_k0, ref_k1), reference[len]);
}

TEST(siphash_design_vector_len15) {
    CHECK_EQ(reference[15], 0xa129ca6149be45e5ULL);
}

TEST(pghashlib_known_values) {
    CHECK_EQ(low32(sip("")), 1937178839);
    CHECK_EQ(low32(sip("abc")), 1198583518);
    CHECK_EQ(low32(sip("hello")), -1292414279);
    CHECK_EQ(static_cast<int64_t>(sip("abc")), INT64_C(4596069200710135518));
    // Seeded variant: k0 = seed sign-extended, k1 = 0.
    CHECK_EQ(low32(sip("abc", static_cast<uint64_t>(int64_t{1}))), 158654923);
    CHECK_EQ(low32(sip("abc", static_cast<uint64_t>(int64_t{-1}))), 2120103266);
}

TEST(uuid_as_16_raw_bytes) {
    const unsigned char id[16] = {0x40, 0x37, 0x24, 0xef, 0x9f, 0xe1, 0x41, 0xf2,
                                  0x90, 0x83, 0x63, 0x91, 0x8c, 0x62, 0xc2, 0xff};
    CHECK_EQ(low32(siphash24(id, sizeof id, 0, 0)), 1415444857);
}

// Any alignment and any tail length give the same result as an aligned copy.
TEST(siphash_unaligned_input) {
    std::vector<unsigned char> buf(4096 + 16);
    for (size_t i = 0; i < buf.size(); ++i)
        buf[i] = static_cast<unsigned char>(i * 131 + 7);
    for (size_t off = 1; off < 8; ++off) {
        std::vector<unsigned char> copy(buf.begin() + static_cast<long>(off),
                                        buf.begin() + static_cast<long>(off) + 4099);
        CHECK_EQ(siphash24(buf.data() + off, 4099, 1, 2), siphash24(copy.data(), copy.size(), 1, 2));
    }
}

TEST(algorithm_names) {
    CHECK(find_algorithm("siphash24") == Algorithm::siphash24);
    CHECK(find_algorithm("hashtext") == Algorithm::hashtext);
    CHECK(!find_algorithm("SIPHASH24")); // pghashlib matches names exactly
    CHECK(!find_algorithm(""));
    CHECK_EQ(known_algorithms(), std::string("siphash24, hashtext"));
    CHECK_THROWS(parse_algorithm("md5"), "22023", "Known algorithms: siphash24, hashtext");
}
