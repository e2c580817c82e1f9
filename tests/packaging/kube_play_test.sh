#!/usr/bin/env bash
# The Kubernetes pod specs of deploy/kubernetes run by `podman kube play` on this machine, no
# cluster (issue #18.4). As root: builds the image when localhost/wasmcloud:<version> is absent
# (scripts/image.sh; removed again at the end then), turns the manifests into a hub NATS pod and
# two host pods, each a host beside its NATS leaf-node sidecar with its own JetStream domain
# (tests/packaging/k8s/kube_play.mjs says exactly what it changes: ports, pod names, the seed,
# probes), and plays them with podman (runc, cgroupfs, host networking, ulimits below this
# machine's hard limits: a CONTAINERS_CONF file this test writes). Asserts:
#  - both hosts answer ping.hosts (`ctl get hosts`) through the hub;
#  - the echo actor started on pod A answers a signed invocation sent through pod B's leaf node,
#    and pod B's host runs no actor (the call crossed leaf B -> hub -> leaf A);
#  - a link put through pod A's leaf and the claims of the actor host A started are answered
#    by host B alone after pod A is stopped: the metadata lives in the hub's JetStream domain
#    (WASMCLOUD_JS_DOMAIN=hub), shared by hosts whose leaves have domains of their own;
#  - stopping pod A publishes host_stopped (seen on the hub).
# Removes every pod it played, podman's pause image when it made it, and the image when it
# built it. Prints "kube_play_test: N passed,
# 0 failed". Not part of scripts/test.sh (needs podman, catatonit, runc; minutes with the image).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
START=$SECONDS
PASSED=0
say() { echo "kube_play_test ($((SECONDS - START)) s): $*"; }
pass() {
  PASSED=$((PASSED + 1))
  say "ok: $*"
}
die() {
  echo "kube_play_test: FAILED: $*" >&2
  exit 1
}
[ "$(id -u)" -eq 0 ] || die "needs root"
for t in podman runc node nats-server python3 pkg-config cc; do
  command -v "$t" >/dev/null || die "$t is missing"
done
[ -x /usr/libexec/podman/catatonit ] || command -v catatonit >/dev/null ||
  die "catatonit is missing (podman's pod infra container needs it: apt-get install catatonit)"
ECHO=$ROOT/../shared/fixtures/actors/echo.wasm
ECHO_KEY=MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5
[ -r "$ECHO" ] || die "$ECHO is not readable"
K=tests/packaging/k8s
[ -d "$K/node_modules/yaml" ] || (cd "$K" && npm ci --no-audit --no-fund >/dev/null)

T=$(mktemp -d /tmp/wc-kube-play.XXXXXX)
chmod 755 "$T"
cat >"$T/containers.conf" <<'EOF'
[containers]
netns = "host"
default_ulimits = ["nofile=16384:16384", "nproc=8192:8192"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_CONF=$T/containers.conf
VERSION=$(sed -n 's/^project(wasmcloud_cpp VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
IMAGE=localhost/wasmcloud:$VERSION
BUILT=0
# podman builds its pod infra image (localhost/podman-pause) at the first kube play.
PAUSE_BEFORE=$(podman images -q --filter reference=localhost/podman-pause)
PLAYED=()
PIDS=()
cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    for c in $(podman ps -a --format '{{.Names}}' | grep -E '^(nats-hub-0|wasmcloud-host-[ab])-' || true); do
      podman logs "$c" >"$T/$c.log" 2>&1 || true
    done
  fi
  for f in "${PLAYED[@]}"; do podman kube down "$f" >/dev/null 2>&1 || true; done
  [ "$BUILT" = 0 ] || podman rmi -f "$IMAGE" >/dev/null 2>&1 || true
  if [ -z "$PAUSE_BEFORE" ]; then
    for i in $(podman images -q --filter reference=localhost/podman-pause); do
      podman rmi -f "$i" >/dev/null 2>&1 || true
    done
  fi
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$rc" -ne 0 ]; then
    for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -25 "$f" >&2; }; done
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

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 "${2:-300}"); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
HUB=$(free_port)
A=$(free_port)
B=$(free_port)
SEED=$(build/src/cli/wasmcloud keys gen cluster -o json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["seed"])')
mkdir -p "$T/actors" && cp "$ECHO" "$T/actors/echo.wasm" && chmod 755 "$T/actors" &&
  chmod 644 "$T/actors/echo.wasm"
cat >"$T/settings.json" <<EOF
{"hub": {"client": $HUB, "websocket": $(free_port), "leaf": $(free_port), "monitor": $(free_port)},
 "a": {"client": $A, "monitor": $(free_port), "metrics": $(free_port)},
 "b": {"client": $B, "monitor": $(free_port), "metrics": $(free_port)},
 "seed": "$SEED", "actors": "$T/actors"}
EOF
node "$K/kube_play.mjs" deploy/kubernetes "$T/kube" "$T/settings.json" >/dev/null

podman kube play "$T/kube/hub.yaml" >"$T/play-hub.log" 2>&1 || die "podman kube play hub.yaml failed"
PLAYED+=("$T/kube/hub.yaml")
wait_port "$HUB" || die "the hub did not listen"
cc -O1 -o "$T/evt_watch" tests/packaging/evt_watch.c $(pkg-config --cflags --libs libnats)
"$T/evt_watch" "nats://127.0.0.1:$HUB" "wasmbus.evt.default" 600 >"$T/events.out" 2>"$T/evt_watch.log" &
PIDS+=($!)
for _ in $(seq 1 50); do grep -q subscribed "$T/evt_watch.log" && break; sleep 0.1; done
for x in a b; do
  podman kube play "$T/kube/host-$x.yaml" >"$T/play-host-$x.log" 2>&1 ||
    die "podman kube play host-$x.yaml failed"
  PLAYED+=("$T/kube/host-$x.yaml")
done
pass "podman kube play: hub pod nats-hub-0, host pods wasmcloud-host-a and -b (host + leaf sidecar)"

host_id() {
  podman logs "wasmcloud-host-$1-host" 2>&1 |
    sed -n 's/.*Host \(N[A-Z0-9]\{55\}\) (.*) started on lattice.*/\1/p' | head -1
}
W=(build/src/cli/wasmcloud)
HOST_A= HOST_B=
for _ in $(seq 1 600); do
  HOST_A=$(host_id a) HOST_B=$(host_id b)
  if [ -n "$HOST_A" ] && [ -n "$HOST_B" ]; then
    "${W[@]}" ctl --no-context -p "$HUB" -o json get hosts >"$T/hosts.json" 2>/dev/null || true
    grep -q "$HOST_A" "$T/hosts.json" && grep -q "$HOST_B" "$T/hosts.json" && break
  fi
  sleep 0.1
done
grep -q "$HOST_A" "$T/hosts.json" 2>/dev/null && grep -q "$HOST_B" "$T/hosts.json" ||
  die "both hosts did not answer ping.hosts through the hub within 60 s (A='$HOST_A' B='$HOST_B')"
pass "both hosts answer ping.hosts through the hub ($HOST_A, $HOST_B)"

"${W[@]}" ctl --no-context -p "$HUB" start actor file:///actors/echo.wasm --host-id "$HOST_A" \
  >"$T/actor.log" 2>&1 || die "the echo actor did not start on host A"
"${W[@]}" call --nats-port "$B" --cluster-seed "$SEED" "$ECHO_KEY" HttpServer.HandleRequest \
  '{"method":"GET","path":"/through-leaf-b","queryString":"","header":{},"body":"hi"}' \
  >"$T/call.log" 2>&1 || die "the call through leaf B failed"
grep -q "/through-leaf-b" "$T/call.log" || die "echo did not answer through leaf B"
"${W[@]}" ctl --no-context -p "$HUB" -o json get inventory "$HOST_B" >"$T/inv-b.json" ||
  die "no inventory of host B"
! grep -q "$ECHO_KEY" "$T/inv-b.json" || die "host B runs the actor too"
pass "echo started on pod A answers a signed call sent through pod B's leaf node"

LINK_PORT=$(free_port)
"${W[@]}" ctl --no-context -p "$A" link put "$ECHO_KEY" \
  VAGCJGUXWWA5UJHCWNUYJWWMX5XXRF264DZTLQYVV5PZLNVQ6VYKBLMP wasmcloud:httpserver \
  "port=$LINK_PORT" >"$T/link.log" 2>&1 || die "link put through leaf A failed"

podman pod stop -t 30 wasmcloud-host-a >"$T/stop.log" 2>&1 || die "podman pod stop failed"
for _ in $(seq 1 50); do grep -q host_stopped "$T/events.out" && break; sleep 0.1; done
grep host_stopped "$T/events.out" | grep -q "$HOST_A" || die "no host_stopped of host A on the hub"
pass "stopping pod A publishes host_stopped (seen on the hub)"

"${W[@]}" ctl --no-context -p "$B" -o json get hosts >"$T/hosts-after.json" || die "get hosts via B"
! grep -q "$HOST_A" "$T/hosts-after.json" && grep -q "$HOST_B" "$T/hosts-after.json" ||
  die "host A still answers or host B does not"
"${W[@]}" ctl --no-context -p "$B" -o json get links >"$T/links.json" || die "get links via B"
grep -q "$ECHO_KEY" "$T/links.json" && grep -q "$LINK_PORT" "$T/links.json" ||
  die "host B does not know the link put through leaf A: $(cat "$T/links.json")"
"${W[@]}" ctl --no-context -p "$B" -o json get claims >"$T/claims.json" || die "get claims via B"
grep -q "$ECHO_KEY" "$T/claims.json" || die "host B does not know echo's claims"
pass "host B alone answers with the link put through leaf A and echo's claims (hub domain)"

echo "kube_play_test: $PASSED passed, 0 failed ($((SECONDS - START)) s)"
