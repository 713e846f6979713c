#!/bin/sh
# Memory of `veritee serve` (issue 19): resident set (VmRSS) idle after start, with N live RCAR
# sessions (N /auth calls, default 10000), and during and after an open-loop soak of full
# rounds (bench/kbs_load.c) at RATE rounds/s for SECONDS (defaults 60 s at 20 rounds/s; the
# note's figure is 600 s at half the measured peak). One line per figure, "name value unit",
# like vt-bench, with the soak's p50, p99 and server CPU per round for each minute (kbs_*_soak_to_<T>s:
# a broker falling behind shows when it began). A benchmark, not a test: it asserts nothing.
#   bench/kbs_memory.sh [SECONDS [RATE [SESSIONS]]]      (run from the source tree, after a build)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-$HERE/../build}
SECS=${1:-60}
RATE=${2:-20}
SESSIONS=${3:-10000}
command -v curl >/dev/null || { echo "kbs_memory: needs curl" >&2; exit 2; }
sh "$HERE/kbs_load.sh" start "$BUILD/veritee" >"${TMPDIR:-/tmp}/vt-kbs-mem.$$"
. "${TMPDIR:-/tmp}/vt-kbs-mem.$$"
rm -f "${TMPDIR:-/tmp}/vt-kbs-mem.$$"
trap 'sh "$HERE/kbs_load.sh" stop "$PID" "$DIR"' EXIT
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$PID/status"; }
sessions() { curl -s "$KBS_URL/metrics" | sed -n 's/^veritee_active_sessions \([0-9.e+]*\)$/\1/p'; }

sleep 1
echo "kbs_serve_rss_idle_kb $(rss) kB"

# N sessions: one curl process, one kept-alive connection, N POST /auth
i=0
: >"$DIR/auth.cfg"
while [ "$i" -lt "$SESSIONS" ]; do echo "url = \"$KBS_URL/kbs/v0/auth\"" >>"$DIR/auth.cfg"; i=$((i + 1)); done
curl -s -X POST -H 'Content-Type: application/json' -d '{"version":"0.4.0","tee":"tdx","extra-params":""}' \
  -K "$DIR/auth.cfg" >/dev/null
echo "kbs_serve_live_sessions $(sessions) sessions"
echo "kbs_serve_rss_sessions_kb $(rss) kB"

# soak: full rounds at RATE; RSS sampled every SECS/6 seconds
VT_BENCH_ONLY=kbs VT_BENCH_SECONDS="$SECS" VT_BENCH_KBS_SOAK_RATE="$RATE" VT_BENCH_KBS_URL="$KBS_URL" \
  VT_BENCH_KBS_EMU="$EMU" VT_BENCH_KBS_PID="$PID" "$BUILD/bench/vt-bench" 2>&1 | grep '^kbs_' >"$DIR/soak.out" &
B=$!
step=$((SECS / 6))
[ "$step" -ge 1 ] || step=1
t=0
while kill -0 "$B" 2>/dev/null; do
  sleep "$step"
  t=$((t + step))
  kill -0 "$B" 2>/dev/null && echo "kbs_serve_rss_soak_${t}s_kb $(rss) kB"
done
wait "$B" || true
cat "$DIR/soak.out"
echo "kbs_serve_rss_after_soak_kb $(rss) kB"
