#!/bin/sh
# One error idiom (issue 12): the tree keeps it, and the checker refuses each kind of break,
# naming file:line. usage: error_idiom.sh CHECK-ERRORS ROOT
set -eu
check=$1 root=$2
python3 "$check" --root "$root"

t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/src/tee" "$t/src/core"
good='vt_err f(vt_checks *c, vt_error *err) { return vt_check_fail(c, err, "x", VT_E_VERIFY, "bad"); }'
echo "$good" >"$t/src/tee/a.c"
python3 "$check" --root "$t" >/dev/null

expect_refused() { # what-to-find file-content
    printf '%s\n%s\n' "$good" "$2" >"$t/src/tee/a.c"
    if python3 "$check" --root "$t" 2>"$t/err"; then
        echo "FAIL: check-errors accepted: $2"; exit 1
    fi
    grep -F "src/tee/a.c:2: $1" "$t/err" >/dev/null || { echo "FAIL: expected 'src/tee/a.c:2: $1' in:"; cat "$t/err"; exit 1; }
    echo "refused as expected: $(head -1 "$t/err")"
}
expect_refused "vt_error_set with a NULL check" 'int g(vt_error *e) { return vt_error_set(e, VT_E_VERIFY,
    NULL, "multi-line, %s", "still found"); }'
expect_refused "vt_error_vset with a NULL check" 'int h(vt_error *e, va_list ap) { return vt_error_vset(e, 1, NULL, "m", ap); }'
expect_refused "writes an error's check field" 'void k(vt_error *err) { snprintf(err->check, sizeof err->check, "x"); }'
expect_refused "vt_checks_add(VT_CHECK_FAIL) records a check outside the recorder" 'void m(vt_checks *c) { vt_checks_add(c, "x", VT_CHECK_FAIL, "y"); }'
# the recorder itself lives in core; a comment or string mentioning the old form is no call
printf '%s\n' 'void n(vt_checks *c) { vt_checks_add(c, "x", VT_CHECK_PASS, "y"); }' >"$t/src/core/checks.c"
printf '%s\n%s\n' "$good" '/* vt_error_set(e, 1, NULL, "x") */ const char *s = "vt_error_set(e, 1, NULL, x)";' >"$t/src/tee/a.c"
python3 "$check" --root "$t" >/dev/null
echo "error_idiom: 4 kinds of break refused; src/ names every check"
