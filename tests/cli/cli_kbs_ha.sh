#!/bin/sh
# Three `veritee serve` nodes on one PostgreSQL behind HAProxy, as users deploy them (Debian's
# postgresql and haproxy, all on loopback, started here). HAProxy balances every request round
# robin and health-checks /readyz, so one guest's /auth, /attest and resource GET land on
# different nodes. Four guests attest and fetch a secret in a loop while node 2 is killed with
# SIGKILL and started again, and then PostgreSQL is restarted. Asserted: every round either
# received the right secret or ended with a clean error (exit 3 after its retries, never a hang,
# a crash or a wrong secret); every node served each step of the protocol; the killed node serves
# again; every secret released has its audit record (records >= secrets received), and the audit
# chain written by three nodes verifies. Bounded: 4 x 25 rounds, each guest loop at most 220 s.
# Exits 77 when PostgreSQL, HAProxy or `veritee serve` is not available.
set -u
VT=${VERITEE_BIN:?VERITEE_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/kbs-env.sh"

if ! "$VT" serve --help 2>&1 | grep -q -- --listen; then echo "SKIP: '$VT serve' is not available"; exit 77; fi
HAPROXY=$(command -v haproxy || ls /usr/sbin/haproxy 2>/dev/null)
if [ -z "$HAPROXY" ]; then echo "SKIP: haproxy is not installed (scripts/install-deps installs it)"; exit 77; fi
out=$(sh "$HERE/../fixtures/pg-start.sh" start 2>&1)
case $? in
0) ;;
77) echo "SKIP: $out"; exit 77 ;;
*) echo "FAIL: could not start PostgreSQL: $out"; exit 1 ;;
esac
PGDIR=$(echo "$out" | sed -n 's/^PGDIR=//p')
URL=$(echo "$out" | sed -n 's/^URL=//p')
PGPORT=$(echo "$URL" | sed -n 's/.*:\([0-9]*\)\/.*/\1/p')

tmp=$(mktemp -d /tmp/vt-kbs-ha.XXXXXX)
N1="" N2="" N3="" HP="" LOADS=""
cleanup() {
  for p in $LOADS; do kill "$p" 2>/dev/null; done
  kbs_stop "$N1"
  kbs_stop "$N2"
  kbs_stop "$N3"
  [ -n "$HP" ] && kill "$HP" 2>/dev/null
  sh "$HERE/../fixtures/pg-start.sh" stop "$PGDIR"
  rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }

# an outage: PostgreSQL stopped and started again on its port (tests/fixtures/pg-start.sh)
pg_stop() { sh "$HERE/../fixtures/pg-start.sh" halt "$PGDIR"; }
pg_start() { sh "$HERE/../fixtures/pg-start.sh" resume "$PGDIR" "$PGPORT"; }

# Fixed ports (HAProxy's backends name them, and a restarted node must come back on its own):
# four free loopback ports from 10000-19999, below the kernel's ephemeral range (and
# pg-start.sh's 20000-59999). Ports the kernel hands out were taken, between this check and
# their use, by servers of tests running alongside (listening on 127.0.0.1:0): HAProxy then
# could not bind and /readyz was answered by another test's node.
ports=$(python3 -c '
import random, socket
got = []
while len(got) < 4:
    p = random.randrange(10000, 20000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        if p not in got: got.append(p)
    except OSError:
        pass
    s.close()
print(" ".join(map(str, got)))')
set -- $ports
P1=$1 P2=$2 P3=$3 PH=$4

kbs_emulate "$tmp/emu" || { echo "FAIL: emulate init"; exit 1; }
kbs_keys "$tmp" || { echo "FAIL: keys"; exit 1; }
"$VT" ear key --key "$tmp/ear.pem" --alg ES256 --pub "$tmp/ear.pub.pem" >/dev/null
echo '{"id": "ha-emulated-test-only", "version": 1, "emulated": "accept"}' >"$tmp/policy.json"

node_start() { # N PORT: starts node N on 127.0.0.1:PORT; sets NODE_PID
  NODE_PID=""
  : >"$tmp/n$1.log"
  "$VT" serve --listen "127.0.0.1:$2" --db "$URL" --trust "$tmp/emu/trust" --collateral "$tmp/emu/collateral" \
    --admin-key "$tmp/admin.pub.pem" --kek-file "$tmp/kek.hex" --ear-key "$tmp/ear.pem" --policy "$tmp/policy.json" \
    --max-sessions-per-client 100000 >>"$tmp/n$1.log" 2>&1 &
  NODE_PID=$!
  _i=0
  while [ "$_i" -lt 150 ]; do
    grep -q "listening on" "$tmp/n$1.log" && return 0
    kill -0 "$NODE_PID" 2>/dev/null || { cat "$tmp/n$1.log"; return 1; }
    sleep 0.1
    _i=$((_i + 1))
  done
  return 1
}
node_start 1 "$P1" || { echo "FAIL: node 1"; exit 1; }
N1=$NODE_PID
node_start 2 "$P2" || { echo "FAIL: node 2"; exit 1; }
N2=$NODE_PID
node_start 3 "$P3" || { echo "FAIL: node 3"; exit 1; }
N3=$NODE_PID

# The balancer: every request to the next node (no stickiness: sessions must cross nodes), a node
# leaves the pool after two failed /readyz checks 300 ms apart and comes back after two good ones;
# a connection refused is retried on another node (that request never reached a node). A check
# fails on a refused connection or a 503 at once; `timeout check` gives an answer up to 10 s
# (without it HAProxy takes `inter`, 300 ms, as the whole check's timeout: on a loaded machine a
# healthy node answering /readyz later than that would leave the pool; a margin, not a failure
# seen: checks took 0-15 ms under load 10).
cat >"$tmp/haproxy.cfg" <<EOF
global
  maxconn 256
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  timeout check 10s
  retries 2
  option redispatch
frontend kbs
  bind 127.0.0.1:$PH
  default_backend nodes
backend nodes
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 300ms fall 2 rise 2
  server n1 127.0.0.1:$P1 check
  server n2 127.0.0.1:$P2 check
  server n3 127.0.0.1:$P3 check
EOF
"$HAPROXY" -c -f "$tmp/haproxy.cfg" >"$tmp/haproxy.check" 2>&1 || { echo "FAIL: haproxy config: $(cat "$tmp/haproxy.check")"; exit 1; }
"$HAPROXY" -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.log" 2>&1 &
HP=$!
LB="http://127.0.0.1:$PH"
i=0
until curl -fs "$LB/readyz" >/dev/null 2>&1 || [ "$i" -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 "$HP" 2>/dev/null || i=300 # an answer from a HAProxy that exited is another server's
[ "$i" -lt 300 ] && ok "HAProxy on $LB in front of three nodes ($P1, $P2, $P3) on $URL" ||
  { echo "FAIL: HAProxy did not answer: $(cat "$tmp/haproxy.log")"; exit 1; }

printf 'ha-secret-%s' "$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')" >"$tmp/secret.bin"
KBS_URL=$LB
kbs_admin "$tmp" resource put ha/key/one "$tmp/secret.bin" >/dev/null || fail "admin put through the balancer"

# ---- four guests, 25 rounds each ----
ROUNDS=25
guest() { # G: rounds of one guest; one line per round: "<epoch> <exit> <secret ok 0/1>"
  _r=0
  _end=$(($(date +%s) + 220))
  while [ "$_r" -lt "$ROUNDS" ] && [ "$(date +%s)" -lt "$_end" ]; do
    rm -f "$tmp/got$1"
    timeout 60 "$VT" attest --kbs "$LB" --tee tdx --emulator "$tmp/emu" --resource ha/key/one --timeout 5 \
      --retries 6 -v -o "$tmp/got$1" 2>"$tmp/guest$1.last"
    _rc=$?
    grep -v "^ \|appraisal (attestation result\|guest attested to\|JWE decrypted" "$tmp/guest$1.last" | sed "s/^/$_rc /" >>"$tmp/guest$1.err"
    _same=0
    [ "$_rc" -eq 0 ] && cmp -s "$tmp/got$1" "$tmp/secret.bin" && _same=1
    echo "$(date +%s) $_rc $_same" >>"$tmp/rounds$1"
    _r=$((_r + 1))
  done
}
for g in 1 2 3 4; do
  : >"$tmp/rounds$g"
  guest "$g" &
  LOADS="$LOADS $!"
done
done_rounds() { cat "$tmp"/rounds[1-4] 2>/dev/null | wc -l; }
wait_rounds() { # N: until N rounds in total are done (at most 60 s)
  _i=0
  while [ "$(done_rounds)" -lt "$1" ] && [ "$_i" -lt 600 ]; do sleep 0.1; _i=$((_i + 1)); done
}

wait_rounds 20
kill -9 "$N2" 2>/dev/null
wait "$N2" 2>/dev/null
killed_at=$(date +%s)
ok "node 2 killed (SIGKILL) after $(done_rounds) rounds"
wait_rounds $(($(done_rounds) + 20))
node_start 2 "$P2" || fail "node 2 did not start again: $(tail -n 5 "$tmp/n2.log")"
N2=$NODE_PID
ok "node 2 started again after $(($(date +%s) - killed_at)) s, $(done_rounds) rounds done"
wait_rounds $(($(done_rounds) + 20))
pg_stop || fail "pg stop"
ok "PostgreSQL stopped after $(done_rounds) rounds"
code=""
i=0
while [ "$code" != 503 ] && [ "$i" -lt 300 ]; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P1/readyz")
  sleep 0.1
  i=$((i + 1))
done
[ "$code" = 503 ] && ok "a node's /readyz says 503 while its store is gone" || fail "/readyz with PostgreSQL down: $code"
sleep 1.5
pg_start || fail "pg start"
pg_back=$(date +%s)
ok "PostgreSQL started again"
i=0
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P1/readyz")" = 200 ] || [ "$i" -ge 600 ]; do
  sleep 0.1
  i=$((i + 1))
done
[ "$i" -lt 600 ] && ok "ready again after PostgreSQL's restart" || fail "/readyz not 200 60 s after PostgreSQL's restart"
for p in $LOADS; do wait "$p" 2>/dev/null; done
LOADS=""

cat "$tmp"/rounds[1-4] >"$tmp/rounds"
total=$(wc -l <"$tmp/rounds")
good=$(awk '$2 == 0 && $3 == 1' "$tmp/rounds" | wc -l)
wrong=$(awk '$2 == 0 && $3 != 1' "$tmp/rounds" | wc -l)
clean=$(awk '$2 == 3' "$tmp/rounds" | wc -l)
other=$(awk '$2 != 0 && $2 != 3' "$tmp/rounds" | wc -l)
echo "     $total rounds: $good secrets received, $clean clean errors (exit 3 after retries), $other other, $wrong wrong secrets"
[ "$total" -eq $((4 * ROUNDS)) ] && ok "all $total rounds ran" || fail "$total of $((4 * ROUNDS)) rounds ran (time bound hit)"
[ "$wrong" -eq 0 ] || fail "$wrong rounds exited 0 without the right secret"
[ "$other" -eq 0 ] && ok "every round received its secret or failed cleanly" ||
  fail "$other rounds ended otherwise: $(awk '$2 != 0 && $2 != 3 {print $2}' "$tmp/rounds" | sort | uniq -c | tr '\n' ' ')
$(grep -h "^[12] " "$tmp"/guest[1-4].err | head -n 5)"
[ "$good" -ge $((total * 3 / 4)) ] && ok "$good of $total rounds received the secret through the faults" ||
  fail "only $good of $total rounds succeeded"
awk -v t="$pg_back" '$1 >= t && $2 == 0' "$tmp/rounds" | grep -q . && ok "rounds succeed after PostgreSQL's restart" ||
  echo "     (no round was left to run after PostgreSQL's restart)"
grep -q "again in" "$tmp"/guest[1-4].err && ok "guests retried through the faults ($(cat "$tmp"/guest[1-4].err | grep -c "again in") retries)" ||
  echo "     (no guest needed a retry)"

# every node served every step: sessions crossed nodes (round robin, no stickiness)
for n in 1 2 3; do
  eval port=\$P$n
  curl -fs "http://127.0.0.1:$port/metrics" >"$tmp/m$n" 2>/dev/null || fail "node $n metrics"
  for ep in /kbs/v0/auth /kbs/v0/attest /kbs/v0/resource; do
    grep -q "route=\"$ep[^\"]*\",code=\"200\"" "$tmp/m$n" || fail "node $n never served $ep (200)"
  done
done
ok "each node served /auth, /attest and resource requests (node 2 since its restart)"
kill -0 "$N1" 2>/dev/null && kill -0 "$N2" 2>/dev/null && kill -0 "$N3" 2>/dev/null && ok "all three nodes up" ||
  fail "a node died"

# every released secret has its audit record; the chain written by three nodes verifies
"$VT" audit show --db "$URL" --tail 100000 --json >"$tmp/audit.json" 2>"$tmp/audit.err" || fail "audit show: $(cat "$tmp/audit.err")"
released=$(python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(sum(1 for r in recs if r.get("action") == "resource.get" and r.get("outcome") == "ok" and r.get("subject") == "ha/key/one"))
' "$tmp/audit.json" 2>"$tmp/py.err") || fail "audit records: $(cat "$tmp/py.err")"
[ "${released:-0}" -ge "$good" ] && ok "$released release records for $good secrets received" ||
  fail "$good secrets received but only ${released:-0} release records"
"$VT" audit verify --db "$URL" >"$tmp/audit" 2>&1 && ok "audit chain across three nodes: $(head -n 1 "$tmp/audit")" ||
  fail "audit verify: $(cat "$tmp/audit")"

if [ "$fails" -ne 0 ]; then
  for n in 1 2 3; do echo "--- node $n"; tail -n 15 "$tmp/n$n.log"; done
  echo "--- guests"; tail -n 5 "$tmp"/guest[1-4].err
  echo "--- haproxy"; tail -n 10 "$tmp/haproxy.log"
  echo "$fails failure(s)"; exit 1
fi
echo "kbs behind haproxy: all passed"
