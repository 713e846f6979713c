/* TPM 2.0 quotes, TCG2 event logs and AAEL against shared/vectors/{tpm,aael,ccel_gcp_gke} with the
 * facts their READMEs state, their must-fail mutations, synthetic ECDSA/RSA-PSS quotes for the
 * branches the vectors cannot reach, and truncation/bit-flip sweeps over every parser. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/codec.h"
#include "veritee/crypto.h"
#include "veritee/json.h"
#include "veritee/tdx.h"
#include "veritee/tdx_ccel.h"
#include "veritee/tpm.h"

static void hex_eq(const uint8_t *p, size_t n, const char *hex)
{
    char *h = vt_hex_dup(p, n);
    assert_non_null(h);
    assert_string_equal(h, hex);
    free(h);
}

static void unhex(const char *hex, vt_buf *out)
{
    vt_error e;
    assert_int_equal(vt_hex_decode(hex, strlen(hex), out, &e), VT_OK);
}

/* ---- tpm_evidence.json (trustee `tpm` verifier fixture) ---------------------------------- */

typedef struct tpm_fixture {
    vt_buf json, ak, msg, sig;
    vt_buf pcrb[24];
    vt_bytes pcrs[24];
    EVP_PKEY *key;
} tpm_fixture;

static void b64(json_t *o, const char *k, vt_buf *out)
{
    vt_error e;
    const char *s = json_string_value(json_object_get(o, k));
    assert_non_null(s);
    assert_int_equal(vt_b64_decode(s, strlen(s), out, &e), VT_OK);
}

static void load_tpm(tpm_fixture *f)
{
    memset(f, 0, sizeof *f);
    vt_test_load("tpm/tpm_evidence.json", &f->json);
    json_t *root = json_loadb((const char *)f->json.ptr, f->json.len, 0, NULL);
    assert_non_null(root);
    json_t *q = json_object_get(root, "tpm_quote");
    b64(root, "ak_public", &f->ak);
    b64(q, "message", &f->msg);
    b64(q, "signature", &f->sig);
    json_t *p = json_object_get(q, "pcrs");
    assert_int_equal(json_array_size(p), 24);
    for (size_t i = 0; i < 24; i++) {
        unhex(json_string_value(json_array_get(p, i)), &f->pcrb[i]);
        f->pcrs[i] = (vt_bytes){f->pcrb[i].ptr, f->pcrb[i].len};
    }
    json_decref(root);
    const unsigned char *d = f->ak.ptr;
    f->key = d2i_PUBKEY(NULL, &d, (long)f->ak.len);
    assert_non_null(f->key);
}

static void free_tpm(tpm_fixture *f)
{
    vt_buf_free(&f->json);
    vt_buf_free(&f->ak);
    vt_buf_free(&f->msg);
    vt_buf_free(&f->sig);
    for (int i = 0; i < 24; i++) vt_buf_free(&f->pcrb[i]);
    EVP_PKEY_free(f->key);
}

static const char TPM_NONCE[] =
    "a04182b506878d4f29b91ee606a71a0d3361ccf1b22db20c98adcaa537bea393ef0e41a18b3569ab678f1497fbc5c120";

static void test_tpm_evidence_facts(void **state)
{
    (void)state;
    tpm_fixture f;
    load_tpm(&f);
    vt_error e;
    uint8_t fp[32];
    assert_int_equal(vt_hash(VT_SHA256, f.ak.ptr, f.ak.len, fp, &e), VT_OK);
    hex_eq(fp, 32, "a517f03ffdaee469aef1a19569547e330726335d0461c3ef6383409c6295679e");
    vt_tpmt_signature s;
    assert_int_equal(vt_tpmt_signature_parse(f.sig.ptr, f.sig.len, &s, &e), VT_OK);
    assert_int_equal(s.sig_alg, VT_TPM_ALG_RSASSA);
    assert_int_equal(s.hash_alg, VT_TPM_ALG_SHA256);
    assert_int_equal(s.rsa.len, 256);
    vt_tpms_attest a;
    assert_int_equal(f.msg.len, 177);
    assert_int_equal(vt_tpms_attest_parse(f.msg.ptr, f.msg.len, &a, &e), VT_OK);
    hex_eq(a.qualified_signer.ptr, a.qualified_signer.len,
           "000b3081a4cbbe307f3de1456f9875a3c2632528a70d91fcf578ccf092465e4e8e09");
    assert_int_equal(a.clock, 1913548331ull);
    assert_int_equal(a.reset_count, 2);
    assert_int_equal(a.restart_count, 0);
    assert_int_equal(a.safe, 1);
    assert_true(a.firmware_version == 0x2019102300163636ull);
    assert_int_equal(a.pcr_select.count, 1);
    assert_int_equal(a.pcr_select.sel[0].hash_alg, VT_TPM_ALG_SHA256);
    assert_int_equal(a.pcr_select.sel[0].size_of_select, 3);
    assert_int_equal(vt_tpml_pcr_selection_count(&a.pcr_select), 24);
    assert_int_equal(a.extra_data.len, 64);
    char want[129];
    snprintf(want, sizeof want, "%s%s", TPM_NONCE, "00000000000000000000000000000000");
    hex_eq(a.extra_data.ptr, 64, want);
    hex_eq(a.pcr_digest.ptr, a.pcr_digest.len, "019de64c9318655e422c3d03831169896e31f02a1d74e4d8fef575bf4e0d75fa");
    free_tpm(&f);
}

static vt_err run_tpm(vt_tpm_verifier *v, const vt_buf *json, const char *nonce_hex, json_t **claims, vt_checks *ck,
                      vt_error *e)
{
    vt_buf n = {0};
    if (nonce_hex != NULL) unhex(nonce_hex, &n);
    vt_tpm_verify_opts o = {.nonce = n.ptr, .nonce_len = n.len};
    vt_err rc = vt_tpm_verify(v, json->ptr, json->len, &o, claims, ck, e);
    vt_buf_free(&n);
    return rc;
}

static void test_tpm_verify(void **state)
{
    (void)state;
    tpm_fixture f;
    load_tpm(&f);
    vt_error e;
    vt_tpm_verifier *v;
    assert_int_equal(vt_tpm_verifier_new(NULL, 0, &v, &e), VT_OK);
    vt_checks ck = {0};
    /* No AK trusted: missing trust, exit 3 in the CLI. */
    assert_int_equal(run_tpm(v, &f.json, TPM_NONCE, NULL, &ck, &e), VT_E_MISSING);
    assert_string_equal(e.check, "ak_trusted");
    assert_int_equal(vt_tpm_verifier_add_ak(v, f.key, &e), VT_OK);
    json_t *claims = NULL;
    memset(&ck, 0, sizeof ck);
    assert_int_equal(run_tpm(v, &f.json, TPM_NONCE, &claims, &ck, &e), VT_OK);
    assert_non_null(claims);
    assert_string_equal(json_string_value(json_object_get(claims, "ak_public_sha256")),
                        "a517f03ffdaee469aef1a19569547e330726335d0461c3ef6383409c6295679e");
    assert_string_equal(json_string_value(json_object_get(json_object_get(claims, "pcrs"), "pcr17")),
                        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
    assert_string_equal(json_string_value(json_object_get(claims, "init_data")),
                        "0000000000000000000000000000000000000000000000000000000000000000");
    const vt_check *nc = vt_checks_find(&ck, "tpm_quote_nonce");
    assert_non_null(nc);
    assert_int_equal(nc->status, VT_CHECK_PASS);
    assert_non_null(strstr(nc->detail, "zero-padded"));
    json_decref(claims);
    /* The 64-byte padded value itself matches exactly too. */
    char full[129];
    snprintf(full, sizeof full, "%s%032d", TPM_NONCE, 0);
    assert_int_equal(run_tpm(v, &f.json, full, NULL, NULL, &e), VT_OK);
    /* A nonce that is not a prefix, and a truncated one (32 bytes of the 48), fail. */
    assert_int_equal(run_tpm(v, &f.json, "00112233", NULL, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "tpm_quote_nonce");
    char trunc[65];
    memcpy(trunc, TPM_NONCE, 64);
    trunc[64] = '\0';
    assert_int_equal(run_tpm(v, &f.json, trunc, NULL, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "tpm_quote_nonce");
    /* No nonce: reported skipped, never passed. */
    memset(&ck, 0, sizeof ck);
    assert_int_equal(run_tpm(v, &f.json, NULL, NULL, &ck, &e), VT_OK);
    assert_int_equal(vt_checks_find(&ck, "tpm_quote_nonce")->status, VT_CHECK_SKIP);
    vt_tpm_verifier_free(v);

    /* The exact rule (Azure's) refuses the 48-byte data against the 64-byte extraData. */
    vt_buf n = {0};
    unhex(TPM_NONCE, &n);
    vt_tpm_quote q = {.message = {f.msg.ptr, f.msg.len}, .signature = {f.sig.ptr, f.sig.len}, .pcrs = f.pcrs, .n_pcrs = 24};
    vt_tpm_quote_opts qo = {.nonce = n.ptr, .nonce_len = n.len, .nonce_rule = VT_TPM_NONCE_EXACT};
    vt_tpm_quote_result *res = calloc(1, sizeof *res);
    assert_int_equal(vt_tpm_quote_verify(f.key, &q, &qo, res, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "tpm_quote_nonce");
    /* init-data: PCR8 zero is not the extend of any hash. */
    qo.nonce = NULL;
    assert_int_equal(vt_tpm_quote_verify(f.key, &q, &qo, res, NULL, &e), VT_OK);
    uint8_t h[32] = {1};
    assert_int_equal(vt_tpm_check_init_data(res, h, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "init_data");
    free(res);
    vt_buf_free(&n);
    free_tpm(&f);
}

/* Re-encode the fixture with one change and verify it. */
static vt_err tpm_mutated(tpm_fixture *f, vt_tpm_verifier *v, const vt_buf *msg, const vt_buf *sig, size_t n_pcrs,
                          int flip_pcr, vt_error *e)
{
    json_t *root = json_loadb((const char *)f->json.ptr, f->json.len, 0, NULL);
    json_t *q = json_object_get(root, "tpm_quote");
    char *m = vt_b64_encode(msg->ptr, msg->len, false), *s = vt_b64_encode(sig->ptr, sig->len, false);
    json_object_set_new(q, "message", json_string(m));
    json_object_set_new(q, "signature", json_string(s));
    free(m);
    free(s);
    json_t *pcrs = json_object_get(q, "pcrs");
    while (json_array_size(pcrs) > n_pcrs) json_array_remove(pcrs, json_array_size(pcrs) - 1);
    if (flip_pcr >= 0) {
        uint8_t b[32];
        memcpy(b, f->pcrb[flip_pcr].ptr, 32);
        b[0] ^= 1;
        json_array_set_new(pcrs, (size_t)flip_pcr, vt_json_hex_string(b, 32));
    }
    char *txt = json_dumps(root, 0);
    json_decref(root);
    vt_buf j = {(uint8_t *)txt, strlen(txt)};
    vt_err rc = run_tpm(v, &j, NULL, NULL, NULL, e);
    free(txt);
    return rc;
}

static void test_tpm_must_fail(void **state)
{
    (void)state;
    tpm_fixture f;
    load_tpm(&f);
    vt_error e;
    vt_tpm_verifier *v;
    assert_int_equal(vt_tpm_verifier_new(NULL, 0, &v, &e), VT_OK);
    assert_int_equal(vt_tpm_verifier_add_ak(v, f.key, &e), VT_OK);
    assert_int_equal(tpm_mutated(&f, v, &f.msg, &f.sig, 24, -1, &e), VT_OK);
    f.msg.ptr[10] ^= 1;
    assert_int_equal(tpm_mutated(&f, v, &f.msg, &f.sig, 24, -1, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "tpm_quote_signature");
    f.msg.ptr[10] ^= 1;
    assert_int_equal(tpm_mutated(&f, v, &f.msg, &f.sig, 24, 5, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "tpm_pcr_digest");
    assert_int_equal(tpm_mutated(&f, v, &f.msg, &f.sig, 23, -1, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "tpm_pcr_digest");
    /* sigAlg RSAPSS on a PKCS#1 v1.5 signature: the scheme is taken from the signature, and fails. */
    f.sig.ptr[1] = 0x16;
    assert_int_equal(tpm_mutated(&f, v, &f.msg, &f.sig, 24, -1, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "tpm_quote_signature");
    f.sig.ptr[1] = 0x01; /* TPM_ALG_RSA is no signature scheme */
    assert_int_equal(tpm_mutated(&f, v, &f.msg, &f.sig, 24, -1, &e), VT_E_UNSUPPORTED);
    assert_string_equal(e.check, "tpm_quote_signature");
    f.sig.ptr[1] = 0x14;
    f.sig.ptr[3] = 0x0c; /* SHA-384 where SHA-256 is required */
    assert_int_equal(tpm_mutated(&f, v, &f.msg, &f.sig, 24, -1, &e), VT_E_UNSUPPORTED);
    f.sig.ptr[3] = 0x0b;
    /* An AK that is not the trusted one. */
    vt_tpm_verifier *v2;
    EVP_PKEY *other = EVP_RSA_gen(2048);
    assert_non_null(other);
    assert_int_equal(vt_tpm_verifier_new(NULL, 0, &v2, &e), VT_OK);
    assert_int_equal(vt_tpm_verifier_add_ak(v2, other, &e), VT_OK);
    assert_int_equal(run_tpm(v2, &f.json, TPM_NONCE, NULL, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "ak_trusted");
    EVP_PKEY_free(other);
    vt_tpm_verifier_free(v2);
    /* An ak_public that is no SPKI. */
    const char *bad = "{\"ak_public\":\"AAAA\",\"tpm_quote\":{\"message\":\"\",\"signature\":\"\",\"pcrs\":[]}}";
    vt_buf bj = {(uint8_t *)bad, strlen(bad)};
    assert_int_equal(run_tpm(v, &bj, NULL, NULL, NULL, &e), VT_E_INVALID);
    assert_string_equal(e.check, "ak_trusted");
    vt_tpm_verifier_free(v);
    free_tpm(&f);
}

static void test_tpm_verifier_pem(void **state)
{
    (void)state;
    vt_buf pem = {0}, qb = {0};
    vt_test_load("tpm/azure-cvm-tooling/akpub.pem", &pem);
    vt_test_load("tpm/azure-cvm-tooling/quote.bin", &qb);
    vt_error e;
    vt_tpm_verifier *v;
    assert_int_equal(vt_tpm_verifier_new(pem.ptr, pem.len, &v, &e), VT_OK);
    assert_int_equal(vt_tpm_verifier_new("garbage", 7, &(vt_tpm_verifier *){NULL}, &e), VT_E_INVALID);
    /* bincode: u64le length + signature, u64le length + message, u64le count + count x 32 bytes */
    vt_reader r;
    vt_reader_init(&r, qb.ptr, qb.len, "bincode quote", &e);
    uint64_t n;
    vt_bytes sig, msg, pcrs[24];
    assert_int_equal(vt_read_u64le(&r, "siglen", &n), VT_OK);
    assert_int_equal(vt_read_view(&r, "sig", (size_t)n, &sig), VT_OK);
    assert_int_equal(vt_read_u64le(&r, "msglen", &n), VT_OK);
    assert_int_equal(vt_read_view(&r, "msg", (size_t)n, &msg), VT_OK);
    assert_int_equal(vt_read_u64le(&r, "count", &n), VT_OK);
    assert_int_equal(n, 24);
    for (int i = 0; i < 24; i++) assert_int_equal(vt_read_view(&r, "pcr", 32, &pcrs[i]), VT_OK);
    assert_int_equal(vt_reader_remaining(&r), 0);
    EVP_PKEY *ak = NULL;
    BIO *b = BIO_new_mem_buf(pem.ptr, (int)pem.len);
    ak = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(ak);
    vt_tpm_quote q = {.message = msg, .signature = sig, .signature_raw = true, .pcrs = pcrs, .n_pcrs = 24};
    vt_tpm_quote_opts o = {.nonce = (const uint8_t *)"challenge", .nonce_len = 9};
    vt_tpm_quote_result *res = calloc(1, sizeof *res);
    vt_checks ck = {0};
    assert_int_equal(vt_tpm_quote_verify(ak, &q, &o, res, &ck, &e), VT_OK);
    hex_eq(res->attest.pcr_digest.ptr, 32, "04fabd988106412e438c1b93ad3b4b046c760f8f99ec557d87adf2ab02b7a4a0");
    assert_int_equal(vt_checks_find(&ck, "tpm_quote_signature")->status, VT_CHECK_PASS);
    o.nonce = (const uint8_t *)"challengf";
    assert_int_equal(vt_tpm_quote_verify(ak, &q, &o, res, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "tpm_quote_nonce");
    free(res);
    EVP_PKEY_free(ak);
    vt_tpm_verifier_free(v);
    vt_buf_free(&pem);
    vt_buf_free(&qb);
}

static void test_tpm_legacy_subset(void **state)
{
    (void)state;
    vt_buf m = {0};
    vt_test_load("tpm/legacy/tpm-quote.msg", &m);
    vt_error e;
    vt_tpms_attest a;
    assert_int_equal(vt_tpms_attest_parse(m.ptr, m.len, &a, &e), VT_OK);
    assert_int_equal(vt_tpml_pcr_selection_count(&a.pcr_select), 9); /* PCRs 0-7 and 14 */
    assert_int_equal(a.pcr_select.sel[0].pcr_select[0], 0xff);
    assert_int_equal(a.pcr_select.sel[0].pcr_select[1], 0x40);
    assert_int_equal(a.clock, 861327613ull);
    assert_int_equal(a.extra_data.len, 9);
    assert_memory_equal(a.extra_data.ptr, "challenge", 9);
    hex_eq(a.pcr_digest.ptr, 32, "9d608cf40eb5bc7454c6cbc0985c17c2efa45d5e5b28004aa7d77c1285d2fa5d");
    vt_buf_free(&m);
}

/* ---- synthetic quotes: ECDSA and RSA-PSS, TPMT_PUBLIC ------------------------------------ */

static size_t put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; return 2; }
static size_t put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); return 4; }

/* A TPMS_ATTEST quoting PCRs 0..2 of the SHA-256 bank with the given values. */
static size_t make_attest(uint8_t *m, const uint8_t *nonce, size_t nl, const uint8_t pcrs[3][32])
{
    size_t o = 0;
    vt_error e;
    o += put32(m + o, VT_TPM_GENERATED_VALUE);
    o += put16(m + o, VT_TPM_ST_ATTEST_QUOTE);
    o += put16(m + o, 34);
    o += put16(m + o, VT_TPM_ALG_SHA256);
    memset(m + o, 0xaa, 32), o += 32;
    o += put16(m + o, (uint16_t)nl);
    memcpy(m + o, nonce, nl), o += nl;
    memset(m + o, 0, 17), o += 17;
    memset(m + o, 0, 8), o += 8;
    o += put32(m + o, 1);
    o += put16(m + o, VT_TPM_ALG_SHA256);
    m[o++] = 3, m[o++] = 0x07, m[o++] = 0, m[o++] = 0;
    o += put16(m + o, 32);
    assert_int_equal(vt_hash(VT_SHA256, pcrs, 96, m + o, &e), VT_OK);
    return o + 32;
}

static size_t sign_tpmt(EVP_PKEY *k, uint16_t alg, const uint8_t *m, size_t ml, uint8_t *out)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    assert_int_equal(EVP_DigestSignInit_ex(c, &pc, "SHA256", NULL, NULL, k, NULL), 1);
    if (alg == VT_TPM_ALG_RSAPSS) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 32), 1);
    }
    uint8_t sig[600];
    size_t sl = sizeof sig;
    assert_int_equal(EVP_DigestSign(c, sig, &sl, m, ml), 1);
    EVP_MD_CTX_free(c);
    size_t o = put16(out, alg);
    o += put16(out + o, VT_TPM_ALG_SHA256);
    if (alg != VT_TPM_ALG_ECDSA) {
        o += put16(out + o, (uint16_t)sl);
        memcpy(out + o, sig, sl);
        return o + sl;
    }
    uint8_t *rs = NULL;
    size_t rl = 0;
    const unsigned char *d = sig;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &d, (long)sl);
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(es, &r, &s);
    (void)rs, (void)rl;
    /* r without its leading zero bytes: TPM2B_ECC_PARAMETER may be shorter than the field */
    o += put16(out + o, (uint16_t)BN_num_bytes(r));
    o += (size_t)BN_bn2bin(r, out + o);
    o += put16(out + o, (uint16_t)BN_num_bytes(s));
    o += (size_t)BN_bn2bin(s, out + o);
    ECDSA_SIG_free(es);
    return o;
}

static void test_tpm_synthetic_schemes(void **state)
{
    (void)state;
    uint8_t pcr[3][32], m[256], s[700];
    for (int i = 0; i < 3; i++) memset(pcr[i], i + 1, 32);
    vt_bytes pv[3] = {{pcr[0], 32}, {pcr[1], 32}, {pcr[2], 32}};
    size_t ml = make_attest(m, (const uint8_t *)"nonce-32", 8, pcr);
    EVP_PKEY *ec = EVP_EC_gen("P-256"), *rsa = EVP_RSA_gen(2048);
    assert_non_null(ec);
    assert_non_null(rsa);
    vt_error e;
    vt_tpm_quote_result *res = calloc(1, sizeof *res);
    vt_tpm_quote_opts o = {.nonce = (const uint8_t *)"nonce-32", .nonce_len = 8};
    struct { EVP_PKEY *k; uint16_t alg; } cases[] = {{ec, VT_TPM_ALG_ECDSA}, {rsa, VT_TPM_ALG_RSAPSS}, {rsa, VT_TPM_ALG_RSASSA}};
    for (size_t i = 0; i < 3; i++) {
        size_t sl = sign_tpmt(cases[i].k, cases[i].alg, m, ml, s);
        vt_tpm_quote q = {.message = {m, ml}, .signature = {s, sl}, .pcrs = pv, .n_pcrs = 3};
        assert_int_equal(vt_tpm_quote_verify(cases[i].k, &q, &o, res, NULL, &e), VT_OK);
        assert_int_equal(res->n_pcrs, 3);
        assert_memory_equal(vt_tpm_quote_pcr(res, VT_TPM_ALG_SHA256, 2)->value, pcr[2], 32);
        assert_null(vt_tpm_quote_pcr(res, VT_TPM_ALG_SHA256, 3));
        /* the wrong key type for the scheme */
        EVP_PKEY *wrong = cases[i].k == ec ? rsa : ec;
        assert_int_equal(vt_tpm_quote_verify(wrong, &q, &o, res, NULL, &e), VT_E_VERIFY);
        assert_string_equal(e.check, "tpm_quote_signature");
        /* a flipped message byte (clock) */
        m[60] ^= 1;
        assert_int_equal(vt_tpm_quote_verify(cases[i].k, &q, &o, res, NULL, &e), VT_E_VERIFY);
        assert_string_equal(e.check, "tpm_quote_signature");
        m[60] ^= 1;
    }
    /* The TpmAttester's truncation (since Aug 2025): 32 bytes of a 48-byte report data are
     * accepted under the zero-padded rule only, shorter prefixes never. */
    uint8_t rd48[48];
    for (int i = 0; i < 48; i++) rd48[i] = (uint8_t)(0x40 + i);
    vt_tpm_quote_opts t48 = {.nonce = rd48, .nonce_len = 48, .nonce_rule = VT_TPM_NONCE_ZERO_PADDED};
    const size_t cut[3] = {32, 31, 16};
    for (size_t i = 0; i < 3; i++) {
        size_t tl = make_attest(m, rd48, cut[i], pcr);
        size_t tsl = sign_tpmt(rsa, VT_TPM_ALG_RSASSA, m, tl, s);
        vt_tpm_quote tq = {.message = {m, tl}, .signature = {s, tsl}, .pcrs = pv, .n_pcrs = 3};
        vt_checks tck = {0};
        vt_err want = cut[i] == 32 ? VT_OK : VT_E_VERIFY;
        assert_int_equal(vt_tpm_quote_verify(rsa, &tq, &t48, res, &tck, &e), want);
        if (want == VT_OK) {
            assert_true(res->nonce_truncated);
            assert_non_null(strstr(vt_checks_find(&tck, "tpm_quote_nonce")->detail, "truncated"));
            t48.nonce_rule = VT_TPM_NONCE_EXACT; /* Azure's rule: never */
            assert_int_equal(vt_tpm_quote_verify(rsa, &tq, &t48, res, NULL, &e), VT_E_VERIFY);
            t48.nonce_rule = VT_TPM_NONCE_ZERO_PADDED;
            rd48[40] ^= 1; /* bytes after the 32 kept do not matter; one inside does */
            assert_int_equal(vt_tpm_quote_verify(rsa, &tq, &t48, res, NULL, &e), VT_OK);
            rd48[40] ^= 1;
            rd48[5] ^= 1;
            assert_int_equal(vt_tpm_quote_verify(rsa, &tq, &t48, res, NULL, &e), VT_E_VERIFY);
            rd48[5] ^= 1;
        } else {
            assert_string_equal(e.check, "tpm_quote_nonce");
        }
    }
    ml = make_attest(m, (const uint8_t *)"nonce-32", 8, pcr);
    /* Trailing bytes after pcrDigest are refused even when signed. */
    m[ml] = 0;
    size_t sl = sign_tpmt(ec, VT_TPM_ALG_ECDSA, m, ml + 1, s);
    vt_tpm_quote q = {.message = {m, ml + 1}, .signature = {s, sl}, .pcrs = pv, .n_pcrs = 3};
    assert_int_equal(vt_tpm_quote_verify(ec, &q, &o, res, NULL, &e), VT_E_INVALID);
    assert_string_equal(e.check, "tpm_quote_parse");
    free(res);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa);
}

/* TPMT_PUBLIC of an RSA AK (restricted signing key, RSASSA-SHA256) rebuilt from the fixture. */
static void test_tpmt_public(void **state)
{
    (void)state;
    tpm_fixture f;
    load_tpm(&f);
    BIGNUM *n = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(f.key, "n", &n), 1);
    uint8_t p[400];
    size_t o = 2;
    o += put16(p + o, VT_TPM_ALG_RSA);
    o += put16(p + o, VT_TPM_ALG_SHA256);
    o += put32(p + o, 0x00050072);
    o += put16(p + o, 0);
    o += put16(p + o, VT_TPM_ALG_NULL);
    o += put16(p + o, VT_TPM_ALG_RSASSA);
    o += put16(p + o, VT_TPM_ALG_SHA256);
    o += put16(p + o, 2048);
    o += put32(p + o, 0);
    o += put16(p + o, 256);
    o += (size_t)BN_bn2binpad(n, p + o, 256);
    put16(p, (uint16_t)(o - 2));
    BN_free(n);
    vt_error e;
    vt_tpmt_public pub;
    assert_int_equal(vt_tpmt_public_parse(p, o, true, &pub, &e), VT_OK);
    assert_int_equal(pub.scheme, VT_TPM_ALG_RSASSA);
    assert_int_equal(vt_tpmt_public_parse(p + 2, o - 2, false, &pub, &e), VT_OK);
    EVP_PKEY *k = NULL;
    assert_int_equal(vt_tpmt_public_to_pkey(&pub, &k, &e), VT_OK);
    assert_int_equal(EVP_PKEY_eq(k, f.key), 1);
    EVP_PKEY_free(k);
    for (size_t cut = 0; cut < o; cut++) assert_int_not_equal(vt_tpmt_public_parse(p, cut, true, &pub, &e), VT_OK);
    free_tpm(&f);
}

/* ---- sweeps ------------------------------------------------------------------------------ */

static void test_tpm_sweeps(void **state)
{
    (void)state;
    tpm_fixture f;
    load_tpm(&f);
    vt_error e;
    vt_tpms_attest a;
    vt_tpmt_signature s;
    for (size_t cut = 0; cut < f.msg.len; cut++) {
        assert_int_equal(vt_tpms_attest_parse(f.msg.ptr, cut, &a, &e), VT_E_INVALID);
        assert_true(e.msg[0] != '\0');
    }
    for (size_t cut = 0; cut < f.sig.len; cut++) assert_int_not_equal(vt_tpmt_signature_parse(f.sig.ptr, cut, &s, &e), VT_OK);
    /* Every single-bit flip of the length-bearing prefix either parses or fails with a message;
     * a flip in a length field must never read outside the buffer (ASan watches). */
    for (size_t i = 0; i < f.msg.len * 8; i++) {
        f.msg.ptr[i / 8] ^= (uint8_t)(1u << (i % 8));
        vt_err rc = vt_tpms_attest_parse(f.msg.ptr, f.msg.len, &a, &e);
        assert_true(rc == VT_OK || (rc == VT_E_INVALID && e.msg[0] != '\0'));
        if (rc == VT_OK) assert_true(a.pcr_digest.ptr + a.pcr_digest.len == f.msg.ptr + f.msg.len);
        f.msg.ptr[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    free_tpm(&f);
}

/* ---- event logs ---------------------------------------------------------------------------- */

static void test_ccel_aael_alibaba(void **state)
{
    (void)state;
    vt_buf log = {0};
    vt_test_load("aael/CCEL_AAEL_alibabacloud", &log);
    vt_error e;
    vt_tcg2_spec_id spec;
    size_t end;
    assert_int_equal(vt_tcg2_log_iterate(log.ptr, log.len, &spec, &end, NULL, NULL, &e), VT_OK);
    assert_true(spec.firmware_signature);
    assert_int_equal(spec.n_algs, 1);
    assert_int_equal(spec.alg[0], VT_TPM_ALG_SHA384);
    assert_int_equal(spec.uintn_size, 2);
    assert_int_equal(end, 11707);
    vt_tcg2_replay *r = calloc(1, sizeof *r);
    assert_int_equal(vt_tcg2_replay_log(log.ptr, log.len, VT_TPM_ALG_SHA384, VT_TCG2_SEED_ZERO, r, &e), VT_OK);
    assert_int_equal(r->aael_events, 2);
    static const char *rtmr[4] = {
        "b796e1c11396c198ae88794def4cb8e24fa9b35468287c298087f00d4de7433e4e31a297a4e5a03d4300fa6f3a96d47c",
        "3b0b906140fcea689c8774ac1eafcf0fef8e22ba81a047fd750ebd7df3235c2704df6106a758e31e5645e9838ff37406",
        "35f2801338c1b5fce96518f058c37e0fe9ed247a12dcd5f50d9c18fe4b6c71311bb63fca2640c7915817b6aa412a8480",
        "5e4ecd49d3c7983d6f9ca36755b5cee0b423d7fa8c5a88aeb0681bd4698772bc37b4463dc5f722efe352a66417257dad"};
    for (int i = 0; i < 4; i++) hex_eq(r->reg[i + 1], 48, rtmr[i]);
    /* The tdx layer's CCEL replay agrees. */
    uint8_t t[4][48];
    size_t nev;
    assert_int_equal(vt_tdx_ccel_replay(log.ptr, log.len, t, &nev, &e), VT_OK);
    for (int i = 0; i < 4; i++) assert_memory_equal(t[i], r->reg[i + 1], 48);
    assert_int_equal(nev, 88); /* the header and 87 records */
    /* Claims list both AAEL entries. */
    json_t *j = vt_tcg2_log_json(log.ptr, log.len, &e);
    assert_non_null(j);
    assert_int_equal(json_array_size(j), 87);
    json_t *last = json_object_get(json_array_get(j, 86), "aael");
    assert_non_null(last);
    assert_string_equal(json_string_value(json_object_get(last, "domain")), "coco.com");
    assert_string_equal(json_string_value(json_object_get(last, "operation")), "some-operation");
    json_decref(j);

    /* Must fail: an edited AAEL text byte without a fixed digest. */
    uint8_t *mut = malloc(log.len);
    memcpy(mut, log.ptr, log.len);
    size_t pos = 11707 - 5; /* inside the last AAEL text */
    mut[pos] ^= 0x01;
    assert_int_equal(vt_tcg2_replay_log(mut, log.len, VT_TPM_ALG_SHA384, VT_TCG2_SEED_ZERO, r, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "aael_digest");
    /* Must fail: dropping the last AAEL record changes CCMR4. */
    memcpy(mut, log.ptr, log.len);
    size_t last_len = 4 + 4 + 4 + 2 + 48 + 4 + 84; /* EventSize 84 */
    memset(mut + 11707 - last_len, 0xff, 8);
    assert_int_equal(vt_tcg2_replay_log(mut, 11707 - last_len + 8, VT_TPM_ALG_SHA384, VT_TCG2_SEED_ZERO, r, &e), VT_OK);
    assert_int_equal(r->aael_events, 1);
    uint8_t want[48];
    vt_buf w = {0};
    unhex(rtmr[3], &w);
    memcpy(want, w.ptr, 48);
    vt_buf_free(&w);
    assert_memory_not_equal(r->reg[4], want, 48);
    /* Replay with an algorithm the log does not carry. */
    assert_int_equal(vt_tcg2_replay_log(log.ptr, log.len, VT_TPM_ALG_SHA256, VT_TCG2_SEED_ZERO, r, &e), VT_E_INVALID);
    /* Truncation sweep: never a crash, and a cut inside a record is an error. */
    for (size_t cut = 0; cut < log.len; cut += 7) {
        vt_err rc = vt_tcg2_log_iterate(log.ptr, cut, NULL, &end, NULL, NULL, &e);
        if (rc == VT_OK) assert_true(end <= cut);
    }
    free(mut);
    free(r);
    vt_buf_free(&log);
}

static void test_ccel_gcp_gke(void **state)
{
    (void)state;
    struct { const char *file; size_t end; const char *r[3]; } sets[] = {
        {"ccel_gcp_gke/CCEL_data_gcp", 20349,
         {"3300980705adf09d28b707b79699d9874892164280832be2c386a715b6e204e0897fb564a064f810659207ba862b304f",
          "204d49f78d29918fe7b2f694e76653861a0c2a018987d2c3a54266eff737232524cf0af68c4d180e2f8c2c0937f21967", NULL}},
        {"ccel_gcp_gke/CCEL_data_grub_gke", 21897,
         {"bc9945139042cf2cc75caf920aa57f14884ecfd7e893bccc51250c8ce90eb53ce72741e6adaa18183eb1331a87d4544a",
          "c17cb288a4dee302bb9ed8d27257a168f3264ad68cab53757f37eeaa7039657fa887cad65cf910e0fdc435ff110f8a7b",
          "334aeba2c985f8886cea97d1ecffbd512769d528b9a94009583db667ad7d2faa7d37fa145d75b192ceee2d2f10b2eb6d"}}};
    for (size_t k = 0; k < 2; k++) {
        vt_buf log = {0};
        vt_test_load(sets[k].file, &log);
        vt_error e;
        size_t end;
        assert_int_equal(vt_tcg2_log_iterate(log.ptr, log.len, NULL, &end, NULL, NULL, &e), VT_OK);
        assert_int_equal(end, sets[k].end); /* stops at the FF fill */
        vt_tcg2_replay *r = calloc(1, sizeof *r);
        assert_int_equal(vt_tcg2_replay_log(log.ptr, log.len, VT_TPM_ALG_SHA384, VT_TCG2_SEED_ZERO, r, &e), VT_OK);
        for (int i = 0; i < 3; i++) {
            if (sets[k].r[i] == NULL) assert_false(r->touched[i + 2]);
            else hex_eq(r->reg[i + 1], 48, sets[k].r[i]);
        }
        assert_false(r->touched[4]);
        assert_false(r->touched[0]); /* GKE's EV_NO_ACTION records at index 0 are never extended */
        /* must fail: RTMR0 given with its last nibble changed */
        char *h = vt_hex_dup(r->reg[1], 48);
        if (k == 0) assert_string_not_equal(h, "3300980705adf09d28b707b79699d9874892164280832be2c386a715b6e204e0897fb564a064f810659207ba862b304d");
        free(h);
        json_t *j = vt_tcg2_log_json(log.ptr, log.len, &e);
        assert_int_equal(json_array_size(j), k == 0 ? 21 : 35);
        json_decref(j);
        free(r);
        vt_buf_free(&log);
    }
}

static void test_vtpm_synthetic(void **state)
{
    (void)state;
    vt_error e;
    vt_tcg2_replay *r = calloc(1, sizeof *r);
    vt_buf log = {0};
    vt_test_load("aael/vtpm-synthetic/aael-pcr17-pull-image.bin", &log);
    assert_int_equal(vt_tcg2_replay_log(log.ptr, log.len, VT_TPM_ALG_SHA256, VT_TCG2_SEED_TPM, r, &e), VT_OK);
    hex_eq(r->reg[17], 32, "3ccfec1f1a0b9d532a2966c952036e75a57f9f6f15b6655e7e4dcb74baf6601e");
    /* must fail: PCR17 replayed from a zero seed */
    assert_int_equal(vt_tcg2_replay_log(log.ptr, log.len, VT_TPM_ALG_SHA256, VT_TCG2_SEED_ZERO, r, &e), VT_OK);
    char *h = vt_hex_dup(r->reg[17], 32);
    assert_string_not_equal(h, "3ccfec1f1a0b9d532a2966c952036e75a57f9f6f15b6655e7e4dcb74baf6601e");
    free(h);
    vt_tcg2_spec_id spec;
    assert_int_equal(vt_tcg2_log_iterate(log.ptr, log.len, &spec, NULL, NULL, NULL, &e), VT_OK);
    assert_false(spec.firmware_signature);
    assert_int_equal(spec.n_algs, 3);
    vt_buf_free(&log);
    vt_test_load("aael/vtpm-synthetic/aael-pcr23-pull-image.bin", &log);
    assert_int_equal(vt_tcg2_replay_log(log.ptr, log.len, VT_TPM_ALG_SHA256, VT_TCG2_SEED_TPM, r, &e), VT_OK);
    hex_eq(r->reg[23], 32, "4c8ca947d9ec3dd8692435cd7f99900f96363da802bf1227a794ad0c2c806b8b");
    vt_buf_free(&log);
    vt_test_load("aael/vtpm-synthetic/aael-multi-pcr17-pcr23.bin", &log);
    assert_int_equal(vt_tcg2_replay_log(log.ptr, log.len, VT_TPM_ALG_SHA256, VT_TCG2_SEED_TPM, r, &e), VT_OK);
    hex_eq(r->reg[17], 32, "a1222b9a979f766be72b297094633074828b91b7e5fb099fdb51f96cebeb1b02");
    uint8_t z[32] = {0}, d[32], w[32];
    assert_int_equal(vt_hash(VT_SHA256, "app-support-event", 17, d, &e), VT_OK);
    assert_int_equal(vt_hash2(VT_SHA256, z, 32, d, 32, w, &e), VT_OK);
    assert_memory_equal(r->reg[23], w, 32);
    vt_buf_free(&log);
    free(r);
}

/* The attestation agent's own log when there is no firmware CCEL (guest-components EL_HEADER): an
 * all-zero Spec ID signature, SHA-384 and SM3, AAEL records at CC MR index 4 carrying both digests.
 * The tdx layer's CCEL replay (which the KBS runs on a TDX guest's cc_eventlog) reads it through
 * the same parser and lands on RTMR3. */
static void test_aa_synthetic_header(void **state)
{
    (void)state;
    uint8_t b[512];
    size_t o = 0;
    vt_error e;
    static const uint8_t hdr_fixed[] = {0, 0, 0, 0, 3, 0, 0, 0};
    memcpy(b, hdr_fixed, 8), o = 8;
    memset(b + o, 0, 20), o += 20;
    b[o] = 37, b[o + 1] = b[o + 2] = b[o + 3] = 0, o += 4; /* EventSize */
    memset(b + o, 0, 16 + 4), o += 20;                      /* zero signature, platformClass */
    b[o++] = 0, b[o++] = 2, b[o++] = 0, b[o++] = 2;
    b[o++] = 2, b[o++] = 0, b[o++] = 0, b[o++] = 0;         /* two algorithms */
    b[o++] = 0x0c, b[o++] = 0, b[o++] = 48, b[o++] = 0;     /* SHA-384 */
    b[o++] = 0x12, b[o++] = 0, b[o++] = 32, b[o++] = 0;     /* SM3 */
    b[o++] = 0;
    const char *text = "github.com/confidential-containers PullImage {\"image\":\"busybox\"}";
    uint8_t data[128];
    size_t tl = strlen(text), dl = 8 + tl;
    memcpy(data, "\x4c\x45\x41\x41", 4);
    data[4] = (uint8_t)tl, data[5] = data[6] = data[7] = 0;
    memcpy(data + 8, text, tl);
    uint8_t d384[48], dsm3[32];
    assert_int_equal(vt_hash(VT_SHA384, data, dl, d384, &e), VT_OK);
    bool sm3 = vt_tpm_hash2(VT_TPM_ALG_SM3_256, data, dl, NULL, 0, dsm3, &e) == VT_OK;
    if (!sm3) memset(dsm3, 0x33, 32);
    static const uint8_t rec[] = {4, 0, 0, 0, 6, 0, 0, 0, 2, 0, 0, 0, 0x0c, 0};
    memcpy(b + o, rec, sizeof rec), o += sizeof rec;
    memcpy(b + o, d384, 48), o += 48;
    b[o++] = 0x12, b[o++] = 0;
    memcpy(b + o, dsm3, 32), o += 32;
    b[o++] = (uint8_t)dl, b[o++] = 0, b[o++] = 0, b[o++] = 0;
    memcpy(b + o, data, dl), o += dl;
    memset(b + o, 0xff, 8), o += 8;

    uint8_t rtmr[4][48], want[48], zero[48] = {0};
    size_t n;
    assert_int_equal(vt_tdx_ccel_replay(b, o, rtmr, &n, &e), VT_OK);
    assert_int_equal(vt_hash2(VT_SHA384, zero, 48, d384, 48, want, &e), VT_OK);
    assert_memory_equal(rtmr[3], want, 48);
    assert_memory_equal(rtmr[0], zero, 48);
    vt_tcg2_replay *r = calloc(1, sizeof *r);
    assert_int_equal(vt_tcg2_replay_log(b, o, VT_TPM_ALG_SHA384, VT_TCG2_SEED_ZERO, r, &e), VT_OK);
    assert_int_equal(r->aael_events, 1);
    assert_memory_equal(r->reg[4], want, 48);
    if (sm3) assert_int_equal(vt_tcg2_replay_log(b, o, VT_TPM_ALG_SM3_256, VT_TCG2_SEED_ZERO, r, &e), VT_OK);
    /* a header signature that is neither firmware's nor zero is refused by both */
    b[32] = 'X';
    assert_int_equal(vt_tdx_ccel_replay(b, o, rtmr, &n, &e), VT_E_UNSUPPORTED);
    assert_int_equal(vt_tcg2_replay_log(b, o, VT_TPM_ALG_SHA384, VT_TCG2_SEED_ZERO, r, &e), VT_E_UNSUPPORTED);
    free(r);
}

static void test_aael_legacy(void **state)
{
    (void)state;
    vt_error e;
    uint8_t s[48];
    size_t n;
    vt_buf t = {0}, q = {0};
    vt_test_load("aael/legacy-text/AAEL_data_1", &t);
    vt_test_load("aael/legacy-text/AAEL_quote_tdx", &q);
    assert_int_equal(vt_aael_legacy_replay(t.ptr, t.len, s, &n, &e), VT_OK);
    assert_int_equal(n, 1);
    hex_eq(s, 48, "71563a23b430b8637970b866169052815ef9434056516dc9f78c1b3bfb745cee18a2ca92aa53c8122be5cbe59a100764");
    vt_tdx_quote tq;
    assert_int_equal(vt_tdx_quote_parse(q.ptr, q.len, &tq, &e), VT_OK);
    assert_memory_equal(tq.td.rtmr[3], s, 48);
    /* must fail: an edited text byte */
    t.ptr[t.len - 3] ^= 0x01;
    assert_int_equal(vt_aael_legacy_replay(t.ptr, t.len, s, &n, &e), VT_OK);
    assert_memory_not_equal(tq.td.rtmr[3], s, 48);
    vt_buf_free(&t);
    struct { const char *f; size_t n; const char *want; } more[] = {
        {"aael/legacy-text/AAEL_data_2", 0,
         "31fa17881137923029b1da5b368e92d8b22b14bbb4deaa360da61fce7aa530bd2f4c59ac7bd27021ef64104ff4dd04f9"},
        {"aael/legacy-text/AAEL_data_3", 2,
         "0de62b45b29775495d278c85ad63ff45e59406e509506b26c545a5419316e1c4bd2b00a4e803051fa98b550767e13f06"}};
    for (int i = 0; i < 2; i++) {
        vt_test_load(more[i].f, &t);
        assert_int_equal(vt_aael_legacy_replay(t.ptr, t.len, s, &n, &e), VT_OK);
        if (more[i].n) assert_int_equal(n, more[i].n);
        hex_eq(s, 48, more[i].want);
        assert_memory_not_equal(tq.td.rtmr[3], s, 48); /* must fail against the quote's RTMR3 */
        for (size_t cut = 0; cut < t.len; cut++)
            if (vt_aael_legacy_replay(t.ptr, cut, s, &n, &e) != VT_OK) n = 0; /* any outcome but a crash */
        vt_buf_free(&t);
    }
    assert_int_equal(vt_aael_legacy_replay((const uint8_t *)"INIT sha256/00", 14, s, &n, &e), VT_E_INVALID);
    vt_buf_free(&q);
}

static void test_aael_entry(void **state)
{
    (void)state;
    vt_error e;
    vt_aael_entry a;
    const char *ok = "github.com/confidential-containers PullImage {\"image\":\"x y\"}";
    assert_int_equal(vt_aael_entry_parse((const uint8_t *)ok, strlen(ok), &a, &e), VT_OK);
    assert_int_equal(a.domain.len, strlen("github.com/confidential-containers"));
    assert_int_equal(a.operation.len, 9);
    assert_int_equal(a.content.len, strlen("{\"image\":\"x y\"}"));
    const char *bad[] = {"nospace", "one space", " leading op c", "d  c", "d o c\n", "d\to c"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(vt_aael_entry_parse((const uint8_t *)bad[i], strlen(bad[i]), &a, &e), VT_E_INVALID);
    /* content may be empty */
    assert_int_equal(vt_aael_entry_parse((const uint8_t *)"d o ", 4, &a, &e), VT_OK);
    assert_int_equal(a.content.len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tpm_evidence_facts), cmocka_unit_test(test_tpm_verify),
        cmocka_unit_test(test_tpm_must_fail),      cmocka_unit_test(test_tpm_verifier_pem),
        cmocka_unit_test(test_tpm_legacy_subset),  cmocka_unit_test(test_tpm_synthetic_schemes),
        cmocka_unit_test(test_tpmt_public),        cmocka_unit_test(test_tpm_sweeps),
        cmocka_unit_test(test_ccel_aael_alibaba),  cmocka_unit_test(test_ccel_gcp_gke),
        cmocka_unit_test(test_vtpm_synthetic),     cmocka_unit_test(test_aael_legacy),
        cmocka_unit_test(test_aael_entry),        cmocka_unit_test(test_aa_synthetic_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
