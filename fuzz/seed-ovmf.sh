#!/bin/sh
# Seed fuzz_ovmf from the shared SNP measurement vectors (not copied into the repo).
set -eu
out=${1:?usage: seed-ovmf.sh DIR}
v=${VERITEE_VECTORS:-$(dirname "$0")/../../shared/vectors}
for f in "$v"/snp_measure/*.bin; do [ -f "$f" ] && cp "$f" "$out/" || true; done
