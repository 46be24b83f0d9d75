#!/usr/bin/env bash
# Hash benchmark: shardroute.hash_string(k, 'siphash24') vs PostgreSQL's builtin
# hashtext(k) over 1M 36-character UUID strings, interleaved in one pgbench run
# on one server; then the SipHash core's throughput on 4 KiB inputs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

psql_ -c "CREATE EXTENSION shardroute" \
    -c "CREATE TABLE keys AS SELECT gen_random_uuid()::text AS k FROM generate_series(1, 1000000)" \
    -c "VACUUM ANALYZE keys" -c "SELECT count(*) FROM keys" >/dev/null
script hashtext "SELECT sum(hashtext(k)) FROM keys;"
script siphash "SELECT sum(shardroute.hash_string(k, 'siphash24')) FROM keys;"
script scan "SELECT count(k) FROM keys;"
runs=${BENCH_RUNS:-60}
echo "pgbench: $runs queries over 1,000,000 UUID strings, the three scripts interleaved at random"
interleave "$runs" hashtext siphash scan
printf 'hashtext(k):                           %8.1f ms per 1M rows\n' "$(latency hashtext)"
printf "shardroute.hash_string(k,'siphash24'):  %8.1f ms per 1M rows\n" "$(latency siphash)"
printf 'count(k) (scan floor):                 %8.1f ms per 1M rows\n' "$(latency scan)"
echo "ratio hash_string / hashtext: $(ratio "$(latency siphash)" "$(latency hashtext)") (target <= 1.08)"

make -s test/bench/siphash_bench >/dev/null
test/bench/siphash_bench
