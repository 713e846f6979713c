/* The TDX trust core against inconsistent and hostile collateral (issue 13): the expected
 * REPORTDATA is enforced; only the Intel SGX TCB Signing certificate signs collateral; a TDX
 * module major version the TCB Info cannot describe is a mismatch; inconsistent inputs are
 * rejections (VT_E_VERIFY), only absent ones missing (VT_E_MISSING). Emulated PKI, collateral
 * re-signed here with the emulator's keys. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdx/tdx_internal.h"
#include "testutil.h"
#include "veritee/codec.h"
#include "veritee/crypto.h"
#include "veritee/emulate.h"
#include "veritee/fileio.h"
#include "veritee/json.h"
#include "veritee/pki.h"
#include "veritee/tdx.h"

#define T0 "2026-06-01T12:00:00Z"

static void make_emu(char *dir, size_t cap)
{
    vt_test_emu_make(dir, cap, "tdx", NULL, vt_test_at(T0));
}

static void path(char *out, size_t cap, const char *dir, const char *rel)
{
    assert_true((size_t)snprintf(out, cap, "%s/%s", dir, rel) < cap);
}


/* Rewrite collateral/<file> (PCS form {"<key>": body, "signature": hex}) with body edited by
 * `edit` (may be NULL) and signed by keys/<key_name>. */
static void resign(const char *dir, const char *file, const char *key, const char *key_name,
                   void (*edit)(json_t *body))
{
    char p[1200];
    snprintf(p, sizeof p, "%s/collateral/%s", dir, file);
    json_t *doc = json_load_file(p, 0, NULL);
    assert_non_null(doc);
    json_t *body = json_object_get(doc, key);
    assert_non_null(body);
    if (edit != NULL) edit(body);
    EVP_PKEY *k = vt_test_emu_key(dir, key_name);
    vt_test_write_signed_json(p, key, body, k);
    EVP_PKEY_free(k);
    json_decref(doc);
}

/* The emulator writes one TCB Info, for its default FMSPC. */
static char *only_file(const char *dir, const char *prefix)
{
    (void)dir;
    (void)prefix;
    return strdup("tcbinfo_90c06f000000.json");
}

/* Replace collateral/tcb_signing_chain.pem with the certificates at `idx` of keys/tdx_pck_chain.pem
 * (0 = PCK, 1 = PCK Platform CA, 2 = root). */
static void signing_chain_from_pck_chain(const char *dir, const int *idx, size_t n)
{
    char p[1200];
    path(p, sizeof p, dir, "keys/tdx_pck_chain.pem");
    vt_buf b = {0};
    assert_int_equal(vt_file_read(p, 1 << 20, &b, NULL), VT_OK);
    STACK_OF(X509) *sk = NULL;
    assert_int_equal(vt_pem_certs(b.ptr, b.len, &sk, NULL), VT_OK);
    vt_buf out = {0};
    for (size_t i = 0; i < n; i++) {
        vt_buf one = {0};
        assert_int_equal(vt_pki_cert_pem(sk_X509_value(sk, idx[i]), &one, NULL), VT_OK);
        uint8_t *q = realloc(out.ptr, out.len + one.len);
        assert_non_null(q);
        memcpy(q + out.len, one.ptr, one.len);
        out.ptr = q;
        out.len += one.len;
        vt_buf_free(&one);
    }
    path(p, sizeof p, dir, "collateral/tcb_signing_chain.pem");
    assert_int_equal(vt_file_write(p, out.ptr, out.len, NULL), VT_OK);
    vt_buf_free(&out);
    vt_buf_free(&b);
    sk_X509_pop_free(sk, X509_free);
}

static void quote(const char *dir, const uint8_t rd[64], vt_buf *out)
{
    vt_emu *emu;
    vt_error e;
    assert_int_equal(vt_emu_open(dir, &emu, &e), VT_OK);
    if (vt_emu_tdx_quote(emu, rd, 4, out, &e) != VT_OK) fail_msg("quote: %s", e.msg);
    vt_emu_free(emu);
}

typedef struct run_result {
    vt_err rc;
    vt_error err;
    vt_tdx_result r;
} run_result;

/* A verifier over an emulator directory's trust root and collateral; *roots to free after it. */
static vt_tdx_verifier *emu_verifier(const char *dir, STACK_OF(X509) **roots)
{
    char trust[1200], coll[1200];
    path(trust, sizeof trust, dir, "trust/tdx_sgx_root_ca.pem");
    path(coll, sizeof coll, dir, "collateral");
    vt_error e;
    vt_tdx_collateral c;
    assert_int_equal(vt_tdx_collateral_load_dir(coll, &c, &e), VT_OK);
    vt_buf pem = {0};
    assert_int_equal(vt_file_read(trust, 1 << 20, &pem, &e), VT_OK);
    *roots = NULL;
    assert_int_equal(vt_pem_certs(pem.ptr, pem.len, roots, &e), VT_OK);
    vt_buf_free(&pem);
    vt_tdx_verifier_opts vo = {.roots = *roots};
    vt_tdx_verifier *v;
    assert_int_equal(vt_tdx_verifier_new(&vo, &c, &v, &e), VT_OK);
    return v;
}

static void verify(const char *dir, const vt_buf *q, const vt_tdx_verify_opts *o, run_result *out)
{
    STACK_OF(X509) *roots = NULL;
    vt_tdx_verifier *v = emu_verifier(dir, &roots);
    vt_error_clear(&out->err);
    vt_tdx_verify_opts def = {.at = vt_test_at(T0)};
    out->rc = vt_tdx_verify_with(v, q->ptr, q->len, o ? o : &def, &out->r, &out->err);
    vt_tdx_verifier_free(v);
    sk_X509_pop_free(roots, X509_free);
}

static void expect(const run_result *r, vt_err rc, const char *check, const char *msg_part)
{
    if (r->rc != rc) fail_msg("expected %d, got %d (%s: %s)", rc, r->rc, r->err.check, r->err.msg);
    if (check != NULL) assert_string_equal(r->err.check, check);
    if (msg_part != NULL && strstr(r->err.msg, msg_part) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", r->err.msg, msg_part);
}

/* Item 1: the expected REPORTDATA is enforced for TDX. */
static void test_report_data(void **state)
{
    (void)state;
    char dir[256];
    make_emu(dir, sizeof dir);
    uint8_t rd[64] = {0xde, 0xad, 0xbe, 0xef};
    vt_buf q = {0};
    quote(dir, rd, &q);
    run_result *r = calloc(1, sizeof *r);
    vt_tdx_verify_opts o = {.at = vt_test_at(T0), .report_data = rd, .report_data_len = 4};
    verify(dir, &q, &o, r);
    expect(r, VT_OK, NULL, NULL);
    assert_int_equal(vt_checks_find(&r->r.checks, "report_data")->status, VT_CHECK_PASS);
    const uint8_t other[4] = {0xde, 0xad, 0xbe, 0xee};
    o.report_data = other;
    verify(dir, &q, &o, r);
    expect(r, VT_E_VERIFY, "report_data", "REPORTDATA does not hold");
    o.report_data = rd;
    o.report_data_len = 3; /* a prefix only: the rest must be zero */
    verify(dir, &q, &o, r);
    expect(r, VT_E_VERIFY, "report_data", NULL);
    o.report_data_len = 65;
    verify(dir, &q, &o, r);
    expect(r, VT_E_ARG, "report_data", NULL);
    verify(dir, &q, NULL, r); /* none given: reported as skipped, never silently */
    expect(r, VT_OK, NULL, NULL);
    assert_int_equal(vt_checks_find(&r->r.checks, "report_data")->status, VT_CHECK_SKIP);
    free(r);
    vt_buf_free(&q);
}

/* A signer named "Intel SGX TCB Signing" under the emulator's root, with organisation `org`
 * and, when ca, CA key usage; written as keys/fake_signer.key.pem and the collateral's
 * tcb_signing_chain.pem [signer, root]. */
static void fake_signer(const char *dir, const char *org, bool ca)
{
    char p[1200];
    EVP_PKEY *root_k = vt_test_emu_key(dir, "tdx_root.key.pem"), *k = NULL;
    path(p, sizeof p, dir, "trust/tdx_sgx_root_ca.pem");
    vt_buf b = {0};
    assert_int_equal(vt_file_read(p, 1 << 20, &b, NULL), VT_OK);
    X509 *root = NULL, *signer = NULL;
    assert_int_equal(vt_cert_parse(b.ptr, b.len, &root, NULL), VT_OK);
    vt_buf_free(&b);
    assert_int_equal(vt_pki_ec_key(VT_P256, &k, NULL), VT_OK);
    vt_pki_cert_spec ss = {.subject_cn = "Intel SGX TCB Signing", .subject_o = org, .not_before = vt_test_at(T0) - 86400,
                           .not_after = vt_test_at(T0) + 86400 * 365, .ca = ca, .path_len = ca ? 0 : -1};
    assert_int_equal(vt_pki_cert(&ss, k, root, root_k, &signer, NULL), VT_OK);
    vt_buf kp = {0}, c1 = {0}, c2 = {0};
    assert_int_equal(vt_pki_key_pem(k, true, &kp, NULL), VT_OK);
    path(p, sizeof p, dir, "keys/fake_signer.key.pem");
    assert_int_equal(vt_file_write(p, kp.ptr, kp.len, NULL), VT_OK);
    assert_int_equal(vt_pki_cert_pem(signer, &c1, NULL), VT_OK);
    assert_int_equal(vt_pki_cert_pem(root, &c2, NULL), VT_OK);
    uint8_t *both = malloc(c1.len + c2.len);
    memcpy(both, c1.ptr, c1.len);
    memcpy(both + c1.len, c2.ptr, c2.len);
    path(p, sizeof p, dir, "collateral/tcb_signing_chain.pem");
    assert_int_equal(vt_file_write(p, both, c1.len + c2.len, NULL), VT_OK);
    free(both);
    vt_buf_free(&kp);
    vt_buf_free(&c1);
    vt_buf_free(&c2);
    X509_free(root);
    X509_free(signer);
    EVP_PKEY_free(k);
    EVP_PKEY_free(root_k);
}

/* Item 2: collateral signed by anyone but the TCB Signing certificate is rejected, even when
 * its signature verifies. */
static void test_signer_role(void **state)
{
    (void)state;
    char dir[256];
    make_emu(dir, sizeof dir);
    uint8_t rd[64] = {1};
    vt_buf q = {0};
    quote(dir, rd, &q);
    run_result *r = calloc(1, sizeof *r);
    char *ti = only_file(dir, "tcbinfo_");
    /* re-signing with the real signer keeps it valid: the helper itself is sound */
    resign(dir, ti, "tcbInfo", "tdx_tcb_signing.key.pem", NULL);
    resign(dir, "qe_identity.json", "enclaveIdentity", "tdx_tcb_signing.key.pem", NULL);
    verify(dir, &q, NULL, r);
    expect(r, VT_OK, NULL, NULL);
    const vt_check *c = vt_checks_find(&r->r.checks, "tcb_signing_chain");
    assert_non_null(strstr(c->detail, "Intel SGX TCB Signing"));
    /* signed by the PCK Platform CA, chain [Platform CA, Root]: signatures verify, role does not */
    resign(dir, ti, "tcbInfo", "tdx_pck_ca.key.pem", NULL);
    resign(dir, "qe_identity.json", "enclaveIdentity", "tdx_pck_ca.key.pem", NULL);
    signing_chain_from_pck_chain(dir, (const int[]){1, 2}, 2);
    verify(dir, &q, NULL, r);
    expect(r, VT_E_VERIFY, "tcb_signing_chain", "is not the Intel SGX TCB Signing certificate");
    /* signed by the root itself, one-certificate chain */
    resign(dir, ti, "tcbInfo", "tdx_root.key.pem", NULL);
    resign(dir, "qe_identity.json", "enclaveIdentity", "tdx_root.key.pem", NULL);
    signing_chain_from_pck_chain(dir, (const int[]){2}, 1);
    verify(dir, &q, NULL, r);
    expect(r, VT_E_VERIFY, "tcb_signing_chain", "1 certificate");
    /* signed by the PCK leaf (an end entity, but not the TCB Signing one), chain of three */
    resign(dir, ti, "tcbInfo", "tdx_pck.key.pem", NULL);
    resign(dir, "qe_identity.json", "enclaveIdentity", "tdx_pck.key.pem", NULL);
    signing_chain_from_pck_chain(dir, (const int[]){0, 1, 2}, 3);
    verify(dir, &q, NULL, r);
    expect(r, VT_E_VERIFY, "tcb_signing_chain", "3 certificates");
    /* the right name under the root, but another organisation; then a CA named like the signer */
    fake_signer(dir, "Not Intel", false);
    resign(dir, ti, "tcbInfo", "fake_signer.key.pem", NULL);
    resign(dir, "qe_identity.json", "enclaveIdentity", "fake_signer.key.pem", NULL);
    verify(dir, &q, NULL, r);
    expect(r, VT_E_VERIFY, "tcb_signing_chain", "is of organisation \"Not Intel\"");
    fake_signer(dir, VT_EMU_ORGANIZATION, true);
    resign(dir, ti, "tcbInfo", "fake_signer.key.pem", NULL);
    resign(dir, "qe_identity.json", "enclaveIdentity", "fake_signer.key.pem", NULL);
    verify(dir, &q, NULL, r);
    expect(r, VT_E_VERIFY, "tcb_signing_chain", "not an end-entity signing certificate");
    /* and a proper end-entity signer of that name and organisation passes: the checks above
     * reject the role, not the test's own PKI */
    fake_signer(dir, VT_EMU_ORGANIZATION, false);
    resign(dir, ti, "tcbInfo", "fake_signer.key.pem", NULL);
    resign(dir, "qe_identity.json", "enclaveIdentity", "fake_signer.key.pem", NULL);
    verify(dir, &q, NULL, r);
    expect(r, VT_OK, NULL, NULL);
    free(ti);
    free(r);
    vt_buf_free(&q);
}

static void drop_module_identities(json_t *b) { json_object_del(b, "tdxModuleIdentities"); }
static void tcb_info_sgx_id(json_t *b) { json_object_set_new(b, "id", json_string("SGX")); }
static void tcb_info_other_fmspc(json_t *b) { json_object_set_new(b, "fmspc", json_string("00a067110000")); }
static void qe_identity_sgx(json_t *b) { json_object_set_new(b, "id", json_string("QE")); }

/* Item 3 end to end: TEE_TCB_SVN[1] = 1 and a TCB Info without tdxModuleIdentities. */
static void test_module_identity_absent(void **state)
{
    (void)state;
    char dir[256];
    make_emu(dir, sizeof dir);
    uint8_t rd[64] = {2};
    vt_buf q = {0};
    quote(dir, rd, &q);
    run_result *r = calloc(1, sizeof *r);
    char *ti = only_file(dir, "tcbinfo_");
    resign(dir, ti, "tcbInfo", "tdx_tcb_signing.key.pem", drop_module_identities);
    verify(dir, &q, NULL, r);
    expect(r, VT_E_VERIFY, "tdx_module", "TCB Info mismatch");
    free(ti);
    free(r);
    vt_buf_free(&q);
}

/* Item 3 with Intel's real 2023 TCB Info (TDX, no tdxModuleIdentities; every level needs
 * tdxtcbcomponents 03 00 05): module major version 1 is a mismatch, never UpToDate; version 0
 * compares the module SVN (byte 0) with the levels. */
static void test_module_svn_real_tcb_info(void **state)
{
    (void)state;
    vt_buf text = {0};
    vt_test_load("tdx/pcs2023_tdx_v4_50806f/tcbinfo_50806f000000.json", &text);
    vt_tcb_info *ti = calloc(1, sizeof *ti);
    assert_int_equal(vt_tcb_info_parse((const char *)text.ptr, text.len, ti, NULL), VT_OK);
    assert_int_equal(ti->n_modules, 0);
    vt_tdx_quote *q = calloc(1, sizeof *q);
    q->version = 4;
    q->tee_type = VT_TDX_TEE_TDX;
    memcpy(q->td.mr_signer_seam, ti->tdx_module_mr_signer, 48);
    memcpy(q->td.seam_attributes, ti->tdx_module_attributes, 8);
    vt_sgx_pck_ext pck;
    memset(&pck, 0, sizeof pck);
    memcpy(pck.comp_svn, ti->levels[0].sgx_comp, 16);
    pck.pce_svn = ti->levels[0].pce_svn;
    const vt_tcb_level *lv = NULL;
    const vt_isv_level *ml = NULL;
    bool has = false;
    vt_error e;
    /* 00 01 05: the level match skips bytes 0-1 ... */
    const uint8_t v1[3] = {0x00, 0x01, 0x05};
    memcpy(q->td.tee_tcb_svn, v1, 3);
    assert_int_equal(tdx_match_tcb_level(ti, &pck, q, &lv, &e), VT_OK);
    /* ... so the module check must reject: this TCB Info cannot describe major version 1 */
    assert_int_equal(tdx_match_module(ti, &q->td, &has, &ml, &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "TCB Info mismatch"));
    /* 00 00 05: module SVN 0 < 3 required by every level */
    const uint8_t v0[3] = {0x00, 0x00, 0x05};
    memcpy(q->td.tee_tcb_svn, v0, 3);
    assert_int_equal(tdx_match_tcb_level(ti, &pck, q, &lv, &e), VT_E_NO_TCB);
    /* 03 00 05: the real quote's value, UpToDate through tcbInfo.tdxModule */
    const uint8_t ok[3] = {0x03, 0x00, 0x05};
    memcpy(q->td.tee_tcb_svn, ok, 3);
    assert_int_equal(tdx_match_tcb_level(ti, &pck, q, &lv, &e), VT_OK);
    assert_int_equal(lv->status, VT_TCB_UP_TO_DATE);
    assert_int_equal(tdx_match_module(ti, &q->td, &has, &ml, &e), VT_OK);
    assert_false(has);
    vt_tcb_info_clear(ti);
    free(ti);
    free(q);
    vt_buf_free(&text);
}

/* Item 5: inconsistent collateral is a rejection (VT_E_VERIFY: exit 1), not missing (exit 3). */
static void test_inconsistent_is_rejected(void **state)
{
    (void)state;
    char dir[256];
    uint8_t rd[64] = {3};
    vt_buf q = {0};
    run_result *r = calloc(1, sizeof *r);
    char *ti = NULL;

    make_emu(dir, sizeof dir);
    quote(dir, rd, &q);
    ti = only_file(dir, "tcbinfo_");
    resign(dir, ti, "tcbInfo", "tdx_tcb_signing.key.pem", tcb_info_sgx_id);
    verify(dir, &q, NULL, r);
    expect(r, VT_E_VERIFY, "tcb_info_signature", "has id SGX, a TDX quote needs TDX");
    resign(dir, ti, "tcbInfo", "tdx_tcb_signing.key.pem", tcb_info_other_fmspc);
    verify(dir, &q, NULL, r);
    expect(r, VT_E_VERIFY, "tcb_info_signature", "the PCK certificate's FMSPC is 90c06f000000");
    /* genuinely absent: missing */
    char p[1200];
    snprintf(p, sizeof p, "%s/collateral/%s", dir, ti);
    assert_int_equal(remove(p), 0);
    verify(dir, &q, NULL, r);
    expect(r, VT_E_MISSING, "tcb_info_signature", NULL);

    resign(dir, "qe_identity.json", "enclaveIdentity", "tdx_tcb_signing.key.pem", qe_identity_sgx);
    verify(dir, &q, NULL, r);
    expect(r, VT_E_VERIFY, "qe_identity_signature", "QE Identity is for QE, a TDX quote needs TD_QE");
    snprintf(p, sizeof p, "%s/collateral/qe_identity.json", dir);
    assert_int_equal(remove(p), 0);
    verify(dir, &q, NULL, r);
    expect(r, VT_E_MISSING, "qe_identity_signature", NULL);
    vt_buf_free(&q);
    free(ti);

    /* a PCK certificate whose issuer ("Intel SGX PCK Processor CA") is not in its chain: the
     * collateral has no CRL for that name, but the chain is wrong first */
    make_emu(dir, sizeof dir);
    EVP_PKEY *k = NULL, *ik = NULL;
    X509 *issuer = NULL, *pck = NULL;
    assert_int_equal(vt_pki_ec_key(VT_P256, &k, NULL), VT_OK);
    assert_int_equal(vt_pki_ec_key(VT_P256, &ik, NULL), VT_OK);
    vt_pki_cert_spec is = {.subject_cn = "Intel SGX PCK Processor CA", .not_before = vt_test_at(T0) - 86400,
                           .not_after = vt_test_at(T0) + 86400, .ca = true, .path_len = 0};
    assert_int_equal(vt_pki_cert(&is, ik, NULL, ik, &issuer, NULL), VT_OK);
    vt_pki_cert_spec ps = {.subject_cn = "Intel SGX PCK Certificate", .not_before = vt_test_at(T0) - 86400,
                           .not_after = vt_test_at(T0) + 86400, .path_len = -1};
    assert_int_equal(vt_pki_cert(&ps, k, issuer, ik, &pck, NULL), VT_OK);
    snprintf(p, sizeof p, "%s/keys/tdx_pck_chain.pem", dir);
    vt_buf old = {0}, leaf = {0};
    assert_int_equal(vt_file_read(p, 1 << 20, &old, NULL), VT_OK);
    assert_int_equal(vt_pki_cert_pem(pck, &leaf, NULL), VT_OK);
    /* [foreign PCK, Platform CA, Root]: drop the first PEM block of the original chain */
    const char *second = strstr((const char *)old.ptr + 1, "-----BEGIN CERTIFICATE-----");
    assert_non_null(second);
    size_t rest = old.len - (size_t)(second - (const char *)old.ptr);
    uint8_t *chain = malloc(leaf.len + rest);
    memcpy(chain, leaf.ptr, leaf.len);
    memcpy(chain + leaf.len, second, rest);
    assert_int_equal(vt_file_write(p, chain, leaf.len + rest, NULL), VT_OK);
    quote(dir, rd, &q);
    verify(dir, &q, NULL, r);
    expect(r, VT_E_VERIFY, "pck_chain", "does not lead to a trusted root");
    free(chain);
    vt_buf_free(&old);
    vt_buf_free(&leaf);
    X509_free(issuer);
    X509_free(pck);
    EVP_PKEY_free(k);
    EVP_PKEY_free(ik);
    vt_buf_free(&q);
    free(r);
}

static vt_time g_t0; /* the emulator's instant, for the edit callbacks below */
static void tcb_info_next_update(json_t *b)
{
    json_object_set_new(b, "nextUpdate", vt_json_time_string(g_t0 + 1000));
}
static void qe_identity_issue_date(json_t *b)
{
    json_object_set_new(b, "issueDate", vt_json_time_string(g_t0 - 1000));
}

/* Item 4: the collateral boundaries (vt_valid_at, inclusive) of each signed item on its own. */
static void test_collateral_boundaries(void **state)
{
    (void)state;
    char dir[256];
    make_emu(dir, sizeof dir);
    g_t0 = vt_test_at(T0);
    uint8_t rd[64] = {4};
    vt_buf q = {0};
    quote(dir, rd, &q);
    run_result *r = calloc(1, sizeof *r);
    char *ti = only_file(dir, "tcbinfo_");
    resign(dir, ti, "tcbInfo", "tdx_tcb_signing.key.pem", tcb_info_next_update);
    resign(dir, "qe_identity.json", "enclaveIdentity", "tdx_tcb_signing.key.pem", qe_identity_issue_date);
    vt_tdx_verify_opts o = {.at = g_t0 + 1000};
    verify(dir, &q, &o, r);
    expect(r, VT_OK, NULL, NULL);
    o.at = g_t0 + 1001;
    verify(dir, &q, &o, r);
    expect(r, VT_E_EXPIRED, "collateral_freshness", "TCB Info expired on");
    o.at = g_t0 - 1000;
    verify(dir, &q, &o, r);
    expect(r, VT_OK, NULL, NULL);
    o.at = g_t0 - 1001;
    verify(dir, &q, &o, r);
    expect(r, VT_E_EXPIRED, "collateral_freshness", "QE Identity is not valid before");
    free(ti);
    free(r);
    vt_buf_free(&q);
}

/* One verifier, several threads at once, more distinct PCK chains than the chain cache holds
 * (every round evicts entries other threads just found): each result is its own quote's. The
 * chains differ only in trailing newlines after the PEM blocks (the same certificates, other
 * bytes: other cache keys); the emulator embeds keys/tdx_pck_chain.pem as stored. */
#define PCK_CONC_CHAINS (PCK_CACHE + 8)
#define PCK_CONC_THREADS 4

typedef struct pck_worker {
    vt_tdx_verifier *v;
    const vt_buf *q;
    uint8_t (*rd)[64];
    int id;
    int good;
    char bad[700];
} pck_worker;

static void *pck_work(void *arg)
{
    pck_worker *w = arg;
    vt_tdx_result *r = malloc(sizeof *r);
    vt_error e;
    for (int round = 0; r != NULL && round < 3; round++)
        for (int j = 0; j < PCK_CONC_CHAINS; j++) {
            int k = (j * 7 + w->id * 5) % PCK_CONC_CHAINS, other = (k + 1) % PCK_CONC_CHAINS;
            vt_tdx_verify_opts o = {.at = vt_test_at(T0), .report_data = w->rd[k], .report_data_len = 64};
            vt_error_clear(&e);
            vt_err rc = vt_tdx_verify_with(w->v, w->q[k].ptr, w->q[k].len, &o, r, &e);
            bool ok = rc == VT_OK && strcmp(r->pck_issuer, "") != 0 && r->revocation_checked &&
                      memcmp(r->quote.td.report_data, w->rd[k], 64) == 0;
            o.report_data = w->rd[other];
            vt_error_clear(&e);
            if (ok) rc = vt_tdx_verify_with(w->v, w->q[k].ptr, w->q[k].len, &o, r, &e);
            ok = ok && rc == VT_E_VERIFY && strcmp(e.check, "report_data") == 0;
            if (ok) w->good++;
            else if (w->bad[0] == 0)
                snprintf(w->bad, sizeof w->bad, "thread %d quote %d: rc %d (%s: %s)", w->id, k, rc, e.check, e.msg);
        }
    free(r);
    return NULL;
}

/* The verifier's CRL memo (vt_crl_memo) and a revoked PCK certificate: a failed verification
 * checks the chain again to report the right error, and that second check's PCK CRL signature
 * comes from the memo (the Platform CA object is the same within one verification); the PCK
 * certificate stays revoked through it, in every round: the memo skips a CRL check that passed,
 * never the lookup of the certificate in the CRL. */
static void test_revoked_pck_through_crl_memo(void **state)
{
    (void)state;
    char dir[256];
    vt_test_emu_make(dir, sizeof dir, "tdx", "{\"pck_revoked\": true}", vt_test_at(T0));
    uint8_t rd[64] = {0x5e};
    vt_buf q = {0};
    quote(dir, rd, &q);
    STACK_OF(X509) *roots = NULL;
    vt_tdx_verifier *v = emu_verifier(dir, &roots);
    run_result *r = calloc(1, sizeof *r);
    vt_tdx_verify_opts o = {.at = vt_test_at(T0)};
    unsigned long hits = vt_crl_memo_hits(v->crl_memo);
    for (int round = 0; round < 3; round++) {
        vt_error_clear(&r->err);
        r->rc = vt_tdx_verify_with(v, q.ptr, q.len, &o, &r->r, &r->err);
        expect(r, VT_E_REVOKED, "pck_chain", NULL);
        assert_true(vt_crl_memo_hits(v->crl_memo) > hits);
        hits = vt_crl_memo_hits(v->crl_memo);
    }
    free(r);
    vt_tdx_verifier_free(v);
    sk_X509_pop_free(roots, X509_free);
    vt_buf_free(&q);
}

static void test_pck_cache_concurrent(void **state)
{
    (void)state;
    char dir[1024], pem_path[1200];
    make_emu(dir, sizeof dir);
    path(pem_path, sizeof pem_path, dir, "keys/tdx_pck_chain.pem");
    vt_error e;
    vt_buf pem = {0};
    assert_int_equal(vt_file_read(pem_path, 1 << 20, &pem, &e), VT_OK);
    vt_buf q[PCK_CONC_CHAINS];
    uint8_t rd[PCK_CONC_CHAINS][64];
    memset(q, 0, sizeof q);
    for (int k = 0; k < PCK_CONC_CHAINS; k++) {
        FILE *f = fopen(pem_path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(pem.ptr, 1, pem.len, f), pem.len);
        for (int n = 0; n < k; n++) fputc('\n', f);
        assert_int_equal(fclose(f), 0);
        for (int b = 0; b < 64; b++) rd[k][b] = (uint8_t)(k * 3 + b);
        quote(dir, rd[k], &q[k]);
    }
    vt_buf_free(&pem);
    STACK_OF(X509) *roots = NULL;
    vt_tdx_verifier *v = emu_verifier(dir, &roots);
    pck_worker w[PCK_CONC_THREADS];
    pthread_t th[PCK_CONC_THREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < PCK_CONC_THREADS; i++) {
        w[i] = (pck_worker){.v = v, .q = q, .rd = rd, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, pck_work, &w[i]), 0);
    }
    for (int i = 0; i < PCK_CONC_THREADS; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < PCK_CONC_THREADS; i++) {
        if (w[i].bad[0] != 0) fail_msg("%s", w[i].bad);
        assert_int_equal(w[i].good, 3 * PCK_CONC_CHAINS);
    }
    vt_tdx_verifier_free(v);
    sk_X509_pop_free(roots, X509_free);
    for (int k = 0; k < PCK_CONC_CHAINS; k++) vt_buf_free(&q[k]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_data),
        cmocka_unit_test(test_signer_role),
        cmocka_unit_test(test_module_identity_absent),
        cmocka_unit_test(test_module_svn_real_tcb_info),
        cmocka_unit_test(test_inconsistent_is_rejected),
        cmocka_unit_test(test_collateral_boundaries),
        cmocka_unit_test(test_pck_cache_concurrent),
        cmocka_unit_test(test_revoked_pck_through_crl_memo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
