#!/bin/sh
# Server side of the collateral bench (bench/bench_collateral.c, `make bench`): an emulated TDX
# platform whose collateral was issued 25 days ago (so every item is inside its 7-day refresh
# margin but the root CA CRL: each background pass re-fetches three), a fake PCCS on loopback answering each
# request 1 s late (tests/fixtures/fake_pcs.py), a cache filled from it, and `veritee serve`
# on that cache either quiet (no upstream: nothing is refreshed) or refreshing (the PCCS as
# upstream, a pass every second: a 3-second refresh is in progress 3 s of every 4). TEST ONLY.
#   bench_collateral.sh prepare VERITEE_BIN       -> DIR= EMU= PCCS_URL= PCCS_PID=
#   bench_collateral.sh serve VERITEE_BIN DIR quiet|refreshing PCCS_URL -> KBS_URL= PID=
#   bench_collateral.sh requests PCCS_URL         -> the PCCS's request count so far
#   bench_collateral.sh stop PID | cleanup DIR PCCS_PID
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
case "${1:-}" in
prepare)
  VT=$2
  . "$HERE/../scripts/kbs-env.sh"
  dir=$(mktemp -d /tmp/vt-coll-bench.XXXXXX)
  echo '{"tdx": {}}' >"$dir/platform.json"
  at=$(date -u -d '25 days ago' +%Y-%m-%dT%H:%M:%SZ)
  "$VT" emulate init "$dir/emu" --platform "$dir/platform.json" --at "$at" >/dev/null
  kbs_keys "$dir"
  echo '{"id": "bench-emulated-test-only", "version": 1, "emulated": "accept"}' >"$dir/policy.json"
  python3 "$HERE/../tests/fixtures/fake_pcs.py" --dir "$dir/emu/collateral" --port-file "$dir/port" \
    >/dev/null 2>&1 </dev/null &
  pccs=$!
  i=0
  while [ ! -s "$dir/port" ] && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  url="http://127.0.0.1:$(cat "$dir/port")"
  "$VT" evidence get --tee tdx --emulator "$dir/emu" --nonce-text bench -o "$dir/quote.bin" >/dev/null 2>&1
  "$VT" collateral fetch --pccs-url "$url" --trust "$dir/emu/trust/tdx_sgx_root_ca.pem" --cache "$dir/cache" \
    "$dir/quote.bin" >/dev/null
  curl -s -X POST --data '{"slow": 1}' "$url/control" >/dev/null
  echo "DIR=$dir"
  echo "EMU=$dir/emu"
  echo "PCCS_URL=$url"
  echo "PCCS_PID=$pccs"
  ;;
serve)
  VT=$2 dir=$3
  . "$HERE/../scripts/kbs-env.sh"
  up=""
  [ "$4" = refreshing ] && up="--pccs-url $5 --collateral-refresh 1 --collateral-retry 1"
  # shellcheck disable=SC2086
  kbs_start "$dir/serve-$4.log" --db "sqlite:$dir/kbs-$4.db" --trust "$dir/emu/trust" --cache "$dir/cache" $up \
    --admin-key "$dir/admin.pub.pem" --kek-file "$dir/kek.hex" --policy "$dir/policy.json" \
    --max-sessions-per-client 1000000 --max-sessions 1000000 </dev/null # all load comes from 127.0.0.1
  echo "KBS_URL=$KBS_URL"
  echo "PID=$KBS_PID"
  ;;
requests)
  curl -s "$2/control/log" | wc -l
  ;;
stop)
  . "$HERE/../scripts/kbs-env.sh"
  kbs_stop "$2"
  ;;
cleanup)
  kill -TERM "$3" 2>/dev/null || true
  case "$2" in /tmp/vt-coll-bench.*) rm -rf "$2" ;; esac
  ;;
*) echo "usage: bench_collateral.sh prepare|serve|requests|stop|cleanup ..." >&2; exit 2 ;;
esac
