#!/bin/sh
# Server side of the KBS load test (bench/kbs_load.c, `make bench`): an emulated TEE, a
# `veritee serve` on SQLite (loopback, random port, temp dir) with a policy accepting the
# emulated TEE (TEST ONLY) and one resource. Prints KBS_URL=, EMU=, PID=, DIR= and leaves the
# server running; `kbs_load.sh stop PID DIR` stops it and removes DIR.
# KBS_BENCH_DB=URL stores elsewhere (e.g. a PostgreSQL, bench/kbs_pg.sh) and KBS_BENCH_NODES=N
# starts N servers on that store: KBS_URL and PID are then comma-separated lists.
# KBS_BENCH_SERVE_ARGS adds options to each server (e.g. "--session-lifetime 60").
#   kbs_load.sh start VERITEE_BIN     |     kbs_load.sh stop PID[,PID...] DIR
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
case "${1:-}" in
start)
  VT=$2
  . "$HERE/../scripts/kbs-env.sh"
  dir=$(mktemp -d /tmp/vt-kbs-bench.XXXXXX)
  json='{"tdx": {}}' # TDX only: quick to create
  echo "$json" >"$dir/platform.json"
  kbs_emulate "$dir/emu" "$dir/platform.json"
  kbs_keys "$dir"
  echo '{"id": "bench-emulated-test-only", "version": 1, "emulated": "accept"}' >"$dir/policy.json"
  db=${KBS_BENCH_DB:-sqlite:$dir/kbs.db}
  urls="" pids=""
  n=1
  while [ "$n" -le "${KBS_BENCH_NODES:-1}" ]; do
    kbs_start "$dir/serve$n.log" --db "$db" --trust "$dir/emu/trust" --collateral "$dir/emu/collateral" \
      --admin-key "$dir/admin.pub.pem" --kek-file "$dir/kek.hex" --policy "$dir/policy.json" --ear-key "$dir/ear.pem" \
      --max-sessions-per-client 1000000 --max-sessions 1000000 ${KBS_BENCH_SERVE_ARGS:-} # all load comes from 127.0.0.1
    urls="$urls${urls:+,}$KBS_URL"
    pids="$pids${pids:+,}$KBS_PID"
    if [ "$n" -eq 1 ]; then
      printf 'bench-secret-0123456789abcdef' >"$dir/secret.bin"
      kbs_admin "$dir" resource put bench/key/one "$dir/secret.bin" >/dev/null
    fi
    n=$((n + 1))
  done
  echo "KBS_URL=$urls"
  echo "EMU=$dir/emu"
  echo "PID=$pids"
  echo "DIR=$dir"
  ;;
stop)
  for p in $(echo "$2" | tr ',' ' '); do
    kill -TERM "$p" 2>/dev/null || true
    i=0
    while kill -0 "$p" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    kill -9 "$p" 2>/dev/null || true
  done
  case "$3" in /tmp/vt-kbs-bench.*) rm -rf "$3" ;; esac
  ;;
*) echo "usage: kbs_load.sh start VERITEE_BIN | stop PID DIR" >&2; exit 2 ;;
esac
