#!/bin/sh
# The library's exported symbols equal debian/libveritee0.symbols (docs/packaging.md): the same
# rule `make deb` enforces with dpkg-gensymbols -c4, caught here by ctest first. A change of the
# exported API on purpose: scripts/gen-symbols, and commit the file.
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LIB=$(dirname "$B")/libveritee.so.0
SYM=$ROOT/debian/libveritee0.symbols
[ -f "$LIB" ] || { echo "SKIP: no $LIB (built with -DVT_SHARED=OFF)"; exit 77; }
command -v nm >/dev/null 2>&1 || { echo "SKIP: nm (binutils) not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
# nm writes the default version as name@@VERITEE_0 and the version node bare; the file, name@VERITEE_0
nm -D --defined-only "$LIB" | awk '{print $3}' | sed 's/@@/@/; s/^VERITEE_0$/VERITEE_0@VERITEE_0/' | sort -u >"$tmp/built"
sed -n 's/^ \([^ ]*\) .*/\1/p' "$SYM" | sort -u >"$tmp/listed"
added=$(comm -23 "$tmp/built" "$tmp/listed")
gone=$(comm -13 "$tmp/built" "$tmp/listed")
if [ -z "$added$gone" ]; then echo "ok: $(wc -l <"$tmp/built") exported symbols, all in $SYM"
else
  [ -n "$added" ] && echo "FAIL: exported but not in the symbols file (run scripts/gen-symbols):" && echo "$added" | sed 's/^/  + /'
  [ -n "$gone" ] && echo "FAIL: in the symbols file but no longer exported (an ABI break: SONAME bump?):" && echo "$gone" | sed 's/^/  - /'
  fails=1
fi
# every symbol versioned VERITEE_0, and the file's header says which package provides it
grep -v '@VERITEE_0' "$tmp/built" | grep -q . && { echo "FAIL: unversioned exports"; fails=1; }
head -1 "$SYM" | grep -q '^libveritee.so.0 libveritee0 ' || { echo "FAIL: symbols file header"; fails=1; }
# the exact package-build check, where dpkg-dev is installed
if command -v dpkg-gensymbols >/dev/null 2>&1; then
  ver=$(cd "$ROOT" && dpkg-parsechangelog -S Version)
  if (cd "$ROOT" && dpkg-gensymbols -plibveritee0 -v"$ver" -e"$LIB" -I"$SYM" -c4 -O"$tmp/out" >"$tmp/gs.txt" 2>&1); then
    echo "ok: dpkg-gensymbols -c4 agrees"
  else echo "FAIL: dpkg-gensymbols -c4:"; head -30 "$tmp/gs.txt"; fails=1; fi
  # and the check bites: one symbol taken out of a copy of the file must fail it
  grep -v ' vt_kbs_trustee_token_verify@' "$SYM" >"$tmp/short.symbols"
  if (cd "$ROOT" && dpkg-gensymbols -plibveritee0 -v"$ver" -e"$LIB" -I"$tmp/short.symbols" -c4 -O"$tmp/out2" >/dev/null 2>&1); then
    echo "FAIL: dpkg-gensymbols -c4 accepted a symbols file missing a symbol"; fails=1
  else echo "ok: a symbol missing from the file fails dpkg-gensymbols -c4"; fi
else
  echo "note: dpkg-gensymbols not installed; compared with nm only"
fi
exit $fails
