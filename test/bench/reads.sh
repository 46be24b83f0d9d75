#!/usr/bin/env bash
# Read routing benchmark: a primary with two connected streaming standbys and
# a READ list (primary 1, s1 2, s2 2). Throughput of
#   SELECT shardroute.choose_read_node('ucr')             vs SELECT 1 (target >= 0.85)
#   SELECT shardroute.choose_read_node('ucr', <min_lsn>)  vs SELECT 1
# in alternating pgbench rounds on the same server (prepared, 2 clients).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

start_standby "$work" "$port" "$work/s1" $((port + 1)) s1
start_standby "$work" "$port" "$work/s2" $((port + 2)) s2
read_group_on "$work" "$port" "$work" $((port + 1)) "$work" $((port + 2))
wait_for "$work" "$port" "SELECT count(*) FROM shardroute.standby_status() WHERE eligible" 2
psql_ -c 'SELECT node, state, eligible, reason FROM shardroute.standby_status()'
lsn=$(as_pg "$PG_BINDIR/psql" -X -A -t -h "$work" -p "$port" -U postgres -d postgres -c 'SELECT pg_current_wal_lsn()')

script one "SELECT 1;"
script choose "SELECT shardroute.choose_read_node('ucr');"
script choose_lsn "SELECT shardroute.choose_read_node('ucr', '$lsn');"
rounds_n=${BENCH_ROUNDS:-6}
seconds=${BENCH_SECONDS:-5}
echo "pgbench: 2 clients, prepared statements; $rounds_n rounds of $seconds s each, the three scripts alternating"
rounds "$rounds_n" "$seconds" one choose choose_lsn
printf 'SELECT 1:                          %10.0f TPS\n' "$TPS_one"
printf "choose_read_node('ucr'):           %10.0f TPS\n" "$TPS_choose"
printf "choose_read_node('ucr', min_lsn):  %10.0f TPS\n" "$TPS_choose_lsn"
echo "TPS ratio choose_read_node / SELECT 1:          $(ratio "$TPS_choose" "$TPS_one") (target >= 0.85)"
echo "TPS ratio choose_read_node(min_lsn) / SELECT 1: $(ratio "$TPS_choose_lsn" "$TPS_one") (target >= 0.85)"
psql_ -c "SELECT n, count(*) FROM (SELECT shardroute.choose_read_node('ucr') n FROM generate_series(1, 10000)) s GROUP BY n ORDER BY n"
