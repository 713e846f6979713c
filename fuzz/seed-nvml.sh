#!/bin/sh
# Seed the nvml fuzzer: the vectors' GPU reports (hex text) with their certificate chains, in the
# layout fuzz_nvml.c reads (arch, sizes, UUID buffer, report, chain).
set -eu
dir=$1
v=${VERITEE_VECTORS:-$(dirname "$0")/../../shared/vectors}
i=0
for f in "$v"/nvidia_hopper/*Report*.txt "$v"/nvidia_blackwell/*Report.txt; do
  [ -f "$f" ] || continue
  case "$f" in *claims*) continue ;; esac
  chain=$(ls "$(dirname "$f")"/*cert_chain*.txt "$(dirname "$f")"/*.pem 2>/dev/null | head -n 1 || true)
  i=$((i + 1))
  python3 - "$f" "${chain:-}" "$dir/nvml_$i" <<'PY'
import struct, sys
rep = bytes.fromhex(open(sys.argv[1]).read().strip())
pem = open(sys.argv[2], "rb").read() if sys.argv[2] else b"-----BEGIN CERTIFICATE-----\n"
arch = 2 if "blackwell" in sys.argv[1] else 1
uuid = b"GPU-00000000-0000-0000-0000-000000000000".ljust(96, b"\0")
open(sys.argv[3], "wb").write(bytes([arch]) + struct.pack("<II", len(rep), len(pem) + 1) + uuid + rep + pem)
PY
done
