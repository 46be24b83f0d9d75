# Shared by test/bench/run.sh (make bench) and test/soak/soak.sh (make soak):
# results_section NAME COMMAND OUTPUT_FILE writes OUTPUT_FILE into
# test/bench/RESULTS.md as the section NAME, with the command that produced it
# and the machine it ran on, replacing the previous section of that name in
# place (other sections are kept). RESULTS=path writes elsewhere.
results_machine() {
    local cpu cores mem pg load
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
    cores=$(nproc)
    mem=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
    pg=$("${PG_BINDIR:-$(${PG_CONFIG:-pg_config} --bindir)}/postgres" --version 2>/dev/null || echo unknown)
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "$cpu, $cores cores, $mem memory; $pg; load average before the run: $load"
}

results_section() { # NAME COMMAND OUTPUT_FILE
    local name=$1 cmd=$2 out=$3 file=${RESULTS:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/RESULTS.md}
    local block commit
    commit=$(git -C "$(dirname "$file")" rev-parse --short HEAD 2>/dev/null || echo unknown)
    block=$(mktemp)
    {
        echo "<!-- section: $name -->"
        echo "## $name"
        echo
        echo "- command: \`$cmd\`"
        echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit"
        echo "- machine: ${RESULTS_MACHINE:-$(results_machine)}"
        echo
        echo '```'
        sed 's/\x1b\[[0-9;]*m//g' "$out"
        echo '```'
        echo "<!-- end: $name -->"
    } >"$block"
    if [ ! -f "$file" ]; then
        cat >"$file" <<'HEAD'
# Benchmark and soak results

Written by `make bench` (`test/bench/run.sh`, one section per benchmark) and
`make soak` (`test/soak/soak.sh`); a run replaces the section of the same
name and keeps the others. Each section names the command, the date and the
machine; the ratios are measured within one run on that machine (benchmarks
interleave or alternate what they compare, so machine noise hits both sides).
HEAD
    fi
    if grep -qF "<!-- section: $name -->" "$file"; then
        awk -v name="$name" -v block="$block" '
            $0 == "<!-- section: " name " -->" { while ((getline l < block) > 0) print l; skip = 1; next }
            skip && $0 == "<!-- end: " name " -->" { skip = 0; next }
            !skip { print }' "$file" >"$file.new"
        mv "$file.new" "$file"
    else
        { echo; cat "$block"; } >>"$file"
    fi
    rm -f "$block"
}
