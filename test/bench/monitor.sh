#!/usr/bin/env bash
# Lag monitor benchmark: a proxy instance with shardroute in
# shared_preload_libraries (lag_poll_interval 1 s) routing reads for a remote
# primary with two streaming standbys. TPS of choose_read_node('ucr') vs
# SELECT 1 in alternating pgbench rounds (target >= 0.9), and the age of the
# samples the calls used, read every 100 ms while that load runs.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "shared_preload_libraries = 'shardroute'" "shardroute.lag_poll_interval = 1s"

pport=$(free_port_after "$port")
start_server "$work/pri" "$pport"
start_standby "$work/pri" "$pport" "$work/s1" $((pport + 1)) s1
start_standby "$work/pri" "$pport" "$work/s2" $((pport + 2)) s2
read_group_on "$work/pri" "$pport" "$work/s1" $((pport + 1)) "$work/s2" $((pport + 2))
wait_for "$work" "$port" "SELECT count(*) FROM shardroute.standby_status() WHERE eligible AND source = 'primary'" 2
psql_ -c 'SELECT node, state, eligible, reason, source, sample_age FROM shardroute.standby_status()'

script one "SELECT 1;"
script choose "SELECT shardroute.choose_read_node('ucr');"
rounds_n=${BENCH_ROUNDS:-6}
seconds=${BENCH_SECONDS:-5}
# staleness probe: the age of the samples, every 100 ms, while pgbench runs
(
    while [ ! -e "$work/stop" ]; do
        as_pg "$PG_BINDIR/psql" -X -A -t -q -h "$work" -p "$port" -U postgres -d postgres \
            -c "SELECT extract(epoch FROM max(sample_age)) * 1000 FROM shardroute.standby_status()" >>"$work/ages" 2>/dev/null || true
        sleep 0.1
    done
) &
probe=$!
echo "pgbench: 2 clients, prepared; $rounds_n rounds of $seconds s, alternating; monitor polling every 1 s"
rounds "$rounds_n" "$seconds" one choose
touch "$work/stop"
wait "$probe" || true
printf 'SELECT 1:                     %10.0f TPS\n' "$TPS_one"
printf "choose_read_node('ucr'):      %10.0f TPS\n" "$TPS_choose"
echo "TPS ratio choose_read_node / SELECT 1 with the lag monitor on: $(ratio "$TPS_choose" "$TPS_one") (target >= 0.9)"
awk '{ n++; s += $1; if ($1 > m) m = $1 } END { printf "sample age at call time under load: mean %.0f ms, max %.0f ms over %d probes (poll interval 1000 ms; stale after 3000 ms)\n", s / n, m, n }' "$work/ages"
psql_ -c "SELECT n, count(*) FROM (SELECT shardroute.choose_read_node('ucr') n FROM generate_series(1, 10000)) s GROUP BY n ORDER BY n"
