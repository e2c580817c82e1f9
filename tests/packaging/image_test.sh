#!/usr/bin/env bash
# The container image (scripts/image.sh, issue #18.2) run with podman on this machine. As root:
# builds the image when localhost/wasmcloud:<version> is absent (and removes it at the end
# then), starts a real nats-server on a free loopback port and one container of the image with
# host networking (podman settings in a CONTAINERS_CONF file this test writes: runc, cgroupfs;
# ulimits below this machine's hard limits given per container), configured only by WASMCLOUD_*
# variables. Asserts: the host runs as uid 10001 (non-root); the health command succeeds;
# `wasmcloud ctl get hosts` over NATS lists the container's host; the echo actor (mounted
# read-only from ../shared/fixtures) starts from a file and answers a signed call, and its native
# code is compiled inside the container (the image's C compiler) into /var/cache/wasmcloud;
# `podman stop` (SIGTERM) ends it with exit code 0 after host_stopped was published. Removes
# the container (and the image when it built it). Prints "image_test: N passed, 0 failed".
# Not part of scripts/test.sh: the image build takes minutes (debootstrap, apt).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
START=$SECONDS
PASSED=0
say() { echo "image_test ($((SECONDS - START)) s): $*"; }
pass() {
  PASSED=$((PASSED + 1))
  say "ok: $*"
}
die() {
  echo "image_test: FAILED: $*" >&2
  exit 1
}
[ "$(id -u)" -eq 0 ] || die "needs root"
for t in podman nats-server python3 pkg-config cc; do
  command -v "$t" >/dev/null || die "$t is missing"
done
ECHO=$ROOT/../shared/fixtures/actors/echo.wasm
[ -r "$ECHO" ] || die "$ECHO is not readable"

T=$(mktemp -d /tmp/wc-image-test.XXXXXX)
chmod 755 "$T"
cat >"$T/containers.conf" <<'EOF'
[containers]
netns = "host"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_CONF=$T/containers.conf
VERSION=$(sed -n 's/^project(wasmcloud_cpp VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
IMAGE=localhost/wasmcloud:$VERSION
CTR=wc-image-test-$$
BUILT=0
PIDS=()
cleanup() {
  local rc=$?
  podman rm -f "$CTR" >/dev/null 2>&1 || true
  [ "$BUILT" = 0 ] || podman rmi -f "$IMAGE" >/dev/null 2>&1 || true
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$rc" -ne 0 ]; then
    for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -30 "$f" >&2; }; done
  fi
  rm -rf "$T"
  exit "$rc"
}
trap cleanup EXIT

if ! podman image exists "$IMAGE"; then
  say "building $IMAGE (scripts/image.sh)"
  BUILT=1
  scripts/image.sh >"$T/image.log" 2>&1 || die "scripts/image.sh failed"
fi
[ "$(podman image inspect "$IMAGE" --format '{{.Config.User}}')" = 10001:10001 ] ||
  die "the image does not run as 10001:10001"
pass "image $IMAGE ($(podman image inspect "$IMAGE" --format '{{.Size}}') bytes), user 10001"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
NATS_PORT=$(free_port)
METRICS_PORT=$(free_port)
nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$T/js" >"$T/nats.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null && break; sleep 0.1; done
LATTICE=imgtest$$
W=(build/src/cli/wasmcloud)
SEED=$("${W[@]}" keys gen cluster -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["seed"])')
cc -O1 -o "$T/evt_watch" tests/packaging/evt_watch.c $(pkg-config --cflags --libs libnats)
"$T/evt_watch" "nats://127.0.0.1:$NATS_PORT" "wasmbus.evt.$LATTICE" 600 >"$T/events.out" 2>"$T/evt_watch.log" &
PIDS+=($!)
for _ in $(seq 1 50); do grep -q subscribed "$T/evt_watch.log" && break; sleep 0.1; done
cp "$ECHO" "$T/echo.wasm" && chmod 644 "$T/echo.wasm"

podman run -d --name "$CTR" --ulimit nofile=16384:16384 --ulimit nproc=8192:8192 \
  -v "$T/echo.wasm:/actors/echo.wasm:ro" \
  -e WASMCLOUD_CTL_PORT="$NATS_PORT" -e WASMCLOUD_RPC_PORT="$NATS_PORT" \
  -e WASMCLOUD_PROV_RPC_PORT="$NATS_PORT" -e WASMCLOUD_LATTICE_PREFIX="$LATTICE" \
  -e WASMCLOUD_CLUSTER_SEED="$SEED" -e WASMCLOUD_ALLOW_FILE_LOAD=true \
  -e WASMCLOUD_METRICS_PORT="$METRICS_PORT" "$IMAGE" >"$T/run.log" 2>&1 || die "podman run failed"
HOST_ID=
for _ in $(seq 1 300); do
  podman logs "$CTR" >"$T/host.log" 2>&1 || true
  HOST_ID=$(sed -n 's/.*Host \(N[A-Z0-9]\{55\}\) (.*) started on lattice.*/\1/p' "$T/host.log" | head -1)
  [ -n "$HOST_ID" ] && break
  [ "$(podman inspect "$CTR" --format '{{.State.Running}}')" = true ] || die "the container stopped"
  sleep 0.1
done
[ -n "$HOST_ID" ] || die "the host did not start within 30 s"
pass "container started host $HOST_ID"

[ "$(podman exec "$CTR" id -u)" = 10001 ] || die "the host runs as $(podman exec "$CTR" id -u)"
podman exec "$CTR" wasmcloud-healthcheck || die "the health command failed"
pass "non-root (uid 10001), health command wasmcloud-healthcheck succeeds"

CTL=(--ctl-port "$NATS_PORT" -x "$LATTICE" --no-context)
"${W[@]}" ctl "${CTL[@]}" -o json get hosts >"$T/hosts.json" || die "ctl get hosts failed"
grep -q "$HOST_ID" "$T/hosts.json" || die "ctl get hosts does not list $HOST_ID"
pass "wasmcloud ctl get hosts over NATS lists it"

"${W[@]}" ctl "${CTL[@]}" start actor file:///actors/echo.wasm >"$T/actor.log" 2>&1 ||
  die "the echo actor did not start"
"${W[@]}" call --nats-port "$NATS_PORT" -x "$LATTICE" --cluster-seed "$SEED" \
  MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5 HttpServer.HandleRequest \
  '{"method":"GET","path":"/image","queryString":"","header":{},"body":"hi"}' >"$T/call.log" 2>&1 ||
  die "wasmcloud call failed"
grep -q "/image" "$T/call.log" || die "echo did not answer with the path"
for _ in $(seq 1 600); do
  podman exec "$CTR" sh -c 'find /var/cache/wasmcloud -name "*.so" | grep -q .' && break
  sleep 0.1
done
podman exec "$CTR" sh -c 'find /var/cache/wasmcloud -name "*.so" | grep -q .' ||
  die "no native code compiled in the container within 60 s"
pass "echo from a file answers a signed call; native code compiled in the container"

podman stop -t 30 "$CTR" >/dev/null || die "podman stop failed"
[ "$(podman inspect "$CTR" --format '{{.State.ExitCode}}')" = 0 ] || die "exit code not 0"
for _ in $(seq 1 30); do grep -q host_stopped "$T/events.out" && break; sleep 0.1; done
grep -q host_stopped "$T/events.out" || die "no host_stopped event"
pass "podman stop: host_stopped published, exit code 0"

echo "image_test: $PASSED passed, 0 failed ($((SECONDS - START)) s)"
