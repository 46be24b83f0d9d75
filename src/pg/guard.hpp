// The two crossings between C++ and PostgreSQL, each guarded here and nowhere else.
//
//  * invoke(): PostgreSQL -> C++. Every SQL-callable entry point runs its body
//    through it. A C++ exception is caught, its SQLSTATE/message/detail/hint are
//    copied into palloc'd memory, and ereport(ERROR) is raised only after every
//    C++ scope has closed, so no destructor is ever skipped. Its LOCATION is
//    where the Error was constructed ("lambda in <entry point>" for a lambda,
//    whose own name is only "operator()").
//  * pg_call(): C++ -> PostgreSQL. Runs a piece of PostgreSQL code (SPI, input
//    functions, catalog access) under PG_TRY; an ereport comes back as a
//    PgException holding the original ErrorData, which invoke() re-throws with
//    ReThrowError: same SQLSTATE, detail, hint and context.
#pragma once

#include "pg/postgres.hpp"

#include <exception>
#include <type_traits>
#include <utility>

namespace shardroute::pg {

// A PostgreSQL error caught by pg_call and carried through C++ frames.
class PgException : public std::exception {
  public:
    explicit PgException(ErrorData *edata) noexcept : edata_(edata) {}
    ErrorData *edata() const noexcept { return edata_; }
    const char *what() const noexcept override;

  private:
    ErrorData *edata_; // palloc'd in the memory context current at pg_call()
};

// What an exception said, in palloc'd (or static) memory: plain data only.
struct PendingError {
    ErrorData *pg_error;
    int sqlstate;
    const char *message;
    const char *detail;
    const char *hint;
    const char *file; // where the Error was raised (nullptr: unknown)
    int line;
    const char *function;
    const char *entry; // the SQL-callable C function that invoke() ran
};

// Fills `out` from the exception being handled. Must be called from a catch
// block; it never ereports (allocations use MCXT_ALLOC_NO_OOM).
void capture_current_exception(PendingError &out) noexcept;

// Raises the captured error. Call only when no C++ object is alive in the caller.
[[noreturn]] void raise_pending(const PendingError &err);

template <typename Fn> Datum invoke(const char *entry, Fn &&fn) {
    PendingError err{};
    try {
        return fn();
    } catch (...) {
        capture_current_exception(err);
    }
    err.entry = entry;
    raise_pending(err);
}

// Runs body(arg) under PG_TRY. An ereport(ERROR) comes back as a PgException
// (its ErrorData copied into the caller's memory context), and a body that
// leaves PostgreSQL's error stack changed is an internal error. Its frame holds
// no C++ object, so the longjmp back to it skips nothing.
void run_guarded(void (*body)(void *), void *arg);

// Runs `fn` (PostgreSQL C code that holds no C++ object with a destructor) and
// turns an ereport(ERROR) into a PgException. `fn` must be noexcept (a C++
// exception must never meet PG_TRY's longjmp buffer) and return a scalar.
// A PgException must reach invoke(): after a caught PostgreSQL error the
// transaction is only fit to be aborted.
template <typename Fn> auto pg_call(Fn &&fn) -> decltype(fn()) {
    using Result = decltype(fn());
    using Body = std::remove_reference_t<Fn>;
    static_assert(std::is_nothrow_invocable_v<Body &>, "what runs inside PG_TRY must be noexcept");
    static_assert(std::is_void_v<Result> || std::is_scalar_v<Result>,
                  "pg_call returns plain data only (a pointer or a number)");
    if constexpr (std::is_void_v<Result>) {
        run_guarded([](void *f) { (*static_cast<Body *>(f))(); }, static_cast<void *>(&fn));
    } else {
        struct Call {
            Body *fn;
            Result result;
        } call{&fn, Result{}};
        run_guarded([](void *c) { static_cast<Call *>(c)->result = (*static_cast<Call *>(c)->fn)(); }, &call);
        return call.result;
    }
}

} // namespace shardroute::pg

// Declares a SQL-callable function whose body runs inside invoke():
//   SHARDROUTE_FUNCTION(shardroute_foo) { ... return PointerGetDatum(...); }
#define SHARDROUTE_FUNCTION(name)                                                                                      \
    extern "C" {                                                                                                       \
    PG_FUNCTION_INFO_V1(name);                                                                                         \
    }                                                                                                                  \
    static Datum name##_body(FunctionCallInfo fcinfo);                                                                 \
    extern "C" Datum name(PG_FUNCTION_ARGS) {                                                                          \
        return shardroute::pg::invoke(#name, [fcinfo]() { return name##_body(fcinfo); });                              \
    }                                                                                                                  \
    static Datum name##_body([[maybe_unused]] FunctionCallInfo fcinfo)
