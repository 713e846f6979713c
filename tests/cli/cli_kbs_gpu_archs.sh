#!/bin/sh
# Emulated Blackwell GPUs and the PPCIe topology rule, end to end over loopback (docs/nvidia.md,
# "Emulated GPUs" and "PPCIe topology"):
#  1. an emulated Blackwell GPU verifies offline with its five-certificate GB20X-shaped chain and
#     the DiceTcbInfo FWID rule; the same device claimed as HOPPER is refused (fwid);
#  2. emulated TDX + a mixed set (Blackwell, Hopper) receives the model key from `veritee serve`
#     when the policy allows both architectures; with only HOPPER allowed the Blackwell GPU is
#     refused by gpu_architecture, with the reason in the EAR;
#  3. 8 emulated GPUs in PPCIe mode (HGX: 4 switches) receive the key under
#     nvidia.ppcie_topology; one GPU attached to another switch, 3 switches instead of 4, 7 GPUs
#     instead of 8, and a replayed GPU report are each refused, with the check in the EAR.
# Every command is bounded (timeout), the server listens on 127.0.0.1 only.
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
VT=$B
. "$HERE/../../scripts/kbs-env.sh"
. "$HERE/../fixtures/cli.sh"
need python3 timeout
on_exit() { kbs_stop "$KBS_PID"; }
KBS_PID=
cd "$tmp" || exit 1
kbs_keys . || { bad "keys"; exit 1; }
printf 'model-weights-key-%s' "$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')" >secret
echo '{"tee_types": ["tdx", "nvidia"], "min_gpus": 1}' >rpol.json

serve() { # serve EMU POLICY: a fresh broker on loopback for that emulator, the secret behind rpol.json
  kbs_stop "$KBS_PID"
  KBS_PID=
  kbs_start "$1.$2.log" --db "sqlite:$tmp/$1.$2.db" --trust "$1/trust" --collateral "$1/collateral" \
    --admin-key admin.pub.pem --kek-file kek.hex --ear-key ear.pem --policy "$2" \
    --max-sessions-per-client 100000 || return 1
  kbs_admin . resource put default/model/key secret >/dev/null &&
    kbs_admin . policy set-resource default/model/key rpol.json >/dev/null
}
guest() { # guest EMU NAME: attest with the emulator's GPUs; rc in RC, messages in NAME.err
  rm -f "$2.secret"
  RC=0
  timeout 90 "$B" attest -v --kbs "$KBS_URL" --tee tdx --emulator "$1" --gpu-evidence emulated \
    --resource default/model/key --token-out "$2.jwt" --timeout 20 -o "$2.secret" 2>"$2.err" || RC=$?
}
platform() { # platform EMU PY_EXPR: edit the emulated platform's nvidia section (d)
  python3 -c "import json; p='$1/platform.json'; j=json.load(open(p)); d=j['nvidia']; $2; json.dump(j, open(p, 'w'))"
}
submods() { # submods TOKEN: "cpu0=affirming gpu0=..." read from the verified EAR
  timeout 20 "$B" ear verify --key ear.pem --json "$1" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join("%s=%s" % (k, v["ear.status"]) for k, v in sorted(d["submods"].items())))'
}
granted() { # granted NAME WANT_SUBMODS
  if [ "$RC" -eq 0 ] && cmp -s "$1.secret" secret; then ok "$1: model key received"; else bad "$1: exit $RC: $(cat "$1.err")"; fi
  got=$(submods "$1.jwt")
  [ "$got" = "$2" ] && ok "$1: EAR submods $got" || bad "$1: EAR submods '$got', expected '$2'"
}
refused() { # refused NAME WANT_SUBMODS REASON_GREP
  if [ "$RC" -eq 1 ] && [ ! -s "$1.secret" ]; then ok "$1: no secret (exit 1)"; else bad "$1: exit $RC, secret: $(cat "$1.secret" 2>/dev/null)"; fi
  got=$(submods "$1.jwt")
  [ "$got" = "$2" ] && ok "$1: EAR submods $got" || bad "$1: EAR submods '$got', expected '$2'"
  grep -q "$3" "$1.err" && ok "$1: reason in the EAR ($3)" || { bad "$1: reason '$3' not shown"; cat "$1.err"; }
}

# --- 1. an emulated Blackwell GPU, offline
echo '{"tdx":{},"nvidia":{"gpus":2,"arch":["BLACKWELL","HOPPER"]}}' >mixed.json
kbs_emulate mix mixed.json || { bad "emulate init (mixed)"; exit 1; }
N=4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e
timeout 30 "$B" emulate gpu-evidence mix --nonce $N -o bw.json || bad "gpu-evidence"
expect 0 "verify --tee nvidia: emulated Blackwell + Hopper" timeout 30 "$B" verify --tee nvidia --trust mix/trust \
  --nonce $N --json bw.json
python3 - "$tmp/out" <<'PY' && ok "Blackwell: 5-certificate GB20X chain, GB202 opaque fields, Blackwell RIM ids" || bad "Blackwell claims"
import json, sys
d = json.load(open(sys.argv[1]))["devices"]
b, h = d[0], d[1]
assert b["arch"] == "BLACKWELL" and h["arch"] == "HOPPER", (b["arch"], h["arch"])
assert b["certificate_chain"] == ["Emulated GB20X A01 GSP FMC LF", "Emulated GB20X A01 GSP BROM",
    "Emulated NVIDIA GB202 Provisioner ICA 00000", "Emulated NVIDIA GB20X Identity",
    "Emulated NVIDIA Device Identity CA"], b["certificate_chain"]
assert len(h["certificate_chain"]) == 3, h["certificate_chain"]
c = b["config"]
assert c["chip_info"] == "GB202" and c["project"] == "G153" and c["feature_flag"] == "SPT", c
assert "sys_enable_status" in c and "protected_pcie_status" not in c, c
assert b["rim_ids"]["driver"] == "NV_GPU_CC_DRIVER_GB202_595.58.03", b["rim_ids"]
assert h["rim_ids"]["driver"].startswith("NV_GPU_DRIVER_GH100_"), h["rim_ids"]
assert b["emulated"] is True and len(b["measurements"]) == 64
PY
# the Blackwell device claimed as HOPPER: the Hopper FWID rule finds no 2.23.133.5.4.1 extension
python3 -c "import json; d=json.load(open('bw.json')); d['device_evidence_list'][0]['arch']='HOPPER'; json.dump(d, open('bw_as_hopper.json','w'))"
expect 1 "a Blackwell device claimed as HOPPER refused" timeout 30 "$B" verify --tee nvidia --trust mix/trust --nonce $N \
  bw_as_hopper.json
has "fwid"

# --- 2. TDX + Blackwell + Hopper through the broker
cat >pol_both.json <<'EOF'
{"id": "cvm-gpu", "emulated": "accept", "nvidia": {"architectures": ["HOPPER", "BLACKWELL"], "min_gpus": 2}}
EOF
cat >pol_hopper.json <<'EOF'
{"id": "cvm-gpu", "emulated": "accept", "nvidia": {"architectures": ["HOPPER"], "min_gpus": 2}}
EOF
serve mix pol_both.json || { bad "serve"; exit 1; }
guest mix both
granted both "cpu0=affirming gpu0=affirming gpu1=affirming"
timeout 20 "$B" ear verify --key ear.pem --json both.jwt | python3 -c '
import json, sys
d = json.load(sys.stdin)["submods"]
c = lambda g: d[g]["ear.veraison.annotated-evidence"]["nvidia"]["tee_claims"]
assert c("gpu0")["arch"] == "BLACKWELL" and c("gpu1")["arch"] == "HOPPER", (c("gpu0")["arch"], c("gpu1")["arch"])
assert c("gpu0")["driver_version"] == "595.58.03" and c("gpu0")["nvdec0"] == "disabled"
' && ok "EAR: gpu0 BLACKWELL, gpu1 HOPPER" || bad "EAR arch claims"
serve mix pol_hopper.json || { bad "serve"; exit 1; }
guest mix hopper_only
refused hopper_only "cpu0=affirming gpu0=contraindicated gpu1=affirming" "gpu_architecture.*BLACKWELL is not in"

# --- 3. PPCIe: 8 GPUs, 4 NVSwitches
echo '{"tdx":{},"nvidia":{"gpus":8,"feature":"PPCIE"}}' >hgx.json
kbs_emulate hgx hgx.json || { bad "emulate init (hgx)"; exit 1; }
cat >pol_ppcie.json <<'EOF'
{"id": "hgx", "emulated": "accept", "nvidia": {"ppcie": "required", "ppcie_topology": true}}
EOF
serve hgx pol_ppcie.json || { bad "serve"; exit 1; }
ALL8="gpu0=affirming gpu1=affirming gpu2=affirming gpu3=affirming gpu4=affirming gpu5=affirming gpu6=affirming gpu7=affirming"
BAD8="gpu0=contraindicated gpu1=contraindicated gpu2=contraindicated gpu3=contraindicated gpu4=contraindicated gpu5=contraindicated gpu6=contraindicated gpu7=contraindicated"
guest hgx topo_good
granted topo_good "cpu0=affirming $ALL8"
timeout 20 "$B" ear verify --key ear.pem --json topo_good.jwt | python3 -c '
import json, sys
d = json.load(sys.stdin)["submods"]
sw = [d["gpu%d" % i]["ear.veraison.annotated-evidence"]["nvidia"]["tee_claims"]["switch_pdis"] for i in range(8)]
assert all(len(s) == 4 and s == sw[0] for s in sw), sw
' && ok "EAR: each GPU names its 4 switch PDIs, the same for all" || bad "EAR switch_pdis"

platform hgx 'd["other_switch"] = [7]'
guest hgx topo_other
refused topo_other "cpu0=affirming $BAD8" "gpu_ppcie_topology.*gpu7 reports switches"
platform hgx 'd.pop("other_switch"); d["switches"] = 3'
guest hgx topo_three
refused topo_three "cpu0=affirming $BAD8" "gpu_ppcie_topology.*attached to 3 distinct switches .*the policy wants 4"
platform hgx 'd.pop("switches"); d["gpus"] = 7'
guest hgx topo_seven
refused topo_seven "cpu0=affirming $(echo "$BAD8" | sed 's/ gpu7=contraindicated//')" "gpu_ppcie_topology.*7 GPUs attested, the PPCIe system has 8"
platform hgx 'd["gpus"] = 8; d["replay"] = True'
guest hgx topo_replay
refused topo_replay "cpu0=affirming $ALL8 gpu8=contraindicated" "ueid_unique.*replayed report"

[ "$fails" -eq 0 ] && echo "all Blackwell and PPCIe checks passed" || echo "$fails FAILED"
exit $((fails > 0))
