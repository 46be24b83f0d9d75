# Shared by the benchmarks: a throwaway server, and pgbench runs that interleave
# several scripts on one server so that machine noise hits them alike.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
source test/lib.sh
ensure_packages
make -s -j"$(nproc)" >/dev/null && make -s install >/dev/null
work=$(make_workdir shardroute-bench)
trap 'stop_server "$work"; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
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
interleave() {
    local n=$1 args=()
    shift
    for s in "$@"; do args+=(-f "$work/$s.sql@1"); done
    as_pg "$PG_BINDIR/pgbench" -n -h "$work" -p "$port" -U postgres -t "$n" "${args[@]}" postgres >"$work/pgbench.out" ||
        die "pgbench failed: $(cat "$work/pgbench.out")"
}
latency() {
    awk -v f="/$1.sql" '$0 ~ "SQL script [0-9]+: " && index($0, f) {s=1} s && /latency average/ {print $5; exit}' "$work/pgbench.out"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
