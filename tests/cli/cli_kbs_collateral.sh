#!/bin/sh
# veritee serve with live collateral (docs/collateral.md): an emulated TDX guest arrives at a key
# broker whose cache is empty; the broker fetches its platform's collateral once from a PCCS on
# loopback (tests/fixtures/fake_pcs.py serving the emulated TEE's signed collateral), later guests
# cause no request, an upstream outage does not stop guests while the cache is valid, /readyz
# and the collateral metrics tell the state, and a tampered answer is never cached.
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
VT=$B
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/kbs-env.sh"
. "$HERE/../fixtures/cli.sh"
need curl python3
T=$tmp
KBS_PID=""
on_exit() { kbs_stop "$KBS_PID"; }

kbs_keys "$T" || { bad "keys"; exit 1; }
kbs_emulate "$T/emu" || { bad "emulate init"; exit 1; }
echo '{"id":"emu","version":1,"emulated":"accept"}' >"$T/pol.json"
printf 'the model key' >"$T/secret"

fake_pcs --dir "$T/emu/collateral"

kbs_start "$T/serve.log" --db "sqlite:$T/kbs.db" --trust "$T/emu/trust" --cache "$T/cache" \
    --pccs-url "http://127.0.0.1:$PORT" --collateral-refresh 1 --collateral-retry 1 --admin-key "$T/admin.pub.pem" \
    --kek-file "$T/kek.hex" --policy "$T/pol.json" --log - || { bad "serve did not start"; exit 1; }
ok "serve started with an empty collateral cache"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$KBS_URL/readyz")" = 200 ] && ok "/readyz: ready (no platform yet)" \
    || bad "/readyz before any guest"
kbs_admin "$T" resource put default/key/model "$T/secret" >/dev/null || bad "resource put"

guest() { timeout 60 "$VT" attest --kbs "$KBS_URL" --tee tdx --emulator "$T/emu" --resource default/key/model \
    --timeout 15 -o "$T/got" 2>"$T/guest.err"; }

n0=$(requests)
if guest && cmp -s "$T/got" "$T/secret"; then ok "first guest: collateral fetched on demand, secret released"
else bad "first guest: $(cat "$T/guest.err")"; fi
n1=$(requests)
[ $((n1 - n0)) = 4 ] && ok "one fetch of four items for the platform" || bad "first guest made $((n1 - n0)) requests"
ls "$T/cache/tdx" | grep -q tcbinfo_tdx_ && ok "the cache holds the platform's TCB Info" || bad "cache content"
for i in 1 2 3; do guest || bad "guest $i: $(cat "$T/guest.err")"; done
[ "$(requests)" = "$n1" ] && ok "three more guests: no request upstream (hot path from the cache)" \
    || bad "later guests made $(( $(requests) - n1 )) requests"

curl -s "$KBS_URL/metrics" >"$T/metrics"
grep -q '^veritee_collateral_expiry_timestamp_seconds{tee="tdx",kind="tcb_info",id="90C06F000000"} ' "$T/metrics" \
    && ok "metrics: the TCB Info's expiry" || bad "no expiry gauge: $(grep collateral "$T/metrics" | head -5)"
grep -q '^veritee_collateral_fetch_total{upstream="pcs",result="ok"} 1' "$T/metrics" && ok "metrics: one good fetch" \
    || bad "fetch counter: $(grep collateral_fetch_total "$T/metrics")"

# an outage: guests keep being served from the cache
ctl '{"down": true}'
guest && ok "during an upstream outage a guest is still served" || bad "outage: $(cat "$T/guest.err")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$KBS_URL/readyz")" = 200 ] && ok "/readyz stays ready while the cache is valid" \
    || bad "/readyz during the outage"
ctl '{"down": false}'

# the background pass refreshes (every second here; the interval makes nothing due yet) and a
# tampered answer, if fetched, is refused: force one by removing an item, then tamper. The checks
# wait for the pass's own log line (a failed refresh), not a fixed time: a loaded machine runs the
# pass late, and before it has run the checks below would hold without proving anything.
before=$(sha256sum "$T/cache/tdx/"tcbinfo_tdx_*.json)
ctl '{"tamper": true}'
rm -f "$T/cache/tdx/qe_identity_td_qe.json"
failed_refresh() { grep '"msg":"collateral refresh"' "$T/serve.log" | grep -q '"failed":[1-9]'; }
for _ in $(seq 600); do failed_refresh && break; sleep 0.1; done
failed_refresh && ok "the log says what the refresh did (a failed refresh)" || bad "no failed refresh logged within 60 s"
[ "$(sha256sum "$T/cache/tdx/"tcbinfo_tdx_*.json)" = "$before" ] && ok "a tampered TCB Info never replaced the cached one" \
    || bad "the cached TCB Info changed"
[ ! -f "$T/cache/tdx/qe_identity_td_qe.json" ] && ok "a tampered QE Identity was not cached" || bad "tampered QE Identity cached"
code=$(curl -s -o "$T/ready.json" -w '%{http_code}' "$KBS_URL/readyz")
[ "$code" = 503 ] && grep -q "collateral" "$T/ready.json" && ok "/readyz: not ready while an item is missing" \
    || bad "/readyz with an item missing: $code $(cat "$T/ready.json")"
ctl '{"tamper": false}'
wait_file "$T/cache/tdx/qe_identity_td_qe.json" && ok "the background pass restored the item once the answers were good" || bad "the QE Identity was not fetched again within 60 s"
# the pass writes the item, then reads the cache back and marks the platform usable: /readyz
# follows a moment after the file appears
wait_ready "$KBS_URL" && ok "/readyz: ready again" || bad "/readyz after repair: $ready_code"
guest && ok "a guest after the repair" || bad "after repair: $(cat "$T/guest.err")"

echo "$fails failure(s)"
[ "$fails" = 0 ]
