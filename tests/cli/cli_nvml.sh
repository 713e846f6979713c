#!/bin/sh
# GPU evidence collected through NVML (docs/nvidia.md, "Collecting GPU evidence") without GPUs:
# the stand-in libnvidia-ml.so.1 of tests/fixtures/fake_nvml.c ($VERITEE_FAKE_NVML) answers with
# the emulated GPUs of an emulator directory over the nonce veritee hands it. `evidence get --tee
# nvidia` output verifies with `veritee verify --tee nvidia` against the emulated root; an
# emulated TDX guest + 2 GPUs collected through NVML gets the model key from `veritee serve`;
# then each refusal: NVML missing, init failing, CC off or devtools on (refused before anything
# is sent), a report naming no CC mode (sent, refused by the broker), sizes past their arrays, the nonce not echoed, a garbage report, another GPU
# architecture, a UUID without its NUL. Loopback only, every command bounded.
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
VT=$B
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../fixtures/cli.sh"
need python3 timeout
LIB=${VERITEE_FAKE_NVML:-}
[ -n "$LIB" ] && [ -f "$LIB" ] || { echo "SKIP: VERITEE_FAKE_NVML (the build's fake libnvidia-ml.so.1) not set"; exit 77; }
. "$HERE/../../scripts/kbs-env.sh"
KBS_PID=
on_exit() { kbs_stop "$KBS_PID"; }
cd "$tmp" || exit 1

echo '{"tdx":{},"nvidia":{"gpus":2,"arch":["HOPPER","BLACKWELL"],"driver_version":"580.95.05"}}' >plat.json
kbs_emulate emu plat.json || { bad "emulate init"; exit 1; }
export VT_FAKE_NVML_EMU="$tmp/emu"
unset VT_FAKE_NVML_FAULT VERITEE_NVML
N=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')

# --- evidence get --tee nvidia through NVML verifies against the emulated root
expect 0 "evidence get --tee nvidia --nvml LIB" timeout 30 "$B" evidence get --tee nvidia --nvml "$LIB" --nonce "$N" -o gpus.json
python3 -c '
import json, sys
l = json.load(open("gpus.json"))["device_evidence_list"]
assert [d["arch"] for d in l] == ["HOPPER", "BLACKWELL"], l
assert [d["uuid"] for d in l] == ["GPU-fake-nvml-0", "GPU-fake-nvml-1"], l
assert all(sorted(d) == ["arch", "certificate", "evidence", "uuid"] for d in l)
' && ok "device_evidence_list: 2 GPUs (Hopper, Blackwell), uuid from NVML" || bad "evidence shape"
expect 0 "verify --tee nvidia with the emulated root and the nonce" timeout 30 "$B" verify --tee nvidia --trust emu/trust/nvidia --nonce "$N" gpus.json
has "gpu0..1: requester nonce equals the expected nonce"
expect 1 "verify --tee nvidia with another nonce" timeout 30 "$B" verify --tee nvidia --trust emu/trust/nvidia --nonce 00 gpus.json
# VERITEE_NVML chooses the library as --nvml does; auto provider for --tee nvidia is nvml
export VERITEE_NVML="$LIB"
expect 0 "evidence get --tee nvidia with VERITEE_NVML" timeout 30 "$B" evidence get --tee nvidia --nonce "$N" -o env.json
unset VERITEE_NVML

# --- refusals
expect 3 "NVML missing" timeout 30 "$B" evidence get --tee nvidia --nvml "$tmp/none/libnvidia-ml.so.1" --nonce "$N"
has "libnvidia-ml.so.1 not available (the NVIDIA driver installs it)"
refuse() { # refuse FAULT CODE MESSAGE: the collector refuses what the fake library answers
  export VT_FAKE_NVML_FAULT="$1"
  expect "$2" "NVML fault $1" timeout 30 "$B" evidence get --tee nvidia --nvml "$LIB" --nonce "$N" -o f.json
  unset VT_FAKE_NVML_FAULT
  has "$3"
  [ -s f.json ] && bad "$1: evidence written" && rm -f f.json
}
refuse init 3 "nvmlInit_v2 returned 9 (Driver Not Loaded)"
refuse cc_off 2 "nvmlSystemGetConfComputeState: confidential computing is off"
refuse devtools 2 "devtools mode is on"
refuse arch 2 "GPU 0: nvmlDeviceGetArchitecture: architecture 7 is neither Hopper"
refuse uuid 2 "GPU 0: nvmlDeviceGetUUID: no NUL within the 96-byte buffer"
refuse report_size 2 "attestationReportSize 8193 is outside 1..8192"
refuse cert_size 2 "attestationCertChainSize 5121 is outside 1..5120"
refuse nonce 1 "GPU 0: the attestation report does not carry the nonce asked for"
refuse report 2 "the attestation report NVML returned is malformed"
expect 2 "--provider nvml for a CPU TEE" timeout 30 "$B" evidence get --tee tdx --provider nvml --nonce "$N"

# --- a CVM with 2 GPUs collected through NVML attests to `veritee serve` and gets the model key
kbs_keys . || { bad "keys"; exit 1; }
cat >pol.json <<'P'
{"id": "cvm-gpu", "emulated": "accept", "nvidia": {"architectures": ["HOPPER", "BLACKWELL"], "min_gpus": 2}}
P
echo '{"tee_types": ["tdx", "snp", "nvidia"], "min_gpus": 2}' >rpol.json
printf 'model-key-%s' "$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')" >secret
kbs_start s.log --db "sqlite:$tmp/kbs.db" --trust emu/trust --collateral emu/collateral --admin-key admin.pub.pem \
  --kek-file kek.hex --ear-key ear.pem --policy pol.json --max-sessions-per-client 100000 || { bad "serve"; exit 1; }
kbs_admin . resource put default/model/key secret >/dev/null && kbs_admin . policy set-resource default/model/key rpol.json >/dev/null ||
  bad "admin"
guest() { # guest NAME: emulated TDX + GPUs through NVML; rc in RC, messages in NAME.err
  rm -f "$1.secret" "$1.jwt"
  RC=0
  timeout 60 "$B" attest -v --kbs "$KBS_URL" --tee tdx --emulator emu --gpu-evidence nvml --nvml "$LIB" \
    --resource default/model/key --token-out "$1.jwt" --timeout 10 -o "$1.secret" 2>"$1.err" || RC=$?
}
guest good
if [ "$RC" -eq 0 ] && cmp -s good.secret secret; then ok "TDX + 2 GPUs through NVML: model key received"; else bad "attest: exit $RC: $(cat good.err)"; fi
got=$(timeout 20 "$B" ear verify --key ear.pem --json good.jwt 2>/dev/null |
  python3 -c 'import json,sys; d=json.load(sys.stdin)["submods"]; print(" ".join("%s=%s" % (k, v["ear.status"]) for k, v in sorted(d.items())))')
[ "$got" = "cpu0=affirming gpu0=affirming gpu1=affirming" ] && ok "EAR: $got" || bad "EAR submods: '$got'"
grep -q "GPU nonce" good.err && ok "attest -v prints the GPU nonce" || bad "no GPU nonce in attest -v"

# CC off: refused by the guest before any evidence is sent (no token, the NVML call named)
export VT_FAKE_NVML_FAULT=cc_off
guest ccoff
unset VT_FAKE_NVML_FAULT
[ "$RC" -eq 2 ] && [ ! -s ccoff.secret ] && [ ! -s ccoff.jwt ] && grep -q "confidential computing is off" ccoff.err &&
  ok "CC off: refused in the guest (exit 2), nothing received" || { bad "CC off: exit $RC"; cat ccoff.err; }
# NVML says CC on but a GPU's report names no CC mode (the emulator's cc_off): sent, and refused by
# the broker's policy (nvidia.cc_mode), that GPU contraindicated
python3 -c "import json; p='emu/platform.json'; j=json.load(open(p)); j['nvidia']['cc_off'] = [1]; json.dump(j, open(p, 'w'))"
guest ccreport
got=$(timeout 20 "$B" ear verify --key ear.pem --json ccreport.jwt 2>/dev/null |
  python3 -c 'import json,sys; d=json.load(sys.stdin)["submods"]; print(" ".join("%s=%s" % (k, v["ear.status"]) for k, v in sorted(d.items())))')
[ "$RC" -eq 1 ] && [ ! -s ccreport.secret ] && [ "$got" = "cpu0=affirming gpu0=affirming gpu1=contraindicated" ] &&
  grep -q "gpu_cc_mode" ccreport.err && ok "report without CC mode: refused by the broker ($got)" ||
  { bad "report without CC mode: exit $RC, '$got'"; cat ccreport.err; }
python3 -c "import json; p='emu/platform.json'; j=json.load(open(p)); j['nvidia'].pop('cc_off'); json.dump(j, open(p, 'w'))"
# NVML missing in the guest: exit 3
RC=0
timeout 60 "$B" attest --kbs "$KBS_URL" --tee tdx --emulator emu --gpu-evidence nvml --nvml "$tmp/none.so" \
  --resource default/model/key --timeout 10 -o none.secret 2>none.err || RC=$?
[ "$RC" -eq 3 ] && grep -q "not available" none.err && ok "attest: NVML missing (exit 3)" || { bad "attest NVML missing: $RC"; cat none.err; }
# the nonce not echoed: refused by the guest (exit 1), nothing sent
export VT_FAKE_NVML_FAULT=nonce
guest nonce
unset VT_FAKE_NVML_FAULT
[ "$RC" -eq 1 ] && [ ! -s nonce.jwt ] && grep -q "NVML did not echo it" nonce.err &&
  ok "nonce not echoed: refused in the guest (exit 1)" || { bad "nonce: exit $RC"; cat nonce.err; }

[ "$fails" -eq 0 ] && echo "all NVML collection checks passed" || echo "$fails FAILED"
exit $((fails > 0))
