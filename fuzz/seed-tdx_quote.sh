#!/bin/sh
# Seeds: the real quotes of $VERITEE_VECTORS/tdx (copied into the fuzz work dir only).
V=${VERITEE_VECTORS:-../shared/vectors}
for f in "$V"/tdx/*/quote*.bin; do [ -f "$f" ] && cp "$f" "$1/$(echo "$f" | tr '/' '_')"; done
exit 0
