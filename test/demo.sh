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
trap 'for d in s2 s1 .; do stop_server "$work/$d"; done; rm -rf "$work"' EXIT
port=$(free_port)
step "throwaway server in $work (port $port)"
start_server "$work" "$port"
demo_psql() { as_pg "$PG_BINDIR/psql" -X -q -h "$work" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }
demo_psql <"$repo/test/demo.sql"

step "two streaming standbys of it (pg_basebackup, application_name in primary_conninfo)"
start_standby "$work" "$port" "$work/s1" $((port + 1)) ucr_standby1
start_standby "$work" "$port" "$work/s2" $((port + 2)) ucr_standby2
demo_psql -v here="$work" -v port="$port" <"$repo/test/demo_reads.sql"
wait_for "$work" "$port" "SELECT count(*) FROM shardroute.standby_status() WHERE eligible" 2
demo_psql -c '\echo' -c '\echo --- 6. Both standbys fresh: standby_status and 1,000 choices of choose_read_node(''ucr'')' \
    -c 'SELECT node, state, replay_lag, lag_bytes, max_lag, eligible, reason FROM shardroute.standby_status()' \
    -c "SELECT n AS node, count(*) AS chosen, repeat('#', (count(*) / 10)::int) AS histogram FROM (SELECT shardroute.choose_read_node('ucr') AS n FROM generate_series(1, 1000)) s GROUP BY n ORDER BY n"

as_pg "$PG_BINDIR/psql" -X -q -h "$work/s1" -p $((port + 1)) -U postgres -d postgres -c 'SELECT pg_wal_replay_pause()' >/dev/null
wait_for "$work" "$port" "SELECT reason FROM (SELECT count(*) FROM (SELECT pg_logical_emit_message(false, 'demo', repeat('x', 1000)) FROM generate_series(1, 50)) w) w, shardroute.standby_status() WHERE node = 'ucr_standby1'" lag
demo_psql -c '\echo' -c '\echo --- 7. Replay paused on ucr_standby1 while the primary writes: past its max_lag, it is never chosen' \
    -c 'SELECT node, state, replay_lag, lag_bytes, max_lag, eligible, reason FROM shardroute.standby_status()' \
    -c "SELECT n AS node, count(*) AS chosen, repeat('#', (count(*) / 10)::int) AS histogram FROM (SELECT shardroute.choose_read_node('ucr') AS n FROM generate_series(1, 1000)) s GROUP BY n ORDER BY n" \
    -c '\echo read-your-writes: after a write, pass pg_current_wal_lsn() and only nodes that replayed it qualify' \
    -c "SELECT shardroute.choose_read_node('ucr', pg_current_wal_lsn()) AS read_your_writes"
demo_psql -v here="$work" -v port="$port" <"$repo/test/demo_plproxy.sql"
demo_psql <"$repo/test/demo_citus.sql"
step "done: servers stopped, $work removed"
