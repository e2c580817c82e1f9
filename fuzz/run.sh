#!/usr/bin/env bash
# Builds every libFuzzer target (clang-14, -DWC_FUZZ=ON) and fuzzes each in turn, splitting N
# seconds (first argument, default 60; CI passes 60, about 5 s per target) evenly between them,
# at least 1 s each, each starting from its checked-in corpus fuzz/corpus/<target without
# _fuzzer>/ (fuzz/corpus/README.md says where the seeds come from). New interesting inputs go to
# $BUILD/corpus/<target> (the checked-in corpus is never modified); crash reproducers go to
# $BUILD/artifacts/<target>/. Every target runs even after one crashes; the exit code is
# non-zero if any target crashed or the build failed.
# Environment: WC_FUZZ_BUILD (build directory, default build-fuzz), WC_JOBS (ninja -j, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN="${1:-60}"
BUILD="${WC_FUZZ_BUILD:-build-fuzz}"
TARGETS=(claims_fuzzer invocation_fuzzer response_fuzzer linkdef_fuzzer host_data_fuzzer
  reference_fuzzer manifest_fuzzer control_fuzzer forms_fuzzer par_fuzzer wasm_fuzzer)

CC=clang-14 CXX=clang++-14 cmake -S . -B "$BUILD" -G Ninja -DWC_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$BUILD" -j"${WC_JOBS:-2}" "${TARGETS[@]}"

PER_TARGET=$((SECONDS_TO_RUN / ${#TARGETS[@]}))
((PER_TARGET >= 1)) || PER_TARGET=1
failed=()
for target in "${TARGETS[@]}"; do
  name="${target%_fuzzer}"
  mkdir -p "$BUILD/corpus/$name" "$BUILD/artifacts/$name"
  echo "== $target: ${PER_TARGET}s"
  if ! "$BUILD/fuzz/$target" -max_total_time="$PER_TARGET" -max_len=16384 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$name/" \
    "$BUILD/corpus/$name" "fuzz/corpus/$name"; then
    failed+=("$target")
  fi
done
if ((${#failed[@]} > 0)); then
  echo "fuzz/run.sh: crash or failure in: ${failed[*]} (reproducers in $BUILD/artifacts/)" >&2
  exit 1
fi
echo "fuzz/run.sh: no crash in ${#TARGETS[@]} targets"
