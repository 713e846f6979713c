#!/bin/sh
# Seeds: RIM service answers carrying the sample RIMs of $VERITEE_VECTORS (written at run time).
set -eu
v=${VERITEE_VECTORS:-$(dirname "$0")/../../shared/vectors}
i=0
for f in "$v"/nvidia_hopper/rim/*.swidtag; do
  [ -f "$f" ] || continue
  i=$((i + 1))
  python3 -c 'import base64, hashlib, json, sys; x = open(sys.argv[1], "rb").read(); print(json.dumps({"id": "NV_GPU_VBIOS_1010_0200_882_960074001A", "rim": base64.b64encode(x).decode(), "sha256": hashlib.sha256(x).hexdigest()}))' "$f" >"$1/rim_service_$i"
done
