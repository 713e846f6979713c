#!/bin/sh
# Seeds: a policy byte (0x00: strict) followed by each CCA token of $VERITEE_VECTORS/cca.
V=${VERITEE_VECTORS:-../shared/vectors}
for f in "$V"/cca/tokens/*.cbor "$V"/cca/negative/*.cbor; do
  [ -f "$f" ] && { printf '\000'; cat "$f"; } > "$1/$(echo "$f" | tr '/' '_')"
done
exit 0
