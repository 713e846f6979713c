#!/bin/sh
# Two `veritee serve` nodes on one PostgreSQL (Debian's packages, on loopback, started here):
# a session begun on one node (/auth) completes on the other (/attest, resource GETs), with the
# cookie and with the bearer token; a resource stored through one node is served by the other.
# Then PostgreSQL is restarted while guests keep attesting: during the outage clients get clean
# errors (an exit code, never a hang or a crash; the nodes stay up), and afterwards both nodes
# serve again. Then PostgreSQL crashes between a guest's steps: the crash empties the UNLOGGED
# sessions and nonces, and the guest gets a clean 401 (unknown session / no token), never a
# wrong answer; its EAR token still works as a bearer token; a new round works.
# Exits 77 when PostgreSQL or `veritee serve` is not available.
set -u
VT=${VERITEE_BIN:?VERITEE_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/kbs-env.sh"

if ! "$VT" serve --help 2>&1 | grep -q -- --listen; then echo "SKIP: '$VT serve' is not available"; exit 77; fi
out=$(sh "$HERE/../fixtures/pg-start.sh" start 2>&1)
case $? in
0) ;;
77) echo "SKIP: $out"; exit 77 ;;
*) echo "FAIL: could not start PostgreSQL: $out"; exit 1 ;;
esac
PGDIR=$(echo "$out" | sed -n 's/^PGDIR=//p')
URL=$(echo "$out" | sed -n 's/^URL=//p')
PORT=$(echo "$URL" | sed -n 's/.*:\([0-9]*\)\/.*/\1/p')

tmp=$(mktemp -d /tmp/vt-kbs-pg.XXXXXX)
PA="" PB="" LOAD=""
cleanup() {
  [ -n "$LOAD" ] && kill "$LOAD" 2>/dev/null
  kbs_stop "$PA"
  kbs_stop "$PB"
  sh "$HERE/../fixtures/pg-start.sh" stop "$PGDIR"
  rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }

# an outage: PostgreSQL stopped and started again on its port (tests/fixtures/pg-start.sh)
pg_stop() { sh "$HERE/../fixtures/pg-start.sh" halt "$PGDIR"; }
pg_start() { sh "$HERE/../fixtures/pg-start.sh" resume "$PGDIR" "$PORT"; }

kbs_emulate "$tmp/emu" || { echo "FAIL: emulate init"; exit 1; }
kbs_keys "$tmp" || { echo "FAIL: keys"; exit 1; }
"$VT" ear key --key "$tmp/ear.pem" --alg ES256 --pub "$tmp/ear.pub.pem" >/dev/null
echo '{"id": "pg-emulated-test-only", "version": 1, "emulated": "accept"}' >"$tmp/policy.json"
common="--db $URL --trust $tmp/emu/trust --collateral $tmp/emu/collateral --admin-key $tmp/admin.pub.pem
  --kek-file $tmp/kek.hex --ear-key $tmp/ear.pem --policy $tmp/policy.json --max-sessions-per-client 100000"
# shellcheck disable=SC2086
kbs_start "$tmp/a.log" $common || exit 1
PA=$KBS_PID A=$KBS_URL
# shellcheck disable=SC2086
kbs_start "$tmp/b.log" $common || exit 1
PB=$KBS_PID B=$KBS_URL
ok "two nodes on $URL: $A and $B"

printf 'pg-secret-%s' "$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')" >"$tmp/secret.bin"
KBS_URL=$A
kbs_admin "$tmp" resource put pg/key/one "$tmp/secret.bin" >/dev/null || fail "admin put through node A"
KBS_URL=$B
kbs_admin "$tmp" resource versions pg/key/one >"$tmp/versions" 2>&1 || fail "admin versions through node B: $(cat "$tmp/versions")"

attest() { # OUT ARGS... : one guest round, requests rotating over the --kbs URLs given in ARGS
  _o=$1
  shift
  timeout 40 "$VT" attest --tee tdx --emulator "$tmp/emu" --resource pg/key/one --resource pg/key/one \
    --timeout 8 "$@" >/dev/null 2>"$_o.err"
}
# /auth on A, /attest on B, resource on A then B (cookie); and the same with the bearer token
for mode in "" --bearer; do
  for first in "$A $B" "$B $A"; do
    set -- $first
    if timeout 40 "$VT" attest --kbs "$1" --kbs "$2" --tee snp --emulator "$tmp/emu" --resource pg/key/one $mode \
         --timeout 8 -o "$tmp/got" 2>"$tmp/err" && cmp -s "$tmp/got" "$tmp/secret.bin"; then
      ok "session begun on $1 completed on $2 ${mode:-(cookie)}"
    else
      fail "cross-node session $1 -> $2 $mode: $(cat "$tmp/err")"
    fi
    rm -f "$tmp/got"
  done
done
# the cross-node exchange really crossed: each node logged requests of its own
grep -q "listening" "$tmp/a.log" && grep -q "listening" "$tmp/b.log" || fail "node logs"

# ---- PostgreSQL restarted under load ----
: >"$tmp/codes"
(
  i=0
  while [ ! -f "$tmp/stop" ] && [ "$i" -lt 3000 ]; do
    attest "$tmp/load" --kbs "$A" --kbs "$B"
    rc=$?
    echo "$(date +%s) $rc" >>"$tmp/codes"
    [ "$rc" -eq 0 ] || sleep 0.1
    i=$((i + 1))
  done
) &
LOAD=$!
# The outage is timed by what the guests see, not by fixed sleeps (a loaded machine runs a round
# in seconds, and a 3 s outage could pass between two rounds): PostgreSQL stops once a round
# has completed, and starts again once a round has ended in an error during the outage.
wait_codes() { # AWK_PROGRAM: until a line of $tmp/codes matches it, at most 60 s
  _i=0
  until awk "$1" "$tmp/codes" | grep -q . || [ "$_i" -ge 600 ]; do sleep 0.1; _i=$((_i + 1)); done
}
wait_codes 'NR >= 1'
stopped=$(date +%s)
pg_stop || fail "pg stop"
ok "PostgreSQL stopped under load"
wait_codes "\$1 >= $stopped && \$2 != 0"
before=$(wc -l <"$tmp/codes")
pg_start || fail "pg start"
restarted=$(date +%s)
ok "PostgreSQL started again"
# recovery: a full round on each node within 30 s
recovered=0
i=0
while [ "$i" -lt 30 ]; do
  if attest "$tmp/ra" --kbs "$A" && attest "$tmp/rb" --kbs "$B"; then recovered=1; break; fi
  sleep 1
  i=$((i + 1))
done
[ "$recovered" -eq 1 ] && ok "both nodes serve again $(($(date +%s) - restarted)) s after the restart" ||
  fail "no recovery within 30 s: $(cat "$tmp/ra.err" "$tmp/rb.err")"
wait_codes "\$1 > $restarted + 1 && \$2 == 0" # the load's own round after the restart
touch "$tmp/stop"
wait "$LOAD" 2>/dev/null
LOAD=""
total=$(wc -l <"$tmp/codes")
good=$(awk '$2 == 0' "$tmp/codes" | wc -l)
clean=$(awk '$2 >= 1 && $2 <= 4' "$tmp/codes" | wc -l)
bad=$(awk '$2 > 4' "$tmp/codes" | wc -l)
echo "     load: $total rounds: $good ok, $clean clean errors (exit 1-4), $bad hung or crashed"
[ "$clean" -ge 1 ] || fail "the outage produced no client error (was PostgreSQL really down?)"
[ "$bad" -eq 0 ] && ok "no client hung or crashed during the outage" || fail "$bad rounds hung (124) or crashed"
awk -v t="$restarted" '$1 > t + 1 && $2 == 0' "$tmp/codes" | grep -q . && ok "the load recovered after the restart" ||
  fail "no successful round of the load after the restart"
[ "$before" -ge 1 ] || fail "load did not run"
kill -0 "$PA" 2>/dev/null && kill -0 "$PB" 2>/dev/null && ok "both nodes stayed up" || fail "a node died during the outage"
sed -n 's/.*: \(.*\)/\1/p' "$tmp/load.err" 2>/dev/null | tail -n 1 | sed 's/^/     last load error: /'
"$VT" audit verify --db "$URL" >"$tmp/audit" 2>&1 && ok "audit chain: $(head -n 1 "$tmp/audit")" ||
  fail "audit verify: $(cat "$tmp/audit")"

# ---- PostgreSQL crashes mid-round (sessions and nonces are UNLOGGED: a crash empties them) ----
if command -v curl >/dev/null && command -v jq >/dev/null && python3 -c 'import cryptography' 2>/dev/null; then
  G="python3 $HERE/../fixtures/kbs_guest.py"
  pg_auth() { # NODE: /auth (retried while the node's connection revives: 503); nonce in N, cookie jar $tmp/jar
    _i=0
    while [ "$_i" -lt 20 ]; do
      rm -f "$tmp/jar"
      _c=$(curl -s -o "$tmp/ch.json" -w '%{http_code}' -c "$tmp/jar" -H 'Content-Type: application/json' \
        -d '{"version":"0.4.0","tee":"tdx","extra-params":{}}' "$1/kbs/v0/auth")
      [ "$_c" = 503 ] || break
      sleep 0.5
      _i=$((_i + 1))
    done
    [ "$_c" = 200 ] || fail "/auth: $_c $(cat "$tmp/ch.json")"
    N=$(jq -r .nonce "$tmp/ch.json")
  }
  pg_attest_body() { # attestation body for nonce N into $tmp/att.json
    $G keygen ec "$tmp/tee" &&
      "$VT" evidence get --tee tdx --report-data "$($G binding "$N" "$tmp/tee.jwk")" --emulator "$tmp/emu" -o "$tmp/ev" >/dev/null 2>&1 &&
      $G attestation tdx "$N" "$tmp/tee.jwk" "$tmp/ev" >"$tmp/att.json"
  }
  pg_crash() { sh "$HERE/../fixtures/pg-start.sh" crash "$PGDIR" && pg_start; }
  # 1: crash between /auth and /attest
  pg_auth "$A"
  pg_attest_body || fail "attestation body"
  psql -X -A -t -q "$URL" -c "SELECT count(*) FROM sessions" >"$tmp/n" 2>&1
  [ "$(cat "$tmp/n")" -ge 1 ] 2>/dev/null || fail "no session stored before the crash: $(cat "$tmp/n")"
  pg_crash || fail "pg crash and start"
  psql -X -A -t -q "$URL" -c "SELECT count(*) FROM sessions" >"$tmp/n" 2>&1
  [ "$(cat "$tmp/n")" = 0 ] && ok "a PostgreSQL crash emptied the sessions (UNLOGGED)" || fail "sessions after the crash: $(cat "$tmp/n")"
  c=""
  i=0 # the node's connection revives on its next statement; a 503 meanwhile is a clean retry
  while [ "$i" -lt 20 ]; do
    c=$(curl -s -o "$tmp/r.json" -w '%{http_code}' -b "$tmp/jar" -H 'Content-Type: application/json' --data @"$tmp/att.json" "$B/kbs/v0/attest")
    [ "$c" = 503 ] || break
    sleep 0.5
    i=$((i + 1))
  done
  [ "$c" = 401 ] && grep -q "unknown session" "$tmp/r.json" && ok "/attest after the crash: 401 unknown session (the guest starts over)" ||
    fail "/attest after the crash: $c $(cat "$tmp/r.json")"
  # 2: crash between /attest and the resource GET
  pg_auth "$A"
  pg_attest_body || fail "attestation body"
  c=$(curl -s -o "$tmp/tok.json" -w '%{http_code}' -b "$tmp/jar" -c "$tmp/jar" -H 'Content-Type: application/json' --data @"$tmp/att.json" "$B/kbs/v0/attest")
  T=$(jq -r .token "$tmp/tok.json" 2>/dev/null)
  [ "$c" = 200 ] || fail "/attest before the second crash: $c $(cat "$tmp/tok.json")"
  pg_crash || fail "pg crash and start"
  i=0
  while [ "$i" -lt 20 ]; do
    c=$(curl -s -o "$tmp/r.json" -w '%{http_code}' -b "$tmp/jar" "$A/kbs/v0/resource/pg/key/one")
    [ "$c" = 503 ] || break
    sleep 0.5
    i=$((i + 1))
  done
  [ "$c" = 401 ] && grep -q TokenNotFound "$tmp/r.json" && ok "resource GET with the lost session's cookie: 401 TokenNotFound" ||
    fail "resource GET after the crash: $c $(cat "$tmp/r.json")"
  c=$(curl -s -o "$tmp/r.jwe" -w '%{http_code}' -H "Authorization: Bearer $T" "$A/kbs/v0/resource/pg/key/one")
  [ "$c" = 200 ] && $G decrypt "$tmp/tee.pem" "$tmp/r.jwe" >"$tmp/got" 2>/dev/null && cmp -s "$tmp/got" "$tmp/secret.bin" &&
    ok "its EAR token as a bearer token still releases the right secret" || fail "bearer after the crash: $c $(head -c 300 "$tmp/r.jwe")"
  attest "$tmp/after" --kbs "$A" --kbs "$B" && ok "a new round after the crash succeeds" || fail "round after the crash: $(cat "$tmp/after.err")"
  "$VT" audit verify --db "$URL" >"$tmp/audit" 2>&1 && ok "audit chain after the crashes: $(head -n 1 "$tmp/audit")" ||
    fail "audit verify after the crashes: $(cat "$tmp/audit")"
else
  fail "crash mid-round not run: it needs curl, jq and python3-cryptography (scripts/install-deps)"
fi

if [ "$fails" -ne 0 ]; then
  echo "--- node A"; tail -n 20 "$tmp/a.log"
  echo "--- node B"; tail -n 20 "$tmp/b.log"
  echo "$fails failure(s)"; exit 1
fi
echo "kbs on postgresql: all passed"
