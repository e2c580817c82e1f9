#!/bin/sh
# Quick pass over every benchmark for CI: tiny measuring time and instance counts, so the
# programs are exercised (and their baselines/ratios printed) in well under a minute each,
# apart from the one-off native compile of the echo actor (cached after the first run).
# host_invocation_bench (real nats-server + in-process host, echo via file://) runs here too;
# it ignores the Google Benchmark flag and shrinks itself under WC_BENCH_SMOKE (~1 s).
# http_provider_bench (wrk -> httpserver provider -> host -> echo, and its baseline) runs 1 s per
# wrk run under WC_BENCH_SMOKE (~10 s in all); it needs wrk (scripts/setup.sh installs it).
# Usage: bench/run_smoke.sh [build dir]   (default: build)
set -eu
build=${1:-build}
export WC_BENCH_SMOKE=1
export WC_BENCH_INSTANCES=${WC_BENCH_INSTANCES:-200}
status=0
for b in "$build"/bench/*_bench; do
  [ -x "$b" ] || continue
  echo "== $b"
  "$b" --benchmark_min_time=0.01 || status=1
done
exit $status
