#!/bin/sh
# veritee verify --tee az-snp-vtpm | az-tdx-vtpm | tpm over the real vectors: exit codes and output
# (0 verified, 1 rejected, 2 unusable input, 3 collateral or trust missing).
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
V=${VERITEE_VECTORS:-../shared/vectors}
if [ ! -d "$V/az_snp_vtpm" ]; then echo "SKIP: $V/az_snp_vtpm not found (set VERITEE_VECTORS)"; exit 77; fi
command -v openssl >/dev/null || { echo "SKIP: openssl(1) needed to extract the tpm AK"; exit 77; }
T=2026-01-01T00:00:00Z
A=$V/az_snp_vtpm/anchors
CH=6368616c6c656e6765 # "challenge"
. "$(dirname "$0")/../fixtures/cli.sh"

for v in v0 v1; do
  expect 0 "az-snp-vtpm $v verifies (auto-detected)" "$B" verify --trust "$A" --nonce $CH --at $T "$V/az_snp_vtpm/evidence-$v.json"
  has "az-snp-vtpm evidence VERIFIED"
  has "e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced"
done
N2=982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef
expect 0 "az-snp-vtpm v2, JSON" "$B" verify --tee az-snp-vtpm --trust "$A" --nonce $N2 --at $T --json "$V/az_snp_vtpm/evidence-v2.json"
has '"verified": true'
has '"hcl_user_data"'
has '"vmUniqueId"'
NG=0218488bae25d2509232bf676f1a66a30d7372add909109b36016ef136f2938ca05475f8b46094de6b64270ea35d950f
expect 0 "az-snp-vtpm genoa" "$B" verify --trust "$A" --nonce $NG --at $T "$V/az_snp_vtpm/evidence-genoa.json"
has "16f09f1e315b0b9bc69e654df58927aad7eaffeebd92f458f1b079b44e97207f"
expect 1 "wrong nonce" "$B" verify --trust "$A" --nonce 6368616c6c656e6766 --at $T "$V/az_snp_vtpm/evidence-v1.json"
has "tpm_quote_nonce"
expect 1 "before the VCEK's notBefore" "$B" verify --trust "$A" --nonce $CH --at 2025-01-28T16:26:54Z "$V/az_snp_vtpm/evidence-v1.json"
expect 3 "no ASK/ARK given" "$B" verify --tee az-snp-vtpm --nonce $CH --at $T "$V/az_snp_vtpm/evidence-v1.json"
expect 2 "--nonce of 65 bytes" "$B" verify --tee az-snp-vtpm --trust "$A" --nonce "$(printf '%0130d' 0)" --at $T "$V/az_snp_vtpm/evidence-v1.json"
expect 2 "TDX evidence as az-snp-vtpm" "$B" verify --tee az-snp-vtpm --trust "$A" --nonce $CH --at $T "$V/az_tdx_vtpm/evidence-v1.json"

# TDX: no Intel collateral in the set -> every offline check passes, exit 3 (never success)
for v in v0 v1; do
  expect 3 "az-tdx-vtpm $v without collateral" "$B" verify --nonce $CH --at $T "$V/az_tdx_vtpm/evidence-$v.json"
  has "\[pass\] td_quote_signature"
  has "\[pass\] hcl_tdreport"
done
expect 1 "az-tdx-vtpm wrong nonce" "$B" verify --tee az-tdx-vtpm --nonce 00 --at $T "$V/az_tdx_vtpm/evidence-v1.json"

# tpm: the AK is trusted only when given
sed -n 's/.*"ak_public": *"\([^"]*\)".*/\1/p' "$V/tpm/tpm_evidence.json" | openssl base64 -d -A >"$tmp/ak.der"
openssl pkey -pubin -inform DER -in "$tmp/ak.der" -out "$tmp/ak.pem" 2>/dev/null
NT=a04182b506878d4f29b91ee606a71a0d3361ccf1b22db20c98adcaa537bea393ef0e41a18b3569ab678f1497fbc5c120
expect 0 "tpm with its AK trusted" "$B" verify --trust "$tmp/ak.pem" --nonce $NT "$V/tpm/tpm_evidence.json"
has "tpm evidence VERIFIED"
has "zero-padded"
mkdir "$tmp/aks"; cp "$tmp/ak.pem" "$tmp/aks/"
expect 0 "tpm with an AK directory" "$B" verify --tee tpm --trust "$tmp/aks" "$V/tpm/tpm_evidence.json"
has "\[skip\] tpm_quote_nonce"
expect 1 "tpm with another AK" "$B" verify --trust "$V/tpm/azure-cvm-tooling/akpub.pem" "$V/tpm/tpm_evidence.json"
has "ak_trusted"
expect 3 "tpm without a trusted AK" "$B" verify --tee tpm "$V/tpm/tpm_evidence.json"

# emulated Azure CVMs end to end: evidence get -> verify (trust and collateral of the emulator)
printf '{"snp": {"rsa_bits": 2048}, "tdx": {}}' >"$tmp/platform.json"
expect 0 "emulate init" "$B" emulate init "$tmp/emu" --platform "$tmp/platform.json" --at 2026-06-01T00:00:00Z
ID=$(printf '%064d' 7)
for kind in az-snp-vtpm az-tdx-vtpm; do
  expect 0 "evidence get --tee $kind (emulated)" "$B" evidence get --tee $kind --emulator "$tmp/emu" --report-data $N2 \
    --aael 'github.com/confidential-containers PullImage {"image":"busybox"}' --init-data $ID -o "$tmp/$kind.json"
  expect 0 "$kind emulated evidence verifies" "$B" verify --trust "$tmp/emu/trust" --collateral "$tmp/emu/collateral" \
    --nonce $N2 --at 2026-06-02T00:00:00Z --json "$tmp/$kind.json"
  has '"verified": true'
  has '"operation": "PullImage"'
  has '"emulated": true'
  expect 1 "$kind emulated, another nonce" "$B" verify --trust "$tmp/emu/trust" --collateral "$tmp/emu/collateral" \
    --nonce $CH --at 2026-06-02T00:00:00Z "$tmp/$kind.json"
done
# veritee appraise: the vTPM claims under a policy (PCRs, the images the agent pulled)
printf '{"id":"az","version":1,"emulated":"accept","tee_types":["az-snp-vtpm","az-tdx-vtpm"],"tpm":{"pcrs":{"sha256":{"17":"%s"}},"aael":{"allowed":[{"operation":"PullImage","image":"busybox"}]}}}' \
  "$(printf 'ff%.0s' $(seq 32))" >"$tmp/azpol.json"
sed 's/"busybox"}]/"alpine"}]/' "$tmp/azpol.json" >"$tmp/azpol2.json"
for kind in az-snp-vtpm az-tdx-vtpm; do
  expect 0 "appraise $kind: listed image" "$B" appraise --policy "$tmp/azpol.json" --trust "$tmp/emu/trust" \
    --collateral "$tmp/emu/collateral" --nonce $N2 --at 2026-06-02T00:00:00Z --ear-key "$tmp/ear.pem" "$tmp/$kind.json"
  expect 1 "appraise $kind: unlisted image" "$B" appraise --policy "$tmp/azpol2.json" --trust "$tmp/emu/trust" \
    --collateral "$tmp/emu/collateral" --nonce $N2 --at 2026-06-02T00:00:00Z --ear-key "$tmp/ear.pem" "$tmp/$kind.json"
  has "aael_events"
done

# --init-data FILE: the TOML's digest must be bound (PCR8 on Azure: one SHA-256 extend)
printf 'algorithm = "sha256"\nversion = "0.1.0"\n\n[data]\n"aa.toml" = "x"\n' >"$tmp/init.toml"
IDH=$(sha256sum "$tmp/init.toml" | cut -c1-64)
for kind in az-snp-vtpm az-tdx-vtpm; do
  "$B" evidence get --tee $kind --emulator "$tmp/emu" --report-data $N2 --init-data "$IDH" -o "$tmp/i.$kind.json" >/dev/null
  expect 0 "$kind --init-data bound in PCR8" "$B" verify --trust "$tmp/emu/trust" --collateral "$tmp/emu/collateral" \
    --nonce $N2 --at 2026-06-02T00:00:00Z --init-data "$tmp/init.toml" "$tmp/i.$kind.json"
  has "\[pass\] init_data"
  expect 1 "$kind --init-data not bound" "$B" verify --trust "$tmp/emu/trust" --collateral "$tmp/emu/collateral" \
    --nonce $N2 --at 2026-06-02T00:00:00Z --init-data "$tmp/init.toml" "$tmp/$kind.json"
  has "init_data"
done
sed 's/sha256/sha384/' "$tmp/init.toml" >"$tmp/init384.toml"
expect 2 "a sha384 init-data cannot be in PCR8" "$B" verify --trust "$tmp/emu/trust" --nonce $N2 \
  --at 2026-06-02T00:00:00Z --init-data "$tmp/init384.toml" "$tmp/i.az-snp-vtpm.json"
expect 1 "the real genoa PCR8 binds no init-data of ours" "$B" verify --trust "$A" --nonce $NG --at $T \
  --init-data "$tmp/init.toml" "$V/az_snp_vtpm/evidence-genoa.json"
expect 2 "--init-data is not TOML" "$B" verify --trust "$A" --nonce $NG --at $T --init-data "$V/az_snp_vtpm/README.md" \
  "$V/az_snp_vtpm/evidence-genoa.json"
expect 2 "--init-data cannot apply to NVIDIA GPU evidence" "$B" verify --tee nvidia --init-data "$tmp/init.toml" \
  "$V/tpm/tpm_evidence.json"
has "applies to"
expect 2 "tpm: --collateral cannot apply" "$B" verify --tee tpm --trust "$tmp/ak.pem" --collateral "$tmp" "$V/tpm/tpm_evidence.json"

expect 2 "Azure evidence from a 64-byte nonce (over the vTPM's 50)" "$B" evidence get --tee az-snp-vtpm --emulator "$tmp/emu" --nonce-text x
expect 2 "Azure evidence without the emulator" "$B" evidence get --tee az-tdx-vtpm --provider tsm --report-data 00

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all ok"
