#!/bin/sh
# The layer table is enforced: the real tree follows it, and the checker refuses each kind of
# violation (upward include, internal header of another layer, table drift) naming the edge.
# usage: layers.sh CHECK-LAYERS TABLE ROOT DOC [NAME=ARCHIVE ...]
set -eu
check=$1 table=$2 root=$3 doc=$4
shift 4
python3 "$check" --table "$table" --root "$root" --doc "$doc" "$@"

t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/src/low" "$t/src/high" "$t/include/veritee"
printf '# name\tdirs\tuses\theaders\tsummary\n' >"$t/layers.tsv"
printf 'low\tsrc/low\t\tlow\tthe bottom\n' >>"$t/layers.tsv"
printf 'high\tsrc/high\tlow\thigh\tthe top\n' >>"$t/layers.tsv"
echo '/* low */' >"$t/include/veritee/low.h"
echo '#include "veritee/low.h"' >"$t/include/veritee/high.h"
echo '#include "high_internal.h"' >"$t/src/high/a.c"
echo '/* internal */' >"$t/src/high/high_internal.h"
echo '#include "veritee/low.h"' >"$t/src/low/a.c"
python3 "$check" --table "$t/layers.tsv" --root "$t"

expect_violation() { # what-to-find
    if python3 "$check" --table "$t/layers.tsv" --root "$t" 2>"$t/err"; then
        echo "FAIL: check-layers accepted a tree with: $1"; exit 1
    fi
    grep -F "$1" "$t/err" >/dev/null || { echo "FAIL: expected '$1' in:"; cat "$t/err"; exit 1; }
    echo "refused as expected: $(grep -F "$1" "$t/err" | head -1)"
}
echo '#include "veritee/high.h"' >>"$t/src/low/a.c"
expect_violation "layer low includes veritee/high.h of layer high, which it does not use"
echo '#include "veritee/low.h"' >"$t/src/low/a.c"
echo '#include "high/high_internal.h"' >"$t/src/low/b.c"
expect_violation "internal headers are included only from their own directory"
rm "$t/src/low/b.c"
printf 'x\n<!-- layers:begin -->\n| stale |\n<!-- layers:end -->\n' >"$t/doc.md"
if python3 "$check" --table "$t/layers.tsv" --root "$t" --doc "$t/doc.md" 2>"$t/err"; then
    echo "FAIL: a stale doc table was accepted"; exit 1
fi
grep -F "the layer table differs" "$t/err" >/dev/null
python3 "$check" --table "$t/layers.tsv" --root "$t" --doc "$t/doc.md" --write-doc
python3 "$check" --table "$t/layers.tsv" --root "$t" --doc "$t/doc.md"
echo "layers: 4 violations refused, the tree follows cmake/layers.cmake"
