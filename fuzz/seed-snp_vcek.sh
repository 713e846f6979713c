#!/bin/sh
# Seed the snp_vcek fuzzer with the VCEK/VLEK certificates of $VERITEE_VECTORS (copied at run time).
set -eu
dir=$1
v=${VERITEE_VECTORS:-$(dirname "$0")/../../shared/vectors}
i=0
for f in "$v"/snp/*/vcek.der "$v"/snp/*/vlek.der "$v"/snp/parser_only/*.der "$v"/peer_samples/snp_*/vcek.der; do
  [ -f "$f" ] || continue
  i=$((i + 1)); cp "$f" "$dir/snp_vcek_$i"
done
