#!/bin/sh
# veritee verify --tee nvidia: Trustee's device_evidence_list JSON built from the shared Hopper
# and Blackwell vectors; exit codes of the contract (0 verified, 1 rejected, 2 unusable input,
# 3 trust missing), --nonce (KBS report_data), --at, --trust FILE|DIR and --json.
set -eu
BIN=${VERITEE_BIN:?VERITEE_BIN not set}
V=${VERITEE_VECTORS:-../shared/vectors}
H=$V/nvidia_hopper
B=$V/nvidia_blackwell
[ -f "$H/hopperAttestationReport.txt" ] && [ -f "$B/blackwellAttestationReport.txt" ] ||
  { echo "SKIP: nvidia vectors absent"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 absent"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect() { # expect CODE args...
  want=$1; shift
  rc=0; "$BIN" verify --tee nvidia "$@" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" = "$want" ] || fail "verify $* exited $rc, want $want: $(cat "$T/err")"
}
# evidence OUT ARCH REPORT CHAIN [ARCH REPORT CHAIN ...]: hex evidence, base64 PEM chain
evidence() {
  out=$1; shift
  python3 - "$out" "$@" <<'PY'
import base64, json, sys
out, rest = sys.argv[1], sys.argv[2:]
devs = []
for i in range(0, len(rest), 3):
    arch, rep, chain = rest[i:i + 3]
    devs.append({"arch": arch, "uuid": "GPU-%d" % (i // 3), "evidence": open(rep).read().strip(),
                 "certificate": base64.b64encode(open(chain, "rb").read()).decode()})
open(out, "w").write(json.dumps({"device_evidence_list": devs}))
PY
}
evidence "$T/h.json" HOPPER "$H/hopperAttestationReport.txt" "$H/hopper_cert_chain_case1.txt"
evidence "$T/coco.json" HOPPER "$H/hopper_coco_report1.txt" "$H/hopper_coco_certs1.txt"
evidence "$T/b.json" BLACKWELL "$B/blackwellAttestationReport.txt" "$B/blackwell_cert_chain_case1.txt"
evidence "$T/two.json" HOPPER "$H/hopperAttestationReport.txt" "$H/hopper_cert_chain_case1.txt" \
  BLACKWELL "$B/coco/blackwell_coco_report.txt" "$B/coco/blackwell_coco_certs.txt"
evidence "$T/dup.json" BLACKWELL "$B/blackwellAttestationReport.txt" "$B/blackwell_cert_chain_case1.txt" \
  BLACKWELL "$B/blackwellAttestationReport.txt" "$B/blackwell_cert_chain_case1.txt"
evidence "$T/case3.json" HOPPER "$H/hopperAttestationReport.txt" "$H/hopper_cert_chain_case3.txt"
evidence "$T/case4.json" HOPPER "$H/hopperAttestationReport.txt" "$H/hopper_cert_chain_case4.txt"
HN=931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb
KBS_RD=87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fece279b616efefc2aae21da80cf5581250

expect 0 --at 2024-06-01T00:00:00Z --nonce "$HN" "$T/h.json"
grep -q "VERIFIED" "$T/out" || fail "no VERIFIED line: $(cat "$T/out")"
grep -q "550.90.07" "$T/out" || fail "driver version missing: $(cat "$T/out")"
expect 0 --at 2022-03-01T00:00:00Z --trust "$H/anchors/nvidia_device_root.pem" "$T/h.json"
expect 1 --at 2022-02-28T23:59:59Z "$T/h.json"
grep -q "cert_chain" "$T/err" || fail "not-yet-valid message: $(cat "$T/err")"
expect 0 --at 2024-06-01T00:00:00Z --trust "$B/anchors" --nonce "$KBS_RD" "$T/coco.json"
expect 1 --at 2024-06-01T00:00:00Z --nonce "$HN" "$T/coco.json"
grep -q "nonce" "$T/err" || fail "nonce message: $(cat "$T/err")"
expect 0 --at 2023-06-20T00:00:00Z "$T/b.json"
expect 1 --at 2023-06-19T23:59:59Z "$T/b.json"
expect 0 --at 2025-01-01T00:00:00Z "$T/two.json"
grep -q "2 devices" "$T/out" || fail "two devices: $(cat "$T/out")"
expect 1 --at 2025-01-01T00:00:00Z "$T/dup.json"
grep -q "ueid_unique" "$T/err" || fail "duplicate UEID message: $(cat "$T/err")"
expect 1 --at 2025-01-01T00:00:00Z "$T/case3.json"
expect 1 --at 2025-01-01T00:00:00Z "$T/case4.json"
grep -q "fwid" "$T/err" || fail "case4 message: $(cat "$T/err")"
expect 1 --at 2025-01-01T00:00:00Z --trust "$H/anchors/verifier_RIM_root.pem" "$T/h.json"
grep -q "root_pinned" "$T/err" || fail "pin message: $(cat "$T/err")"
expect 3 --trust "$T/absent.pem" "$T/h.json"
expect 2 --nonce xyz "$T/h.json"
expect 2 --pcs-url http://127.0.0.1:1/ --cache "$T" "$T/h.json" # options of other TEEs are refused, never ignored
expect 2 --collateral "$T" "$T/h.json"
expect 2 --cpak "$T/h.json" "$T/h.json"
printf '{"device_evidence_list":[{"arch":"HOPPER","evidence":"11e0","certificate":""}]}' >"$T/bad.json"
expect 2 "$T/bad.json"
printf 'not json' >"$T/bad2.json"
expect 2 "$T/bad2.json"
printf '{"device_evidence_list":[{"arch":"LS10","evidence":"11e0","certificate":""}]}' >"$T/ls10.json"
expect 2 "$T/ls10.json"

expect 0 --json --at 2024-06-01T00:00:00Z "$T/b.json"
for k in '"tee": "nvidia"' '"verified": true' '"ueid": "408762037488965241743361667085904172082023387885"' \
         '"driver_version": "595.58.03"' '"nvdec0_status": "enabled"' '"chip_info": "GB202"' \
         '"name": "report_signature"'; do
  grep -q "$k" "$T/out" || fail "json lacks $k: $(cat "$T/out")"
done
expect 1 --json --at 2024-06-01T00:00:00Z --nonce 00 "$T/b.json"
grep -q '"verified": false' "$T/out" || fail "json rejection: $(cat "$T/out")"

# RIMs: the sample VBIOS RIM verifies at 2024-06-01 and fails at 2026-01-01 (expired signer);
# matched against the coco report it fails at the known 0-based index 9, and says so
RR=$H/anchors/verifier_RIM_root.pem
VB=$H/rim/1010_0200_882_960074001A_PROD.swidtag
rim() { want=$1; shift; rc=0; "$BIN" rim "$@" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" = "$want" ] || fail "rim $* exited $rc, want $want: $(cat "$T/err")"; }
rim 0 verify --trust "$RR" --at 2024-06-01T00:00:00Z "$VB" "$H/rim/Driver_RIM_test_no_gpu.swidtag"
grep -q "96.00.74.00.1A VERIFIED (64 measurements, 12 active)" "$T/out" || fail "rim verify: $(cat "$T/out")"
rim 1 verify --trust "$RR" --at 2026-01-01T00:00:00Z "$VB"
grep -q "rim_chain.*expired" "$T/err" || fail "rim expiry message: $(cat "$T/err")"
rim 1 verify --trust "$H/anchors/nvidia_device_root.pem" --at 2024-06-01T00:00:00Z "$VB"
rim 3 verify --at 2024-06-01T00:00:00Z "$VB"
rim 2 verify --trust "$RR" --at 2024-06-01T00:00:00Z "$H/hopperAttestationReport.txt"
rim 0 verify --json --trust "$RR" --at 2024-06-01T00:00:00Z "$VB"
grep -q '"signer_not_after": "2025-09-05T08:35:22Z"' "$T/out" || fail "rim json: $(cat "$T/out")"
rim 1 match --trust "$RR" --at 2024-06-01T00:00:00Z --vbios "$VB" --nonce "$KBS_RD" "$T/coco.json"
grep -q "mismatch: index 9 (vbios RIM): runtime 059b32e7" "$T/out" || fail "rim match: $(cat "$T/out")"
grep -q "report (VERIFIED)" "$T/out" || fail "rim match did not verify the evidence: $(cat "$T/out")"
rim 1 match --trust "$RR" --at 2024-06-01T00:00:00Z --vbios "$VB" --nonce "$HN" "$T/coco.json"
grep -q "GPU evidence REJECTED" "$T/out" || fail "rim match, wrong nonce: $(cat "$T/out")"
rim 1 match --trust "$RR" --at 2024-06-01T00:00:00Z --vbios "$VB" --device-trust "$RR" "$T/coco.json"
grep -q "root_pinned" "$T/err" || fail "rim match, wrong device root: $(cat "$T/err")"
rim 1 match --json --trust "$RR" --at 2024-06-01T00:00:00Z --vbios "$VB" "$H/hopper_coco_report1.txt"
python3 - "$T/out" <<'PY' || fail "rim match json: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
r = d["result"]
assert d["matched"] is False and d["report_verified"] is False and len(r["matched"]) == 11, r
assert [m["index"] for m in r["mismatched"]] == [9], r["mismatched"]
assert r["mismatched"][0]["golden"][0].startswith("7f3e9382"), r["mismatched"]
PY
rim 1 match --trust "$RR" --at 2024-06-01T00:00:00Z --vbios "$VB" "$T/h.json"
grep -q "rim_version" "$T/err" || fail "version mismatch: $(cat "$T/err")"

# emulated GPUs: evidence from `veritee emulate gpu-evidence` verifies against the emulator's
# device root, is flagged EMULATED, and is refused by the built-in NVIDIA pin
printf '{"nvidia":{"gpus":2,"driver_version":"580.95.05"}}' >"$T/plat.json"
"$BIN" emulate init "$T/emu" --platform "$T/plat.json" --at 2026-06-01T00:00:00Z >/dev/null || fail "emulate init"
"$BIN" emulate gpu-evidence "$T/emu" --nonce "$KBS_RD" -o "$T/emu.json" || fail "emulate gpu-evidence"
expect 0 --at 2026-06-02T00:00:00Z --trust "$T/emu/trust/nvidia" --nonce "$KBS_RD" "$T/emu.json"
grep -q "EMULATED GPU" "$T/out" || fail "emulated flag: $(cat "$T/out")"
grep -q "580.95.05" "$T/out" || fail "emulated driver version: $(cat "$T/out")"
expect 1 --at 2026-06-02T00:00:00Z "$T/emu.json"
grep -q "root_pinned" "$T/err" || fail "emulated under the NVIDIA pin: $(cat "$T/err")"
expect 1 --at 2026-06-02T00:00:00Z --trust "$T/emu/trust/nvidia" --nonce "$HN" "$T/emu.json"
echo "cli_nvidia: ok"
