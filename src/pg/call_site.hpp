// Per-call-site memo of a name argument (an algorithm, a cluster): resolved
// once and kept in fn_extra, so a lookup run on every row of a query does not
// compare or search names row after row.
#pragma once

#include "pg/postgres.hpp"

#include <cstring>
#include <string_view>
#include <type_traits>

namespace shardroute::pg {

template <typename T> struct NameMemo {
    uint64_t generation; // the catalog cache generation the value belongs to
    bool stable;         // the argument is a constant or parameter: never look at it again
    int len;
    char name[NAMEDATALEN];
    T value;
};

// Returns what `resolve(name)` returns for argument `argno`, memoized for this
// call site while `generation` is unchanged. resolve may throw (unknown names).
template <typename T, typename Resolve>
T resolve_name_arg(FunctionCallInfo fcinfo, int argno, uint64_t generation, Resolve &&resolve) {
    static_assert(std::is_trivially_copyable_v<T>, "memoized values live in fn_extra");
    auto *memo = static_cast<NameMemo<T> *>(fcinfo->flinfo->fn_extra);
    bool current = memo && memo->generation == generation;
    if (current && memo->stable)
        return memo->value;

    text *arg = PG_GETARG_TEXT_PP(argno);
    std::string_view name(VARDATA_ANY(arg), VARSIZE_ANY_EXHDR(arg));
    if (current && name == std::string_view(memo->name, static_cast<size_t>(memo->len)))
        return memo->value;

    T value = resolve(name);
    if (name.size() >= NAMEDATALEN)
        return value; // longer than any catalog name: not worth keeping
    if (!memo) {
        memo = static_cast<NameMemo<T> *>(MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(NameMemo<T>)));
        fcinfo->flinfo->fn_extra = memo;
    }
    memo->generation = generation;
    memo->stable = get_fn_expr_arg_stable(fcinfo->flinfo, argno);
    memo->len = static_cast<int>(name.size());
    std::memcpy(memo->name, name.data(), name.size());
    memo->value = value;
    return value;
}

} // namespace shardroute::pg
