/* NVIDIA verifier against a test PKI: a Hopper-format report built and signed here (root ->
 * intermediate -> leaf with the FWID extension), then offline OCSP revocation: good responses,
 * none, a revoked leaf, an expired response, a response signed by the wrong key, a missing one. */
#include <openssl/ocsp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/codec.h"
#include "veritee/crypto.h"
#include "veritee/nvidia.h"
#include "veritee/pki.h"
#include "veritee/x509.h"

#define T0 1700000000 /* certificates valid from here for ten years */
#define AT (T0 + 86400)

typedef struct pki {
    EVP_PKEY *root_key, *ica_key, *leaf_key;
    X509 *root, *ica, *leaf;
    vt_buf chain_pem, root_pem;
    uint8_t fwid[48];
    vt_buf report;
} pki;

static void add_pem(vt_buf *acc, X509 *c)
{
    vt_buf p = {0};
    vt_error e;
    assert_int_equal(vt_pki_cert_pem(c, &p, &e), VT_OK);
    uint8_t *n = realloc(acc->ptr, acc->len + p.len);
    assert_non_null(n);
    memcpy(n + acc->len, p.ptr, p.len);
    acc->ptr = n;
    acc->len += p.len;
    vt_buf_free(&p);
}

static void put(uint8_t *b, size_t *o, const void *p, size_t n)
{
    memcpy(b + *o, p, n);
    *o += n;
}

static void put16(uint8_t *b, size_t *o, unsigned v)
{
    b[(*o)++] = (uint8_t)v;
    b[(*o)++] = (uint8_t)(v >> 8);
}

/* A Hopper-format report: 2 blocks, driver/VBIOS/FWID TLVs, signed by the leaf. */
static void build_report(pki *k, const uint8_t nonce[32])
{
    uint8_t b[1024];
    size_t o = 0;
    const uint8_t req[] = {0x11, 0xE0, 0x01, 0xFF};
    put(b, &o, req, 4);
    put(b, &o, nonce, 32);
    b[o++] = 0;
    const uint8_t rsp[] = {0x11, 0x60, 0x00, 0x00, 2, 110, 0, 0};
    put(b, &o, rsp, 8);
    for (int i = 1; i <= 2; i++) {
        b[o++] = (uint8_t)i;
        b[o++] = 0x01;
        put16(b, &o, 51);
        b[o++] = 0x01;
        put16(b, &o, 48);
        memset(b + o, 0x10 * i, 48);
        o += 48;
    }
    memset(b + o, 0x5a, 32); /* responder nonce */
    o += 32;
    size_t l2_at = o;
    o += 2;
    put16(b, &o, 3), put16(b, &o, 10), put(b, &o, "550.90.07", 10);
    put16(b, &o, 6), put16(b, &o, 8), put(b, &o, "\x00\x9f\x00\x96\x01\x00\x00\x00", 8);
    put16(b, &o, 11), put16(b, &o, 1), b[o++] = 0x55;
    put16(b, &o, 20), put16(b, &o, 48), put(b, &o, k->fwid, 48);
    size_t l2 = o - l2_at - 2;
    b[l2_at] = (uint8_t)l2;
    b[l2_at + 1] = (uint8_t)(l2 >> 8);
    size_t sl = 0;
    vt_error e;
    assert_int_equal(vt_ecdsa_sign_raw(k->leaf_key, VT_SHA384, b, o, b + o, 96, &sl, &e), VT_OK);
    assert_int_equal(sl, 96);
    assert_int_equal(vt_buf_set(&k->report, b, o + 96, &e), VT_OK);
}

static void make_pki(pki *k)
{
    vt_error e;
    memset(k, 0, sizeof *k);
    for (int i = 0; i < 48; i++) k->fwid[i] = (uint8_t)(0xA0 + i);
    assert_int_equal(vt_pki_ec_key(VT_P384, &k->root_key, &e), VT_OK);
    assert_int_equal(vt_pki_ec_key(VT_P384, &k->ica_key, &e), VT_OK);
    assert_int_equal(vt_pki_ec_key(VT_P384, &k->leaf_key, &e), VT_OK);
    vt_pki_cert_spec rs = {.subject_cn = "test Device Identity CA", .not_before = T0,
                           .not_after = T0 + 315360000, .ca = true, .path_len = -1};
    assert_int_equal(vt_pki_cert(&rs, k->root_key, NULL, k->root_key, &k->root, &e), VT_OK);
    vt_pki_cert_spec is = rs;
    is.subject_cn = "test Provisioner ICA";
    assert_int_equal(vt_pki_cert(&is, k->ica_key, k->root, k->root_key, &k->ica, &e), VT_OK);
    /* the Hopper FWID rule: the last 48 bytes of extension 2.23.133.5.4.1 */
    uint8_t ext[50] = {0x04, 48};
    memcpy(ext + 2, k->fwid, 48);
    vt_pki_ext x = {.oid = "2.23.133.5.4.1", .der = ext, .der_len = sizeof ext};
    vt_pki_cert_spec ls = {.subject_cn = "test GSP FMC LF", .not_before = T0, .not_after = T0 + 315360000,
                           .path_len = -1, .exts = &x, .n_exts = 1};
    assert_int_equal(vt_pki_cert(&ls, k->leaf_key, k->ica, k->ica_key, &k->leaf, &e), VT_OK);
    add_pem(&k->chain_pem, k->leaf);
    add_pem(&k->chain_pem, k->ica);
    add_pem(&k->chain_pem, k->root);
    add_pem(&k->root_pem, k->root);
    uint8_t nonce[32];
    memset(nonce, 0x42, sizeof nonce);
    build_report(k, nonce);
}

static void free_pki(pki *k)
{
    EVP_PKEY_free(k->root_key), EVP_PKEY_free(k->ica_key), EVP_PKEY_free(k->leaf_key);
    X509_free(k->root), X509_free(k->ica), X509_free(k->leaf);
    vt_buf_free(&k->chain_pem), vt_buf_free(&k->root_pem), vt_buf_free(&k->report);
}

/* A DER OCSP response for `cert` with `status`, signed by signer/key, valid [from, to]. */
static void ocsp(X509 *cert, X509 *issuer, int status, X509 *signer, EVP_PKEY *key, vt_time from, vt_time to,
                 vt_buf *out)
{
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), cert, issuer);
    ASN1_TIME *tu = ASN1_TIME_set(NULL, (time_t)from), *nu = ASN1_TIME_set(NULL, (time_t)to),
              *rt = ASN1_TIME_set(NULL, (time_t)from);
    assert_non_null(OCSP_basic_add1_status(bs, id, status, status == V_OCSP_CERTSTATUS_REVOKED ? 1 : -1,
                                           status == V_OCSP_CERTSTATUS_REVOKED ? rt : NULL, tu, nu));
    assert_int_equal(OCSP_basic_sign(bs, signer, key, EVP_sha384(), NULL, 0), 1);
    OCSP_RESPONSE *r = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
    unsigned char *der = NULL;
    int n = i2d_OCSP_RESPONSE(r, &der);
    assert_true(n > 0);
    vt_error e;
    assert_int_equal(vt_buf_set(out, der, (size_t)n, &e), VT_OK);
    OPENSSL_free(der);
    OCSP_RESPONSE_free(r);
    OCSP_BASICRESP_free(bs);
    OCSP_CERTID_free(id);
    ASN1_TIME_free(tu), ASN1_TIME_free(nu), ASN1_TIME_free(rt);
}

static vt_err run(pki *k, const vt_buf *resp, size_t n, bool require, vt_checks *c, vt_error *e)
{
    vt_nvidia_trust t = {.device_roots_pem = k->root_pem.ptr, .device_roots_len = k->root_pem.len};
    vt_nvidia_verifier *v = NULL;
    assert_int_equal(vt_nvidia_verifier_new(&t, &v, e), VT_OK);
    vt_bytes b[4];
    for (size_t i = 0; i < n; i++) b[i] = (vt_bytes){resp[i].ptr, resp[i].len};
    uint8_t nonce[32];
    memset(nonce, 0x42, sizeof nonce);
    vt_nvidia_verify_opts o = {.at = AT, .nonce = nonce, .nonce_len = 32, .ocsp = n ? b : NULL, .n_ocsp = n,
                               .require_ocsp = require};
    memset(c, 0, sizeof *c);
    vt_error_clear(e);
    vt_err rc = vt_nvidia_verify_device(v, VT_NVIDIA_HOPPER, k->report.ptr, k->report.len, k->chain_pem.ptr,
                                        k->chain_pem.len, &o, NULL, c, e);
    vt_nvidia_verifier_free(v);
    return rc;
}

static void t_emulated_report(void **state)
{
    pki k;
    vt_checks c;
    vt_error e;
    make_pki(&k);
    vt_err rc = run(&k, NULL, 0, false, &c, &e);
    if (rc != VT_OK) fail_msg("%s: %s", e.check, e.msg);
    assert_int_equal(vt_checks_find(&c, "revocation")->status, VT_CHECK_SKIP);
    /* the built-in pin refuses the test root */
    vt_nvidia_verifier *v = NULL;
    assert_int_equal(vt_nvidia_verifier_new(NULL, &v, &e), VT_OK);
    vt_nvidia_verify_opts o = {.at = AT};
    memset(&c, 0, sizeof c);
    assert_int_equal(vt_nvidia_verify_device(v, VT_NVIDIA_HOPPER, k.report.ptr, k.report.len, k.chain_pem.ptr,
                                             k.chain_pem.len, &o, NULL, &c, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "root_pinned");
    vt_nvidia_verifier_free(v);
    free_pki(&k);
}

static void t_ocsp(void **state)
{
    pki k;
    vt_checks c;
    vt_error e;
    vt_buf r[4] = {{0}};
    make_pki(&k);
    const vt_time from = T0, to = AT + 3600;
    ocsp(k.leaf, k.ica, V_OCSP_CERTSTATUS_GOOD, k.ica, k.ica_key, from, to, &r[0]);
    ocsp(k.ica, k.root, V_OCSP_CERTSTATUS_GOOD, k.root, k.root_key, from, to, &r[1]);
    vt_err rc = run(&k, r, 2, true, &c, &e);
    if (rc != VT_OK) fail_msg("%s: %s", e.check, e.msg);
    assert_int_equal(vt_checks_find(&c, "revocation")->status, VT_CHECK_PASS);
    /* required but none given */
    assert_int_equal(run(&k, NULL, 0, true, &c, &e), VT_E_MISSING);
    assert_string_equal(e.check, "revocation");
    /* the intermediate's response missing */
    assert_int_equal(run(&k, r, 1, true, &c, &e), VT_E_MISSING);
    assert_non_null(strstr(e.msg, "test Provisioner ICA"));
    /* the leaf revoked */
    vt_buf_free(&r[0]);
    ocsp(k.leaf, k.ica, V_OCSP_CERTSTATUS_REVOKED, k.ica, k.ica_key, from, to, &r[0]);
    assert_int_equal(run(&k, r, 2, true, &c, &e), VT_E_REVOKED);
    assert_int_equal(vt_checks_find(&c, "revocation")->status, VT_CHECK_FAIL);
    /* a response whose nextUpdate passed before the instant */
    vt_buf_free(&r[0]);
    ocsp(k.leaf, k.ica, V_OCSP_CERTSTATUS_GOOD, k.ica, k.ica_key, from, AT - 1, &r[0]);
    assert_int_equal(run(&k, r, 2, true, &c, &e), VT_E_EXPIRED);
    /* signed by the root, which did not issue the leaf and delegated nothing */
    vt_buf_free(&r[0]);
    ocsp(k.leaf, k.ica, V_OCSP_CERTSTATUS_GOOD, k.root, k.root_key, from, to, &r[0]);
    assert_int_equal(run(&k, r, 2, true, &c, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "revocation");
    /* not an OCSP response */
    vt_buf_free(&r[0]);
    assert_int_equal(vt_buf_set(&r[0], "\x30\x03\x02\x01\x00", 5, &e), VT_OK);
    assert_int_equal(run(&k, r, 2, true, &c, &e), VT_E_INVALID);
    for (int i = 0; i < 4; i++) vt_buf_free(&r[i]);
    free_pki(&k);
}

/* A response dated after the instant (thisUpdate = AT + 30: the responder's clock ahead, or an
 * answer made just after a verification at "now" began) is current only within the allowed
 * clock skew; nextUpdate is never stretched. */
static void t_ocsp_clock_skew(void **state)
{
    pki k;
    vt_checks c = {0};
    vt_error e;
    vt_buf r[2] = {{0}};
    make_pki(&k);
    ocsp(k.leaf, k.ica, V_OCSP_CERTSTATUS_GOOD, k.ica, k.ica_key, AT + 30, AT + 3600, &r[0]);
    ocsp(k.ica, k.root, V_OCSP_CERTSTATUS_GOOD, k.root, k.root_key, T0, AT + 3600, &r[1]);
    vt_nvidia_trust t = {.device_roots_pem = k.root_pem.ptr, .device_roots_len = k.root_pem.len};
    vt_nvidia_verifier *v = NULL;
    assert_int_equal(vt_nvidia_verifier_new(&t, &v, &e), VT_OK);
    vt_bytes b[2] = {{r[0].ptr, r[0].len}, {r[1].ptr, r[1].len}};
    vt_nvidia_revocation rev = {.responses = b, .n_responses = 2, .require = true};
    vt_nvidia_verify_opts o = {.at = AT, .revocation = &rev};
    const long skews[] = {0, 29, 30, 60, -1};
    const vt_err want[] = {VT_E_EXPIRED, VT_E_EXPIRED, VT_OK, VT_OK, VT_E_ARG};
    for (size_t i = 0; i < sizeof skews / sizeof skews[0]; i++) {
        rev.clock_skew_seconds = skews[i];
        memset(&c, 0, sizeof c);
        vt_error_clear(&e);
        vt_err rc = vt_nvidia_verify_device(v, VT_NVIDIA_HOPPER, k.report.ptr, k.report.len, k.chain_pem.ptr,
                                            k.chain_pem.len, &o, NULL, &c, &e);
        if (rc != want[i]) fail_msg("skew %ld: %d (%s: %s), want %d", skews[i], rc, e.check, e.msg, want[i]);
        if (rc != VT_OK) assert_string_equal(e.check, "revocation");
    }
    /* the skew does not reach past nextUpdate */
    rev.clock_skew_seconds = 60;
    o.at = AT + 3601;
    memset(&c, 0, sizeof c);
    assert_int_equal(vt_nvidia_verify_device(v, VT_NVIDIA_HOPPER, k.report.ptr, k.report.len, k.chain_pem.ptr,
                                             k.chain_pem.len, &o, NULL, &c, &e), VT_E_EXPIRED);
    vt_nvidia_verifier_free(v);
    vt_buf_free(&r[0]), vt_buf_free(&r[1]);
    free_pki(&k);
}

/* One verifier, verifications at once (the key broker's request threads): each works on its own
 * copy of the cached chain while the others look it up and store it (run under ASan/UBSan). */
typedef struct par_job {
    pki *k;
    vt_nvidia_verifier *v;
    const vt_nvidia_verify_opts *o;
    int ok;
} par_job;

static void *par_main(void *arg)
{
    par_job *j = arg;
    for (int i = 0; i < 25; i++) {
        vt_checks *c = calloc(1, sizeof *c);
        vt_error e;
        vt_error_clear(&e);
        json_t *claims = NULL;
        if (c != NULL && vt_nvidia_verify_device(j->v, VT_NVIDIA_HOPPER, j->k->report.ptr, j->k->report.len,
                                                 j->k->chain_pem.ptr, j->k->chain_pem.len, j->o, &claims, c,
                                                 &e) == VT_OK &&
            json_string_value(json_object_get(claims, "ueid")) != NULL)
            j->ok++;
        json_decref(claims);
        free(c);
    }
    return NULL;
}

static void t_parallel(void **state)
{
    pki k;
    vt_error e;
    vt_buf r[2] = {{0}};
    make_pki(&k);
    ocsp(k.leaf, k.ica, V_OCSP_CERTSTATUS_GOOD, k.ica, k.ica_key, T0, AT + 3600, &r[0]);
    ocsp(k.ica, k.root, V_OCSP_CERTSTATUS_GOOD, k.root, k.root_key, T0, AT + 3600, &r[1]);
    vt_nvidia_trust t = {.device_roots_pem = k.root_pem.ptr, .device_roots_len = k.root_pem.len};
    vt_nvidia_verifier *v = NULL;
    assert_int_equal(vt_nvidia_verifier_new(&t, &v, &e), VT_OK);
    vt_bytes b[2] = {{r[0].ptr, r[0].len}, {r[1].ptr, r[1].len}};
    vt_nvidia_verify_opts o = {.at = AT, .ocsp = b, .n_ocsp = 2, .require_ocsp = true};
    par_job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (par_job){.k = &k, .v = v, .o = &o};
        assert_int_equal(pthread_create(&th[i], NULL, par_main, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].ok, 25);
    }
    vt_nvidia_verifier_free(v);
    vt_buf_free(&r[0]), vt_buf_free(&r[1]);
    free_pki(&k);
}

/* Revocation is checked on every verification, also when the chain comes from the cache. */
static void t_ocsp_cached_chain(void **state)
{
    pki k;
    vt_checks c = {0};
    vt_error e;
    vt_buf good[2] = {{0}}, bad[2] = {{0}};
    make_pki(&k);
    ocsp(k.leaf, k.ica, V_OCSP_CERTSTATUS_GOOD, k.ica, k.ica_key, T0, AT + 60, &good[0]);
    ocsp(k.ica, k.root, V_OCSP_CERTSTATUS_GOOD, k.root, k.root_key, T0, AT + 60, &good[1]);
    ocsp(k.leaf, k.ica, V_OCSP_CERTSTATUS_REVOKED, k.ica, k.ica_key, T0, AT + 60, &bad[0]);
    vt_nvidia_trust t = {.device_roots_pem = k.root_pem.ptr, .device_roots_len = k.root_pem.len};
    vt_nvidia_verifier *v = NULL;
    assert_int_equal(vt_nvidia_verifier_new(&t, &v, &e), VT_OK);
    vt_bytes g[2] = {{good[0].ptr, good[0].len}, {good[1].ptr, good[1].len}};
    vt_bytes b[2] = {{bad[0].ptr, bad[0].len}, {good[1].ptr, good[1].len}};
    vt_nvidia_verify_opts o = {.at = AT, .ocsp = g, .n_ocsp = 2, .require_ocsp = true};
    assert_int_equal(vt_nvidia_verify_device(v, VT_NVIDIA_HOPPER, k.report.ptr, k.report.len, k.chain_pem.ptr,
                                             k.chain_pem.len, &o, NULL, &c, &e), VT_OK);
    o.ocsp = b;
    memset(&c, 0, sizeof c);
    assert_int_equal(vt_nvidia_verify_device(v, VT_NVIDIA_HOPPER, k.report.ptr, k.report.len, k.chain_pem.ptr,
                                             k.chain_pem.len, &o, NULL, &c, &e), VT_E_REVOKED);
    assert_non_null(strstr(vt_checks_find(&c, "cert_chain")->detail, "cached"));
    /* after the responses' nextUpdate the good ones no longer do */
    o.ocsp = g;
    o.at = AT + 61;
    assert_int_equal(vt_nvidia_verify_device(v, VT_NVIDIA_HOPPER, k.report.ptr, k.report.len, k.chain_pem.ptr,
                                             k.chain_pem.len, &o, NULL, &c, &e), VT_E_EXPIRED);
    vt_nvidia_verifier_free(v);
    vt_buf_free(&good[0]), vt_buf_free(&good[1]), vt_buf_free(&bad[0]);
    free_pki(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_emulated_report),
        cmocka_unit_test(t_ocsp),
        cmocka_unit_test(t_ocsp_cached_chain),
        cmocka_unit_test(t_ocsp_clock_skew),
        cmocka_unit_test(t_parallel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
