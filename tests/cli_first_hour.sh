#!/bin/sh
# Issue 13, "the first hour of a new user": each step a new user takes from README/docs, as
# written, does what the docs say (read-only store opens, nonce meanings, stdin, trust files,
# plan without firmware, hints, banners).
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
V=${VERITEE_VECTORS:-../shared/vectors}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$HERE/..
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
expect() { # expect CODE description command...
  want=$1; what=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"; got=$?
  if [ "$got" -ne "$want" ]; then bad "$what: exit $got, expected $want"; cat "$tmp/out" "$tmp/err"; else ok "$what (exit $got)"; fi
}
has() { # has FILE TEXT description
  if grep -q -- "$2" "$1"; then ok "$3"; else bad "$3: '$2' not in $(basename "$1")"; head -20 "$1"; fi
}

# 1. a mistyped store path: nothing created, exit 3 (not "audit chain intact: 0 records")
expect 3 "audit verify on a mistyped sqlite path" "$B" audit verify --db "sqlite:$tmp/mistyped/path.db"
expect 3 "audit verify on a missing file in an existing dir" "$B" audit verify --db "sqlite:$tmp/typo.db"
has "$tmp/err" "does not exist" "says the store does not exist"
[ ! -e "$tmp/typo.db" ] && ok "no file created" || bad "audit verify created $tmp/typo.db"
expect 3 "audit show on a missing store" "$B" audit show --db "sqlite:$tmp/typo.db"
[ ! -e "$tmp/typo.db" ] && ok "still no file" || bad "audit show created the file"
head -c 32 /dev/urandom >"$tmp/k1"; head -c 32 /dev/urandom >"$tmp/k2"; chmod 600 "$tmp/k1" "$tmp/k2"
expect 3 "store rekey on a missing store" "$B" store rekey --db "sqlite:$tmp/typo.db" --kek-file "$tmp/k1" --new-kek-file "$tmp/k2"
[ ! -e "$tmp/typo.db" ] && ok "rekey created nothing" || bad "store rekey created the file"

# 5. one meaning of --nonce (hex), verify reads - as stdin, --trust/--certs take a file or a dir,
#    one bad file in a CCA trust dir is skipped with a warning
E=$tmp/emu
expect 0 "emulate init" "$B" emulate init "$E"
expect 0 "evidence get tdx --nonce-text" "$B" evidence get --tee tdx --nonce-text hello --emulator "$E" -o "$tmp/q.bin"
"$B" verify --trust "$E/trust" --collateral "$E/collateral" - <"$tmp/q.bin" >"$tmp/out" 2>"$tmp/err"; rc=$?
[ "$rc" -eq 0 ] && ok "verify - reads stdin" || { bad "verify - (exit $rc)"; cat "$tmp/err"; }
has "$tmp/out" "EMULATED" "TDX banner"
expect 0 "evidence get snp" "$B" evidence get --tee snp --nonce-text hello --emulator "$E" -o "$tmp/s.bin"
(openssl x509 -inform der -in "$E/collateral/snp_vcek.der"; cat "$E/collateral/snp_cert_chain.pem") >"$tmp/chain.pem"
expect 0 "snp: --certs FILE (one PEM chain) and --trust FILE" "$B" verify --tee snp --trust "$E/trust/snp_ark.pem" \
  --certs "$tmp/chain.pem" "$tmp/s.bin"
expect 0 "tdx: --trust FILE" "$B" verify --trust "$E/trust/tdx_sgx_root_ca.pem" --collateral "$E/collateral" "$tmp/q.bin"
expect 0 "evidence get cca" "$B" evidence get --tee cca --nonce-text hello --emulator "$E" -o "$tmp/c.bin"
expect 0 "cca: --trust FILE.json" "$B" verify --trust "$E/trust/cca_cpak.json" "$tmp/c.bin"
head -1 "$tmp/out" | grep -q "VERIFIED (EMULATED TEE" && ok "CCA banner on the first line" || bad "CCA banner: $(head -1 "$tmp/out")"
mkdir "$tmp/t2" "$tmp/t3"
cp "$E/trust/"* "$tmp/t2/"
echo '{broken' >"$tmp/t2/zz-broken.json"
cp "$tmp/t2/zz-broken.json" "$tmp/t3/"
expect 0 "cca: a bad file in the trust dir is skipped" "$B" verify --trust "$tmp/t2" "$tmp/c.bin"
has "$tmp/err" "skipped 1 unusable file: zz-broken.json" "the skipped file is named"
expect 3 "cca: nothing usable in the trust dir" "$B" verify --trust "$tmp/t3" "$tmp/c.bin"
has "$tmp/err" "no usable CPAK" "says nothing was usable"

[ "$fails" -eq 0 ] && echo "all first-hour checks passed" || echo "$fails FAILED"
exit $((fails > 0))
