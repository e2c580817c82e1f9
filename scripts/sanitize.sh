#!/usr/bin/env bash
# Sanitizer runs (#13.3): builds a chosen set of test programs with our own code instrumented
# (CMake option WC_SANITIZE; Debian's libraries stay uninstrumented) in a build directory of its
# own, runs each program once (one process for all its tests) and fails on the first finding.
#
# Usage: scripts/sanitize.sh [asan|tsan] [--integration] [--build-dir DIR]
#   asan (default)  ASan + UBSan (+ LeakSanitizer) over the unit tests of the parsers of untrusted
#                   input: common, wascap, rpc, oci, par, wasm (interpreter tier), lattice, host
#                   (control-interface parsing), web (forms), the provider SDK's decoders. This is
#                   what CI runs (scripts/test.sh). --integration adds the real-server host
#                   integration tests (longer; not in CI).
#   tsan            ThreadSanitizer over the host's threaded parts: the real-server host
#                   integration tests (executor, NATS callbacks, in-process hosts, the spawned
#                   `wasmcloud` host) and the unit tests that start threads. CI runs it
#                   too (docs/CONVENTIONS.md "Checks"; suppressions: scripts/sanitize/tsan.supp).
#   --build-dir DIR build directory (default build-asan / build-tsan beside build/).
# Environment: WC_JOBS (default 2) build jobs. ASAN_OPTIONS / UBSAN_OPTIONS / TSAN_OPTIONS set by
# the caller are appended to the defaults below, so they win (e.g. TSAN_OPTIONS=halt_on_error=0
# to collect every race of a run).
# Every report also goes to <build dir>/sanitizer-logs/ (log_path), so a finding in a child
# process whose stderr a test swallows (the spawned `wasmcloud`, providers) still fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

KIND=asan
INTEGRATION=0
BUILD_DIR=""
while (($#)); do
  case "$1" in
    asan | tsan) KIND=$1 ;;
    --integration) INTEGRATION=1 ;;
    --build-dir)
      BUILD_DIR=${2:?--build-dir needs a directory}
      shift
      ;;
    *)
      echo "sanitize: unknown argument '$1' (usage: scripts/sanitize.sh [asan|tsan] [--integration] [--build-dir DIR])" >&2
      exit 2
      ;;
  esac
  shift
done
[ -n "$BUILD_DIR" ] || BUILD_DIR="build-$KIND"
JOBS="${WC_JOBS:-2}"

# Unit tests: no `wasmcloud` process, seconds each.
UNIT_TESTS=(
  common_test wascap_test rpc_test oci_test par_test lattice_test host_test host_components_test
  web_test provider_sdk_test httpd_test wadm_test host_v1_state_test
  wasm_load_test wasm_engine_test wasm_abi_test wasm_traps_test wasm_wasi_test wasm_fixtures_test
)
# Real-server tests of the host (tests/integration): minutes each.
HOST_INTEGRATION_TESTS=(host_integration_test cluster_integration_test rpc_paths_integration_test
  builtin_http_integration_test)

case "$KIND" in
  asan)
    SANITIZE=address,undefined
    TESTS=("${UNIT_TESTS[@]}")
    ((INTEGRATION == 0)) || TESTS+=("${HOST_INTEGRATION_TESTS[@]}")
    ;;
  tsan)
    SANITIZE=thread
    # The unit tests that run threads of their own (NATS callbacks, servers, executors).
    TESTS=(lattice_test web_test provider_sdk_test host_components_test host_v1_state_test
      provider_supervisor_test httpd_test "${HOST_INTEGRATION_TESTS[@]}")
    ;;
esac

LOG_DIR="$BUILD_DIR/sanitizer-logs"
START=$SECONDS
say() { echo "sanitize ($KIND, $((SECONDS - START)) s): $*"; }

# -O1: the sanitizers' own docs' advice (usable stacks, less compile time than -O2); -g1: line
# tables, enough for file:line in every frame. -Wno-maybe-uninitialized: at -O1 gcc 12 warns
# inside libstdc++'s <regex> and <functional> (false positives; the -O2 -Werror build is the
# warnings gate).
say "configuring $BUILD_DIR (WC_SANITIZE=$SANITIZE)"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -Wno-maybe-uninitialized" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DWC_SANITIZE="$SANITIZE" -DWC_BUILD_TESTS=ON -DWC_BUILD_BENCH=OFF >/dev/null
say "building ${#TESTS[@]} test programs ($JOBS jobs)"
ninja -C "$BUILD_DIR" -j"$JOBS" "${TESTS[@]}"

rm -rf "$LOG_DIR"
mkdir -p "$LOG_DIR"
LOG_ABS="$(cd "$LOG_DIR" && pwd)"
SUPP="$PWD/scripts/sanitize"
# Findings stop the program (halt_on_error; UBSan is also built with -fno-sanitize-recover), with
# a stack. detect_leaks: LeakSanitizer runs at exit of every ASan program.
# strict_string_checks/check_initialization_order/detect_stack_use_after_return: the stricter
# ASan checks that cost little here.
ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=1:log_path=$LOG_ABS/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$LOG_ABS/ubsan${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
# second_deadlock_stack: both stacks of a lock-order inversion.
TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$LOG_ABS/tsan${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
LSAN_OPTIONS="${LSAN_OPTIONS:-}"
[ ! -f "$SUPP/lsan.supp" ] || LSAN_OPTIONS="suppressions=$SUPP/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
[ ! -f "$SUPP/tsan.supp" ] || TSAN_OPTIONS="suppressions=$SUPP/tsan.supp:$TSAN_OPTIONS"
export ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS LSAN_OPTIONS

failed=()
for t in "${TESTS[@]}"; do
  exe=$(find "$BUILD_DIR/tests" -type f -name "$t" -perm -u+x -print -quit)
  if [ -z "$exe" ]; then
    echo "sanitize: $t was not built" >&2
    failed+=("$t")
    continue
  fi
  say "running $t"
  rc=0
  timeout 1800 "$exe" --gtest_brief=1 || rc=$?
  if ((rc != 0)); then
    echo "sanitize: $t exited with $rc" >&2
    failed+=("$t")
  fi
done

# Reports, including those of child processes (log_path writes <kind>.<pid>).
if compgen -G "$LOG_ABS/*" >/dev/null; then
  for f in "$LOG_ABS"/*; do
    echo "==== sanitizer report $f"
    cat "$f"
  done
  echo "sanitize: the reports above are findings" >&2
  failed+=("(sanitizer reports)")
fi

if ((${#failed[@]})); then
  say "FAILED: ${failed[*]}"
  exit 1
fi
say "${#TESTS[@]} test programs passed with no finding"
