#!/usr/bin/env bash
# Every benchmark, one after the other. Each prints ratios measured in one run.
set -euo pipefail
cd "$(dirname "$0")"
for b in hash.sh lookup.sh reads.sh plproxy.sh monitor.sh fleet.sh citus.sh; do
    echo "=== $b"
    bash "$b"
done
