#!/bin/sh
# veritee verify --tee cca: exit codes of the contract (0 verified, 1 rejected, 2 unusable,
# 3 trust missing) on the shared CCA vectors, auto-detection, --nonce and --json output.
set -eu
BIN=${VERITEE_BIN:?VERITEE_BIN not set}
V=${VERITEE_VECTORS:-../shared/vectors}/cca
[ -d "$V/tokens" ] || { echo "SKIP: cca vectors absent"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect() { # expect CODE args...
  want=$1; shift
  rc=0; "$BIN" verify "$@" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" = "$want" ] || fail "verify $* exited $rc, want $want: $(cat "$T/err")"
}

for t in "$V"/tokens/*.cbor; do expect 0 --trust "$V/keys" "$t"; done
expect 0 --tee cca --cpak "$V/trust_anchor_stores/ta-02-ok.json" "$V/tokens/veraison_ssd_399.cbor"
expect 0 --cpak "$V/trust_anchor_stores/ta-tfa.json" "$V/tokens/tfa_ffm00_2023_399.cbor"
expect 1 --cpak "$V/keys/islet_cpak_p384.pem" "$V/tokens/tfrmm_ssd_399.cbor"
grep -q "platform_signature" "$T/err" || fail "wrong key message: $(cat "$T/err")"
expect 1 --cpak "$V/trust_anchor_stores/ta-tfa.json" "$V/negative/bad_binding_ssd_399.cbor"
grep -q "binding verification failed" "$T/err" || fail "binding message: $(cat "$T/err")"
expect 2 --cpak "$V/trust_anchor_stores/ta-02-bad.json" "$V/tokens/veraison_ssd_399.cbor"
expect 3 "$V/tokens/tfrmm_ssd_399.cbor"
grep -q -- "--cpak FILE" "$T/err" || fail "no CLI hint for missing trust: $(cat "$T/err")"
# options that cannot apply to a CCA token are refused, never ignored
expect 2 --trust "$V/keys" --allow-missing-crl "$V/tokens/tfrmm_ssd_399.cbor"
expect 2 --trust "$V/keys" --product milan "$V/tokens/tfrmm_ssd_399.cbor"
expect 2 --trust "$V/keys" --pcs-url http://127.0.0.1:1 --cache "$T" "$V/tokens/tfrmm_ssd_399.cbor"
expect 3 --cpak "$V/trust_anchor_stores/ta-tfa.json" "$V/tokens/veraison_2023_907.cbor"
for n in cmw_unwrapped_sign1_907 empty_collection_907 platform_only_907 untagged_entries_907 bogus_sign1_907; do
  expect 2 --tee cca --trust "$V/keys" "$V/negative/$n.cbor"
done
expect 2 --tee cca --trust "$V/keys" "$V/negative/wrong_top_level_tag18.cbor"
grep -q "wrong top-level tag 18" "$T/err" || fail "tag 18 message: $(cat "$T/err")"

ab=$(printf 'ab%.0s' $(seq 64))
expect 0 --cpak "$V/keys/tfa_test_cpak_p384.pem" --nonce "$ab" "$V/tokens/tfrmm_ssd_399.cbor"
expect 1 --cpak "$V/keys/tfa_test_cpak_p384.pem" --nonce 00 "$V/tokens/tfrmm_ssd_399.cbor"
expect 2 --cpak "$V/keys/tfa_test_cpak_p384.pem" --nonce xyz "$V/tokens/tfrmm_ssd_399.cbor"

expect 0 --json --cpak "$V/keys/tfa_test_cpak_p384.jwk" "$V/tokens/tfrmm_ssd_907.cbor"
for k in '"tee": "cca"' '"verified": true' '"rim": "0000000000000000000000000000000000000000000000000000000000000000"' \
         '"lifecycle_name": "secured"' '"name": "rak_binding"' '"instance_id": "0107060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918"'; do
  grep -q "$k" "$T/out" || fail "json lacks $k: $(cat "$T/out")"
done
expect 1 --json --cpak "$V/keys/veraison_alt_iak_p256.pem" "$V/tokens/veraison_2023_399.cbor"
grep -q '"verified": false' "$T/out" || fail "json rejection: $(cat "$T/out")"
echo "cli_cca: ok"
