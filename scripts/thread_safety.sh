#!/usr/bin/env bash
# Clang's thread-safety analysis over src/host and providers/sdk (issue 13.3).
#
# Usage: scripts/thread_safety.sh [BUILD_DIR]   (default: build)
# Runs `clang++-14 -std=c++2b -fsyntax-only -Wthread-safety -Werror=thread-safety` over every
# translation unit of src/host and providers/sdk listed in BUILD_DIR/compile_commands.json, with
# that entry's defines and include directories (the g++ flags themselves are not passed). Prints
# each file; fails if any file has a diagnostic (a thread-safety error or any other warning).
# The annotations are in src/common/thread_annotations.h; see docs/CONVENTIONS.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-build}"
[[ "$build" = /* ]] || build="$root/$build"
db="$build/compile_commands.json"
clang="${CLANGXX:-clang++-14}"

if [[ ! -f "$db" ]]; then
  echo "thread_safety.sh: $db not found (configure the build first)" >&2
  exit 2
fi
command -v "$clang" >/dev/null || { echo "thread_safety.sh: $clang not found" >&2; exit 2; }

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# One line per translation unit: the file, then its -D/-I/-isystem flags, shell-quoted.
python3 - "$db" "$root" "$out/units" <<'PY'
import json, shlex, sys
db, root, dest = sys.argv[1], sys.argv[2], sys.argv[3]
wanted = (root + "/src/host/", root + "/providers/sdk/")
units = {}
for entry in json.load(open(db)):
    f = entry["file"]
    if not f.startswith(wanted) or not f.endswith(".cpp"):
        continue
    args = entry.get("arguments") or shlex.split(entry["command"])
    keep, i = [], 1
    while i < len(args):
        a = args[i]
        if a in ("-D", "-I", "-isystem", "-iquote") and i + 1 < len(args):
            keep += [a, args[i + 1]]
            i += 2
            continue
        if a.startswith(("-D", "-I", "-isystem", "-iquote")):
            keep.append(a)
        i += 1
    units[f] = keep
with open(dest, "w") as out:
    for f in sorted(units):
        out.write(shlex.join([f] + units[f]) + "\n")
PY

count=$(wc -l <"$out/units")
if [[ "$count" -eq 0 ]]; then
  echo "thread_safety.sh: no src/host or providers/sdk units in $db" >&2
  exit 2
fi

check_one() {
  local clang="$1" out="$2" line="$3"
  local -a parts
  eval "parts=($line)"  # written by shlex.join above
  local file="${parts[0]}" log
  log="$out/${file//\//_}.log"
  if "$clang" -std=c++2b -fsyntax-only -Wthread-safety -Werror=thread-safety \
      "${parts[@]:1}" "$file" >"$log" 2>&1 && [[ ! -s "$log" ]]; then
    echo "ok    ${file#"$ROOT"/}"
  else
    # One write, so parallel jobs do not interleave a report.
    printf 'FAIL  %s\n%s\n' "${file#"$ROOT"/}" "$(cat "$log")"
    return 1
  fi
}
export -f check_one
export ROOT="$root"

jobs="$(nproc 2>/dev/null || echo 2)"
status=0
xargs -d '\n' -P "$jobs" -I{} bash -c 'check_one "$@"' _ "$clang" "$out" {} <"$out/units" || status=$?

if [[ $status -ne 0 ]]; then
  echo "thread_safety.sh: findings above ($count units checked)" >&2
  exit 1
fi
echo "thread_safety.sh: $count units clean"
