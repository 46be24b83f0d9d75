// The single doorway to PostgreSQL's headers. Only files under src/pg/ include it.
// fmt (and any other C++ header that port.h's printf macros would break) must be
// included before this file.
#pragma once

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/memutils.h"
}

// PostgreSQL's c.h defines these as macros; they collide with the C++ library.
#undef snprintf
#undef vsnprintf
#undef printf
#undef fprintf
#undef sprintf
#undef vfprintf
