#include "common/error.hpp"

#include "pg/guard.hpp"

#include <cstring>
#include <new>

namespace shardroute::pg {

const char *PgException::what() const noexcept {
    return edata_ && edata_->message ? edata_->message : "PostgreSQL error";
}

namespace {

// Copies a C++ string into the current memory context without ever ereporting:
// an allocation failure falls back to a static text.
const char *copy_or(const std::string &s, const char *fallback) noexcept {
    if (s.empty())
        return nullptr;
    auto *p = static_cast<char *>(palloc_extended(s.size() + 1, MCXT_ALLOC_NO_OOM));
    if (!p)
        return fallback;
    std::memcpy(p, s.c_str(), s.size() + 1);
    return p;
}

int sqlstate_from(const std::string &code) noexcept {
    if (code.size() != 5)
        return ERRCODE_INTERNAL_ERROR;
    return MAKE_SQLSTATE(code[0], code[1], code[2], code[3], code[4]);
}

// The function LOCATION names: a lambda's own name is "operator()", which says
// nothing, so it is named after the entry point it ran in.
const char *function_name(const PendingError &err) noexcept {
    if (!err.function || !err.entry || std::strcmp(err.function, "operator()") != 0)
        return err.function;
    static char lambda_in[NAMEDATALEN + 16];
    snprintf(lambda_in, sizeof lambda_in, "lambda in %s", err.entry);
    return lambda_in;
}

} // namespace

void capture_current_exception(PendingError &out) noexcept {
    out = PendingError{};
    try {
        throw;
    } catch (const PgException &e) {
        out.pg_error = e.edata();
    } catch (const Error &e) {
        try {
            out.sqlstate = sqlstate_from(e.code());
            out.message = copy_or(e.what(), "shardroute error (message lost: out of memory)");
            out.detail = copy_or(e.detail(), nullptr);
            out.hint = copy_or(e.hint(), nullptr);
            out.file = e.file();
            out.line = e.line();
            out.function = e.function();
        } catch (...) {
            out.sqlstate = ERRCODE_INTERNAL_ERROR;
            out.message = "shardroute error (message lost)";
        }
    } catch (const std::bad_alloc &) {
        out.sqlstate = ERRCODE_OUT_OF_MEMORY;
        out.message = "out of memory in shardroute";
    } catch (const std::exception &e) {
        out.sqlstate = ERRCODE_INTERNAL_ERROR;
        try {
            out.message = copy_or(std::string("shardroute internal error: ") + e.what(), "shardroute internal error");
        } catch (...) {
            out.message = "shardroute internal error";
        }
    } catch (...) {
        out.sqlstate = ERRCODE_INTERNAL_ERROR;
        out.message = "shardroute internal error: unknown exception";
    }
}

void run_guarded(void (*body)(void *), void *arg) {
    MemoryContext caller_context = CurrentMemoryContext;
    sigjmp_buf *stack = PG_exception_stack;
    ErrorData *volatile edata = nullptr;
    PG_TRY();
    { body(arg); }
    PG_CATCH();
    {
        MemoryContextSwitchTo(caller_context);
        edata = CopyErrorData();
        FlushErrorState();
    }
    PG_END_TRY();
    if (PG_exception_stack != stack) // as pg_duckdb checks: a guarded call must leave the stack as it found it
        throw Error(sqlstate::internal_error, "shardroute: PostgreSQL's error stack changed during a guarded call");
    if (edata)
        throw PgException(edata);
}

void raise_pending(const PendingError &err) {
    if (err.pg_error)
        ReThrowError(err.pg_error);
    // ereport(ERROR, ...) spelt out, to report the raising code's location
    if (errstart(ERROR, TEXTDOMAIN)) {
        errcode(err.sqlstate);
        errmsg_internal("%s", err.message);
        if (err.detail)
            errdetail_internal("%s", err.detail);
        if (err.hint)
            errhint("%s", err.hint);
        if (err.file)
            errfinish(err.file, err.line, function_name(err));
        else
            errfinish(__FILE__, __LINE__, PG_FUNCNAME_MACRO);
    }
    pg_unreachable();
}

} // namespace shardroute::pg
