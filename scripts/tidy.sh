#!/usr/bin/env bash
# clang-tidy over our C++ sources with the checks in .clang-tidy (#13.3). Needs Debian's
# clang-tidy-19 (`apt-get install clang-tidy-19`; clang-tidy-14, the default, rejects
# -std=c++23) and a configured build directory's compile_commands.json (scripts/setup.sh makes
# build/). Not part of CI (docs/CONVENTIONS.md "Checks"): about 6 s of CPU per file, some 7
# minutes for src/ and providers/ on 2 idle cores, and the tree is not clean yet.
#
# Usage: scripts/tidy.sh [--build-dir DIR] [PATH...]
#   PATH  files or folders to check (default: src providers); only files the build compiles
#         (listed in DIR/compile_commands.json) are checked.
# Environment: WC_JOBS (default 2) parallel clang-tidy processes; CLANG_TIDY (default
# clang-tidy-19). Exit status 1 when any check reports something.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=build
PATHS=()
while (($#)); do
  case "$1" in
    --build-dir)
      BUILD_DIR=${2:?--build-dir needs a directory}
      shift
      ;;
    -*)
      echo "tidy: unknown option '$1' (usage: scripts/tidy.sh [--build-dir DIR] [PATH...])" >&2
      exit 2
      ;;
    *) PATHS+=("$1") ;;
  esac
  shift
done
((${#PATHS[@]})) || PATHS=(src providers)
TIDY="${CLANG_TIDY:-clang-tidy-19}"
JOBS="${WC_JOBS:-2}"

if ! command -v "$TIDY" >/dev/null; then
  echo "tidy: $TIDY not found (apt-get install clang-tidy-19)" >&2
  exit 2
fi
DB="$BUILD_DIR/compile_commands.json"
if [ ! -f "$DB" ]; then
  echo "tidy: $DB not found (configure a build first, e.g. scripts/setup.sh)" >&2
  exit 2
fi

# Tracked .cpp files under PATHS that the build compiles.
mapfile -t FILES < <(git ls-files -- "${PATHS[@]}" | grep -E '\.cpp$' |
  while read -r f; do
    if grep -qF "\"$PWD/$f\"" "$DB"; then echo "$f"; fi
  done)
if ((${#FILES[@]} == 0)); then
  echo "tidy: no compiled .cpp files under ${PATHS[*]}" >&2
  exit 2
fi
echo "tidy: $TIDY on ${#FILES[@]} files ($JOBS jobs)"
# --warnings-as-errors: any finding makes clang-tidy exit non-zero, and so this script.
# clang-tidy prints "N warnings generated." for the headers it skips, even with --quiet.
failed=$(mktemp)
trap 'rm -f "$failed"' EXIT
{ printf '%s\0' "${FILES[@]}" |
  xargs -0 -n 1 -P "$JOBS" "$TIDY" -p "$BUILD_DIR" --quiet --warnings-as-errors='*' 2>&1 ||
  echo failed >"$failed"; } | { grep -v -E '^[0-9]+ warnings? generated\.$' || true; }
if [ -s "$failed" ]; then
  echo "tidy: findings above" >&2
  exit 1
fi
echo "tidy: no findings"
