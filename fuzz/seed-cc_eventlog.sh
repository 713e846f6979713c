#!/bin/sh
# Seeds: a firmware log and a vTPM agent log, joined with the 2-byte split the target reads.
V=${VERITEE_VECTORS:-../shared/vectors}
fw="$V/ccel_gcp_gke/CCEL_data_gcp"
for aa in "$V"/aael/vtpm-synthetic/*.bin; do
  [ -f "$fw" ] && [ -f "$aa" ] || continue
  { printf '\117\175'; head -c 20349 "$fw"; cat "$aa"; } > "$1/$(basename "$aa")"
done
exit 0
