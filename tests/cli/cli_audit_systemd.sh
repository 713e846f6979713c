#!/bin/sh
# The audit archiving units as packaged (packaging/systemd/veritee-audit-archive.{service,timer}):
# `systemd-analyze verify` finds nothing to say (a mangled copy shows it would), the service is
# a oneshot as the veritee user with veritee.service's hardening, defaults that
# /etc/veritee/veritee.env overrides, and its ExecStart, expanded as systemd does, archives with
# the real binary; the timer runs daily, persistent, randomized; neither is enabled by itself.
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
HERE=$(cd "$(dirname "$0")" && pwd)
P=$HERE/../../packaging/systemd
if ! "$B" serve --help >/dev/null 2>&1; then echo "SKIP: veritee serve not wired"; exit 77; fi
. "$(dirname "$0")/../fixtures/cli.sh"
cd "$tmp" || exit 1
S=$P/veritee-audit-archive.service
T=$P/veritee-audit-archive.timer

# --- systemd's own reading of the units (the binary path replaced by a stub that exists)
if command -v systemd-analyze >/dev/null; then
  mkdir -p unit && printf '#!/bin/sh\n' >unit/veritee && chmod +x unit/veritee
  sed "s|/usr/bin/veritee|$tmp/unit/veritee|g" "$S" >unit/veritee-audit-archive.service
  cp "$T" unit/
  # systemd-analyze exits 0 on a setting it ignores, saying so: any word from it is a failure
  sa() { systemd-analyze verify --man=no "$@" >sa.out 2>&1 && [ ! -s sa.out ]; }
  ran=yes
  if sa "$tmp/unit/veritee-audit-archive.service" "$tmp/unit/veritee-audit-archive.timer"; then
    ok "systemd-analyze verify: both units, not a word"
  elif grep -q -e "System has not been booted with systemd" -e "Failed to initialize manager" -e "Failed to setup working directory" sa.out; then
    echo "SKIP (part): systemd-analyze cannot run here: $(head -1 sa.out)"
    ran=no
  else
    bad "systemd-analyze verify: $(cat sa.out)"
  fi
  # the check can fail: a mangled copy is reported (only where systemd-analyze runs at all,
  # else its refusal to run would count as the report)
  if [ "$ran" = yes ]; then
    mkdir -p bad && cp unit/veritee "$tmp/bad/"
    sed 's/^Type=oneshot/Type=oneshott/' unit/veritee-audit-archive.service >bad/veritee-audit-archive.service
    sa "$tmp/bad/veritee-audit-archive.service" && bad "a mangled Type= passed" || ok "a mangled Type= is reported: $(head -1 sa.out)"
  fi
else
  echo "SKIP (part): systemd-analyze not installed"
fi

# --- what the service promises
unit_has() { grep -qx -- "$2" "$1" && ok "$(basename "$1"): $2" || bad "$(basename "$1") lacks '$2'"; }
for l in Type=oneshot User=veritee Group=veritee EnvironmentFile=-/etc/veritee/veritee.env \
         Environment=VERITEE_DB=sqlite:/var/lib/veritee/veritee.db Environment=VERITEE_AUDIT_KEEP_DAYS=30 \
         Environment=VERITEE_AUDIT_ARCHIVE_DIR=/var/lib/veritee/audit-archive \
         'StateDirectory=veritee veritee/audit-archive' StateDirectoryMode=0700; do
  unit_has "$S" "$l"
done
grep -q '^\[Install\]' "$S" && bad "the service has an [Install] section (the timer starts it)" || ok "the service is started by the timer only"
grep -q 'LoadCredential\|kek' "$S" && bad "the service is handed the KEK" || ok "no key-encryption key for archiving"
# every hardening line of veritee.service, the same here
sed -n '/^# Hardening/,/^UMask/p' "$P/veritee.service" | grep -v '^#' >hardening
[ "$(wc -l <hardening)" -ge 20 ] || bad "veritee.service's hardening block not found"
missing=0
while IFS= read -r l; do grep -qxF -- "$l" "$S" || { bad "hardening line missing: $l"; missing=1; }; done <hardening
[ $missing = 0 ] && ok "veritee.service's $(wc -l <hardening) hardening lines, all present"
for l in OnCalendar=daily Persistent=true RandomizedDelaySec=1h WantedBy=timers.target; do unit_has "$T" "$l"; done
# the example settings name the variables with the unit's defaults
for v in VERITEE_AUDIT_KEEP_DAYS=30 VERITEE_AUDIT_ARCHIVE_DIR=/var/lib/veritee/audit-archive; do
  grep -qx "$v" "$P/veritee.env" && ok "veritee.env: $v" || bad "veritee.env lacks $v"
done

# --- ExecStart, expanded as systemd does (${VAR} from Environment=, then the env file), run
exec_line() { # the ExecStart command with continuation lines joined
  sed -n '/^ExecStart=/,/[^\\]$/p' "$S" | sed 's/\\$//' | tr -d '\n' | sed 's/^ExecStart=//; s/  */ /g'
}
expand() { # expand DB KEEP DIR: the command line with the settings in
  exec_line | sed "s|/usr/bin/veritee|$B|; s|\${VERITEE_DB}|$1|; s|\${VERITEE_AUDIT_KEEP_DAYS}|$2|; s|\${VERITEE_AUDIT_ARCHIVE_DIR}|$3|"
}
case "$(exec_line)" in
  *"audit archive --db \${VERITEE_DB} --older-than \${VERITEE_AUDIT_KEEP_DAYS}d --out-dir \${VERITEE_AUDIT_ARCHIVE_DIR}"*)
    ok "ExecStart: $(exec_line)" ;;
  *) bad "ExecStart: $(exec_line)" ;;
esac
"$B" emulate init "$tmp/emu" >/dev/null || { bad "emulate init"; exit 1; }
serve_emulated "$tmp/emu"
printf 'value' >v
$ADM resource put default/key/a v >/dev/null || bad "admin put"
kill "$pid"; wait "$pid"; pid=
mkdir archive
# shellcheck disable=SC2046 # word splitting is what systemd does between arguments
expect 0 "ExecStart with the defaults: nothing 30 days old" $(expand "sqlite:$tmp/kbs.db" 30 "$tmp/archive")
has "nothing to archive"
[ -z "$(ls -A archive)" ] && ok "no file" || bad "archive: $(ls -A archive)"
expect 2 "VERITEE_AUDIT_KEEP_DAYS=0 refused" $(expand "sqlite:$tmp/kbs.db" 0 "$tmp/archive")
expect 2 "VERITEE_AUDIT_KEEP_DAYS=thirty refused" $(expand "sqlite:$tmp/kbs.db" thirty "$tmp/archive")
expect 3 "VERITEE_AUDIT_ARCHIVE_DIR missing: the run fails" $(expand "sqlite:$tmp/kbs.db" 30 "$tmp/nowhere")
# the unit's command line with a span the log reaches archives it all (1s, two seconds on)
sleep 2.1
expect 0 "ExecStart line, --older-than 1s" $(expand "sqlite:$tmp/kbs.db" 1 "$tmp/archive" | sed 's/--older-than 1d/--older-than 1s/')
has "archived records 1 to"
expect 0 "the archive verifies with the store" "$B" audit verify --db "sqlite:$tmp/kbs.db" --archive-dir "$tmp/archive"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all cli_audit_systemd checks passed"
