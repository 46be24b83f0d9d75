// Module entry: the magic block and _PG_init (GUCs and hooks are registered here
// as later features add them).
#include "pg/catalog.hpp"
#include "pg/postgres.hpp"

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);
}

void _PG_init(void) {
    shardroute::pg::register_catalog_callbacks();
}
