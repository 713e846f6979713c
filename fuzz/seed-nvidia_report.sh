#!/bin/sh
# Seed the nvidia_report fuzzer with the raw GPU reports of $VERITEE_VECTORS (hex text decoded
# into DIR at run time).
set -eu
dir=$1
v=${VERITEE_VECTORS:-$(dirname "$0")/../../shared/vectors}
i=0
for f in "$v"/nvidia_hopper/*Report*.txt "$v"/nvidia_hopper/hopper_coco_report*.txt \
         "$v"/nvidia_blackwell/*Report.txt "$v"/nvidia_blackwell/coco/*report*.txt; do
  [ -f "$f" ] || continue
  case "$f" in *claims*) continue ;; esac
  i=$((i + 1))
  python3 -c 'import sys; open(sys.argv[2], "wb").write(bytes.fromhex(open(sys.argv[1]).read().strip()))' \
    "$f" "$dir/nvidia_report_$i"
done
# a PPCIe-shaped report for the switch PDI and topology paths: the Blackwell capture with a
# switch_pdi TLV (4 PDIs and a disabled link) added and the feature flag set to PPCIE (the
# signature no longer holds; the parser and claims paths do not need it)
r="$v/nvidia_blackwell/blackwellAttestationReport.txt"
if [ -f "$r" ]; then
  python3 - "$r" "$dir/nvidia_report_ppcie" <<'PY'
import struct, sys
b = bytearray.fromhex(open(sys.argv[1]).read().strip())
l1 = int.from_bytes(b[42:45], "little")
at = 37 + 8 + l1 + 32
l2 = struct.unpack_from("<H", b, at)[0]
op, out, p = bytes(b[at + 2:at + 2 + l2]), b"", 0
while p < len(op):
    t, s = struct.unpack_from("<HH", op, p)
    v = op[p + 4:p + 4 + s]
    if t == 36:
        v = b"\x02" + v[1:]
    out += struct.pack("<HH", t, len(v)) + v
    p += 4 + s
pdis = b"".join(b"NVSW" + bytes([i, 0, 0xE5, 1]) for i in range(4)) + bytes(8)
out += struct.pack("<HH", 22, len(pdis)) + pdis
new = b[:at] + struct.pack("<H", len(out)) + out + b[at + 2 + l2:]
open(sys.argv[2], "wb").write(new)
PY
fi
# one evidence list (Trustee's device_evidence_list form) for the JSON path
r="$v/nvidia_hopper/hopperAttestationReport.txt"; c="$v/nvidia_hopper/hopper_cert_chain_case1.txt"
if [ -f "$r" ] && [ -f "$c" ]; then
  python3 -c 'import sys, json, base64
ev = open(sys.argv[1]).read().strip()
ce = base64.b64encode(open(sys.argv[2], "rb").read()).decode()
d = {"device_evidence_list": [{"arch": "HOPPER", "uuid": "GPU-0", "evidence": ev, "certificate": ce}]}
open(sys.argv[3], "w").write(json.dumps(d))' "$r" "$c" "$dir/nvidia_evidence_1"
fi
