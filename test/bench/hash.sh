#!/usr/bin/env bash
# Hash benchmark: shardroute.hash_string(k, 'siphash24') vs PostgreSQL's builtin
# hashtext(k) over 1M 36-character UUID strings, interleaved in one pgbench run
# on one server so that machine noise hits both alike; then the SipHash core's
# throughput on 4 KiB inputs.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
source test/lib.sh
ensure_packages
make -s -j"$(nproc)" >/dev/null && make -s install >/dev/null
work=$(make_workdir shardroute-bench)
trap 'stop_server "$work"; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
port=$(free_port)
start_server "$work" "$port" "shared_buffers = 256MB" "max_parallel_workers_per_gather = 0" "jit = off"
psql_() { as_pg "$PG_BINDIR/psql" -X -q -h "$work" -p "$port" -U postgres -d postgres "$@"; }

psql_ -c "CREATE EXTENSION shardroute" \
    -c "CREATE TABLE keys AS SELECT gen_random_uuid()::text AS k FROM generate_series(1, 1000000)" \
    -c "VACUUM ANALYZE keys" -c "SELECT count(*) FROM keys" >/dev/null

cat >"$work/hashtext.sql" <<'SQL'
SELECT sum(hashtext(k)) FROM keys;
SQL
cat >"$work/siphash.sql" <<'SQL'
SELECT sum(shardroute.hash_string(k, 'siphash24')) FROM keys;
SQL
cat >"$work/scan.sql" <<'SQL'
SELECT count(k) FROM keys;
SQL
own "$work"
runs=${BENCH_RUNS:-60}
echo "pgbench: $runs queries over 1,000,000 UUID strings, the three scripts interleaved at random"
as_pg "$PG_BINDIR/pgbench" -n -h "$work" -p "$port" -U postgres -t "$runs" \
    -f "$work/hashtext.sql@1" -f "$work/siphash.sql@1" -f "$work/scan.sql@1" postgres >"$work/out.txt"
lat() { awk -v f="$1" '$0 ~ "SQL script [0-9]+: .*" f {s=1} s && /latency average/ {print $5; exit}' "$work/out.txt"; }
ht=$(lat hashtext.sql)
sip=$(lat siphash.sql)
scan=$(lat scan.sql)
printf 'hashtext(k):                         %8.1f ms per 1M rows\n' "$ht"
printf "shardroute.hash_string(k,'siphash24'): %6.1f ms per 1M rows\n" "$sip"
printf 'count(k) (scan floor):                %8.1f ms per 1M rows\n' "$scan"
awk -v a="$sip" -v b="$ht" 'BEGIN { printf "ratio hash_string / hashtext: %.3f (target <= 1.08)\n", a / b }'

make -s test/bench/siphash_bench >/dev/null
test/bench/siphash_bench
