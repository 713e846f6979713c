#!/bin/sh
V=${VERITEE_VECTORS:-../shared/vectors}
[ -f "$V/tpm/tpm_evidence.json" ] && cp "$V/tpm/tpm_evidence.json" "$1/"
exit 0
