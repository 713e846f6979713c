/* The KBS replays a TDX guest's cc_eventlog against the quote's RTMRs (real CCEL log of
 * shared/vectors/tdx/ccel_cos113 and its quote). */
#include <stdlib.h>
#include <string.h>

#include "kbs/kbs_internal.h"
#include "testutil.h"
#include "veritee/claims.h"
#include "veritee/tdx.h"

static void claims_from_quote(const vt_buf *qb, vt_claims *c)
{
    vt_tdx_quote q;
    vt_error e;
    assert_int_equal(vt_tdx_quote_parse(qb->ptr, qb->len, &q, &e), VT_OK);
    memset(c, 0, sizeof *c);
    for (int i = 0; i < 4; i++) {
        char n[8];
        snprintf(n, sizeof n, "rtmr%d", i);
        assert_int_equal(vt_claims_set_meas(c, n, q.td.rtmr[i], 48, &e), VT_OK);
    }
}

static json_t *b64_json(const uint8_t *p, size_t n)
{
    char *s = vt_b64_encode(p, n, false);
    json_t *j = json_string(s);
    free(s);
    return j;
}

static void test_replay(void **state)
{
    (void)state;
    vt_buf log = {0}, qb = {0};
    vt_test_load("tdx/ccel_cos113/ccel_event_log.bin", &log);
    vt_test_load("tdx/ccel_cos113/quote.bin", &qb);
    vt_claims *c = calloc(1, sizeof *c);
    claims_from_quote(&qb, c);
    vt_error e;
    json_t *el = b64_json(log.ptr, log.len);
    assert_int_equal(kbs_check_event_log(el, c, &e), VT_OK);
    json_decref(el);
    /* null or absent: nothing to replay */
    assert_int_equal(kbs_check_event_log(json_null(), c, &e), VT_OK);
    assert_int_equal(kbs_check_event_log(NULL, c, &e), VT_OK);
    /* one digest byte of an event changed: that register no longer matches */
    vt_buf bad = {0};
    assert_int_equal(vt_buf_set(&bad, log.ptr, log.len, &e), VT_OK);
    bad.ptr[200] ^= 1; /* inside the first TCG_PCR_EVENT2 record after the Spec ID event */
    el = b64_json(bad.ptr, bad.len);
    assert_int_equal(kbs_check_event_log(el, c, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "event_log");
    json_decref(el);
    /* a truncated log is rejected or replays to other values: never accepted silently */
    el = b64_json(log.ptr, 3000);
    assert_int_equal(kbs_check_event_log(el, c, &e), VT_E_VERIFY);
    json_decref(el);
    /* not base64 */
    el = json_string("***");
    assert_int_equal(kbs_check_event_log(el, c, &e), VT_E_VERIFY);
    json_decref(el);
    vt_buf_free(&bad);
    vt_buf_free(&log);
    vt_buf_free(&qb);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_replay)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
