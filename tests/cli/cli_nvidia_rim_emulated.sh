#!/bin/sh
# The emulated GPU end to end with RIMs (issue 16): an emulated RIM PKI (root, CA, L4 signer,
# built here with openssl), driver and VBIOS RIMs of the emulated report's measurements signed
# with xmlsec1, served by the loopback fake RIM service, and one loopback OCSP responder
# (openssl ocsp) for the device chain AND the RIM signer chain. Good: verified, every golden
# measurement matched, both chains not revoked. Then: a revoked RIM signer refused
# (rim_revocation), a RIM whose measurement differs refused (rim_measurements), RIMs reused from
# the cache with the RIM service down. Last, an emulated Blackwell GPU: its driver and VBIOS RIMs
# (GB202 ids, signed by the same emulated RIM root) fetched by the ids its report names and matched.
set -eu
BIN=${VERITEE_BIN:?VERITEE_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
F=$HERE/../fixtures
for t in python3 openssl xmlsec1; do command -v $t >/dev/null || { echo "SKIP: $t absent"; exit 77; }; done
T=$(mktemp -d)
PIDS=
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
AT=$(date -u -d "@$(($(date +%s) + 300))" +%Y-%m-%dT%H:%M:%SZ)
NONCE=d622979b6c3ab8b8e7b30a43f2dc7f553ebbc187536231d531effa496ec03fb5
EMU_O="veritee emulated TEE (not a vendor root)"

printf '{"nvidia":{"gpus":1,"driver_version":"580.95.05"}}' >"$T/plat.json"
"$BIN" emulate init "$T/emu" --platform "$T/plat.json" --at "$NOW" >/dev/null || fail "emulate init"
"$BIN" emulate gpu-evidence "$T/emu" --nonce "$NONCE" -o "$T/ev.json" || fail "gpu-evidence"
K=$T/emu/keys
awk -v d="$T" '/BEGIN CERT/{n++} {print > (d "/d" n ".pem")}' "$K/nvidia_gpu0.chain.pem"
"$BIN" verify --tee nvidia --trust "$T/emu/trust/nvidia" --nonce "$NONCE" --json "$T/ev.json" >"$T/plain.json" ||
  fail "plain verify"
python3 - "$T" <<'PY'
import json, sys
d = sys.argv[1]
dev = json.load(open(d + "/plain.json"))["devices"][0]
json.dump(dev["measurements"], open(d + "/meas.json", "w"))
open(d + "/ids", "w").write("%s %s %s\n" % (dev["rim_ids"]["driver"], dev["rim_ids"]["vbios"], dev["config"]["vbios_version"]))
PY
read -r DRV_ID VB_ID VB_VER <"$T/ids"

# the emulated RIM PKI: root -> CA -> L4 signer (P-384, with the extensions a CA needs)
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >"$T/ca.ext"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nauthorityKeyIdentifier=keyid\n' >"$T/leaf.ext"
printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=OCSPSigning\n' >"$T/rsp.ext"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$T/$1.key" 2>/dev/null; }
issue() { # issue NAME CN ISSUER EXT
  key "$1"
  openssl req -new -key "$T/$1.key" -subj "/O=$EMU_O/CN=$2" -out "$T/$1.csr" 2>/dev/null
  openssl x509 -req -in "$T/$1.csr" -CA "$T/$3.pem" -CAkey "$T/$3.key" -set_serial "0x$(openssl rand -hex 8)" \
    -days 30 -extfile "$T/$4" -out "$T/$1.pem" 2>/dev/null || fail "issue $1"
}
key rimroot
openssl req -x509 -key "$T/rimroot.key" -subj "/O=$EMU_O/CN=Emulated NVIDIA CoRIM signing Root CA" -days 30 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$T/rimroot.pem" 2>/dev/null
issue rimca "Emulated NVIDIA Reference Value GH100 CA" rimroot ca.ext
issue rimsigner "Emulated HCC RIM L4 Signer" rimca leaf.ext
# OCSP signers: device chain (ICA for the leaf, root for the ICA), RIM chain (CA, root)
cp "$T/d2.pem" "$T/ica.pem"; cp "$T/d3.pem" "$T/droot.pem"; cp "$T/d1.pem" "$T/dleaf.pem"
cp "$K/nvidia_ica.key.pem" "$T/ica.key"; cp "$K/nvidia_root.key.pem" "$T/droot.key"
issue icarsp "ica OCSP" ica rsp.ext
issue drootrsp "device root OCSP" droot rsp.ext
issue rimcarsp "RIM CA OCSP" rimca rsp.ext
issue rimrootrsp "RIM root OCSP" rimroot rsp.ext
serial() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//' | python3 -c 'import sys; v=int(sys.stdin.read(),16); h="%X"%v; print(h if len(h)%2==0 else "0"+h)'; }
index() { # index OUT STATUS CERT
  if [ "$2" = R ]; then rev="$(date -u +%y%m%d%H%M%SZ),keyCompromise"; else rev=""; fi
  printf '%s\t991231235959Z\t%s\t%s\tunknown\t/CN=x\n' "$2" "$rev" "$(serial "$3")" >"$1"
}
index "$T/i.dleaf" V "$T/dleaf.pem"; index "$T/i.ica" V "$T/ica.pem"
index "$T/i.rimsigner" V "$T/rimsigner.pem"; index "$T/i.rimsigner.R" R "$T/rimsigner.pem"; index "$T/i.rimca" V "$T/rimca.pem"

# the RIMs: VBIOS covers 0-6 and 8-12, the driver 7 and 21-40 (as NVIDIA's split them)
sign() { # sign OUT VERSION ACTIVE
  python3 "$F/emu_rim.py" "$T/$1.tmpl" GH100 "$2" "$T/meas.json" "$3"
  xmlsec1 --sign --privkey-pem "$T/rimsigner.key,$T/rimsigner.pem,$T/rimca.pem" --output "$T/$1.xml" "$T/$1.tmpl" \
    2>"$T/xmlsec.err" || fail "xmlsec1 --sign $1: $(cat "$T/xmlsec.err")"
}
sign vbios "$VB_VER" "0-6,8-12"
sign driver 580.95.05 "7,21-40"
sign vbios_bad "$VB_VER" "0-6,8,9!,10-12"
"$BIN" rim verify --trust "$T/rimroot.pem" --at "$AT" "$T/vbios.xml" "$T/driver.xml" >"$T/out" 2>&1 ||
  fail "emulated RIMs do not verify: $(cat "$T/out")"
ok "emulated driver and VBIOS RIMs signed with xmlsec1 verify against the emulated RIM root"

start_rims() { # start_rims VBIOS_FILE
  rm -f "$T/rport"
  python3 "$F/fake_rim_service.py" "$T/rport" "$T/rlog" "$VB_ID=$T/$1.xml" "$DRV_ID=$T/driver.xml" &
  RPID=$!; PIDS="$PIDS $RPID"
  i=0; while [ ! -s "$T/rport" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  RURL="http://127.0.0.1:$(cat "$T/rport")/v1/rim/"
}
start_ocsp() { # start_ocsp RIMSIGNER_INDEX
  rm -f "$T/oport"
  python3 "$F/ocsp_responder.py" "$T/oport" "$T/olog" 1 \
    "$T/ica.pem" "$T/icarsp.pem" "$T/icarsp.key" "$T/i.dleaf" \
    "$T/droot.pem" "$T/drootrsp.pem" "$T/drootrsp.key" "$T/i.ica" \
    "$T/rimca.pem" "$T/rimcarsp.pem" "$T/rimcarsp.key" "$1" \
    "$T/rimroot.pem" "$T/rimrootrsp.pem" "$T/rimrootrsp.key" "$T/i.rimca" &
  OPID=$!; PIDS="$PIDS $OPID"
  i=0; while [ ! -s "$T/oport" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  OURL="http://127.0.0.1:$(cat "$T/oport")/"
}
verify() { # verify WANT args...
  want=$1; shift
  rc=0; "$BIN" verify --tee nvidia --trust "$T/emu/trust/nvidia" --nonce "$NONCE" --at "$AT" \
    --rim-trust "$T/rimroot.pem" "$@" "$T/ev.json" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" = "$want" ] || fail "verify $* exited $rc, want $want: $(cat "$T/err") $(cat "$T/out")"
}
status() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([c["status"] for c in d["checks"] if c["name"]==sys.argv[2]][0])' "$T/out" "$1"; }

# 1. everything good: fetched RIMs match, both chains checked online
start_rims vbios
start_ocsp "$T/i.rimsigner"
verify 0 --rim-service="$RURL" --ocsp="$OURL" --cache "$T/cache" --json
for c in revocation rim_revocation rim_fetch rim_measurements; do
  [ "$(status $c)" = pass ] || fail "good: check $c is $(status $c): $(cat "$T/out")"
done
python3 - "$T/out" <<'PY' || fail "good: match result $(cat "$T/out")"
import json, sys
rim = json.load(open(sys.argv[1]))["devices"][0]["rim"]
# VBIOS 12 + driver 21 active (7, 21..40), of which index 35 is skipped (NVDEC0 disabled)
assert len(rim["matched"]) == 12 + 20, rim
assert [s["index"] for s in rim["skipped"]] == [35], rim
assert rim["mismatched"] == [], rim
PY
ok "emulated GPU: RIMs fetched by the report's ids, 32 golden measurements matched (35 skipped), device and RIM chains not revoked"

# 2. again, the RIM service down: RIMs and OCSP answers from the cache
kill "$RPID"; wait "$RPID" 2>/dev/null || true
verify 0 --rim-service="$RURL" --ocsp="$OURL" --cache "$T/cache" --json
grep -q '"rim_fetched": 0' "$T/out" && grep -q '"rim_cache_hits": 2' "$T/out" || fail "cache: $(cat "$T/out")"
ok "RIM service down: RIMs served from the cache (verified again), OCSP answers cached"
kill "$OPID"; wait "$OPID" 2>/dev/null || true

# 3. the RIM signer revoked: refused naming rim_revocation
start_rims vbios
start_ocsp "$T/i.rimsigner.R"
verify 1 --rim-service="$RURL" --ocsp="$OURL" --cache "$T/cache2"
grep -q "rim_revocation" "$T/err" && grep -qi "revoked" "$T/err" || fail "revoked RIM signer: $(cat "$T/err")"
ok "revoked RIM signer refused: $(head -1 "$T/err" | cut -c1-110)"
kill "$RPID" "$OPID"; wait 2>/dev/null || true

# 4. a VBIOS RIM whose index 9 differs from the runtime value: the mismatch is named
start_rims vbios_bad
verify 1 --rim-service="$RURL" --cache "$T/cache3"
grep -q "rim_measurements" "$T/err" || fail "mismatch: $(cat "$T/err")"
ok "a RIM that does not match the runtime measurement refused (rim_measurements)"
# ... and local RIM files work the same way without a service
verify 0 --rim "$T/vbios.xml" --rim "$T/driver.xml"
ok "local RIM files (--rim) matched"

# 5. an emulated Blackwell GPU: RIMs under its own ids (NV_GPU_CC_DRIVER_GB202_..., the GB202 VBIOS
# id), signed by the emulated RIM root, fetched from the RIM service and matched
printf '{"nvidia":{"gpus":1,"arch":"BLACKWELL"}}' >"$T/platbw.json"
"$BIN" emulate init "$T/emubw" --platform "$T/platbw.json" --at "$NOW" >/dev/null || fail "emulate init (Blackwell)"
"$BIN" emulate gpu-evidence "$T/emubw" --nonce "$NONCE" -o "$T/evbw.json" || fail "gpu-evidence (Blackwell)"
"$BIN" verify --tee nvidia --trust "$T/emubw/trust/nvidia" --nonce "$NONCE" --json "$T/evbw.json" >"$T/plainbw.json" ||
  fail "plain verify (Blackwell)"
python3 - "$T" <<'PY'
import json, sys
d = sys.argv[1]
dev = json.load(open(d + "/plainbw.json"))["devices"][0]
assert dev["arch"] == "BLACKWELL" and dev["rim_ids"]["driver"].startswith("NV_GPU_CC_DRIVER_GB202_"), dev["rim_ids"]
json.dump(dev["measurements"], open(d + "/meas.json", "w"))
c = dev["config"]
open(d + "/idsbw", "w").write("%s %s %s %s\n" % (dev["rim_ids"]["driver"], dev["rim_ids"]["vbios"], c["vbios_version"], c["driver_version"]))
PY
read -r DRV_ID VB_ID VB_VER DRV_VER <"$T/idsbw"
python3 "$F/emu_rim.py" "$T/vbiosbw.tmpl" GB202 "$VB_VER" "$T/meas.json" "0-6,8-12"
python3 "$F/emu_rim.py" "$T/driverbw.tmpl" GB202 "$DRV_VER" "$T/meas.json" "7,21-40"
for r in vbiosbw driverbw; do
  xmlsec1 --sign --privkey-pem "$T/rimsigner.key,$T/rimsigner.pem,$T/rimca.pem" --output "$T/$r.xml" "$T/$r.tmpl" \
    2>"$T/xmlsec.err" || fail "xmlsec1 --sign $r: $(cat "$T/xmlsec.err")"
done
rm -f "$T/rport"
python3 "$F/fake_rim_service.py" "$T/rport" "$T/rlog" "$VB_ID=$T/vbiosbw.xml" "$DRV_ID=$T/driverbw.xml" &
RPID=$!; PIDS="$PIDS $RPID"
i=0; while [ ! -s "$T/rport" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
RURL="http://127.0.0.1:$(cat "$T/rport")/v1/rim/"
rc=0; "$BIN" verify --tee nvidia --trust "$T/emubw/trust/nvidia" --nonce "$NONCE" --at "$AT" --rim-trust "$T/rimroot.pem" \
  --rim-service="$RURL" --json "$T/evbw.json" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 0 ] || fail "Blackwell with RIMs exited $rc: $(cat "$T/err") $(cat "$T/out")"
[ "$(status rim_measurements)" = pass ] && [ "$(status rim_fetch)" = pass ] || fail "Blackwell RIM checks: $(cat "$T/out")"
python3 - "$T/out" <<'PY' || fail "Blackwell match result $(cat "$T/out")"
import json, sys
rim = json.load(open(sys.argv[1]))["devices"][0]["rim"]
assert len(rim["matched"]) == 12 + 20 and rim["mismatched"] == [], rim
PY
ok "emulated Blackwell GPU: GB202 driver and VBIOS RIMs fetched by its ids, 32 golden measurements matched"
echo "cli_nvidia_rim_emulated: ok"
