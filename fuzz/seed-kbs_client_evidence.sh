#!/bin/sh
# Seed the kbs_client_evidence fuzzer (SNP reports) with the real reports of $VERITEE_VECTORS (copied to DIR at run time).
set -eu
dir=$1
v=${VERITEE_VECTORS:-$(dirname "$0")/../../shared/vectors}
i=0
for f in "$v"/snp/*/report*.bin "$v"/peer_samples/snp_*/report.bin; do
  [ -f "$f" ] || continue
  i=$((i + 1)); cp "$f" "$dir/kbs_ev_$i"
done
