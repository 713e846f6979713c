#!/bin/sh
# The web console in headless Chromium (docs/console.md): the explorer on every real vector, a
# tampered quote, the dashboard signed in the page, security headers, accessibility (axe-core),
# keyboard use. Needs Debian's chromium and playwright-core + axe-core from npm; exits 77
# (skipped, never passed) with a message when they cannot be installed.
set -u
B=${VERITEE_BIN:-veritee}
V=${VERITEE_VECTORS:-../shared/vectors}
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "$(dirname "$B")" && pwd)
NODE_DIR=${VERITEE_UI_NODE_DIR:-$BUILD/ui-test}
skip() { echo "SKIP: $*"; exit 77; }

"$B" ui --help >/dev/null 2>&1 || skip "veritee ui not built"
[ -d "$V/tdx" ] || skip "no vectors in $V (set VERITEE_VECTORS)"
command -v node >/dev/null 2>&1 || skip "node not installed"
CHROMIUM=${VERITEE_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 ||
      skip "chromium is not installed and apt-get install chromium failed"
  fi
  [ -x "$CHROMIUM" ] || skip "chromium is not installed (apt-get install chromium)"
fi
if [ ! -d "$NODE_DIR/node_modules/playwright-core" ] || [ ! -d "$NODE_DIR/node_modules/axe-core" ]; then
  mkdir -p "$NODE_DIR"
  npm install --silent --no-audit --no-fund --prefix "$NODE_DIR" playwright-core axe-core >/dev/null 2>&1 ||
    skip "npm install playwright-core axe-core failed (no registry access?)"
fi

. "$(dirname "$0")/../fixtures/cli.sh"
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

port_of() { # file: waits for "http://HOST:PORT/" in it
  i=0
  while [ $i -lt 100 ]; do
    p=$(sed -n 's|.*http://[^:]*:\([0-9][0-9]*\).*|\1|p' "$1" | head -1)
    [ -n "$p" ] && { echo "$p"; return 0; }
    sleep 0.1; i=$((i + 1))
  done
  return 1
}

# the explorer alone, as on a laptop
"$B" ui --listen 127.0.0.1:0 --explore-rate 100 --explore-burst 500 >"$tmp/ui.out" 2>"$tmp/ui.err" &
pids="$pids $!"
UI_PORT=$(port_of "$tmp/ui.out") || { cat "$tmp/ui.err"; echo "FAIL: veritee ui did not start"; exit 1; }

# the key broker with the console (dashboard) and an admin key
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/admin.pem" 2>/dev/null
openssl ec -in "$tmp/admin.pem" -pubout -out "$tmp/admin.pub" 2>/dev/null
# (its KEK in a file: the page tests start more brokers on the same store, which must load the same key)
(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$tmp/kek.hex")
"$B" serve --listen 127.0.0.1:0 --explore-rate 100 --explore-burst 500 --db "sqlite:$tmp/kbs.db" --admin-key "$tmp/admin.pub" \
  --kek-file "$tmp/kek.hex" >"$tmp/serve.out" 2>"$tmp/serve.err" &
pids="$pids $!"
KBS_PORT=$(port_of "$tmp/serve.out") || { cat "$tmp/serve.err"; echo "FAIL: veritee serve did not start"; exit 1; }

# a second broker whose admin key is Ed25519 (as `veritee admin` supports): signed in the page
# with WebCrypto's Ed25519, driven by the keyboard only
openssl genpkey -algorithm ed25519 -out "$tmp/admin-ed.pem" 2>/dev/null
openssl pkey -in "$tmp/admin-ed.pem" -pubout -out "$tmp/admin-ed.pub" 2>/dev/null
"$B" serve --listen 127.0.0.1:0 --explore-rate 100 --explore-burst 500 --db "sqlite:$tmp/kbs-ed.db" --admin-key "$tmp/admin-ed.pub" \
  >"$tmp/serve-ed.out" 2>"$tmp/serve-ed.err" &
pids="$pids $!"
KBS_ED_PORT=$(port_of "$tmp/serve-ed.out") || { cat "$tmp/serve-ed.err"; echo "FAIL: veritee serve (Ed25519) did not start"; exit 1; }

SHOTS=${VERITEE_UI_SHOTS:-$BUILD/ui-shots}
mkdir -p "$SHOTS"
VERITEE_BIN="$B" NODE_DIR="$NODE_DIR" UI_URL="http://127.0.0.1:$UI_PORT" KBS_URL="http://127.0.0.1:$KBS_PORT" \
  ADMIN_KEY="$tmp/admin.pem" KBS_ED_URL="http://127.0.0.1:$KBS_ED_PORT" ADMIN_KEY_ED="$tmp/admin-ed.pem" VECTORS="$V" SHOTS="$SHOTS" CHROMIUM="$CHROMIUM" TMPDIR="$tmp" \
  timeout 280 node "$HERE/../ui/console.test.mjs"
rc=$?
# the explorer's per-client rate limit (the servers above run with a high one for the page tests):
# a burst of 3 and one request back per 100 s, so of 6 requests exactly 3 are refused however
# slowly a loaded machine sends them (at 0.5/s, six curls taking 2 s got one refusal fewer)
"$B" ui --listen 127.0.0.1:0 --explore-rate 0.01 --explore-burst 3 >"$tmp/ui2.out" 2>"$tmp/ui2.err" &
pids="$pids $!"
P2=$(port_of "$tmp/ui2.out") || { echo "FAIL: second veritee ui did not start"; rc=1; }
limited=0
for i in 1 2 3 4 5 6; do
  c=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data '{}' \
      "http://127.0.0.1:$P2/api/v1/explore")
  [ "$c" = 429 ] && limited=$((limited + 1))
done
if [ "$limited" -eq 3 ]; then echo "ok: explorer rate limit: $limited of 6 requests refused with 429"
else echo "FAIL: explorer rate limit: $limited of 6 requests got 429"; rc=1; fi
# graceful stop: both servers must exit 0 (under ASan, a leak or error found makes it non-zero)
for p in $pids; do
  kill -TERM "$p" 2>/dev/null
  wait "$p"; prc=$?
  [ $prc -eq 0 ] || { echo "FAIL: server $p exited $prc after SIGTERM"; rc=1; }
done
pids=""
[ $rc -eq 0 ] || { echo "--- ui.err"; tail -20 "$tmp/ui.err"; echo "--- serve.err"; tail -20 "$tmp/serve.err"; }
exit $rc
