#!/bin/sh
V=${VERITEE_VECTORS:-../shared/vectors}
for f in "$V"/az_snp_vtpm/hcl-report.bin "$V"/az_tdx_vtpm/hcl-report.bin "$V"/az_snp_vtpm/evidence-v1.json; do
  [ -f "$f" ] && cp "$f" "$1/$(echo "$f" | tr / _)"
done
exit 0
