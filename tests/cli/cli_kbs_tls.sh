#!/bin/sh
# veritee serve over HTTPS (--tls-cert/--tls-key) with a guest (veritee attest) and the admin
# client trusting its CA through --cacert; an untrusted or wrong CA is refused by the client.
set -u
VT=${VERITEE_BIN:?VERITEE_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/kbs-env.sh"
command -v openssl >/dev/null 2>&1 || { echo "SKIP: openssl command absent"; exit 77; }
. "$(dirname "$0")/../fixtures/cli.sh"
KBS_PID=""
on_exit() { kbs_stop "$KBS_PID"; }

# a CA and a server certificate for 127.0.0.1 (and another CA that did not sign it)
for ca in ca other; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=test $ca" \
    -keyout "$tmp/$ca.key" -out "$tmp/$ca.pem" 2>/dev/null || { bad "openssl $ca"; exit 1; }
done
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$tmp/srv.key" -out "$tmp/srv.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$tmp/ext"
openssl x509 -req -in "$tmp/srv.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial -days 2 \
  -extfile "$tmp/ext" -out "$tmp/srv.pem" 2>/dev/null || { bad "server certificate"; exit 1; }

kbs_keys "$tmp" || { bad "admin keys"; exit 1; }
"$VT" emulate init "$tmp/emu" >/dev/null || { bad "emulate init"; exit 1; }
printf '{"id": "tls-test", "version": 1, "emulated": "accept"}\n' >"$tmp/policy.json"
kbs_start "$tmp/serve.log" --db "sqlite:$tmp/kbs.db" --trust "$tmp/emu/trust" --collateral "$tmp/emu/collateral" \
  --admin-key "$tmp/admin.pub.pem" --kek-file "$tmp/kek.hex" --policy "$tmp/policy.json" \
  --tls-cert "$tmp/srv.pem" --tls-key "$tmp/srv.key" || { bad "serve over TLS did not start"; exit 1; }
case "$KBS_URL" in https://*) ok "serving $KBS_URL" ;; *) bad "not https: $KBS_URL" ;; esac

printf 'tls-secret-%s' "$$" >"$tmp/secret.bin"
kbs_admin "$tmp" --cacert "$tmp/ca.pem" resource put default/key/tls "$tmp/secret.bin" >/dev/null 2>"$tmp/err" &&
  ok "admin over HTTPS with --cacert" || bad "admin put: $(cat "$tmp/err")"
kbs_admin "$tmp" resource list >/dev/null 2>&1 && bad "admin accepted an untrusted server certificate" ||
  ok "admin without --cacert refuses the untrusted certificate"

for tee in tdx snp cca; do
  timeout 60 "$VT" attest --kbs "$KBS_URL" --cacert "$tmp/ca.pem" --tee $tee --emulator "$tmp/emu" \
    --resource default/key/tls --timeout 15 -o "$tmp/got" 2>"$tmp/err" && cmp -s "$tmp/got" "$tmp/secret.bin" &&
    ok "$tee guest received the secret over HTTPS" || bad "$tee attest over HTTPS: $(cat "$tmp/err")"
  rm -f "$tmp/got"
done
timeout 60 "$VT" attest --kbs "$KBS_URL" --cacert "$tmp/other.pem" --tee tdx --emulator "$tmp/emu" \
  --resource default/key/tls --timeout 15 -o "$tmp/got" 2>"$tmp/err"
rc=$?
[ $rc -ne 0 ] && [ ! -s "$tmp/got" ] && ok "a guest trusting another CA refuses the KBS (exit $rc)" ||
  bad "wrong CA accepted (exit $rc)"
timeout 60 "$VT" attest --kbs "$(echo "$KBS_URL" | sed 's/^https/http/')" --tee tdx --emulator "$tmp/emu" \
  --resource default/key/tls --timeout 5 -o "$tmp/got" 2>/dev/null && bad "plain HTTP to the TLS port worked" ||
  ok "plain HTTP to the TLS listener fails"
[ "$fails" -eq 0 ] || { echo "--- serve log"; tail -n 20 "$tmp/serve.log"; exit 1; }
