#!/bin/sh
# Scheduled audit archiving (docs/operations.md, "Archiving"): `audit archive --older-than
# DURATION [--at TIME] --out-dir DIR` as the systemd timer and the Kubernetes CronJob run it, and
# `audit verify --archive-dir DIR`. Hostile and wrong input: bad durations, exclusive options, a
# DIR that is a file, a foreign file in DIR, a gap between archives, two archives overlapping, an
# edited one, a name already taken, a second run holding DIR; files ordered by header, not name;
# a run after one whose cut stopped part of the way.
set -u
B=${VERITEE_BIN:?VERITEE_BIN not set}
if ! "$B" serve --help >/dev/null 2>&1; then echo "SKIP: veritee serve not wired"; exit 77; fi
. "$(dirname "$0")/../fixtures/cli.sh"
need curl jq openssl flock date python3
cd "$tmp" || exit 1
DB="sqlite:$tmp/kbs.db"
pad() { printf '%019d' "$1"; }
name() { echo "audit-$(pad "$1")-$(pad "$2").jsonl"; }

# --- a log of two batches of admin actions, a second apart, written by a broker then stopped
"$B" emulate init "$tmp/emu" >/dev/null || { bad "emulate init"; exit 1; }
serve_emulated "$tmp/emu"
printf 'value' >v
for i in 1 2 3 4 5 6; do $ADM resource put "default/a/k$i" v >/dev/null || bad "put a$i"; done
sleep 1.2 # the second batch starts in a later second than the first ends
for i in 1 2 3 4 5; do $ADM resource put "default/b/k$i" v >/dev/null || bad "put b$i"; done
kill "$pid"; wait "$pid"; pid=
"$B" audit show --db "$DB" --tail 1000 --json >all.jsonl || { bad "audit show"; exit 1; }
head=$(tail -n 1 all.jsonl | jq -r .seq)
T2=$(jq -r 'select(.action == "resource.put" and (.subject | contains("default/b/k1"))) | .time' all.jsonl)
first2=$(jq -r --arg t "$T2" 'select(.time >= $t) | .seq' all.jsonl | head -n 1)
[ "$head" -ge 11 ] && [ -n "$T2" ] && [ "$first2" -gt 6 ] && ok "log of $head records; the second batch starts at record $first2 ($T2)" ||
  { bad "setup: head '$head', T2 '$T2', first2 '$first2'"; exit 1; }
cp "$tmp/kbs.db" "$tmp/copy.db" # the same history, archived differently below (an overlap)
for c in 3 4 5; do cp "$tmp/kbs.db" "$tmp/copy$c.db"; done # for an interrupted cut

# --- bad arguments: nothing written, nothing cut
mkdir arch
for d in 0d 000m 30 30x d -1d +1d 1.5d 30D 1d2h ' 30d' '30d ' '' 99999999999999999999d 36526d 5218w 9223372036854775807s; do
  expect 2 "--older-than '$d' refused" "$B" audit archive --db "$DB" --older-than "$d" --out-dir arch
  has "older-than"
done
expect 2 "--older-than with --keep" "$B" audit archive --db "$DB" --older-than 1d --keep 3 --out-dir arch
expect 2 "--older-than with --before" "$B" audit archive --db "$DB" --older-than 1d --before 2026-01-01T00:00:00Z --out-dir arch
expect 2 "--out with --out-dir" "$B" audit archive --db "$DB" --older-than 1d --out x.jsonl --out-dir arch
expect 2 "neither --out nor --out-dir" "$B" audit archive --db "$DB" --older-than 1d
expect 2 "--at without --older-than" "$B" audit archive --db "$DB" --keep 1 --at 2026-01-01T00:00:00Z --out-dir arch
expect 2 "--at not RFC 3339" "$B" audit archive --db "$DB" --older-than 1d --at yesterday --out-dir arch
has "at:"
expect 2 "--keep -1" "$B" audit archive --db "$DB" --keep -1 --out-dir arch
expect 2 "--keep past int64" "$B" audit archive --db "$DB" --keep 99999999999999999999 --out-dir arch
: >afile
expect 2 "--out-dir that is a file" "$B" audit archive --db "$DB" --older-than 1d --out-dir afile
has "not a directory"
expect 3 "--out-dir that does not exist" "$B" audit archive --db "$DB" --older-than 1d --out-dir nowhere

[ -z "$(ls -A arch)" ] && ok "nothing written" || bad "arch: $(ls -A arch)"
"$B" audit verify --db "$DB" --json >v.json; [ "$(jq -r .base_seq v.json)" = 0 ] && ok "nothing cut" || bad "base: $(cat v.json)"

# --- nothing older than a day: exit 0, no file, a clear message
expect 0 "--older-than 1d: nothing to archive" "$B" audit archive --db "$DB" --older-than 1d --out-dir arch
has "nothing to archive: the store holds records 1 to $head, none older than the cut"
[ -z "$(ls -A arch)" ] && ok "no empty archive" || bad "arch: $(ls -A arch)"
expect 0 "nothing to archive, --json" "$B" audit archive --db "$DB" --older-than 1d --out-dir arch --json
[ "$(jq -r .archived "$tmp/out")" = false ] && ok "--json says archived false" || bad "json: $(output)"

# --- counted back from --at: the first batch is older than an hour at T2 + 1h, the second not
AT=$(date -u -d "$T2 + 1 hour" +%Y-%m-%dT%H:%M:%SZ)
f1=$(name 1 $((first2 - 1)))
expect 0 "--older-than 1h --at $AT" "$B" audit archive --db "$DB" --older-than 1h --at "$AT" --out-dir arch
has "archived records 1 to $((first2 - 1)) ($((first2 - 1))) to arch/$f1"
[ -f "arch/$f1" ] && ok "named $f1" || bad "arch: $(ls -A arch)"
[ "$(stat -c %a "arch/$f1")" = 600 ] && ok "mode 0600" || bad "mode $(stat -c %a "arch/$f1")"
[ "$(ls -A arch | wc -l)" = 1 ] && ok "no temporary file left" || bad "arch: $(ls -A arch)"
expect 0 "the same again: nothing to archive" "$B" audit archive --db "$DB" --older-than 1h --at "$AT" --out-dir arch
has "nothing to archive"
# 90m counts further back: the same cut in other words; 2h does not reach the first batch's end
expect 0 "--older-than 2h --at: nothing" "$B" audit archive --db "$DB" --older-than 2h --at "$AT" --out-dir arch
has "nothing to archive"

# --- a name already taken is never overwritten, and nothing is cut: the run reads the headers
# in DIR first (for an interrupted cut, below), and this file is not an archive
f2=$(name "$first2" $((head - 2)))
echo precious >"arch/$f2"
expect 2 "a foreign file under the archive's name refused" "$B" audit archive --db "$DB" --keep 2 --out-dir arch
has "arch/$f2: archive line 1"
expect 2 "... and with --out, never overwritten" "$B" audit archive --db "$DB" --keep 2 --out "arch/$f2"
has "never overwritten"
[ "$(cat "arch/$f2")" = precious ] && ok "the file is untouched" || bad "overwritten"
"$B" audit verify --db "$DB" --json >v.json; [ "$(jq -r .base_seq v.json)" = $((first2 - 1)) ] && ok "nothing cut" || bad "base: $(cat v.json)"
rm "arch/$f2"

# --- one run per directory: a second one holding it is refused
exec 9<arch
flock -n 9 || bad "flock arch"
expect 3 "DIR held by another run" "$B" audit archive --db "$DB" --keep 2 --out-dir arch
has "another 'audit archive' is writing into arch"
exec 9<&-

expect 0 "--keep 2 --out-dir" "$B" audit archive --db "$DB" --keep 2 --out-dir arch
has "archived records $first2 to $((head - 2))"
f3=$(name $((head - 1)) "$head")
expect 0 "--keep 0 --out-dir" "$B" audit archive --db "$DB" --keep 0 --out-dir arch --json
[ "$(jq -r .archive "$tmp/out")" = "arch/$f3" ] && ok "--json names arch/$f3" || bad "json: $(output)"

# --- verify --archive-dir
expect 0 "verify --archive-dir" "$B" audit verify --db "$DB" --archive-dir arch
has "archives intact: $head records, 1 to $head, in 3 files"
expect 0 "verify --archive-dir --json" "$B" audit verify --db "$DB" --archive-dir arch --json
[ "$(jq -r .archive_files "$tmp/out")" = 3 ] && [ "$(jq -r .archived_records "$tmp/out")" = "$head" ] &&
  ok "--json: 3 files, $head records" || bad "json: $(output)"
expect 2 "--archive and --archive-dir" "$B" audit verify --db "$DB" --archive-dir arch --archive "arch/$f1"
expect 3 "--archive-dir that does not exist" "$B" audit verify --db "$DB" --archive-dir nowhere
expect 2 "--archive-dir that is a file" "$B" audit verify --db "$DB" --archive-dir afile
mkdir empty
expect 1 "an empty DIR while records are archived" "$B" audit verify --db "$DB" --archive-dir empty
has "an archive is missing"
expect 0 "an empty DIR, nothing archived" "$B" audit verify --db "sqlite:$tmp/copy.db" --archive-dir empty
has "no archive in empty, none needed"

# order by header, not by name: names that sort backwards still verify
mkdir renamed
cp "arch/$f1" renamed/audit-z.jsonl; cp "arch/$f2" renamed/audit-m.jsonl; cp "arch/$f3" renamed/audit-a.jsonl
echo "not an archive" >renamed/README.txt # not audit-*.jsonl: not read
expect 0 "files ordered by their headers, not their names" "$B" audit verify --db "$DB" --archive-dir renamed

# a foreign file named like an archive
cp -r arch foreign; echo '{"hello": "world"}' >foreign/audit-notes.jsonl
expect 2 "a foreign audit-*.jsonl refused" "$B" audit verify --db "$DB" --archive-dir foreign
has "foreign/audit-notes.jsonl"
has "not an archive header"
: >foreign/audit-notes.jsonl
expect 2 "an empty audit-*.jsonl refused" "$B" audit verify --db "$DB" --archive-dir foreign
has "foreign/audit-notes.jsonl: not an audit archive (empty)"

# a gap: the middle archive missing
mkdir gap; cp "arch/$f1" "arch/$f3" gap/
expect 1 "a gap between two archives" "$B" audit verify --db "$DB" --archive-dir gap
has "gap: gap/$f3 starts after record $((head - 2)), but gap/$f1 ends at record $((first2 - 1)): records $first2 to $((head - 2)) are in no archive"
# the first archive missing
mkdir nofirst; cp "arch/$f2" "arch/$f3" nofirst/
expect 1 "the first archive missing" "$B" audit verify --db "$DB" --archive-dir nofirst
has "must start at record 1"

# overlaps: one archive twice (under another name), and one cut elsewhere from the same history
mkdir twice; cp arch/*.jsonl twice/; cp "arch/$f1" twice/audit-copy.jsonl
expect 1 "one archive twice" "$B" audit verify --db "$DB" --archive-dir twice
has "overlap: .* both start after record 0"
mkdir other
expect 0 "the copy: --keep $((head - 3))" "$B" audit archive --db "sqlite:$tmp/copy.db" --keep $((head - 3)) --out-dir other
expect 0 "the copy: --keep 0" "$B" audit archive --db "sqlite:$tmp/copy.db" --keep 0 --out-dir other
mkdir overlap; cp "arch/$f1" overlap/; cp "other/$(name 4 "$head")" overlap/
expect 1 "two archives overlapping" "$B" audit verify --db "$DB" --archive-dir overlap
has "overlap: overlap/$(name 4 "$head") starts after record 3, inside overlap/$f1, which ends at record $((first2 - 1))"

# an edited record
cp -r arch edited
sed -i '3s/"outcome":"ok"/"outcome":"no"/' "edited/$f1"
expect 1 "an edited archive refused" "$B" audit verify --db "$DB" --archive-dir edited
has "edited/$f1: archive line 3: record 2 does not match its hash"

# --- an earlier run whose cut stopped part of the way: its file in DIR, its last records still
# stored. The next run finishes that cut first (the file checked against the store), so that it
# does not write an archive overlapping the file.
partial_cut() { # partial_cut DB SEQ: what one committed step of vt_audit_cut leaves
  python3 - "$1" "$2" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
k = int(sys.argv[2])
c.execute("UPDATE audit_base SET seq = ?, hash = (SELECT hash FROM audit WHERE seq = ?) WHERE id = 1", (k, k))
c.execute("DELETE FROM audit WHERE seq <= ?", (k,))
c.commit()
PY
}
mkdir part
expect 0 "a run into part/ (its twin store below stops cutting at record 4)" "$B" audit archive --db "sqlite:$tmp/copy3.db" --keep 3 --out-dir part
P=$(name 1 $((head - 3)))
partial_cut "$tmp/copy4.db" 4 || bad "partial cut"
expect 0 "the interrupted state verifies" "$B" audit verify --db "sqlite:$tmp/copy4.db" --archive-dir part
has "archives intact: $((head - 3)) records, 1 to $((head - 3)), in 1 file"
has "records 5 to $((head - 3)) are also still in the store (a cut stopped part of the way"
expect 0 "the next run" "$B" audit archive --db "sqlite:$tmp/copy4.db" --keep 0 --out-dir part
has "finished the cut of part/$P: records 5 to $((head - 3)) were still stored"
has "archived records $((head - 2)) to $head"
expect 0 "no overlap after it" "$B" audit verify --db "sqlite:$tmp/copy4.db" --archive-dir part
has "archives intact: $head records, 1 to $head, in 2 files"
# the file found across the base is checked first: an edited one stops the run, nothing cut
mkdir partbad; cp "part/$P" partbad/
sed -i '6s/"outcome":"ok"/"outcome":"no"/' "partbad/$P"
partial_cut "$tmp/copy5.db" 4 || bad "partial cut"
expect 1 "an edited file across the base stops the run" "$B" audit archive --db "sqlite:$tmp/copy5.db" --keep 0 --out-dir partbad
has "archive line 6: record 5 does not match its hash"
"$B" audit verify --db "sqlite:$tmp/copy5.db" --json >v.json; [ "$(jq -r .base_seq v.json)" = 4 ] && ok "nothing cut" || bad "base: $(cat v.json)"
[ "$(ls partbad | wc -l)" = 1 ] && ok "nothing written" || bad "partbad: $(ls partbad)"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all cli_audit_archive checks passed"
