#!/bin/sh
# deploy/kubernetes renders (kubectl kustomize) and every object is valid against the Kubernetes
# API schemas, offline (npm kubernetes-models, installed once into a cache under the build dir);
# the manifests keep what docs/packaging.md promises (tests/fixtures/k8s_validate.mjs).
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=$(cd "$(dirname "$B")" && pwd)/k8s-validate
command -v kubectl >/dev/null || { echo "SKIP: kubectl not installed (apt-get install kubernetes-client)"; exit 77; }
command -v node >/dev/null && command -v npm >/dev/null || { echo "SKIP: node/npm not installed"; exit 77; }
. "$(dirname "$0")/../fixtures/cli.sh"
for o in base overlays/sqlite overlays/postgres-ha; do
  kubectl kustomize "$SRC/deploy/kubernetes/$o" >"$tmp/$(basename $o).yaml" 2>"$tmp/err" || { cat "$tmp/err"; echo "FAIL: kubectl kustomize $o"; exit 1; }
  echo "ok: kubectl kustomize $o ($(grep -c '^kind:' "$tmp/$(basename $o).yaml") objects)"
done
if [ ! -f "$CACHE/node_modules/kubernetes-models/package.json" ] || [ ! -f "$CACHE/node_modules/js-yaml/package.json" ] \
   || [ ! -f "$CACHE/node_modules/@kubernetes-models/prometheus-operator/package.json" ]; then
  mkdir -p "$CACHE"
  (cd "$CACHE" && npm install --no-audit --no-fund --silent --no-save kubernetes-models@5.1.0 \
     @kubernetes-models/prometheus-operator@6.0.0 js-yaml@4.1.0) >"$tmp/npm.log" 2>&1 \
    || { cat "$tmp/npm.log"; echo "SKIP: npm install of the schema models failed (registry unreachable?)"; exit 77; }
fi
cp "$SRC/tests/fixtures/k8s_validate.mjs" "$CACHE/"
node "$CACHE/k8s_validate.mjs" "$tmp/base.yaml" "$tmp/sqlite.yaml" "$tmp/postgres-ha.yaml" "$SRC/packaging/prometheus/veritee-alerts.yml"
