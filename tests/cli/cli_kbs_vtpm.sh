#!/bin/sh
# End to end on loopback with a REAL software TPM: swtpm provisioned as an Azure CVM's vTPM
# (`veritee emulate azure-cvm`), the guest `veritee attest` collecting through tpm2-tss exactly as
# on Azure -> veritee serve /auth, /attest -> secret, for az-snp-vtpm and az-tdx-vtpm; init-data
# sent and bound in PCR 8. Refused, naming the check: an unlogged PCR extend (the event log no
# longer replays), a PCR value the policy does not expect, a replayed quote, evidence for another
# nonce, a quote by another TPM's AK.
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
G="python3 $HERE/../fixtures/kbs_guest.py"
if ! "$B" serve --help >/dev/null 2>&1; then echo "SKIP: veritee serve not wired"; exit 77; fi
for t in swtpm curl jq python3 openssl; do
  command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not installed (scripts/install-deps)"; exit 77; }
done
ls /usr/lib/*/libtss2-esys.so.0 >/dev/null 2>&1 || { echo "SKIP: libtss2-esys not installed"; exit 77; }
python3 -c 'import cryptography' 2>/dev/null || { echo "SKIP: python3-cryptography missing"; exit 77; }
. "$HERE/../fixtures/cli.sh"
. "$HERE/../../scripts/swtpm-env.sh"
PIDS=
on_exit() { for p in $PIDS; do kill "$p" 2>/dev/null; done; }
check() { if [ "$2" = "$3" ]; then ok "$1 ($3)"; else bad "$1: got '$3', expected '$2'"; fi; }
cd "$tmp" || exit 1

E=$tmp/emu
printf '{"snp": {"rsa_bits": 2048}, "tdx": {}}' >platform.json
"$B" emulate init "$E" --platform platform.json >/dev/null || { bad "emulate init"; exit 1; }
printf 'algorithm = "sha256"\nversion = "0.1.0"\n\n[data]\n"policy.rego" = "package agent_policy"\n' > init.toml
ID=$(sha256sum init.toml | cut -c1-64)

# one booted CVM per TEE: its own swtpm, provisioned once (a CVM boots once)
boot() { # boot NAME TEE [--aael TEXT]... -> TCTI in tcti.NAME, logs and IMDS answers in NAME/
  n=$1; t=$2; shift 2
  swtpm_start "$tmp/tpm.$n" || return 1
  PIDS="$PIDS $SWTPM_PID"
  echo "$SWTPM_TCTI" > "tcti.$n"
  mkdir -p "$n"
  "$B" emulate azure-cvm "$E" --tee "$t" --tcti "$SWTPM_TCTI" --out "$n" --init-data "$ID" "$@" >/dev/null
}
boot snp az-snp-vtpm --aael 'github.com/confidential-containers PullImage {"image":"docker.io/library/busybox:1.36"}' ||
  { bad "boot the SNP CVM"; exit 1; }
boot tdx az-tdx-vtpm || { bad "boot the TDX CVM"; exit 1; }
ok "two swtpm-backed CVMs booted"

serve_emulated "$E" --max-sessions-per-client 100000
ok "serve listening on $U"
printf 'azure secret' > s1
$ADM resource put default/key/az s1 >/dev/null; check "admin resource put" 0 $?

guest() { # guest NAME TEE [attest options...]: veritee attest from that CVM; exit code, stderr in att.err
  n=$1; t=$2; shift 2
  rm -f secret.out
  "$B" attest --kbs "$U" --tee "$t" --tcti "$(cat tcti.$n)" --imds-dir "$n" \
    --event-log "$n/binary_bios_measurements" --aa-eventlog "$n/aa_eventlog" "$@" >att.out 2>att.err
}
says() { grep -q -- "$1" att.err && ok "  says $1" || { bad "stderr lacks '$1'"; cat att.err; }; }

# --- the round: attest, then the secret, decrypted with the TEE key
for n in snp tdx; do
  t=az-$n-vtpm
  guest $n $t --init-data init.toml --resource default/key/az -o secret.out -v
  check "$t: veritee attest from the swtpm CVM" 0 $?
  check "$t: the secret" "azure secret" "$(cat secret.out 2>/dev/null)"
  grep -q 'affirming' att.err && ok "  $t EAR affirming" || bad "$t EAR: $(cat att.err)"
done
guest snp az-snp-vtpm --token-out tok.jwt --resource default/key/az -o secret.out
cut -d. -f2 tok.jwt | tr '_-' '/+' | awk '{n=length($0)%4; if(n==2)$0=$0"=="; else if(n==3)$0=$0"="; print}' | base64 -d > ear.json
check "EAR carries the 24 quoted PCRs" 24 "$(jq '.submods.cpu0."ear.veraison.annotated-evidence"."az-snp-vtpm".tpm.pcrs.sha256 | length' ear.json)"
check "EAR carries the AAEL event from the agent's log" PullImage \
  "$(jq -r '[.submods.cpu0."ear.veraison.annotated-evidence"."az-snp-vtpm".tpm.event_log[] | select(.aael) | .aael.operation][0]' ear.json)"

# --- init-data the KBS is told but PCR 8 does not carry
printf 'algorithm = "sha256"\nversion = "0.1.0"\n\n[data]\n"policy.rego" = "package other"\n' > other.toml
guest snp az-snp-vtpm --init-data other.toml --resource default/key/az -o secret.out
check "init-data not bound in PCR 8 refused" 1 $?
says init_data

# --- a PCR value the policy does not expect (PCR 0 of the emulated firmware)
P0=$(jq -r '.submods.cpu0."ear.veraison.annotated-evidence"."az-snp-vtpm".tpm.pcrs.sha256."0" // .submods.cpu0."ear.veraison.annotated-evidence"."az-snp-vtpm".tpm.pcrs.sha256[0]' ear.json)
cat > azpol.json <<EOF
{"id":"azure","version":1,"emulated":"accept","tee_types":["az-snp-vtpm"],
 "tpm":{"pcrs":{"sha256":{"0":"$P0"}},"aael":{"require_event_log":true}}}
EOF
jq '.tpm.pcrs.sha256."0" = ("b0" * 32)' azpol.json > azpol2.json
$ADM policy set-attestation azpol.json default_az-snp-vtpm >/dev/null; check "policy: PCR 0 as booted" 0 $?
guest snp az-snp-vtpm --resource default/key/az -o secret.out
check "PCR 0 as the policy expects: secret" 0 $?
$ADM policy set-attestation azpol2.json default_az-snp-vtpm >/dev/null; check "policy: another PCR 0" 0 $?
guest snp az-snp-vtpm --resource default/key/az -o secret.out -v
check "PCR 0 the policy does not expect: no secret" 1 $?
says pcr.sha256.0
$ADM policy set-attestation pol.json default_az-snp-vtpm >/dev/null

# --- PCR tampering: an extend of PCR 23 the logs do not record
"$B" evidence extend --pcr 23 --tcti "$(cat tcti.snp)" --digest "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >/dev/null
check "unlogged extend of PCR 23" 0 $?
guest snp az-snp-vtpm --resource default/key/az -o secret.out
check "PCR tampering refused at /attest" 1 $?
says event_log

# --- replayed quote, wrong nonce, AK swap: evidence from the TPM posted by hand (kbs_guest.py)
auth() { # auth TEE -> nonce N, cookie jar jar
  rm -f jar
  c=$(curl -s -o ch.json -w '%{http_code}' -c jar -H 'Content-Type: application/json' \
    -d "{\"version\":\"0.4.0\",\"tee\":\"$1\",\"extra-params\":\"\"}" "$U/kbs/v0/auth")
  N=$(jq -r .nonce ch.json)
  [ "$c" = 200 ]
}
post() { # post TEE EVIDENCE -> HTTP status, answer in tok.json
  $G attestation "$1" "$N" k.jwk "$2" > att.json
  curl -s -o tok.json -w '%{http_code}' -b jar -c jar -H 'Content-Type: application/json' --data @att.json "$U/kbs/v0/attest"
}
get() { # get NAME TEE RDHEX OUT: evidence from that CVM's TPM (no logs: the SNP CVM's PCR 23 was tampered)
  "$B" evidence get --tee "$2" --tcti "$(cat tcti.$1)" --imds-dir "$1" --event-log '' --aa-eventlog '' \
    --report-data "$3" -o "$4" >/dev/null
}
$G keygen ec k 2>/dev/null
for n in snp tdx; do
  t=az-$n-vtpm
  o=tdx; [ $n = tdx ] && o=snp
  auth $t; RD=$($G binding "$N" k.jwk | cut -c1-96); get $n $t "$RD" first.json
  check "$t: evidence from the TPM, posted by hand" 200 "$(post $t first.json)"
  auth $t
  check "$t: replayed quote refused" 401 "$(post $t first.json)"
  jq -r .detail tok.json | grep -q tpm_quote_nonce && ok "  names tpm_quote_nonce" || bad "replay: $(cat tok.json)"
  auth $t; get $n $t "$(printf '%096d' 7)" wrong.json
  check "$t: evidence for another nonce refused" 401 "$(post $t wrong.json)"
  jq -r .detail tok.json | grep -q tpm_quote_nonce && ok "  names tpm_quote_nonce" || bad "nonce: $(cat tok.json)"
  # AK swap: this CVM's HCL report with a quote by the other CVM's TPM (another AK), same nonce
  auth $t; RD=$($G binding "$N" k.jwk | cut -c1-96); get $n $t "$RD" mine.json
  get $o az-$o-vtpm "$RD" theirs.json
  jq --slurpfile o theirs.json '.tpm_quote = $o[0].tpm_quote | del(.cc_eventlog)' mine.json > swap.json
  check "$t: AK swap refused" 401 "$(post $t swap.json)"
  jq -r .detail tok.json | grep -q tpm_quote_signature && ok "  names tpm_quote_signature" || bad "AK swap: $(cat tok.json)"
done

[ $fails -eq 0 ] && echo "all cli_kbs_vtpm checks passed" || echo "$fails failure(s)"
[ $fails -eq 0 ]
