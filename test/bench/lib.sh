# Shared by the benchmarks: a throwaway server, and pgbench runs that interleave
# several scripts on one server so that machine noise hits them alike.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
source test/lib.sh
ensure_packages
make -s -j"$(nproc)" >/dev/null && make -s install >/dev/null
work=$(make_workdir shardroute-bench)
trap 'for d in s2 s1 pri .; do stop_server "$work/$d"; done; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
port=$(free_port)
start_server "$work" "$port" "shared_buffers = 256MB" "max_parallel_workers_per_gather = 0" "jit = off" "$@"
psql_() { as_pg "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$work" -p "$port" -U postgres -d postgres "$@"; }

# script NAME SQL: writes a pgbench script
script() {
    printf '%s\n' "$2" >"$work/$1.sql"
    own "$work/$1.sql"
}

# interleave TRANSACTIONS NAME...: runs the named scripts at random with equal
# weights in one pgbench run; then `latency NAME` gives each one's mean in ms.
# PGBENCH_OPTS adds options (e.g. "-T 10 -c 2 -j 2 -M prepared" instead of -t).
interleave() {
    local n=$1 args=()
    shift
    for s in "$@"; do args+=(-f "$work/$s.sql@1"); done
    # shellcheck disable=SC2086
    as_pg "$PG_BINDIR/pgbench" -n -h "$work" -p "$port" -U postgres ${PGBENCH_OPTS:--t $n} "${args[@]}" postgres \
        >"$work/pgbench.out" || die "pgbench failed: $(cat "$work/pgbench.out")"
}
latency() {
    awk -v f="/$1.sql" '$0 ~ "SQL script [0-9]+: " && index($0, f) {s=1} s && /latency average/ {print $5; exit}' "$work/pgbench.out"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

# tps NAME SECONDS: transactions per second of one script alone (2 clients, prepared).
tps() {
    as_pg "$PG_BINDIR/pgbench" -n -h "$work" -p "$port" -U postgres -T "$2" -c 2 -j 2 -M prepared -f "$work/$1.sql" \
        postgres 2>&1 | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

# rounds N SECONDS NAME...: alternates the scripts N times, reversing their
# order every other round (the second script of a round measures a few
# percent slower, whichever it is), and leaves each one's mean TPS in TPS_<NAME>.
rounds() {
    local n=$1 secs=$2 r s t order
    shift 2
    for s in "$@"; do eval "TPS_$s=0"; done
    for r in $(seq 1 "$n"); do
        order=("$@")
        if [ $((r % 2)) -eq 0 ]; then order=($(printf '%s\n' "$@" | tac)); fi
        for s in "${order[@]}"; do
            t=$(tps "$s" "$secs")
            eval "TPS_$s=\$(awk -v a=\"\$TPS_$s\" -v b=\"$t\" -v n=\"$n\" 'BEGIN { printf \"%.1f\", a + b / n }')"
        done
    done
}

# free_port_after PORT: a free port above PORT with two more free after it.
free_port_after() {
    local p
    for p in $(seq $(($1 + 1)) $(($1 + 60))); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && ! (exec 3<>"/dev/tcp/127.0.0.1/$((p + 2))") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    die "no free port"
}

# read_group_on PRIMARY_HOST PRIMARY_PORT S1_HOST S1_PORT S2_HOST S2_PORT:
# registers a primary with standbys s1 and s2 and the READ list
# ucr = [(primary, 1), (s1, 2), (s2, 2)] in the benchmark server's catalog.
read_group_on() {
    psql_ <<SQL >/dev/null
CREATE EXTENSION shardroute;
BEGIN;
SELECT shardroute.add_node('primary', '$1', $2, 'postgres');
SELECT shardroute.add_standby('s1', 'primary', '$3', $4, 'postgres');
SELECT shardroute.add_standby('s2', 'primary', '$5', $6, 'postgres');
SELECT shardroute.create_read_group('ucr', 'primary');
SELECT shardroute.set_read_weight('ucr', 'primary', 1);
SELECT shardroute.set_read_weight('ucr', 's1', 2);
SELECT shardroute.set_read_weight('ucr', 's2', 2);
COMMIT;
SQL
}
