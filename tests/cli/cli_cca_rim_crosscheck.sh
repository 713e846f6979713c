#!/bin/sh
# The CCA cross-check of the measure issue: a realm emulated from a realm config, kernel and DTB
# shows, in its verified attestation token, the same RIM that `veritee measure cca` computes
# from the same inputs (RMM 1.0 with SHA-256 and RMM 2.0 with SHA-512); a changed kernel byte
# changes it. The RIM algorithm itself is cross-checked independently in docs/measure.md.
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
. "$(dirname "$0")/../fixtures/cli.sh"
head -c 20000 /dev/urandom >"$tmp/Image"
head -c 3000 /dev/urandom >"$tmp/realm.dtb"

run() { # rmm hash_algo realm_hash_alg
  printf '{"rmm_version": "%s", "hash_algo": "%s", "ipa_bits": 40, "ram": [{"base": "0x80000000", "size": "0x10000000"}], "kernel_ipa": "0x80080000", "dtb_ipa": "0x88000000"}\n' \
    "$1" "$2" >"$tmp/realm.json"
  want=$("$B" measure cca --realm-config "$tmp/realm.json" --kernel "$tmp/Image" --dtb "$tmp/realm.dtb" --hex) ||
    { bad "measure cca $1/$2"; return; }
  python3 -c '
import json, sys
d = sys.argv[1]
cfg = json.load(open(d + "/realm.json"))
n = {"sha-256": 32, "sha-512": 64}[sys.argv[2]]
json.dump({"name": "rim-crosscheck", "cca": {"realm_hash_alg": sys.argv[2], "rem": ["00" * n] * 4,
           "launch": {"realm_config": cfg, "kernel": d + "/Image", "dtb": d + "/realm.dtb"}}},
          open(d + "/platform.json", "w"))' "$tmp" "$3"
  rm -rf "$tmp/emu"
  "$B" emulate init "$tmp/emu" --platform "$tmp/platform.json" >/dev/null || { bad "emulate init $1/$2"; return; }
  "$B" evidence get --tee cca --nonce-text crosscheck --emulator "$tmp/emu" -o "$tmp/token.cbor" ||
    { bad "evidence get $1/$2"; return; }
  "$B" verify --tee cca --trust "$tmp/emu/trust" --json "$tmp/token.cbor" >"$tmp/v.json" ||
    { bad "verify $1/$2: $(cat "$tmp/v.json")"; return; }
  got=$(python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print((v.get("realm") or v)["rim"])' "$tmp/v.json")
  if [ "$got" = "$want" ]; then ok "RMM $1 $2: emulated realm RIM = veritee measure cca ($want)"
  else bad "RMM $1 $2: token RIM $got, measure $want"; fi
}
run 1.0 sha256 sha-256
run 2.0 sha512 sha-512

before=$("$B" measure cca --realm-config "$tmp/realm.json" --kernel "$tmp/Image" --dtb "$tmp/realm.dtb" --hex)
printf 'X' | dd of="$tmp/Image" bs=1 seek=100 conv=notrunc 2>/dev/null
after=$("$B" measure cca --realm-config "$tmp/realm.json" --kernel "$tmp/Image" --dtb "$tmp/realm.dtb" --hex)
if [ -n "$before" ] && [ "$before" != "$after" ]; then ok "one kernel byte changes the RIM"; else bad "RIM unchanged by a kernel byte"; fi
[ "$fails" -eq 0 ] || exit 1
