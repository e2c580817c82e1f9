#!/bin/sh
# Every benchmark of the project, one after the other, each printing its figures beside a
# baseline measured in the same run and their ratio (docs/PERFORMANCE.md lists them):
#   wasm_native_bench      fresh instance + call + teardown (the host's instance mode) and the
#                          native-tier figures, against a bare wasm2c harness
#   host_invocation_bench  fresh-signed invocation round trip through a real nats-server to an
#                          in-process host, throughput, cold and warm start from a real registry,
#                          against raw NATS request/reply + one Ed25519 sign and verify
#   http_provider_bench    wrk -> httpserver provider -> NATS -> host -> echo, and wrk -> the
#                          builtin HTTP server -> echo, each in a real `wasmcloud host` process
#                          pulling echo (and the provider) from a real registry, each against
#                          its server answering directly
# Usage: bench/run.sh [build dir]     (default: build; needs wrk, nats-server, docker-registry)
# WC_BENCH_SMOKE=1 runs each with tiny sizes (what CI does through bench/run_smoke.sh); the
# figures of a smoke run mean nothing.
set -eu
build=${1:-build}
min_time=0.5
if [ "${WC_BENCH_SMOKE:-0}" != 0 ]; then
  min_time=0.01
  export WC_BENCH_INSTANCES=${WC_BENCH_INSTANCES:-200}
fi
status=0
for b in wasm_native_bench host_invocation_bench http_provider_bench; do
  exe="$build/bench/$b"
  if [ ! -x "$exe" ]; then
    echo "== $b: not built (ninja -C $build $b)" >&2
    status=1
    continue
  fi
  echo "== $b"
  "$exe" --benchmark_min_time="$min_time" || status=1
done
exit $status
