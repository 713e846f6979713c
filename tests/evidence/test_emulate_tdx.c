/* Emulated TDX round trips: every configured property comes out of the real verifier, and
 * emulated evidence is only ever accepted against its own emulator's trust directory. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/codec.h"
#include "veritee/emulate.h"
#include "veritee/fileio.h"
#include "veritee/tdx.h"

#define T0 "2026-06-01T12:00:00Z"

/* Make an emulator from a TDX section (JSON text) merged over the defaults. */
static void make_emu(char *dir, size_t cap, const char *tdx_overrides)
{
    vt_test_emu_make(dir, cap, "tdx", tdx_overrides, vt_test_at(T0));
}

static vt_err verify_with(const char *trust_emu, const char *coll_emu, const vt_buf *q, const char *when,
                          vt_tdx_result *r, vt_error *e)
{
    char trust[1100], coll[1100];
    snprintf(trust, sizeof trust, "%s/trust/tdx_sgx_root_ca.pem", trust_emu);
    snprintf(coll, sizeof coll, "%s/collateral", coll_emu);
    vt_tdx_collateral c;
    assert_int_equal(vt_tdx_collateral_load_dir(coll, &c, e), VT_OK);
    vt_buf pem = {0};
    assert_int_equal(vt_file_read(trust, 1 << 20, &pem, e), VT_OK);
    STACK_OF(X509) *roots = NULL;
    assert_int_equal(vt_pem_certs(pem.ptr, pem.len, &roots, e), VT_OK);
    vt_buf_free(&pem);
    vt_tdx_verifier_opts o = {.roots = roots};
    vt_tdx_verifier *v;
    assert_int_equal(vt_tdx_verifier_new(&o, &c, &v, e), VT_OK);
    vt_err rc = vt_tdx_verify(v, q->ptr, q->len, vt_test_at(when), r, e);
    vt_tdx_verifier_free(v);
    sk_X509_pop_free(roots, X509_free);
    return rc;
}

static void quote(const char *dir, int version, uint8_t rd[64], vt_buf *out)
{
    vt_emu *emu;
    vt_error e;
    assert_int_equal(vt_emu_open(dir, &emu, &e), VT_OK);
    vt_err rc = vt_emu_tdx_quote(emu, rd, version, out, &e);
    if (rc != VT_OK) fail_msg("quote: %s", e.msg);
    vt_emu_free(emu);
}

static void test_roundtrip_v4_v5(void **state)
{
    (void)state;
    char dir[256];
    make_emu(dir, sizeof dir, "{\"mr_td\": \"aa00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000bb\"}");
    uint8_t rd[64];
    for (int i = 0; i < 64; i++) rd[i] = (uint8_t)(i * 3);
    for (int version = 4; version <= 5; version++) {
        vt_buf q = {0};
        quote(dir, version, rd, &q);
        vt_tdx_result *r = calloc(1, sizeof *r);
        vt_error e;
        vt_err rc = verify_with(dir, dir, &q, "2026-06-02T00:00:00Z", r, &e);
        if (rc != VT_OK) fail_msg("v%d: %s", version, e.msg);
        assert_int_equal(r->quote.version, version);
        assert_true(r->emulated);
        assert_int_equal(r->tcb_status, VT_TCB_UP_TO_DATE);
        assert_memory_equal(r->quote.td.report_data, rd, 64);
        assert_int_equal(r->quote.td.mr_td[0], 0xaa);
        assert_int_equal(r->quote.td.mr_td[47], 0xbb);
        assert_false(r->quote.td.td_attributes[0] & 1);
        assert_true(r->has_module_status);
        /* the real layout: signed region and PEM termination as Intel's quotes */
        assert_int_equal(r->quote.signed_region.len, version == 4 ? 632 : 702);
        assert_int_equal(r->quote.td.tdx15, version == 5);
        assert_int_equal(r->quote.pck_chain.ptr[r->quote.pck_chain.len - 1], 0);
        assert_int_equal(r->quote.trailing, 0);
        assert_int_equal(r->quote.qe_auth_data.len, 32);
        json_t *j = vt_tdx_result_json(r);
        assert_true(json_is_true(json_object_get(j, "emulated")));
        json_decref(j);
        free(r);
        vt_buf_free(&q);
    }
}

typedef struct status_case {
    const char *overrides;
    vt_err want_rc;
    vt_tcb_status want_status;
    const char *want_check; /* on failure */
} status_case;

static void test_tcb_variants(void **state)
{
    (void)state;
    static const status_case cases[] = {
        {"{\"tcb_status\": \"OutOfDate\", \"advisory_ids\": [\"INTEL-SA-00837\"]}", VT_OK, VT_TCB_OUT_OF_DATE, NULL},
        {"{\"tcb_status\": \"SWHardeningNeeded\"}", VT_OK, VT_TCB_SW_HARDENING_NEEDED, NULL},
        {"{\"tcb_status\": \"ConfigurationNeeded\", \"qe_tcb_status\": \"OutOfDate\"}", VT_OK,
         VT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED, NULL},
        {"{\"qe_tcb_status\": \"OutOfDate\"}", VT_OK, VT_TCB_OUT_OF_DATE, NULL},
        {"{\"tcb_status\": \"Revoked\"}", VT_E_REVOKED, 0, "tcb_status"},
        {"{\"pck_revoked\": true}", VT_E_REVOKED, 0, "pck_chain"},
        {"{\"debug\": true}", VT_OK, VT_TCB_UP_TO_DATE, NULL},
    };
    uint8_t rd[64] = {1};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[256];
        make_emu(dir, sizeof dir, cases[i].overrides);
        vt_buf q = {0};
        quote(dir, 0, rd, &q);
        vt_tdx_result *r = calloc(1, sizeof *r);
        vt_error e;
        vt_error_clear(&e);
        vt_err rc = verify_with(dir, dir, &q, "2026-06-02T00:00:00Z", r, &e);
        if (rc != cases[i].want_rc) fail_msg("case %zu (%s): rc %d (%s)", i, cases[i].overrides, rc, e.msg);
        if (rc == VT_OK) assert_int_equal(r->tcb_status, cases[i].want_status);
        else assert_string_equal(e.check, cases[i].want_check);
        if (i == 0) {
            assert_int_equal(r->n_advisory_ids, 1);
            assert_string_equal(r->advisory_ids[0], "INTEL-SA-00837");
        }
        if (i == 6) assert_true(r->quote.td.td_attributes[0] & 1);
        free(r);
        vt_buf_free(&q);
    }
}

/* A v5 quote with body type 2 (the TDX 1.0 body) verifies and has no TDX 1.5 fields. */
static void test_v5_body_type_2(void **state)
{
    (void)state;
    char dir[256];
    make_emu(dir, sizeof dir, "{\"quote_version\": 5, \"v5_body_type\": 2}");
    uint8_t rd[64] = {7};
    vt_buf q = {0};
    quote(dir, 0, rd, &q);
    vt_tdx_result *r = calloc(1, sizeof *r);
    vt_error e;
    vt_err rc = verify_with(dir, dir, &q, "2026-06-02T00:00:00Z", r, &e);
    if (rc != VT_OK) fail_msg("%s", e.msg);
    assert_int_equal(r->quote.version, 5);
    assert_int_equal(r->quote.body_type, VT_TDX_BODY_TD10);
    assert_int_equal(r->quote.body_size, 584);
    assert_false(r->quote.td.tdx15);
    assert_int_equal(r->quote.signed_region.len, 48 + 6 + 584);
    json_t *j = vt_tdx_result_json(r);
    assert_null(json_object_get(j, "mr_service_td"));
    assert_int_equal(json_integer_value(json_object_get(j, "body_type")), 2);
    json_decref(j);
    free(r);
    vt_buf_free(&q);
}

static void test_cross_platform_rejected(void **state)
{
    (void)state;
    char a[256], b[256];
    make_emu(a, sizeof a, NULL);
    make_emu(b, sizeof b, NULL);
    uint8_t rd[64] = {0};
    vt_buf q = {0};
    quote(a, 4, rd, &q);
    vt_tdx_result *r = calloc(1, sizeof *r);
    vt_error e;
    assert_int_equal(verify_with(a, a, &q, "2026-06-02T00:00:00Z", r, &e), VT_OK);
    assert_int_equal(verify_with(b, b, &q, "2026-06-02T00:00:00Z", r, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "pck_chain");
    /* its own trust, the other platform's collateral: the collateral does not verify */
    vt_err rc = verify_with(a, b, &q, "2026-06-02T00:00:00Z", r, &e);
    assert_int_not_equal(rc, VT_OK);
    /* the built-in (Intel) trust never accepts it */
    vt_tdx_collateral c;
    char coll[300];
    snprintf(coll, sizeof coll, "%s/collateral", a);
    assert_int_equal(vt_tdx_collateral_load_dir(coll, &c, &e), VT_OK);
    vt_tdx_verifier *v;
    assert_int_equal(vt_tdx_verifier_new(NULL, &c, &v, &e), VT_OK);
    assert_int_equal(vt_tdx_verify(v, q.ptr, q.len, vt_test_at("2026-06-02T00:00:00Z"), r, &e), VT_E_VERIFY);
    vt_tdx_verifier_free(v);
    free(r);
    vt_buf_free(&q);
}

static void test_collateral_window(void **state)
{
    (void)state;
    char dir[256];
    make_emu(dir, sizeof dir, "{\"collateral_days\": 10}");
    uint8_t rd[64] = {0};
    vt_buf q = {0};
    quote(dir, 4, rd, &q);
    vt_tdx_result *r = calloc(1, sizeof *r);
    vt_error e;
    assert_int_equal(verify_with(dir, dir, &q, "2026-06-11T11:59:59Z", r, &e), VT_OK);
    assert_int_equal(verify_with(dir, dir, &q, "2026-06-11T12:00:01Z", r, &e), VT_E_EXPIRED);
    free(r);
    vt_buf_free(&q);
}

/* One emulator, many quotes: the keys, chain and TD fields are read once, yet every quote carries
 * its own report data, version and body, and verifies. */
static void test_many_quotes_one_emu(void **state)
{
    (void)state;
    char dir[256];
    make_emu(dir, sizeof dir, NULL);
    vt_emu *emu;
    vt_error e;
    assert_int_equal(vt_emu_open(dir, &emu, &e), VT_OK);
    vt_buf first = {0};
    for (int i = 0; i < 4; i++) {
        uint8_t rd[64];
        memset(rd, 0x10 + i, sizeof rd);
        int version = 4 + i % 2;
        vt_buf q = {0};
        assert_int_equal(vt_emu_tdx_quote(emu, rd, version, &q, &e), VT_OK);
        vt_tdx_result *r = calloc(1, sizeof *r);
        if (verify_with(dir, dir, &q, "2026-06-02T00:00:00Z", r, &e) != VT_OK) fail_msg("quote %d: %s", i, e.msg);
        assert_int_equal(r->quote.version, version);
        assert_int_equal(r->quote.td.tdx15, version == 5);
        assert_memory_equal(r->quote.td.report_data, rd, 64);
        free(r);
        if (i == 0) first = q;
        else {
            if (version == 4) { /* same header and body but the report data, same key and chain */
                assert_int_equal(q.len, first.len);
                assert_memory_equal(q.ptr, first.ptr, 48 + 520);
                assert_memory_not_equal(q.ptr + 48 + 520, first.ptr + 48 + 520, 64);
                /* attestation key, QE report and its PCK signature: certified once, as Intel's */
                assert_memory_equal(q.ptr + 636 + 64, first.ptr + 636 + 64, 64 + 2 + 4 + 384 + 64);
                assert_memory_not_equal(q.ptr + 636, first.ptr + 636, 64); /* the quote signature */
            }
            vt_buf_free(&q);
        }
    }
    vt_buf_free(&first);
    vt_emu_free(emu);
}

/* A failed read of the emulator's keys is not kept: once the file is back, the same vt_emu quotes. */
static void test_key_read_retried(void **state)
{
    (void)state;
    char dir[256], key[300], moved[300];
    make_emu(dir, sizeof dir, NULL);
    snprintf(key, sizeof key, "%s/keys/tdx_attest.key.pem", dir);
    snprintf(moved, sizeof moved, "%s/keys/moved.pem", dir);
    vt_emu *emu;
    vt_error e;
    uint8_t rd[64] = {7};
    vt_buf q = {0};
    assert_int_equal(vt_emu_open(dir, &emu, &e), VT_OK);
    assert_int_equal(rename(key, moved), 0);
    assert_int_equal(vt_emu_tdx_quote(emu, rd, 4, &q, &e), VT_E_MISSING);
    assert_null(q.ptr);
    assert_int_equal(rename(moved, key), 0);
    assert_int_equal(vt_emu_tdx_quote(emu, rd, 4, &q, &e), VT_OK);
    vt_tdx_result *r = calloc(1, sizeof *r);
    assert_int_equal(verify_with(dir, dir, &q, "2026-06-02T00:00:00Z", r, &e), VT_OK);
    free(r);
    vt_buf_free(&q);
    vt_emu_free(emu);
}

#define SHARED_QUOTES 8

typedef struct shared_emu {
    vt_emu *emu;
    uint8_t seed;
    vt_buf q[SHARED_QUOTES];
    vt_err rc;
} shared_emu;

static void *quote_thread(void *ud)
{
    shared_emu *s = ud;
    uint8_t rd[64];
    vt_error e;
    for (int i = 0; i < SHARED_QUOTES && s->rc == VT_OK; i++) {
        memset(rd, s->seed + i, sizeof rd);
        s->rc = vt_emu_tdx_quote(s->emu, rd, 4, &s->q[i], &e);
    }
    return NULL;
}

/* Threads sharing one vt_emu (its first quote reads the keys under the emulator's lock; each
 * quote is signed with the attestation key's prepared signer, or with a fresh context when
 * another thread holds it): every quote verifies with its own report data. */
static void test_shared_emu_threads(void **state)
{
    (void)state;
    char dir[256];
    make_emu(dir, sizeof dir, NULL);
    vt_emu *emu;
    vt_error e;
    assert_int_equal(vt_emu_open(dir, &emu, &e), VT_OK);
    shared_emu s[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        s[i] = (shared_emu){.emu = emu, .seed = (uint8_t)(0xa0 + 0x10 * i)};
        assert_int_equal(pthread_create(&th[i], NULL, quote_thread, &s[i]), 0);
    }
    for (int i = 0; i < 3; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s[i].rc, VT_OK);
        for (int j = 0; j < SHARED_QUOTES; j++) {
            vt_tdx_result *r = calloc(1, sizeof *r);
            assert_int_equal(verify_with(dir, dir, &s[i].q[j], "2026-06-02T00:00:00Z", r, &e), VT_OK);
            assert_int_equal(r->quote.td.report_data[0], s[i].seed + j);
            free(r);
            vt_buf_free(&s[i].q[j]);
        }
    }
    vt_emu_free(emu);
}

static void test_bad_platform(void **state)
{
    (void)state;
    char dir[256];
    vt_test_tmpdir(dir, sizeof dir);
    vt_error e;
    assert_int_equal(vt_emu_init(dir, "[1,2]", vt_test_at(T0), &e), VT_E_INVALID);
    assert_int_equal(vt_emu_init(dir, "{\"tdx\": {\"fmspc\": \"zz\"}}", vt_test_at(T0), &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "fmspc"));
    assert_int_equal(vt_emu_init(dir, "{\"tdx\": {\"tcb_status\": \"Fine\"}}", vt_test_at(T0), &e), VT_E_INVALID);
    vt_emu *emu;
    assert_int_equal(vt_emu_open("/nonexistent/emu", &emu, &e), VT_E_MISSING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_v4_v5),  cmocka_unit_test(test_tcb_variants),
        cmocka_unit_test(test_v5_body_type_2),
        cmocka_unit_test(test_cross_platform_rejected), cmocka_unit_test(test_collateral_window),
        cmocka_unit_test(test_bad_platform), cmocka_unit_test(test_many_quotes_one_emu),
        cmocka_unit_test(test_key_read_retried), cmocka_unit_test(test_shared_emu_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
