#!/usr/bin/env bash
# Makes Citus 13.2 available to the tests, once per machine. Citus is not
# packaged for Debian, so it is built from its release source:
#   - nothing to do when Citus 13.2 is already installed in this PostgreSQL;
#   - else the source tarball is $CITUS_SOURCE (a citus-13.2.x .tar.gz), or the
#     copy kept beside the project's checkout for its own CI;
#   - else Citus is unavailable and the Citus suites report themselves skipped.
# Prints one line: "citus: installed 13.2-1" or "citus: unavailable (reason)".
# Exit status 0 in both cases; non-zero only when a build was tried and failed.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
sharedir=$("$PG_CONFIG" --sharedir)

installed_version() {
    sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$sharedir/extension/citus.control" 2>/dev/null
}

v=$(installed_version)
case "$v" in
13.2-*) echo "citus: installed $v"; exit 0 ;;
"") ;;
*) echo "citus: unavailable (Citus $v is installed; the suites need 13.2)"; exit 0 ;;
esac

src=${CITUS_SOURCE:-}
if [ -z "$src" ] && [ -f "$repo/../shared/vendor/citus-13.2.2.tar.gz" ]; then
    src="$repo/../shared/vendor/citus-13.2.2.tar.gz"
fi
if [ -z "$src" ]; then
    echo "citus: unavailable (not installed; set CITUS_SOURCE to a Citus 13.2 release tarball to build it)"
    exit 0
fi
if [ "$(id -u)" -ne 0 ] && [ ! -w "$("$PG_CONFIG" --pkglibdir)" ]; then
    echo "citus: unavailable (not installed, and building it needs write access to $("$PG_CONFIG" --pkglibdir))"
    exit 0
fi

deps=(liblz4-dev libzstd-dev libkrb5-dev libselinux1-dev libpam0g-dev libicu-dev)
missing=()
for p in "${deps[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "citus: unavailable (building it needs ${missing[*]})"
        exit 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -q && apt-get install -y -q "${missing[@]}"; } >/dev/null || {
        echo "citus: build failed (apt-get install ${missing[*]})" >&2
        exit 1
    }
fi

build=$(mktemp -d /tmp/citus-build.XXXXXX)
trap 'rm -rf "$build"' EXIT
log="$build/build.log"
echo "citus: building from $(basename "$src") (a few minutes, once per machine)" >&2
(
    set -e
    tar xzf "$src" -C "$build"
    cd "$build"/citus-*
    # Recent PostgreSQL 15 minors export have_createdb_privilege(); older ones do not.
    if grep -q 'have_createdb_privilege' "$("$PG_CONFIG" --includedir-server)/commands/dbcommands.h" &&
        grep -q '^have_createdb_privilege(void)' src/include/pg_version_compat.h; then
        patch -p1 <"$repo/test/citus/pg15-compat.patch"
    fi
    ./configure --without-libcurl PG_CONFIG="$(command -v "$PG_CONFIG")"
    make -j"$(nproc)"
    make install
) >"$log" 2>&1 || {
    tail -30 "$log" >&2
    echo "citus: build failed" >&2
    exit 1
}
v=$(installed_version)
case "$v" in
13.2-*) echo "citus: installed $v" ;;
*) echo "citus: build failed (installed version is '$v')" >&2; exit 1 ;;
esac
