#!/usr/bin/env bash
# make soak: SOAK_CLIENTS (8) pgbench clients for SOAK_SECONDS (60) calling
# node_for_key, shard_for_key, node_for_shard, route_keys and choose_read_node,
# directly and from PL/pgSQL functions, while a topology changer commits a new
# version every 10-20 ms (assign_shards moving ranges back and forth,
# add_node/drop_node, set_read_weight emptying and refilling a READ list).
#
# Passes when:
#  * pgbench and the changer finish with 0 failed or aborted transactions;
#  * no pgbench backend grew: RssAnon (the private part of VmRSS; VmRSS also
#    counts the shared buffers a backend happens to touch) sampled after
#    SOAK_WARMUP (5) seconds and again just before the end, growth at most
#    SOAK_RSS_MAX_KB (2048) per backend;
#  * every answer agrees with the catalog: each client logs (answer,
#    statement start, clock after the answer); the changer logs each version's
#    catalog rows with the clock before its COMMIT and after it returned, so
#    the versions a statement may have seen are known (test/soak/check.sql);
#    an answer no allowed version gives is wrong.
# The figures go to test/bench/RESULTS.md (section "soak").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../bench/lib.sh" "max_connections = 40"
source "$here/../bench/results.sh"
RESULTS_MACHINE=${RESULTS_MACHINE:-$(results_machine)} # the load before the run

secs=${SOAK_SECONDS:-60}
clients=${SOAK_CLIENTS:-8}
warmup=${SOAK_WARMUP:-5}
rss_max=${SOAK_RSS_MAX_KB:-2048}
[ "$secs" -gt $((warmup + 3)) ] || die "SOAK_SECONDS must exceed SOAK_WARMUP + 3"
log="$work/soak.log"
: >"$log" && own "$log"
say() { echo "$*" | tee -a "$log"; }

psql_ <"$here/setup.sql" >/dev/null
cp "$here/client.sql" "$work/client.sql" && own "$work/client.sql"

say "soak: $clients pgbench clients (prepared) for $secs s, a topology change every 10-20 ms"
# the changer starts first and ends last, so every client statement runs under it
as_pg "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p "$port" -U postgres -d postgres \
    -c "SET application_name = 'soak_changer'" -c "CALL soak_changer($secs + 2)" >"$work/changer.out" 2>&1 &
changer=$!
sleep 0.5
as_pg "$PG_BINDIR/pgbench" -n -h "$work" -p "$port" -U postgres -c "$clients" -j 2 -T "$secs" -M prepared \
    -f "$work/client.sql" postgres >"$work/pgbench.out" 2>&1 &
bench=$!

# rss PID: "VmRSS RssAnon" in kB
rss() { awk '/^VmRSS:/ {v = $2} /^RssAnon:/ {a = $2} END {print v + 0, a + 0}' "/proc/$1/status" 2>/dev/null || echo "0 0"; }
backends() {
    as_pg "$PG_BINDIR/psql" -X -A -t -h "$work" -p "$port" -U postgres -d postgres \
        -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench' ORDER BY pid"
}
sleep "$warmup"
declare -A start_rss
for pid in $(backends); do start_rss[$pid]=$(rss "$pid"); done
sleep $((secs - warmup - 2))
rss_bad=0 rss_lines=() sum_v0=0 sum_v1=0 sum_a0=0 sum_a1=0 max_growth=0 n=0
for pid in "${!start_rss[@]}"; do
    read -r v0 a0 <<<"${start_rss[$pid]}"
    read -r v1 a1 < <(rss "$pid")
    [ "$v1" -gt 0 ] || { rss_lines+=("backend $pid: gone before the end"); rss_bad=1; continue; }
    n=$((n + 1)) sum_v0=$((sum_v0 + v0)) sum_v1=$((sum_v1 + v1)) sum_a0=$((sum_a0 + a0)) sum_a1=$((sum_a1 + a1))
    g=$((a1 - a0))
    [ "$g" -gt "$max_growth" ] && max_growth=$g
    rss_lines+=("backend $pid: VmRSS $v0 -> $v1 kB, RssAnon $a0 -> $a1 kB")
    [ "$g" -le "$rss_max" ] || rss_bad=1
done
bench_rc=0 changer_rc=0
wait "$bench" || bench_rc=$?
wait "$changer" || changer_rc=$?

say ""
say "pgbench (exit $bench_rc):"
grep -E 'number of clients|duration|number of transactions|number of failed|aborted|latency average|^tps' "$work/pgbench.out" | sed 's/^/  /' | tee -a "$log"
grep -iE 'error|abort' "$work/pgbench.out" | grep -v 'number of' | head -5 | sed 's/^/  /' | tee -a "$log" || true
versions=$(psql_ -At -c "SELECT count(*) - 1 FROM soak_version WHERE u IS NOT NULL")
span=$(psql_ -At -c "SELECT round(extract(epoch FROM max(u) - min(u) FILTER (WHERE seq > 0)) * 1000 / greatest(count(*) - 2, 1), 1) FROM soak_version")
say "topology changer (exit $changer_rc): $versions versions committed, one every $span ms on average"
[ "$changer_rc" -eq 0 ] || sed 's/^/  /' "$work/changer.out" | tee -a "$log"

say ""
say "backend memory, after ${warmup} s vs $((secs - 2)) s ($n pgbench backends):"
for l in "${rss_lines[@]}"; do say "  $l"; done
say "  total VmRSS $sum_v0 -> $sum_v1 kB, total RssAnon $sum_a0 -> $sum_a1 kB; largest RssAnon growth $max_growth kB (limit $rss_max kB)"

say ""
say "answers checked against the catalog versions visible during their statement:"
psql_ <"$here/check.sql" >/dev/null
psql_ -c "SELECT kind, answers, one_version AS \"one version allowed\", wrong,
                 wrong_if_stale AS \"wrong if one change behind\" FROM soak_result" | tee -a "$log"
read -r answers wrong < <(psql_ -At -F ' ' -c "SELECT sum(answers), sum(wrong) FROM soak_result")
if [ "$wrong" -gt 0 ]; then
    psql_ -c "SELECT kind, key, shard, answer, t_s, t_e, k_lo, k_hi FROM soak_checked c
               WHERE NOT CASE WHEN kind = 'shard_for_key' THEN shard = key_shard
                              WHEN kind = 'route_keys total' THEN shard = 20
                              ELSE coalesce(soak_ok(kind, coalesce(key_shard, shard), answer, k_lo, k_hi), false) END
               LIMIT 10" | tee -a "$log"
fi

txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/pgbench.out")
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/pgbench.out")
problems=()
[ "$bench_rc" -eq 0 ] || problems+=("pgbench exited $bench_rc")
grep -q 'aborted' "$work/pgbench.out" && problems+=("pgbench clients aborted")
[ "${failed:-0}" -eq 0 ] || problems+=("$failed failed transactions")
[ -n "$txns" ] && [ "$txns" -gt 0 ] || problems+=("no transactions")
[ "$changer_rc" -eq 0 ] || problems+=("the topology changer failed")
[ "$versions" -gt 0 ] || problems+=("no topology change")
[ "$rss_bad" -eq 0 ] || problems+=("backend memory grew by more than $rss_max kB")
[ "$n" -gt 0 ] || problems+=("no pgbench backend sampled")
[ "$wrong" -eq 0 ] || problems+=("$wrong wrong answers")
say ""
if [ ${#problems[@]} -eq 0 ]; then
    say "soak: passed: ${txns} transactions, 0 failed, $versions topology versions, $answers answers checked, 0 wrong, RSS flat"
    status=0
else
    say "soak: FAILED: $(IFS=';'; echo "${problems[*]}")"
    status=1
fi
[ -n "${SOAK_NO_RESULTS:-}" ] || results_section soak "make soak (bash test/soak/soak.sh; SOAK_SECONDS=$secs SOAK_CLIENTS=$clients)" "$log"
exit "$status"
