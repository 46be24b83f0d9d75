#!/usr/bin/env bash
# Misplaced-row clean-up benchmark, on one server: partition databases part1
# (shards 0..511) and part2 (512..1023) behind a 1024-shard PL/Proxy cluster.
# part1 holds ROWS documents of every shard (as after a split: half of them
# misplaced), part2 ROWS/2 of its own.
#  * misplaced_rows('c') (through the cluster's PL/Proxy connections, rows
#    per node and shard) vs a plain SELECT count(*) of the misplaced rows on
#    each partition (the shard hash in its WHERE clause), interleaved in one
#    pgbench run: rows scanned per second, as a ratio (target >= 0.7);
#  * CALL delete_misplaced_rows('c') (batches of about 10,000 rows read,
#    each committed) vs one plain DELETE of the same rows on part1 (the shard
#    hash in its WHERE clause), each from the same fresh copy: rows deleted
#    per second, as a ratio (target >= 0.5).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
rows=${BENCH_ROWS:-200000}

db() { as_pg "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p "$port" -U postgres -d "$@"; }
for i in 1 2; do
    psql_ -c "CREATE DATABASE part$i" >/dev/null
    db "part$i" -c 'CREATE EXTENSION shardroute' \
        -c 'CREATE TABLE docs (doc_id text PRIMARY KEY, domain text, received_on timestamptz)' >/dev/null
done
db part1 <<SQL >/dev/null
CREATE TABLE seed AS SELECT md5(i::text) AS doc_id, 'domain-' || (i % 50) AS domain, now() AS received_on
  FROM generate_series(1, $rows) i;
INSERT INTO docs SELECT * FROM seed;
SQL
db part2 <<SQL >/dev/null
INSERT INTO docs SELECT md5(i::text), 'domain-' || (i % 50), now() FROM generate_series($rows + 1, 3 * $rows) i
 WHERE (shardroute.hash_string(md5(i::text), 'siphash24') & 1023) >= 512;
SQL
psql_ <<SQL >/dev/null
CREATE EXTENSION shardroute;
CREATE EXTENSION plproxy;
BEGIN;
SELECT shardroute.add_node('p' || i, '$work', $port, 'part' || i) FROM generate_series(1, 2) i;
SELECT shardroute.create_cluster('c', 1024);
SELECT shardroute.assign_shards('c', 'p1', 0, 511);
SELECT shardroute.assign_shards('c', 'p2', 512, 1023);
COMMIT;
SELECT shardroute.plproxy_sync('c');
CREATE USER MAPPING FOR PUBLIC SERVER c;
SELECT shardroute.add_sharded_table('c', 'docs', 'doc_id');
SQL
for i in 1 2; do db "part$i" -c 'VACUUM ANALYZE docs' >/dev/null; done
total=$(db part1 -At -c 'SELECT count(*) FROM docs')
total=$((total + $(db part2 -At -c 'SELECT count(*) FROM docs')))
misplaced=$(psql_ -At -c "SELECT sum(rows) FROM shardroute.misplaced_rows('c')")
echo "part1: $rows documents of every shard, $misplaced of them misplaced; $total rows in all"

# scans: one pgbench run, both scripts interleaved
# the plain scan: on each partition, a count(*) of the rows of the shards it
# does not own (the hash in the WHERE clause, as a hand-written check does),
# called on every partition through PL/Proxy RUN ON ALL
for i in 1 2; do
    db "part$i" <<SQL >/dev/null
CREATE FUNCTION count_misplaced() RETURNS int8 LANGUAGE sql AS \$\$
    SELECT count(*) FROM docs
     WHERE (shardroute.hash_string(doc_id, 'siphash24') & 1023) NOT BETWEEN $(((i - 1) * 512)) AND $((i * 512 - 1)) \$\$;
SQL
done
psql_ <<SQL >/dev/null
CREATE FUNCTION count_misplaced() RETURNS SETOF int8 LANGUAGE plproxy AS \$\$
    CLUSTER 'c'; RUN ON ALL; \$\$;
SQL
script plain "SELECT sum(n) FROM count_misplaced() n;"
script misplaced "SELECT * FROM shardroute.misplaced_rows('c');"
runs=${BENCH_RUNS:-20}
echo "pgbench: $runs scans, interleaved at random (plain: SELECT count(*) of the misplaced rows on every partition, through PL/Proxy RUN ON ALL)"
interleave "$runs" plain misplaced
printf 'plain count(*):     %8.1f ms per scan, %10.0f rows/s\n' "$(latency plain)" \
    "$(awk -v n="$total" -v ms="$(latency plain)" 'BEGIN { print n / ms * 1000 }')"
printf 'misplaced_rows():   %8.1f ms per scan, %10.0f rows/s\n' "$(latency misplaced)" \
    "$(awk -v n="$total" -v ms="$(latency misplaced)" 'BEGIN { print n / ms * 1000 }')"
echo "rows/s ratio misplaced_rows / plain count(*): $(ratio "$(latency plain)" "$(latency misplaced)") (target >= 0.7)"

# deletes: each from a fresh copy of part1
reset_part1() {
    db part1 -c 'TRUNCATE docs' -c 'INSERT INTO docs SELECT * FROM seed' -c 'VACUUM ANALYZE docs' -c 'CHECKPOINT' >/dev/null
}
ms_of() {
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}
plain_ms=() ours_ms=()
for r in 1 2 3; do
    reset_part1
    plain_ms+=("$(ms_of db part1 -c "DELETE FROM docs WHERE (shardroute.hash_string(doc_id, 'siphash24') & 1023) NOT BETWEEN 0 AND 511")")
    reset_part1
    ours_ms+=("$(ms_of psql_ -c "SET client_min_messages = warning" -c "CALL shardroute.delete_misplaced_rows('c', 10000)")")
    left=$(psql_ -At -c "SELECT coalesce(sum(rows), 0) FROM shardroute.misplaced_rows('c')")
    [ "$left" = 0 ] || die "delete_misplaced_rows left $left rows"
done
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
pm=$(median "${plain_ms[@]}") om=$(median "${ours_ms[@]}")
echo "deleting the $misplaced misplaced rows of part1 (median of 3, each from a fresh copy):"
printf 'plain DELETE (one statement):               %6d ms, %10.0f rows/s\n' "$pm" "$(awk -v n="$misplaced" -v ms="$pm" 'BEGIN { print n / ms * 1000 }')"
printf 'delete_misplaced_rows (batches of 10,000):  %6d ms, %10.0f rows/s\n' "$om" "$(awk -v n="$misplaced" -v ms="$om" 'BEGIN { print n / ms * 1000 }')"
echo "rows/s ratio delete_misplaced_rows / plain DELETE: $(ratio "$pm" "$om") (target >= 0.5)"
