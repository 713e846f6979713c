#!/bin/sh
# veritee serve with live SEV-SNP collateral (docs/collateral.md): emulated SNP guests arrive at a
# key broker whose cache is empty; the broker fetches the chip's VCEK, the ASK/ARK chain and the
# ARK's CRL once from a fake AMD KDS on loopback (tests/fixtures/fake_pcs.py --kds-dir), each
# checked against the emulated ARK given as trust; later guests cause no request, an outage does
# not stop guests while the cache is valid, /readyz and the metrics (tee="snp", upstream="kds")
# tell the state, and a tampered CRL is never cached.
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
mkdir -p "$T/kds"
cp "$T/emu/collateral/snp_cert_chain.pem" "$T/kds/milan_ask_ark.pem"
cp "$T/emu/collateral/snp_vcek.der" "$T/kds/vcek.der"
cp "$T/emu/collateral/snp_ark.crl" "$T/kds/milan_crl.der"

fake_pcs --dir "$T" --kds-dir "$T/kds"

kbs_start "$T/serve.log" --db "sqlite:$T/kbs.db" --trust "$T/emu/trust" --cache "$T/cache" \
    --kds-url "http://127.0.0.1:$PORT" --collateral-refresh 1 --collateral-retry 1 --admin-key "$T/admin.pub.pem" \
    --kek-file "$T/kek.hex" --policy "$T/pol.json" --max-sessions-per-client 100000 --log - \
    || { bad "serve did not start"; exit 1; }
ok "serve started with an empty collateral cache and AMD KDS as upstream"
kbs_admin "$T" resource put default/key/model "$T/secret" >/dev/null || bad "resource put"

guest() { timeout 60 "$VT" attest --kbs "$KBS_URL" --tee snp --emulator "$T/emu" --resource default/key/model \
    --timeout 15 -o "$T/got" 2>"$T/guest.err"; }

n0=$(requests)
if guest && cmp -s "$T/got" "$T/secret"; then ok "first SNP guest: collateral fetched on demand, secret released"
else bad "first guest: $(cat "$T/guest.err")"; fi
n1=$(requests)
[ $((n1 - n0)) = 3 ] && ok "one fetch: chain, VCEK, CRL" || bad "first guest made $((n1 - n0)) requests"
[ -f "$T/cache/vcek/Milan/crl.der" ] && ok "the cache holds the ARK's CRL" || bad "cache content: $(find "$T/cache" -type f)"
for i in 1 2 3; do guest || bad "guest $i: $(cat "$T/guest.err")"; done
[ "$(requests)" = "$n1" ] && ok "three more guests: no request upstream (hot path from the cache)" \
    || bad "later guests made $(( $(requests) - n1 )) requests"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$KBS_URL/readyz")" = 200 ] && ok "/readyz: ready" || bad "/readyz"

curl -s "$KBS_URL/metrics" >"$T/metrics"
grep -q '^veritee_collateral_expiry_timestamp_seconds{tee="snp",kind="crl",id="Milan"} ' "$T/metrics" \
    && ok "metrics: the CRL's expiry" || bad "no SNP expiry gauge: $(grep collateral_expiry "$T/metrics" | head -5)"
grep -q '^veritee_collateral_expiry_timestamp_seconds{tee="snp",kind="vcek",' "$T/metrics" \
    && ok "metrics: the VCEK's expiry" || bad "no VCEK expiry gauge"
grep -q '^veritee_collateral_fetch_total{upstream="kds",result="ok"} 1' "$T/metrics" && ok "metrics: one good KDS fetch" \
    || bad "fetch counter: $(grep collateral_fetch_total "$T/metrics")"

ctl '{"down": true}'
guest && ok "during a KDS outage a guest is still served" || bad "outage: $(cat "$T/guest.err")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$KBS_URL/readyz")" = 200 ] && ok "/readyz stays ready while the cache is valid" \
    || bad "/readyz during the outage"
ctl '{"down": false}'

# a missing CRL is fetched again by the background pass; a tampered one is refused meanwhile.
# The checks wait for the pass's own log line (a failed refresh), not a fixed time: a loaded
# machine runs the pass late, and before it has run the checks below would hold without
# proving anything (or /readyz would still say 200).
ctl '{"tamper": true}'
rm -f "$T/cache/vcek/Milan/crl.der"
failed_refresh() { grep '"msg":"collateral refresh"' "$T/serve.log" | grep -q '"failed":[1-9]'; }
for _ in $(seq 600); do failed_refresh && break; sleep 0.1; done
failed_refresh && ok "the log says what the refresh did (a failed refresh)" || bad "no failed refresh logged within 60 s"
[ ! -f "$T/cache/vcek/Milan/crl.der" ] && ok "a tampered CRL was not cached" || bad "tampered CRL cached"
code=$(curl -s -o "$T/ready.json" -w '%{http_code}' "$KBS_URL/readyz")
[ "$code" = 503 ] && ok "/readyz: not ready while the CRL is missing" || bad "/readyz with the CRL missing: $code"
ctl '{"tamper": false}'
wait_file "$T/cache/vcek/Milan/crl.der" && ok "the background pass restored the CRL" || bad "the CRL was not fetched again within 60 s"
# the pass writes the item, then reads the cache back and marks the platform usable: /readyz
# follows a moment after the file appears
wait_ready "$KBS_URL" && ok "/readyz: ready again" || bad "/readyz after repair: $ready_code"
guest && ok "a guest after the repair" || bad "after repair: $(cat "$T/guest.err")"

echo "$fails failure(s)"
[ "$fails" = 0 ]
