#include "pg/run_as.hpp"

#include "pg/guard.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "executor/spi.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/syscache.h"
}

namespace shardroute::pg {

Oid extension_owner() {
    return pg_call([]() noexcept {
        HeapTuple tuple = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(get_namespace_oid("shardroute", false)));
        if (!HeapTupleIsValid(tuple))
            elog(ERROR, "shardroute: schema shardroute not found");
        Oid owner = reinterpret_cast<Form_pg_namespace>(GETSTRUCT(tuple))->nspowner;
        ReleaseSysCache(tuple);
        return owner;
    });
}

std::string quote_ident(const std::string &s) {
    return pg_call([&s]() noexcept { return quote_identifier(s.c_str()); });
}

std::string quote_literal(const std::string &s) {
    return pg_call([&s]() noexcept { return quote_literal_cstr(s.c_str()); });
}

void execute_as(Oid role, const std::string &sql, const std::string *text_arg) {
    pg_call([role, &sql, text_arg]() noexcept {
        Oid save_user;
        int save_context;
        GetUserIdAndSecContext(&save_user, &save_context);
        SetUserIdAndSecContext(role, save_context | SECURITY_LOCAL_USERID_CHANGE);
        PG_TRY();
        {
            if (SPI_connect() != SPI_OK_CONNECT)
                elog(ERROR, "shardroute: SPI_connect failed");
            Oid type = TEXTOID;
            Datum value = text_arg ? CStringGetTextDatum(text_arg->c_str()) : Datum(0);
            int rc = text_arg ? SPI_execute_with_args(sql.c_str(), 1, &type, &value, nullptr, false, 0)
                              : SPI_execute(sql.c_str(), false, 0);
            if (rc < 0)
                elog(ERROR, "shardroute: SPI_execute failed");
            SPI_finish();
        }
        PG_FINALLY();
        { SetUserIdAndSecContext(save_user, save_context); }
        PG_END_TRY();
    });
}

} // namespace shardroute::pg
