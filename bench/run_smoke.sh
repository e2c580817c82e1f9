#!/bin/sh
# Quick pass over every benchmark for CI (not timed): bench/run.sh with WC_BENCH_SMOKE=1, tiny
# measuring times and instance counts, so each program runs its real setup and prints its
# baselines and ratios in seconds (http_provider_bench: 1 s per wrk run), apart from the one-off
# native compile of the echo actor (cached after the first run).
# Usage: bench/run_smoke.sh [build dir]   (default: build)
set -eu
WC_BENCH_SMOKE=1 exec "$(dirname "$0")/run.sh" "${1:-build}"
