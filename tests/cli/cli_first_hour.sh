#!/bin/sh
# Issue 13, "the first hour of a new user": each step a new user takes from README/docs, as
# written, does what the docs say (read-only store opens, nonce meanings, stdin, trust files,
# plan without firmware, hints, banners).
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
V=${VERITEE_VECTORS:-../shared/vectors}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$HERE/../..
. "$(dirname "$0")/../fixtures/cli.sh"
expect() { # expect CODE description command...
  want=$1; what=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"; got=$?
  if [ "$got" -ne "$want" ]; then bad "$what: exit $got, expected $want"; cat "$tmp/out" "$tmp/err"; else ok "$what (exit $got)"; fi
}
has() { # has FILE TEXT description
  if grep -q -- "$2" "$1"; then ok "$3"; else bad "$3: '$2' not in $(basename "$1")"; head -20 "$1"; fi
}

# 1. a mistyped store path: nothing created, exit 3 (not "audit chain intact: 0 records")
expect 3 "audit verify on a mistyped sqlite path" "$B" audit verify --db "sqlite:$tmp/mistyped/path.db"
expect 3 "audit verify on a missing file in an existing dir" "$B" audit verify --db "sqlite:$tmp/typo.db"
has "$tmp/err" "does not exist" "says the store does not exist"
[ ! -e "$tmp/typo.db" ] && ok "no file created" || bad "audit verify created $tmp/typo.db"
expect 3 "audit show on a missing store" "$B" audit show --db "sqlite:$tmp/typo.db"
[ ! -e "$tmp/typo.db" ] && ok "still no file" || bad "audit show created the file"
head -c 32 /dev/urandom >"$tmp/k1"; head -c 32 /dev/urandom >"$tmp/k2"; chmod 600 "$tmp/k1" "$tmp/k2"
expect 3 "store rekey on a missing store" "$B" store rekey --db "sqlite:$tmp/typo.db" --kek-file "$tmp/k1" --new-kek-file "$tmp/k2"
[ ! -e "$tmp/typo.db" ] && ok "rekey created nothing" || bad "store rekey created the file"

# 4. README: "veritee vm plan examples/vms/snp.json ... nothing runs": every example plans on a
#    host without its firmware/kernel/disks (a warning names them), exit 0
for ex in "$ROOT"/examples/vms/*.json; do
  VERITEE_STATE_DIR=$tmp/state "$B" vm plan "$ex" >"$tmp/out" 2>"$tmp/err"; rc=$?
  [ "$rc" -eq 0 ] && grep -q "qemu-system" "$tmp/out" && ok "vm plan $(basename "$ex"): argv printed" ||
    { bad "vm plan $(basename "$ex"): exit $rc"; cat "$tmp/err"; }
done
VERITEE_STATE_DIR=$tmp/state "$B" vm plan "$ROOT/examples/vms/snp.json" >"$tmp/out" 2>"$tmp/err"
if [ -e /usr/share/ovmf/OVMF.amdsev.fd ]; then echo "skip: this host has OVMF.amdsev.fd"; else
  has "$tmp/err" "warning: firmware /usr/share/ovmf/OVMF.amdsev.fd does not exist" "missing firmware is a warning"
  has "$tmp/err" "no-check-files" "the warning says how to silence it"
fi
VERITEE_STATE_DIR=$tmp/state "$B" vm plan --no-check-files "$ROOT/examples/vms/snp.json" >"$tmp/out" 2>"$tmp/err"
[ ! -s "$tmp/err" ] && ok "--no-check-files: no warning" || bad "--no-check-files still warns: $(cat "$tmp/err")"

# 5. one meaning of --nonce (hex), verify reads - as stdin, --trust/--certs take a file or a dir,
#    one bad file in a CCA trust dir is skipped with a warning
E=$tmp/emu
expect 0 "emulate init" "$B" emulate init "$E"
expect 0 "evidence get tdx --nonce-text" "$B" evidence get --tee tdx --nonce-text hello --emulator "$E" -o "$tmp/q.bin"
"$B" verify --trust "$E/trust" --collateral "$E/collateral" - <"$tmp/q.bin" >"$tmp/out" 2>"$tmp/err"; rc=$?
[ "$rc" -eq 0 ] && ok "verify - reads stdin" || { bad "verify - (exit $rc)"; cat "$tmp/err"; }
has "$tmp/out" "EMULATED" "TDX banner"
expect 0 "evidence get snp" "$B" evidence get --tee snp --nonce-text hello --emulator "$E" -o "$tmp/s.bin"
(openssl x509 -inform der -in "$E/collateral/snp_vcek.der"; cat "$E/collateral/snp_cert_chain.pem") >"$tmp/chain.pem"
expect 0 "snp: --certs FILE (one PEM chain) and --trust FILE" "$B" verify --tee snp --trust "$E/trust/snp_ark.pem" \
  --certs "$tmp/chain.pem" "$tmp/s.bin"
expect 0 "tdx: --trust FILE" "$B" verify --trust "$E/trust/tdx_sgx_root_ca.pem" --collateral "$E/collateral" "$tmp/q.bin"
expect 0 "evidence get cca" "$B" evidence get --tee cca --nonce-text hello --emulator "$E" -o "$tmp/c.bin"
expect 0 "cca: --trust FILE.json" "$B" verify --trust "$E/trust/cca_cpak.json" "$tmp/c.bin"
head -1 "$tmp/out" | grep -q "VERIFIED (EMULATED TEE" && ok "CCA banner on the first line" || bad "CCA banner: $(head -1 "$tmp/out")"
mkdir "$tmp/t2" "$tmp/t3"
cp "$E/trust/"* "$tmp/t2/"
echo '{broken' >"$tmp/t2/zz-broken.json"
cp "$tmp/t2/zz-broken.json" "$tmp/t3/"
expect 0 "cca: a bad file in the trust dir is skipped" "$B" verify --trust "$tmp/t2" "$tmp/c.bin"
has "$tmp/err" "skipped unusable files: zz-broken.json" "the skipped file is named"
expect 3 "cca: nothing usable in the trust dir" "$B" verify --trust "$tmp/t3" "$tmp/c.bin"
has "$tmp/err" "no usable CPAK" "says nothing was usable"

# 6. a TDX quote without collateral: the missing file is named and how to fetch it is said
expect 3 "tdx without collateral" "$B" verify --trust "$E/trust" "$tmp/q.bin"
has "$tmp/err" "missing" "the missing collateral is named"
has "$tmp/err" "fetch it from Intel PCS with --pcs-url https://api.trustedservices.intel.com --cache DIR" "the PCS hint is given"

# 6. AMD KDS rate-limiting (429): the back-off is announced on stderr while it waits
if command -v python3 >/dev/null 2>&1; then
  cat >"$tmp/kds429.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(429); self.send_header("Retry-After", "1"); self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
  python3 "$tmp/kds429.py" >"$tmp/kds.port" &
  kpid=$!
  i=0; while [ ! -s "$tmp/kds.port" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
  [ -s "$tmp/kds.port" ] || bad "the always-429 KDS stand-in did not start within 30 s"
  timeout 60 "$B" verify --tee snp --trust "$E/trust" --kds-url "http://127.0.0.1:$(cat "$tmp/kds.port")" \
    --cache "$tmp/kdscache" "$tmp/s.bin" >"$tmp/out" 2>"$tmp/err"; rc=$?
  kill "$kpid" 2>/dev/null; wait "$kpid" 2>/dev/null
  [ "$rc" -eq 3 ] && ok "KDS always 429: collateral missing (exit 3)" || bad "KDS 429: exit $rc"
  has "$tmp/err" "AMD KDS is rate-limiting (429/503): retrying in 1.0 s" "the back-off is announced"
fi

# 3. docs/kbs.md's first run, literally (its port replaced by a free one): the emulated guest
#    gets the secret; with the default policy it is refused and -v says why
if command -v python3 >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1; then
  PORT=$(free_port)
  awk '/^A first run on one machine/{f=1} f&&/^```sh$/{p=1; next} p&&/^```$/{exit} p' "$ROOT/docs/kbs.md" |
    sed "s/127.0.0.1:8080/127.0.0.1:$PORT/g" >"$tmp/kbs-first-run.sh"
  [ -s "$tmp/kbs-first-run.sh" ] || bad "docs/kbs.md first-run block not found"
  BINDIR=$(cd "$(dirname "$B")" && pwd)
  stop_port() { # a server the block left running (it failed before its kill): stop it by pid
    for p in $(pgrep -f "serve --listen 127.0.0.1:$1 " 2>/dev/null); do kill "$p" 2>/dev/null; done
  }
  (cd "$tmp" && PATH="$BINDIR:$PATH" timeout 60 sh -e "$tmp/kbs-first-run.sh") >"$tmp/out" 2>"$tmp/err"; rc=$?
  stop_port "$PORT"
  [ "$rc" -eq 0 ] && ok "docs/kbs.md first run works as written" || { bad "docs/kbs.md first run: exit $rc"; cat "$tmp/out" "$tmp/err"; }
  has "$tmp/out" "the guest got the secret" "the emulated guest received the secret"
  has "$tmp/err" "cpu0: affirming" "attest -v prints the EAR status"
  # the same guest against the production default policy: refused, and -v names the failing check
  PORT2=$(free_port)
  sed "s|--policy emulated-policy.json|--policy $ROOT/examples/policies/default.json|; s|mkdir kbs-try|mkdir kbs-try2|;
       s|cd kbs-try|cd kbs-try2|; s|127.0.0.1:$PORT|127.0.0.1:$PORT2|g" "$tmp/kbs-first-run.sh" >"$tmp/kbs-refused.sh"
  (cd "$tmp" && PATH="$BINDIR:$PATH" timeout 60 sh "$tmp/kbs-refused.sh") >"$tmp/out" 2>"$tmp/err"
  stop_port "$PORT2"
  has "$tmp/err" "cpu0: contraindicated (policy default)" "refused guest: -v prints the status"
  has "$tmp/err" "\\[fail\\] emulated (hardware)" "refused guest: -v prints the failing check"
  has "$tmp/err" "PolicyDeny" "refused guest: the KBS's reason"
  [ ! -s "$tmp/kbs-try2/got.key" ] && ok "refused guest got no secret" || bad "refused guest got a secret"
else
  echo "skip: docs/kbs.md first run needs python3 and openssl"
fi

# 6. docs/operations.md's install steps, as written, on a fresh tree (paths moved under $tmp;
#    useradd and systemctl left out): /etc/veritee is created before files go into it
mkdir -p "$tmp/inst/usr/bin" "$tmp/inst/etc/systemd/system" "$tmp/inst/build"
cp "$B" "$tmp/inst/build/veritee"
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/inst/admin.pem" 2>/dev/null
openssl ec -in "$tmp/inst/admin.pem" -pubout -out "$tmp/inst/admin.pub.pem" 2>/dev/null
mkdir -p "$tmp/inst/packaging" && cp -r "$ROOT/packaging/systemd" "$tmp/inst/packaging/"
awk '/^```sh$/{p=1; b=""; next} p&&/^```$/{if (b ~ /useradd/) {printf "%s", b; exit} p=0; next} p{b=b $0 "\n"}' \
  "$ROOT/docs/operations.md" | grep -v '^useradd \|^systemctl ' |
  sed "s| -g veritee||g; s| -o root||g" |
  sed "s| /etc/| $tmp/inst/etc/|g; s|>/etc/|>$tmp/inst/etc/|g; s|> /etc/|> $tmp/inst/etc/|g; s| /usr/bin/| $tmp/inst/usr/bin/|g" \
  >"$tmp/install.sh"
grep -q "install -d" "$tmp/install.sh" && ok "operations.md install block found" || bad "install block: $(cat "$tmp/install.sh")"
(cd "$tmp/inst" && sh -e "$tmp/install.sh") >"$tmp/out" 2>"$tmp/err"; rc=$?
[ "$rc" -eq 0 ] && ok "operations.md install steps run on a fresh tree" || { bad "install steps: exit $rc"; cat "$tmp/err" "$tmp/install.sh"; }
[ "$(stat -c %a "$tmp/inst/etc/veritee/kek" 2>/dev/null)" = 600 ] && ok "KEK file mode 0600" || bad "KEK mode"
[ -s "$tmp/inst/etc/veritee/veritee.env" ] && ok "env file installed" || bad "install result incomplete"

[ "$fails" -eq 0 ] && echo "all first-hour checks passed" || echo "$fails FAILED"
exit $((fails > 0))
