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
# missing (scripts/setup.sh test installs them too). The launchers (ports, servers, host, cleanup)
# are tests/support/launch.sh, shared with tests/ui/run.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034  # read by launch.sh
LAUNCH_NAME=tests/v1client LAUNCH_KEEP_VAR=WC_V1_KEEP_WORK LAUNCH_LOG_TAIL=40
# shellcheck source=SCRIPTDIR/../support/launch.sh
source "$HERE/../support/launch.sh"
T_START=$(date +%s)
launch_on_exit() { echo "tests/v1client: $(( $(date +%s) - T_START )) s, exit status $1"; }

launch_require_files "$WASMCLOUD" "$FIXTURES/echo.wasm" "$HTTPSERVER_PAR"
launch_require_programs node npm nats-server docker-registry
if [[ ! -f $HERE/node_modules/@wasmcloud/lattice-client-core/package.json ||
      ! -d $HERE/node_modules/ws ]]; then
  (cd "$HERE" && npm ci --no-audit --no-fund)
fi

launch_workdir wc-v1client

NATS_PORT=$(launch_free_port)
WS_PORT=$(launch_free_port)
REG_PORT=$(launch_free_port)
HTTP_PORT=$(launch_free_port)
DASH_PORT=$(launch_free_port)

# The same WebSocket block as `wasmcloud up` writes (plain ws:// on loopback).
cat >"$WORK/nats.conf" <<CONF
websocket {
  listen: "127.0.0.1:$WS_PORT"
  no_tls: true
}
CONF
launch_nats "$NATS_PORT" -c "$WORK/nats.conf"
launch_registry "$REG_PORT"
launch_wait_port "$NATS_PORT" 10
launch_wait_port "$WS_PORT" 10
launch_wait_port "$REG_PORT" 10

launch_push_fixtures

CLUSTER_SEED=$(launch_cluster_seed)

launch_host host --friendly-name v1-client-host --label v1test=yes --heartbeat-interval-ms 2000 \
  --oci-cache-dir "$WORK/oci"

launch_dashboard "$DASH_PORT" 1000
launch_wait_port "$DASH_PORT" 15

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
UP_NATS=$(launch_free_port)
UP_WS=$(launch_free_port)
launch_bg up env -u WASMCLOUD_CLUSTER_SEED HOME="$UP_HOME" XDG_DATA_HOME="$UP_HOME/data" \
  "$WASMCLOUD" up --nats-port "$UP_NATS" --websocket-port "$UP_WS" --no-registry --no-dashboard \
  --no-native
UP_PID=$LAUNCH_PID
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
