#!/bin/sh
# The shipped Prometheus alert rules (packaging/prometheus/veritee-alerts.yml) against the labels
# a live `veritee serve` emits: promtool checks the file, then unit-tests each alert with input
# series whose names and labels are taken from a real /metrics scrape after real denials and a
# rejected attestation. An alert whose matcher cannot match what the server emits fails here.
# Also: with --log -, every stderr line of the server is one JSON object.
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
RULES=$HERE/../../packaging/prometheus/veritee-alerts.yml
for t in promtool curl python3; do
  command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not installed (Debian: prometheus, curl, python3)"; exit 77; }
done
. "$(dirname "$0")/../fixtures/cli.sh"
cd "$tmp" || exit 1

promtool check rules "$RULES" >check.txt 2>&1 && ok "promtool check rules" || { bad "promtool check rules"; cat check.txt; }

# a live server; no --trust: the emulated guest below is rejected
"$B" emulate init "$tmp/emu" >/dev/null || { bad "emulate init"; exit 1; }
"$B" serve --listen 127.0.0.1:0 --db "sqlite:$tmp/kbs.db" --log - >out.txt 2>err.txt &
pid=$!
wait_listening out.txt err.txt
ok "serve listening on $U"
curl -s -o /dev/null "$U/kbs/v0/resource/default/key/x"                                      # no token
curl -s -o /dev/null -H "Authorization: Bearer a.b.c" "$U/kbs/v0/resource/default/key/x"     # bad token
timeout 30 "$B" attest --kbs "$U" --tee tdx --emulator "$tmp/emu" --resource default/key/x --timeout 10 \
  >/dev/null 2>attest.err
rc=$?
[ "$rc" -eq 1 ] && ok "emulated guest rejected by a server without trust (exit 1)" || bad "attest exit $rc: $(cat attest.err)"
curl -s "$U/metrics" >metrics.txt || bad "scrape /metrics"

# the series the alerts read, exactly as scraped (name{labels}), one per line
python3 - "$RULES" <<'EOF' >tests.yml || bad "building the promtool test from the scrape"
import re, sys
rules = sys.argv[1]
series = {}
for line in open("metrics.txt"):
    m = re.match(r'^(tee_key_denied_total|tee_attestation_total)\{([^}]*)\} ', line)
    if m:
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        series.setdefault(m.group(1), []).append(labels)
denied = series.get("tee_key_denied_total", [])
attest = series.get("tee_attestation_total", [])
reasons = sorted(l["reason"] for l in denied)
results = sorted(l["result"] for l in attest)
sys.stderr.write("scraped denial reasons %s, attestation results %s\n" % (reasons, results))
if not {"no_token", "token_invalid"} <= set(reasons) or "rejected" not in results:
    sys.exit("the scrape lacks the expected label values")
def sel(name, labels):
    l = dict(labels, instance="kbs1", job="veritee")
    return "%s{%s}" % (name, ", ".join('%s="%s"' % kv for kv in sorted(l.items())))
out = ["rule_files: [%s]" % rules, "evaluation_interval: 1m", "tests:"]
# denials: one per minute for every scraped reason
out += ["  - interval: 1m", "    input_series:"]
for l in denied:
    out += ["      - series: '%s'" % sel("tee_key_denied_total", l), "        values: '0+1x10'"]
out += ["    alert_rule_test:", "      - eval_time: 5m", "        alertname: VeriteeUnauthorizedKeyAccess",
        "        exp_alerts:"]
for r in reasons:
    if r in ("no_token", "token_invalid", "token_expired", "policy", "revoked"):
        out += ["          - exp_labels: {severity: critical, instance: kbs1, reason: %s}" % r,
                "            exp_annotations:",
                "              summary: 'Unauthorized key access attempts (%s) on kbs1'" % r,
                "              description: 'A client asked for a secret it may not have. Every denial is in the audit log.'"]
# failed attestations: 10 per minute with the scraped labels
out += ["  - interval: 1m", "    input_series:"]
for l in attest:
    out += ["      - series: '%s'" % sel("tee_attestation_total", l), "        values: '0+10x10'"]
out += ["    promql_expr_test:",
        "      - expr: count(ALERTS{alertname=\"VeriteeAttestationFailures\", alertstate=\"firing\"})",
        "        eval_time: 5m",
        "        exp_samples:",
        "          - labels: '{}'",
        "            value: 1"]
# collateral: an item 6 days from expiry, an upstream failing for an hour, a platform unusable
out += ["  - interval: 1m", "    input_series:",
        "      - series: 'veritee_collateral_expiry_timestamp_seconds{id=\"B0C06F000000\", instance=\"kbs1\", job=\"veritee\", kind=\"tcb_info\", tee=\"tdx\"}'",
        "        values: '518400x30'",
        "      - series: 'veritee_collateral_fetch_total{instance=\"kbs1\", job=\"veritee\", result=\"unavailable\", upstream=\"pcs\"}'",
        "        values: '0+1x90'",
        "      - series: 'veritee_collateral_platform_usable{instance=\"kbs1\", job=\"veritee\", platform=\"tdx:B0C06F000000:platform\"}'",
        "        values: '1 1 1 0x30'",
        "    alert_rule_test:",
        "      - eval_time: 20m", "        alertname: VeriteeCollateralExpiring", "        exp_alerts:",
        "          - exp_labels: {severity: warning, instance: kbs1, tee: tdx, kind: tcb_info, id: B0C06F000000}",
        "            exp_annotations:",
        "              summary: 'tdx tcb_info B0C06F000000 on kbs1 expires in 5d 23h 40m 0s'",
        "              description: 'Check the collateral upstream (PCS/PCCS/KDS) and veritee collateral show --cache DIR.'",
        "      - eval_time: 20m", "        alertname: VeriteeCollateralUpstreamFailing", "        exp_alerts:",
        "          - exp_labels: {severity: warning, instance: kbs1, upstream: pcs}",
        "            exp_annotations:",
        "              summary: 'Collateral upstream pcs failing for an hour on kbs1'",
        "              description: 'The cache keeps serving until items expire; see the serve log (collateral refresh) and /readyz.'",
        "      - eval_time: 2m", "        alertname: VeriteeCollateralUnusable", "        exp_alerts: []",
        "      - eval_time: 10m", "        alertname: VeriteeCollateralUnusable", "        exp_alerts:",
        "          - exp_labels: {severity: critical, instance: kbs1, platform: 'tdx:B0C06F000000:platform'}",
        "            exp_annotations:",
        "              summary: 'No usable collateral for platform tdx:B0C06F000000:platform on kbs1'"]
# the audit log: two nodes of one job over the threshold for an hour, one alert for the job
if not any(re.match(r'^veritee_audit_records \d', line) for line in open("metrics.txt")):
    sys.exit("veritee_audit_records (no labels) is not in the scrape")
out += ["  - interval: 1m", "    input_series:"]
for inst in ("kbs1", "kbs2"):
    out += ["      - series: 'veritee_audit_records{instance=\"%s\", job=\"veritee\"}'" % inst,
            "        values: '60000000x90'"]
out += ["    alert_rule_test:",
        "      - eval_time: 30m", "        alertname: VeriteeAuditLogLarge", "        exp_alerts: []",
        "      - eval_time: 70m", "        alertname: VeriteeAuditLogLarge", "        exp_alerts:",
        "          - exp_labels: {severity: warning, job: veritee}",
        "            exp_annotations:",
        "              summary: 'The audit log of veritee holds 60M records in the store'",
        "              description: 'Move the oldest out with veritee audit archive (docs/operations.md, Archiving) and keep the files.'"]
print("\n".join(out))
EOF
promtool test rules tests.yml >test.txt 2>&1 && ok "promtool test rules: alerts fire for the scraped labels" ||
  { bad "promtool test rules"; cat test.txt tests.yml; }

# --log -: the server's stderr is JSON lines only (its own messages and libmicrohttpd's included)
kill "$pid" && wait "$pid" 2>/dev/null
pid=
n=$(wc -l <err.txt)
if python3 -c 'import json,sys
for l in open("err.txt"):
    json.loads(l)' 2>/dev/null && [ "$n" -ge 3 ]; then
  ok "$n stderr lines, every one a JSON object"
else
  bad "stderr is not JSON lines only:"; cat err.txt
fi
grep -q '"msg":"serve"' err.txt && ok "startup warnings are JSON records" || bad "no serve message record"

[ "$fails" -eq 0 ] && echo "all prometheus checks passed" || echo "$fails FAILED"
exit $((fails > 0))
