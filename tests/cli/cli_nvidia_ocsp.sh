#!/bin/sh
# Online and offline revocation of the emulated GPU device chain (issue 16): an OCSP responder on
# 127.0.0.1 answering with `openssl ocsp` from index files the test writes, one delegated signer
# (id-kp-OCSPSigning) per issuer. Good accepted; revoked leaf refused naming the check; responder
# down fails closed (exit 3); stale response (nextUpdate passed at --at) refused; a response signed
# by an unrelated key refused; a cached response reused without a request; --allow-revocation-unknown;
# offline --ocsp-response and --crl.
set -eu
BIN=${VERITEE_BIN:?VERITEE_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null || { echo "SKIP: python3 absent"; exit 77; }
command -v openssl >/dev/null || { echo "SKIP: openssl absent"; exit 77; }
T=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
AT=$(date -u -d "@$(($(date +%s) + 300))" +%Y-%m-%dT%H:%M:%SZ)        # within the responses' window
LATE=$(date -u -d "@$(($(date +%s) + 3 * 86400))" +%Y-%m-%dT%H:%M:%SZ) # after their nextUpdate (1 day)
NONCE=87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fec

printf '{"nvidia":{"gpus":1,"driver_version":"580.95.05"}}' >"$T/plat.json"
"$BIN" emulate init "$T/emu" --platform "$T/plat.json" --at "$NOW" >/dev/null || fail "emulate init"
"$BIN" emulate gpu-evidence "$T/emu" --nonce "$NONCE" -o "$T/ev.json" || fail "emulate gpu-evidence"
K=$T/emu/keys
# the chain file: leaf, ICA, root
awk -v d="$T" '/BEGIN CERT/{n++} {print > (d "/c" n ".pem")}' "$K/nvidia_gpu0.chain.pem"
mv "$T/c1.pem" "$T/leaf.pem"; mv "$T/c2.pem" "$T/ica.pem"; mv "$T/c3.pem" "$T/root.pem"

# delegated OCSP signers: one issued by the ICA (for the leaf), one by the root (for the ICA)
printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=OCSPSigning\n' >"$T/rsp.ext"
signer() { # signer NAME ISSUER.pem ISSUER.key
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "$T/$1.key" \
    -subj "/CN=$1 OCSP responder" -out "$T/$1.csr" 2>/dev/null
  openssl x509 -req -in "$T/$1.csr" -CA "$2" -CAkey "$3" -set_serial "0x$(openssl rand -hex 8)" -days 30 \
    -extfile "$T/rsp.ext" -out "$T/$1.pem" 2>/dev/null || fail "signer $1"
}
signer leafrsp "$T/ica.pem" "$K/nvidia_ica.key.pem"
signer icarsp "$T/root.pem" "$K/nvidia_root.key.pem"
# an unrelated key, self-signed, that has nothing to say about this chain
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "$T/evil.key" \
  -subj "/CN=unrelated responder" -days 30 -out "$T/evil.pem" 2>/dev/null

# index lines (openssl ca database): V|R, expiry, revocation date, serial (BN hex), file, DN
serial() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//' | python3 -c 'import sys; v=int(sys.stdin.read(),16); h="%X"%v; print(h if len(h)%2==0 else "0"+h)'; }
index() { # index OUT STATUS CERT
  if [ "$2" = R ]; then rev="$(date -u +%y%m%d%H%M%SZ),keyCompromise"; else rev=""; fi
  printf '%s\t%s\t%s\t%s\tunknown\t%s\n' "$2" "991231235959Z" "$rev" "$(serial "$3")" \
    "$(openssl x509 -in "$3" -noout -subject -nameopt compat | sed 's/^subject=//')" >"$1"
}
index "$T/leaf.good" V "$T/leaf.pem"
index "$T/leaf.revoked" R "$T/leaf.pem"
index "$T/ica.good" V "$T/ica.pem"

start() { # start LEAF_INDEX LEAF_SIGNER: a responder for both issuers
  rm -f "$T/port" "$T/port.nononce"
  python3 "$HERE/../fixtures/ocsp_responder.py" "$T/port" "$T/log" 1 \
    "$T/ica.pem" "$T/$2.pem" "$T/$2.key" "$1" \
    "$T/root.pem" "$T/icarsp.pem" "$T/icarsp.key" "$T/ica.good" &
  PID=$!
  i=0; while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  [ -s "$T/port" ] || fail "the OCSP responder did not start"
  URL="http://127.0.0.1:$(cat "$T/port")/"
}
stop() { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; PID=; }
status() { # status CHECK: its status in the last --json output
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([c["status"] for c in d["checks"] if c["name"]==sys.argv[2]][0])' "$T/out" "$1"
}
requests() { [ -f "$T/log" ] && wc -l <"$T/log" | tr -d ' ' || echo 0; }
verify() { # verify WANT args...
  want=$1; shift
  rc=0; "$BIN" verify --tee nvidia --trust "$T/emu/trust/nvidia" --nonce "$NONCE" "$@" "$T/ev.json" \
    >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" = "$want" ] || fail "verify $* exited $rc, want $want: $(cat "$T/err") $(cat "$T/out")"
}

# 1. good: both certificates good, fetched with a nonce, then cached
start "$T/leaf.good" leafrsp
verify 0 --at "$AT" --ocsp="$URL" --cache "$T/cache" --json
[ "$(status revocation)" = pass ] && grep -q '"ocsp_fetched": 2' "$T/out" || fail "good: $(cat "$T/out")"
[ "$(requests)" = 2 ] || fail "good: $(requests) requests, want 2"
ls "$T/cache/nvidia/ocsp/"*.der >/dev/null 2>&1 || fail "no cached responses"
ok "good device chain accepted (2 OCSP requests, responses cached)"

# 2. cached: the same verification asks nobody (responder still up: the log would show it)
verify 0 --at "$AT" --ocsp="$URL" --cache "$T/cache" --json
[ "$(status revocation)" = pass ] && grep -q '"ocsp_fetched": 0' "$T/out" && grep -q '"ocsp_cache_hits": 2' "$T/out" ||
  fail "cache: $(cat "$T/out")"
[ "$(requests)" = 2 ] || fail "cache: $(requests) requests, want still 2"
ok "cached responses reused while valid (no second request)"
stop

# 3. revoked leaf: refused naming the check (a fresh cache: the good answer is not reused)
start "$T/leaf.revoked" leafrsp
verify 1 --at "$AT" --ocsp="$URL" --cache "$T/cache2"
grep -q "revocation" "$T/err" && grep -qi "revoked" "$T/err" || fail "revoked: $(cat "$T/err")"
ok "revoked leaf refused: $(head -1 "$T/err")"
# ... also when the status is allowed to be unknown: revoked is not unknown
verify 1 --at "$AT" --ocsp="$URL" --allow-revocation-unknown
ok "revoked leaf refused with --allow-revocation-unknown"

# ... a response that does not echo the request's nonce (a replayed answer)
touch "$T/port.nononce"
verify 1 --at "$AT" --ocsp="$URL"
grep -q "does not echo the request's nonce" "$T/err" || fail "no nonce: $(cat "$T/err")"
rm -f "$T/port.nononce"
ok "a response without the request's nonce refused"

# 4. stale: at --at three days later, the responses' nextUpdate (1 day) has passed
verify 1 --at "$LATE" --ocsp="$URL"
grep -q "revocation" "$T/err" && grep -q "not at" "$T/err" || fail "stale: $(cat "$T/err")"
ok "stale response refused"
stop

# ... a responder that does not know the leaf answers "unknown": refused, unless allowed
: >"$T/leaf.none"
start "$T/leaf.none" leafrsp
verify 1 --at "$AT" --ocsp="$URL"
grep -q "answered 'unknown'" "$T/err" || fail "unknown: $(cat "$T/err")"
verify 0 --at "$AT" --ocsp="$URL" --allow-revocation-unknown --json
[ "$(status revocation)" = skip ] || fail "unknown allowed: $(cat "$T/out")"
ok "status 'unknown' refused; accepted (skipped) with --allow-revocation-unknown"
stop

# 5. a response signed by an unrelated key for the leaf
start "$T/leaf.good" evil
verify 1 --at "$AT" --ocsp="$URL"
grep -q "revocation" "$T/err" && grep -q "not signed by its issuer" "$T/err" || fail "unrelated: $(cat "$T/err")"
ok "response signed by an unrelated key refused"
# the ICA's delegated responder is not the leaf issuer's: also refused
stop
start "$T/leaf.good" icarsp
verify 1 --at "$AT" --ocsp="$URL"
grep -q "not signed by its issuer" "$T/err" || fail "wrong issuer's responder: $(cat "$T/err")"
ok "a responder delegated by another issuer refused"
stop

# 6. responder down: fail closed (exit 3, unreachable), unless revocation may be unknown
verify 3 --at "$AT" --ocsp="$URL"
grep -q "revocation" "$T/err" || fail "down: $(cat "$T/err")"
ok "responder down: fail closed (exit 3)"
verify 0 --at "$AT" --ocsp="$URL" --allow-revocation-unknown --json
[ "$(status revocation)" = skip ] && grep -q "revocation unknown (allowed)" "$T/out" || fail "allow: $(cat "$T/out")"
ok "--allow-revocation-unknown accepts an unreachable responder and says so"
# the cache from (1) still answers offline while valid, with the responder down
verify 0 --at "$AT" --ocsp="$URL" --cache "$T/cache"
ok "responder down, cached responses valid: accepted"

# 7. offline: responses as files (made by openssl ocsp from the same index), and a CRL
openssl ocsp -issuer "$T/ica.pem" -cert "$T/leaf.pem" -reqout "$T/leaf.req" -no_nonce >/dev/null 2>&1
openssl ocsp -issuer "$T/root.pem" -cert "$T/ica.pem" -reqout "$T/ica.req" -no_nonce >/dev/null 2>&1
openssl ocsp -index "$T/leaf.good" -rsigner "$T/leafrsp.pem" -rkey "$T/leafrsp.key" -CA "$T/ica.pem" \
  -reqin "$T/leaf.req" -respout "$T/leaf.resp" -ndays 1 >/dev/null 2>&1 || fail "offline leaf response"
openssl ocsp -index "$T/ica.good" -rsigner "$T/icarsp.pem" -rkey "$T/icarsp.key" -CA "$T/root.pem" \
  -reqin "$T/ica.req" -respout "$T/ica.resp" -ndays 1 >/dev/null 2>&1 || fail "offline ica response"
openssl ocsp -index "$T/leaf.revoked" -rsigner "$T/leafrsp.pem" -rkey "$T/leafrsp.key" -CA "$T/ica.pem" \
  -reqin "$T/leaf.req" -respout "$T/leaf.rresp" -ndays 1 >/dev/null 2>&1 || fail "offline revoked response"
verify 0 --at "$AT" --ocsp-response "$T/leaf.resp" --ocsp-response "$T/ica.resp"
ok "offline OCSP responses accepted"
verify 3 --at "$AT" --ocsp-response "$T/leaf.resp"
grep -q "unknown" "$T/err" || fail "offline, ICA uncovered: $(cat "$T/err")"
ok "offline: a certificate no response covers fails closed (exit 3)"
verify 1 --at "$AT" --ocsp-response "$T/leaf.rresp" --ocsp-response "$T/ica.resp"
grep -qi "revoked" "$T/err" || fail "offline revoked: $(cat "$T/err")"
ok "offline revoked response refused"
verify 2 --at "$AT" --ocsp-response "$T/leaf.pem"
ok "a file that is not an OCSP response: unusable input (exit 2)"
# a CRL of the ICA listing nothing, and one listing the leaf (openssl ca with the index)
mkdir -p "$T/ca" && : >"$T/ca/index" && echo 01 >"$T/ca/crlnumber"
cat >"$T/ca.cnf" <<EOF
[ca]
default_ca = d
[d]
database = $T/ca/index
crlnumber = $T/ca/crlnumber
default_md = sha384
default_crl_days = 1
EOF
openssl ca -config "$T/ca.cnf" -gencrl -keyfile "$K/nvidia_ica.key.pem" -cert "$T/ica.pem" -out "$T/ica.crl" 2>/dev/null ||
  fail "CRL"
verify 0 --at "$AT" --crl "$T/ica.crl" --ocsp-response "$T/ica.resp"
ok "offline CRL (leaf not listed) accepted"
openssl ca -config "$T/ca.cnf" -revoke "$T/leaf.pem" -keyfile "$K/nvidia_ica.key.pem" -cert "$T/ica.pem" 2>/dev/null ||
  fail "revoke in CRL"
openssl ca -config "$T/ca.cnf" -gencrl -keyfile "$K/nvidia_ica.key.pem" -cert "$T/ica.pem" -out "$T/ica2.crl" 2>/dev/null
verify 1 --at "$AT" --crl "$T/ica2.crl" --ocsp-response "$T/ica.resp"
grep -qi "revoked" "$T/err" || fail "CRL revoked: $(cat "$T/err")"
ok "offline CRL listing the leaf refused"
echo "cli_nvidia_ocsp: ok"
