#!/bin/sh
# veritee collateral fetch|show|refresh|prune against a fake PCCS on loopback
# (tests/fixtures/fake_pcs.py) serving the real Intel collateral of a TDX vector: items are
# checked before they are cached, a refused answer never replaces a good item, rate limits are
# waited out, an outage is exit 3, a kill -9 mid-fetch leaves a usable cache, and what was
# fetched verifies the quote as the vector directory does.
set -u
B=${VERITEE_BIN:?}
HERE=$(cd "$(dirname "$0")" && pwd)
V=${VERITEE_VECTORS:-../shared/vectors}/tdx
S=$V/dcapqvl_tdx_v4_b0c06f
if [ ! -f "$S/quote.bin" ]; then
    echo "SKIP: no TDX vectors at $V (set VERITEE_VECTORS)"
    exit 77
fi
AT=2025-07-19T10:00:34Z
. "$HERE/../fixtures/cli.sh"
T=$tmp
fake_pcs --dir "$S"
UP="--pccs-url http://127.0.0.1:$PORT"
C=$T/cache

# --- a first fetch fills the cache with checked items; they verify the quote ---------------
expect 0 "fetch for a quote" "$B" collateral fetch $UP --cache "$C" --at $AT "$S/quote.bin"
for f in tcbinfo_tdx_B0C06F000000.json qe_identity_td_qe.json tcb_signing_chain.pem pck_crl_platform.der root_ca_crl.der; do
    [ -f "$C/tdx/$f" ] && ok "cached $f" || bad "not cached: $f"
done
[ "$(stat -c %a "$C")" = 700 ] || [ "$(stat -c %a "$C")" = 755 ] && ok "cache directory created" || bad "cache mode"
expect 0 "the cached collateral verifies the quote" "$B" verify --collateral "$C/tdx" --at $AT "$S/quote.bin"
seen "UpToDate" && ok "same verdict as the vector directory" || bad "verdict: $(output)"

# --- fresh items are not fetched again ----------------------------------------------------
n0=$(requests)
run "$B" collateral fetch $UP --cache "$C" --at 2025-07-10T00:00:00Z --json "$S/quote.bin"
n1=$(requests)
[ "$n0" = "$n1" ] && ok "fresh cache: no request" || bad "fresh cache made $((n1 - n0)) requests"
seen '"fresh": 4' && ok "four fresh items reported" || bad "report: $(output)"

# --- show: items, windows and states --------------------------------------------------------
"$B" collateral show --cache "$C" --at 2025-07-10T00:00:00Z --json >"$T/show"
python3 - "$T/show" <<'EOF' && ok "show lists every item with its window and state" || bad "show output"
import json, sys
items = json.load(open(sys.argv[1]))
kinds = {i["kind"]: i for i in items}
assert set(kinds) == {"tcb_info", "qe_identity", "tcb_signing_chain", "pck_crl", "root_ca_crl"}, kinds
t = kinds["tcb_info"]
assert t["id"] == "B0C06F000000" and t["tee"] == "tdx" and t["next_update"] == "2025-07-19T10:16:03Z", t
assert t["state"] == "valid", t
assert kinds["qe_identity"]["id"] == "TD_QE"
assert kinds["pck_crl"]["id"] == "platform"
EOF
"$B" collateral show --cache "$C" --at 2025-07-19T10:16:04Z --json | grep -q '"state": "expired"' \
    && ok "one second past nextUpdate the TCB Info shows expired" || bad "expiry state"
"$B" collateral show --cache "$C" --at 2025-07-19T10:16:03Z --json >"$T/show2"
python3 -c "import json,sys; i=[x for x in json.load(open('$T/show2')) if x['kind']=='tcb_info'][0]; sys.exit(i['state']!='refresh')" \
    && ok "at nextUpdate itself the TCB Info is still usable (refresh due)" || bad "boundary state"

# --- answers that fail their check are refused and never replace a good item ---------------
before=$(sha256sum "$C/tdx/tcbinfo_tdx_B0C06F000000.json")
ctl '{"tamper": true}'
expect 1 "a TCB Info with a bad signature is refused" "$B" collateral fetch $UP --cache "$C" --at $AT --force "$S/quote.bin"
seen "signature" && ok "the refusal names the signature" || bad "refusal text: $(output)"
[ "$(sha256sum "$C/tdx/tcbinfo_tdx_B0C06F000000.json")" = "$before" ] && ok "the cached TCB Info is unchanged" \
    || bad "a refused answer replaced the cached item"
ctl '{"tamper": false}'
expect 1 "collateral already expired at the instant is refused" "$B" collateral fetch $UP --cache "$T/c2" --at 2025-08-01T00:00:00Z "$S/quote.bin"
[ ! -f "$T/c2/tdx/tcbinfo_tdx_B0C06F000000.json" ] && ok "expired answer not cached" || bad "expired answer cached"
# another FMSPC's TCB Info for this platform
mkdir -p "$T/wrong"
cp "$S"/* "$T/wrong/"
cp "$V/pcs2023_tdx_v4_50806f/tcbinfo_50806f000000.json" "$T/wrong/tcbinfo_b0c06f000000.json"
ctl "{\"dir\": \"$T/wrong\"}"
expect 1 "a TCB Info of another FMSPC is refused" "$B" collateral fetch $UP --cache "$T/c3" --at 2023-06-01T00:00:00Z --force "$S/quote.bin"
seen "FMSPC" && ok "the refusal names the FMSPC" || bad "refusal text: $(output)"
ctl "{\"dir\": \"$S\"}"

# --- rate limits are waited out (Retry-After), outages are exit 3 ---------------------------
ctl '{"queue": [{"status": 429, "retry_after": 1}, {"status": 503}]}'
run "$B" collateral fetch $UP --cache "$C" --at $AT --force --json "$S/quote.bin"
[ $rc = 0 ] && seen '"rate_limited": 2' && ok "429 then 503 waited out" || bad "rate limit: rc $rc $(output)"
ctl '{"down": true}'
expect 3 "upstream down: collateral missing" "$B" collateral fetch $UP --cache "$T/c4" --at $AT "$S/quote.bin"
expect 0 "the cache alone still verifies during the outage" "$B" verify --collateral "$C/tdx" --at $AT "$S/quote.bin"
ctl '{"down": false}'
expect 3 "no upstream listening: exit 3" "$B" collateral fetch --pccs-url http://127.0.0.1:1 --cache "$T/c5" --at $AT "$S/quote.bin"
expect 2 "no upstream given: usage" "$B" collateral fetch --cache "$T/c5" "$S/quote.bin"
expect 2 "a malformed platform: usage" "$B" collateral fetch $UP --cache "$T/c5" --platform tdx:XYZ:platform

# --- kill -9 while an answer is half-received leaves a usable cache -------------------------
ctl '{"stall": 30}'
n0=$(requests)
"$B" collateral fetch $UP --cache "$C" --at $AT --force "$S/quote.bin" >/dev/null 2>&1 &
vp=$!
# killed once its first request has reached the upstream (whose answer then stalls half-sent),
# not after a fixed second: on a loaded machine the fetch may not have asked anything by then
for _ in $(seq 300); do [ "$(requests)" -gt "$n0" ] && break; sleep 0.1; done
[ "$(requests)" -gt "$n0" ] || bad "the fetch asked nothing upstream within 30 s"
kill -9 $vp 2>/dev/null
wait $vp 2>/dev/null
expect 0 "after kill -9 mid-fetch the cache verifies the quote" "$B" verify --collateral "$C/tdx" --at $AT "$S/quote.bin"
ls "$C/tdx" | grep -q "\.tmp\." && bad "a temporary file was left" || ok "no torn or temporary file"

# --- refresh and prune --------------------------------------------------------------------
n0=$(requests)
expect 0 "refresh re-fetches what is due" "$B" collateral refresh $UP --cache "$C" --at 2025-07-18T10:00:00Z
n1=$(requests)
[ $((n1 - n0)) -ge 3 ] && ok "refresh asked upstream for the due items ($((n1 - n0)) requests)" || bad "refresh made $((n1 - n0)) requests"
expect 0 "prune long-expired items" "$B" collateral prune --cache "$C" --at 2026-12-01T00:00:00Z --grace 86400
seen "pruned 4 item" && ok "four expired items pruned, the signing chain kept" || bad "prune: $(output)"
[ -f "$C/tdx/tcb_signing_chain.pem" ] && [ ! -f "$C/tdx/tcbinfo_tdx_B0C06F000000.json" ] && ok "prune removed the right files" \
    || bad "prune removed the wrong files"

echo "$fails failure(s)"
[ "$fails" = 0 ]
