#!/bin/sh
# The command table drives help and option parsing (issue 12): `veritee help CMD` and `CMD --help`
# print that command's help (not the top one), every option the table lists is one the command
# accepts, a bad option is one line and exit 2, -V/--version print the version.
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
. "$(dirname "$0")/../fixtures/cli.sh"
cd "$tmp" || exit 1
export VERITEE_STATE_DIR="$tmp/state" HOME="$tmp"

"$B" help >top.txt 2>&1 || bad "veritee help exits 0"
"$B" help verify >hv.txt 2>&1 || bad "veritee help verify exits 0"
if cmp -s top.txt hv.txt; then bad "help verify prints the top help"; else ok "help verify differs from the top help"; fi
grep -q -- "--nonce HEX" hv.txt && ok "help verify lists --nonce" || bad "help verify lists --nonce"
"$B" verify --help >hv2.txt 2>&1
cmp -s hv.txt hv2.txt && ok "verify --help = help verify" || bad "verify --help differs from help verify"

# every command path: CMD --help == help CMD; every listed option is accepted by the command
"$B" help --commands >cmds.txt || bad "help --commands"
n=$(wc -l <cmds.txt)
[ "$n" -ge 30 ] && ok "$n command paths in the table" || bad "only $n command paths"
while read -r path; do
  # shellcheck disable=SC2086
  "$B" help $path >h1.txt 2>&1; r1=$?
  # shellcheck disable=SC2086
  "$B" $path --help >h2.txt 2>&1; r2=$?
  if [ "$r1" -ne 0 ] || [ "$r2" -ne 0 ] || ! cmp -s h1.txt h2.txt; then
    bad "'$path --help' ($r2) and 'help $path' ($r1) differ"
  fi
  head -1 h1.txt | grep -q "^usage: veritee $path" || bad "help $path starts with its usage line"
  # shellcheck disable=SC2086
  "$B" help --options $path >opts.txt || bad "help --options $path"
  while read -r opt arg; do
    if [ -n "$arg" ]; then set -- "$opt" "$tmp/nonexistent-value"; else set -- "$opt"; fi
    # servers: an unusable address first, so that a valid option alone does not start one
    case "$path" in ui|serve) set -- --listen 999.0.0.0:0 "$@" ;; esac
    # shellcheck disable=SC2086
    timeout 10 "$B" $path "$@" </dev/null >o.txt 2>e.txt
    if grep -q "unknown option\|needs a value" e.txt; then bad "$path: the table lists $opt but the command refuses it: $(cat e.txt)"; fi
  done <opts.txt
done <cmds.txt
ok "every listed option accepted (no 'unknown option' for any of them)"

# a bad option: one line, exit 2, naming the option and where to read more
for c in "verify" "attest" "serve" "vm plan" "audit verify" "snp show" "evidence get" "platform"; do
  # shellcheck disable=SC2086
  "$B" $c --bogus-flag >o.txt 2>e.txt; rc=$?
  lines=$(wc -l <e.txt)
  if [ "$rc" -eq 2 ] && [ "$lines" -eq 1 ] && grep -q "unknown option --bogus-flag; see 'veritee help $c'" e.txt; then
    ok "$c --bogus-flag: one line, exit 2"
  else
    bad "$c --bogus-flag: exit $rc, $lines lines: $(cat e.txt)"
  fi
done
"$B" verify --nonce >o.txt 2>e.txt; rc=$?
[ "$rc" -eq 2 ] && grep -q "option --nonce needs a value" e.txt && ok "missing value named" || bad "missing value: $rc $(cat e.txt)"
"$B" nosuchcmd >o.txt 2>e.txt; rc=$?
[ "$rc" -eq 2 ] && [ "$(wc -l <e.txt)" -eq 1 ] && ok "unknown command: one line, exit 2" || bad "unknown command: $rc"

# snp --help lists its subcommand, snp show --help its options
"$B" snp --help | grep -q "show" && ok "snp --help lists show" || bad "snp --help lists show"
"$B" snp show --help | grep -q -- "--product" && ok "snp show --help lists options" || bad "snp show --help lists options"

for v in -V --version version; do
  out=$("$B" $v 2>&1); rc=$?
  case "$out" in "veritee "[0-9]*) [ "$rc" -eq 0 ] && ok "$v" || bad "$v exit $rc" ;; *) bad "$v printed '$out'" ;; esac
done

[ "$fails" -eq 0 ] && echo "all help checks passed" || echo "$fails FAILED"
exit $((fails > 0))
