#!/bin/sh
# veritee measure CLI: SNP rows of vectors/snp_measure through the command line, the must-fail
# row's exit code, CCEL replay of vectors/tdx/ccel_cos113 against the quote's RTMRs, and a
# CCA RIM from a realm config (value cross-checked in docs/measure.md).
set -eu
BIN=${VERITEE_BIN:?VERITEE_BIN not set}
V=${VERITEE_VECTORS:-../shared/vectors}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
: >"$T/empty"

if [ -f "$V/snp_measure/ovmf_AmdSev_suffix.bin" ]; then
  AMD=$V/snp_measure/ovmf_AmdSev_suffix.bin
  X64=$V/snp_measure/ovmf_OvmfX64_suffix.bin
  got=$("$BIN" measure snp --firmware "$AMD" --vcpus 1 --vcpu-type EPYC-v4 --guest-features 0x1 \
        --kernel "$T/empty" --initrd "$T/empty" --append "console=ttyS0 loglevel=7" --hex)
  [ "$got" = 6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa ] || fail "snp row 3: $got"
  got=$("$BIN" measure snp --firmware "$X64" --guest-features 0x21 --hex)
  [ "$got" = 28797ae0afaba4005a81e629acebfb59e6687949d6be44007cd5506823b0dd66f146aaae26ff291eed7b493d8a64c385 ] || fail "snp row 8: $got"
  got=$("$BIN" measure snp --firmware "$AMD" --mode seves --vcpus 4 --kernel "$T/empty" --hex)
  [ "$got" = 0dccbcaba8e90b261bd0d2e1863a2f9da714768b7b2a19363cd6ae35aa90de91 ] || fail "seves row 12: $got"
  # numbers read one way: "04" and "0x4" are four; "010" is ten, not octal eight
  got=$("$BIN" measure snp --firmware "$AMD" --mode seves --vcpus 04 --kernel "$T/empty" --hex)
  [ "$got" = 0dccbcaba8e90b261bd0d2e1863a2f9da714768b7b2a19363cd6ae35aa90de91 ] || fail "--vcpus 04: $got"
  a=$("$BIN" measure snp --firmware "$AMD" --mode seves --vcpus 010 --kernel "$T/empty" --hex)
  b=$("$BIN" measure snp --firmware "$AMD" --mode seves --vcpus 10 --kernel "$T/empty" --hex)
  c=$("$BIN" measure snp --firmware "$AMD" --mode seves --vcpus 8 --kernel "$T/empty" --hex)
  [ "$a" = "$b" ] && [ "$a" != "$c" ] || fail "--vcpus 010 is not ten"
  got=$("$BIN" measure snp --firmware "$AMD" --mode ovmf-hash --hex)
  [ "$got" = 086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d466b74 ] || fail "ovmf hash: $got"
  # must-fail row: kernel hashes asked of a firmware without SNP_KERNEL_HASHES -> exit 2
  rc=0; "$BIN" measure snp --firmware "$X64" --kernel "$T/empty" --hex >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" = 2 ] || fail "must-fail row exit $rc"
  grep -q SNP_KERNEL_HASHES "$T/err" || fail "must-fail message: $(cat "$T/err")"
  # JSON for the reference-value store
  "$BIN" measure snp --firmware "$AMD" --vcpus 2 --vcpu-type EPYC-Milan >"$T/snp.json"
  grep -q '"tee": "snp"' "$T/snp.json" && grep -q '"name": "launch_measurement"' "$T/snp.json" \
    && grep -q '"vcpu_sig": "0x00a00f11"' "$T/snp.json" || fail "snp json: $(cat "$T/snp.json")"
  # ID block with a fresh P-384 key
  if command -v openssl >/dev/null 2>&1; then
    openssl ecparam -name secp384r1 -genkey -noout -out "$T/id.pem" 2>/dev/null
    "$BIN" measure snp --firmware "$AMD" --id-key "$T/id.pem" --family-id 00112233445566778899aabbccddeeff >"$T/id.json"
    grep -q '"id_auth"' "$T/id.json" && grep -q '"id_key_digest"' "$T/id.json" || fail "id block json"
  fi
else
  echo "SKIP: snp_measure vectors absent"
fi

C=$V/tdx/ccel_cos113
if [ -f "$C/ccel_event_log.bin" ]; then
  "$BIN" measure tdx --event-log "$C/ccel_event_log.bin" --hex >"$T/rtmr"
  # RTMR0..3 of the TDX v4 quote: header 48 + body offset 328
  od -An -tx1 -v -j 376 -N 192 "$C/quote.bin" | tr -d ' \n' | fold -w 96 >"$T/want"
  echo >>"$T/want"
  cmp -s "$T/rtmr" "$T/want" || fail "RTMR replay differs from the quote: $(cat "$T/rtmr")"
else
  echo "SKIP: ccel_cos113 vector absent"
fi

# CCA: 10000-byte "kernel" (byte i = (7i+3) mod 256) and 300-byte "dtb" ((13i+1) mod 256)
awk 'BEGIN { for (i = 0; i < 10000; i++) printf "%c", (i * 7 + 3) % 256 }' LC_ALL=C >"$T/kernel"
awk 'BEGIN { for (i = 0; i < 300; i++) printf "%c", (i * 13 + 1) % 256 }' LC_ALL=C >"$T/dtb"
if [ "$(wc -c <"$T/kernel")" -eq 10000 ] && [ "$(wc -c <"$T/dtb")" -eq 300 ]; then
  cat >"$T/realm.json" <<'JSON'
{ "rmm_version": "1.0", "hash_algo": "sha256", "ipa_bits": 40, "num_bps": 6, "num_wps": 6,
  "ram": [{"base": "0x80000000", "size": "0x40201000"}],
  "kernel_ipa": "0x80080000", "dtb_ipa": "0x8FE00010" }
JSON
  got=$("$BIN" measure cca --realm-config "$T/realm.json" --kernel "$T/kernel" --dtb "$T/dtb" --hex)
  [ "$got" = 71e33d03fb4591f4dfbcca873cc119f7191b66b52fe958b04e6a95325df929e3 ] || fail "cca rim: $got"
  echo '{"rmm_version":"1.0","hash_algo":"sha256","ipa_bits":40,"typo":1}' >"$T/bad.json"
  rc=0; "$BIN" measure cca --realm-config "$T/bad.json" --hex >/dev/null 2>&1 || rc=$?
  [ "$rc" = 2 ] || fail "unknown key accepted"
else
  echo "SKIP: awk cannot write binary bytes here"
fi

rc=0; "$BIN" measure tdx >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "tdx without inputs exit $rc"
echo "cli_measure: ok"
