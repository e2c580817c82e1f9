#!/usr/bin/env bash
# Acceptance test of the v1 control interface (issue #15) with wasmCloud's own lattice client:
# the unmodified npm package @wasmcloud/lattice-client-core 0.2.3 (pinned in package-lock.json)
# talks to a REAL host over NATS WebSocket, as washboard does.
#
# Starts, on free 127.0.0.1 ports: nats-server with JetStream and a WebSocket listener (the
# config-file block `wasmcloud up` writes), docker-registry, and one `wasmcloud host` process;
# pushes echo (../shared/fixtures/actors/echo.wasm) and the httpserver provider archive
# (build/providers/httpserver.par.gz) with `wasmcloud reg push`, and starts `wasmcloud dashboard`
# (the project's OTP-side UI, which must show what v1 requests started); then runs v1client.test.mjs
# (node's test runner). Then it runs `wasmcloud up` (temporary HOME, free ports) and up_ws.test.mjs:
# the client finds up's host over up's WebSocket listener, and Ctrl-C stops up cleanly.
# Stops everything it started and exits non-zero on failure.
# WC_V1_TEST_PATTERN (a regular expression) runs only the steps it matches; WC_V1_KEEP_WORK=1
# keeps the logs.
#
# Needs: the C++ build in build/ (or $WC_BUILD_DIR), node (20+) + npm, nats-server,
# docker-registry. The npm packages are installed with `npm ci` from the committed lockfile when
# missing (scripts/setup.sh test installs them too).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${WC_BUILD_DIR:-$ROOT/build}
WASMCLOUD=$BUILD/src/cli/wasmcloud
FIXTURES=${WC_FIXTURES_DIR:-$ROOT/../shared/fixtures/actors}
HTTPSERVER_PAR=$BUILD/providers/httpserver.par.gz
T_START=$(date +%s)

for need in "$WASMCLOUD" "$FIXTURES/echo.wasm" "$HTTPSERVER_PAR"; do
  [[ -e $need ]] || { echo "tests/v1client: missing $need" >&2; exit 1; }
done
for prog in node npm nats-server docker-registry; do
  command -v "$prog" >/dev/null || { echo "tests/v1client: $prog not installed" >&2; exit 1; }
done
if [[ ! -f $HERE/node_modules/@wasmcloud/lattice-client-core/package.json ||
      ! -d $HERE/node_modules/ws ]]; then
  (cd "$HERE" && npm ci --no-audit --no-fund)
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wc-v1client.XXXXXX")
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
    for f in "$WORK"/*.log; do echo "== $f" >&2; tail -n 40 "$f" >&2; done
  fi
  [[ -n ${WC_V1_KEEP_WORK:-} ]] && echo "tests/v1client: kept $WORK" >&2 || rm -rf "$WORK"
  echo "tests/v1client: $(( $(date +%s) - T_START )) s, exit status $status"
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
  echo "tests/v1client: nothing listens on port $1" >&2
  return 1
}

NATS_PORT=$(free_port)
WS_PORT=$(free_port)
REG_PORT=$(free_port)
HTTP_PORT=$(free_port)
DASH_PORT=$(free_port)
REGISTRY=127.0.0.1:$REG_PORT

# The same WebSocket block as `wasmcloud up` writes (plain ws:// on loopback).
cat >"$WORK/nats.conf" <<CONF
websocket {
  listen: "127.0.0.1:$WS_PORT"
  no_tls: true
}
CONF
nats-server -c "$WORK/nats.conf" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$WORK/nats" \
  >"$WORK/nats.log" 2>&1 &
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
wait_port "$WS_PORT" 10
wait_port "$REG_PORT" 10

"$WASMCLOUD" reg push --insecure "$REGISTRY/echo:0.3.4" "$FIXTURES/echo.wasm" >"$WORK/push.log" 2>&1
"$WASMCLOUD" reg push --insecure "$REGISTRY/httpserver:0.1.0" "$HTTPSERVER_PAR" >>"$WORK/push.log" 2>&1

CLUSTER_SEED=$("$WASMCLOUD" keys gen cluster -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).seed))')

"$WASMCLOUD" host --nats-host 127.0.0.1 --nats-port "$NATS_PORT" --no-native \
  --allowed-insecure "$REGISTRY" --cluster-seed "$CLUSTER_SEED" \
  --friendly-name v1-client-host --label v1test=yes --heartbeat-interval-ms 2000 \
  --oci-cache-dir "$WORK/oci" >"$WORK/host.log" 2>&1 &
PIDS+=($!)

"$WASMCLOUD" dashboard --port "$DASH_PORT" --nats-port "$NATS_PORT" --registry "$REGISTRY" \
  --refresh-ms 1000 >"$WORK/dashboard.log" 2>&1 &
PIDS+=($!)
wait_port "$DASH_PORT" 15

# The host is up once it answers the OTP ping (wasmcloud ctl get hosts).
HOST_ID=
for _ in $(seq 150); do
  HOST_ID=$("$WASMCLOUD" ctl --no-context -p "$NATS_PORT" -o json get hosts 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const h=JSON.parse(s).hosts;console.log(h.length===1?h[0].id:"")}catch{console.log("")}})') || true
  [[ -n $HOST_ID ]] && break
  sleep 0.1
done
[[ -n $HOST_ID ]] || { echo "tests/v1client: the host did not answer a ping within 15 s" >&2; exit 1; }
echo "tests/v1client: host $HOST_ID; NATS ws://127.0.0.1:$WS_PORT (nats://127.0.0.1:$NATS_PORT)"

export WC_WS_URL="ws://127.0.0.1:$WS_PORT" WC_NATS_PORT=$NATS_PORT WC_HOST_ID=$HOST_ID
export WC_REGISTRY=$REGISTRY WC_WASMCLOUD=$WASMCLOUD WC_CLUSTER_SEED=$CLUSTER_SEED
export WC_HTTP_PORT=$HTTP_PORT WC_WORK=$WORK WC_DASHBOARD_URL="http://127.0.0.1:$DASH_PORT"
cd "$HERE"
# --test-force-exit: client 0.2.3 opens its WebSocket connection twice (its constructor and its
# connection's both call connect()) and keeps only one, which disconnect() drains; the other
# would keep node running after the last test.
node --test --test-force-exit --test-concurrency=1 \
  ${WC_V1_TEST_PATTERN:+--test-name-pattern="$WC_V1_TEST_PATTERN"} v1client.test.mjs

# Then `wasmcloud up` as README tells a user (its own nats-server with the WebSocket listener),
# and the client against it; Ctrl-C must stop it cleanly.
UP_HOME=$WORK/up-home
mkdir -p "$UP_HOME"
UP_NATS=$(free_port)
UP_WS=$(free_port)
env -u WASMCLOUD_CLUSTER_SEED HOME="$UP_HOME" XDG_DATA_HOME="$UP_HOME/data" "$WASMCLOUD" up \
  --nats-port "$UP_NATS" --websocket-port "$UP_WS" --no-registry --no-dashboard --no-native \
  >"$WORK/up.log" 2>&1 &
UP_PID=$!
PIDS+=($UP_PID)
export WC_UP_LATTICE_JSON=$UP_HOME/data/wasmcloud-cpp/lattice.json WC_UP_WS_URL="ws://127.0.0.1:$UP_WS"
for _ in $(seq 150); do [[ -f $WC_UP_LATTICE_JSON ]] && break; sleep 0.1; done
[[ -f $WC_UP_LATTICE_JSON ]] || { echo "tests/v1client: wasmcloud up wrote no lattice.json" >&2; exit 1; }
node --test --test-force-exit up_ws.test.mjs
kill -INT "$UP_PID"
UP_STATUS=0
wait "$UP_PID" || UP_STATUS=$?
[[ $UP_STATUS -eq 0 ]] || { echo "tests/v1client: wasmcloud up exited $UP_STATUS after Ctrl-C" >&2; exit 1; }
! (exec 3<>"/dev/tcp/127.0.0.1/$UP_WS") 2>/dev/null ||
  { echo "tests/v1client: up's WebSocket port still open after it stopped" >&2; exit 1; }
