#!/usr/bin/env bash
# Builds the Debian package of wasmcloud-cpp: build/package/wasmcloud_<version>_<arch>.deb
# (CPack's DEB generator; what it holds: packaging/package.cmake). Builds only the two targets
# the package holds (`wasmcloud`, `provider_archives`) in ./build, configuring it first with
# scripts/setup.sh run when it is not configured yet. Prints the package's path on its last line.
# Environment: WC_JOBS (build jobs, default 2), WC_BUILD_LOCK (a lock file: cmake and ninja run
# under `flock` on it, for a build directory shared with others).
set -euo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS
LOCK=()
[ -z "${WC_BUILD_LOCK:-}" ] || LOCK=(flock "$WC_BUILD_LOCK")

if [ ! -f build/CMakeCache.txt ] || [ ! -f src/web/ui/node_modules/chart.js/dist/chart.umd.js ]; then
  scripts/setup.sh run --no-build
fi
if [ ! -f build/CMakeCache.txt ]; then
  "${LOCK[@]}" cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DWC_BUILD_TESTS=OFF -DWC_BUILD_BENCH=OFF >/dev/null
else
  "${LOCK[@]}" cmake -S . -B build >/dev/null
fi
mkdir -p build/package
LOG=build/package/package.log
"${LOCK[@]}" ninja -C build -j"${WC_JOBS:-2}" wasmcloud provider_archives >"$LOG" 2>&1 ||
  { tail -30 "$LOG" >&2; echo "package: the build failed (log: $LOG)" >&2; exit 1; }
rm -f build/package/wasmcloud_*.deb
(cd build && cpack -G DEB >>"package/package.log" 2>&1) ||
  { tail -30 "$LOG" >&2; echo "package: cpack failed (log: $LOG)" >&2; exit 1; }
deb=$(ls build/package/wasmcloud_*.deb)
echo "package: $(du -h "$deb" | cut -f1) in $((SECONDS - START)) s" >&2
echo "$PWD/$deb"
