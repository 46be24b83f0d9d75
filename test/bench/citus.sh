#!/usr/bin/env bash
# Citus benchmark: a lookup inside a distributed query, which Citus pushes down
# to two workers, vs the same query without the lookup (target <= 1.3x).
# Needs Citus 13.2 (test/citus/ensure_citus.sh); says "skipped" without it.
set -euo pipefail
cd "$(dirname "$0")/../.."
status=$(bash test/citus/ensure_citus.sh)
if [ "${status#citus: installed}" = "$status" ]; then
    echo "skipped: ${status#citus: }"
    exit 0
fi
source test/bench/lib.sh "shared_preload_libraries = 'citus,shardroute'" "max_prepared_transactions = 20"
trap 'for d in w2 w1 .; do stop_server "$work/$d"; done; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
for w in 1 2; do
    start_server "$work/w$w" $((port + w)) "shared_preload_libraries = 'citus,shardroute'" "max_prepared_transactions = 20" \
        "citus.local_hostname = '$work/w$w'"
    as_pg "$PG_BINDIR/psql" -X -q -h "$work/w$w" -p $((port + w)) -U postgres -d postgres -c 'CREATE EXTENSION citus'
done
psql_ <<SQL >/dev/null
ALTER SYSTEM SET citus.local_hostname = '$work';
ALTER SYSTEM SET citus.max_cached_conns_per_worker = ${CACHED_CONNS:-1};
SELECT pg_reload_conf();
CREATE EXTENSION citus;
CREATE EXTENSION shardroute;
SELECT shardroute.add_node('coordinator', '$work', $port, 'postgres', citus_role => 'coordinator');
SELECT shardroute.add_node('w' || i, '$work/w' || i, $port + i, 'postgres', citus_role => 'worker') FROM generate_series(1, 2) i;
BEGIN;
SELECT shardroute.add_node('p' || i, 'pg' || i, 5432, 'commcarehq_p' || i) FROM generate_series(1, 5) i;
SELECT shardroute.create_cluster('commcarehq', 1024);
SELECT shardroute.assign_shards('commcarehq', 'p' || i, (i - 1) * 205, least(i * 205 - 1, 1023)) FROM generate_series(1, 5) i;
COMMIT;
SELECT * FROM shardroute.citus_register();
CREATE TABLE form_data (doc_id text PRIMARY KEY, domain text);
SELECT create_distributed_table('form_data', 'doc_id');
INSERT INTO form_data SELECT gen_random_uuid()::text, 'd' || (i % 50) FROM generate_series(1, 200000) i;
VACUUM ANALYZE form_data;
SQL
script plain "SELECT domain, count(*), max(doc_id) FROM form_data GROUP BY domain;"
script lookup "SELECT domain, count(*), max(shardroute.node_for_key('commcarehq', doc_id)) FROM form_data GROUP BY domain;"
runs=${BENCH_RUNS:-200}
echo "pgbench: $runs distributed queries over 200,000 rows on 2 workers (32 shards), interleaved at random;"
echo "citus.max_cached_conns_per_worker = ${CACHED_CONNS:-1} (Citus's default is 1)"
interleave "$runs" plain lookup
printf 'without the lookup:              %8.2f ms per query\n' "$(latency plain)"
printf 'with node_for_key on every row:  %8.2f ms per query\n' "$(latency lookup)"
echo "ratio with / without: $(ratio "$(latency lookup)" "$(latency plain)") (target <= 1.3)"
