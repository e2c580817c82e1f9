#!/usr/bin/env bash
# Installs the Debian packages the project needs (skipping those present), then configures and
# builds into ./build. Idempotent: a second run installs nothing and rebuilds only what changed.
# Usage: scripts/setup.sh [run|test] [--no-build]
#   run  (scripts/up.sh): what running `wasmcloud up` needs -- the build toolchain, the libraries,
#        nats-server, docker-registry, the native tier's wasm2c + C compiler and the dashboard's
#        chart.js; builds only the `wasmcloud` program and the provider archives.
#   test (scripts/test.sh, CI; the default): adds what the tests need -- GoogleTest, Google
#        Benchmark, redis-server, wrk/ab, Chromium and playwright-core, wasmCloud's npm lattice
#        client (tests/v1client), clang (fuzzing, the wasm
#        example actors) and clang-format -- and builds every target.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=test
BUILD=1
for arg in "$@"; do
  case "$arg" in
    run | test) MODE=$arg ;;
    --no-build) BUILD=0 ;;
    *) echo "setup: unknown argument '$arg' (usage: scripts/setup.sh [run|test] [--no-build])" >&2; exit 1 ;;
  esac
done
START=$SECONDS
say() { echo "setup ($MODE, $((SECONDS - START)) s): $*"; }

# Build tools, libraries (see docs/ARCHITECTURE.md "Dependencies" for why each) and the servers
# `wasmcloud up` starts (nats-server, docker-registry).
PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libnats-dev nats-server wabt libsodium-dev libcurl4-openssl-dev nlohmann-json3-dev
  libmsgpack-cxx-dev libarchive-dev libcpp-httplib-dev libssl-dev libspdlog-dev libcli11-dev
  libexpected-dev libhiredis-dev libcrypt-dev openssl prometheus-cpp-dev libmicrohttpd-dev
  libyaml-cpp-dev
  docker-registry curl libsystemd-dev
)
# What only the tests, fuzzers, benchmarks and example actors need.
if [ "$MODE" = test ]; then
  PACKAGES+=(
    clang clang-14 lld libclang-rt-14-dev clang-format wasi-libc
    libgtest-dev libgmock-dev libbenchmark-dev
    redis-server apache2-utils wrk chromium chromium-driver python3
  )
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  say "installing ${#missing[@]} Debian package(s) (a few minutes on a fresh machine): ${missing[*]}"
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

# Front-end packages from the committed lockfiles, skipped when already installed: chart.js for
# the dashboard (both modes), playwright-core for the browser tests (test mode).
if [ ! -f src/web/ui/node_modules/chart.js/dist/chart.umd.js ]; then
  say "installing the dashboard's chart.js (npm ci)"
  (cd src/web/ui && npm ci --no-audit --no-fund)
fi
if [ "$MODE" = test ] && [ ! -d tests/ui/node_modules/playwright-core ]; then
  say "installing the browser tests' packages"
  bash tests/ui/setup.sh
fi
# The v1 client tests' packages (@wasmcloud/lattice-client-core 0.2.3, ws, nats.ws), test mode.
if [ "$MODE" = test ] && [ ! -f tests/v1client/node_modules/@wasmcloud/lattice-client-core/package.json ]; then
  say "installing the v1 client tests' packages (npm ci)"
  (cd tests/v1client && npm ci --no-audit --no-fund)
fi

if [ "$BUILD" = 0 ]; then exit 0; fi
JOBS="${WC_JOBS:-2}"
# WC_WERROR=ON (scripts/test.sh, i.e. CI) builds with -Werror; unset keeps the cached choice.
WERROR_FLAG=()
[ -z "${WC_WERROR:-}" ] || WERROR_FLAG=(-DWC_WERROR="$WC_WERROR")
if [ "$MODE" = run ]; then
  # A first configure leaves tests and benchmarks out; a build dir that has them keeps them.
  TESTS_FLAG=()
  [ -f build/CMakeCache.txt ] || TESTS_FLAG=(-DWC_BUILD_TESTS=OFF -DWC_BUILD_BENCH=OFF)
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${WERROR_FLAG[@]}" \
    "${TESTS_FLAG[@]}" >/dev/null
  say "building wasmcloud and the provider archives ($JOBS jobs; about 10 minutes on 2 cores the first time)"
  ninja -C build -j"$JOBS" wasmcloud provider_archives
else
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWC_BUILD_TESTS=ON \
    -DWC_BUILD_BENCH=ON "${WERROR_FLAG[@]}" >/dev/null
  say "building every target, tests included ($JOBS jobs; about 15 minutes on 2 cores the first time)"
  ninja -C build -j"$JOBS"
fi
say "done"
