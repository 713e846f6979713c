#!/bin/sh
# veritee verify / tdx replay-rtmr on the TDX vectors: exit codes and --json keys.
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
V=${VERITEE_VECTORS:-../shared/vectors}/tdx
if [ ! -d "$V" ]; then echo "SKIP: $V not found (set VERITEE_VECTORS)"; exit 77; fi
fail=0
expect() { # expected-exit description command...
  want=$1; shift; what=$1; shift
  "$@" >/tmp/vt-cli-out.$$ 2>/tmp/vt-cli-err.$$
  got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL: $what: exit $got, expected $want"; cat /tmp/vt-cli-err.$$; fail=1
  else
    echo "ok: $what (exit $got)"
  fi
}
has() { # pattern description
  if grep -q -- "$1" /tmp/vt-cli-out.$$; then echo "ok: $2"; else echo "FAIL: $2: no '$1' in output"; fail=1; fi
}
S=$V/dcapqvl_tdx_v4_b0c06f
expect 0 "v4 UpToDate" "$B" verify --collateral "$S" --at 2025-07-19T10:00:34Z --json "$S/quote.bin"
has '"tcb_status": "UpToDate"' "json tcb_status"
has '"tee": "tdx"' "json tee"
has '"mr_td": "91eb2b44' "json mr_td"
has '"advisory_ids": \[\]' "json advisory_ids"
has '"debug": false' "json debug"
has '"name": "quote_signature"' "json checks"
# An offline verification skips the system openssl.cnf, but a config the user names with
# OPENSSL_CONF is still read: one whose default properties no loaded provider has (fips=yes
# without the FIPS provider) leaves OpenSSL without algorithms, so the quote cannot verify.
printf 'openssl_conf = init\n[init]\nalg_section = evp\n[evp]\ndefault_properties = fips=yes\n' >/tmp/vt-cli-cnf.$$
expect 2 "OPENSSL_CONF is honoured by an offline verify" env OPENSSL_CONF=/tmp/vt-cli-cnf.$$ "$B" verify --collateral "$S" --at 2025-07-19T10:00:34Z "$S/quote.bin"
rm -f /tmp/vt-cli-cnf.$$
# The evidence kind is told before anything else is read (it decides OpenSSL's set-up): an
# undetectable file is reported as such even when the --init-data file is missing too.
printf 'not evidence\n' >/tmp/vt-cli-junk.$$
expect 2 "undetectable evidence reported before a missing --init-data" "$B" verify --init-data /nonexistent/init.toml /tmp/vt-cli-junk.$$
grep -q "cannot tell the evidence kind" /tmp/vt-cli-err.$$ && echo "ok: the kind is told first" || { echo "FAIL: not the evidence kind's message"; cat /tmp/vt-cli-err.$$; fail=1; }
rm -f /tmp/vt-cli-junk.$$
# --nonce is enforced for TDX and SGX quotes (issue 13): REPORTDATA must be the value, zero-padded
RD=9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20
expect 0 "tdx --nonce = REPORTDATA" "$B" verify --collateral "$S" --at 2025-07-19T10:00:34Z --nonce "$RD" "$S/quote.bin"
has "\[pass\] report_data" "report_data check passed"
expect 1 "tdx --nonce differs" "$B" verify --collateral "$S" --at 2025-07-19T10:00:34Z --nonce 00ff "$S/quote.bin"
has "\[fail\] report_data" "report_data check failed"
expect 2 "tdx --nonce not hex" "$B" verify --collateral "$S" --at 2025-07-19T10:00:34Z --nonce xyz "$S/quote.bin"
expect 0 "validity is inclusive: at the PCK CRL's nextUpdate second" "$B" verify --collateral "$S" --at 2025-07-19T10:00:35Z "$S/quote.bin"
# every option applies or is refused (exit 2), never silently ignored
expect 2 "--product is SNP's" "$B" verify --collateral "$S" --product milan --at 2025-07-19T10:00:34Z "$S/quote.bin"
grep -q "applies to SNP.* evidence only" /tmp/vt-cli-err.$$ && echo "ok: refusal names the kind" || { echo "FAIL: refusal message"; fail=1; }
expect 2 "--kds-url is SNP's" "$B" verify --collateral "$S" --kds-url http://127.0.0.1:1 --cache /tmp "$S/quote.bin"
expect 2 "--cpak is CCA's" "$B" verify --collateral "$S" --cpak "$S/quote.bin" "$S/quote.bin"
expect 2 "--pcs-url needs --cache" "$B" verify --pcs-url http://127.0.0.1:1 "$S/quote.bin"
expect 0 "--cache alone is the collateral directory" "$B" verify --cache "$S" --at 2025-07-19T10:00:34Z "$S/quote.bin"
expect 3 "missing collateral names where it comes from" "$B" verify --at 2025-07-19T10:00:34Z "$S/quote.bin"
grep -q -- "--pcs-url" /tmp/vt-cli-err.$$ && echo "ok: CLI hint" || { echo "FAIL: CLI hint"; fail=1; }
expect 0 "auto-detected tdx" "$B" verify --tee tdx --trust "$V/common" --collateral "$S" --at 2025-07-19T10:00:34Z "$S/quote.bin"
expect 1 "one second after the PCK CRL expired" "$B" verify --collateral "$S" --at 2025-07-19T10:00:36Z "$S/quote.bin"
grep -q "expired on 2025-07-19T10:00:35Z" /tmp/vt-cli-err.$$ && echo "ok: expiry message" || { echo "FAIL: expiry message"; fail=1; }
expect 3 "no collateral" "$B" verify --at 2025-07-19T10:00:34Z "$S/quote.bin"
expect 2 "bad --at" "$B" verify --collateral "$S" --at yesterday "$S/quote.bin"
expect 2 "unknown option" "$B" verify --frobnicate "$S/quote.bin"
expect 2 "not evidence" "$B" verify --collateral "$S" "$S/qe_identity.json"
expect 2 "missing file" "$B" verify --collateral "$S" /nonexistent/quote.bin
S=$V/dcapqvl_sgx_v3_00a067
expect 0 "SGX v3" "$B" verify --collateral "$S" --at 2025-07-19T10:01:17Z --json "$S/quote.bin"
has '"tcb_status": "ConfigurationAndSWHardeningNeeded"' "sgx status"
has 'INTEL-SA-00615' "sgx advisories"
has '"tee": "sgx"' "json tee sgx"
expect 1 "sgx --nonce differs" "$B" verify --collateral "$S" --at 2025-07-19T10:01:17Z --nonce 01 "$S/quote.bin"
S=$V/dcapqvl_tdx_v5_90c06f_no_tcb_level
expect 1 "no TCB level" "$B" verify --collateral "$S" --at 2026-03-20T10:41:14Z "$S/quote.bin"
S=$V/trustee_tdx_v4_00a06d_outofdate
expect 3 "missing PCK CRL fails closed" "$B" verify --collateral "$S" --at 2025-11-01T00:00:00Z "$S/quote.bin"
expect 0 "OutOfDate with --allow-missing-crl" "$B" verify --allow-missing-crl --collateral "$S" --at 2025-11-01T00:00:00Z --json "$S/quote.bin"
has '"tcb_status": "OutOfDate"' "outofdate status"
has '"revocation_checked": false' "revocation unknown reported"
S=$V/pcs2023_tdx_v4_50806f
expect 0 "debug TD verifies (policy decides)" "$B" verify --collateral "$S" --at 2023-07-01T01:00:00Z --json "$S/quote_trustee_4.bin"
has '"debug": true' "debug flagged"
S=$V/ccel_cos113
expect 0 "CCEL replay matches the quote" "$B" tdx replay-rtmr --quote "$S/quote.bin" "$S/ccel_acpi_table.bin" "$S/ccel_event_log.bin"
has "rtmr0 3fa2f61f" "rtmr0 value"
has "matches quote" "match reported"
expect 1 "CCEL replay against another quote" "$B" tdx replay-rtmr --quote "$V/dcapqvl_tdx_v4_b0c06f/quote.bin" "$S/ccel_event_log.bin"
rm -f /tmp/vt-cli-out.$$ /tmp/vt-cli-err.$$
exit $fail
