# shellcheck shell=bash
# Shared launcher for the shell-driven end-to-end stages (tests/ui/run.sh, tests/v1client/run.sh):
# the build's paths, prerequisite checks, a work directory whose processes are stopped on exit,
# free 127.0.0.1 ports, and starting nats-server, docker-registry, `wasmcloud host` and
# `wasmcloud dashboard` there. Sourced (not run) by a bash script under `set -euo pipefail`;
# every process a launch_* function starts is added to PIDS and stopped by the exit trap.
#
# Before sourcing, the caller sets:
#   LAUNCH_NAME       prefix of every message, e.g. "tests/ui"
#   LAUNCH_KEEP_VAR   name of the variable that, when non-empty, keeps the work directory
#   LAUNCH_LOG_TAIL   how many last lines of each log to print when the script fails
# and may define `launch_on_exit STATUS`, called last by the exit trap.
#
# Sets: ROOT, BUILD (WC_BUILD_DIR or ROOT/build), WASMCLOUD, FIXTURES (WC_FIXTURES_DIR or
# ROOT/../shared/fixtures/actors), HTTPSERVER_PAR. launch_workdir sets WORK and the trap.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${WC_BUILD_DIR:-$ROOT/build}
WASMCLOUD=$BUILD/src/cli/wasmcloud
FIXTURES=${WC_FIXTURES_DIR:-$ROOT/../shared/fixtures/actors}
HTTPSERVER_PAR=$BUILD/providers/httpserver.par.gz
PIDS=()

# Fails unless every argument is an existing path.
launch_require_files() {
  local need
  for need in "$@"; do
    [[ -e $need ]] || { echo "$LAUNCH_NAME: missing $need" >&2; exit 1; }
  done
}

# Fails unless every argument is a program on PATH.
launch_require_programs() {
  local prog
  for prog in "$@"; do
    command -v "$prog" >/dev/null || { echo "$LAUNCH_NAME: $prog not installed" >&2; exit 1; }
  done
}

# WORK=a new directory under TMPDIR named after PREFIX ($1); the exit trap (also on INT/TERM)
# stops PIDS (SIGTERM, then SIGKILL after 5 s each), prints the logs' tails on failure, removes
# WORK unless $LAUNCH_KEEP_VAR is set, calls launch_on_exit when defined, and keeps the status.
launch_workdir() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  trap launch_cleanup EXIT INT TERM
}

launch_cleanup() {
  local status=$?
  local pid f
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [[ $status -ne 0 ]]; then
    echo "--- logs (failure) ---" >&2
    for f in "$WORK"/*.log; do echo "== $f" >&2; tail -n "$LAUNCH_LOG_TAIL" "$f" >&2; done
  fi
  if [[ -n ${!LAUNCH_KEEP_VAR:-} ]]; then echo "$LAUNCH_NAME: kept $WORK" >&2; else rm -rf "$WORK"; fi
  if declare -F launch_on_exit >/dev/null; then launch_on_exit "$status"; fi
  exit "$status"
}

# Prints a TCP port free on 127.0.0.1 now.
launch_free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Waits until something accepts connections on 127.0.0.1:PORT ($1), at most SECONDS ($2).
launch_wait_port() {
  for _ in $(seq $(($2 * 10))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$LAUNCH_NAME: nothing listens on port $1" >&2
  return 1
}

# Runs ARGS... in the background with stdout and stderr in WORK/NAME.log ($1 = NAME); adds it to
# PIDS and sets LAUNCH_PID.
launch_bg() {
  local name=$1
  shift
  "$@" >"$WORK/$name.log" 2>&1 &
  LAUNCH_PID=$!
  PIDS+=("$LAUNCH_PID")
}

# nats-server with JetStream (store in WORK/nats) on 127.0.0.1:PORT ($1), log WORK/nats.log;
# further arguments go before the defaults (e.g. -c CONFIG). Does not wait.
launch_nats() {
  local port=$1
  shift
  launch_bg nats nats-server "$@" -a 127.0.0.1 -p "$port" -js -sd "$WORK/nats"
}

# docker-registry (filesystem store in WORK/registry, deletes enabled) on 127.0.0.1:PORT ($1);
# sets REGISTRY=127.0.0.1:PORT; log WORK/registry.log. Does not wait.
launch_registry() {
  REGISTRY=127.0.0.1:$1
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
  launch_bg registry docker-registry serve "$WORK/registry.yml"
}

# Pushes the echo actor as REGISTRY/echo:0.3.4 and the httpserver provider archive as
# REGISTRY/httpserver:0.1.0 (log WORK/push.log); fails when a push does.
launch_push_fixtures() {
  "$WASMCLOUD" reg push --insecure "$REGISTRY/echo:0.3.4" "$FIXTURES/echo.wasm" >"$WORK/push.log" 2>&1
  "$WASMCLOUD" reg push --insecure "$REGISTRY/httpserver:0.1.0" "$HTTPSERVER_PAR" >>"$WORK/push.log" 2>&1
}

# Prints a new cluster seed (`wasmcloud keys gen cluster`).
launch_cluster_seed() {
  "$WASMCLOUD" keys gen cluster -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).seed))'
}

# `wasmcloud host` on the nats-server at 127.0.0.1:NATS_PORT without native compilation,
# trusting REGISTRY over plain HTTP and signing with CLUSTER_SEED; log WORK/NAME.log ($1 = NAME);
# further arguments are added. Does not wait.
launch_host() {
  local name=$1
  shift
  launch_bg "$name" "$WASMCLOUD" host --nats-host 127.0.0.1 --nats-port "$NATS_PORT" --no-native \
    --allowed-insecure "$REGISTRY" --cluster-seed "$CLUSTER_SEED" "$@"
}

# `wasmcloud dashboard` on 127.0.0.1:PORT ($1) for the nats-server at NATS_PORT and REGISTRY,
# refreshing every REFRESH_MS ($2); log WORK/dashboard.log; sets DASH_PID. Does not wait.
launch_dashboard() {
  launch_bg dashboard "$WASMCLOUD" dashboard --port "$1" --nats-port "$NATS_PORT" \
    --registry "$REGISTRY" --refresh-ms "$2"
  # shellcheck disable=SC2034  # the caller's
  DASH_PID=$LAUNCH_PID
}
