#!/usr/bin/env bash
# Lookup benchmark, on the CommCare layout (1024 shards over five partitions):
#  * node_for_key vs hash_string alone over 1M UUID strings (target <= 1.3x);
#  * route_keys on 10k keys vs the same grouping done with 10k node_for_key calls.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

psql_ <<'SQL' >/dev/null
CREATE EXTENSION shardroute;
BEGIN;
SELECT shardroute.add_node('p' || i, 'pg' || i, 5432, 'commcarehq_p' || i) FROM generate_series(1, 5) i;
SELECT shardroute.create_cluster('commcarehq', 1024);
SELECT shardroute.assign_shards('commcarehq', 'p' || i, (i - 1) * 205, least(i * 205 - 1, 1023)) FROM generate_series(1, 5) i;
COMMIT;
CREATE TABLE keys AS SELECT gen_random_uuid()::text AS k FROM generate_series(1, 1000000);
CREATE TABLE batch AS SELECT array_agg(gen_random_uuid()::text) AS a FROM generate_series(1, 10000);
VACUUM ANALYZE keys;
VACUUM ANALYZE batch;
SELECT count(*) FROM keys;
SQL
script hash "SELECT count(shardroute.hash_string(k, 'siphash24')) FROM keys;"
script node "SELECT count(shardroute.node_for_key('commcarehq', k)) FROM keys;"
runs=${BENCH_RUNS:-40}
echo "pgbench: $runs queries over 1,000,000 UUID strings, interleaved at random"
interleave "$runs" hash node
printf "hash_string(k, 'siphash24'):        %8.1f ms per 1M keys\n" "$(latency hash)"
printf "node_for_key('commcarehq', k):     %8.1f ms per 1M keys\n" "$(latency node)"
echo "ratio node_for_key / hash_string: $(ratio "$(latency node)" "$(latency hash)") (target <= 1.3)"

script route "SELECT count(*) FROM batch, shardroute.route_keys('commcarehq', batch.a) r;"
script percall "SELECT count(*) FROM (SELECT n, array_agg(k) FROM (SELECT shardroute.node_for_key('commcarehq', k) AS n, k FROM batch, unnest(batch.a) k) s GROUP BY n) g;"
runs=${BENCH_RUNS_BATCH:-400}
echo
echo "pgbench: $runs batches of 10,000 keys grouped by owning node, interleaved at random"
interleave "$runs" route percall
printf 'route_keys(cluster, keys[10000]):            %8.3f ms per batch\n' "$(latency route)"
printf '10,000 node_for_key calls + GROUP BY node:   %8.3f ms per batch\n' "$(latency percall)"
echo "ratio per-key calls / route_keys: $(ratio "$(latency percall)" "$(latency route)") (route_keys is this many times faster)"
