#!/bin/sh
# veritee emulate + evidence get + verify, end to end for TDX, SEV-SNP and CCA: emulated evidence
# verifies with the emulator's trust and collateral (exit 0, "emulated": true) and is rejected
# without them or against another emulator; provider errors and evidence extend.
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
. "$(dirname "$0")/../fixtures/cli.sh"

E=$tmp/emu
expect 0 "emulate init" "$B" emulate init "$E"
expect 0 "second emulator" "$B" emulate init "$tmp/other"
expect 0 "emulate show" "$B" emulate show "$E"
has '"snp"'
has '"cca"'
RD=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
for tee in tdx snp cca; do
  expect 0 "$tee evidence" "$B" evidence get --tee "$tee" --report-data "$RD" --emulator "$E" -o "$tmp/$tee.bin"
  expect 0 "$tee verifies with the emulator's trust" "$B" verify --tee "$tee" --trust "$E/trust" \
    --collateral "$E/collateral" --json "$tmp/$tee.bin"
  has '"emulated": true'
  has '"verified": true'
  expect 0 "$tee detected by verify --tee auto" "$B" verify --trust "$E/trust" --collateral "$E/collateral" \
    "$tmp/$tee.bin"
  has 'EMULATED'
done
expect 1 "tdx without --trust: rejected" "$B" verify --tee tdx --collateral "$E/collateral" "$tmp/tdx.bin"
expect 1 "snp without --trust: rejected" "$B" verify --tee snp --collateral "$E/collateral" "$tmp/snp.bin"
expect 3 "cca without --trust: no CPAK" "$B" verify --tee cca "$tmp/cca.bin"
expect 1 "tdx against another emulator" "$B" verify --tee tdx --trust "$tmp/other/trust" \
  --collateral "$tmp/other/collateral" "$tmp/tdx.bin"
expect 1 "snp against another emulator" "$B" verify --tee snp --trust "$tmp/other/trust" \
  --collateral "$tmp/other/collateral" "$tmp/snp.bin"
# the CCA verifier reports "no trusted CPAK for this platform" as missing trust (3)
expect 3 "cca against another emulator" "$B" verify --tee cca --trust "$tmp/other/trust" "$tmp/cca.bin"
has "no trusted CPAK"

# variants
expect 0 "tdx quote v5" "$B" evidence get --tee tdx --nonce-text n --quote-version 5 --emulator "$E" -o "$tmp/q5.bin"
expect 0 "tdx v5 verifies" "$B" verify --trust "$E/trust" --collateral "$E/collateral" --json "$tmp/q5.bin"
has '"emulated": true'
expect 0 "snp v3, VMPL 2, with certificate table and auxblob" "$B" evidence get --tee snp --report-data "$RD" \
  --report-version 3 --vmpl 2 --extended --aux-out "$tmp/aux.bin" --emulator "$E" -o "$tmp/snpx.bin"
expect 0 "snp extended verifies with the trust anchor alone, nonce checked" "$B" verify --tee snp \
  --trust "$E/trust" --nonce "$RD" --json "$tmp/snpx.bin"
has '"vmpl": 2'
has '"version": 3'
expect 1 "snp wrong nonce" "$B" verify --tee snp --trust "$E/trust" --nonce 0102 "$tmp/snpx.bin"
cat "$tmp/snp.bin" "$tmp/aux.bin" >"$tmp/snp_aux.bin"
expect 0 "report + auxblob verifies" "$B" verify --tee snp --trust "$E/trust" "$tmp/snp_aux.bin"
# a realm that does not exist (a typo) is refused, not silently created
expect 3 "cca unknown realm refused" "$B" evidence get --tee cca --report-data "$RD" --realm dbb --emulator "$E" \
  -o "$tmp/typo.bin"
has "realm 'dbb' does not exist"
has "create-realm"
[ ! -e "$E/keys/cca_rak_dbb.key.pem" ] && echo "ok: no RAK made for the typo" || { echo "FAIL: RAK made for a typo"; fails=$((fails + 1)); }
expect 0 "cca tag 907, realm db (created explicitly)" "$B" evidence get --tee cca --report-data "$RD" --token-tag 907 \
  --realm db --create-realm --emulator "$E" -o "$tmp/cca907.bin"
expect 0 "realm db exists now: no --create-realm needed" "$B" evidence get --tee cca --report-data "$RD" --realm db \
  --emulator "$E" -o "$tmp/cca_db2.bin"
# --nonce is hex everywhere (= --report-data); --nonce-text is the hashed string
expect 0 "--nonce HEX" "$B" evidence get --tee snp --nonce "$RD" --emulator "$E" -o "$tmp/nh.bin"
expect 0 "... verifies with verify --nonce of the same hex" "$B" verify --tee snp --trust "$E/trust" \
  --collateral "$E/collateral" --nonce "$RD" "$tmp/nh.bin"
expect 2 "--nonce is not text" "$B" evidence get --tee snp --nonce hello --emulator "$E" -o "$tmp/nt.bin"
has "hex"
expect 0 "cca 907 verifies with the nonce" "$B" verify --tee cca --trust "$E/trust" --nonce "$RD" --json "$tmp/cca907.bin"
has '"emulated": true'
expect 0 "cca with --cpak" "$B" verify --tee cca --cpak "$E/trust/cca_cpak.json" "$tmp/cca.bin"

# SNP with a VLEK (ARK -> ASVK -> VLEK, SIGNING_KEY 1), from the collateral dir and from the
# extended report's certificate table
printf '{"snp": {"signing_key": "vlek", "rsa_bits": 2048}}' >"$tmp/vlek.json"
expect 0 "emulate init (VLEK)" "$B" emulate init "$tmp/vl" --platform "$tmp/vlek.json"
expect 0 "evidence get snp (VLEK)" "$B" evidence get --tee snp --nonce-text v --emulator "$tmp/vl" -o "$tmp/vl.bin"
expect 0 "verify VLEK report" "$B" verify --tee snp --trust "$tmp/vl/trust" --collateral "$tmp/vl/collateral" --json "$tmp/vl.bin"
has '"signing_key": "vlek"'
expect 0 "evidence get snp --extended (VLEK)" "$B" evidence get --tee snp --nonce-text v --emulator "$tmp/vl" --extended -o "$tmp/vle.bin"
expect 0 "verify VLEK from its certificate table" "$B" verify --tee snp --trust "$tmp/vl/trust" "$tmp/vle.bin"
expect 1 "VLEK report against the VCEK emulator's trust" "$B" verify --tee snp --trust "$E/trust" --collateral "$tmp/vl/collateral" "$tmp/vl.bin"
printf '{"snp": {"signing_key": "vlex"}}' >"$tmp/bad.json"
expect 2 "unknown signing_key" "$B" emulate init "$tmp/bad" --platform "$tmp/bad.json"

# arguments and providers
expect 2 "no report data" "$B" evidence get --tee snp --emulator "$E"
expect 2 "report data too long" "$B" evidence get --tee snp --report-data "${RD}00" --emulator "$E"
expect 2 "unknown tee" "$B" evidence get --tee sgx --nonce-text x --emulator "$E"
expect 2 "emulated without --tee" "$B" evidence get --nonce-text x --provider emulated --emulator "$E"
expect 3 "configfs-tsm absent" "$B" evidence get --nonce-text x --provider tsm --tsm-root "$tmp/no/tsm"
expect 3 "no guest device" "$B" evidence get --tee snp --nonce-text x --provider ioctl --device "$tmp/no-sev-guest"
expect 2 "ioctl has no CCA path" "$B" evidence get --tee cca --nonce-text x --provider ioctl
expect 0 "evidence get --help" "$B" evidence get --help
has "--tsm-root"

# RTMR extension through a tsm-mr directory, with the runtime log
mkdir "$tmp/mr"
head -c 48 /dev/zero >"$tmp/mr/rtmr3:sha384"
echo "config v1" >"$tmp/app.conf"
expect 0 "evidence extend" "$B" evidence extend --rtmr 3 --data-file "$tmp/app.conf" --mr-dir "$tmp/mr" --log "$tmp/rt.log"
has "RTMR3 extended"
[ "$(wc -c <"$tmp/mr/rtmr3:sha384")" -eq 48 ] || { echo "FAIL: RTMR file not 48 bytes"; fails=$((fails + 1)); }
[ -s "$tmp/rt.log" ] || { echo "FAIL: no runtime log"; fails=$((fails + 1)); }
expect 3 "extend without tsm-mr" "$B" evidence extend --rtmr 2 --digest "$(printf '%096d' 0)" --mr-dir "$tmp/mr"
expect 2 "extend bad index" "$B" evidence extend --rtmr 4 --digest "$(printf '%096d' 0)" --mr-dir "$tmp/mr"

[ "$fails" -eq 0 ] && echo "all passed" || echo "$fails failure(s)"
[ "$fails" -eq 0 ]
