#!/bin/sh
# `veritee platform --root` on fake trees: an SNP host with SNP disabled in KVM gets the
# actionable answer; enabling it makes the host ready; a TD guest is recognised.
set -u
B=${VERITEE_BIN:?VERITEE_BIN must name the veritee binary}
R=$(mktemp -d /tmp/vt-plat-XXXXXX)
trap 'rm -rf "$R"' EXIT INT TERM
fails=0
check() { if echo "$out" | grep -q -- "$1"; then echo "ok: $2"; else echo "FAIL: $2"; echo "$out"; fails=$((fails + 1)); fi; }

mkdir -p "$R/proc" "$R/sys/module/kvm_amd/parameters" "$R/dev"
printf 'vendor_id\t: AuthenticAMD\nflags\t\t: fpu sev sev_es sev_snp\n' > "$R/proc/cpuinfo"
echo N > "$R/sys/module/kvm_amd/parameters/sev_snp"
: > "$R/dev/kvm"; : > "$R/dev/sev"
out=$("$B" platform --root "$R")
check "SNP disabled: load kvm_amd with sev_snp=1" "advice for sev_snp=N"
check "host: tdx no, snp no" "SNP host not ready"
echo Y > "$R/sys/module/kvm_amd/parameters/sev_snp"
out=$("$B" platform --root "$R" --json)
check '"snp": true' "SNP host ready in JSON"
mkdir -p "$R/sys/kernel/config/tsm/report/r0"
echo tdx_guest > "$R/sys/kernel/config/tsm/report/r0/provider"
: > "$R/dev/tdx_guest"
out=$("$B" platform --root "$R")
check "guest: tdx yes" "TD guest recognised"
check "provider tdx_guest" "configfs-tsm provider read"
check "no tsm-mr measurement registers" "no tsm-mr without the measurements group"
mkdir -p "$R/sys/class/misc/tdx_guest/measurements"
for i in 0 1 2 3; do : > "$R/sys/class/misc/tdx_guest/measurements/rtmr$i:sha384"; done
out=$("$B" platform --root "$R")
check "RTMR0-3 extendable through tsm-mr" "tsm-mr RTMRs recognised"
"$B" platform --bogus >/dev/null 2>&1; [ $? -eq 2 ] && echo "ok: bad option exit 2" || { echo "FAIL: bad option"; fails=$((fails + 1)); }
[ "$fails" -eq 0 ] || exit 1
