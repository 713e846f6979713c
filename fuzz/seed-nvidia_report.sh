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
# one evidence list (Trustee's device_evidence_list form) for the JSON path
r="$v/nvidia_hopper/hopperAttestationReport.txt"; c="$v/nvidia_hopper/hopper_cert_chain_case1.txt"
if [ -f "$r" ] && [ -f "$c" ]; then
  python3 -c 'import sys, json, base64
ev = open(sys.argv[1]).read().strip()
ce = base64.b64encode(open(sys.argv[2], "rb").read()).decode()
d = {"device_evidence_list": [{"arch": "HOPPER", "uuid": "GPU-0", "evidence": ev, "certificate": ce}]}
open(sys.argv[3], "w").write(json.dumps(d))' "$r" "$c" "$dir/nvidia_evidence_1"
fi
