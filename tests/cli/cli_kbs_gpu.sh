#!/bin/sh
# Composite CPU + GPU attestation over loopback (docs/nvidia.md, "Composite attestation"): an
# emulated TDX guest with 2 emulated Hopper GPUs attests with `veritee attest --gpu-evidence` to
# `veritee serve` and receives the model key; then each refusal, with its reason in the EAR the
# guest received: one GPU with CC mode off, a replayed GPU report (duplicate UEID), GPU evidence
# over another nonce, a revoked device certificate (offline OCSP responses made by `openssl ocsp`
# from an index file). Every command is bounded (timeout), the server listens on 127.0.0.1 only.
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
for t in openssl python3 timeout; do
  command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
done
"$B" serve --help >/dev/null 2>&1 || { echo "SKIP: veritee serve not wired"; exit 77; }
VT=$B
. "$HERE/../../scripts/kbs-env.sh"
tmp=$(mktemp -d)
KBS_PID=
cleanup() { kbs_stop "$KBS_PID"; rm -rf "$tmp"; }
trap cleanup EXIT
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
cd "$tmp" || exit 1

echo '{"tdx":{},"nvidia":{"gpus":2,"driver_version":"580.95.05","vbios_version":"96.00.74.00.1a"}}' >plat.json
kbs_emulate emu plat.json || { bad "emulate init"; exit 1; }
kbs_keys . || { bad "keys"; exit 1; }
cat >pol.json <<'EOF'
{"id": "cvm-gpu", "emulated": "accept",
 "nvidia": {"architectures": ["HOPPER"], "min_driver_version": "550.54.14", "min_vbios_version": "96.00.74.00.00",
            "ppcie": "forbidden", "min_gpus": 2}}
EOF
# TDX (or SNP) affirming AND every GPU affirming, at least two of them
echo '{"tee_types": ["tdx", "snp", "nvidia"], "min_gpus": 2}' >rpol.json

# offline OCSP responses for the emulated device chains: GPU 1's leaf revoked
mkdir ocsp pki
split_chain() { awk -v p="$2" 'BEGIN{n=0} /BEGIN CERT/{n++} {print > (p n ".pem")}' "$1"; }
split_chain emu/keys/nvidia_gpu0.chain.pem pki/g0_
split_chain emu/keys/nvidia_gpu1.chain.pem pki/g1_
ser() { openssl x509 -in "$1" -noout -serial | sed 's/serial=//'; }
exp=$(date -u -d '+5 years' +%y%m%d%H%M%SZ)
rev=$(date -u -d '-1 hour' +%y%m%d%H%M%SZ)
printf 'V\t%s\t\t%s\tunknown\t/CN=gpu0\n' "$exp" "$(ser pki/g0_1.pem)" >pki/ica.idx
printf 'R\t%s\t%s\t%s\tunknown\t/CN=gpu1\n' "$exp" "$rev" "$(ser pki/g1_1.pem)" >>pki/ica.idx
printf 'V\t%s\t\t%s\tunknown\t/CN=ica\n' "$exp" "$(ser pki/g0_2.pem)" >pki/root.idx
resp() { # resp INDEX SIGNER_CERT SIGNER_KEY CERT OUT
  timeout 20 openssl ocsp -index "$1" -rsigner "$2" -rkey "$3" -CA "$2" -issuer "$2" -cert "$4" -respout "$5" \
    -ndays 1 -no_nonce >/dev/null 2>&1
}
resp pki/ica.idx pki/g0_2.pem emu/keys/nvidia_ica.key.pem pki/g0_1.pem ocsp/leaf0.der &&
  resp pki/ica.idx pki/g0_2.pem emu/keys/nvidia_ica.key.pem pki/g1_1.pem ocsp/leaf1.der &&
  resp pki/root.idx pki/g0_3.pem emu/keys/nvidia_root.key.pem pki/g0_2.pem ocsp/ica.der &&
  ok "openssl ocsp made 3 responses (GPU 1's leaf revoked)" || bad "openssl ocsp"

printf 'model-weights-key-%s' "$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')" >secret
serve() { # serve LOG [ARGS...]: a fresh broker on loopback with the policies and the secret
  kbs_stop "$KBS_PID"
  KBS_PID=
  _log=$1
  shift
  kbs_start "$_log" --db "sqlite:$tmp/$_log.db" --trust emu/trust --collateral emu/collateral \
    --admin-key admin.pub.pem --kek-file kek.hex --ear-key ear.pem --policy pol.json \
    --max-sessions-per-client 100000 "$@" || return 1
  kbs_admin . resource put default/model/key secret >/dev/null &&
    kbs_admin . policy set-resource default/model/key rpol.json >/dev/null
}
guest() { # guest NAME [GPU_SOURCE]: attest with 2 GPUs, fetch the model key; rc in RC, messages in NAME.err
  rm -f "$1.secret"
  RC=0
  timeout 60 "$B" attest -v --kbs "$KBS_URL" --tee tdx --emulator emu --gpu-evidence "${2:-emulated}" \
    --resource default/model/key --token-out "$1.jwt" --timeout 10 -o "$1.secret" 2>"$1.err" || RC=$?
}
platform() { # platform PY_EXPR: edit the emulated platform's nvidia section (d)
  python3 -c "import json; p='emu/platform.json'; j=json.load(open(p)); d=j['nvidia']; $1; json.dump(j, open(p, 'w'))"
}
submods() { # submods TOKEN: "cpu0=affirming gpu0=..." read from the verified EAR
  timeout 20 "$B" ear verify --key ear.pem --json "$1" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join("%s=%s" % (k, v["ear.status"]) for k, v in sorted(d["submods"].items())))'
}
check_refused() { # check_refused NAME WANT_SUBMODS REASON_GREP
  if [ "$RC" -eq 1 ] && [ ! -s "$1.secret" ]; then ok "$1: no secret (exit 1)"; else bad "$1: exit $RC, secret: $(cat "$1.secret" 2>/dev/null)"; fi
  got=$(submods "$1.jwt")
  [ "$got" = "$2" ] && ok "$1: EAR submods $got" || bad "$1: EAR submods '$got', expected '$2'"
  grep -q "$3" "$1.err" && ok "$1: reason in the EAR ($3)" || { bad "$1: reason '$3' not shown"; cat "$1.err"; }
}

serve s1.log || { bad "serve"; exit 1; }
ok "serve on $KBS_URL"

# --- a CVM with two GPUs in CC mode receives the model key
guest good
if [ "$RC" -eq 0 ] && cmp -s good.secret secret; then ok "TDX + 2 GPUs: model key received"; else bad "TDX + 2 GPUs: exit $RC: $(cat good.err)"; fi
got=$(submods good.jwt)
[ "$got" = "cpu0=affirming gpu0=affirming gpu1=affirming" ] && ok "one submod per device ($got)" || bad "submods: $got"
timeout 20 "$B" ear verify --key ear.pem --json good.jwt | python3 -c '
import json, sys
d = json.load(sys.stdin)["submods"]
g = d["gpu1"]["ear.veraison.annotated-evidence"]["nvidia"]["tee_claims"]
assert g["arch"] == "HOPPER" and g["cc_mode"] == "on" and g["feature_flag"] == "SPT", g
assert g["driver_version"] == "580.95.05" and len(g["measurements"]) == 64, g
assert d["gpu0"]["ear.veraison.annotated-evidence"]["nvidia"]["tee_claims"]["ueid"] != g["ueid"]
rt = d["cpu0"]["ear.veraison.annotated-evidence"]["runtime_data_claims"]
assert len(rt["additional-evidence-sha384"]) == 96, rt
' && ok "GPU claims in the EAR (arch, CC mode, driver, 64 measurements, distinct UEIDs)" || bad "GPU claims in the EAR"

# --- the CPU alone does not get the model key (min_gpus)
RC=0
timeout 60 "$B" attest -v --kbs "$KBS_URL" --tee tdx --emulator emu --resource default/model/key --token-out cpu.jwt \
  --timeout 10 -o cpu.secret 2>cpu.err || RC=$?
check_refused cpu "cpu0=contraindicated" "gpu_min_count"

# --- one GPU with CC mode off
platform 'd["cc_off"] = [1]'
guest ccoff
check_refused ccoff "cpu0=affirming gpu0=affirming gpu1=contraindicated" "gpu_cc_mode.*CC mode is not on"
platform 'd.pop("cc_off")'

# --- a replayed GPU report: GPU 0's report sent again as a third device
platform 'd["replay"] = True'
guest replay
check_refused replay "cpu0=affirming gpu0=affirming gpu1=affirming gpu2=contraindicated" "ueid_unique.*replayed report"
platform 'd.pop("replay")'

# --- GPU evidence over another nonce (collected before the session)
timeout 20 "$B" evidence get --tee nvidia --emulator emu --nonce 00112233 -o stale.json || bad "evidence get --tee nvidia"
guest stale stale.json
check_refused stale "cpu0=contraindicated gpu0=contraindicated gpu1=contraindicated" "nonce: .*not the expected nonce"

# --- a revoked device certificate (offline OCSP)
serve s2.log --nvidia-ocsp ocsp || { bad "serve --nvidia-ocsp"; exit 1; }
guest revoked
check_refused revoked "cpu0=contraindicated gpu0=affirming gpu1=contraindicated" "revocation: .*is revoked"

# --- the same GPU evidence verifies offline, with and without the revocation
timeout 20 "$B" evidence get --tee nvidia --emulator emu --nonce 00112233 -o ev.json
rc=0; timeout 20 "$B" verify --tee nvidia --trust emu/trust --nonce 00112233 ev.json >v.txt 2>&1 || rc=$?
[ $rc -eq 0 ] && grep -q "cc_mode *SPT" v.txt && ok "veritee verify --tee nvidia (CC mode SPT)" || { bad "verify: $rc"; cat v.txt; }
rc=0; timeout 20 "$B" verify --tee nvidia --trust emu/trust --ocsp-response ocsp --nonce 00112233 ev.json >v.txt 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "revoked" v.txt && ok "veritee verify --ocsp-response DIR: revoked GPU 1 (exit 1)" || { bad "verify --ocsp-response: $rc"; cat v.txt; }

# --- veritee appraise with GPU evidence: one submod per GPU, the policy's nvidia rules
CN=00112233445566778899aabbccddeeff
GN=8899aabbccddeeff0011223344556677
timeout 20 "$B" evidence get --tee tdx --emulator emu --nonce "$CN" -o tdx.bin &&
  timeout 20 "$B" evidence get --tee nvidia --emulator emu --nonce "$GN" -o gpus.json || bad "evidence get"
AP="$B appraise --policy pol.json --trust emu/trust --collateral emu/collateral --nonce $CN"
rc=0; timeout 30 $AP --gpu-evidence gpus.json --gpu-nonce "$GN" --ocsp-response ocsp/leaf0.der tdx.bin >ap.txt 2>&1 || rc=$?
# one response does not cover every chain: refused as missing (exit 3), the list as one rejected submod
[ $rc -eq 3 ] && grep -q "gpu0 evidence contraindicated" ap.txt && ok "appraise: partial OCSP coverage refused" ||
  { bad "appraise partial OCSP: exit $rc"; cat ap.txt; }
rc=0; timeout 30 $AP --gpu-evidence gpus.json --gpu-nonce "$GN" --ear-key ap.pem --ear-out ap.jwt tdx.bin >ap.txt 2>&1 || rc=$?
[ $rc -eq 0 ] && grep -q "gpu0 nvidia affirming" ap.txt && grep -q "gpu1 nvidia affirming" ap.txt &&
  grep -q "gpu_min_count .*2 GPUs attested" ap.txt && ok "appraise: TDX + 2 GPUs affirming" || { bad "appraise: exit $rc"; cat ap.txt; }
got=$(timeout 20 "$B" ear verify --key ap.pem --json ap.jwt | python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin)["submods"])))')
[ "$got" = "cpu0 gpu0 gpu1" ] && ok "appraise EAR submods: $got" || bad "appraise EAR submods: $got"
rc=0; timeout 30 $AP --gpu-evidence gpus.json --gpu-nonce 00 tdx.bin >ap.txt 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "nonce" ap.txt && ok "appraise: wrong GPU nonce refused" || { bad "appraise nonce: exit $rc"; cat ap.txt; }
platform 'd["cc_off"] = [0]'
timeout 20 "$B" evidence get --tee nvidia --emulator emu --nonce "$GN" -o gpus.json
rc=0; timeout 30 $AP --gpu-evidence gpus.json --gpu-nonce "$GN" tdx.bin >ap.txt 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "gpu0 nvidia contraindicated" ap.txt && grep -q "\[fail\] gpu_cc_mode" ap.txt &&
  ok "appraise: CC-off GPU contraindicated" || { bad "appraise cc off: exit $rc"; cat ap.txt; }
platform 'd.pop("cc_off")'

[ "$fails" -eq 0 ] && echo "all GPU composite checks passed" || echo "$fails FAILED"
exit $((fails > 0))
