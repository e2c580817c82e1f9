#!/usr/bin/env bash
# Installs every Debian package the project needs (skipping those present), then configures and
# builds into ./build. Idempotent: a second run installs nothing and rebuilds only what changed.
# Usage: scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

# Build tools, libraries (see docs/ARCHITECTURE.md "Dependencies" for why each), and the real
# servers the tests run (nats-server, docker-registry, redis-server).
PACKAGES=(
  build-essential cmake ninja-build pkg-config clang clang-14 lld libclang-rt-14-dev clang-format
  libgtest-dev libgmock-dev libbenchmark-dev
  libnats-dev nats-server wabt libsodium-dev libcurl4-openssl-dev nlohmann-json3-dev
  libmsgpack-cxx-dev libarchive-dev libcpp-httplib-dev libssl-dev libspdlog-dev libcli11-dev
  libexpected-dev libhiredis-dev wasi-libc libcrypt-dev openssl prometheus-cpp-dev
  docker-registry redis-server apache2-utils wrk curl chromium chromium-driver
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi
# Debian's redis-server package starts a system service on 6379; the project never uses it.

if ! command -v npm >/dev/null; then
  # The machine's Node.js normally brings npm; Debian's own nodejs + npm otherwise.
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q nodejs npm
fi

# Front-end packages (chart.js for the dashboard, playwright-core for browser tests) from the
# committed lockfiles; skipped when already installed.
if [ ! -f src/web/ui/node_modules/chart.js/dist/chart.umd.js ] ||
   [ ! -d tests/ui/node_modules/playwright-core ]; then
  bash tests/ui/setup.sh
fi

if [ "${1:-}" = "--no-build" ]; then exit 0; fi
JOBS="${WC_JOBS:-2}"
# WC_WERROR=ON (scripts/test.sh, i.e. CI) builds with -Werror; unset keeps the cached choice.
WERROR_FLAG=()
[ -z "${WC_WERROR:-}" ] || WERROR_FLAG=(-DWC_WERROR="$WC_WERROR")
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${WERROR_FLAG[@]}" >/dev/null
ninja -C build -j"$JOBS"
