/* TDX/SGX DCAP verification against the real vector sets (shared/vectors/tdx/README.md),
 * and hostile-input sweeps over quotes and collateral. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tdx/tdx_internal.h"
#include "testutil.h"
#include "veritee/codec.h"
#include "veritee/tdx.h"
#include "veritee/tdx_ccel.h"

typedef struct fixture {
    vt_buf quote;
    vt_tdx_verifier *v;
    vt_tdx_result res;
    vt_error err;
} fixture;

/* Load a set's quote and collateral; skip when the vectors are absent. */
static void load_set(fixture *f, const char *set, const char *quote_name, bool allow_missing_crl)
{
    char rel[256], dir[1024];
    memset(f, 0, sizeof *f);
    snprintf(rel, sizeof rel, "tdx/%s/%s", set, quote_name);
    vt_test_load(rel, &f->quote);
    snprintf(rel, sizeof rel, "tdx/%s", set);
    assert_true(vt_test_vector_path(rel, dir, sizeof dir));
    vt_tdx_collateral c;
    assert_int_equal(vt_tdx_collateral_load_dir(dir, &c, &f->err), VT_OK);
    vt_tdx_verifier_opts o = {.allow_missing_pck_crl = allow_missing_crl};
    assert_int_equal(vt_tdx_verifier_new(&o, &c, &f->v, &f->err), VT_OK);
}

static void free_set(fixture *f)
{
    vt_tdx_verifier_free(f->v);
    vt_buf_free(&f->quote);
}

static vt_err run(fixture *f, const char *at)
{
    vt_error_clear(&f->err);
    return vt_tdx_verify(f->v, f->quote.ptr, f->quote.len, vt_test_at(at), &f->res, &f->err);
}

static void assert_hex(const uint8_t *p, size_t n, const char *hex)
{
    char *h = vt_hex_dup(p, n);
    assert_string_equal(h, hex);
    free(h);
}

static void assert_check(const vt_tdx_result *r, const char *name, vt_check_status st)
{
    const vt_check *c = vt_checks_find(&r->checks, name);
    if (c == NULL) fail_msg("check %s not recorded", name);
    assert_int_equal(c->status, st);
}

static void test_v4_uptodate(void **state)
{
    (void)state;
    fixture f;
    load_set(&f, "dcapqvl_tdx_v4_b0c06f", "quote.bin", false);
    assert_int_equal(run(&f, "2025-07-19T10:00:34Z"), VT_OK);
    const vt_tdx_result *r = &f.res;
    assert_int_equal(r->quote.version, 4);
    assert_int_equal(r->tcb_status, VT_TCB_UP_TO_DATE);
    assert_int_equal(r->n_advisory_ids, 0);
    assert_true(r->has_module_status);
    assert_int_equal(r->module_status, VT_TCB_UP_TO_DATE);
    assert_true(r->revocation_checked);
    const vt_td_report *td = &r->quote.td;
    assert_hex(td->tee_tcb_svn, 16, "06010300000000000000000000000000");
    assert_hex(td->mr_td, 48, "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7");
    assert_hex(td->rtmr[0], 48, "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0");
    assert_hex(td->rtmr[2], 48, "d833feef2cd945148aa38ead2c53e9b7f138190aaaebfc551dccd829fc207aa3ba80b70870d7330733642e01d48c3132");
    assert_true(vt_bytes_is_zero(td->rtmr[3], 48));
    assert_hex(td->report_data, 64, "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20");
    assert_hex(td->td_attributes, 8, "0000001000000000");
    assert_hex(td->xfam, 8, "e702060000000000");
    assert_hex(r->pck.fmspc, 6, "b0c06f000000");
    assert_int_equal(r->pck.pce_svn, 11);
    assert_int_equal(r->pck.sgx_type, 1);
    assert_hex(r->pck.comp_svn, 8, "0303020204010005");
    assert_hex(r->quote.qe_report.mr_signer, 32, "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5");
    assert_int_equal(r->quote.trailing, 70);
    char t[21];
    vt_time_format(r->collateral_expiry, t);
    assert_string_equal(t, "2025-07-19T10:00:35Z"); /* the PCK CRL's nextUpdate */
    static const char *names[] = {"parse", "header", "quote_signature", "pck_chain", "qe_report_signature",
                                  "qe_report_binding", "tcb_signing_chain", "qe_identity_signature",
                                  "tcb_info_signature", "collateral_freshness", "qe_identity", "tcb_info",
                                  "tcb_level", "tdx_module", "tcb_status"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) assert_check(r, names[i], VT_CHECK_PASS);
    /* the same verifier again: served from the chain cache, same verdict */
    assert_int_equal(run(&f, "2025-07-19T10:00:34Z"), VT_OK);
    assert_int_equal(f.res.tcb_status, VT_TCB_UP_TO_DATE);
    /* the cache is keyed by the chain's exact bytes: one base64 character of the PCK leaf
     * changed (same length) is not served from it and fails its own verification */
    size_t off = (size_t)(f.res.quote.pck_chain.ptr - f.quote.ptr) + f.res.quote.pck_chain.len / 6;
    while (!((f.quote.ptr[off] >= 'C' && f.quote.ptr[off] <= 'Z') || (f.quote.ptr[off] >= 'c' && f.quote.ptr[off] <= 'z'))) off++;
    uint8_t old = f.quote.ptr[off];
    f.quote.ptr[off] = (uint8_t)(old - 1);
    assert_int_not_equal(run(&f, "2025-07-19T10:00:34Z"), VT_OK);
    assert_string_equal(f.err.check, "pck_chain");
    f.quote.ptr[off] = old;
    assert_int_equal(run(&f, "2025-07-19T10:00:34Z"), VT_OK);
    /* ... nor outside the window it was verified for (the PCK CRL's nextUpdate passed) */
    assert_int_not_equal(run(&f, "2025-07-19T10:00:36Z"), VT_OK);
    free_set(&f);
}

static void test_sgx_v3_config_sw_hardening(void **state)
{
    (void)state;
    fixture f;
    load_set(&f, "dcapqvl_sgx_v3_00a067", "quote.bin", false);
    assert_int_equal(run(&f, "2025-07-19T10:01:17Z"), VT_OK);
    const vt_tdx_result *r = &f.res;
    assert_false(vt_tdx_quote_is_td(&r->quote));
    assert_int_equal(r->tcb_status, VT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    assert_int_equal(r->n_advisory_ids, 2);
    assert_string_equal(r->advisory_ids[0], "INTEL-SA-00289");
    assert_string_equal(r->advisory_ids[1], "INTEL-SA-00615");
    assert_hex(r->quote.enclave.mr_enclave, 32, "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb");
    assert_hex(r->quote.enclave.mr_signer, 32, "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6");
    assert_memory_equal(r->quote.enclave.report_data, "Hello, world!", 13);
    assert_true(vt_bytes_is_zero(r->quote.enclave.report_data + 13, 51));
    assert_hex(r->quote.enclave.attributes, 16, "0500000000000000e700000000000000");
    assert_string_equal(r->pck_issuer, "Intel SGX PCK Processor CA");
    assert_int_equal(r->pck.pce_svn, 13);
    assert_int_equal(r->qe_status, VT_TCB_UP_TO_DATE);
    assert_null(vt_checks_find(&r->checks, "tdx_module"));
    free_set(&f);
}

static void test_v5_no_tcb_level(void **state)
{
    (void)state;
    fixture f;
    load_set(&f, "dcapqvl_tdx_v5_90c06f_no_tcb_level", "quote.bin", false);
    assert_int_equal(run(&f, "2026-03-20T10:41:14Z"), VT_E_NO_TCB);
    assert_string_equal(f.err.check, "tcb_level");
    assert_check(&f.res, "tcb_level", VT_CHECK_FAIL);
    assert_check(&f.res, "quote_signature", VT_CHECK_PASS);
    assert_check(&f.res, "pck_chain", VT_CHECK_PASS);
    assert_int_equal(f.res.quote.body_type, VT_TDX_BODY_TD15);
    assert_hex(f.res.quote.td.tee_tcb_svn2, 16, "0d010300000000000000000000000000");
    assert_hex(f.res.quote.td.mr_td, 48, "273828c46252fcbdd8ad2dd907130222b03466d52a2911d70c1a5950895d6bd1ae451d382d5a9b1b4c0ed0e5ae9a3dbd");
    free_set(&f);
}

static void test_pcs2023_debug_td(void **state)
{
    (void)state;
    fixture f;
    load_set(&f, "pcs2023_tdx_v4_50806f", "quote_trustee_4.bin", false);
    assert_int_equal(run(&f, "2023-07-01T01:00:00Z"), VT_OK);
    assert_int_equal(f.res.tcb_status, VT_TCB_UP_TO_DATE);
    assert_true(f.res.quote.td.td_attributes[0] & 1); /* DEBUG */
    assert_hex(f.res.quote.td.mr_td, 48, "705ee9381b8633a9fbe532b52345e8433343d2868959f57889d84ca377c395b689cac1599ccea1b7d420483a9ce5f031");
    assert_hex(f.res.quote.user_data, 20, "d099bfec0a477aa85a605dceabf2b10800000000");
    assert_true(f.res.pck.has_platform_instance_id);
    assert_hex(f.res.pck.platform_instance_id, 16, "021ac64d355ba904e2d5948d228d5482");
    assert_false(f.res.has_module_status); /* TEE_TCB_SVN[1] = 0 and no module identities */
    json_t *j = vt_tdx_result_json(&f.res);
    assert_true(json_is_true(json_object_get(j, "debug")));
    assert_string_equal(json_string_value(json_object_get(j, "tcb_status")), "UpToDate");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "rtmr"), 1)),
                        "559cfcf42716ed6c40a48a73d5acb7da255435012f0a9f00fbe8c1c57612ede486a5684c4c9ff3ddf52315fcdca3a596");
    json_decref(j);
    /* GTG expects the collateral to be rejected as expired in 2053 */
    assert_int_equal(run(&f, "2053-07-01T01:00:00Z"), VT_E_EXPIRED);
    free_set(&f);
}

static void test_pcs2023_spr_no_tcb_level(void **state)
{
    (void)state;
    fixture f;
    load_set(&f, "pcs2023_tdx_v4_50806f", "quote_go_tdx_guest_spr_e4.bin", false);
    assert_int_equal(run(&f, "2023-07-01T01:00:00Z"), VT_E_NO_TCB);
    assert_check(&f.res, "qe_identity", VT_CHECK_PASS);
    assert_int_equal(f.res.quote.trailing, 39); /* deliberate ASCII junk, not covered */
    assert_hex(f.res.pck.ppid, 16, "089ddfdb9c0359c82a3bc7719239574e");
    free_set(&f);
}

/* go-tdx-guest's negative table: flip one byte, verification fails at the named check. */
static void test_spr_negative_table(void **state)
{
    (void)state;
    static const struct {
        size_t off;
        uint8_t val;
        const char *check;
    } cases[] = {
        {0x0000, 3, "header"},            /* version 3 with TEE type TDX */
        {0x0278, 0x10, "parse"},          /* signature data length */
        {0x1343, 0x32, "pck_chain"},      /* PEM corrupted */
        {0x1329, 0x32, "pck_chain"},      /* root certificate */
        {0x0F5F, 0x32, "pck_chain"},      /* intermediate */
        {0x0B77, 0x32, "pck_chain"},      /* PCK leaf */
        {0x001E, 0x32, "quote_signature"},/* header byte */
        {0x003C, 0x32, "quote_signature"},/* TD body byte */
    };
    fixture f;
    load_set(&f, "pcs2023_tdx_v4_50806f", "quote_go_tdx_guest_spr_e4.bin", false);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t old = f.quote.ptr[cases[i].off];
        f.quote.ptr[cases[i].off] = cases[i].val;
        vt_err rc = run(&f, "2023-07-01T01:00:00Z");
        f.quote.ptr[cases[i].off] = old;
        if (rc == VT_OK) fail_msg("flip at 0x%zx accepted", cases[i].off);
        const char *got = f.err.check;
        if (strcmp(cases[i].check, "header") == 0 && strcmp(got, "parse") == 0) got = "header";
        if (strcmp(got, cases[i].check) != 0)
            fail_msg("flip at 0x%zx failed at %s (%s), expected %s", cases[i].off, got, f.err.msg, cases[i].check);
    }
    free_set(&f);
}

static void test_pcs2026_v5_uptodate(void **state)
{
    (void)state;
    fixture f;
    load_set(&f, "pcs2026_tdx_v5_90c06f", "quote.bin", false);
    assert_int_equal(run(&f, "2026-02-25T00:00:00Z"), VT_OK);
    const vt_tdx_result *r = &f.res;
    assert_int_equal(r->quote.version, 5);
    assert_int_equal(r->tcb_status, VT_TCB_UP_TO_DATE);
    assert_true(r->quote.td.tdx15);
    assert_hex(r->quote.td.tee_tcb_svn, 16, "0b010400000000000000000000000000");
    assert_hex(r->quote.td.tee_tcb_svn2, 16, "0d010400000000000000000000000000");
    assert_true(vt_bytes_is_zero(r->quote.td.mr_service_td, 48));
    assert_hex(r->quote.td.mr_td, 48, "7348651a34b2d2d3462822e3a750ec6110125f36757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f750c3bc8f876");
    assert_hex(r->pck.comp_svn, 8, "0404020204010005");
    free_set(&f);
}

static void test_outofdate_missing_pck_crl(void **state)
{
    (void)state;
    fixture f;
    load_set(&f, "trustee_tdx_v4_00a06d_outofdate", "quote.bin", false);
    /* fail closed: no PCK CRL is missing collateral */
    assert_int_equal(run(&f, "2025-11-01T00:00:00Z"), VT_E_MISSING);
    assert_string_equal(f.err.check, "pck_chain");
    free_set(&f);
    load_set(&f, "trustee_tdx_v4_00a06d_outofdate", "quote.bin", true);
    assert_int_equal(run(&f, "2025-11-01T00:00:00Z"), VT_OK);
    assert_int_equal(f.res.tcb_status, VT_TCB_OUT_OF_DATE);
    assert_false(f.res.revocation_checked);
    assert_check(&f.res, "pck_revocation", VT_CHECK_SKIP);
    assert_int_equal(f.res.module_status, VT_TCB_UP_TO_DATE);
    assert_int_equal(f.res.pck.sgx_type, 2);
    assert_true(f.res.pck.has_configuration);
    assert_int_equal(f.res.n_advisory_ids, 0);
    free_set(&f);
}

/* The library's one validity rule (vt_valid_at): nextUpdate and notAfter are the last valid
 * seconds, issueDate/thisUpdate the first; one second outside is rejected. Real collateral. */
static void test_expiry_boundary(void **state)
{
    (void)state;
    fixture f;
    load_set(&f, "dcapqvl_sgx_v3_00a067", "quote.bin", false);
    assert_int_equal(run(&f, "2025-07-19T10:01:17Z"), VT_OK);
    assert_int_equal(run(&f, "2025-07-19T10:01:18Z"), VT_OK); /* QE Identity nextUpdate itself */
    assert_int_equal(run(&f, "2025-07-19T10:01:19Z"), VT_E_EXPIRED);
    assert_string_equal(f.err.check, "collateral_freshness");
    assert_non_null(strstr(f.err.msg, "QE Identity expired on 2025-07-19T10:01:18Z"));
    /* TCB Info issueDate 2025-06-19T10:56:11Z: valid from that second */
    assert_int_equal(run(&f, "2025-06-19T10:56:10Z"), VT_E_EXPIRED);
    assert_non_null(strstr(f.err.msg, "TCB Info is not valid before 2025-06-19T10:56:11Z"));
    assert_int_equal(run(&f, "2025-06-19T10:56:11Z"), VT_OK);
    free_set(&f);
    /* PCK CRL nextUpdate 2025-07-19T10:00:35Z */
    load_set(&f, "dcapqvl_tdx_v4_b0c06f", "quote.bin", false);
    assert_int_equal(run(&f, "2025-07-19T10:00:34Z"), VT_OK);
    assert_int_equal(run(&f, "2025-07-19T10:00:35Z"), VT_OK);
    assert_int_equal(run(&f, "2025-07-19T10:00:36Z"), VT_E_EXPIRED);
    assert_non_null(strstr(f.err.msg, "expired on 2025-07-19T10:00:35Z"));
    free_set(&f);
}

static void test_missing_collateral(void **state)
{
    (void)state;
    vt_buf q = {0};
    vt_test_load("tdx/dcapqvl_tdx_v4_b0c06f/quote.bin", &q);
    vt_tdx_verifier *v;
    vt_error e;
    vt_tdx_result *r = calloc(1, sizeof *r);
    vt_tdx_collateral none = {0};
    assert_int_equal(vt_tdx_verifier_new(NULL, &none, &v, &e), VT_OK);
    assert_int_equal(vt_tdx_verify(v, q.ptr, q.len, vt_test_at("2025-07-19T10:00:34Z"), r, &e), VT_E_MISSING);
    assert_non_null(strstr(e.msg, "root_ca_crl"));
    vt_tdx_verifier_free(v);
    free(r);
    vt_buf_free(&q);
}

static void test_wrong_root(void **state)
{
    (void)state;
    fixture f;
    load_set(&f, "dcapqvl_tdx_v4_b0c06f", "quote.bin", false);
    vt_tdx_verifier_free(f.v);
    /* trust only the TCB signing certificate, which is not a root of the PCK chain */
    char dir[1024];
    assert_true(vt_test_vector_path("tdx/dcapqvl_tdx_v4_b0c06f", dir, sizeof dir));
    vt_tdx_collateral c;
    assert_int_equal(vt_tdx_collateral_load_dir(dir, &c, &f.err), VT_OK);
    STACK_OF(X509) *roots = sk_X509_new_null();
    X509 *tcb = sk_X509_value(c.tcb_signing_chain, 0);
    X509_up_ref(tcb);
    sk_X509_push(roots, tcb);
    vt_tdx_verifier_opts o = {.roots = roots};
    assert_int_equal(vt_tdx_verifier_new(&o, &c, &f.v, &f.err), VT_OK);
    assert_int_equal(run(&f, "2025-07-19T10:00:34Z"), VT_E_VERIFY);
    assert_string_equal(f.err.check, "pck_chain");
    assert_non_null(strstr(f.err.msg, "trusted root"));
    sk_X509_pop_free(roots, X509_free);
    free_set(&f);
}

static void test_ccel_replay(void **state)
{
    (void)state;
    vt_buf log = {0}, tbl = {0}, qb = {0};
    vt_test_load("tdx/ccel_cos113/ccel_event_log.bin", &log);
    vt_test_load("tdx/ccel_cos113/ccel_acpi_table.bin", &tbl);
    vt_test_load("tdx/ccel_cos113/quote.bin", &qb);
    vt_error e;
    vt_tdx_ccel_table t;
    assert_int_equal(vt_tdx_ccel_table_parse(tbl.ptr, tbl.len, &t, &e), VT_OK);
    assert_int_equal(t.cc_type, 2);
    assert_int_equal(t.log_area_min_len, 0x40000);
    assert_int_equal(t.log_area_start, 0xbedbf000);
    uint8_t rtmr[4][48];
    size_t n = 0;
    assert_int_equal(vt_tdx_ccel_replay(log.ptr, log.len, rtmr, &n, &e), VT_OK);
    assert_int_equal(n, 44); /* the Spec ID event + 43 events */
    vt_tdx_quote q;
    assert_int_equal(vt_tdx_quote_parse(qb.ptr, qb.len, &q, &e), VT_OK);
    assert_int_equal(q.trailing, 3065);
    for (int i = 0; i < 4; i++) assert_memory_equal(rtmr[i], q.td.rtmr[i], 48);
    assert_hex(rtmr[0], 48, "3fa2f61f395b7f5feefb4ec2df61297f109ad8abcd6410c1b7df60f21f37b19297fc35e544039c7e1edece752afd17f6");
    /* every truncation of the log's events is rejected or replays to different values */
    for (size_t cut = 0; cut < 18101; cut += 97) {
        vt_err rc = vt_tdx_ccel_replay(log.ptr, cut, rtmr, &n, &e);
        if (rc == VT_OK) assert_true(memcmp(rtmr, q.td.rtmr, sizeof rtmr) != 0 || cut >= 18000);
    }
    vt_buf_free(&log);
    vt_buf_free(&tbl);
    vt_buf_free(&qb);
}

/* Truncation at every offset of the quote: a precise parse error, never a crash. */
static void test_truncation_sweep(void **state)
{
    (void)state;
    vt_buf q = {0};
    vt_test_load("tdx/dcapqvl_tdx_v4_b0c06f/quote.bin", &q);
    size_t end = q.len - 70; /* the signature data ends here */
    for (size_t n = 0; n < end; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, q.ptr, n);
        vt_tdx_quote p;
        vt_error e;
        vt_error_clear(&e);
        vt_err rc = vt_tdx_quote_parse(copy, n, &p, &e);
        free(copy);
        if (rc == VT_OK) fail_msg("truncated quote of %zu bytes parsed", n);
        assert_true(rc == VT_E_INVALID || rc == VT_E_UNSUPPORTED);
        assert_true(strlen(e.msg) > 10);
    }
    vt_buf_free(&q);
}

/* Every byte of the covered quote flipped: verification fails (the trailing zero bytes are
 * not covered by anything, and the PEM's final NUL is not part of any certificate). */
static void test_flip_sweep(void **state)
{
    (void)state;
    fixture f;
    load_set(&f, "dcapqvl_tdx_v4_b0c06f", "quote.bin", false);
    size_t end = f.quote.len - 70 - 1;
    size_t accepted = 0;
    for (size_t i = 0; i < end; i++) {
        uint8_t old = f.quote.ptr[i];
        f.quote.ptr[i] ^= 0x01;
        vt_err rc = run(&f, "2025-07-19T10:00:34Z");
        f.quote.ptr[i] = old;
        if (rc == VT_OK) {
            /* PEM text outside the base64 (header lines, newlines) may change harmlessly:
             * the certificates are still the same bytes. Allow only those. */
            const uint8_t *pem = f.res.quote.pck_chain.ptr;
            if (f.quote.ptr + i >= pem && f.quote.ptr + i < pem + f.res.quote.pck_chain.len) {
                accepted++;
                printf("accepted flip at %zu (0x%02x)\n", i, old);
                continue;
            }
            fail_msg("flip at offset %zu accepted", i);
        }
    }
    /* PEM armour the decoder tolerates (a dash of a label): a handful at most */
    assert_true(accepted <= 8);
    assert_int_equal(run(&f, "2025-07-19T10:00:34Z"), VT_OK);
    free_set(&f);
}

/* Length fields set to extremes. */
static void test_length_extremes(void **state)
{
    (void)state;
    vt_buf q = {0};
    vt_test_load("tdx/dcapqvl_tdx_v4_b0c06f/quote.bin", &q);
    static const struct {
        size_t off, width;
    } fields[] = {{632, 4}, {764 + 2, 4}, {770 + 384 + 64, 2}, {1252 + 2, 4}};
    static const uint32_t values[] = {0, 1, 0x7fffffff, 0xffffffff, 0xffff};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        for (size_t k = 0; k < sizeof values / sizeof values[0]; k++) {
            uint8_t saved[4];
            memcpy(saved, q.ptr + fields[i].off, fields[i].width);
            for (size_t b = 0; b < fields[i].width; b++) q.ptr[fields[i].off + b] = (uint8_t)(values[k] >> (8 * b));
            vt_tdx_quote p;
            vt_error e;
            vt_err rc = vt_tdx_quote_parse(q.ptr, q.len, &p, &e);
            memcpy(q.ptr + fields[i].off, saved, fields[i].width);
            if (rc == VT_OK) fail_msg("length field at %zu = 0x%x accepted", fields[i].off, values[k]);
        }
    vt_tdx_quote p;
    assert_int_equal(vt_tdx_quote_parse(q.ptr, q.len, &p, NULL), VT_OK);
    vt_buf_free(&q);
}

/* Collateral: a flipped byte inside the signed TCB Info body fails the signature; truncations
 * fail to parse. */
static void test_collateral_mutation(void **state)
{
    (void)state;
    vt_buf t = {0};
    vt_test_load("tdx/dcapqvl_tdx_v4_b0c06f/tcbinfo_b0c06f000000.json", &t);
    for (size_t n = 0; n + 1 < t.len; n += 7) {
        vt_tcb_info ti;
        vt_error e;
        char *copy = malloc(n + 1);
        memcpy(copy, t.ptr, n);
        copy[n] = 0;
        vt_err rc = vt_tcb_info_parse(copy, n, &ti, &e);
        free(copy);
        if (rc == VT_OK) fail_msg("truncated TCB Info of %zu bytes parsed", n);
        assert_int_not_equal(e.msg[0], 0);
    }
    vt_buf_free(&t);

    fixture f;
    load_set(&f, "dcapqvl_tdx_v4_b0c06f", "quote.bin", false);
    vt_tdx_verifier_free(f.v);
    char dir[1024];
    assert_true(vt_test_vector_path("tdx/dcapqvl_tdx_v4_b0c06f", dir, sizeof dir));
    vt_tdx_collateral c;
    assert_int_equal(vt_tdx_collateral_load_dir(dir, &c, &f.err), VT_OK);
    /* change one digit of an SVN inside the signed body: the signature no longer verifies */
    uint8_t *body = (uint8_t *)c.tcb_infos[0].signed_body.ptr;
    char *svn = strstr((char *)body, "\"pcesvn\":");
    assert_non_null(svn);
    svn[9] = svn[9] == '1' ? '2' : '1';
    assert_int_equal(vt_tdx_verifier_new(NULL, &c, &f.v, &f.err), VT_OK);
    assert_int_equal(run(&f, "2025-07-19T10:00:34Z"), VT_E_VERIFY);
    assert_string_equal(f.err.check, "tcb_info_signature");
    free_set(&f);
}

/* TCB Infos are kept as many as loaded (up to VT_TDX_MAX_TCB_INFOS): a directory holding the
 * TCB Infos of four platforms still verifies the v4 quote with its own FMSPC's, and a ninth
 * TCB Info is refused (nothing leaks on that path). */
static void test_collateral_many_tcb_infos(void **state)
{
    (void)state;
    static const char *const files[] = {"pck_crl.der", "qe_identity.json", "root_ca_crl.der",
                                        "tcb_signing_chain.pem", "tcbinfo_b0c06f000000.json"};
    static const char *const others[] = {"dcapqvl_sgx_v3_00a067/tcbinfo_00a067110000.json",
                                         "pcs2023_tdx_v4_50806f/tcbinfo_50806f000000.json",
                                         "pcs2026_tdx_v5_90c06f/tcbinfo_90c06f000000.json"};
    char src[1024], tmp[512], from[1400], to[1400];
    if (!vt_test_vector_path("tdx", src, sizeof src)) skip();
    vt_test_tmpdir(tmp, sizeof tmp);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(from, sizeof from, "%s/dcapqvl_tdx_v4_b0c06f/%s", src, files[i]);
        snprintf(to, sizeof to, "%s/%s", tmp, files[i]);
        assert_int_equal(symlink(from, to), 0);
    }
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        snprintf(from, sizeof from, "%s/%s", src, others[i]);
        snprintf(to, sizeof to, "%s/%s", tmp, strchr(others[i], '/') + 1);
        assert_int_equal(symlink(from, to), 0);
    }
    fixture f;
    memset(&f, 0, sizeof f);
    vt_test_load("tdx/dcapqvl_tdx_v4_b0c06f/quote.bin", &f.quote);
    vt_tdx_collateral c;
    assert_int_equal(vt_tdx_collateral_load_dir(tmp, &c, &f.err), VT_OK);
    assert_int_equal(c.n_tcb_infos, 4);
    assert_int_equal(vt_tdx_verifier_new(NULL, &c, &f.v, &f.err), VT_OK);
    assert_null(c.tcb_infos); /* moved into the verifier */
    assert_int_equal(run(&f, "2025-07-19T10:00:34Z"), VT_OK);
    assert_int_equal(f.res.tcb_status, VT_TCB_UP_TO_DATE);
    assert_check(&f.res, "tcb_info", VT_CHECK_PASS);
    free_set(&f);
    /* five more copies of one TCB Info: nine in all */
    for (int i = 0; i < 5; i++) {
        snprintf(from, sizeof from, "%s/dcapqvl_tdx_v4_b0c06f/tcbinfo_b0c06f000000.json", src);
        snprintf(to, sizeof to, "%s/tcbinfo_copy%d.json", tmp, i);
        assert_int_equal(symlink(from, to), 0);
    }
    vt_error_clear(&f.err);
    assert_int_equal(vt_tdx_collateral_load_dir(tmp, &c, &f.err), VT_E_INVALID);
    assert_non_null(strstr(f.err.msg, "too many TCB Info files"));
    assert_null(c.tcb_infos);
    assert_int_equal(c.n_tcb_infos, 0);
}

static void test_status_converge(void **state)
{
    (void)state;
    assert_int_equal(tdx_converge(VT_TCB_UP_TO_DATE, VT_TCB_OUT_OF_DATE), VT_TCB_OUT_OF_DATE);
    assert_int_equal(tdx_converge(VT_TCB_SW_HARDENING_NEEDED, VT_TCB_OUT_OF_DATE), VT_TCB_OUT_OF_DATE);
    assert_int_equal(tdx_converge(VT_TCB_CONFIGURATION_NEEDED, VT_TCB_OUT_OF_DATE),
                     VT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED);
    assert_int_equal(tdx_converge(VT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED, VT_TCB_OUT_OF_DATE),
                     VT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED);
    assert_int_equal(tdx_converge(VT_TCB_UP_TO_DATE, VT_TCB_REVOKED), VT_TCB_REVOKED);
    assert_int_equal(tdx_converge(VT_TCB_SW_HARDENING_NEEDED, VT_TCB_UP_TO_DATE), VT_TCB_SW_HARDENING_NEEDED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v4_uptodate),
        cmocka_unit_test(test_sgx_v3_config_sw_hardening),
        cmocka_unit_test(test_v5_no_tcb_level),
        cmocka_unit_test(test_pcs2023_debug_td),
        cmocka_unit_test(test_pcs2023_spr_no_tcb_level),
        cmocka_unit_test(test_spr_negative_table),
        cmocka_unit_test(test_pcs2026_v5_uptodate),
        cmocka_unit_test(test_outofdate_missing_pck_crl),
        cmocka_unit_test(test_expiry_boundary),
        cmocka_unit_test(test_missing_collateral),
        cmocka_unit_test(test_wrong_root),
        cmocka_unit_test(test_ccel_replay),
        cmocka_unit_test(test_truncation_sweep),
        cmocka_unit_test(test_flip_sweep),
        cmocka_unit_test(test_length_extremes),
        cmocka_unit_test(test_collateral_mutation),
        cmocka_unit_test(test_status_converge),
        cmocka_unit_test(test_collateral_many_tcb_infos),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
