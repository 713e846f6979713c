#!/bin/sh
# The key broker's GPU revocation and RIM sources over loopback (issue 16; docs/kbs.md, "GPU
# revocation and RIMs"): an emulated TDX guest with 2 emulated Hopper GPUs attests to `veritee
# serve` whose policy requires a RIM match (nvidia.require_rim_match); the device chains are
# checked online against an `openssl ocsp` responder (tests/fixtures/ocsp_responder.py), the RIMs
# come from the fake RIM service (driver and VBIOS RIMs of the GPUs' measurements, signed by an
# emulated RIM root with xmlsec1). Released: the model key, also to two guests at once. Refused,
# with the reason in the EAR: a revoked device certificate; the responder down with nothing
# cached (and passed again from a cache); the RIM service down with no cached RIM; a GPU whose
# measurement does not match its RIM. Then `veritee appraise` with the same sources.
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
F=$HERE/../fixtures
VT=$B
. "$HERE/../../scripts/kbs-env.sh"
. "$F/cli.sh"
need openssl python3 timeout xmlsec1
KBS_PID=
PIDS=
on_exit() { kbs_stop "$KBS_PID"; for p in $PIDS; do kill "$p" 2>/dev/null || true; done; }
fail() { echo "FAIL: $*"; exit 1; }
T=$tmp # the scratch directory of tests/fixtures/gpu_pki.sh
cd "$T" || exit 1

echo '{"tdx":{},"nvidia":{"gpus":2,"driver_version":"580.95.05","vbios_version":"96.00.74.00.1a"}}' >plat.json
kbs_emulate emu plat.json || fail "emulate init"
kbs_keys . || fail "keys"
K=$T/emu/keys
. "$F/gpu_pki.sh"
gpu_pki 2

# the GPUs' measurements and the RIM ids their reports name (the same versions on both)
GN=8899aabbccddeeff0011223344556677
timeout 20 "$B" evidence get --tee nvidia --emulator emu --nonce "$GN" -o gpus.json || fail "evidence get --tee nvidia"
timeout 20 "$B" verify --tee nvidia --trust emu/trust --nonce "$GN" --json gpus.json >plain.json || fail "plain verify"
python3 - <<'PY' || fail "measurements"
import json
devs = json.load(open("plain.json"))["devices"]
for i, d in enumerate(devs):
    json.dump(d["measurements"], open("meas%d.json" % i, "w"))
d = devs[0]
assert devs[1]["rim_ids"] == d["rim_ids"], devs
open("ids", "w").write("%s %s %s\n" % (d["rim_ids"]["driver"], d["rim_ids"]["vbios"], d["config"]["vbios_version"]))
PY
read -r DRV_ID VB_ID VB_VER <ids
# one RIM pair for both GPUs (each index lists both GPUs' values as alternatives); vbios_bad
# has a wrong index 9 for GPU 0 only
gpu_rim_sign vbios "$VB_VER" "0-6,8-12" "$T/meas0.json,$T/meas1.json"
gpu_rim_sign driver 580.95.05 "7,21-40" "$T/meas0.json,$T/meas1.json"
gpu_rim_sign vbios_bad "$VB_VER" "0-6,8,9!,10-12" "$T/meas0.json,$T/meas1.json"
ok "RIM PKI, OCSP signers and RIMs of both GPUs made"

cat >pol.json <<'EOF'
{"id": "cvm-gpu-rim", "emulated": "accept",
 "nvidia": {"architectures": ["HOPPER"], "ppcie": "forbidden", "require_rim_match": true, "gpus": 2}}
EOF
echo '{"tee_types": ["tdx", "snp", "nvidia"], "min_gpus": 2}' >rpol.json
printf 'model-weights-key-%s' "$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')" >secret

serve() { # serve NAME CACHE: a fresh broker asking the responder and RIM service (timeout 3 s)
  kbs_stop "$KBS_PID"
  KBS_PID=
  kbs_start "$1.log" --db "sqlite:$T/$1.db" --trust emu/trust --collateral emu/collateral \
    --admin-key admin.pub.pem --kek-file kek.hex --ear-key ear.pem --policy pol.json \
    --max-sessions-per-client 100000 --nvidia-ocsp-url "$OURL" --nvidia-rim-url "$RURL" \
    --nvidia-rim-trust rimroot.pem --nvidia-cache "$T/$2" --nvidia-timeout 3 || return 1
  kbs_admin . resource put default/model/key secret >/dev/null &&
    kbs_admin . policy set-resource default/model/key rpol.json >/dev/null
}
guest() { # guest NAME: attest with 2 GPUs, fetch the model key; rc in RC, messages in NAME.err
  rm -f "$1.secret"
  RC=0
  timeout 60 "$B" attest -v --kbs "$KBS_URL" --tee tdx --emulator emu --gpu-evidence emulated \
    --resource default/model/key --token-out "$1.jwt" --timeout 20 -o "$1.secret" 2>"$1.err" || RC=$?
}
submods() { # submods TOKEN: "cpu0=affirming gpu0=..." read from the verified EAR
  timeout 20 "$B" ear verify --key ear.pem --json "$1" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join("%s=%s" % (k, v["ear.status"]) for k, v in sorted(d["submods"].items())))'
}
check_released() { # check_released NAME
  if [ "$RC" -eq 0 ] && cmp -s "$1.secret" secret; then ok "$1: model key received"; else bad "$1: exit $RC: $(cat "$1.err")"; fi
}
check_refused() { # check_refused NAME WANT_SUBMODS REASON_GREP
  if [ "$RC" -eq 1 ] && [ ! -s "$1.secret" ]; then ok "$1: no secret (exit 1)"; else bad "$1: exit $RC, secret: $(cat "$1.secret" 2>/dev/null)"; fi
  got=$(submods "$1.jwt")
  [ "$got" = "$2" ] && ok "$1: EAR submods $got" || bad "$1: EAR submods '$got', expected '$2'"
  grep -q "$3" "$1.err" && ok "$1: reason in the EAR ($3)" || { bad "$1: reason '$3' not shown"; cat "$1.err"; }
}
logged() { [ -f "$1" ] && wc -l <"$1" | tr -d ' ' || echo 0; }

gpu_ocsp_start "$T/i.dleaf" "$T/i.rimsigner"
gpu_rims_start "$VB_ID=$T/vbios.xml" "$DRV_ID=$T/driver.xml"
serve s1 cache1 || fail "serve"
ok "serve on $KBS_URL with --nvidia-ocsp-url, --nvidia-rim-url, --nvidia-rim-trust"

# --- both GPUs' chains good online, RIMs fetched and matched: the model key is released
guest good
check_released good
got=$(submods good.jwt)
[ "$got" = "cpu0=affirming gpu0=affirming gpu1=affirming" ] && ok "one affirming submod per device ($got)" || bad "submods: $got"
timeout 20 "$B" ear verify --key ear.pem --json good.jwt | python3 -c '
import json, sys
d = json.load(sys.stdin)["submods"]
for g in ("gpu0", "gpu1"):
    c = d[g]["ear.veraison.annotated-evidence"]["nvidia"]["tee_claims"]
    assert c["rim"] == "matched", c
' && ok "both GPUs' claims say rim matched" || bad "rim claims in the EAR"
[ -f cache1/nvidia/rim/"$VB_ID".swidtag ] && [ -f cache1/nvidia/rim/"$DRV_ID".swidtag ] &&
  ls cache1/nvidia/ocsp/*.der >/dev/null 2>&1 && ok "RIMs and OCSP answers cached by the broker" || bad "broker cache: $(find cache1)"

# --- two guests at once (two request threads verifying GPUs, RIMs, OCSP concurrently)
guest par1 & P1=$!
guest par2 & P2=$!
wait $P1; wait $P2
RC=0; cmp -s par1.secret secret && cmp -s par2.secret secret && ok "two concurrent guests: both received the key" ||
  bad "concurrent guests: $(cat par1.err par2.err)"

# --- (b) cached: responder and RIM service down, answers and RIMs still valid in the cache
gpu_stop "$OPID" "$RPID"
o_before=$(logged olog)
guest cached
check_released cached
[ "$(logged olog)" = "$o_before" ] && ok "cached: no OCSP request (answers from the cache)" || bad "cached: OCSP asked"
# ... with nothing cached: fail closed, the unreachable responder named
serve s2 cache2 || fail "serve s2"
guest down
check_refused down "cpu0=contraindicated gpu0=contraindicated gpu1=contraindicated" "revocation: .*unreachable"

# --- (c) the RIM service down, no cached RIM: refused naming the RIM fetch
gpu_ocsp_start "$T/i.dleaf" "$T/i.rimsigner"
serve s3 cache3 || fail "serve s3"
guest normim
check_refused normim "cpu0=contraindicated gpu0=contraindicated gpu1=contraindicated" "rim_fetch: .*RIM"

# --- (a) GPU 1's device certificate revoked (online OCSP)
gpu_stop "$OPID"
gpu_ocsp_start "$T/i.dleaf.R" "$T/i.rimsigner"
gpu_rims_start "$VB_ID=$T/vbios.xml" "$DRV_ID=$T/driver.xml"
serve s4 cache4 || fail "serve s4"
guest revoked
check_refused revoked "cpu0=contraindicated gpu0=affirming gpu1=contraindicated" "revocation: .*is revoked"

# --- (d) GPU 0's measurement 9 does not match the VBIOS RIM
gpu_stop "$OPID" "$RPID"
gpu_ocsp_start "$T/i.dleaf" "$T/i.rimsigner"
gpu_rims_start "$VB_ID=$T/vbios_bad.xml" "$DRV_ID=$T/driver.xml"
serve s5 cache5 || fail "serve s5"
guest mismatch
check_refused mismatch "cpu0=contraindicated gpu0=contraindicated gpu1=affirming" "rim_measurements"

# --- the same sources in a config file; a RIM source without its root is refused at start
kbs_stop "$KBS_PID"; KBS_PID=
rc=0; timeout 20 "$B" serve --listen 127.0.0.1:0 --db "sqlite:$T/x.db" --nvidia-rim-url "$RURL" >x.log 2>&1 || rc=$?
[ "$rc" -eq 2 ] && grep -q "nvidia-rim-trust" x.log && ok "--nvidia-rim-url without --nvidia-rim-trust: exit 2" ||
  { bad "rim url alone: exit $rc"; cat x.log; }
gpu_stop "$RPID"
gpu_rims_start "$VB_ID=$T/vbios.xml" "$DRV_ID=$T/driver.xml"
printf '{"nvidia_ocsp_url": "%s", "nvidia_rim_url": "%s", "nvidia_rim_trust": "rimroot.pem", "nvidia_cache": "%s", "nvidia_timeout": 3}\n' \
  "$OURL" "$RURL" "$T/cache6" >serve.json
kbs_start s6.log --db "sqlite:$T/s6.db" --trust emu/trust --collateral emu/collateral --admin-key admin.pub.pem \
  --kek-file kek.hex --ear-key ear.pem --policy pol.json --max-sessions-per-client 100000 --config serve.json &&
  kbs_admin . resource put default/model/key secret >/dev/null &&
  kbs_admin . policy set-resource default/model/key rpol.json >/dev/null || fail "serve --config"
guest config
check_released config

# --- a GPU verification waiting on a responder that never answers does not hold up another
# guest's attestation: the CPU-only guest is answered while the GPU guest's OCSP request is
# still open (GPU verifications run outside the verifier's lock)
python3 - "$T/sport" "$T/slog" <<'PY' &
import os, socket, sys, threading, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1])); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
def serve():
    while True:
        c, _ = s.accept(); held.append(c)
        open(sys.argv[2], "a").write("connection\n")
threading.Thread(target=serve, daemon=True).start()
time.sleep(60)  # bounded; killed by the test long before
PY
SPID=$!; PIDS="$PIDS $SPID"
gpu_wait_port "$T/sport"
kbs_stop "$KBS_PID"; KBS_PID=
kbs_start s7.log --db "sqlite:$T/s7.db" --trust emu/trust --collateral emu/collateral --admin-key admin.pub.pem \
  --kek-file kek.hex --ear-key ear.pem --policy pol.json --max-sessions-per-client 100000 \
  --nvidia-ocsp-url "http://127.0.0.1:$(cat "$T/sport")/" --nvidia-timeout 30 || fail "serve s7"
timeout 90 "$B" attest -v --kbs "$KBS_URL" --tee tdx --emulator emu --gpu-evidence emulated --resource default/model/key \
  --token-out stalled.jwt --timeout 60 --retries 0 -o stalled.secret 2>stalled.err & GPID=$!
i=0; while [ "$(logged slog)" = 0 ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(logged slog)" != 0 ] || bad "the GPU verification never asked the stalled responder"
RC=0
# bounded well below the responder's 30 s: had it waited for the GPU's fetch, it has no token
timeout 60 "$B" attest --kbs "$KBS_URL" --tee tdx --emulator emu --token-out cpu.jwt --timeout 10 --retries 0 2>cpu.err || RC=$?
if [ -s cpu.jwt ] && kill -0 "$GPID" 2>/dev/null; then
  ok "a CPU-only attestation answered while a GPU's OCSP request hangs"
else
  bad "CPU-only attestation (exit $RC) waited for the GPU verification: $(cat cpu.err)"
fi
gpu_stop "$SPID" # the open connections close: the GPU's fetch fails at once
RC=0; wait "$GPID" || RC=$?
check_refused stalled "cpu0=contraindicated gpu0=contraindicated gpu1=contraindicated" "revocation: .*unreachable"

# --- veritee appraise with the same sources
CN=00112233445566778899aabbccddeeff
timeout 20 "$B" evidence get --tee tdx --emulator emu --nonce "$CN" -o tdx.bin || fail "evidence get --tee tdx"
AP="$B appraise --policy pol.json --trust emu/trust --collateral emu/collateral --nonce $CN --gpu-evidence gpus.json --gpu-nonce $GN"
rc=0; timeout 30 $AP --ocsp="$OURL" --rim-service="$RURL" --rim-trust rimroot.pem --cache "$T/ac1" tdx.bin >ap.txt 2>&1 || rc=$?
[ $rc -eq 0 ] && grep -q "gpu0 nvidia affirming" ap.txt && grep -q "gpu1 nvidia affirming" ap.txt &&
  grep -q "\[pass\] gpu_rim" ap.txt && ok "appraise: TDX + 2 GPUs affirming, RIMs matched online" || { bad "appraise: exit $rc"; cat ap.txt; }
rc=0; timeout 30 $AP tdx.bin >ap.txt 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "\[fail\] gpu_rim" ap.txt && ok "appraise without RIM sources: require_rim_match refuses" ||
  { bad "appraise no RIMs: exit $rc"; cat ap.txt; }
gpu_stop "$OPID"
rc=0; timeout 30 $AP --ocsp="$OURL" --rim-service="$RURL" --rim-trust rimroot.pem --cache "$T/ac2" tdx.bin >ap.txt 2>&1 || rc=$?
[ $rc -eq 3 ] && grep -q "revocation" ap.txt && ok "appraise: responder down, nothing cached: exit 3 (fail closed)" ||
  { bad "appraise responder down: exit $rc"; cat ap.txt; }
rc=0; timeout 30 $AP --ocsp="$OURL" --rim-service="$RURL" --rim-trust rimroot.pem --cache "$T/ac1" tdx.bin >ap.txt 2>&1 || rc=$?
[ $rc -eq 0 ] && ok "appraise: responder down, answers cached: affirming" || { bad "appraise cached: exit $rc"; cat ap.txt; }
gpu_ocsp_start "$T/i.dleaf.R" "$T/i.rimsigner"
rc=0; timeout 30 $AP --ocsp="$OURL" --rim-service="$RURL" --rim-trust rimroot.pem --cache "$T/ac3" tdx.bin >ap.txt 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "revoked" ap.txt && ok "appraise: revoked GPU certificate refused" || { bad "appraise revoked: exit $rc"; cat ap.txt; }

[ "$fails" -eq 0 ] && echo "all GPU source checks passed" || echo "$fails FAILED"
exit $((fails > 0))
