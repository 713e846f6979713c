#!/bin/sh
V=${VERITEE_VECTORS:-../shared/vectors}
for f in "$V"/tdx/*/tcbinfo_*.json "$V"/tdx/*/qe_identity.json; do [ -f "$f" ] && cp "$f" "$1/$(echo "$f" | tr '/' '_')"; done
exit 0
