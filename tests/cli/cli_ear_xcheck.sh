#!/bin/sh
# Independent check of veritee's EAR JWTs (ES256 and ES384): the `jose` npm package through
# bench/peers/xcheck.mjs (node_modules installed with `npm ci` in a copy of that folder; set
# VERITEE_PEERS to it), else python3 with the `cryptography` package. Skips (77) when neither
# is available. A tampered token must be rejected by the same implementation.
set -u
B=${VERITEE_APPRAISE_BIN:-${VERITEE_BIN:?VERITEE_BIN not set}}
V=${VERITEE_VECTORS:-../shared/vectors}
HERE=$(cd "$(dirname "$0")" && pwd)
if ! "$B" appraise --help >/dev/null 2>&1; then
  echo "SKIP: '$B appraise' is not available (not yet wired into src/cli/main.c)"; exit 77
fi
TDX=$V/tdx/dcapqvl_tdx_v4_b0c06f
if [ ! -f "$TDX/quote.bin" ]; then echo "SKIP: $TDX not found (set VERITEE_VECTORS)"; exit 77; fi

# VERITEE_XCHECK=node|python|none forces one path (to test each of them).
X=${VERITEE_XCHECK:-any}
PEERS=""
if [ "$X" != python ] && [ "$X" != none ] && command -v node >/dev/null 2>&1; then
  for d in "${VERITEE_PEERS:-}" /tmp/peers "$V/../bench/peers"; do
    if [ -n "$d" ] && [ -f "$d/xcheck.mjs" ] && [ -d "$d/node_modules/jose" ]; then PEERS=$d; break; fi
  done
fi
PY=""
if [ -z "$PEERS" ] && [ "$X" != node ] && [ "$X" != none ] && command -v python3 >/dev/null 2>&1 && python3 -c 'import cryptography' 2>/dev/null; then
  PY=python3
fi
if [ -z "$PEERS" ] && [ -z "$PY" ]; then
  echo "SKIP: no independent JOSE implementation: node with bench/peers node_modules (npm ci in a copy;"
  echo "      set VERITEE_PEERS) or python3 with the cryptography package"
  exit 77
fi

. "$(dirname "$0")/../fixtures/cli.sh"

pyverify() { # TOKEN PUBPEM: ES256/ES384 compact JWS check with python3-cryptography
  python3 - "$1" "$2" <<'PY'
import base64, json, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
tok = open(sys.argv[1]).read().strip()
key = serialization.load_pem_public_key(open(sys.argv[2], "rb").read())
h64, p64, s64 = tok.split(".")
d = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
hdr = json.loads(d(h64))
alg = {"ES256": (hashes.SHA256(), 32), "ES384": (hashes.SHA384(), 48)}[hdr["alg"]]
sig = d(s64)
assert len(sig) == 2 * alg[1]
der = utils.encode_dss_signature(int.from_bytes(sig[:alg[1]], "big"), int.from_bytes(sig[alg[1]:], "big"))
key.verify(der, (h64 + "." + p64).encode(), ec.ECDSA(alg[0]))
c = json.loads(d(p64))
assert c["eat_profile"] and isinstance(c["iat"], int) and c["submods"]
print("verified", hdr["alg"])
PY
}

xverify() { # TOKEN PUBPEM -> exit status of the independent verifier
  if [ -n "$PEERS" ]; then node "$PEERS/xcheck.mjs" jws-verify "$1" "$2"; else pyverify "$1" "$2"; fi
}

for alg in ES256 ES384; do
  "$B" appraise --policy "$HERE/../../examples/policies/default.json" --trust "$V/tdx/common" --collateral "$TDX" \
    --at 2025-07-19T10:00:34Z --ear-key "$tmp/$alg.pem" --ear-alg "$alg" --ear-out "$tmp/$alg.jwt" "$TDX/quote.bin" \
    >/dev/null 2>&1 || { echo "FAIL: appraise ($alg)"; fails=$((fails + 1)); continue; }
  "$B" ear key --key "$tmp/$alg.pem" --pub "$tmp/$alg.pub" >/dev/null
  if xverify "$tmp/$alg.jwt" "$tmp/$alg.pub" >"$tmp/out" 2>&1 && grep -q "verified" "$tmp/out"; then
    echo "ok: $alg EAR verified by ${PEERS:+jose (node)}${PY:+python3-cryptography}"
  else
    echo "FAIL: $alg EAR not verified independently"; cat "$tmp/out"; fails=$((fails + 1))
  fi
  grep -q '"alg":"'"$alg"'"' "$tmp/out" 2>/dev/null || [ -n "$PY" ] || { echo "FAIL: header alg"; fails=$((fails + 1)); }
  # flip one character of the payload: must be rejected
  sed 's/\.\(.\)/.\1/; s/^\([^.]*\.\)e/\1f/' "$tmp/$alg.jwt" >"$tmp/bad.jwt"
  if cmp -s "$tmp/bad.jwt" "$tmp/$alg.jwt"; then echo "FAIL: tamper did not change the token"; fails=$((fails + 1)); fi
  if xverify "$tmp/bad.jwt" "$tmp/$alg.pub" >/dev/null 2>&1; then
    echo "FAIL: tampered $alg token accepted"; fails=$((fails + 1))
  else
    echo "ok: tampered $alg token rejected"
  fi
done
[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all passed"
