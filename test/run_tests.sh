#!/usr/bin/env bash
# `make test`: install what is missing, build, install, then run every suite
# (unit, pg_regress, isolation, TAP) on throwaway servers. Ends with one line
# "N passed, N failed" over every test of every suite; exits non-zero on failure.
#
# PostgreSQL servers refuse to run as root, so when started as root the servers
# (and the suites that start them) run as the unprivileged `postgres` OS user.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# shellcheck source=test/lib.sh
source test/lib.sh

ensure_packages
step "build and install"
make -s -j"$(nproc)" >/dev/null || die "build failed"
make -s install >/dev/null || die "make install failed"
make -s checkver || die "the control file, META.json and the install scripts disagree"
# Citus is not packaged for Debian: built once per machine when its source is at
# hand, else the Citus suites say they were skipped (in the summary line too).
citus_status=$(bash test/citus/ensure_citus.sh) || die "the Citus build failed"
echo "$citus_status"

work=$(make_workdir shardroute-test)
[ -n "${KEEP_WORK:-}" ] || trap 'rm -rf "$work"' EXIT

# The suites run as the server user, who may not be able to read the clone
# (e.g. under /root): they read a copy of the test inputs in the work directory.
input="$work/input"
mkdir -p "$input" && cp -r sql expected test clients README.md "$input/" && own "$input"

total_pass=0
total_fail=0
count() { # suite passed failed
    printf '%-10s %s passed, %s failed\n' "$1:" "$2" "$3" >>"$work/summary"
    total_pass=$((total_pass + $2))
    total_fail=$((total_fail + $3))
}

# Counts a pg_regress-style log; a run that failed without a failed test
# (server did not start, bad schedule) counts as one failure.
count_suite() { # suite exit-status log
    local ok bad
    ok=$(grep -cE '\.\.\. ok' "$3")
    bad=$(grep -cE '\.\.\. FAILED' "$3")
    if [ "$2" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
    count "$1" "$ok" "$bad"
}

# --- unit tests and fuzz regressions, under ASan + UBSan -----------------------
# The unit tests of the pure C++ cores, and the Django fuzz target replaying its
# seeds and regressions (test/fuzz/), built with -fsanitize=address,undefined
# -fno-sanitize-recover=all (make sanitize): any sanitizer report, leaks
# included, fails the run. (make unit builds the same tests without sanitizers.)
step "unit tests and fuzz regressions (ASan + UBSan)"
sanitizer_report='ERROR: (Address|Leak)Sanitizer|runtime error:'
if make -s -j"$(nproc)" test/.build/san/unit_tests test/.build/san/fuzz_replay >"$work/san-build.log" 2>&1; then
    out=$(make -s sanitize 2>&1)
    echo "$out"
    line=$(grep -E '^unit: [0-9]+ passed, [0-9]+ failed$' <<<"$out" | tail -1)
    if [ -n "$line" ]; then
        read -r p f < <(sed -E 's/^unit: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/' <<<"$line")
        grep -qE "$sanitizer_report" <<<"$out" && [ "$f" -eq 0 ] && f=1
        count unit "$p" "$f"
    else
        count unit 0 1 # a sanitizer report or crash ended the unit tests
    fi
    line=$(grep -E '^fuzz_replay: [0-9]+ inputs replayed, 0 failed$' <<<"$out" | tail -1)
    if [ -n "$line" ] && ! grep -qE "$sanitizer_report" <<<"$out"; then
        count fuzz "$(cut -d' ' -f2 <<<"$line")" 0
    else
        count fuzz 0 1
    fi
else
    cat "$work/san-build.log"
    count unit 0 1
    count fuzz 0 1
fi

# --- clang: every object compiled by clang++, our warnings as errors -------------
skipped_checks=()
clang_cxx=
for c in ${CLANG_CXX:-clang++ clang++-14}; do
    if command -v "$c" >/dev/null; then clang_cxx=$c; break; fi
done
if [ -n "$clang_cxx" ]; then
    step "clang build ($clang_cxx, -Werror)"
    if make -s -j"$(nproc)" clang-check CLANG_CXX="$clang_cxx" CLANG_CC="${clang_cxx/++/}"; then
        echo "clang: every object compiles without a warning"
        count clang 1 0
    else
        count clang 0 1
    fi
else
    skipped_checks+=("clang build (no clang++ installed)")
fi

# --- lint: message style, and what make install installs ------------------------
step "lint (message style, installed files)"
lint_pass=0
lint_fail=0
if python3 test/lint/messages.py; then lint_pass=$((lint_pass + 1)); else lint_fail=$((lint_fail + 1)); fi
installed=$(PG_CONFIG="$PG_CONFIG" bash test/lint/installed_files.sh || true)
echo "$installed"
read -r p f < <(sed -nE 's/^installed: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' <<<"$installed")
lint_pass=$((lint_pass + ${p:-0}))
lint_fail=$((lint_fail + ${f:-1}))
count lint "$lint_pass" "$lint_fail"

# --- pg_regress on a temporary instance ------------------------------------------
step "pg_regress"
mkdir -p "$work/regress" && own "$work/regress"
as_pg "$PGXS_DIR/test/regress/pg_regress" \
    --temp-instance="$work/regress/tmp_check" --inputdir="$input" --outputdir="$work/regress" \
    --bindir="$PG_BINDIR" --dbname=contrib_regression ${REGRESS} 2>&1 | tee "$work/regress.log"
count_suite regress "${PIPESTATUS[0]}" "$work/regress.log"
if grep -qE '\.\.\. FAILED' "$work/regress.log"; then
    cat "$work/regress/regression.diffs" 2>/dev/null | head -200
fi

# --- isolation specs -------------------------------------------------------------
if [ -n "${ISOLATION_SPECS:-}" ]; then
    step "isolation"
    mkdir -p "$work/isolation" && own "$work/isolation"
    as_pg "$PGXS_DIR/test/isolation/pg_isolation_regress" \
        --temp-instance="$work/isolation/tmp_check" --inputdir="$input/test/isolation" \
        --outputdir="$work/isolation" --bindir="$PG_BINDIR" --dbname=isolation_regression \
        ${ISOLATION_SPECS} 2>&1 | tee "$work/isolation.log"
    count_suite isolation "${PIPESTATUS[0]}" "$work/isolation.log"
    if grep -qE '\.\.\. FAILED' "$work/isolation.log"; then
        cat "$work/isolation/regression.diffs" 2>/dev/null | head -200
    fi
fi

# --- TAP tests with PostgreSQL::Test::Cluster ------------------------------------
if compgen -G "test/t/*.pl" >/dev/null; then
    step "TAP"
    mkdir -p "$work/tap" && own "$work/tap"
    as_pg env PATH="$PG_BINDIR:$PATH" TESTDIR="$work/tap" PG_REGRESS="$PGXS_DIR/test/regress/pg_regress" \
        perl -I"$PGXS_DIR/test/perl" "$input/test/tap_harness.pl" "$input"/test/t/*.pl \
        2>&1 | tee "$work/tap.log"
    line=$(grep -E '^tap: [0-9]+ passed, [0-9]+ failed' "$work/tap.log" | tail -1)
    skipped_scripts=$(sed -n 's/^tap: .*, skipped: \(.*\)$/\1/p' <<<"$line")
    if [ -n "$line" ]; then
        read -r p f < <(sed -E 's/^tap: ([0-9]+) passed, ([0-9]+) failed.*$/\1 \2/' <<<"$line")
        count tap "$p" "$f"
    else
        count tap 0 1
    fi
    if [ "${f:-1}" != 0 ]; then
        for log in "$work"/tap/tmp_check/log/*; do
            [ -f "$log" ] && { echo "=== $log"; tail -40 "$log"; }
        done
    fi
fi

# --- optional: a short soak (make soak for SOAK_SMOKE_SECONDS) --------------------
if [ -n "${SOAK_SMOKE_SECONDS:-}" ]; then
    step "soak smoke (${SOAK_SMOKE_SECONDS} s)"
    if SOAK_SECONDS=$SOAK_SMOKE_SECONDS SOAK_NO_RESULTS=1 bash test/soak/soak.sh; then
        count soak 1 0
    else
        count soak 0 1
    fi
fi

echo
echo "=== summary"
cat "$work/summary"
if [ -n "${skipped_scripts:-}" ]; then
    skipped_checks+=("$skipped_scripts (${citus_status#citus: })")
fi
if [ ${#skipped_checks[@]} -gt 0 ]; then
    echo "$total_pass passed, $total_fail failed, skipped: $(IFS=';'; echo "${skipped_checks[*]}" | sed 's/;/; /g')"
else
    echo "$total_pass passed, $total_fail failed"
fi
[ "$total_fail" -eq 0 ]
