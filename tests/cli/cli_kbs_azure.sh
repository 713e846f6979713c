#!/bin/sh
# veritee serve over loopback with emulated Azure confidential VMs (az-snp-vtpm, az-tdx-vtpm): the
# guest's evidence JSON (as Trustee's attesters send it, the runtime-data digest as the TPM
# quote's qualifying data and the HCL user-data) -> /auth, /attest -> secret; a tampered PCR, a
# replayed quote, a wrong nonce and a swapped attestation key are each refused naming the check;
# policy rules over PCRs and AAEL events land in the EAR; tee "tpm" only with trusted AKs.
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
G="python3 $HERE/../fixtures/kbs_guest.py"
if ! "$B" serve --help >/dev/null 2>&1; then echo "SKIP: veritee serve not wired"; exit 77; fi
for t in curl jq python3 openssl; do
  command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
done
python3 -c 'import cryptography' 2>/dev/null || { echo "SKIP: python3-cryptography missing"; exit 77; }
. "$HERE/../fixtures/cli.sh"
check() { if [ "$2" = "$3" ]; then ok "$1 ($3)"; else bad "$1: got '$3', expected '$2'"; fi; }
cd "$tmp" || exit 1

E=$tmp/emu
printf '{"snp": {"rsa_bits": 2048}, "tdx": {}}' >platform.json
"$B" emulate init "$E" --platform platform.json >/dev/null || { bad "emulate init"; exit 1; }
"$B" emulate init "$tmp/emu2" --platform platform.json >/dev/null || { bad "emulate init 2"; exit 1; }
serve_emulated "$E" --max-sessions-per-client 100000
ok "serve listening on $U"
printf 'azure secret' > s1
$ADM resource put default/key/az s1 >/dev/null; check "admin resource put" 0 $?

code() { m=$1; p=$2; shift 2; curl -s -o body.json -w '%{http_code}' -X "$m" "$@" "$U$p"; }
auth() { # auth TEE -> nonce N, cookie jar jar.TEE
  rm -f "jar.$1"
  c=$(curl -s -o ch.json -w '%{http_code}' -c "jar.$1" -H 'Content-Type: application/json' \
    -d "{\"version\":\"0.4.0\",\"tee\":\"$1\",\"extra-params\":\"\"}" "$U/kbs/v0/auth")
  N=$(jq -r .nonce ch.json)
  [ "$c" = 200 ]
}
evidence() { # evidence TEE KEYNAME [EMU] -> ev.TEE: the vTPM quotes the 48-byte runtime-data digest
  $G keygen ec "$2" 2>/dev/null || [ -f "$2.jwk" ]
  RD=$($G binding "$N" "$2.jwk" | cut -c1-96)
  "$B" evidence get --tee "$1" --report-data "$RD" --emulator "${3:-$E}" \
    --aael 'github.com/confidential-containers PullImage {"image":"docker.io/library/busybox:1.36"}' -o "ev.$1" >/dev/null
}
post() { # post TEE EVIDENCE KEYNAME -> HTTP status; token in tok.json
  $G attestation "$1" "$N" "$3.jwk" "$2" > att.json
  c=$(curl -s -o tok.json -w '%{http_code}' -b "jar.$1" -c "jar.$1" -H 'Content-Type: application/json' \
    --data @att.json "$U/kbs/v0/attest")
  echo "$c"
}
ear() { # ear: the last token's payload
  jq -r .token tok.json | cut -d. -f2 | tr '_-' '/+' | awk '{n=length($0)%4; if(n==2)$0=$0"=="; else if(n==3)$0=$0"="; print}' | base64 -d
}

for tee in az-snp-vtpm az-tdx-vtpm; do
  auth $tee && ok "$tee /auth accepted" || { bad "$tee auth: $(cat ch.json)"; continue; }
  evidence $tee k.$tee || bad "$tee evidence get"
  check "$tee /attest" 200 "$(post $tee ev.$tee k.$tee)"
  ear > ear.json
  check "$tee EAR status" affirming "$(jq -r '.submods.cpu0."ear.status"' ear.json)"
  check "$tee EAR carries the PCRs" 24 "$(jq --arg t $tee '.submods.cpu0."ear.veraison.annotated-evidence"[$t].tpm.pcrs.sha256 | length' ear.json)"
  check "$tee EAR carries the AAEL event" PullImage \
    "$(jq -r --arg t $tee '.submods.cpu0."ear.veraison.annotated-evidence"[$t].tpm.event_log[0].aael.operation' ear.json)"
  check "$tee EAR carries the runtime claims" true \
    "$(jq -r --arg t $tee '.submods.cpu0."ear.veraison.annotated-evidence"[$t].tpm.runtime_claims."vm-configuration"."secure-boot"' ear.json)"
  check "$tee secret" 200 "$(code GET /kbs/v0/resource/default/key/az -b jar.$tee)"
  check "$tee JWE decrypts" "azure secret" "$($G decrypt k.$tee.pem body.json)"
  cp ev.$tee old.$tee

  # a tampered PCR: the quote's digest no longer covers the values
  auth $tee; evidence $tee k.$tee
  jq '.tpm_quote.pcrs[0] = ("00" * 32)' ev.$tee > bad.json
  check "$tee PCR tampering refused" 401 "$(post $tee bad.json k.$tee)"
  jq -r .detail tok.json | grep -q tpm_pcr_digest && ok "$tee names tpm_pcr_digest" || bad "$tee PCR: $(cat tok.json)"

  # a quote replayed from the first session: its qualifying data is the old digest
  auth $tee
  check "$tee replayed quote refused" 401 "$(post $tee old.$tee k.$tee)"
  jq -r .detail tok.json | grep -q tpm_quote_nonce && ok "$tee replay names tpm_quote_nonce" || bad "$tee replay: $(cat tok.json)"

  # evidence made for another nonce (fresh, but not this session's binding)
  auth $tee
  "$B" evidence get --tee $tee --report-data "$(printf '%096d' 1)" --emulator "$E" -o wrong.json >/dev/null
  check "$tee wrong nonce refused" 401 "$(post $tee wrong.json k.$tee)"
  jq -r .detail tok.json | grep -q tpm_quote_nonce && ok "$tee wrong nonce names tpm_quote_nonce" || bad "$tee nonce: $(cat tok.json)"

  # another vTPM's quote (its AK signed it) beside this VM's HCL report
  auth $tee; evidence $tee k.$tee
  cp ev.$tee mine.json
  evidence $tee k.$tee "$tmp/emu2"
  jq --slurpfile o ev.$tee '.tpm_quote = $o[0].tpm_quote' mine.json > swap.json
  check "$tee AK swap refused" 401 "$(post $tee swap.json k.$tee)"
  jq -r .detail tok.json | grep -q tpm_quote_signature && ok "$tee AK swap names tpm_quote_signature" || bad "$tee AK: $(cat tok.json)"
done

# policy over the vTPM claims: expected PCRs, allowed images, the SNP rules on the inner report
P0=$(printf 'a0%.0s' $(seq 32))
cat > azpol.json <<EOF
{"id":"azure","version":1,"emulated":"accept","tee_types":["az-snp-vtpm","az-tdx-vtpm"],
 "snp":{"max_vmpl":0},
 "tpm":{"pcrs":{"sha256":{"0":"$P0","17":["$(printf 'ff%.0s' $(seq 32))"]}},
        "aael":{"allowed":[{"domain":"github.com/confidential-containers","operation":"PullImage",
                            "image":"docker.io/library/busybox:1.36"}],"require_event_log":true},
        "secure_boot":true}}
EOF
$ADM policy set-attestation azpol.json default_az-snp-vtpm >/dev/null; check "set the Azure policy" 0 $?
auth az-snp-vtpm; evidence az-snp-vtpm k.az-snp-vtpm
check "az-snp-vtpm under the Azure policy" 200 "$(post az-snp-vtpm ev.az-snp-vtpm k.az-snp-vtpm)"
ear > ear.json
check "policy affirms" affirming "$(jq -r '.submods.cpu0."ear.status"' ear.json)"
check "resource under the policy" 200 "$(code GET /kbs/v0/resource/default/key/az -b jar.az-snp-vtpm)"
# an image the policy does not list: a token, no secret, the failing check in the EAR
auth az-snp-vtpm
RD=$($G binding "$N" k.az-snp-vtpm.jwk | cut -c1-96)
"$B" evidence get --tee az-snp-vtpm --report-data "$RD" --emulator "$E" \
  --aael 'github.com/confidential-containers PullImage {"image":"docker.io/evil/miner:latest"}' -o evil.json >/dev/null
check "unlisted image: token issued" 200 "$(post az-snp-vtpm evil.json k.az-snp-vtpm)"
ear > ear.json
check "unlisted image contraindicated" contraindicated "$(jq -r '.submods.cpu0."ear.status"' ear.json)"
jq -c '.submods.cpu0' ear.json | grep -q 'aael_events' && ok "EAR names aael_events" || bad "EAR lacks aael_events: $(jq -c .submods.cpu0 ear.json)"
check "unlisted image: no secret" 401 "$(code GET /kbs/v0/resource/default/key/az -b jar.az-snp-vtpm)"
# a PCR value the policy does not expect
sed "s/\"0\":\"$P0\"/\"0\":\"$(printf 'b0%.0s' $(seq 32))\"/" azpol.json > azpol2.json
$ADM policy set-attestation azpol2.json default_az-snp-vtpm >/dev/null
auth az-snp-vtpm; evidence az-snp-vtpm k.az-snp-vtpm
check "unexpected PCR0: token issued" 200 "$(post az-snp-vtpm ev.az-snp-vtpm k.az-snp-vtpm)"
ear > ear.json
jq -c '.submods.cpu0' ear.json | grep -q 'pcr.sha256.0' && ok "EAR names pcr.sha256.0" || bad "EAR lacks pcr.sha256.0: $(jq -c .submods.cpu0 ear.json)"
check "unexpected PCR0: no secret" 401 "$(code GET /kbs/v0/resource/default/key/az -b jar.az-snp-vtpm)"

# init-data: bound in PCR8 (one SHA-256 extend), as the attestation agent does on Azure
printf 'algorithm = "sha256"\nversion = "0.1.0"\n\n[data]\n"policy.rego" = "package x"\n' > init.toml
ID=$(sha256sum init.toml | cut -c1-64)
for tee in az-snp-vtpm az-tdx-vtpm; do
  $ADM policy set-attestation pol.json default_$tee >/dev/null
  auth $tee
  RD=$($G binding "$N" k.$tee.jwk | cut -c1-96)
  "$B" evidence get --tee $tee --report-data "$RD" --emulator "$E" --init-data "$ID" -o init.json >/dev/null
  $G attestation $tee "$N" k.$tee.jwk init.json init.toml > att.json
  c=$(curl -s -o tok.json -w '%{http_code}' -b "jar.$tee" -c "jar.$tee" -H 'Content-Type: application/json' \
    --data @att.json "$U/kbs/v0/attest")
  check "$tee init-data bound in PCR8" 200 "$c"
  auth $tee
  RD=$($G binding "$N" k.$tee.jwk | cut -c1-96)
  "$B" evidence get --tee $tee --report-data "$RD" --emulator "$E" -o noinit.json >/dev/null
  $G attestation $tee "$N" k.$tee.jwk noinit.json init.toml > att.json
  c=$(curl -s -o tok.json -w '%{http_code}' -b "jar.$tee" -c "jar.$tee" -H 'Content-Type: application/json' \
    --data @att.json "$U/kbs/v0/attest")
  check "$tee init-data not in PCR8 refused" 401 "$c"
  jq -r .detail tok.json | grep -q init_data && ok "$tee names init_data" || bad "$tee init: $(cat tok.json)"
done

$G tpm-evidence ak 00 /dev/null # the guest's AK, created once (ak.pem, ak.pub.pem)
check "tpm refused without trusted AKs" 401 \
  "$(code POST /kbs/v0/auth -H 'Content-Type: application/json' -d '{"version":"0.4.0","tee":"tpm","extra-params":""}')"
kill "$pid"; wait "$pid"; pid=
# the shell truncates out.txt in the new server's process, after the fork: until then
# wait_listening would find the first server's "listening on" line and take an empty URL
rm -f out.txt err.txt
"$B" serve --listen 127.0.0.1:0 --db "sqlite:$tmp/kbs2.db" --admin-key adm.pub --kek-file kek --ear-key ear.pem \
  --tpm-ak ak.pub.pem --max-sessions-per-client 100000 >out.txt 2>err.txt &
pid=$!
wait_listening out.txt err.txt
ADM="$B admin --kbs $U --key adm.pem"
$ADM resource put default/key/az s1 >/dev/null; check "resource on the second broker" 0 $?
# CoCo's TpmAttester: the 48-byte digest padded to 64 bytes (before Aug 2025) or cut to 32 (since)
for rdl in 128 64; do
  auth tpm && ok "tpm /auth accepted with --tpm-ak" || bad "tpm auth: $(cat ch.json)"
  $G keygen ec k.tpm 2>/dev/null
  RD=$($G binding "$N" k.tpm.jwk | cut -c1-$rdl)
  $G tpm-evidence ak "$RD" ev.tpm
  check "tpm /attest ($((rdl / 2))-byte qualifying data)" 200 "$(post tpm ev.tpm k.tpm)"
  ear > ear.json
  check "tpm EAR status" affirming "$(jq -r '.submods.cpu0."ear.status"' ear.json)"
  check "tpm claims no runtime opacity (a TPM encrypts no memory)" 0 \
    "$(jq -r '.submods.cpu0."ear.trustworthiness-vector"."runtime-opaque"' ear.json)"
  check "tpm secret" 200 "$(code GET /kbs/v0/resource/default/key/az -b jar.tpm)"
  check "tpm JWE decrypts" "azure secret" "$($G decrypt k.tpm.pem body.json)"
done
# an AK the broker does not trust
auth tpm
RD=$($G binding "$N" k.tpm.jwk | cut -c1-96)
$G tpm-evidence ak2 "$RD" ev2.tpm
check "tpm with an untrusted AK refused" 401 "$(post tpm ev2.tpm k.tpm)"
jq -r .detail tok.json | grep -q ak_trusted && ok "names ak_trusted" || bad "untrusted AK: $(cat tok.json)"
# 16 bytes of the digest bind too little: refused
auth tpm
RD=$($G binding "$N" k.tpm.jwk | cut -c1-32)
$G tpm-evidence ak "$RD" ev3.tpm
check "tpm with 16 bytes of the digest refused" 401 "$(post tpm ev3.tpm k.tpm)"
jq -r .detail tok.json | grep -q tpm_quote_nonce && ok "names tpm_quote_nonce" || bad "short nonce: $(cat tok.json)"

[ $fails -eq 0 ] && echo "all cli_kbs_azure checks passed" || echo "$fails failure(s)"
[ $fails -eq 0 ]
