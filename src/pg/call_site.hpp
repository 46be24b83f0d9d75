// Per-call-site memo of a name argument (an algorithm, a cluster): resolved
// once and kept in fn_extra, so a lookup run on every row of a query does not
// compare or search names row after row.
#pragma once

#include "pg/postgres.hpp"

extern "C" {
#include "nodes/primnodes.h"
}

#include <cstring>
#include <string_view>
#include <type_traits>

namespace shardroute::pg {

template <typename T> struct NameMemo {
    uint64_t generation; // the catalog cache generation the value belongs to
    bool constant;       // the argument is a literal in the query: never look at it again
    int len;
    char name[NAMEDATALEN];
    T value;
};

// Whether argument `argno` of this call site is a literal (a Const). Only a
// literal is fixed for the life of the call site: a parameter (a PL/pgSQL
// variable, a prepared statement's $1) is "stable" to get_fn_expr_arg_stable()
// yet changes between calls of the same expression.
inline bool arg_is_literal(FmgrInfo *flinfo, int argno) {
    if (!flinfo || !flinfo->fn_expr)
        return false;
    List *args;
    if (IsA(flinfo->fn_expr, FuncExpr))
        args = reinterpret_cast<FuncExpr *>(flinfo->fn_expr)->args;
    else if (IsA(flinfo->fn_expr, OpExpr))
        args = reinterpret_cast<OpExpr *>(flinfo->fn_expr)->args;
    else
        return false;
    if (argno < 0 || argno >= list_length(args))
        return false;
    Node *arg = static_cast<Node *>(list_nth(args, argno));
    while (arg && IsA(arg, RelabelType))
        arg = reinterpret_cast<Node *>(reinterpret_cast<RelabelType *>(arg)->arg);
    return arg && IsA(arg, Const);
}

// Returns what `resolve(name)` returns for argument `argno`, memoized for this
// call site while `generation` is unchanged. resolve may throw (unknown names).
template <typename T, typename Resolve>
T resolve_name_arg(FunctionCallInfo fcinfo, int argno, uint64_t generation, Resolve &&resolve) {
    static_assert(std::is_trivially_copyable_v<T>, "memoized values live in fn_extra");
    auto *memo = static_cast<NameMemo<T> *>(fcinfo->flinfo->fn_extra);
    bool current = memo && memo->generation == generation;
    if (current && memo->constant)
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
    memo->constant = arg_is_literal(fcinfo->flinfo, argno);
    memo->len = static_cast<int>(name.size());
    std::memcpy(memo->name, name.data(), name.size());
    memo->value = value;
    return value;
}

} // namespace shardroute::pg
