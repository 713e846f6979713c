#!/bin/sh
# `cmake --install` into a DESTDIR gives a usable product: the binary runs, a C program outside
# the tree builds against the installed libveritee.so through pkg-config and runs, the library
# exports only the vt_ API under the VERITEE_0 version, the SONAME is libveritee.so.0, the man
# pages render without warnings for every command `veritee help` lists, and the completion
# offers every command.
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
BUILD=$(cd "$(dirname "$B")" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
V=${VERITEE_VECTORS:-../shared/vectors}/snp
for t in cc pkg-config nm readelf groff; do
  command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
grep -q '^VT_SHARED:BOOL=ON' "$BUILD/CMakeCache.txt" || { echo "SKIP: built without VT_SHARED"; exit 77; }
. "$(dirname "$0")/../fixtures/cli.sh"
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

D=$tmp/root
DESTDIR=$D cmake --install "$BUILD" --prefix /usr >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "cmake --install"; exit 1; }
ok "cmake --install into a DESTDIR ($(grep -c Installing "$tmp/install.log") files)"
LIBDIR=$(ls -d "$D"/usr/lib*/pkgconfig 2>/dev/null | head -1)
LIBDIR=${LIBDIR%/pkgconfig}
for f in "$D/usr/bin/veritee" "$LIBDIR/libveritee.so.0" "$LIBDIR/libveritee.so" "$LIBDIR/pkgconfig/veritee.pc" \
         "$D/usr/include/veritee/veritee.h" "$D/usr/include/veritee/snp.h" "$D/usr/lib/systemd/system/veritee.service" \
         "$D/usr/lib/systemd/system/veritee-audit-archive.service" "$D/usr/lib/systemd/system/veritee-audit-archive.timer" \
         "$D/usr/share/man/man1/veritee.1" "$D/usr/share/man/man8/veritee-serve.8" \
         "$D/usr/share/bash-completion/completions/veritee" "$D/usr/share/zsh/vendor-completions/_veritee" \
         "$D/usr/share/veritee/prometheus/veritee-alerts.yml" "$D/usr/share/veritee/grafana/veritee-dashboard.json" \
         "$D/usr/share/doc/veritee/README.md"; do
  [ -e "$f" ] || fail "not installed: ${f#$D}"
done
"$D/usr/bin/veritee" help >"$tmp/help" 2>&1 || fail "installed veritee help"

# The library: SONAME, versioned symbols, nothing but vt_/VT_ exported.
so=$(readlink -f "$LIBDIR/libveritee.so.0")
readelf -d "$so" | grep -q 'SONAME.*\[libveritee\.so\.0\]' && ok "SONAME libveritee.so.0" || fail "SONAME is not libveritee.so.0"
# SQLite is dlopen()ed by the store (src/store/sqlite.c): neither the library nor, with static
# linking, its users link it (veritee.pc names no sqlite3).
readelf -d "$so" | grep -q 'NEEDED.*libsqlite3' && fail "libveritee.so.0 links libsqlite3" || ok "libveritee.so.0 does not link libsqlite3"
nm -D --defined-only --without-symbol-versions "$so" | awk '$2 != "A" {print $3}' >"$tmp/syms"
n=$(wc -l <"$tmp/syms")
[ "$n" -gt 100 ] || fail "only $n symbols exported"
if grep -v -E '^(vt_|VT_)' "$tmp/syms" >"$tmp/bad"; then fail "exported symbols outside the vt_ API: $(head -5 "$tmp/bad" | tr '\n' ' ')"; else ok "$n symbols exported, all vt_/VT_"; fi
nm -D --defined-only --with-symbol-versions "$so" | awk '$2 != "A"' | grep -v '@@VERITEE_0$' >"$tmp/unver" && fail "exports outside the VERITEE_0 version: $(head -3 "$tmp/unver")"
grep -q '^vt_snp_report_parse$' "$tmp/syms" || fail "vt_snp_report_parse not exported"

# A consumer through pkg-config, against the DESTDIR.
# veritee.pc finds its prefix from its own place (${pcfiledir}), so it works in a DESTDIR too.
export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
cflags=$(pkg-config --cflags veritee) && libs=$(pkg-config --libs veritee) || fail "pkg-config veritee"
echo "pkg-config: $cflags $libs"
# A sanitized build's library needs its runtime in the program: build the consumer the same way.
CC=cc san=
if grep -q '^VT_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt"; then
  CC=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
  san="-fsanitize=address,undefined"
fi
# shellcheck disable=SC2086
if $CC -std=c17 -Wall -Wextra -Werror $san -o "$tmp/consumer" "$SRC/tests/fixtures/install_consumer.c" $cflags $libs; then
  ok "consumer builds with pkg-config --cflags --libs veritee"
  readelf -d "$tmp/consumer" | grep -q 'NEEDED.*libveritee\.so\.0' || fail "consumer does not link libveritee.so.0"
  if [ -f "$V/milan_v2_trustee/report.bin" ]; then
    LD_LIBRARY_PATH="$LIBDIR" "$tmp/consumer" "$V/milan_v2_trustee/report.bin" >"$tmp/out" 2>&1 && ok "consumer ran: $(tr '\n' ' ' <"$tmp/out")" \
      || { cat "$tmp/out"; fail "consumer run"; }
    LD_LIBRARY_PATH="$LIBDIR" ldd "$tmp/consumer" | grep -q "$LIBDIR/libveritee.so.0" || fail "consumer did not load the installed library"
  else
    echo "SKIP (part): $V not found, consumer built but not run"
  fi
else
  fail "consumer does not build against the installed headers"
fi
# A static-only consumer would need Libs.private/Requires.private: they must resolve.
pkg-config --libs --static veritee >"$tmp/static" || fail "pkg-config --static veritee"
grep -q sqlite3 "$tmp/static" && fail "pkg-config --static veritee names SQLite, which the library does not link: $(cat "$tmp/static")"

# Man pages: every command of `veritee help` has one, rendering without a warning; completion offers each.
cmds=$(awk '/^commands:/{c=1;next} c&&/^ +[a-z]/{print $1} c&&/^$/{c=0}' "$tmp/help")
[ -n "$cmds" ] || fail "no command parsed from veritee help"
for p in "$D/usr/share/man/man1/veritee.1" "$D"/usr/share/man/man*/veritee-*.[18]; do
  w=$(groff -man -Tutf8 -ww -z "$p" 2>&1)
  [ -z "$w" ] || fail "$(basename "$p") renders with warnings: $w"
done
nc=0 before=$fails
for c in $cmds; do
  nc=$((nc + 1))
  ls "$D"/usr/share/man/man[18]/veritee-"$c".[18] >/dev/null 2>&1 || fail "no man page for '$c'"
  grep -q "^ *words=\".*\\b$c\\b" "$D/usr/share/bash-completion/completions/veritee" || fail "bash completion lacks '$c'"
  grep -q "^ *'$c:" "$D/usr/share/zsh/vendor-completions/_veritee" || fail "zsh completion lacks '$c'"
done
[ "$fails" -eq "$before" ] && ok "$nc commands: a man page each, rendered without warnings, in bash and zsh completion"
if command -v bash >/dev/null; then
  got=$(bash -c ". '$D/usr/share/bash-completion/completions/veritee'; COMP_WORDS=(veritee ''); COMP_CWORD=1; _veritee; echo \${COMPREPLY[*]}")
  for c in $cmds; do echo " $got " | grep -q " $c " || fail "bash completion of 'veritee <TAB>' lacks $c"; done
  got=$(bash -c ". '$D/usr/share/bash-completion/completions/veritee'; COMP_WORDS=(veritee verify --col); COMP_CWORD=2; _veritee; echo \${COMPREPLY[*]}")
  [ "$got" = "--collateral" ] || fail "bash completion of 'veritee verify --col' gave '$got'"
  ok "bash completion runs: commands, then a command's options"
fi
[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all cli_install checks passed"
