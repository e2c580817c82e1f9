#!/usr/bin/env bash
# Builds the container image localhost/wasmcloud:<version> from Debian packages only: the base
# file system from debootstrap (Debian bookworm, minbase, from the machine's Debian mirror), the
# project's own package (scripts/package.sh) and nats-server installed into it with apt, then
# imported with `podman import`. The image runs `wasmcloud host --no-context` as the non-root
# user wasmcloud (uid/gid 10001, as deploy/kubernetes expects), configured by WASMCLOUD_*
# variables; `wasmcloud-healthcheck` is its health command (the host's metrics endpoint, port
# 9090). It also holds nats-server (the Kubernetes manifests run the hub and leaf nodes from it).
# Needs root, debootstrap and podman (scripts/setup.sh does not install them). Prints the image
# name on its last line. Environment: WC_DEBIAN_MIRROR (default: the first URI of
# /etc/apt/sources.list.d/debian.sources, else http://deb.debian.org/debian), CONTAINERS_CONF.
set -euo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS
say() { echo "image ($((SECONDS - START)) s): $*" >&2; }
[ "$(id -u)" -eq 0 ] || { echo "image: needs root (debootstrap, chroot)" >&2; exit 1; }
for t in debootstrap podman; do
  command -v "$t" >/dev/null || { echo "image: $t is missing (apt-get install $t)" >&2; exit 1; }
done

MIRROR=${WC_DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
VERSION=$(sed -n 's/^project(wasmcloud_cpp VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
IMAGE=localhost/wasmcloud:$VERSION
DEB=$(scripts/package.sh | tail -1)
W=build/image
ROOT=$W/rootfs
mkdir -p "$W"
cleanup() {
  mountpoint -q "$ROOT/proc" && umount "$ROOT/proc" || true
}
trap cleanup EXIT

if [ ! -f "$W/base.tar" ]; then
  say "debootstrap bookworm (minbase) from $MIRROR"
  rm -rf "$ROOT"
  debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >"$W/debootstrap.log" 2>&1 ||
    { tail -20 "$W/debootstrap.log" >&2; exit 1; }
  tar -C "$ROOT" -cf "$W/base.tar" .
else
  say "base file system from $W/base.tar (delete it to bootstrap anew)"
  rm -rf "$ROOT" && mkdir -p "$ROOT" && tar -C "$ROOT" -xf "$W/base.tar"
fi

say "installing $(basename "$DEB") and nats-server into it (apt)"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
mount -t proc proc "$ROOT/proc"
echo "deb $MIRROR bookworm main" >"$ROOT/etc/apt/sources.list"
# The user first, with the uid the Kubernetes manifests run as; the package's postinst keeps it.
chroot "$ROOT" groupadd --system --gid 10001 wasmcloud
chroot "$ROOT" useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/wasmcloud \
  --no-create-home --shell /usr/sbin/nologin wasmcloud
cp "$DEB" "$ROOT/tmp/wasmcloud.deb"
chroot "$ROOT" apt-get update -q >"$W/apt.log" 2>&1
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  /tmp/wasmcloud.deb nats-server curl ca-certificates >>"$W/apt.log" 2>&1 ||
  { tail -20 "$W/apt.log" >&2; exit 1; }
chroot "$ROOT" apt-get clean
install -m 755 packaging/image/healthcheck "$ROOT/usr/local/bin/wasmcloud-healthcheck"
install -d -o 10001 -g 10001 -m 750 "$ROOT/var/lib/wasmcloud" "$ROOT/var/cache/wasmcloud"
rm -rf "$ROOT/tmp/wasmcloud.deb" "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin
: >"$ROOT/etc/resolv.conf"
umount "$ROOT/proc"

say "podman import $IMAGE"
podman rmi -f "$IMAGE" >/dev/null 2>&1 || true
tar -C "$ROOT" -c . | podman import \
  --change 'USER 10001:10001' \
  --change 'WORKDIR /var/lib/wasmcloud' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV HOME=/var/lib/wasmcloud' \
  --change 'ENV XDG_CACHE_HOME=/var/cache/wasmcloud' \
  --change 'ENV TMPDIR=/var/cache/wasmcloud' \
  --change 'ENV WASMCLOUD_METRICS_PORT=9090' \
  --change 'STOPSIGNAL SIGTERM' \
  --change 'EXPOSE 9090' \
  --change 'CMD ["wasmcloud", "host", "--no-context"]' \
  - "$IMAGE" >/dev/null
rm -rf "$ROOT"
say "$IMAGE: $(podman image inspect "$IMAGE" --format '{{.Size}}') bytes"
echo "$IMAGE"
