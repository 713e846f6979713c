# Shell helpers to run a throwaway `veritee serve` on loopback (sourced by scripts/demo,
# tests/cli/cli_kbs_*.sh, tests/cli/cli_interop.sh and bench/kbs_load.sh). POSIX sh.
#   kbs_keys DIR              admin key pair (ES256) and a KEK file (mode 0600) in DIR
#   kbs_emulate DIR [PLATFORM_JSON_FILE]   an emulated TEE (test PKI)
#   kbs_start LOG ARGS...     start `veritee serve --listen 127.0.0.1:0 ARGS...`; sets KBS_URL and
#                             KBS_PID; fails after 15 s without "listening on http://..."
#   kbs_stop PID              SIGTERM, then SIGKILL after 5 s
#   kbs_admin DIR ARGS...     `veritee admin --kbs $KBS_URL --key DIR/admin.pem ARGS...` (30 s bound)
# Needs VT (path of the veritee binary).

kbs_keys() {
  "$VT" ear key --key "$1/admin.pem" --alg ES256 --pub "$1/admin.pub.pem" >/dev/null || return 1
  (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$1/kek.hex") || return 1
  chmod 600 "$1/kek.hex"
}

kbs_emulate() {
  if [ -n "${2:-}" ]; then
    "$VT" emulate init "$1" --platform "$2" >/dev/null
  else
    "$VT" emulate init "$1" >/dev/null
  fi
}

kbs_start() {
  _log="$1"
  shift
  KBS_URL=""
  KBS_PID=""
  : >"$_log" # empty before the loop reads it: the child's own truncation may come after a first read
  "$VT" serve --listen 127.0.0.1:0 "$@" >"$_log" 2>&1 &
  KBS_PID=$!
  _i=0
  while [ "$_i" -lt 150 ]; do
    KBS_URL=$(sed -n 's/.*listening on \(https\{0,1\}:\/\/[0-9.:]*\).*/\1/p' "$_log" | head -n 1)
    [ -n "$KBS_URL" ] && return 0
    if ! kill -0 "$KBS_PID" 2>/dev/null; then
      echo "kbs_start: veritee serve exited:" >&2
      cat "$_log" >&2
      KBS_PID=""
      return 1
    fi
    sleep 0.1
    _i=$((_i + 1))
  done
  echo "kbs_start: no 'listening on' line within 15 s:" >&2
  cat "$_log" >&2
  kill -9 "$KBS_PID" 2>/dev/null || true
  KBS_PID=""
  return 1
}

kbs_stop() {
  [ -n "${1:-}" ] || return 0
  kill -TERM "$1" 2>/dev/null || return 0
  _i=0
  while kill -0 "$1" 2>/dev/null && [ "$_i" -lt 50 ]; do
    sleep 0.1
    _i=$((_i + 1))
  done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  return 0
}

kbs_admin() {
  _d="$1"
  shift
  timeout 30 "$VT" admin --kbs "$KBS_URL" --key "$_d/admin.pem" "$@"
}
