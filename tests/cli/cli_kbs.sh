#!/bin/sh
# veritee serve over real HTTP on loopback (SQLite): emulated TDX, SNP and CCA guests run RCAR
# with curl (the guest side is tests/fixtures/kbs_guest.py, written from kbs-protocol.md) and fetch a
# secret as JWE (EC and RSA keys, cookie and bearer); version/nonce/binding failures, denied and
# revoked resources, unauthenticated and replayed admin calls, hostile requests; audit chain.
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
G="python3 $HERE/../fixtures/kbs_guest.py"
if ! "$B" serve --help >/dev/null 2>&1; then echo "SKIP: veritee serve not wired"; exit 77; fi
for t in curl jq python3 openssl; do
  command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
done
python3 -c 'import cryptography' 2>/dev/null || { echo "SKIP: python3-cryptography missing"; exit 77; }
. "$(dirname "$0")/../fixtures/cli.sh"
check() { # check WHAT WANT GOT
  if [ "$2" = "$3" ]; then ok "$1 ($3)"; else bad "$1: got '$3', expected '$2'"; fi
}
cd "$tmp" || exit 1

E=$tmp/emu
"$B" emulate init "$E" >/dev/null || { bad "emulate init"; exit 1; }
openssl ecparam -name prime256v1 -genkey -noout -out other.pem 2>/dev/null
# a config member of the wrong type is refused naming it (it used to be ignored silently)
echo '{"max_body": "100"}' > badcfg.json
rc=0; "$B" serve --config badcfg.json --db "sqlite:$tmp/x.db" >/dev/null 2>cfgerr.txt || rc=$?
[ $rc -eq 2 ] && grep -q 'max_body: expected an integer' cfgerr.txt && ok "config type error refused" \
  || bad "config type error: exit $rc: $(cat cfgerr.txt)"
serve_emulated "$E"
ok "serve listening on $U"

code() { # code METHOD PATH [curl args...]: prints the HTTP status, body in body.json
  m=$1; p=$2; shift 2
  curl -s -o body.json -w '%{http_code}' -X "$m" "$@" "$U$p"
}

# --- admin: provisioning, authentication
$ADM resource put default/key/disk1 /dev/stdin >/dev/null <<EOS
0123456789abcdef0123456789abcdef
EOS
check "admin resource put" 0 $?
printf 'top secret' > s2; $ADM resource put default/key/other s2 >/dev/null; check "second resource" 0 $?
check "admin call without token" 401 "$(code POST /kbs/v0/resource/default/key/x --data-binary @s2)"
check "problem type" "https://github.com/confidential-containers/kbs/errors/AdminAuthAccess" "$(jq -r .type body.json)"
"$B" admin --kbs "$U" --key other.pem resource list >/dev/null 2>&1; check "admin with another key" 1 $?
$ADM resource list >list.json; check "admin resource list" 0 $?
grep -q default/key/disk1 list.json && ok "list names the resource" || bad "list"

# --- RCAR for each TEE
auth() { # auth TEE -> nonce in N, cookie jar jar.TEE
  rm -f "jar.$1"
  c=$(curl -s -o ch.json -w '%{http_code}' -c "jar.$1" -H 'Content-Type: application/json' \
    -d "{\"version\":\"0.4.0\",\"tee\":\"$1\",\"extra-params\":{\"supported-hash-algorithms\":[\"sha384\"]}}" "$U/kbs/v0/auth")
  N=$(jq -r .nonce ch.json)
  [ "$c" = 200 ] && [ ${#N} -eq 44 ] && [ "$(jq -r '."extra-params"' ch.json)" = "" ]
}
attest() { # attest TEE KEY -> token in T
  $G keygen "$2" "key.$1.$2"
  RD=$($G binding "$N" "key.$1.$2.jwk")
  "$B" evidence get --tee "$1" --report-data "$RD" --emulator "$E" -o "ev.$1" >/dev/null 2>&1 || return 1
  $G attestation "$1" "$N" "key.$1.$2.jwk" "ev.$1" > att.json
  c=$(curl -s -o tok.json -w '%{http_code}' -b "jar.$1" -c "jar.$1" -H 'Content-Type: application/json' --data @att.json "$U/kbs/v0/attest")
  T=$(jq -r .token tok.json 2>/dev/null)
  [ "$c" = 200 ]
}
for tee in tdx snp cca; do
  auth $tee && ok "$tee auth (cookie set, 44-char nonce)" || bad "$tee auth"
  grep -q kbs-session-id "jar.$tee" && ok "$tee cookie" || bad "$tee cookie"
  attest $tee ec && ok "$tee attest" || { bad "$tee attest"; cat tok.json; }
  check "$tee resource via cookie" 200 "$(code GET /kbs/v0/resource/default/key/disk1 -b "jar.$tee")"
  check "$tee JWE decrypts (EC)" 0123456789abcdef0123456789abcdef "$($G decrypt key.$tee.ec.pem body.json)"
  check "$tee resource via bearer" 200 "$(code GET /kbs/v0/resource/default/key/other -H "Authorization: Bearer $T")"
  check "$tee bearer JWE" "top secret" "$($G decrypt key.$tee.ec.pem body.json)"
  cp tok.json "tok.$tee.json"
done
check "second /attest returns the same token" "$(jq -r .token tok.cca.json)" \
  "$(curl -s -b jar.cca -H 'Content-Type: application/json' --data @att.json "$U/kbs/v0/attest" | jq -r .token)"
auth tdx; attest tdx rsa && ok "tdx attest with an RSA key" || bad "rsa attest"
check "RSA-OAEP-256 resource" 200 "$(code GET /kbs/v0/resource/default/key/disk1 -b jar.tdx)"
check "RSA JWE decrypts" 0123456789abcdef0123456789abcdef "$($G decrypt key.tdx.rsa.pem body.json)"
check "RSA header" RSA-OAEP-256 "$(jq -r .protected body.json | tr '_-' '/+' | base64 -d 2>/dev/null | jq -r .alg)"

# --- failures
check "version 0.2.0 refused" 401 "$(code POST /kbs/v0/auth -d '{"version":"0.2.0","tee":"tdx","extra-params":""}')"
jq -r .detail body.json | grep -q 'expect =0.4.0' && ok "version detail" || bad "version detail"
check "unknown TEE refused" 401 "$(code POST /kbs/v0/auth -d '{"version":"0.4.0","tee":"sample","extra-params":""}')"
auth tdx; NOLD=$N; auth snp
$G keygen ec k2; RD=$($G binding "$NOLD" k2.jwk)
"$B" evidence get --tee snp --report-data "$RD" --emulator "$E" -o ev.x >/dev/null 2>&1
$G attestation snp "$NOLD" k2.jwk ev.x > att.json
check "nonce of another session" 401 "$(code POST /kbs/v0/attest -b jar.snp --data @att.json)"
$G attestation snp "$N" k2.jwk ev.x > att.json
check "evidence bound to another nonce (binding)" 401 "$(code POST /kbs/v0/attest -b jar.snp --data @att.json)"
jq -r .detail body.json | grep -q 'already used\|binding' && ok "binding detail" || bad "binding detail: $(cat body.json)"
RD=$($G binding "$N" k2.jwk); "$B" evidence get --tee snp --report-data "$RD" --emulator "$E" -o ev.x >/dev/null 2>&1
$G attestation snp "$N" k2.jwk ev.x > att.json
check "replayed nonce after a failed /attest" 401 "$(code POST /kbs/v0/attest -b jar.snp --data @att.json)"
check "attest without cookie" 401 "$(code POST /kbs/v0/attest --data @att.json)"
check "resource without token" 401 "$(code GET /kbs/v0/resource/default/key/disk1)"
check "TokenNotFound" https://github.com/confidential-containers/kbs/errors/TokenNotFound "$(jq -r .type body.json)"
TT=$(jq -r .token tok.tdx.json)
check "tampered token" 401 "$(code GET /kbs/v0/resource/default/key/disk1 -H "Authorization: Bearer ${TT%??????}AAAAAA")"
check "missing resource" 401 "$(code GET /kbs/v0/resource/default/key/nope -H "Authorization: Bearer $TT")"
check "two-segment path" 404 "$(code GET /kbs/v0/resource/default/key -H "Authorization: Bearer $TT")"
check "traversal" 400 "$(code GET /kbs/v0/resource/default/../key/disk1 --path-as-is -H "Authorization: Bearer $TT")"
check "malformed JSON" 401 "$(code POST /kbs/v0/auth -d '{"version":')"
check "oversized body" 413 "$(head -c 3000000 /dev/zero | tr '\0' a | curl -s -o body.json -w '%{http_code}' -X POST --data-binary @- "$U/kbs/v0/auth")"

# --- resource policy: only TDX with this MRTD; revocation
printf '{"tee_types":["tdx"],"measurements":{"mr_td":["00"]}}' > rp.json
$ADM policy set-resource default/key/disk1 rp.json >/dev/null; check "set resource policy" 0 $?
check "denied by resource policy" 401 "$(code GET /kbs/v0/resource/default/key/disk1 -H "Authorization: Bearer $TT")"
check "PolicyDeny" https://github.com/confidential-containers/kbs/errors/PolicyDeny "$(jq -r .type body.json)"
printf '{"tee_types":["snp"]}' > rp.json; $ADM policy set-resource default/key/disk1 rp.json >/dev/null
ST=$(jq -r .token tok.snp.json)
check "snp-only resource to the snp guest" 200 "$(code GET /kbs/v0/resource/default/key/disk1 -H "Authorization: Bearer $ST")"
check "snp-only resource to the tdx guest" 401 "$(code GET /kbs/v0/resource/default/key/disk1 -H "Authorization: Bearer $TT")"
printf 'v2' > v2; $ADM resource rotate default/key/other v2 >/dev/null; check "rotate" 0 $?
check "old version revoked" 401 "$(code 'GET' '/kbs/v0/resource/default/key/other?version=1' -H "Authorization: Bearer $TT")"
check "new version" 200 "$(code GET /kbs/v0/resource/default/key/other -H "Authorization: Bearer $TT")"
check "new value" v2 "$($G decrypt key.tdx.ec.pem body.json)"
$ADM resource revoke default/key/other 2 >/dev/null; check "revoke" 0 $?
check "every version revoked" 401 "$(code GET /kbs/v0/resource/default/key/other -H "Authorization: Bearer $TT")"
$ADM resource versions default/key/other > vers.json; check "versions listed" 2 "$(jq '.versions | length' vers.json)"
check "version 1 revoked" true "$(jq '.versions[0].revoked != null' vers.json)"
# a guest failing the attestation policy gets a token but no secret
printf '{"id":"strict","version":1}' > strict.json
$ADM policy set-attestation strict.json default_cca >/dev/null; check "set attestation policy" 0 $?
auth cca; attest cca ec && ok "cca attest under a strict policy (token issued)" || bad "strict attest"
check "contraindicated guest refused" 401 "$(code GET /kbs/v0/resource/default/key/disk1 -b jar.cca)"
check "metrics" 200 "$(code GET /metrics)"
grep -q 'tee_attestation_total{tee="tdx",result="affirming"}' body.json && ok "attestation counter" || bad "attestation counter"
grep -q 'tee_key_denied_total' body.json && ok "denial counter" || bad "denial counter"
check "healthz" 200 "$(code GET /healthz)"
# archiving while the broker runs: the rounds go on, the log stays one chain (checked below)
"$B" audit archive --db "sqlite:$tmp/kbs.db" --keep 5 --out live.jsonl > arch.txt 2>&1; check "audit archive while serving" 0 $?
auth snp && attest snp ec && ok "a round after the live archive" || bad "round after the live archive"
check "resource after the live archive" 200 "$(code GET /kbs/v0/resource/default/key/disk1 -b jar.snp)"

kill "$pid"; wait "$pid"; check "graceful stop on SIGTERM" 0 $?; pid=
"$B" audit verify --db "sqlite:$tmp/kbs.db" >audit.txt 2>&1; check "audit chain verifies" 0 $?
"$B" audit show --db "sqlite:$tmp/kbs.db" --tail 200 >audit.txt 2>&1 || "$B" audit show --db "sqlite:$tmp/kbs.db" >audit.txt 2>&1
cat live.jsonl >> audit.txt # the records archived while serving
for a in attest resource.get resource.put policy.resource; do
  grep -q "$a" audit.txt && ok "audited: $a" || bad "not audited: $a"
done

# --- archiving the audit log: the oldest records out to a file, the chain unbroken
DB="sqlite:$tmp/kbs.db"
"$B" audit verify --db "$DB" --json > v0.json; check "audit verify --json" 0 $?
head0=$(jq -r .head_seq v0.json); base0=$(jq -r .base_seq v0.json)
[ "$base0" -gt 0 ] && ok "the live archive moved the base ($base0)" || bad "base after the live archive: $base0"
"$B" audit verify --db "$DB" --archive live.jsonl > v1.txt 2>&1; check "live archive + store verify" 0 $?
"$B" audit archive --db "$DB" --keep 3 --out a1.jsonl > arch.txt 2>&1; check "audit archive --keep 3" 0 $?
grep -q "archived records $((base0 + 1)) to $((head0 - 3)) " arch.txt && ok "archived $((base0 + 1)) to $((head0 - 3))" ||
  bad "archive: $(cat arch.txt)"
check "archive file mode 0600" 600 "$(stat -c %a a1.jsonl)"
check "archive lines (header + records)" "$((head0 - 3 - base0 + 1))" "$(wc -l < a1.jsonl)"
"$B" audit archive --db "$DB" --keep 2 --out a1.jsonl > arch.txt 2>&1; check "an archive is never overwritten" 2 $?
"$B" audit verify --db "$DB" > v1.txt 2>&1; check "store verifies after the cut" 0 $?
grep -q "records 1 to $((head0 - 3)) are archived" v1.txt && ok "verify names the archived records" || bad "verify: $(cat v1.txt)"
"$B" audit verify --db "$DB" --archive live.jsonl --archive a1.jsonl > v1.txt 2>&1; check "store + archives verify" 0 $?
grep -q "archives intact: $((head0 - 3)) records" v1.txt && ok "archives checked" || bad "verify --archive: $(cat v1.txt)"
# an anchor taken in the archived part: the store alone cannot tell, with the archives it can
anchor="$(sed -n 3p live.jsonl | jq -r '"\(.seq):\(.hash)"')"
"$B" audit verify --db "$DB" --anchor "$anchor" > v1.txt 2>&1; check "archived anchor without the archive" 1 $?
"$B" audit verify --db "$DB" --anchor "$anchor" --archive live.jsonl --archive a1.jsonl > v1.txt 2>&1
check "archived anchor with the archives" 0 $?
# an edited archive, one cut short, one missing
python3 - live.jsonl bad.jsonl <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
r = json.loads(lines[2]); r["subject"] = r["subject"] + "x"; lines[2] = json.dumps(r, separators=(",", ":"))
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
PY
"$B" audit verify --db "$DB" --archive bad.jsonl --archive a1.jsonl > v1.txt 2>&1; check "edited archive refused" 1 $?
grep -q "archive line 3: record 2 does not match its hash" v1.txt && ok "the edit is named" || bad "edit: $(cat v1.txt)"
head -n -1 live.jsonl > short.jsonl
"$B" audit verify --db "$DB" --archive short.jsonl --archive a1.jsonl > v1.txt 2>&1; check "archive cut short refused" 1 $?
{ head -n 1 live.jsonl; head -c 2100000 /dev/zero | tr '\0' a; echo; } > long.jsonl
"$B" audit verify --db "$DB" --archive long.jsonl > v1.txt 2>&1; check "a 2 MB archive line refused" 2 $?
grep -q "archive line 2: longer than 1 MiB" v1.txt && ok "the long line is named" || bad "long line: $(cat v1.txt)"
"$B" audit verify --db "$DB" --archive live.jsonl > v1.txt 2>&1; check "the last archive missing" 1 $?
grep -q "an archive is missing" v1.txt && ok "the gap is named" || bad "gap: $(cat v1.txt)"
# a third archive chains from the second; alone it does not reach record 1
"$B" audit archive --db "$DB" --keep 0 --out a2.jsonl > arch.txt 2>&1; check "audit archive --keep 0" 0 $?
"$B" audit verify --db "$DB" --archive live.jsonl --archive a1.jsonl --archive a2.jsonl > v1.txt 2>&1
check "three archives + store" 0 $?
"$B" audit verify --db "$DB" --archive a2.jsonl > v1.txt 2>&1; check "last archive alone" 1 $?
"$B" audit verify --db "$DB" --archive live.jsonl --archive a2.jsonl --archive a1.jsonl > v1.txt 2>&1
check "archives out of order" 1 $?
"$B" audit archive --db "$DB" --keep 0 --out a3.jsonl > arch.txt 2>&1; check "nothing left to archive" 0 $?
grep -q "nothing to archive" arch.txt && [ ! -e a3.jsonl ] && ok "no empty archive written" || bad "empty archive: $(cat arch.txt)"
"$B" audit archive --db "$DB" --out a4.jsonl > arch.txt 2>&1; check "archive without --keep/--before" 2 $?
"$B" audit archive --db "$DB" --before 1970-01-01T00:00:00Z --out a4.jsonl > arch.txt 2>&1; check "archive --before (none older)" 0 $?

[ $fails -eq 0 ] && echo "all cli_kbs checks passed" || echo "$fails failure(s)"
[ $fails -eq 0 ]
