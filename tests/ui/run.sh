#!/usr/bin/env bash
# Browser tests of the web dashboard against a REAL lattice: starts nats-server, docker-registry,
# two `wasmcloud host` processes, `wasmcloud wadm` and `wasmcloud dashboard` on free loopback
# ports, pushes echo and the httpserver provider archive to the registry, runs dashboard.test.mjs (node's test
# runner driving the system Chromium through playwright-core), then sends SIGTERM to the
# dashboard with a server-sent-events client still connected and fails unless it exits 0 by
# itself within 5 s. Stops everything it started and exits non-zero on failure. Screenshots:
# tests/ui/artifacts/. WC_UI_TEST_PATTERN (a regular expression) runs only the steps it matches
# (node --test-name-pattern); steps that need an earlier one's state need that one matched too.
#
# Needs: the C++ build in build/ (or $WC_BUILD_DIR), node + npm, Debian chromium, nats-server,
# docker-registry. npm packages (playwright-core here, chart.js in src/web/ui) are installed with
# `npm ci` from the committed package-lock.json files when missing.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${WC_BUILD_DIR:-$ROOT/build}
WASMCLOUD=$BUILD/src/cli/wasmcloud
FIXTURES=${WC_FIXTURES_DIR:-$ROOT/../shared/fixtures/actors}
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

HTTPSERVER_PAR=$BUILD/providers/httpserver.par.gz
for need in "$WASMCLOUD" "$CHROMIUM" "$FIXTURES/echo.wasm" "$HTTPSERVER_PAR"; do
  [[ -e $need ]] || { echo "tests/ui: missing $need" >&2; exit 1; }
done
for prog in node npm nats-server docker-registry curl; do
  command -v "$prog" >/dev/null || { echo "tests/ui: $prog not installed" >&2; exit 1; }
done

[[ -d $HERE/node_modules/playwright-core ]] || (cd "$HERE" && npm ci --no-audit --no-fund)
[[ -f $ROOT/src/web/ui/node_modules/chart.js/dist/chart.umd.js ]] ||
  (cd "$ROOT/src/web/ui" && npm ci --no-audit --no-fund)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wc-ui.XXXXXX")
PIDS=()
cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [[ $status -ne 0 ]]; then
    echo "--- logs (failure) ---" >&2
    for f in "$WORK"/*.log; do echo "== $f" >&2; tail -n 30 "$f" >&2; done
  fi
  [[ -n ${WC_UI_KEEP_WORK:-} ]] && echo "tests/ui: kept $WORK" >&2 || rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT INT TERM

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
wait_port() {  # port, seconds
  for _ in $(seq $(($2 * 10))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "tests/ui: nothing listens on port $1" >&2
  return 1
}

NATS_PORT=$(free_port)
REG_PORT=$(free_port)
DASH_PORT=$(free_port)
REGISTRY=127.0.0.1:$REG_PORT

nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$WORK/nats" >"$WORK/nats.log" 2>&1 &
PIDS+=($!)
cat >"$WORK/registry.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $WORK/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY
YAML
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
PIDS+=($!)
wait_port "$NATS_PORT" 10
wait_port "$REG_PORT" 10

CLUSTER_SEED=$("$WASMCLOUD" keys gen cluster -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).seed))')

"$WASMCLOUD" dashboard --port "$DASH_PORT" --nats-port "$NATS_PORT" --registry "$REGISTRY" \
  --refresh-ms 2000 >"$WORK/dashboard.log" 2>&1 &
DASH_PID=$!
PIDS+=($DASH_PID)
for name in a b; do
  "$WASMCLOUD" host --nats-host 127.0.0.1 --nats-port "$NATS_PORT" --no-native \
    --allowed-insecure "$REGISTRY" --allow-file-load --cluster-seed "$CLUSTER_SEED" \
    --friendly-name "ui-host-$name" --label "ui=$name" --oci-cache-dir "$WORK/oci-$name" \
    >"$WORK/host-$name.log" 2>&1 &
  PIDS+=($!)
done
wait_port "$DASH_PORT" 15
# The declarative-application service (issue #16) for the Applications steps.
"$WASMCLOUD" wadm --ctl-host 127.0.0.1 --ctl-port "$NATS_PORT" >"$WORK/wadm.log" 2>&1 &
PIDS+=($!)

"$WASMCLOUD" reg push --insecure "$REGISTRY/echo:0.3.4" "$FIXTURES/echo.wasm" >"$WORK/push.log" 2>&1
"$WASMCLOUD" reg push --insecure "$REGISTRY/httpserver:0.1.0" "$HTTPSERVER_PAR" >>"$WORK/push.log" 2>&1

mkdir -p "$HERE/artifacts"
export WC_DASHBOARD_URL="http://127.0.0.1:$DASH_PORT"
export WC_REGISTRY=$REGISTRY WC_WASMCLOUD=$WASMCLOUD WC_FIXTURES=$FIXTURES WC_WORK=$WORK
export WC_NATS_PORT=$NATS_PORT WC_CLUSTER_SEED=$CLUSTER_SEED WC_ARTIFACTS=$HERE/artifacts
export WC_HTTPSERVER_REF=$REGISTRY/httpserver:0.1.0 WC_HTTPSERVER_PAR=$HTTPSERVER_PAR
cd "$HERE"
node --test --test-concurrency=1 ${WC_UI_TEST_PATTERN:+--test-name-pattern="$WC_UI_TEST_PATTERN"} dashboard.test.mjs

# The dashboard stops by itself on SIGTERM, even with a live event stream open.
curl -sN -o "$WORK/sse.txt" "http://127.0.0.1:$DASH_PORT/api/events" &
SSE_PID=$!
PIDS+=($SSE_PID)
for _ in $(seq 50); do [[ -s $WORK/sse.txt ]] && break; sleep 0.1; done
grep -q '^event: state' "$WORK/sse.txt" || { echo "tests/ui: no event stream from the dashboard" >&2; exit 1; }
T0=$(date +%s%N)
kill -TERM "$DASH_PID"
for _ in $(seq 50); do kill -0 "$DASH_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$DASH_PID" 2>/dev/null; then
  echo "tests/ui: wasmcloud dashboard still running 5 s after SIGTERM" >&2
  exit 1
fi
DASH_STATUS=0
wait "$DASH_PID" || DASH_STATUS=$?
echo "dashboard exited with status $DASH_STATUS $(( ($(date +%s%N) - T0) / 1000000 )) ms after SIGTERM"
[[ $DASH_STATUS -eq 0 ]] || { echo "tests/ui: dashboard exit status $DASH_STATUS" >&2; exit 1; }
