#!/bin/sh
# Seeds: the CCA tokens and negative vectors of $VERITEE_VECTORS/cca (copied into the fuzz
# work dir only), and the trust anchors for the store loader.
V=${VERITEE_VECTORS:-../shared/vectors}
for f in "$V"/cca/tokens/*.cbor "$V"/cca/negative/*.cbor "$V"/cca/keys/* "$V"/cca/trust_anchor_stores/*; do
  [ -f "$f" ] && cp "$f" "$1/$(echo "$f" | tr '/' '_')"
done
exit 0
