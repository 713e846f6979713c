#!/bin/sh
# veritee serve as a systemd Type=notify service: READY=1 (with MAINPID) reaches $NOTIFY_SOCKET
# once it listens; SIGHUP reloads (RELOADING=1 then READY=1) and re-reads the --policy file, so an
# emulated guest accepted before is refused after; a policy file that does not parse keeps the
# running policy; SIGTERM sends STOPPING=1. The unit passes `systemd-analyze verify`.
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
if ! "$B" serve --help >/dev/null 2>&1; then echo "SKIP: veritee serve not wired"; exit 77; fi
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }
. "$(dirname "$0")/../fixtures/cli.sh"
rpid=
on_exit() { [ -n "$rpid" ] && kill "$rpid" 2>/dev/null; }
cd "$tmp" || exit 1

# The notification socket: every datagram appended to notes, one per line group, "--" between.
python3 - "$tmp/notify.sock" "$tmp/notes" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(1)
end = time.time() + 120
while time.time() < end:
    try:
        d = s.recv(4096)
    except socket.timeout:
        continue
    with open(sys.argv[2], "a") as f:
        f.write(d.decode() + "\n--\n")
PY
rpid=$!
i=0; while [ ! -S notify.sock ]; do i=$((i + 1)); [ $i -gt 50 ] && { bad "receiver"; exit 1; }; sleep 0.1; done
wait_note() { # wait_note PATTERN COUNT: the notes hold COUNT lines matching PATTERN
  i=0
  while [ "$(cat notes 2>/dev/null | grep -c -- "$1")" -lt "$2" ]; do
    i=$((i + 1)); [ $i -gt 100 ] && return 1; sleep 0.1
  done
}

E=$tmp/emu
"$B" emulate init "$E" >/dev/null || { bad "emulate init"; exit 1; }
# A second emulated platform, for a trust swap the file times do not show (see below).
"$B" emulate init "$tmp/emu2" >/dev/null || { bad "emulate init (2)"; exit 1; }
# The server reads copies (the guest keeps using $E).
S=$tmp/srv; mkdir -p "$S" && cp -r "$E/trust" "$E/collateral" "$S/"
stamp() { touch -h -d 2026-01-01T00:00:00Z "$S/trust" "$S"/trust/* "$S/collateral" "$S"/collateral/*; }
stamp
echo '{"id":"emu","version":1,"emulated":"accept"}' > pol.json
NOTIFY_SOCKET=$tmp/notify.sock "$B" serve --listen 127.0.0.1:0 --db "sqlite:$tmp/kbs.db" --trust "$S/trust" \
  --collateral "$S/collateral" --policy pol.json >out.txt 2>err.txt &
pid=$!
wait_note 'READY=1' 1 && ok "READY=1 sent once listening" || { bad "no READY=1"; cat err.txt; exit 1; }
grep -q "^MAINPID=$pid$" notes && ok "MAINPID=$pid" || bad "MAINPID missing: $(cat notes)"
U=$(sed -n 's/^listening on //p' out.txt)
grep -q "^STATUS=listening on $U" notes && ok "STATUS names $U" || bad "STATUS: $(cat notes)"

att() { # the EAR status the KBS gives an emulated SNP guest (affirming, warning, contraindicated)
  rm -f tok
  "$B" attest --kbs "$U" --tee snp --emulator "$E" --token-out tok >/dev/null 2>att.err || { echo "attest-failed"; return; }
  python3 -c 'import base64,json,sys; p=open(sys.argv[1]).read().strip().split(".")[1]; c=json.loads(base64.urlsafe_b64decode(p+"="*(-len(p)%4))); print(list(c["submods"].values())[0]["ear.status"])' tok
}
s=$(att); [ "$s" = affirming ] && ok "emulated SNP guest affirmed under the first policy" || { bad "first attest: $s"; cat att.err; }

echo '{"id":"strict","version":1}' > pol.json  # the default: emulated evidence rejected
kill -HUP "$pid"
wait_note 'RELOADING=1' 1 && wait_note 'READY=1' 2 && ok "SIGHUP: RELOADING=1 then READY=1" || bad "reload notes: $(cat notes)"
kill -0 "$pid" 2>/dev/null && ok "still running after SIGHUP" || bad "SIGHUP stopped the server"
s=$(att); [ "$s" = contraindicated ] && ok "after SIGHUP the new policy file contraindicates the emulated guest" || bad "policy not reloaded: $s $(cat att.err)"

echo '{"id":' > pol.json
kill -HUP "$pid"
wait_note 'READY=1' 3 || bad "no READY=1 after a failed reload"
grep -q "reload failed" notes && ok "a bad policy file: STATUS says the reload failed" || bad "bad reload not reported"
grep -q "the running policy stays" err.txt || bad "stderr does not say the running policy stays"
s=$(att); [ "$s" = contraindicated ] && ok "the running (strict) policy stays after a bad file" || bad "bad file changed the policy: $s"

# Trust replaced in place with the times kept (cp -p, rsync -t, a restored backup): the
# verifiers' own change detection (newest mtime) cannot see it; SIGHUP rebuilds them, and the
# guest of the first platform no longer chains to the new trust anchors.
echo '{"id":"emu","version":1,"emulated":"accept"}' > pol.json
kill -HUP "$pid"; wait_note 'READY=1' 4 || bad "no READY=1 after the fourth reload"
s=$(att); [ "$s" = affirming ] && ok "policy accepting again, old trust: $s" || bad "before the swap: $s"
cp "$tmp/emu2/trust/"* "$S/trust/"; cp "$tmp/emu2/collateral/"* "$S/collateral/"; stamp
s=$(att); echo "info: after an in-place swap with the times kept, before SIGHUP: $s (cached verifiers)"
kill -HUP "$pid"; wait_note 'READY=1' 5 || bad "no READY=1 after the fifth reload"
s=$(att); [ "$s" != affirming ] && ok "after SIGHUP the verifiers use the new trust: the old platform's guest is refused ($s)" \
  || bad "SIGHUP did not rebuild the verifiers: $s"

kill -TERM "$pid"; wait "$pid"; rc=$?; pid=
[ $rc = 0 ] && ok "SIGTERM: exit 0" || bad "SIGTERM exit $rc"
wait_note 'STOPPING=1' 1 && ok "STOPPING=1 sent" || bad "no STOPPING=1"

# The unit file as packaged.
U=$HERE/../../packaging/systemd/veritee.service
if command -v systemd-analyze >/dev/null; then
  mkdir -p unit && printf '#!/bin/sh\n' >unit/veritee && chmod +x unit/veritee
  sed "s|/usr/bin/veritee|$tmp/unit/veritee|g" "$U" >unit/veritee.service
  # it exits 0 on a setting it ignores, saying so: any word from it is a failure
  if systemd-analyze verify --man=no "$tmp/unit/veritee.service" >sa.out 2>&1 && [ ! -s sa.out ]; then
    ok "systemd-analyze verify veritee.service (not a word)"
  elif grep -q -e "System has not been booted with systemd" -e "Failed to initialize manager" -e "Failed to setup working directory" sa.out; then
    echo "SKIP (part): systemd-analyze cannot run here: $(head -1 sa.out)"
  else
    bad "systemd-analyze verify: $(cat sa.out)"
  fi
  grep -q '^Type=notify$' "$U" || bad "unit is not Type=notify"
  grep -q '^ExecReload=.*kill -HUP \$MAINPID' "$U" || bad "unit has no ExecReload sending SIGHUP"
fi
[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all cli_serve_systemd checks passed"
