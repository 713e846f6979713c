#!/bin/sh
# Seeds: the issuer chains of the TDX vectors, percent-encoded as PCS sends them.
V=${VERITEE_VECTORS:-../shared/vectors}
for f in "$V"/tdx/*/tcb_signing_chain.pem "$V"/tdx/*/pck_crl_issuer_chain.pem; do
  [ -f "$f" ] && python3 -c 'import sys, urllib.parse; sys.stdout.write(urllib.parse.quote(open(sys.argv[1]).read(), safe=""))' "$f" \
    > "$1/$(echo "$f" | tr '/' '_')"
done
exit 0
