#!/bin/sh
V=${VERITEE_VECTORS:-../shared/vectors}
for f in "$V"/az_snp_vtpm/hcl-report.bin "$V"/az_tdx_vtpm/hcl-report.bin "$V"/az_snp_vtpm/azure-cvm-tooling/hcl-report-snp.bin; do
  [ -f "$f" ] && cp "$f" "$1/$(basename "$(dirname "$f")")-$(basename "$f")"
done
exit 0
