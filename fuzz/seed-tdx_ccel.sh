#!/bin/sh
V=${VERITEE_VECTORS:-../shared/vectors}
for f in "$V"/tdx/ccel_cos113/ccel_*.bin; do [ -f "$f" ] && head -c 20000 "$f" > "$1/$(basename "$f")"; done
exit 0
