/* Core check recorder (include/veritee/checks.h): the one way every verifier records a check,
 * so a FAIL entry and the caller's error always name the same check with the same message. */
#include <string.h>

#include "testutil.h"
#include "veritee/checks.h"

static vt_err inner_fails(vt_error *err)
{
    return vt_error_set(err, VT_E_VERIFY, "signature", "%s: ECDSA signature does not verify", "quote");
}

static void test_pass_skip(void **state)
{
    (void)state;
    vt_checks c = {0};
    vt_check_pass(&c, "header", "quote v%u", 4u);
    vt_check_skip(&c, "report_data", "no expected REPORTDATA given");
    assert_int_equal(c.n, 2);
    assert_int_equal(vt_checks_find(&c, "header")->status, VT_CHECK_PASS);
    assert_string_equal(vt_checks_find(&c, "header")->detail, "quote v4");
    assert_int_equal(vt_checks_find(&c, "report_data")->status, VT_CHECK_SKIP);
}

/* A check failing here fills the error (code, name, message) and the list alike. */
static void test_fail(void **state)
{
    (void)state;
    vt_checks c = {0};
    vt_error e;
    vt_error_clear(&e);
    assert_int_equal(vt_check_fail(&c, &e, "vmpl", VT_E_VERIFY, "VMPL %u is outside 0..%u", 5u, 3u), VT_E_VERIFY);
    assert_int_equal(e.code, VT_E_VERIFY);
    assert_string_equal(e.check, "vmpl");
    assert_string_equal(e.msg, "VMPL 5 is outside 0..3");
    const vt_check *k = vt_checks_find(&c, "vmpl");
    assert_non_null(k);
    assert_int_equal(k->status, VT_CHECK_FAIL);
    assert_string_equal(k->detail, e.msg);
    /* without an error record the list still says why */
    assert_int_equal(vt_check_fail(&c, NULL, "chip_id", VT_E_VERIFY, "CHIP_ID %s", "differs"), VT_E_VERIFY);
    assert_string_equal(vt_checks_find(&c, "chip_id")->detail, "CHIP_ID differs");
}

/* A step that filled the error itself: renamed to the step's check, message kept; the pass
 * detail is formatted only on success. */
static void test_step(void **state)
{
    (void)state;
    vt_checks c = {0};
    vt_error e;
    vt_error_clear(&e);
    assert_int_equal(vt_check_step(&c, &e, "parse", VT_OK, "%u-byte report", 1184u), VT_OK);
    assert_string_equal(vt_checks_find(&c, "parse")->detail, "1184-byte report");
    assert_int_equal(e.check[0], '\0');
    vt_err rc = vt_check_step(&c, &e, "quote_signature", inner_fails(&e), "never %s", "shown");
    assert_int_equal(rc, VT_E_VERIFY);
    assert_string_equal(e.check, "quote_signature");
    assert_string_equal(e.msg, "quote: ECDSA signature does not verify");
    const vt_check *k = vt_checks_find(&c, "quote_signature");
    assert_int_equal(k->status, VT_CHECK_FAIL);
    assert_string_equal(k->detail, e.msg);
    /* a step may keep the name its callee gave */
    vt_error_set(&e, VT_E_INVALID, "certtable", "table truncated");
    assert_int_equal(vt_check_step(&c, &e, e.check, e.code, "%s", ""), VT_E_INVALID);
    assert_string_equal(e.check, "certtable");
    assert_int_equal(vt_check_step(&c, NULL, "tcb_level", VT_E_NO_TCB, "%s", ""), VT_E_NO_TCB);
    assert_string_equal(vt_checks_find(&c, "tcb_level")->detail, "failed");
}

/* The subject (one device of many) leads the detail of either outcome, never the error. */
static void test_step_of(void **state)
{
    (void)state;
    vt_checks c = {0};
    vt_error e;
    vt_error_clear(&e);
    assert_int_equal(vt_check_step_of(&c, &e, "gpu1: ", "fwid", VT_OK, "FWID equals the %s", "leaf's"), VT_OK);
    assert_string_equal(vt_checks_find(&c, "fwid")->detail, "gpu1: FWID equals the leaf's");
    vt_error_set(&e, VT_E_VERIFY, "x", "FWID mismatch");
    assert_int_equal(vt_check_step_of(&c, &e, "gpu2: ", "nonce", VT_E_VERIFY, "%s", ""), VT_E_VERIFY);
    assert_string_equal(e.check, "nonce");
    assert_string_equal(e.msg, "FWID mismatch");
    assert_string_equal(vt_checks_find(&c, "nonce")->detail, "gpu2: FWID mismatch");
}

/* A caller names the check of an error a generic helper set. */
static void test_error_name(void **state)
{
    (void)state;
    vt_error e;
    vt_error_clear(&e);
    assert_int_equal(inner_fails(&e), VT_E_VERIFY);
    assert_string_equal(e.check, "signature");
    vt_error_name(&e, "jws_signature");
    assert_string_equal(e.check, "jws_signature");
    vt_error_name(&e, e.check); /* naming it as itself keeps it */
    assert_string_equal(e.check, "jws_signature");
    vt_error_name(NULL, "x");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pass_skip), cmocka_unit_test(test_fail), cmocka_unit_test(test_step),
        cmocka_unit_test(test_step_of),   cmocka_unit_test(test_error_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
