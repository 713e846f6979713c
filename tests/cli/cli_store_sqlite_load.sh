#!/bin/sh
# libsqlite3 is loaded with dlopen() by the SQLite store, not linked (src/store/sqlite.c): the
# program does not depend on it, a store works, and a store whose library cannot be loaded is a
# clean error (exit 3) that creates nothing.
set -u
VT=${VERITEE_BIN:?VERITEE_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/kbs-env.sh"
. "$(dirname "$0")/../fixtures/cli.sh"
need readelf ldd cc

readelf -d "$VT" >"$tmp/dyn" || { bad "readelf -d"; exit 1; }
grep -q NEEDED "$tmp/dyn" && ! grep -q 'libsqlite3' "$tmp/dyn" && ok "veritee does not link libsqlite3" ||
  bad "veritee links libsqlite3: $(grep NEEDED "$tmp/dyn")"
ldd "$VT" >"$tmp/ldd" 2>&1 && ! grep -q 'libsqlite3' "$tmp/ldd" && ok "nothing veritee links loads libsqlite3" ||
  bad "libsqlite3 loaded at start: $(cat "$tmp/ldd")"

# A store on the real library: the broker creates it, the audit chain verifies.
kbs_sqlite_setup store-load
kbs_sqlite_start || { bad "serve on SQLite: $(cat "$tmp/serve.log")"; exit 1; }
kbs_stop "$KBS_PID"; KBS_PID=""
expect 0 "audit verify on the store the broker created" "$VT" audit verify --db "$DB"

# An unusable libsqlite3.so.0 found first: an empty file, then a library without SQLite's API.
mkdir -p "$tmp/short" "$tmp/noapi"
: >"$tmp/short/libsqlite3.so.0"
printf 'int no_sqlite(void);\nint no_sqlite(void) { return 0; }\n' >"$tmp/noapi.c"
cc -shared -fPIC -o "$tmp/noapi/libsqlite3.so.0" "$tmp/noapi.c" || { bad "cc a stand-in library"; exit 1; }
LD_LIBRARY_PATH="$tmp/short" expect 3 "an unloadable libsqlite3 fails audit verify" "$VT" audit verify --db "$DB"
has "cannot load libsqlite3.so.0: .*libsqlite3.so.0"
LD_LIBRARY_PATH="$tmp/noapi" expect 3 "a libsqlite3 without SQLite's API fails audit verify" "$VT" audit verify --db "$DB"
has "cannot load libsqlite3.so.0: it lacks sqlite3_"
LD_LIBRARY_PATH="$tmp/short" kbs_start "$tmp/serve2.log" --db "sqlite:$tmp/new.db" --trust "$tmp/emu/trust" \
  --collateral "$tmp/emu/collateral" --admin-key "$tmp/admin.pub.pem" --kek-file "$tmp/kek.hex" \
  --ear-key "$tmp/ear.pem" --policy "$tmp/policy.json" 2>/dev/null && { bad "serve started without libsqlite3"; kbs_stop "$KBS_PID"; KBS_PID=""; }
grep -q "cannot load libsqlite3.so.0" "$tmp/serve2.log" && ok "serve without libsqlite3 says why" ||
  bad "serve without libsqlite3: $(cat "$tmp/serve2.log")"
[ ! -e "$tmp/new.db" ] && ok "no database file created without the library" || bad "$tmp/new.db created"
[ "$fails" -eq 0 ] || exit 1
