#!/bin/sh
V=${VERITEE_VECTORS:-../shared/vectors}
for f in "$V"/aael/legacy-text/AAEL_data_*; do [ -f "$f" ] && cp "$f" "$1/"; done
exit 0
