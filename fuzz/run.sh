#!/usr/bin/env bash
# Builds the libFuzzer target (clang-14, -DWC_FUZZ=ON) in build-fuzz/ and fuzzes the wascap
# parsers for N seconds (first argument, default 60) starting from the checked-in corpus.
# New interesting inputs go to build-fuzz/corpus (the checked-in corpus is never modified);
# crash reproducers go to build-fuzz/artifacts/. Exit code: non-zero on a crash or build failure.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN="${1:-60}"
BUILD=build-fuzz
CC=clang-14 CXX=clang++-14 cmake -S . -B "$BUILD" -G Ninja -DWC_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$BUILD" -j"${WC_JOBS:-2}" claims_fuzzer
mkdir -p "$BUILD/corpus" "$BUILD/artifacts"
"$BUILD/fuzz/claims_fuzzer" -max_total_time="$SECONDS_TO_RUN" -max_len=16384 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/" \
  "$BUILD/corpus" fuzz/corpus
