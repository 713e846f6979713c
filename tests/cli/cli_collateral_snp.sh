#!/bin/sh
# veritee collateral fetch|show|refresh for SEV-SNP against the fake AMD KDS on loopback
# (tests/fixtures/fake_pcs.py --kds-dir): on the real vectors (pinned ARKs, no --trust) the
# chain and the VCEK are checked and cached and the cache alone verifies the report; on an
# emulated platform (its ARK-signed CRL too): a fresh cache asks nothing, a tampered answer is
# refused and not cached, 429 with Retry-After is waited out, an outage is exit 3 while the
# cache still verifies, and a kill -9 in the middle of an answer leaves a usable cache.
set -u
B=${VERITEE_BIN:?}
HERE=$(cd "$(dirname "$0")" && pwd)
V=${VERITEE_VECTORS:-../shared/vectors}/snp
if [ ! -f "$V/chains/milan_ask_ark.pem" ]; then
    echo "SKIP: no SEV-SNP vectors at $V (set VERITEE_VECTORS)"
    exit 77
fi
REF=2025-12-08T00:00:00Z
. "$HERE/../fixtures/cli.sh"
T=$tmp
revoked_checked() { seen "\[pass\] revocation .*CRL(s) from ARK-Milan: not revoked" && ok "the cached CRL was consulted" || bad "no CRL consulted: $(output)"; }
mkdir -p "$T/kds"
fake_pcs --dir "$T" --kds-dir "$V/chains:$V"
KDS="--kds-url http://127.0.0.1:$PORT"

# --- real vectors: pinned ARKs, no --trust -------------------------------------------------
C=$T/real
expect 3 "a Milan report: chain and VCEK cached, no AMD CRL in the vectors" \
    "$B" collateral fetch $KDS --cache "$C" --at $REF "$V/milan_v3_routex/report.bin"
seen "vcek/v1/Milan/crl: HTTP status 404" && ok "the missing CRL is named" || bad "message: $(output)"
[ -f "$C/vcek/Milan/cert_chain.pem" ] && ok "ASK/ARK chain cached" || bad "no chain"
ls "$C"/vcek/Milan/a3fdc2c6*/bl4-tee0-snp24-ucode219/vcek.der >/dev/null 2>&1 && ok "VCEK cached by chip and TCB" || bad "no VCEK"
expect 0 "the cache alone verifies the report, without --trust" "$B" verify --tee snp --cache "$C" --at $REF "$V/milan_v3_routex/report.bin"
seen "VERIFIED (Milan" && ok "verified against the pinned ARK" || bad "verdict: $(output)"
expect 3 "the VCEK alone, without the cache, names what is missing" "$B" verify --tee snp --certs "$V/milan_v2_trustee/vcek.der" --at $REF "$V/milan_v2_trustee/report.bin"
HW=$(od -An -tx1 -j $((0x1a0)) -N 64 "$V/milan_v2_trustee/report.bin" | tr -d ' \n')
expect 3 "a chip and TCB from the command line" "$B" collateral fetch $KDS --cache "$C" --at $REF --json \
    --chip "$HW" --tcb 0x7308000000000003 --product milan
seen '"installed": 1' && ok "its VCEK installed (the chain was fresh)" || bad "report: $(output)"
expect 0 "a version-2 report verifies from the cache (its VCEK found under every product)" \
    "$B" verify --tee snp --cache "$C" --at $REF "$V/milan_v2_trustee/report.bin"
for p in genoa_v5_routex turin_v5_routex; do
    expect 3 "$p: chain and VCEK" "$B" collateral fetch $KDS --cache "$C" --at $REF "$V/$p/report.bin"
    expect 0 "$p verifies from the cache" "$B" verify --tee snp --cache "$C" --at $REF "$V/$p/report.bin"
done
expect 3 "a VLEK report: the ASVK chain (its CRL is missing)" "$B" collateral fetch $KDS --cache "$C" --at 2025-12-09T00:00:00Z "$V/milan_v3_vlek_trustee/report.bin"
[ -f "$C/vlek/Milan/cert_chain.pem" ] && ok "ASVK/ARK chain cached" || bad "no ASVK chain"
ctl '{"tamper": true}'
expect 1 "a tampered chain is refused" "$B" collateral fetch $KDS --cache "$T/real2" --at $REF "$V/milan_v3_routex/report.bin"
[ -e "$T/real2/vcek/Milan/cert_chain.pem" ] && bad "the tampered chain was cached" || ok "nothing cached"
ctl '{"tamper": false}'
"$B" collateral show --cache "$C" --at $REF --json >"$T/show"
python3 - "$T/show" <<'EOF' && ok "show lists the SNP items with their windows" || bad "show: $(cat "$T/show")"
import json, sys
items = json.load(open(sys.argv[1]))
snp = [i for i in items if i["tee"] == "snp"]
kinds = sorted(set(i["kind"] for i in snp))
assert kinds == ["cert_chain", "vcek"], kinds
assert all(i["state"] == "valid" and i["expires_in_seconds"] > 0 for i in snp), snp
assert len([i for i in snp if i["kind"] == "vcek"]) == 4, snp
assert any(i["path"] == "vlek/Milan/cert_chain.pem" and i["next_update"] == "2045-10-22T17:23:05Z" for i in snp), snp
EOF

# --- an emulated platform, whose CRL the test PKI signs -------------------------------------
"$B" emulate init "$T/emu" >/dev/null || bad "emulate init"
"$B" evidence get --tee snp --emulator "$T/emu" --nonce-text x -o "$T/r.bin" >/dev/null 2>&1 || bad "emulated report"
cp "$T/emu/collateral/snp_cert_chain.pem" "$T/kds/milan_ask_ark.pem"
cp "$T/emu/collateral/snp_vcek.der" "$T/kds/vcek.der"
cp "$T/emu/collateral/snp_ark.crl" "$T/kds/milan_crl.der"
ctl "{\"kds\": \"$T/kds\"}"
E="--trust $T/emu/trust/snp_ark.pem"
C=$T/cache
expect 1 "the emulated ARK is not trusted by default" "$B" collateral fetch $KDS --cache "$T/c0" "$T/r.bin"
seen "not the trusted (pinned) ARK-Milan" && ok "refused as unpinned" || bad "message: $(output)"
n0=$(requests)
expect 0 "fetch with the emulated ARK as trust" "$B" collateral fetch $KDS $E --cache "$C" --json "$T/r.bin"
n1=$(requests)
[ $((n1 - n0)) = 3 ] && ok "three requests: chain, VCEK, CRL" || bad "$((n1 - n0)) requests"
for f in vcek/Milan/cert_chain.pem vcek/Milan/crl.der; do [ -f "$C/$f" ] && ok "cached $f" || bad "not cached: $f"; done
expect 0 "verified from the cache with the CRL required" "$B" verify --tee snp --trust "$T/emu/trust" --cache "$C" "$T/r.bin"
revoked_checked
n0=$(requests)
expect 0 "fetch again" "$B" collateral fetch $KDS $E --cache "$C" --json "$T/r.bin"
[ "$(requests)" = "$n0" ] && ok "fresh cache: zero requests" || bad "fresh cache made requests"
seen '"fresh": 3' && ok "three fresh items reported" || bad "report: $(output)"
sum0=$(cat "$C"/vcek/Milan/crl.der "$C"/vcek/Milan/cert_chain.pem | sha256sum)
ctl '{"tamper": true}'
expect 1 "a tampered CRL/chain is refused" "$B" collateral fetch $KDS $E --cache "$C" --force "$T/r.bin"
ctl '{"tamper": false}'
[ "$(cat "$C"/vcek/Milan/crl.der "$C"/vcek/Milan/cert_chain.pem | sha256sum)" = "$sum0" ] && ok "the cached items stayed" || bad "a refused answer replaced a cached item"
ctl '{"queue": [{"status": 429, "retry_after": 1}]}'
expect 0 "429 with Retry-After is waited out" "$B" collateral fetch $KDS $E --cache "$C" --force --json "$T/r.bin"
seen '"rate_limited": 1' && seen '"waited_ms": 1000' && ok "one 429, 1 s waited" || bad "report: $(output)"
ctl '{"down": true}'
expect 3 "KDS down (503): exit 3" "$B" collateral refresh $KDS $E --cache "$C" --force
expect 0 "the cache alone still verifies during the outage" "$B" verify --tee snp --trust "$T/emu/trust" --cache "$C" "$T/r.bin"
revoked_checked
ctl '{"down": false}'
n0=$(requests)
expect 0 "refresh: the SNP items the cache holds (none due)" "$B" collateral refresh $KDS $E --cache "$C" --json
[ "$(requests)" = "$n0" ] && ok "refresh of a fresh cache asks nothing" || bad "refresh made requests"

# --- kill -9 while an answer is half-received leaves a usable cache -------------------------
ctl '{"stall": 30}'
n0=$(requests)
"$B" collateral fetch $KDS $E --cache "$C" --force "$T/r.bin" >/dev/null 2>&1 &
vp=$!
# killed once its first request has reached the upstream (whose answer then stalls half-sent),
# not after a fixed second: on a loaded machine the fetch may not have asked anything by then
for _ in $(seq 300); do [ "$(requests)" -gt "$n0" ] && break; sleep 0.1; done
[ "$(requests)" -gt "$n0" ] || bad "the fetch asked nothing upstream within 30 s"
kill -9 $vp 2>/dev/null
wait $vp 2>/dev/null
expect 0 "after kill -9 mid-answer the cache verifies" "$B" verify --tee snp --trust "$T/emu/trust" --cache "$C" "$T/r.bin"
revoked_checked
find "$C" -name "*.tmp*" | grep -q . && bad "a temporary file was left" || ok "no torn or temporary file"
"$B" collateral show --cache "$C" --json | grep -q unreadable && bad "an unreadable item" || ok "every item readable"

echo "$fails failure(s)"
[ "$fails" = 0 ]
