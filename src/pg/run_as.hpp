// Running SQL as the role that owns the extension: generated PL/Proxy servers
// and the Citus workers' copy of the topology are written as that role, not
// as whoever happened to change the catalog.
#pragma once

#include "pg/postgres.hpp"

#include <string>

namespace shardroute::pg {

// The role that owns the extension (and so its schema).
Oid extension_owner();

// An identifier and a literal quoted for generated SQL (quote_identifier,
// quote_literal_cstr): every name and value shardroute writes into SQL text.
std::string quote_ident(const std::string &s);
std::string quote_literal(const std::string &s);

// Runs `sql` (no result) through SPI as `role`, restoring the current user
// afterwards. `text_arg`, when given, is $1 (text): values go as parameters, not
// spliced into the SQL (nor into error contexts).
void execute_as(Oid role, const std::string &sql, const std::string *text_arg = nullptr);

} // namespace shardroute::pg
