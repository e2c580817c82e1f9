#!/usr/bin/env bash
# Sets up (Debian packages, build) and runs `wasmcloud up`: an embedded nats-server and local OCI
# registry when none answers, a host, and the dashboard on http://127.0.0.1:4000. Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
exec build/src/cli/wasmcloud up "$@"
