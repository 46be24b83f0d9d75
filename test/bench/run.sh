#!/usr/bin/env bash
# Every benchmark, one after the other (BENCHES="hash.sh lookup.sh" for some).
# Each prints ratios measured in one run; its output is shown and written to
# test/bench/RESULTS.md as the section of its name (test/bench/results.sh).
# Stops at the first benchmark that fails (its section says so).
set -euo pipefail
cd "$(dirname "$0")"
source ./results.sh
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for b in ${BENCHES:-hash.sh lookup.sh reads.sh plproxy.sh monitor.sh fleet.sh citus.sh}; do
    echo "=== $b"
    machine=$(results_machine)
    rc=0
    bash "$b" 2>&1 | tee "$out" || rc=$?
    [ "$rc" -eq 0 ] || echo "FAILED: exit status $rc" >>"$out"
    RESULTS_MACHINE=$machine results_section "$b" "make bench (bash test/bench/$b)" "$out"
    [ "$rc" -eq 0 ] || exit "$rc"
done
