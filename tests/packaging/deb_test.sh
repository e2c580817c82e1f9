#!/usr/bin/env bash
# The Debian package, installed and run on this machine (issue #18.1). As root:
#  1. builds it (scripts/package.sh) and installs it with `apt-get install ./wasmcloud_*.deb`;
#  2. checks its files, the conffile, the `wasmcloud` system user, and that the installed
#     binary's dashboard serves the installed UI files (/usr/share/wasmcloud/ui, with chart.js);
#  3. runs the unit's ExecStart exactly as the installed unit file writes it, as its User=, in its
#     WorkingDirectory=, with its Environment= and EnvironmentFile= variables (the env file
#     edited as an operator would: the NATS port of a real nats-server started here on a free
#     loopback port, a lattice prefix, a cluster seed, file loading), the StateDirectory= and
#     CacheDirectory= made as systemd makes them, and NOTIFY_SOCKET naming a socket this test
#     reads -- systemd is not PID 1 here, so this is what systemd would run. Asserts: READY=1
#     arrives (with the host id in STATUS=), `wasmcloud ctl get hosts` over NATS lists the host,
#     the packaged httpserver provider archive starts (provider_started: its executable runs as
#     the service user), the echo actor from ../shared/fixtures starts from a file and answers a
#     signed `wasmcloud call`, and its native code lands in the unit's cache directory; SIGTERM
#     ends it with exit status 0 after host_stopped was published;
#  4. `apt-get purge`s the package and checks that nothing of it is left: its files, /etc/wasmcloud,
#     the state and cache directories, the user and group; no other package was added or
#     removed; the build tree's binary still runs.
# Refuses to run when a `wasmcloud` package, user or /usr/bin/wasmcloud is already present (the
# purge would remove what was there before). Prints "deb_test: N passed, 0 failed" at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
START=$SECONDS
PASSED=0
say() { echo "deb_test ($((SECONDS - START)) s): $*"; }
pass() {
  PASSED=$((PASSED + 1))
  say "ok: $*"
}
die() {
  echo "deb_test: FAILED: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (apt-get install, a system user)"
if dpkg-query -W -f='${Status}' wasmcloud 2>/dev/null | grep -q "ok installed\|config-files"; then
  die "a wasmcloud package is already installed: apt-get purge wasmcloud first"
fi
getent passwd wasmcloud >/dev/null && die "a user 'wasmcloud' exists already"
[ ! -e /usr/bin/wasmcloud ] || die "/usr/bin/wasmcloud exists already"
for t in nats-server python3 setpriv pkg-config cc curl; do
  command -v "$t" >/dev/null || die "$t is missing (scripts/setup.sh test installs it)"
done

T=$(mktemp -d /tmp/wc-deb-test.XXXXXX)
chmod 755 "$T"
PIDS=()
INSTALLED=0
dpkg-query -W -f='${Package}\n' | sort >"$T/packages.before"

cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$INSTALLED" = 1 ]; then
    # Files the service user left in the shared /tmp (systemd's PrivateTmp= would have dropped
    # them with the service's private /tmp): extracted provider executables.
    if getent passwd wasmcloud >/dev/null; then
      find /tmp -xdev -mindepth 1 -maxdepth 1 -user wasmcloud -exec rm -rf {} + 2>/dev/null || true
    fi
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q wasmcloud >"$T/purge.log" 2>&1 ||
      { cat "$T/purge.log" >&2; rc=1; }
  fi
  if [ "$rc" -ne 0 ]; then
    for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -40 "$f" >&2; }; done
  fi
  rm -rf "$T"
  exit "$rc"
}
trap cleanup EXIT

# ------------------------------------------------------------------------------- build, install
say "building the package (scripts/package.sh)"
DEB=$(scripts/package.sh 2>"$T/package.log" | tail -1) || die "scripts/package.sh failed"
[ -f "$DEB" ] || die "no package built"
say "package: $DEB ($(du -h "$DEB" | cut -f1))"
INSTALLED=1
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$DEB" >"$T/install.log" 2>&1 ||
  die "apt-get install failed"
dpkg-query -W -f='${Status}' wasmcloud | grep -q "install ok installed" || die "not installed"
pass "apt-get install ./$(basename "$DEB")"

# ------------------------------------------------------------------------------- files and user
dpkg -L wasmcloud | sort >"$T/files"
for f in /usr/bin/wasmcloud /usr/lib/systemd/system/wasmcloud-host.service /etc/wasmcloud/host.env \
  /usr/share/wasmcloud/providers/httpserver.par.gz /usr/share/wasmcloud/providers/keyvalue.par.gz \
  /usr/share/wasmcloud/ui/index.html /usr/share/wasmcloud/ui/app.js /usr/share/wasmcloud/ui/style.css \
  /usr/share/wasmcloud/ui/favicon.svg /usr/share/wasmcloud/ui/node_modules/chart.js/dist/chart.umd.js; do
  grep -qx "$f" "$T/files" || die "$f is not in the package"
  [ -f "$f" ] || die "$f is not installed"
done
[ "$(stat -c %a /etc/wasmcloud/host.env)" = 600 ] || die "host.env is not mode 0600"
dpkg-query -W -f='${Conffiles}\n' wasmcloud | grep -q "/etc/wasmcloud/host.env" ||
  die "host.env is not a conffile"
/usr/bin/wasmcloud --version >/dev/null || die "the installed binary does not run"
pass "files: binary, unit, conffile (0600), provider archives, UI with chart.js"

IFS=: read -r _ _ WC_UID WC_GID _ WC_HOME WC_SHELL < <(getent passwd wasmcloud) ||
  die "no user wasmcloud after install"
[ "$WC_UID" -lt 1000 ] || die "wasmcloud is not a system user (uid $WC_UID)"
[ "$(getent group wasmcloud | cut -d: -f3)" = "$WC_GID" ] || die "no group wasmcloud"
[ "$WC_SHELL" = /usr/sbin/nologin ] || die "the wasmcloud user has a login shell ($WC_SHELL)"
pass "system user wasmcloud (uid $WC_UID, home $WC_HOME, no login shell)"

# ------------------------------------------------------------------------------- nats-server
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
NATS_PORT=$(free_port)
nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$T/js" >"$T/nats.log" 2>&1 &
PIDS+=($!)
wait_port "$NATS_PORT" || die "nats-server did not start"
NATS_URL="nats://127.0.0.1:$NATS_PORT"
LATTICE="debtest$$"

# The installed binary finds the installed UI (no source tree path, no variable).
DASH_PORT=$(free_port)
setpriv --reuid=wasmcloud --regid=wasmcloud --init-groups env -i PATH=/usr/bin:/bin HOME=/var/lib/wasmcloud \
  /usr/bin/wasmcloud dashboard --port "$DASH_PORT" --nats-port "$NATS_PORT" -x "$LATTICE" \
  >"$T/dashboard.log" 2>&1 &
DASH_PID=$!
PIDS+=("$DASH_PID")
wait_port "$DASH_PORT" || die "the installed dashboard did not listen"
curl -fsS "http://127.0.0.1:$DASH_PORT/" -o "$T/index.html" || die "GET / failed"
cmp -s <(grep -o '<section id="[a-z]*"' "$T/index.html") \
  <(grep -o '<section id="[a-z]*"' /usr/share/wasmcloud/ui/index.html) ||
  die "the dashboard did not serve /usr/share/wasmcloud/ui/index.html"
curl -fsS "http://127.0.0.1:$DASH_PORT/vendor/chart.umd.js" -o "$T/chart.js" ||
  die "GET /vendor/chart.umd.js failed"
cmp -s "$T/chart.js" /usr/share/wasmcloud/ui/node_modules/chart.js/dist/chart.umd.js ||
  die "the served chart.js is not the installed one"
kill "$DASH_PID"
wait "$DASH_PID" || die "the dashboard did not exit 0 on SIGTERM"
pass "the installed dashboard serves /usr/share/wasmcloud/ui and its chart.js"

# ------------------------------------------------------------------------------- the unit
UNIT=/usr/lib/systemd/system/wasmcloud-host.service
unit_value() { sed -n "s/^$1=//p" "$UNIT"; }
EXEC=$(unit_value ExecStart)
USER_=$(unit_value User)
WORKDIR=$(unit_value WorkingDirectory)
STATE_DIR=/var/lib/$(unit_value StateDirectory)
CACHE_DIR=/var/cache/$(unit_value CacheDirectory)
ENV_FILE=$(unit_value EnvironmentFile)
ENV_FILE=${ENV_FILE#-}
[ "$(unit_value Type)" = notify ] || die "the unit is not Type=notify"
[ -n "$EXEC" ] && [ "$USER_" = wasmcloud ] && [ "$ENV_FILE" = /etc/wasmcloud/host.env ] ||
  die "unexpected unit: ExecStart='$EXEC' User='$USER_' EnvironmentFile='$ENV_FILE'"
say "ExecStart=$EXEC"
# systemd's own check of the installed unit (syntax, directives, the executable), offline.
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$UNIT" >"$T/verify.log" 2>&1 || die "systemd-analyze verify: $(cat "$T/verify.log")"
  pass "systemd-analyze verify accepts the installed unit"
fi

# Settings, as an operator edits them.
CLUSTER_SEED=$(/usr/bin/wasmcloud keys gen cluster -o json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["seed"])')
cat >>"$ENV_FILE" <<EOF
WASMCLOUD_CTL_PORT=$NATS_PORT
WASMCLOUD_RPC_PORT=$NATS_PORT
WASMCLOUD_PROV_RPC_PORT=$NATS_PORT
WASMCLOUD_LATTICE_PREFIX=$LATTICE
WASMCLOUD_CLUSTER_SEED=$CLUSTER_SEED
WASMCLOUD_ALLOW_FILE_LOAD=true
EOF

# What systemd does before ExecStart: StateDirectory=/CacheDirectory= owned by User= (their
# *DirectoryMode=), the environment: its own variables, then Environment=, then EnvironmentFile=.
install -d -o wasmcloud -g wasmcloud -m "$(unit_value StateDirectoryMode)" "$STATE_DIR"
install -d -o wasmcloud -g wasmcloud -m "$(unit_value CacheDirectoryMode)" "$CACHE_DIR"
ENVV=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin LANG=C.UTF-8 USER=wasmcloud
  LOGNAME=wasmcloud "HOME=$WC_HOME" "SHELL=$WC_SHELL" "STATE_DIRECTORY=$STATE_DIR"
  "CACHE_DIRECTORY=$CACHE_DIR" "NOTIFY_SOCKET=$T/notify.sock")
while IFS= read -r kv; do ENVV+=("$kv"); done < <(unit_value Environment)
while IFS= read -r line; do
  [[ "$line" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] && ENVV+=("$line")
done <"$ENV_FILE"
read -ra ARGV <<<"$EXEC"

python3 tests/packaging/notify_listen.py "$T/notify.sock" "$T/notify.out" &
PIDS+=($!)
for _ in $(seq 1 50); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done
cc -O1 -o "$T/evt_watch" tests/packaging/evt_watch.c $(pkg-config --cflags --libs libnats)
"$T/evt_watch" "$NATS_URL" "wasmbus.evt.$LATTICE" 600 >"$T/events.out" 2>"$T/evt_watch.log" &
PIDS+=($!)
for _ in $(seq 1 50); do grep -q subscribed "$T/evt_watch.log" && break; sleep 0.1; done

UMASK=$(unit_value UMask)
(umask "$UMASK" && exec setpriv --reuid="$USER_" --regid="$USER_" --init-groups env -i -C "$WORKDIR" "${ENVV[@]}" "${ARGV[@]}") \
  >"$T/host.log" 2>&1 &
HOST_PID=$!
PIDS+=("$HOST_PID")
for _ in $(seq 1 300); do
  grep -q '^READY=1$' "$T/notify.out" 2>/dev/null && break
  kill -0 "$HOST_PID" 2>/dev/null || die "the host exited before READY=1"
  sleep 0.1
done
grep -q '^READY=1$' "$T/notify.out" || die "no READY=1 within 30 s"
HOST_ID=$(sed -n 's/^STATUS=Host \(N[A-Z0-9]*\) .*/\1/p' "$T/notify.out" | head -1)
[ -n "$HOST_ID" ] || die "no host id in the STATUS= notification: $(cat "$T/notify.out")"
pass "READY=1 on NOTIFY_SOCKET ($((SECONDS - START)) s), STATUS names host $HOST_ID"

W=(/usr/bin/wasmcloud)
CTL=(--ctl-port "$NATS_PORT" -x "$LATTICE" --no-context)
"${W[@]}" ctl "${CTL[@]}" -o json get hosts >"$T/hosts.json" || die "ctl get hosts failed"
python3 - "$T/hosts.json" "$HOST_ID" <<'EOF' || die "ctl get hosts does not list the host"
import json, sys
doc = json.load(open(sys.argv[1]))
ids = [h.get("id") for h in doc.get("hosts", [])]
sys.exit(0 if sys.argv[2] in ids else 1)
EOF
pass "wasmcloud ctl get hosts over NATS lists $HOST_ID"

"${W[@]}" ctl "${CTL[@]}" start provider file:///usr/share/wasmcloud/providers/httpserver.par.gz \
  >"$T/provider.log" 2>&1 || die "the packaged httpserver provider did not start"
grep -q '"type":"com.wasmcloud.lattice.provider_started"\|provider_started' "$T/events.out" ||
  die "no provider_started event"
pass "the packaged httpserver.par.gz started as a provider process of the service user"

ECHO=$ROOT/../shared/fixtures/actors/echo.wasm
if [ -r "$ECHO" ]; then
  cp "$ECHO" "$T/echo.wasm" && chmod 644 "$T/echo.wasm"
  "${W[@]}" ctl "${CTL[@]}" start actor "file://$T/echo.wasm" >"$T/actor.log" 2>&1 ||
    die "the echo actor did not start"
  ECHO_KEY=$("${W[@]}" claims inspect "$T/echo.wasm" -o json |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("module") or d.get("subject") or "")')
  [ -n "$ECHO_KEY" ] || die "no module key from claims inspect"
  "${W[@]}" call --nats-port "$NATS_PORT" -x "$LATTICE" --cluster-seed "$CLUSTER_SEED" "$ECHO_KEY" \
    HttpServer.HandleRequest \
    '{"method":"GET","path":"/deb","queryString":"","header":{},"body":"from-the-package"}' \
    >"$T/call.out" 2>&1 || die "wasmcloud call failed: $(cat "$T/call.out")"
  grep -q "/deb" "$T/call.out" || die "echo did not answer with the path: $(cat "$T/call.out")"
  pass "echo started from a file answers a signed call"
  # The native tier compiles in the background into $XDG_CACHE_HOME (the unit's cache directory).
  for _ in $(seq 1 600); do
    [ -n "$(find "$CACHE_DIR" -name '*.so' -user wasmcloud 2>/dev/null | head -1)" ] && break
    sleep 0.1
  done
  [ -n "$(find "$CACHE_DIR" -name '*.so' -user wasmcloud | head -1)" ] ||
    die "no native code in $CACHE_DIR within 60 s"
  pass "native code compiled by the system C compiler into $CACHE_DIR"
else
  say "intentionally skipped: the actor steps ($ECHO is not readable)"
fi

kill -TERM "$HOST_PID"
rc=0
for _ in $(seq 1 300); do kill -0 "$HOST_PID" 2>/dev/null || break; sleep 0.1; done
wait "$HOST_PID" || rc=$?
[ "$rc" = 0 ] || die "the host exited with status $rc after SIGTERM"
for _ in $(seq 1 30); do grep -q host_stopped "$T/events.out" && break; sleep 0.1; done
grep -q host_stopped "$T/events.out" || die "no host_stopped event"
grep -q '^STOPPING=1$' "$T/notify.out" || die "no STOPPING=1 notification"
pass "SIGTERM: STOPPING=1, host_stopped published, exit status 0"

# ------------------------------------------------------------------------------- purge
find /tmp -xdev -mindepth 1 -maxdepth 1 -user wasmcloud -exec rm -rf {} + 2>/dev/null || true
INSTALLED=0
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q wasmcloud >"$T/purge.log" 2>&1 ||
  die "apt-get purge failed"
! dpkg-query -W -f='${Status}' wasmcloud 2>/dev/null | grep -q "installed\|config-files" ||
  die "the package is still known to dpkg after purge"
while IFS= read -r f; do
  case "$f" in
    /. | /etc | /usr | /usr/bin | /usr/lib | /usr/lib/systemd | /usr/lib/systemd/system | /usr/share) ;;
    *) [ ! -e "$f" ] || die "$f is left after purge" ;;
  esac
done <"$T/files"
for d in /etc/wasmcloud "$STATE_DIR" "$CACHE_DIR"; do [ ! -e "$d" ] || die "$d is left after purge"; done
! getent passwd wasmcloud >/dev/null || die "the user wasmcloud is left after purge"
! getent group wasmcloud >/dev/null || die "the group wasmcloud is left after purge"
dpkg-query -W -f='${Package}\n' | sort >"$T/packages.after"
cmp -s "$T/packages.before" "$T/packages.after" ||
  die "the installed packages changed: $(diff "$T/packages.before" "$T/packages.after" | tr '\n' ' ')"
build/src/cli/wasmcloud --version >/dev/null || die "the build tree's binary no longer runs"
pass "apt-get purge: no file, directory, user or group left; same package set; build tree intact"

echo "deb_test: $PASSED passed, 0 failed ($((SECONDS - START)) s)"
