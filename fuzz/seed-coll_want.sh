#!/bin/sh
# Seed the coll_want fuzzer with real SNP reports and a TDX quote of $VERITEE_VECTORS, each behind
# its selector byte (written to DIR at run time).
set -eu
dir=$1
v=${VERITEE_VECTORS:-$(dirname "$0")/../../shared/vectors}
i=0
for f in "$v"/snp/*/report.bin; do
  [ -f "$f" ] || continue
  i=$((i + 1)); { printf '\002'; cat "$f"; } >"$dir/snp_report_$i"
done
q="$v/tdx/dcapqvl_tdx_v4_b0c06f/quote.bin"
[ -f "$q" ] && { printf '\003'; cat "$q"; } >"$dir/tdx_quote"
exit 0
