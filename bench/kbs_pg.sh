#!/bin/sh
# The KBS round benchmark (bench/kbs_load.c) against a local PostgreSQL (tests/fixtures/pg-start.sh,
# loopback, thrown away after): one `veritee serve` node, then three nodes on the one database
# with the client threads spread over them. Figures are vt-bench's, each line prefixed "pg1 " or
# "pg3 " by this script. `make bench-pg`.
#   bench/kbs_pg.sh [BUILD_DIR]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../build}
out=$(sh "$HERE/../tests/fixtures/pg-start.sh" start) || { echo "kbs_pg: no PostgreSQL (pg-start.sh failed)"; exit 0; }
PGDIR=$(echo "$out" | sed -n 's/^PGDIR=//p')
PGURL=$(echo "$out" | sed -n 's/^URL=//p')
trap 'sh "$HERE/../tests/fixtures/pg-start.sh" stop "$PGDIR"' EXIT
for nodes in 1 3; do
  env=$(KBS_BENCH_DB="$PGURL" KBS_BENCH_NODES=$nodes sh "$HERE/kbs_load.sh" start "$BUILD/veritee") || { echo "kbs_pg: servers did not start"; exit 1; }
  KBS_URL=$(echo "$env" | sed -n 's/^KBS_URL=//p')
  EMU=$(echo "$env" | sed -n 's/^EMU=//p')
  PID=$(echo "$env" | sed -n 's/^PID=//p')
  DIR=$(echo "$env" | sed -n 's/^DIR=//p')
  # PostgreSQL's processes (postmaster, its backends and helpers) for the database's CPU per round
  pm=$(head -n 1 "$PGDIR/data/postmaster.pid")
  DBPID=$(printf '%s' "$pm"; ps -o pid= --ppid "$pm" | tr -d ' ' | sed 's/^/,/' | tr -d '\n')
  VT_BENCH_ONLY=kbs VT_BENCH_KBS_URL="$KBS_URL" VT_BENCH_KBS_EMU="$EMU" VT_BENCH_KBS_PID="$PID" VT_BENCH_KBS_DB_PID="$DBPID" \
    "$BUILD/bench/vt-bench" |
    sed "s/^/pg$nodes /"
  sh "$HERE/kbs_load.sh" stop "$PID" "$DIR"
  # the next run starts from an empty database
  psql_bin=$(ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | tail -n 1)
  [ -n "$psql_bin" ] && "$psql_bin" -q "$PGURL" -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;' >/dev/null 2>&1 || true
done
