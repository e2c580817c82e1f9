#!/usr/bin/env bash
# Offline check of the Kubernetes manifests in deploy/kubernetes (issue #18.3), no cluster:
# renders the kustomization (tests/packaging/k8s/validate.mjs; and `kubectl kustomize` when
# kubectl is installed, which must give the same objects), validates every object against the
# Kubernetes schemas (npm kubernetes-models, pinned in tests/packaging/k8s/package-lock.json,
# installed by `npm ci` when missing), checks references and the pieces the manifests must have,
# and tests the NATS configuration files of the ConfigMaps with `nats-server -t`.
# Prints "k8s_test: N passed, 0 failed" at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
START=$SECONDS
K=tests/packaging/k8s
if [ ! -d "$K/node_modules/kubernetes-models" ]; then
  (cd "$K" && npm ci --no-audit --no-fund >/dev/null)
fi
T=$(mktemp -d /tmp/wc-k8s-test.XXXXXX)
trap 'rm -rf "$T"' EXIT

RENDERED=-
if command -v kubectl >/dev/null; then
  kubectl kustomize deploy/kubernetes >"$T/rendered.yaml"
  RENDERED=$T/rendered.yaml
else
  echo "k8s_test: kubectl is not installed; rendering with validate.mjs only"
fi
node "$K/validate.mjs" deploy/kubernetes "$RENDERED" "$T/nats" | tee "$T/validate.out"
N=$(sed -n 's/^validate: \([0-9]*\) passed.*/\1/p' "$T/validate.out")
[ -n "$N" ] || { echo "k8s_test: FAILED: validate.mjs did not finish" >&2; exit 1; }

for conf in "$T"/nats/*.conf; do
  POD_NAME=wasmcloud-host-test nats-server -t -c "$conf" >"$T/natst.log" 2>&1 ||
    { cat "$T/natst.log" >&2; echo "k8s_test: FAILED: nats-server -t $(basename "$conf")" >&2; exit 1; }
  echo "ok: nats-server -t accepts $(basename "$conf")"
  N=$((N + 1))
done
echo "k8s_test: $N passed, 0 failed ($((SECONDS - START)) s)"
