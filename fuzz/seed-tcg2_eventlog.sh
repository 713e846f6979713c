#!/bin/sh
V=${VERITEE_VECTORS:-../shared/vectors}
for f in "$V"/aael/vtpm-synthetic/*.bin "$V"/aael/CCEL_AAEL_alibabacloud; do [ -f "$f" ] && cp "$f" "$1/"; done
[ -f "$V/ccel_gcp_gke/CCEL_data_gcp" ] && head -c 20400 "$V/ccel_gcp_gke/CCEL_data_gcp" > "$1/gcp"
exit 0
