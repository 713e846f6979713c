#!/bin/sh
# Crash safety of `veritee serve` on SQLite: 5 rounds of `kill -9` while a stream of admin writes
# (new resource versions) and guest key releases (`veritee attest`) runs. After each restart:
# every acknowledged version is still listed (nothing committed is lost), the latest version
# serves exactly the bytes written for it (nothing half-written is visible), and
# `veritee audit verify` passes. Bounded: 5 rounds, ~2 s of load each (each at least two
# acknowledged writes and a release, at most 60 s).
set -u
VT=${VERITEE_BIN:?VERITEE_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/kbs-env.sh"
if ! "$VT" serve --help 2>&1 | grep -q -- --listen; then echo "SKIP: '$VT serve' is not available"; exit 77; fi

. "$HERE/../fixtures/cli.sh"
kbs_sqlite_setup faults
fetch() { # PATH OUT: the latest version through a guest
  timeout 30 "$VT" attest --kbs "$KBS_URL" --tee tdx --emulator "$tmp/emu" --resource "$1" --timeout 10 -o "$2" \
    2>"$tmp/fetch.err"
}

: >"$tmp/acked"    # "path version content-file" of every acknowledged write
: >"$tmp/released"
kbs_sqlite_start || exit 1
printf 'static-secret' >"$tmp/static.bin"
kbs_admin "$tmp" resource put f/key/static "$tmp/static.bin" >/dev/null || bad "initial put"

writer() { # ROUND: admin writes until the server dies (at most 400)
  i=0
  while [ "$i" -lt 400 ]; do
    p="f/key/r$((i % 4))"
    c="$tmp/c-$1-$i"
    printf 'round %s write %s %s' "$1" "$i" "$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" >"$c"
    echo "$p $c" >>"$tmp/attempted"
    a=$(kbs_admin "$tmp" resource put "$p" "$c" 2>/dev/null) || break
    v=$(echo "$a" | sed -n 's/.*"version":\([0-9]*\).*/\1/p')
    [ -n "$v" ] && echo "$p $v $c" >>"$tmp/acked"
    i=$((i + 1))
  done
}
releaser() { # key releases until the server dies (at most 200)
  i=0
  while [ "$i" -lt 200 ]; do
    timeout 30 "$VT" attest --kbs "$KBS_URL" --tee tdx --emulator "$tmp/emu" --resource f/key/static --timeout 5 \
      -o "$tmp/rel" 2>/dev/null || break
    cmp -s "$tmp/rel" "$tmp/static.bin" && echo ok >>"$tmp/released"
    i=$((i + 1))
  done
}

round=1
while [ "$round" -le 5 ]; do
  [ -n "$KBS_PID" ] || { kbs_sqlite_start || { bad "restart in round $round"; break; }; }
  writer "$round" &
  W=$!
  releaser &
  R=$!
  a0=$(wc -l <"$tmp/acked")
  r0=$(wc -l <"$tmp/released")
  sleep "1.$((round * 17 % 10))"
  # and not before this round has load to cut: two acknowledged writes and a release (bounded at
  # 60 s). On a loaded machine (ASan, two busy cores) a guest round can take longer than the
  # sleep, and the totals asserted below (10 writes, 5 releases) could then be missed.
  i=0
  while { [ "$(wc -l <"$tmp/acked")" -lt $((a0 + 2)) ] || [ "$(wc -l <"$tmp/released")" -lt $((r0 + 1)) ]; } &&
    [ "$i" -lt 600 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  kill -9 "$KBS_PID"
  wait "$KBS_PID" 2>/dev/null
  KBS_PID=""
  wait "$W" "$R"
  kbs_sqlite_start || { bad "restart after kill -9 in round $round"; break; }
  # nothing committed is lost
  lost=0
  for p in f/key/r0 f/key/r1 f/key/r2 f/key/r3; do
    kbs_admin "$tmp" resource versions "$p" >"$tmp/v.json" 2>/dev/null || { grep -q "^$p " "$tmp/acked" && lost=$((lost + 1)); continue; }
    for v in $(awk -v p="$p" '$1 == p { print $2 }' "$tmp/acked"); do
      grep -q "\"version\":$v," "$tmp/v.json" || { lost=$((lost + 1)); echo "     lost: $p version $v"; }
    done
    # nothing half-written: the latest version serves the exact bytes of one attempted write, and
    # those of its acknowledged write when it was acknowledged
    last=$(sed 's/"version":/\n/g' "$tmp/v.json" | sed -n 's/^\([0-9]*\),.*/\1/p' | tail -n 1)
    [ -n "$last" ] || continue
    if fetch "$p" "$tmp/got"; then
      want=$(awk -v p="$p" -v v="$last" '$1 == p && $2 == v { print $3 }' "$tmp/acked")
      if [ -n "$want" ]; then
        cmp -s "$tmp/got" "$want" || bad "$p v$last serves other bytes than acknowledged"
      else
        match=0
        for c in $(awk -v p="$p" '$1 == p { print $2 }' "$tmp/attempted"); do cmp -s "$tmp/got" "$c" && match=1 && break; done
        [ "$match" -eq 1 ] || bad "$p v$last (unacknowledged) serves bytes no writer wrote"
      fi
    else
      bad "fetching $p after restart: $(cat "$tmp/fetch.err")"
    fi
  done
  [ "$lost" -eq 0 ] || bad "round $round: $lost acknowledged version(s) lost"
  "$VT" audit verify --db "$DB" >"$tmp/audit" 2>&1 || bad "round $round: audit verify: $(cat "$tmp/audit")"
  ok "round $round: kill -9 after $(wc -l <"$tmp/acked") acknowledged writes, $(wc -l <"$tmp/released") releases in all; nothing lost, $(head -n 1 "$tmp/audit")"
  round=$((round + 1))
done
[ "$(wc -l <"$tmp/acked")" -ge 10 ] || bad "too few writes acknowledged to mean anything"
[ "$(wc -l <"$tmp/released")" -ge 5 ] || bad "too few key releases"

if [ "$fails" -ne 0 ]; then
  echo "--- serve log"; tail -n 20 "$tmp/serve.log"
  echo "$fails failure(s)"; exit 1
fi
echo "kbs faults: all passed"
