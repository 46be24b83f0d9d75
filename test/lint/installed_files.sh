#!/usr/bin/env bash
# What `make install` puts on a machine, checked in a scratch DESTDIR: the
# library, the control file and every install/update script, the README under
# an extension-specific name (share/doc/.../extension/README.shardroute.md, as
# the user reads it), and nothing else: no bare README.md that another
# extension's docs would overwrite, no file outside PostgreSQL's directories.
# Prints one "ok"/"not ok" line per check and "installed: P passed, F failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
PG_CONFIG=${PG_CONFIG:-pg_config}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
pass=0 fail=0
check() { # description command...
    local what=$1
    shift
    if "$@"; then echo "ok - $what"; pass=$((pass + 1)); else echo "not ok - $what"; fail=$((fail + 1)); fi
}

make -s install DESTDIR="$dest" >/dev/null 2>&1
check "make install DESTDIR= succeeds" test -d "$dest"
lib="$dest$("$PG_CONFIG" --pkglibdir)"
ext="$dest$("$PG_CONFIG" --sharedir)/extension"
doc="$dest$("$PG_CONFIG" --docdir)/extension"

check "the library is installed" test -f "$lib/shardroute.so"
check "the control file is installed" test -f "$ext/shardroute.control"
for f in sql/shardroute--*.sql; do
    check "$(basename "$f") is installed as written" cmp -s "$f" "$ext/$(basename "$f")"
done
check "the README is installed as README.shardroute.md" cmp -s README.md "$doc/README.shardroute.md"
check "no bare README.md is installed" test -z "$(find "$dest" -name README.md)"
outside=$(find "$dest" -type f | grep -v -e "^$lib/" -e "^$ext/shardroute" -e "^$doc/README.shardroute.md$" || true)
check "nothing is installed outside the library, extension and doc directories" test -z "$outside"
[ -z "$outside" ] || echo "$outside" | sed 's/^/#   /'

echo "installed: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
