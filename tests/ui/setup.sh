#!/usr/bin/env bash
# Installs what the dashboard's front end and its browser tests need: the Debian packages
# chromium and chromium-driver (system browser driven by playwright-core; no browser download)
# and the npm packages from the committed lockfiles (chart.js served by the dashboard from
# src/web/ui/node_modules; playwright-core for tests/ui). Safe to run again.
# scripts/setup.sh runs it as: bash tests/ui/setup.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
  else
    echo "tests/ui/setup.sh: install the Debian packages chromium and chromium-driver" >&2
  fi
fi
command -v npm >/dev/null || { echo "tests/ui/setup.sh: npm is required" >&2; exit 1; }
(cd "$ROOT/src/web/ui" && npm ci --no-audit --no-fund)
(cd "$HERE" && npm ci --no-audit --no-fund)
