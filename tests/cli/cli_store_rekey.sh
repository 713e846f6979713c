#!/bin/sh
# Rotating the key broker's key-encryption key: `veritee store rekey` re-seals every value;
# the broker no longer starts with the old KEK, serves the same secret with the new one, and
# the rotation is in the audit chain.
set -u
VT=${VERITEE_BIN:?VERITEE_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/kbs-env.sh"
. "$(dirname "$0")/../fixtures/cli.sh"
KBS_PID=""
on_exit() { kbs_stop "$KBS_PID"; }

kbs_keys "$tmp" || { bad "keys"; exit 1; }
(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$tmp/kek2.hex")
"$VT" emulate init "$tmp/emu" >/dev/null || { bad "emulate init"; exit 1; }
printf '{"id": "rekey-test", "version": 1, "emulated": "accept"}\n' >"$tmp/policy.json"
serve() { # KEK file
  kbs_start "$tmp/serve.log" --db "sqlite:$tmp/kbs.db" --trust "$tmp/emu/trust" --collateral "$tmp/emu/collateral" \
    --admin-key "$tmp/admin.pub.pem" --kek-file "$1" --policy "$tmp/policy.json"
}
serve "$tmp/kek.hex" || { bad "serve"; exit 1; }
printf 'rekey-secret-%s' "$$" >"$tmp/secret.bin"
kbs_admin "$tmp" resource put default/key/r "$tmp/secret.bin" >/dev/null && kbs_admin "$tmp" resource put default/key/r "$tmp/secret.bin" >/dev/null &&
  ok "two versions stored under KEK 1" || bad "admin put"
kbs_stop "$KBS_PID"; KBS_PID=""

"$VT" store rekey --db "sqlite:$tmp/kbs.db" --kek-file "$tmp/kek2.hex" --new-kek-file "$tmp/kek.hex" >/dev/null 2>&1
[ $? -eq 1 ] && ok "rekey with the wrong current key refused (exit 1)" || bad "rekey with the wrong current key"
out=$("$VT" store rekey --db "sqlite:$tmp/kbs.db" --kek-file "$tmp/kek.hex" --new-kek-file "$tmp/kek2.hex") &&
  echo "$out" | grep -q "re-sealed 2 resource values" && ok "rekey: $out" || bad "rekey: $out"

if serve "$tmp/kek.hex" 2>/dev/null; then bad "serve started with the old KEK"; kbs_stop "$KBS_PID"; KBS_PID=""
else grep -q "wrong key-encryption key" "$tmp/serve.log" && ok "the old KEK no longer opens the store" || bad "old KEK: $(cat "$tmp/serve.log")"; fi
serve "$tmp/kek2.hex" || { bad "serve with the new KEK"; exit 1; }
timeout 60 "$VT" attest --kbs "$KBS_URL" --tee tdx --emulator "$tmp/emu" --resource default/key/r --timeout 15 \
  -o "$tmp/got" 2>"$tmp/err" && cmp -s "$tmp/got" "$tmp/secret.bin" && ok "the secret is released under the new KEK" ||
  bad "attest after rekey: $(cat "$tmp/err")"
kbs_stop "$KBS_PID"; KBS_PID=""
"$VT" audit verify --db "sqlite:$tmp/kbs.db" >/dev/null && ok "audit chain intact" || bad "audit verify"
"$VT" audit show --db "sqlite:$tmp/kbs.db" | grep -q "store.rekey" && ok "the rotation is audited" || bad "no store.rekey record"
[ "$fails" -eq 0 ] || exit 1
