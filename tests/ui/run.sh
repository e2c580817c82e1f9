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
# `npm ci` from the committed package-lock.json files when missing. The launchers (ports, servers,
# hosts, cleanup) are tests/support/launch.sh, shared with tests/v1client/run.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034  # read by launch.sh
LAUNCH_NAME=tests/ui LAUNCH_KEEP_VAR=WC_UI_KEEP_WORK LAUNCH_LOG_TAIL=30
# shellcheck source=SCRIPTDIR/../support/launch.sh
source "$HERE/../support/launch.sh"
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

launch_require_files "$WASMCLOUD" "$CHROMIUM" "$FIXTURES/echo.wasm" "$HTTPSERVER_PAR"
launch_require_programs node npm nats-server docker-registry curl

[[ -d $HERE/node_modules/playwright-core ]] || (cd "$HERE" && npm ci --no-audit --no-fund)
[[ -f $ROOT/src/web/ui/node_modules/chart.js/dist/chart.umd.js ]] ||
  (cd "$ROOT/src/web/ui" && npm ci --no-audit --no-fund)

launch_workdir wc-ui

NATS_PORT=$(launch_free_port)
REG_PORT=$(launch_free_port)
DASH_PORT=$(launch_free_port)

launch_nats "$NATS_PORT"
launch_registry "$REG_PORT"
launch_wait_port "$NATS_PORT" 10
launch_wait_port "$REG_PORT" 10

CLUSTER_SEED=$(launch_cluster_seed)

launch_dashboard "$DASH_PORT" 2000
for name in a b; do
  launch_host "host-$name" --allow-file-load --friendly-name "ui-host-$name" --label "ui=$name" \
    --oci-cache-dir "$WORK/oci-$name"
done
launch_wait_port "$DASH_PORT" 15
# The declarative-application service (issue #16) for the Applications steps.
launch_bg wadm "$WASMCLOUD" wadm --ctl-host 127.0.0.1 --ctl-port "$NATS_PORT"

launch_push_fixtures

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
PIDS+=("$SSE_PID")
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
