// SQL entry points for the pghashlib-compatible hash functions. These run on
// every row of a PL/Proxy RUN ON, so the algorithm name is resolved once per
// call site (fn_extra) and the body allocates nothing beyond detoasting.
#include "common/error.hpp"
#include "hash/algorithm.hpp"
#include "hash/siphash.hpp"

#include "pg/call_site.hpp"
#include "pg/guard.hpp"
#include "pg/hashing.hpp"

extern "C" {
#include "common/hashfn.h"
#include "utils/uuid.h"
}

#include <string_view>

using namespace shardroute;
using shardroute::hash::Algorithm;

namespace shardroute::pg {

uint64_t hash64(Algorithm algorithm, const char *data, size_t len, uint64_t k0, uint64_t k1) {
    switch (algorithm) {
    case Algorithm::siphash24:
        return hash::siphash24(data, len, k0, k1);
    case Algorithm::hashtext:
        if (k1 != 0)
            throw Error(sqlstate::invalid_parameter_value, "algorithm \"hashtext\" takes a single 64-bit seed",
                        "The second key (k1) must be 0 for hashtext.", "Use 'siphash24' for a 128-bit key.");
        return DatumGetUInt64(
            hash_any_extended(reinterpret_cast<const unsigned char *>(data), static_cast<int>(len), k0));
    }
    return 0;
}

int32 hash32_other(Algorithm algorithm, const char *data, size_t len, uint64_t seed) {
    if (algorithm == Algorithm::hashtext && seed == 0)
        return DatumGetInt32(hash_any(reinterpret_cast<const unsigned char *>(data), static_cast<int>(len)));
    return hash::low32(hash64(algorithm, data, len, seed, 0));
}

} // namespace shardroute::pg

namespace {

// The algorithm argument, resolved once per call site.
Algorithm resolve_algorithm(FunctionCallInfo fcinfo, int argno) {
    return shardroute::pg::resolve_name_arg<Algorithm>(
        fcinfo, argno, 0, [](std::string_view name) { return shardroute::hash::parse_algorithm(name); });
}

// pghashlib's seed: an int4 sign-extended to the 64-bit k0.
uint64_t seed_arg(FunctionCallInfo fcinfo, int argno) {
    return static_cast<uint64_t>(static_cast<int64_t>(PG_GETARG_INT32(argno)));
}

} // namespace

using shardroute::pg::hash32;
using shardroute::pg::hash64;

// hash_string(data text|bytea, algorithm text [, seed int4]) -> int4
SHARDROUTE_FUNCTION(shardroute_hash_string) {
    Algorithm algorithm = resolve_algorithm(fcinfo, 1);
    uint64_t seed = PG_NARGS() > 2 ? seed_arg(fcinfo, 2) : 0;
    struct varlena *data = PG_GETARG_VARLENA_PP(0);
    PG_RETURN_INT32(hash32(algorithm, VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data), seed));
}

// hash64_string(data text|bytea, algorithm text [, k0 int8 [, k1 int8]]) -> int8
SHARDROUTE_FUNCTION(shardroute_hash64_string) {
    Algorithm algorithm = resolve_algorithm(fcinfo, 1);
    uint64_t k0 = PG_NARGS() > 2 ? static_cast<uint64_t>(PG_GETARG_INT64(2)) : 0;
    uint64_t k1 = PG_NARGS() > 3 ? static_cast<uint64_t>(PG_GETARG_INT64(3)) : 0;
    struct varlena *data = PG_GETARG_VARLENA_PP(0);
    PG_RETURN_INT64(static_cast<int64>(hash64(algorithm, VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data), k0, k1)));
}

// hash_uuid(id uuid, algorithm text) -> int4: the 16 raw bytes, as CommCare hashes UUID ids.
SHARDROUTE_FUNCTION(shardroute_hash_uuid) {
    Algorithm algorithm = resolve_algorithm(fcinfo, 1);
    pg_uuid_t *id = PG_GETARG_UUID_P(0);
    PG_RETURN_INT32(hash32(algorithm, reinterpret_cast<const char *>(id->data), UUID_LEN, 0));
}
