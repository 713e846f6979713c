/* Azure vTPM CVMs (az-snp-vtpm, az-tdx-vtpm) against shared/vectors/az_{snp,tdx}_vtpm: every
 * set decodes to its README facts and verifies at an instant inside its validity, every listed
 * must-fail mutation is rejected by the named check, and the HCL parser survives truncation and
 * bit-flip sweeps. */
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/azure.h"
#include "veritee/codec.h"
#include "veritee/crypto.h"
#include "veritee/json.h"

#define AT_2026 1767225600 /* 2026-01-01T00:00:00Z: inside every VCEK window of the set */

static void hex_eq(const uint8_t *p, size_t n, const char *hex)
{
    char *h = vt_hex_dup(p, n);
    assert_string_equal(h, hex);
    free(h);
}

static vt_snp_verifier *snp_trust(void)
{
    vt_snp_verifier *v;
    vt_error e;
    assert_int_equal(vt_snp_verifier_new(&v, &e), VT_OK);
    const char *files[] = {"az_snp_vtpm/anchors/milan_ask_ark_asvk.pem", "az_snp_vtpm/anchors/genoa_ask_ark_asvk.pem"};
    for (int i = 0; i < 2; i++) {
        vt_buf b = {0};
        vt_test_load(files[i], &b);
        assert_int_equal(vt_snp_verifier_add_trust_pem(v, b.ptr, b.len, &e), VT_OK);
        vt_buf_free(&b);
    }
    return v;
}

typedef struct az {
    vt_snp_verifier *snp;
    vt_azure_verifier *v;
} az;

static int setup(void **state)
{
    az *a = calloc(1, sizeof *a);
    vt_error e;
    char p[1024];
    if (!vt_test_vector_path("az_snp_vtpm/README.md", p, sizeof p)) {
        *state = a;
        return 0;
    }
    a->snp = snp_trust();
    vt_azure_trust t = {.snp = a->snp};
    if (vt_azure_verifier_new(&t, &a->v, &e) != VT_OK) return -1;
    *state = a;
    return 0;
}

static int teardown(void **state)
{
    az *a = *state;
    vt_azure_verifier_free(a->v);
    vt_snp_verifier_free(a->snp);
    free(a);
    return 0;
}

static vt_err run(az *a, vt_az_kind k, const uint8_t *ev, size_t len, const char *nonce, size_t nl, vt_time at,
                  json_t **claims, vt_checks *ck, vt_error *e)
{
    vt_azure_verify_opts o = {.at = at, .nonce = (const uint8_t *)nonce, .nonce_len = nl};
    return k == VT_AZ_SNP ? vt_az_snp_vtpm_verify(a->v, ev, len, &o, claims, ck, e)
                          : vt_az_tdx_vtpm_verify(a->v, ev, len, &o, claims, ck, e);
}

static void nonce_bytes(const char *hex, uint8_t *out, size_t *n)
{
    vt_error e;
    *n = strlen(hex) / 2;
    assert_int_equal(vt_hex_decode_fixed(hex, out, *n, &e), VT_OK);
}

static const char *jstr(json_t *o, const char *a, const char *b)
{
    json_t *x = json_object_get(o, a);
    if (b != NULL) x = json_object_get(x, b);
    return json_string_value(x);
}

/* ---- SNP: every set verifies with its facts ---------------------------------------------- */

typedef struct snp_set {
    const char *file;
    const char *nonce_hex; /* NULL: "challenge" */
    int version;
    const char *pcr0, *measurement, *var_sha256;
    uint32_t var_size;
} snp_set;

static const snp_set SNP_SETS[] = {
    {"az_snp_vtpm/evidence-v0.json", NULL, 0, "e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced",
     "6a063be9dd79f6371c842e480f8dc3b5c725961344e57130e88c5adf49e8f7f6c79b75a5eb77fc769959f4aeb2f9401e",
     "af2910341dd8108360e485f1b72494255190b9cdd5ccb44b73b883037cf99f21", 1110},
    {"az_snp_vtpm/evidence-v1.json", NULL, 1, "e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced",
     "6a063be9dd79f6371c842e480f8dc3b5c725961344e57130e88c5adf49e8f7f6c79b75a5eb77fc769959f4aeb2f9401e",
     "af2910341dd8108360e485f1b72494255190b9cdd5ccb44b73b883037cf99f21", 1110},
    {"az_snp_vtpm/evidence-v2.json",
     "982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef", 2,
     "84275b2f4312cd4fc6cbe6b152ad3c3683e513d9f1e23c34fca160c8cca7a6a7",
     "5b0ce64ad1c1f6375dbda5f760b98526ca1bcf91b8195091afc28e7b024251d68fe32e05af34048d6607678cd23283ff",
     "cf7cc0731c50f64876804b3943b2bfbd93dba69f5928e3df223e78ff34dd46ee", 1110},
    {"az_snp_vtpm/evidence-genoa.json",
     "0218488bae25d2509232bf676f1a66a30d7372add909109b36016ef136f2938ca05475f8b46094de6b64270ea35d950f", 0,
     "afd689d0bb1c5f36f023fbaf574135f555a28a10c1f6b938d2a25e70c7783338",
     "f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3706faf814c9e61065768a6ff917c89ae",
     "b581f12e29a2d7d64e5e0b738d563879a78b51c644d0fa0cce02b48699f6bf5f", 1200},
};

static void test_snp_sets(void **state)
{
    az *a = *state;
    for (size_t i = 0; i < sizeof SNP_SETS / sizeof SNP_SETS[0]; i++) {
        const snp_set *s = &SNP_SETS[i];
        vt_buf ev = {0};
        vt_test_load(s->file, &ev);
        uint8_t n[64];
        size_t nl = 9;
        if (s->nonce_hex) nonce_bytes(s->nonce_hex, n, &nl);
        else memcpy(n, "challenge", 9);
        vt_error e;
        vt_checks ck = {0};
        json_t *c = NULL;
        vt_err rc = run(a, VT_AZ_SNP, ev.ptr, ev.len, (const char *)n, nl, AT_2026, &c, &ck, &e);
        if (rc != VT_OK) fail_msg("%s: %s: %s", s->file, e.check, e.msg);
        assert_int_equal(json_integer_value(json_object_get(c, "evidence_version")), s->version);
        assert_string_equal(jstr(c, "tpm", "pcr00"), s->pcr0);
        assert_string_equal(jstr(c, "snp", "measurement"), s->measurement);
        assert_string_equal(jstr(c, "hcl", "runtime_claims_sha256"), s->var_sha256);
        assert_string_equal(jstr(c, "tpm", "pcr17"), "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
        char *nh = vt_hex_dup(n, nl);
        assert_string_equal(jstr(c, "report_data", NULL), nh);
        free(nh);
        assert_string_equal(jstr(c, "init_data", NULL),
                            i == 3 ? "16f09f1e315b0b9bc69e654df58927aad7eaffeebd92f458f1b079b44e97207f"
                                   : "0000000000000000000000000000000000000000000000000000000000000000");
        assert_non_null(json_object_get(json_object_get(c, "runtime_claims"), "vm-configuration"));
        static const char *must[] = {"hcl_report", "hcl_ak", "tpm_quote_signature", "tpm_quote_nonce",
                                     "tpm_pcr_digest", "hcl_report_data", "hcl_vmpl"};
        for (size_t k = 0; k < sizeof must / sizeof must[0]; k++) {
            const vt_check *x = vt_checks_find(&ck, must[k]);
            assert_non_null(x);
            assert_int_equal(x->status, VT_CHECK_PASS);
        }
        if (s->version == 2) assert_int_equal(vt_checks_find(&ck, "hcl_user_data")->status, VT_CHECK_PASS);
        /* The HCL facts. */
        vt_az_evidence ae;
        vt_hcl_report h;
        assert_int_equal(vt_az_evidence_parse(ev.ptr, ev.len, VT_AZ_SNP, &ae, &e), VT_OK);
        assert_int_equal(vt_hcl_report_parse(ae.hcl_report.ptr, ae.hcl_report.len, &h, &e), VT_OK);
        assert_int_equal(h.var_size, s->var_size);
        assert_int_equal(h.report_size, 32 + 1184 + 20 + s->var_size);
        assert_int_equal(h.report_type, 2);
        assert_int_equal(h.hash_type, 1);
        assert_int_equal(h.request_type, 2);
        vt_az_evidence_free(&ae);
        json_decref(c);
        vt_buf_free(&ev);
    }
}

/* hcl-report.bin + tpm-quote-v1.json + vcek.pem, assembled into v1 evidence. */
static char *assemble_v1(const vt_buf *hcl, const char *vcek_pem_file)
{
    vt_buf q = {0}, pem = {0};
    vt_test_load("az_snp_vtpm/tpm-quote-v1.json", &q);
    vt_test_load(vcek_pem_file, &pem);
    json_t *tq = json_loadb((const char *)q.ptr, q.len, 0, NULL);
    BIO *b = BIO_new_mem_buf(pem.ptr, (int)pem.len);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(x);
    unsigned char *der = NULL;
    int dl = i2d_X509(x, &der);
    char *h64 = vt_b64_encode(hcl->ptr, hcl->len, true), *v64 = vt_b64_encode(der, (size_t)dl, true);
    json_t *o = json_pack("{s:i, s:O, s:s, s:s}", "version", 1, "tpm_quote", tq, "hcl_report", h64, "vcek", v64);
    char *s = json_dumps(o, 0);
    json_decref(o);
    json_decref(tq);
    free(h64);
    free(v64);
    OPENSSL_free(der);
    X509_free(x);
    vt_buf_free(&q);
    vt_buf_free(&pem);
    return s;
}

static void test_snp_hcl_report_bin(void **state)
{
    az *a = *state;
    vt_buf hcl = {0};
    vt_test_load("az_snp_vtpm/hcl-report.bin", &hcl);
    vt_error e;
    vt_hcl_report h;
    assert_int_equal(vt_hcl_report_parse(hcl.ptr, hcl.len, &h, &e), VT_OK);
    uint8_t d[32];
    assert_int_equal(vt_hash(VT_SHA256, h.var_data.ptr, h.var_data.len, d, &e), VT_OK);
    hex_eq(d, 32, "b3fbad6514c83caeb0380882145e49f794229ef37c421b91fc47ff93556bafac");
    assert_memory_equal(h.hw_report.ptr + 0x50, d, 32);
    char *ev = assemble_v1(&hcl, "az_snp_vtpm/vcek.pem");
    json_t *c = NULL;
    vt_checks ck = {0};
    vt_err rc = run(a, VT_AZ_SNP, (const uint8_t *)ev, strlen(ev), "challenge", 9, AT_2026, &c, &ck, &e);
    if (rc != VT_OK) fail_msg("%s: %s", e.check, e.msg);
    assert_string_equal(jstr(c, "tpm", "pcr00"), "f3a7e99a5f819a034386bce753a48a73cfdaa0bea0ecfc124bedbf5a8c4799be");
    assert_string_equal(jstr(c, "snp", "measurement"),
                        "9ac48fcac8a2d88aeeff8d427ad4f2be0e3917c748a18bdf52cc317e7fe20308b459d5ef1a12e0c22944eb386d17c315");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "snp"), "version")), 2);
    json_decref(c);
    free(ev);

    /* must fail: reported_tcb.snp (HCL 0x1A6) zeroed -> the VCEK's snpSPL no longer matches */
    hcl.ptr[0x1A6] = 0;
    ev = assemble_v1(&hcl, "az_snp_vtpm/vcek.pem");
    memset(&ck, 0, sizeof ck);
    assert_int_equal(run(a, VT_AZ_SNP, (const uint8_t *)ev, strlen(ev), "challenge", 9, AT_2026, NULL, &ck, &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "SPL"));
    free(ev);
    vt_buf_free(&hcl);

    /* must fail: var data byte 0x540 zeroed -> the JSON no longer parses -> no AK */
    vt_test_load("az_snp_vtpm/hcl-report.bin", &hcl);
    hcl.ptr[0x540] = 0;
    ev = assemble_v1(&hcl, "az_snp_vtpm/vcek.pem");
    assert_int_equal(run(a, VT_AZ_SNP, (const uint8_t *)ev, strlen(ev), "challenge", 9, AT_2026, NULL, NULL, &e), VT_E_INVALID);
    assert_string_equal(e.check, "hcl_ak");
    free(ev);
    vt_buf_free(&hcl);

    /* must fail: verified with another chip's VCEK (azure-cvm-tooling/certs.pem) -> signature */
    vt_test_load("az_snp_vtpm/hcl-report.bin", &hcl);
    ev = assemble_v1(&hcl, "az_snp_vtpm/azure-cvm-tooling/certs.pem");
    memset(&ck, 0, sizeof ck);
    rc = run(a, VT_AZ_SNP, (const uint8_t *)ev, strlen(ev), "challenge", 9, AT_2026, NULL, &ck, &e);
    assert_int_equal(rc, VT_E_VERIFY);
    assert_true(vt_checks_find(&ck, "tpm_quote_signature")->status == VT_CHECK_PASS);
    free(ev);
    vt_buf_free(&hcl);
}

/* ---- SNP must-fail mutations of evidence-v1 ------------------------------------------------ */

static char *mutate_v1(const vt_buf *ev, const char *field, size_t byte, int pcr)
{
    json_t *o = json_loadb((const char *)ev->ptr, ev->len, 0, NULL);
    json_t *q = json_object_get(o, "tpm_quote");
    vt_error e;
    vt_buf b = {0};
    if (pcr >= 0) {
        json_t *p = json_object_get(q, "pcrs");
        const char *h = json_string_value(json_array_get(p, (size_t)pcr));
        assert_int_equal(vt_hex_decode(h, strlen(h), &b, &e), VT_OK);
        b.ptr[0] ^= 1;
        json_array_set_new(p, (size_t)pcr, vt_json_hex_string(b.ptr, b.len));
    } else if (strcmp(field, "hcl_report") == 0) {
        const char *s = json_string_value(json_object_get(o, field));
        assert_int_equal(vt_b64_decode(s, strlen(s), &b, &e), VT_OK);
        b.ptr[byte] ^= 1;
        char *n = vt_b64_encode(b.ptr, b.len, true);
        json_object_set_new(o, field, json_string(n));
        free(n);
    } else {
        const char *h = json_string_value(json_object_get(q, field));
        assert_int_equal(vt_hex_decode(h, strlen(h), &b, &e), VT_OK);
        b.ptr[byte] ^= 1;
        json_object_set_new(q, field, vt_json_hex_string(b.ptr, b.len));
    }
    vt_buf_free(&b);
    char *s = json_dumps(o, 0);
    json_decref(o);
    return s;
}

static void test_snp_must_fail(void **state)
{
    az *a = *state;
    vt_buf ev = {0};
    vt_test_load("az_snp_vtpm/evidence-v1.json", &ev);
    vt_error e;
    struct { const char *field; size_t byte; int pcr; int code; const char *check; } m[] = {
        {"signature", 0, -1, VT_E_VERIFY, "tpm_quote_signature"},
        {"message", 40, -1, VT_E_VERIFY, "tpm_quote_signature"},
        {NULL, 0, 0, VT_E_VERIFY, "tpm_pcr_digest"},
        {"hcl_report", 0x6E0, -1, VT_E_VERIFY, "hcl_report_data"},
        {"hcl_report", 0xB0, -1, VT_E_VERIFY, NULL}, /* measurement[0]: the SNP ECDSA signature */
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        char *s = mutate_v1(&ev, m[i].field, m[i].byte, m[i].pcr);
        vt_checks ck = {0};
        vt_err rc = run(a, VT_AZ_SNP, (const uint8_t *)s, strlen(s), "challenge", 9, AT_2026, NULL, &ck, &e);
        assert_int_equal(rc, m[i].code);
        if (m[i].check) assert_string_equal(e.check, m[i].check);
        else {
            /* the SNP report's own signature is what fails, after every vTPM check passed */
            assert_int_equal(vt_checks_find(&ck, "hcl_report_data")->status, VT_CHECK_PASS);
            assert_non_null(strstr(e.msg, "signature"));
        }
        free(s);
    }
    /* expected nonce "challengf" */
    assert_int_equal(run(a, VT_AZ_SNP, ev.ptr, ev.len, "challengf", 9, AT_2026, NULL, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "tpm_quote_nonce");
    /* padding the expected nonce is never done: "challenge\0" differs */
    assert_int_equal(run(a, VT_AZ_SNP, ev.ptr, ev.len, "challenge\0", 10, AT_2026, NULL, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "tpm_quote_nonce");
    /* one second before the VCEK's notBefore (2025-01-28T16:26:55Z) */
    vt_time t;
    assert_int_equal(vt_time_parse_rfc3339("2025-01-28T16:26:54Z", &t, &e), VT_OK);
    vt_err rc = run(a, VT_AZ_SNP, ev.ptr, ev.len, "challenge", 9, t, NULL, NULL, &e);
    assert_true(rc == VT_E_EXPIRED || rc == VT_E_VERIFY);
    assert_int_equal(vt_time_parse_rfc3339("2025-01-28T16:26:56Z", &t, &e), VT_OK);
    assert_int_equal(run(a, VT_AZ_SNP, ev.ptr, ev.len, "challenge", 9, t, NULL, NULL, &e), VT_OK);
    /* an unknown version is refused */
    json_t *o = json_loadb((const char *)ev.ptr, ev.len, 0, NULL);
    json_object_set_new(o, "version", json_integer(3));
    char *s = json_dumps(o, 0);
    assert_int_equal(run(a, VT_AZ_SNP, (const uint8_t *)s, strlen(s), "challenge", 9, AT_2026, NULL, NULL, &e), VT_E_INVALID);
    assert_string_equal(e.check, "evidence");
    free(s);
    json_decref(o);
    /* SNP evidence is not TDX evidence */
    assert_int_equal(run(a, VT_AZ_TDX, ev.ptr, ev.len, "challenge", 9, AT_2026, NULL, NULL, &e), VT_E_INVALID);
    vt_buf_free(&ev);

    /* v2: the trustee unit test's expected report data 123abc is refused (the quote nonce is the
     * first check to see it; user-data would refuse it as well). */
    vt_test_load("az_snp_vtpm/evidence-v2.json", &ev);
    assert_int_equal(run(a, VT_AZ_SNP, ev.ptr, ev.len, "\x12\x3a\xbc", 3, AT_2026, NULL, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "tpm_quote_nonce");
    /* No nonce: freshness checks are reported skipped, never passed. */
    vt_checks ck = {0};
    assert_int_equal(run(a, VT_AZ_SNP, ev.ptr, ev.len, NULL, 0, AT_2026, NULL, &ck, &e), VT_OK);
    assert_int_equal(vt_checks_find(&ck, "tpm_quote_nonce")->status, VT_CHECK_SKIP);
    assert_int_equal(vt_checks_find(&ck, "hcl_user_data")->status, VT_CHECK_SKIP);
    /* init-data: PCR8 is zero in this VM, so any init-data hash is unbound */
    uint8_t h[32] = {0};
    vt_azure_verify_opts o2 = {.at = AT_2026, .init_data_hash = h};
    assert_int_equal(vt_az_snp_vtpm_verify(a->v, ev.ptr, ev.len, &o2, NULL, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "init_data");
    vt_buf_free(&ev);
}

static void test_snp_v1_hcl_header(void **state)
{
    (void)state;
    vt_buf b = {0};
    vt_test_load("az_snp_vtpm/azure-cvm-tooling/hcl-report-snp.bin", &b);
    vt_error e;
    vt_hcl_report h;
    assert_int_equal(b.len, 2048);
    assert_int_equal(vt_hcl_report_parse(b.ptr, b.len, &h, &e), VT_OK);
    assert_int_equal(h.header_version, 1);
    uint8_t d[32];
    assert_int_equal(vt_hash(VT_SHA256, h.var_data.ptr, h.var_data.len, d, &e), VT_OK);
    assert_memory_equal(h.hw_report.ptr + 0x50, d, 32);
    vt_hcl_runtime_claims rc;
    assert_int_equal(vt_hcl_runtime_claims_parse(&h.var_data, &rc, &e), VT_OK);
    assert_false(rc.has_user_data);
    assert_non_null(rc.ak);
    assert_int_equal(EVP_PKEY_get_bits(rc.ak), 2048);
    vt_hcl_runtime_claims_clear(&rc);
    vt_buf_free(&b);
}

/* ---- TDX --------------------------------------------------------------------------------- */

static void test_tdx_sets(void **state)
{
    az *a = *state;
    const char *files[] = {"az_tdx_vtpm/evidence-v0.json", "az_tdx_vtpm/evidence-v1.json"};
    for (int i = 0; i < 2; i++) {
        vt_buf ev = {0};
        vt_test_load(files[i], &ev);
        vt_error e;
        vt_checks ck = {0};
        json_t *c = NULL;
        /* No Intel collateral in the set: everything offline passes, and the result is MISSING. */
        vt_err rc = run(a, VT_AZ_TDX, ev.ptr, ev.len, "challenge", 9, AT_2026, &c, &ck, &e);
        assert_int_equal(rc, VT_E_MISSING);
        assert_null(c);
        static const char *pass[] = {"hcl_report", "hcl_ak", "tpm_quote_signature", "tpm_quote_nonce", "tpm_pcr_digest",
                                     "td_quote_signature", "td_quote", "hcl_report_data", "hcl_tdreport"};
        for (size_t k = 0; k < sizeof pass / sizeof pass[0]; k++) {
            const vt_check *x = vt_checks_find(&ck, pass[k]);
            if (x == NULL || x->status != VT_CHECK_PASS) fail_msg("%s: check %s not passed", files[i], pass[k]);
        }
        assert_int_equal(vt_checks_find(&ck, "td_pck_chain")->status, VT_CHECK_FAIL);
        assert_non_null(strstr(vt_checks_find(&ck, "td_quote")->detail, "70 zero bytes"));
        /* facts */
        vt_az_evidence ae;
        vt_hcl_report h;
        assert_int_equal(vt_az_evidence_parse(ev.ptr, ev.len, VT_AZ_TDX, &ae, &e), VT_OK);
        assert_int_equal(ae.version, i);
        assert_int_equal(ae.td_quote.len, 5006);
        assert_int_equal(vt_hcl_report_parse(ae.hcl_report.ptr, ae.hcl_report.len, &h, &e), VT_OK);
        assert_int_equal(h.report_size, 2437);
        assert_int_equal(h.var_size, 1201);
        assert_int_equal(h.report_type, 4);
        hex_eq(h.hw_report.ptr + 528, 48,
               "024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b");
        uint8_t d[32];
        assert_int_equal(vt_hash(VT_SHA256, h.var_data.ptr, h.var_data.len, d, &e), VT_OK);
        hex_eq(d, 32, "9734504f161d104c74e3165c15f779b06a9bb40dfa71937817d7eee68e593839");
        vt_tpms_attest at;
        assert_int_equal(vt_tpms_attest_parse(ae.quote_message.ptr, ae.quote_message.len, &at, &e), VT_OK);
        hex_eq(at.pcr_digest.ptr, 32, "6c0e21d918212d57872a752bcf358355d508d1d5b8cb632259b898b15f9f658d");
        hex_eq(ae.pcrs[0].ptr, 32, "782b20b10f55cc46e2142cc2145d548698073e5beb82752c8d7f9279f0d8a273");
        vt_az_evidence_free(&ae);
        vt_buf_free(&ev);
    }
}

static char *tdx_mutate(const vt_buf *ev, const char *field, size_t byte)
{
    json_t *o = json_loadb((const char *)ev->ptr, ev->len, 0, NULL);
    vt_error e;
    vt_buf b = {0};
    if (strcmp(field, "signature") == 0) {
        json_t *q = json_object_get(o, "tpm_quote");
        const char *h = json_string_value(json_object_get(q, field));
        assert_int_equal(vt_hex_decode(h, strlen(h), &b, &e), VT_OK);
        b.ptr[byte] ^= 1;
        json_object_set_new(q, field, vt_json_hex_string(b.ptr, b.len));
    } else {
        const char *s = json_string_value(json_object_get(o, field));
        assert_int_equal(vt_b64_decode(s, strlen(s), &b, &e), VT_OK);
        b.ptr[byte] ^= 1;
        char *n = vt_b64_encode(b.ptr, b.len, true);
        json_object_set_new(o, field, json_string(n));
        free(n);
    }
    vt_buf_free(&b);
    char *s = json_dumps(o, 0);
    json_decref(o);
    return s;
}

static void test_tdx_must_fail(void **state)
{
    az *a = *state;
    vt_buf ev = {0};
    vt_test_load("az_tdx_vtpm/evidence-v1.json", &ev);
    vt_error e;
    struct { const char *field; size_t byte; const char *check; } m[] = {
        {"td_quote", 48 + 136, "td_quote_signature"}, /* MRTD[0] */
        {"hcl_report", 0x880, "hcl_report_data"},     /* runtime claims */
        {"signature", 0, "tpm_quote_signature"},
        {"hcl_report", 0x20 + 528, "hcl_tdreport"},   /* the HCL's TDREPORT copy of MRTD */
        {"td_quote", 4936 + 3, "td_quote"},           /* a non-zero byte in the trailing padding */
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        char *s = tdx_mutate(&ev, m[i].field, m[i].byte);
        vt_err rc = run(a, VT_AZ_TDX, (const uint8_t *)s, strlen(s), "challenge", 9, AT_2026, NULL, NULL, &e);
        if (rc == VT_OK || rc == VT_E_MISSING || strcmp(e.check, m[i].check) != 0)
            fail_msg("mutation %zu: rc %d check %s (%s), expected %s", i, rc, e.check, e.msg, m[i].check);
        free(s);
    }
    assert_int_equal(run(a, VT_AZ_TDX, ev.ptr, ev.len, "challengf", 9, AT_2026, NULL, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "tpm_quote_nonce");
    vt_buf_free(&ev);
    /* the older TDX HCL report: binding holds */
    vt_buf b = {0};
    vt_test_load("az_tdx_vtpm/azure-cvm-tooling/hcl-report-tdx.bin", &b);
    vt_hcl_report h;
    assert_int_equal(vt_hcl_report_parse(b.ptr, b.len, &h, &e), VT_OK);
    assert_int_equal(h.report_size, 2438);
    assert_int_equal(h.var_size, 1202);
    uint8_t d[32];
    assert_int_equal(vt_hash(VT_SHA256, h.var_data.ptr, h.var_data.len, d, &e), VT_OK);
    assert_memory_equal(h.hw_report.ptr + 128, d, 32);
    vt_buf_free(&b);
}

/* cc_eventlog (trustee PR 1565): replayed into the quoted PCRs. No vector has a log that matches
 * its quote, so: a header-only log passes with nothing replayed; the synthetic PCR23 log does not
 * match this VM's PCR23 (zero) and is refused. */
static void test_snp_event_log(void **state)
{
    az *a = *state;
    vt_buf ev = {0}, log = {0};
    vt_test_load("az_snp_vtpm/evidence-v2.json", &ev);
    vt_test_load("aael/vtpm-synthetic/aael-pcr23-pull-image.bin", &log);
    size_t hdr = 32 + (size_t)(log.ptr[28] | log.ptr[29] << 8);
    uint8_t only[512];
    memcpy(only, log.ptr, hdr);
    memset(only + hdr, 0xff, 8);
    struct { const uint8_t *p; size_t n; vt_err want; } cases[] = {{only, hdr + 8, VT_OK}, {log.ptr, log.len, VT_E_VERIFY}};
    for (int i = 0; i < 2; i++) {
        json_t *o = json_loadb((const char *)ev.ptr, ev.len, 0, NULL);
        char *b = vt_b64_encode(cases[i].p, cases[i].n, false);
        json_object_set_new(o, "cc_eventlog", json_string(b));
        free(b);
        char *s = json_dumps(o, 0);
        json_decref(o);
        vt_error e;
        vt_checks ck = {0};
        json_t *c = NULL;
        assert_int_equal(run(a, VT_AZ_SNP, (const uint8_t *)s, strlen(s), NULL, 0, AT_2026, &c, &ck, &e), cases[i].want);
        if (cases[i].want == VT_OK) {
            assert_int_equal(json_array_size(json_object_get(c, "event_log")), 0);
            assert_int_equal(vt_checks_find(&ck, "event_log")->status, VT_CHECK_PASS);
        } else {
            assert_string_equal(e.check, "event_log");
            assert_non_null(strstr(e.msg, "PCR23"));
        }
        json_decref(c);
        free(s);
    }
    vt_buf_free(&ev);
    vt_buf_free(&log);
}

/* ---- parsers under hostile input ------------------------------------------------------------ */

static void test_hcl_sweeps(void **state)
{
    (void)state;
    vt_buf b = {0};
    vt_test_load("az_tdx_vtpm/hcl-report.bin", &b);
    vt_error e;
    vt_hcl_report h;
    size_t need = VT_HCL_VAR_DATA_OFFSET + 1201;
    for (size_t cut = 0; cut < b.len; cut++) {
        vt_err rc = vt_hcl_report_parse(b.ptr, cut, &h, &e);
        assert_int_equal(rc, cut >= need ? VT_OK : VT_E_INVALID);
    }
    /* bit flips in the header and IGVM block: parse or a named error, never a read past the end */
    size_t ranges[2][2] = {{0, 0x20}, {0x4C0, 0x4D4}};
    for (int r = 0; r < 2; r++)
        for (size_t i = ranges[r][0] * 8; i < ranges[r][1] * 8; i++) {
            b.ptr[i / 8] ^= (uint8_t)(1u << (i % 8));
            vt_err rc = vt_hcl_report_parse(b.ptr, b.len, &h, &e);
            if (rc == VT_OK) assert_true(h.var_data.ptr + h.var_data.len <= b.ptr + b.len);
            else assert_string_equal(e.check, "hcl_report");
            b.ptr[i / 8] ^= (uint8_t)(1u << (i % 8));
        }
    /* var_size larger than the buffer */
    b.ptr[0x4D0] = 0xff, b.ptr[0x4D1] = 0xff;
    assert_int_equal(vt_hcl_report_parse(b.ptr, b.len, &h, &e), VT_E_INVALID);
    vt_buf_free(&b);
    /* runtime claims that are not what they should be */
    const char *bad[] = {"[]", "{}", "{\"keys\":[]}", "{\"keys\":[{\"kid\":\"HCLAkPub\",\"kty\":\"EC\"}]}",
                         "{\"keys\":[{\"kid\":\"HCLAkPub\",\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"!!\"}]}", "{\"keys\":"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vt_bytes v = {(const uint8_t *)bad[i], strlen(bad[i])};
        vt_hcl_runtime_claims rc;
        assert_int_not_equal(vt_hcl_runtime_claims_parse(&v, &rc, &e), VT_OK);
        assert_string_equal(e.check, "hcl_ak");
    }
}

static void test_detect(void **state)
{
    (void)state;
    struct { const char *f; const char *kind; } s[] = {
        {"az_snp_vtpm/evidence-v0.json", "az-snp-vtpm"}, {"az_snp_vtpm/evidence-v2.json", "az-snp-vtpm"},
        {"az_tdx_vtpm/evidence-v0.json", "az-tdx-vtpm"}, {"az_tdx_vtpm/evidence-v1.json", "az-tdx-vtpm"},
        {"tpm/tpm_evidence.json", "tpm"}, {"aael/CCEL_AAEL_alibabacloud", NULL}};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        vt_buf b = {0};
        vt_test_load(s[i].f, &b);
        const char *k = vt_az_evidence_detect(b.ptr, b.len);
        if (s[i].kind == NULL) assert_null(k);
        else assert_string_equal(k, s[i].kind);
        vt_buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snp_sets),    cmocka_unit_test(test_snp_hcl_report_bin),
        cmocka_unit_test(test_snp_must_fail), cmocka_unit_test(test_snp_v1_hcl_header),
        cmocka_unit_test(test_tdx_sets),    cmocka_unit_test(test_tdx_must_fail),
        cmocka_unit_test(test_hcl_sweeps),  cmocka_unit_test(test_detect),
        cmocka_unit_test(test_snp_event_log),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
