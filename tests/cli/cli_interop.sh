#!/bin/sh
# Interop: an RCAR guest written independently of veritee (tests/fixtures/interop/rcar_client.mjs: node,
# the `jose` npm package, its own JCS + SHA-384 binding and evidence shapes) against a real
# `veritee serve` on loopback: emulated TDX, SNP and CCA; EC P-256 (ECDH-ES+A256KW) and RSA
# (RSA-OAEP-256) TEE keys; cookie and bearer; a wrong binding refused. Then `veritee attest`
# against the same server. jose comes from $VERITEE_PEERS or /tmp/peers (a copy of
# ../shared/bench/peers after npm ci) when there, else npm installs it (the version the peers pin)
# into the build tree, as cli_ui does its packages. Exits 77 (skip) only when npm cannot.
set -u
VT=${VERITEE_BIN:?VERITEE_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/kbs-env.sh"

if ! command -v node >/dev/null 2>&1; then
  echo "SKIP: node not installed (apt-get install nodejs)"; exit 77
fi
PEERS=""
for d in "${VERITEE_PEERS:-}" /tmp/peers; do
  if [ -n "$d" ] && [ -d "$d/node_modules/jose" ]; then PEERS=$d; break; fi
done
if [ -z "$PEERS" ]; then
  PEERS=${VERITEE_INTEROP_NODE_DIR:-$(cd "$(dirname "$VT")" && pwd)/interop-node}
  pin=$(sed -n 's/^ *"jose": *"\([0-9][0-9.]*\)".*/\1/p' "$HERE/../../../shared/bench/peers/package.json" 2>/dev/null | head -1)
  if [ ! -d "$PEERS/node_modules/jose" ]; then
    mkdir -p "$PEERS"
    npm install --silent --no-audit --no-fund --prefix "$PEERS" "jose${pin:+@$pin}" >/dev/null 2>&1 || {
      echo "SKIP: the jose npm package is not available and 'npm install jose' failed (no registry access?);"
      echo "      or copy ../shared/bench/peers to /tmp/peers and run 'npm ci' there (or set VERITEE_PEERS)"
      exit 77
    }
  fi
fi
echo "jose from $PEERS ($(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$PEERS/node_modules/jose/package.json" | head -1))"
if ! "$VT" serve --help >/dev/null 2>&1 && ! "$VT" serve --help 2>&1 | grep -q -- --listen; then
  echo "SKIP: '$VT serve' is not available"; exit 77
fi

tmp=$(mktemp -d /tmp/vt-interop.XXXXXX)
KBS_PID=""
trap 'kbs_stop "$KBS_PID"; rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

kbs_emulate "$tmp/emu" || { echo "FAIL: emulate init"; exit 1; }
kbs_keys "$tmp" || { echo "FAIL: keys"; exit 1; }
cat >"$tmp/policy.json" <<'EOF'
{"id": "interop-emulated-test-only", "version": 1, "emulated": "accept"}
EOF
kbs_start "$tmp/serve.log" --db "sqlite:$tmp/kbs.db" --trust "$tmp/emu/trust" --collateral "$tmp/emu/collateral" \
  --admin-key "$tmp/admin.pub.pem" --kek-file "$tmp/kek.hex" --policy "$tmp/policy.json" || exit 1
printf 'interop-secret-%s' "$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')" >"$tmp/secret.bin"
kbs_admin "$tmp" resource put interop/key/one "$tmp/secret.bin" >/dev/null || { echo "FAIL: admin resource put"; exit 1; }

run() { # TEE KEY AUTH [--negative]
  timeout 60 node "$HERE/../fixtures/interop/rcar_client.mjs" --jose "$PEERS" --kbs "$KBS_URL" --veritee "$VT" \
    --emulator "$tmp/emu" --tee "$1" --key "$2" --auth "$3" --resource interop/key/one --expect "$tmp/secret.bin" ${4:-} \
    >"$tmp/out" 2>&1
  rc=$?
  cat "$tmp/out"
  [ "$rc" -eq 0 ] || fail "independent client $1 $2 $3 ${4:-} (exit $rc)"
}
for tee in tdx snp cca; do
  run "$tee" ec cookie
  run "$tee" rsa bearer
done
run tdx ec bearer
run snp rsa cookie
run tdx ec cookie --negative
run snp ec cookie --negative

# veritee's own client against the same server, both key types and both access modes
for c in "tdx ec" "snp rsa --bearer" "cca rsa" "cca ec --bearer"; do
  set -- $c
  if timeout 60 "$VT" attest --kbs "$KBS_URL" --tee "$1" --emulator "$tmp/emu" --key-type "$2" ${3:-} \
       --resource interop/key/one --timeout 15 -o "$tmp/got" 2>"$tmp/err" && cmp -s "$tmp/got" "$tmp/secret.bin"; then
    echo "ok   veritee attest $c"
  else
    fail "veritee attest $c: $(cat "$tmp/err")"
  fi
  rm -f "$tmp/got"
done

if [ "$fails" -ne 0 ]; then
  echo "--- serve log"; tail -n 30 "$tmp/serve.log"
  echo "$fails failure(s)"; exit 1
fi
echo "interop: all passed"
