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
trap 'for d in w2 w1 c s2 s1 .; do stop_server "$work/$d"; done; rm -rf "$work"' EXIT
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

step "online split of a partition database while a writer runs"
demo_psql -v s2="$work/s2" -v s2port=$((port + 2)) <"$repo/test/demo_split_setup.sql"
demo_psql -c 'SET client_min_messages = warning' -c 'CALL demo_writer(4)' &
writer=$!
sleep 1
echo "fence_shards('commcarehq', 103, 204): writes to those shards are refused from now on"
demo_psql -c "SELECT shardroute.fence_shards('commcarehq', 103, 204)" >/dev/null
lsn=$(demo_psql -At -c 'SELECT pg_current_wal_flush_lsn()')
echo "the copy replays this server's WAL up to $lsn, then is promoted (pg_promote)"
wait_for "$work/s2" $((port + 2)) "SELECT pg_last_wal_replay_lsn() >= '$lsn'" t
as_pg "$PG_BINDIR/psql" -X -q -h "$work/s2" -p $((port + 2)) -U postgres -d postgres -c 'SELECT pg_promote()' >/dev/null
echo "one transaction: promote_standby('p1_copy', 'p1b'), assign_shards 103..204 to p1b, plproxy_sync, unfence_shards"
demo_psql <"$repo/test/demo_split_switch.sql" >/dev/null
wait "$writer" || die "the writer failed"
demo_psql <"$repo/test/demo_split_report.sql"
demo_psql <"$repo/test/demo_citus.sql"

citus_status=$(bash test/citus/ensure_citus.sh) || die "the Citus build failed"
if [ "${citus_status#citus: installed}" != "$citus_status" ]; then
    step "Citus: a coordinator and two workers (throwaway servers)"
    start_server "$work/c" $((port + 3)) "shared_preload_libraries = 'citus'" "max_prepared_transactions = 20" \
        "citus.local_hostname = '$work/c'"
    start_server "$work/w1" $((port + 4)) "shared_preload_libraries = 'citus'" "max_prepared_transactions = 20" \
        "citus.local_hostname = '$work/w1'"
    start_server "$work/w2" $((port + 5)) "shared_preload_libraries = 'citus'" "max_prepared_transactions = 20" \
        "citus.local_hostname = '$work/w2'"
    for w in w1 w2; do
        as_pg "$PG_BINDIR/psql" -X -q -h "$work/$w" -p $((port + ${w#w} + 3)) -U postgres -d postgres \
            -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION citus' || die "CREATE EXTENSION citus failed"
    done
    as_pg "$PG_BINDIR/psql" -X -q -h "$work/c" -p $((port + 3)) -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -v coord="$work/c" -v cport=$((port + 3)) -v w1="$work/w1" -v w1port=$((port + 4)) \
        -v w2="$work/w2" -v w2port=$((port + 5)) <"$repo/test/demo_citus_cluster.sql"
else
    echo
    echo "--- 12. Citus for real: skipped (${citus_status#citus: }); above, the dry run"
fi
step "done: servers stopped, $work removed"
