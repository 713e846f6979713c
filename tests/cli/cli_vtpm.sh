#!/bin/sh
# The guest side of Azure CVMs and TPM hosts against a real software TPM: swtpm on loopback,
# provisioned by `veritee emulate azure-cvm` as Azure's paravisor would (AK 0x81000003, HCL report
# in NV 0x01400001 under the emulated SNP/TDX PKI, firmware and agent event logs); then the same
# `veritee evidence get --tee az-snp-vtpm|az-tdx-vtpm|tpm` as on Azure collects through tpm2-tss,
# and `veritee verify` judges it: verified, and refused for a wrong nonce, an unlogged PCR
# extend, a PCR value changed after the quote, a quote by another AK, a replayed quote.
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
for t in swtpm python3; do
  command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not installed (scripts/install-deps installs swtpm)"; exit 77; }
done
[ -e /usr/lib/x86_64-linux-gnu/libtss2-esys.so.0 ] || ls /usr/lib/*/libtss2-esys.so.0 >/dev/null 2>&1 ||
  { echo "SKIP: libtss2-esys not installed"; exit 77; }
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../fixtures/cli.sh"
. "$HERE/../../scripts/swtpm-env.sh"
IMDS_PID=
on_exit() { swtpm_stop; [ -n "$IMDS_PID" ] && kill $IMDS_PID 2>/dev/null; }
rhex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
cd "$tmp" || exit 1
E=$tmp/emu
"$B" emulate init "$E" >/dev/null || { echo "FAIL: emulate init"; exit 1; }
swtpm_start "$tmp/tpm" || { echo "FAIL: swtpm did not start"; exit 1; }
T=$SWTPM_TCTI
echo "swtpm at $T"

# --- no HCL report in a fresh TPM: missing (exit 3), never evidence
expect 3 "fresh TPM: no NV index 0x01400001" "$B" evidence get --tee az-snp-vtpm --tcti "$T" --imds-dir . --nonce "$(rhex 32)"
has "NV index"

# --- az-snp-vtpm
mkdir cvm
printf 'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"policy.rego" = "package agent_policy"\n' > init.toml
IH=$(python3 -c 'import hashlib,sys; print(hashlib.sha256(open("init.toml","rb").read()).hexdigest())')
expect 0 "emulate azure-cvm (SNP) provisions the swtpm" "$B" emulate azure-cvm "$E" --tee az-snp-vtpm --tcti "$T" --out cvm \
  --init-data "$IH" --aael 'github.com/confidential-containers PullImage {"image":"docker.io/library/busybox"}'
N=$(rhex 48)
GET="$B evidence get --tcti $T --imds-dir cvm --event-log cvm/binary_bios_measurements --aa-eventlog cvm/aa_eventlog"
VFY="$B verify --trust $E/trust --certs $E/collateral"
expect 0 "evidence get --tee az-snp-vtpm from the swtpm" $GET --tee az-snp-vtpm --nonce "$N" -o snp.json
python3 - snp.json "$N" <<'EOF' && echo "ok: Azure v1 shape, nonce unpadded in extraData" || { echo "FAIL: evidence shape"; exit 1; }
import json, sys, base64
e = json.load(open(sys.argv[1])); n = sys.argv[2]
assert e["version"] == 1 and set(e) >= {"tpm_quote", "hcl_report", "vcek", "cc_eventlog"}, sorted(e)
q = e["tpm_quote"]; m = bytes.fromhex(q["message"])
assert len(q["pcrs"]) == 24 and len(bytes.fromhex(q["signature"])) == 256
assert m[:6] == bytes.fromhex("ff5443478018")
l = int.from_bytes(m[6:8], "big"); off = 8 + l
nl = int.from_bytes(m[off:off + 2], "big")
assert m[off + 2:off + 2 + nl].hex() == n, "extraData is not the nonce"
assert base64.urlsafe_b64decode(e["hcl_report"])[:4] == b"HCLA" and e["hcl_report"].endswith("=") is not None
EOF
expect 0 "az-snp-vtpm verifies" $VFY --tee az-snp-vtpm --nonce "$N" snp.json
has "az-snp-vtpm evidence VERIFIED"
has "event_log"
has "1 AAEL"
python3 -c "import hashlib; print(hashlib.sha256(bytes(32)+bytes.fromhex('$IH')).hexdigest())" > pcr8.want
expect 0 "verify --json" $VFY --tee az-snp-vtpm --nonce "$N" --json snp.json
grep -q "$(cat pcr8.want)" "$tmp/out" && echo "ok:   PCR 8 = SHA-256(0^32 || init-data digest)" ||
  { echo "FAIL: PCR 8 does not carry the init-data"; fails=$((fails + 1)); }

expect 1 "wrong nonce refused" $VFY --tee az-snp-vtpm --nonce "$(rhex 48)" snp.json
has "tpm_quote_nonce"
# a replayed quote: yesterday's evidence for today's nonce
N2=$(rhex 48)
expect 1 "replayed quote refused (old evidence, new nonce)" $VFY --tee az-snp-vtpm --nonce "$N2" snp.json
has "tpm_quote_nonce"
expect 2 "more than Azure's 50 bytes of report data" $GET --tee az-snp-vtpm --nonce "$(rhex 64)"
has "50 bytes"
expect 2 "an SNP CVM asked for az-tdx-vtpm" $GET --tee az-tdx-vtpm --nonce "$N"
has "az-snp-vtpm"

# PCR value changed after the quote (in the JSON): the quote's digest no longer matches
python3 - snp.json pcr.json <<'EOF'
import json, sys
e = json.load(open(sys.argv[1])); p = e["tpm_quote"]["pcrs"]
p[4] = ("0" if p[4][0] != "0" else "1") + p[4][1:]
json.dump(e, open(sys.argv[2], "w"))
EOF
expect 1 "PCR value edited after the quote refused" $VFY --tee az-snp-vtpm --nonce "$N" pcr.json
has "tpm_pcr_digest"

# AK swap: the genuine HCL report (its AK) with a quote by another TPM key over the same nonce
expect 2 "provisioning a TPM that already booted refused" "$B" emulate azure-cvm "$E" --tee az-snp-vtpm --tcti "$T" --out cvm
has "freshly started TPM"
T1=$T; P1=$SWTPM_PID
swtpm_start "$tmp/tpm-b" || { echo "FAIL: swtpm B did not start"; exit 1; }
mkdir cvm.b
expect 0 "a second CVM (another TPM, another AK)" "$B" emulate azure-cvm "$E" --tee az-snp-vtpm --tcti "$SWTPM_TCTI" --out cvm.b
expect 0 "quote by the other AK" "$B" evidence get --tcti "$SWTPM_TCTI" --imds-dir cvm.b --event-log '' --aa-eventlog '' \
  --tee az-snp-vtpm --nonce "$N" -o snp.b.json
swtpm_stop; SWTPM_PID=$P1; T=$T1
python3 - snp.json snp.b.json swap.json <<'EOF'
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
a["tpm_quote"] = b["tpm_quote"]; a.pop("cc_eventlog", None)
json.dump(a, open(sys.argv[3], "w"))
EOF
expect 1 "AK swap refused (quote not by the HCL report's AK)" $VFY --tee az-snp-vtpm --nonce "$N" swap.json
has "tpm_quote_signature"
expect 0 "the new CVM's own evidence verifies" $VFY --tee az-snp-vtpm --nonce "$N" snp.b.json

# PCR tampering: an extend the logs do not record
expect 0 "AAEL entry extended into PCR 23 and logged" "$B" evidence extend --pcr 23 --tcti "$T" \
  --aael 'github.com/confidential-containers PullImage {"image":"docker.io/library/nginx"}' --log cvm/aa_eventlog
N=$(rhex 32)
expect 0 "evidence after a logged extend" $GET --tee az-snp-vtpm --nonce "$N" -o snp.c.json
expect 0 "logged AAEL entry replays" $VFY --tee az-snp-vtpm --nonce "$N" snp.c.json
has "2 AAEL"
expect 0 "unlogged extend of PCR 23" "$B" evidence extend --pcr 23 --tcti "$T" --digest "$(rhex 32)"
expect 0 "evidence after the unlogged extend" $GET --tee az-snp-vtpm --nonce "$N" -o snp.d.json
expect 1 "PCR tampering refused (log does not replay to the quoted PCR)" $VFY --tee az-snp-vtpm --nonce "$N" snp.d.json
has "event_log"

# --- tpm: the same TPM, its AK trusted by the verifier
expect 0 "evidence get --tee tpm (AK 0x81000003)" $GET --tee tpm --ak-handle 81000003 --nonce "$N" -o tpm.json
python3 - tpm.json ak.pem <<'EOF'
import json, sys, base64, textwrap
e = json.load(open(sys.argv[1]))
der = base64.b64decode(e["ak_public"])
open(sys.argv[2], "w").write("-----BEGIN PUBLIC KEY-----\n" + "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64)) + "\n-----END PUBLIC KEY-----\n")
assert len(base64.b64decode(e["report_data"])) == 64
EOF
expect 0 "tpm verifies with its AK trusted" "$B" verify --tee tpm --trust ak.pem --nonce "$N" tpm.json
has "VERIFIED"
expect 1 "tpm: wrong nonce" "$B" verify --tee tpm --trust ak.pem --nonce "$(rhex 32)" tpm.json

# --- the same through HTTP, as from Azure IMDS (a loopback stand-in answering from cvm/)
# imds_start DIR: the stand-in answering from DIR; sets IMDS_PID and IMDS (its URL), or fails the
# script when it has not said "listening on" within 30 s. Its output file is emptied first: a
# second start used to find the first one's line before its own redirection had truncated the
# file, and went on with the old port or none ("POST http://127.0.0.1:/acc/tdquote").
imds_start() {
  : > imds.out
  python3 "$HERE/../fixtures/fake_imds.py" "$1" >> imds.out 2>imds.err &
  IMDS_PID=$!
  i=0
  while ! grep -q '^listening on ' imds.out 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 300 ] || ! kill -0 $IMDS_PID 2>/dev/null; then
      echo "FAIL: the IMDS stand-in did not start: $(cat imds.err)"; exit 1
    fi
    sleep 0.1
  done
  IMDS="http://127.0.0.1:$(sed -n 's/^listening on //p' imds.out)"
}
imds_start "$tmp/cvm"
N=$(rhex 48)
expect 0 "az-snp-vtpm with the VCEK from IMDS over HTTP" "$B" evidence get --tee az-snp-vtpm --tcti "$T" --imds-url "$IMDS" \
  --event-log '' --aa-eventlog '' --nonce "$N" -o imds.json
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); assert a["vcek"] == b["vcek"]' \
  imds.json snp.c.json && echo "ok:   the VCEK is IMDS's PEM, as DER" || { echo "FAIL: VCEK from IMDS differs"; fails=$((fails + 1)); }

# --- az-tdx-vtpm: a TDX CVM in the same kind of TPM
swtpm_stop
swtpm_start "$tmp/tpm2" || { echo "FAIL: second swtpm did not start"; exit 1; }
T=$SWTPM_TCTI
mkdir tdx
expect 0 "emulate azure-cvm (TDX) provisions the swtpm" "$B" emulate azure-cvm "$E" --tee az-tdx-vtpm --tcti "$T" --out tdx
N=$(rhex 48)
expect 0 "evidence get --tee az-tdx-vtpm" "$B" evidence get --tee az-tdx-vtpm --tcti "$T" --imds-dir tdx \
  --event-log tdx/binary_bios_measurements --aa-eventlog '' --nonce "$N" -o tdx.json
grep -q '"td_quote"' tdx.json && echo "ok: td_quote in the evidence" || { echo "FAIL: no td_quote"; fails=$((fails + 1)); }
kill $IMDS_PID 2>/dev/null; wait $IMDS_PID 2>/dev/null
imds_start "$tmp/tdx"
expect 0 "az-tdx-vtpm with the TD quote from IMDS over HTTP" "$B" evidence get --tee az-tdx-vtpm --tcti "$T" \
  --imds-url "$IMDS" --event-log '' --aa-eventlog '' --nonce "$N" -o tdx.imds.json
python3 - tdx.imds.json tdx/tdreport.seen <<'PY' && echo "ok:   IMDS was sent the HCL report's TDREPORT" || { echo "FAIL: TDREPORT sent to IMDS"; fails=$((fails + 1)); }
import json, sys, base64
e = json.load(open(sys.argv[1])); h = e["hcl_report"]
hcl = base64.urlsafe_b64decode(h + "=" * (-len(h) % 4))
assert open(sys.argv[2], "rb").read() == hcl[0x20:0x20 + 1024]
PY
kill $IMDS_PID 2>/dev/null; wait $IMDS_PID 2>/dev/null; IMDS_PID=
expect 0 "az-tdx-vtpm verifies (emulated Intel collateral)" "$B" verify --tee az-tdx-vtpm --trust "$E/trust" \
  --collateral "$E/collateral" --nonce "$N" tdx.json
has "az-tdx-vtpm evidence VERIFIED"
expect 1 "az-tdx-vtpm wrong nonce" "$B" verify --tee az-tdx-vtpm --trust "$E/trust" --collateral "$E/collateral" \
  --nonce "$(rhex 48)" tdx.json

[ $fails -eq 0 ] && echo "cli_vtpm: all passed" || echo "cli_vtpm: $fails failed"
[ $fails -eq 0 ]
