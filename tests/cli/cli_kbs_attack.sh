#!/bin/sh
# veritee serve under one hostile client (issue 13), on loopback, bounded in time and count:
# the SQLite files are 0600; a slowloris from 127.0.0.2 (30 connections, one header line every
# 0.3 s) is cut off at the header deadline while /healthz keeps answering 127.0.0.1; one
# address gets at most --max-sessions-per-client sessions (429) while another still gets in;
# token-less admin calls leave no audit record each (counted in metrics).
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
if ! "$B" serve --help 2>&1 | grep -q -- --header-timeout; then echo "SKIP: veritee serve has no --header-timeout"; exit 77; fi
for t in curl python3; do
  command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
done
. "$(dirname "$0")/../fixtures/cli.sh"
check() { if [ "$2" = "$3" ]; then ok "$1 ($3)"; else bad "$1: got '$3', expected '$2'"; fi; }
cd "$tmp" || exit 1
umask 022
"$B" serve --listen 127.0.0.1:0 --db "sqlite:$tmp/kbs.db" --header-timeout 2 --max-connections 32 \
  --max-connections-per-ip 4 --max-sessions 20 --max-sessions-per-client 5 >out.txt 2>err.txt &
pid=$!
wait_listening out.txt err.txt
PORT=${U##*:}
for f in kbs.db kbs.db-wal kbs.db-shm; do
  check "$f mode" 600 "$(stat -c %a "$f" 2>/dev/null)"
done

# slowloris from 127.0.0.2 in the background; it prints how many connections the server closed
cat > slow.py <<'PY'
import socket, sys, time
port = int(sys.argv[1])
socks = []
for _ in range(30):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    s.setblocking(False)
    socks.append(s)
closed = set()
end = time.time() + 30  # bounded; a quiet machine is done in about 2 s (the header deadline)
while time.time() < end and len(closed) < len(socks):
    for i, s in enumerate(socks):
        if i in closed:
            continue
        try:
            s.send(b"X-Slow: 1\r\n")
            if s.recv(4096) == b"":
                closed.add(i)
        except BlockingIOError:
            pass
        except OSError:
            closed.add(i)
    time.sleep(0.3)
print(len(closed))
PY
python3 slow.py "$PORT" > slow.out &
spid=$!
healthy=0
for n in 1 2 3 4 5 6 7 8; do
  c=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$U/healthz")
  [ "$c" = 200 ] && healthy=$((healthy + 1))
  sleep 0.5
done
wait "$spid"
check "/healthz answered during the slowloris" 8 "$healthy"
check "slow connections closed by the server" 30 "$(cat slow.out)"

# sessions per client
A='{"version":"0.4.0","tee":"tdx","extra-params":""}'
codes=
for n in 1 2 3 4 5 6 7; do
  codes="$codes$(curl -s -o /dev/null -w '%{http_code}' -X POST -d "$A" "$U/kbs/v0/auth") "
done
check "one address: 5 sessions then 429" "200 200 200 200 200 429 429 " "$codes"
check "another address still gets a session" 200 \
  "$(curl -s --interface 127.0.0.3 -o /dev/null -w '%{http_code}' -X POST -d "$A" "$U/kbs/v0/auth")"

# token-less admin calls: counted, not one audit record each
for n in $(seq 1 50); do curl -s -o /dev/null "$U/kbs/v0/admin/resources"; done
curl -s "$U/metrics" > metrics.txt
grep -q 'veritee_unauthenticated_total{endpoint="admin"} 50' metrics.txt && ok "unauthenticated admin calls counted" ||
  bad "unauthenticated counter: $(grep unauthenticated metrics.txt)"
grep -q 'veritee_http_slow_clients_total{reason="header_timeout"}' metrics.txt && ok "slow clients counted" ||
  bad "slow client counter missing"
kill "$pid"; wait "$pid"; check "graceful stop" 0 $?; pid=
"$B" audit show --db "sqlite:$tmp/kbs.db" > audit.txt 2>&1
check "no audit record per token-less admin call" 0 "$(grep -c 'admin.auth' audit.txt)"
[ $fails -eq 0 ] && echo "all cli_kbs_attack checks passed" || echo "$fails failure(s)"
[ $fails -eq 0 ]
