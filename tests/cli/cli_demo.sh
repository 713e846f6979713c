#!/bin/sh
# make demo (scripts/demo) into a pipe: it succeeds, prints no colour codes (only a terminal gets
# them), and the EAR it shows is whole, valid JSON (it used to be cut at 118 columns).
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
for t in curl openssl python3; do
  command -v $t >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
done
. "$(dirname "$0")/../fixtures/cli.sh"
VERITEE_BIN=$B timeout 120 sh "$HERE/../../scripts/demo" >"$tmp/demo.txt" 2>&1; rc=$?
[ "$rc" -eq 0 ] && ok "demo exits 0" || { bad "demo exit $rc"; cat "$tmp/demo.txt"; }
if grep -q "$(printf '\033')" "$tmp/demo.txt"; then bad "escape codes in piped output"; else ok "no colour codes in a pipe"; fi
sed -n '/^== 6\./,/^== 7\./p' "$tmp/demo.txt" | sed '1d;$d' >"$tmp/ear.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["submods"]["cpu0"]["ear.status"] == "affirming"' \
  "$tmp/ear.json" 2>"$tmp/err" && ok "the EAR shown is valid JSON (affirming)" || { bad "EAR JSON: $(cat "$tmp/err")"; cat "$tmp/ear.json"; }
grep -q "contraindicated" "$tmp/demo.txt" && grep -q "\[fail\] measurement.rim" "$tmp/demo.txt" &&
  ok "the refused realm's status and failing check are shown" || bad "refusal reason not shown"
if command -v swtpm >/dev/null 2>&1 && ls /usr/lib/*/libtss2-esys.so.0 >/dev/null 2>&1; then
  grep -q "az-snp-vtpm guest: .*secret received" "$tmp/demo.txt" && ok "the swtpm-backed Azure CVM received the secret" ||
    bad "the Azure CVM round did not succeed"
else
  echo "skip: swtpm not installed: the Azure CVM round is not shown"
fi
[ "$fails" -eq 0 ] && echo "all demo checks passed" || echo "$fails FAILED"
exit $((fails > 0))
