#!/bin/sh
# A released key's audit record is in the store before the key leaves (docs/operations.md, "What
# survives a power loss"): `veritee serve` on SQLite is killed with kill -9 right after a guest
# received a key, then the store is read without the server: every release a guest received has
# its `resource.get` ok record, and the chain verifies. Sessions and nonces are written without
# waiting for the disk; this checks that the group commit still orders the release's record
# before the response. Bounded: 4 rounds of one release each, then 4 rounds with two guests.
set -u
VT=${VERITEE_BIN:?VERITEE_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/kbs-env.sh"
if ! "$VT" serve --help 2>&1 | grep -q -- --listen; then echo "SKIP: '$VT serve' is not available"; exit 77; fi

. "$HERE/../fixtures/cli.sh"
kbs_sqlite_setup durable
release() { # OUT: one key release through a guest
  timeout 30 "$VT" attest --kbs "$KBS_URL" --tee tdx --emulator "$tmp/emu" --resource d/key/one --timeout 10 -o "$1" \
    2>>"$tmp/attest.err"
}
# the number of resource.get records with outcome ok in the store, read without the server
recorded() {
  "$VT" audit show --db "$DB" --tail 100000 --json >"$tmp/audit.json" 2>"$tmp/audit.err" || { echo -1; return; }
  tr '{' '\n' <"$tmp/audit.json" | grep '"action":"resource.get"' | grep -c '"outcome":"ok"'
}

kbs_sqlite_start || exit 1
printf 'durable-secret' >"$tmp/secret.bin"
kbs_admin "$tmp" resource put d/key/one "$tmp/secret.bin" >/dev/null || { echo "FAIL: initial put"; exit 1; }
received=0

# one guest: kill -9 as soon as its key is in hand
round=1
while [ "$round" -le 4 ]; do
  [ -n "$KBS_PID" ] || { kbs_sqlite_start || { bad "restart in round $round"; break; }; }
  if release "$tmp/got" && cmp -s "$tmp/got" "$tmp/secret.bin"; then received=$((received + 1)); fi
  kill -9 "$KBS_PID"
  wait "$KBS_PID" 2>/dev/null
  KBS_PID=""
  n=$(recorded)
  [ "$n" -ge "$received" ] || bad "round $round: $received keys received, $n release records in the store"
  round=$((round + 1))
done
[ "$received" -ge 3 ] || bad "only $received of 4 single releases succeeded: $(tail -n 2 "$tmp/attest.err")"
ok "one guest: $received keys received, kill -9 right after each, $(recorded) release records"

# two guests at once (their records share a flush): kill -9 when the first of them has its key
round=1
while [ "$round" -le 4 ]; do
  kbs_sqlite_start || { bad "restart in two-guest round $round"; break; }
  rm -f "$tmp/g1" "$tmp/g2"
  (release "$tmp/g1.bin" && cmp -s "$tmp/g1.bin" "$tmp/secret.bin" && : >"$tmp/g1") &
  A=$!
  (release "$tmp/g2.bin" && cmp -s "$tmp/g2.bin" "$tmp/secret.bin" && : >"$tmp/g2") &
  B=$!
  i=0
  while [ ! -e "$tmp/g1" ] && [ ! -e "$tmp/g2" ] && [ "$i" -lt 300 ]; do sleep 0.05; i=$((i + 1)); done
  kill -9 "$KBS_PID"
  wait "$KBS_PID" 2>/dev/null
  KBS_PID=""
  wait "$A" "$B"
  [ -e "$tmp/g1" ] && received=$((received + 1))
  [ -e "$tmp/g2" ] && received=$((received + 1))
  n=$(recorded)
  [ "$n" -ge "$received" ] || bad "two guests, round $round: $received keys received, $n release records in the store"
  round=$((round + 1))
done
"$VT" audit verify --db "$DB" >"$tmp/verify" 2>&1 || bad "audit verify: $(cat "$tmp/verify")"
[ "$received" -ge 7 ] || bad "only $received releases succeeded in all: $(tail -n 2 "$tmp/attest.err")"

if [ "$fails" -ne 0 ]; then
  echo "--- serve log"; tail -n 20 "$tmp/serve.log"
  echo "$fails failure(s)"; exit 1
fi
ok "two guests: $received keys received in all, $(recorded) release records, $(head -n 1 "$tmp/verify")"
echo "kbs durable: all passed"
