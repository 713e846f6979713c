#!/bin/sh
# veritee vm plan --measure: the expected launch measurement of the VM a plan would launch
# equals `veritee measure` on the same inputs.
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
FW=/usr/share/ovmf/OVMF.fd
if [ ! -f "$FW" ]; then echo "SKIP: $FW absent (apt install ovmf)"; exit 77; fi
. "$(dirname "$0")/../fixtures/cli.sh"
export VERITEE_STATE_DIR="$tmp/state"
printf 'KERNEL' >"$tmp/vmlinuz"
python3 - "$HERE/../../examples/vms/snp.json" "$tmp" "$FW" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); d = sys.argv[2]
c.update(firmware=sys.argv[3], kernel=d + "/vmlinuz", initrd="", disks=[])
c["snp"]["kernel_hashes"] = False
json.dump(c, open(d + "/snp.json", "w"))
c["snp"]["kernel_hashes"] = True
json.dump(c, open(d + "/snp_hashes.json", "w"))
c["tee"] = "cca"; c.pop("snp"); c["cca"] = {}
json.dump(c, open(d + "/cca.json", "w"))
PY
want=$("$B" measure snp --firmware "$FW" --vcpus 4 --vcpu-type EPYC-v4 --hex)
got=$("$B" vm plan --measure "$tmp/snp.json" | sed -n 's/^# expected MEASUREMENT (sha384): //p')
[ -n "$want" ] && [ "$got" = "$want" ] && ok "SNP plan measurement = veritee measure snp ($got)" || bad "plan '$got' vs measure '$want'"
"$B" vm plan --measure --json "$tmp/snp.json" >"$tmp/out.json" &&
  python3 -c "import json,sys; m=json.load(open('$tmp/out.json'))['expected_measurement']; sys.exit(0 if m=={'register':'MEASUREMENT','algorithm':'sha384','value':'$want'} else 1)" &&
  ok "--json carries expected_measurement" || bad "--json expected_measurement"
"$B" vm plan "$tmp/snp.json" | grep -q "expected" && bad "measurement printed without --measure" || ok "no measurement without --measure"
"$B" vm plan --measure "$tmp/snp_hashes.json" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "SNP_KERNEL_HASHES" "$tmp/err" && ok "kernel hashes on a non-AmdSev OVMF refused (exit 2)" || bad "kernel hashes: exit $rc: $(cat "$tmp/err")"
"$B" vm plan --measure "$tmp/cca.json" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "measure cca" "$tmp/err" && ok "CCA points to veritee measure cca (exit 2)" || bad "cca: exit $rc: $(cat "$tmp/err")"
[ "$fails" -eq 0 ] || exit 1
