#!/usr/bin/env bash
# `make demo`: build, install, start a throwaway PostgreSQL in a temporary
# directory, show shardroute at work, then stop it and clean up.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
source test/lib.sh
ensure_packages
step "build and install"
make -s -j"$(nproc)" >/dev/null && make -s install >/dev/null
work=$(make_workdir shardroute-demo)
trap 'stop_server "$work"; rm -rf "$work"' EXIT
port=$(free_port)
step "throwaway server in $work (port $port)"
start_server "$work" "$port"
as_pg "$PG_BINDIR/psql" -X -q -h "$work" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -f "$repo/test/demo.sql"
step "done: server stopped, $work removed"
