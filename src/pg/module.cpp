// Module entry: the magic block and _PG_init (GUCs and hooks are registered here
// as later features add them).
#include "pg/postgres.hpp"

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);
}

void _PG_init(void) {}
