#!/bin/sh
# veritee verify --tee snp and veritee snp show: exit codes and output over the real vectors
# (0 verified, 1 rejected, 2 unusable input, 3 collateral or trust missing).
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
V=${VERITEE_VECTORS:-../shared/vectors}/snp
if [ ! -d "$V" ]; then echo "SKIP: $V not found (set VERITEE_VECTORS)"; exit 77; fi
T=2025-12-08T00:00:00Z
. "$(dirname "$0")/../fixtures/cli.sh"

for set in milan_v2_gosevguest milan_v2_trustee milan_v3_routex genoa_v3_siena_trustee genoa_v3_routex \
           genoa_v5_routex turin_v5_routex; do
  expect 0 "$set verifies" "$B" verify --tee snp --certs "$V/$set" --trust "$V/chains" --at $T "$V/$set/report.bin"
  has "VERIFIED"
done
expect 0 "VLEK with the ASVK chain" "$B" verify --certs "$V/milan_v3_vlek_trustee" --trust "$V/chains" --at $T "$V/milan_v3_vlek_trustee/report.bin"
expect 1 "VLEK after its notAfter" "$B" verify --certs "$V/milan_v3_vlek_trustee" --trust "$V/chains" --at 2025-12-11T00:00:00Z "$V/milan_v3_vlek_trustee/report.bin"
has "expired"
expect 0 "auto-detected, built-in ARK pins, JSON" "$B" verify --collateral "$V/turin_v5_routex" --at $T --json "$V/turin_v5_routex/report.bin"
has '"product": "Turin"'
has '"verified": true'
has '"checks"'
expect 3 "no certificates" "$B" verify --tee snp --at $T "$V/milan_v2_trustee/report.bin"
expect 3 "leaf without its chain, built-in pins" "$B" verify --tee snp --certs "$V/milan_v2_trustee" --at $T "$V/milan_v2_trustee/report.bin"
mkdir "$tmp/genoa"; cp "$V/chains/genoa_ask_ark.pem" "$tmp/genoa/"
expect 1 "ARK-Milan not among the --trust anchors" "$B" verify --certs "$V/milan_v3_routex" --trust "$tmp/genoa" --at $T "$V/milan_v3_routex/report.bin"
has "trusted root"
expect 1 "VCEK of another chip" "$B" verify --tee snp --certs "$V/milan_v2_gosevguest" --trust "$V/chains" --at $T "$V/milan_v2_trustee/report.bin"
expect 0 "nonce matches" "$B" verify --tee snp --certs "$V/milan_v2_gosevguest" --trust "$V/chains" --nonce 0102030405 --at $T "$V/milan_v2_gosevguest/report.bin"
expect 1 "nonce differs" "$B" verify --tee snp --certs "$V/milan_v2_gosevguest" --trust "$V/chains" --nonce 0102030406 --at $T "$V/milan_v2_gosevguest/report.bin"
expect 2 "--pcs-url is TDX's" "$B" verify --tee snp --certs "$V/milan_v2_gosevguest" --pcs-url http://127.0.0.1:1 --cache "$tmp" --at $T "$V/milan_v2_gosevguest/report.bin"
expect 2 "--cpak is CCA's" "$B" verify --tee snp --certs "$V/milan_v2_gosevguest" --cpak "$V/milan_v2_gosevguest/report.bin" --at $T "$V/milan_v2_gosevguest/report.bin"
expect 2 "bad --nonce" "$B" verify --tee snp --certs "$V/milan_v2_gosevguest" --nonce xyz --at $T "$V/milan_v2_gosevguest/report.bin"
expect 2 "unknown --product" "$B" verify --tee snp --certs "$V/milan_v2_trustee" --product rome --at $T "$V/milan_v2_trustee/report.bin"
expect 1 "--product disagrees" "$B" verify --tee snp --certs "$V/milan_v2_trustee" --trust "$V/chains" --product genoa --at $T "$V/milan_v2_trustee/report.bin"
head -c 1000 "$V/milan_v2_trustee/report.bin" >"$tmp/short.bin"
expect 2 "truncated report" "$B" verify --tee snp --certs "$V/milan_v2_trustee" --at $T "$tmp/short.bin"
expect 3 "missing --certs directory" "$B" verify --tee snp --certs "$tmp/nope" --at $T "$V/milan_v2_trustee/report.bin"

# veritee snp show
expect 0 "snp show" "$B" snp show "$V/turin_v5_routex/report.bin"
has "fmc"
has "3b42092f69c656d3"
expect 0 "snp show --json" "$B" snp show --json "$V/milan_v2_trustee/report.bin"
has '"guest_svn": 4'
expect 2 "snp show truncated" "$B" snp show "$tmp/short.bin"
[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all cli_snp checks passed"
