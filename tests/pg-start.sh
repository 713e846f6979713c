#!/bin/sh
# Throwaway PostgreSQL for the store tests, from Debian's postgresql packages, on loopback.
#   pg-start.sh start        -> prints "PGDIR=<dir>" and "URL=postgres://veritee@127.0.0.1:<port>/veritee"
#   pg-start.sh stop <dir>   -> stops that server and removes <dir>
# Exit 77 (and a message) when the postgres binaries are not installed.
# When run as root, the server runs as the "postgres" user (or "nobody"): postgres refuses root.
set -eu

bindir=""
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && bindir="$d"
done
if [ -z "$bindir" ]; then
  echo "pg-start: postgres binaries not found (apt-get install postgresql)" >&2
  exit 77
fi

as_user=""
if [ "$(id -u)" -eq 0 ]; then
  if id postgres >/dev/null 2>&1; then as_user=postgres; else as_user=nobody; fi
fi
run() {
  if [ -n "$as_user" ]; then runuser -u "$as_user" -- "$@"; else "$@"; fi
}

case "${1:-}" in
start)
  dir=$(mktemp -d /tmp/vt-pg.XXXXXX)
  [ -n "$as_user" ] && chown "$as_user" "$dir"
  run "$bindir/initdb" -D "$dir/data" -U veritee --auth=trust -E UTF8 --no-locale --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  tries=0
  while :; do
    port=$(awk 'BEGIN{srand(); print 20000 + int(rand() * 40000)}')
    if run "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
         -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=50" start >/dev/null 2>&1; then
      break
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 5 ]; then cat "$dir/server.log" >&2; exit 1; fi
  done
  run "$bindir/createdb" -h 127.0.0.1 -p "$port" -U veritee veritee
  echo "PGDIR=$dir"
  echo "URL=postgres://veritee@127.0.0.1:$port/veritee"
  ;;
stop)
  dir="${2:?usage: pg-start.sh stop DIR}"
  case "$dir" in /tmp/vt-pg.*) ;; *) echo "pg-start: refusing to remove $dir" >&2; exit 2 ;; esac
  run "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  ;;
*)
  echo "usage: pg-start.sh start | stop DIR" >&2
  exit 2
  ;;
esac
