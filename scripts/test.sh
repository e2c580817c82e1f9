#!/usr/bin/env bash
# Sets up, builds, and runs every test: unit and integration tests (ctest; they start their own
# nats-server, docker-registry and redis on free 127.0.0.1 ports), browser tests (when present),
# the v1 control interface driven by wasmCloud's own npm client over WebSocket (tests/v1client),
# the parsers' unit tests again under ASan+UBSan and the host's threaded tests under TSan (builds
# of their own, build-asan/ and build-tsan/), clang's
# thread-safety analysis of the host and the provider SDK (scripts/thread_safety.sh), a short fuzz
# run and a smoke run of the benchmarks (not timed), the Debian package installed, run and purged
# (tests/packaging/deb_test.sh, about a minute once the build is done), the Kubernetes manifests
# checked offline (tests/packaging/k8s_test.sh, seconds), after checking that every C++ file is
# clang-format clean (#13.3). Exit code non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
# CI builds treat warnings as errors (CMake option WC_WERROR, default OFF).
WC_WERROR=ON scripts/setup.sh test

echo "== formatting (clang-format, .clang-format)"
git ls-files -z '*.cpp' '*.h' | xargs -0 clang-format --dry-run -Werror

echo "== clang thread-safety analysis (src/host, providers/sdk)"
scripts/thread_safety.sh build

echo "== unit and integration tests (ctest)"
ctest --test-dir build --output-on-failure -j2 --timeout 600

echo "== Debian package: build, apt-get install, run the unit's ExecStart, purge (tests/packaging/deb_test.sh)"
tests/packaging/deb_test.sh

echo "== Kubernetes manifests: render, schemas, references, nats-server -t (tests/packaging/k8s_test.sh)"
tests/packaging/k8s_test.sh

echo "== ASan+UBSan: the parsers' unit tests (scripts/sanitize.sh asan, build-asan/)"
scripts/sanitize.sh asan

echo "== TSan: the host's threaded parts (scripts/sanitize.sh tsan, build-tsan/)"
scripts/sanitize.sh tsan

if [ -x tests/ui/run.sh ]; then
  echo "== browser tests"
  tests/ui/run.sh
fi

if [ -x tests/v1client/run.sh ]; then
  echo "== v1 client tests (real @wasmcloud/lattice-client-core)"
  tests/v1client/run.sh
fi

if [ -x fuzz/run.sh ]; then
  echo "== fuzz (short run)"
  fuzz/run.sh "${WC_FUZZ_SECONDS:-60}"
fi

if [ -x bench/run_smoke.sh ]; then
  echo "== benchmarks (smoke run, not timed)"
  bench/run_smoke.sh
fi
echo "== all tests passed"
