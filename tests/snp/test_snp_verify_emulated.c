/* SEV-SNP verifier branches the real vectors cannot reach, over an emulated AMD PKI built here
 * (test keys, never trusted by default): CRL revocation of the ASK, CRL validity and signature,
 * a Turin report with a non-zero FMC SPL, masked CHIP_ID, MASK_CHIP_KEY, unknown CPUID, VMPL
 * range, and the built-in pins rejecting a look-alike ARK. */
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "snp_fixtures.h"
#include "veritee/crypto.h"

typedef struct pki {
    EVP_PKEY *ark_key, *ask_key, *vcek_key;
    X509 *ark, *ask, *vcek;
} pki;

static void name(X509_NAME *n, const char *cn)
{
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"Advanced Micro Devices", -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
}

static void pss_sign(X509 *c, X509_CRL *crl, EVP_PKEY *k)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    assert_int_equal(EVP_DigestSignInit(m, &pc, EVP_sha384(), NULL, k), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 48), 1);
    assert_true((c ? X509_sign_ctx(c, m) : X509_CRL_sign_ctx(crl, m)) > 0);
    EVP_MD_CTX_free(m);
}

static void add_ext(X509 *c, const char *oid, const uint8_t *der, size_t n)
{
    ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(v, der, (int)n);
    X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, v);
    assert_non_null(e);
    X509_add_ext(c, e, -1);
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(v);
    ASN1_OBJECT_free(o);
}

static void add_int_ext(X509 *c, const char *oid, uint8_t v)
{
    uint8_t der[4] = {0x02, 1, v, 0};
    size_t n = 3;
    if (v & 0x80) { der[1] = 2; der[2] = 0; der[3] = v; n = 4; }
    add_ext(c, oid, der, n);
}

static X509 *cert(const char *cn, const char *issuer_cn, EVP_PKEY *pub, EVP_PKEY *signer, bool ca,
                  long serial)
{
    X509 *c = X509_new();
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
    name(X509_get_subject_name(c), cn);
    name(X509_get_issuer_name(c), issuer_cn);
    X509_time_adj_ex(X509_getm_notBefore(c), 0, 0, &(time_t){1700000000});
    X509_time_adj_ex(X509_getm_notAfter(c), 0, 0, &(time_t){1900000000});
    X509_set_pubkey(c, pub);
    if (ca) {
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, c, c, NULL, NULL, 0);
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
        X509_add_ext(c, e, -1);
        X509_EXTENSION_free(e);
        e = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
        X509_add_ext(c, e, -1);
        X509_EXTENSION_free(e);
    }
    (void)signer;
    return c;
}

#define AMD "1.3.6.1.4.1.3704.1."

/* ARK-<p> -> SEV-<p> -> SEV-VCEK with the given hwID and SPLs. */
static void pki_make(pki *k, const char *product, const uint8_t *hwid, size_t hwid_len,
                     const uint8_t spl[5] /* fmc bl tee snp ucode */, bool turin)
{
    char ark_cn[32], ask_cn[32];
    snprintf(ark_cn, sizeof ark_cn, "ARK-%s", product);
    snprintf(ask_cn, sizeof ask_cn, "SEV-%s", product);
    k->ark_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    k->ask_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    k->vcek_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    assert_true(k->ark_key && k->ask_key && k->vcek_key);
    k->ark = cert(ark_cn, ark_cn, k->ark_key, k->ark_key, true, 1);
    pss_sign(k->ark, NULL, k->ark_key);
    k->ask = cert(ask_cn, ark_cn, k->ask_key, k->ark_key, true, 2);
    pss_sign(k->ask, NULL, k->ark_key);
    k->vcek = cert("SEV-VCEK", ask_cn, k->vcek_key, k->ask_key, false, 0);
    add_int_ext(k->vcek, AMD "1", turin ? 1 : 0);
    uint8_t pn[16] = {0x16, (uint8_t)strlen(product)};
    memcpy(pn + 2, product, strlen(product));
    add_ext(k->vcek, AMD "2", pn, 2 + strlen(product));
    if (turin) add_int_ext(k->vcek, AMD "3.9", spl[0]);
    add_int_ext(k->vcek, AMD "3.1", spl[1]);
    add_int_ext(k->vcek, AMD "3.2", spl[2]);
    add_int_ext(k->vcek, AMD "3.3", spl[3]);
    add_int_ext(k->vcek, AMD "3.8", spl[4]);
    add_ext(k->vcek, AMD "4", hwid, hwid_len);
    pss_sign(k->vcek, NULL, k->ask_key);
}

static void pki_free(pki *k)
{
    X509_free(k->ark);
    X509_free(k->ask);
    X509_free(k->vcek);
    EVP_PKEY_free(k->ark_key);
    EVP_PKEY_free(k->ask_key);
    EVP_PKEY_free(k->vcek_key);
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* A v5 report (fields as given), signed with the VCEK key: r, s little-endian in 72 bytes. */
static void report_make(uint8_t rep[VT_SNP_REPORT_SIZE], EVP_PKEY *vcek_key, uint8_t fam,
                        uint8_t mod, uint64_t tcb, const uint8_t *chip, uint32_t vmpl,
                        uint32_t key_info)
{
    memset(rep, 0, VT_SNP_REPORT_SIZE);
    rep[0] = 5;
    put64(rep + 0x08, 0x30000);
    rep[0x30] = (uint8_t)vmpl;
    rep[0x34] = 1;
    put64(rep + 0x38, tcb);
    rep[0x48] = (uint8_t)key_info;
    memset(rep + 0x90, 0x11, 48);
    put64(rep + 0x180, tcb);
    rep[0x188] = fam;
    rep[0x189] = mod;
    rep[0x18a] = 1;
    memcpy(rep + 0x1a0, chip, 64);
    put64(rep + 0x1e0, tcb);
    put64(rep + 0x1f0, tcb);
    uint8_t d[48], der[128];
    size_t dl = sizeof der;
    vt_error e;
    assert_int_equal(vt_hash(VT_SHA384, rep, VT_SNP_SIGNED_SIZE, d, &e), VT_OK);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(vcek_key, NULL);
    assert_int_equal(EVP_PKEY_sign_init(c), 1);
    assert_int_equal(EVP_PKEY_sign(c, der, &dl, d, sizeof d), 1);
    EVP_PKEY_CTX_free(c);
    const unsigned char *p = der;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)dl);
    assert_non_null(s);
    BN_bn2lebinpad(ECDSA_SIG_get0_r(s), rep + 0x2a0, 72);
    BN_bn2lebinpad(ECDSA_SIG_get0_s(s), rep + 0x2e8, 72);
    ECDSA_SIG_free(s);
}

static vt_snp_verifier *trusting(const pki *k)
{
    vt_snp_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_snp_verifier_new(&v, &e), VT_OK);
    assert_int_equal(vt_snp_verifier_add_trust_cert(v, k->ark, &e), VT_OK);
    assert_int_equal(vt_snp_verifier_add_cert(v, k->ask, &e), VT_OK);
    return v;
}

static X509_CRL *crl_make(X509 *issuer, EVP_PKEY *key, time_t from, time_t to, long revoked_serial)
{
    X509_CRL *c = X509_CRL_new();
    X509_CRL_set_version(c, 1);
    X509_CRL_set_issuer_name(c, X509_get_subject_name(issuer));
    ASN1_TIME *t1 = ASN1_TIME_set(NULL, from), *t2 = ASN1_TIME_set(NULL, to);
    X509_CRL_set1_lastUpdate(c, t1);
    X509_CRL_set1_nextUpdate(c, t2);
    if (revoked_serial >= 0) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *sn = ASN1_INTEGER_new();
        ASN1_INTEGER_set(sn, revoked_serial);
        X509_REVOKED_set_serialNumber(r, sn);
        X509_REVOKED_set_revocationDate(r, t1);
        X509_CRL_add0_revoked(c, r);
        ASN1_INTEGER_free(sn);
    }
    ASN1_TIME_free(t1);
    ASN1_TIME_free(t2);
    pss_sign(NULL, c, key);
    return c;
}

static const uint8_t milan_spl[5] = {0, 4, 0, 24, 219};
#define MILAN_TCB 0xdb18000000000004ull

static void test_emulated_milan_and_crl(void **state)
{
    (void)state;
    uint8_t chip[64];
    for (int i = 0; i < 64; i++) chip[i] = (uint8_t)(0xc0 + i);
    pki k;
    pki_make(&k, "Milan", chip, 64, milan_spl, false);
    uint8_t rep[VT_SNP_REPORT_SIZE];
    report_make(rep, k.vcek_key, 0x19, 0x01, MILAN_TCB, chip, 0, 0);
    vt_snp_verifier *v = trusting(&k);
    vt_snp_collateral c = {.leaf = k.vcek};
    vt_snp_verify_opts o = {.at = SNP_REF_TIME};
    vt_error e;
    vt_checks ck = {0};
    assert_int_equal(vt_snp_verify(v, rep, sizeof rep, &c, &o, NULL, &ck, &e), VT_OK);
    assert_int_equal(vt_checks_find(&ck, "revocation")->status, VT_CHECK_SKIP);
    o.crl_required = true;
    assert_int_equal(vt_snp_verify(v, rep, sizeof rep, &c, &o, NULL, NULL, &e), VT_E_MISSING);
    assert_string_equal(e.check, "revocation");

    STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
    c.crls = crls;
    sk_X509_CRL_push(crls, crl_make(k.ark, k.ark_key, 1760000000, 1770000000, 77));
    ck.n = 0;
    assert_int_equal(vt_snp_verify(v, rep, sizeof rep, &c, &o, NULL, &ck, &e), VT_OK);
    assert_int_equal(vt_checks_find(&ck, "revocation")->status, VT_CHECK_PASS);
    o.at = 1771000000; /* after nextUpdate */
    assert_int_equal(vt_snp_verify(v, rep, sizeof rep, &c, &o, NULL, NULL, &e), VT_E_EXPIRED);
    assert_string_equal(e.check, "revocation");
    o.at = SNP_REF_TIME;
    X509_CRL_free(sk_X509_CRL_pop(crls));
    sk_X509_CRL_push(crls, crl_make(k.ark, k.ark_key, 1760000000, 1770000000, 2)); /* the ASK */
    assert_int_equal(vt_snp_verify(v, rep, sizeof rep, &c, &o, NULL, NULL, &e), VT_E_REVOKED);
    X509_CRL_free(sk_X509_CRL_pop(crls));
    sk_X509_CRL_push(crls, crl_make(k.ark, k.ask_key, 1760000000, 1770000000, -1)); /* wrong signer */
    assert_int_equal(vt_snp_verify(v, rep, sizeof rep, &c, &o, NULL, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "revocation");
    X509_CRL_free(sk_X509_CRL_pop(crls));
    /* A CRL held by the verifier works the same. */
    X509_CRL *revoking = crl_make(k.ark, k.ark_key, 1760000000, 1770000000, 2);
    assert_int_equal(vt_snp_verifier_add_crl(v, revoking, &e), VT_OK);
    X509_CRL_free(revoking);
    assert_int_equal(vt_snp_verify(v, rep, sizeof rep, &c, &o, NULL, NULL, &e), VT_E_REVOKED);
    sk_X509_CRL_free(crls);
    vt_snp_verifier_free(v);

    /* The built-in pins do not trust a look-alike ARK-Milan. */
    vt_snp_verifier *pinned = NULL;
    assert_int_equal(vt_snp_verifier_new(&pinned, &e), VT_OK);
    STACK_OF(X509) *chain = sk_X509_new_null();
    sk_X509_push(chain, k.ask);
    sk_X509_push(chain, k.ark);
    vt_snp_collateral c2 = {.leaf = k.vcek, .certs = chain};
    o.crl_required = false;
    assert_int_equal(vt_snp_verify(pinned, rep, sizeof rep, &c2, &o, NULL, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "ark_trusted");
    sk_X509_free(chain);
    vt_snp_verifier_free(pinned);
    pki_free(&k);
}

/* Turin: 8-byte hwID, FMC SPL non-zero (no real report has one). */
static void test_emulated_turin_fmc(void **state)
{
    (void)state;
    uint8_t chip[64] = {0x3b, 0x42, 0x09, 0x2f, 0x69, 0xc6, 0x56, 0xd3};
    const uint8_t spl[5] = {5, 1, 0, 2, 71};
    pki k;
    pki_make(&k, "Turin", chip, 8, spl, true);
    uint64_t tcb = 0x4700000002000105ull; /* fmc 5, bl 1, tee 0, snp 2, ucode 71 */
    uint8_t rep[VT_SNP_REPORT_SIZE];
    report_make(rep, k.vcek_key, 0x1a, 0x02, tcb, chip, 0, 0);
    vt_snp_verifier *v = trusting(&k);
    vt_snp_collateral c = {.leaf = k.vcek};
    vt_snp_verify_opts o = {.at = SNP_REF_TIME};
    vt_snp_claims cl;
    vt_error e;
    assert_int_equal(vt_snp_verify(v, rep, sizeof rep, &c, &o, &cl, NULL, &e), VT_OK);
    assert_int_equal(cl.product, VT_SNP_TURIN);
    assert_true(cl.reported_tcb.has_fmc);
    assert_int_equal(cl.reported_tcb.fmc, 5);
    /* FMC in the report differs from the certificate's fmcSPL: signature still good. */
    report_make(rep, k.vcek_key, 0x1a, 0x02, tcb + 1, chip, 0, 0);
    assert_int_equal(vt_snp_verify(v, rep, sizeof rep, &c, &o, NULL, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "reported_tcb");
    assert_non_null(strstr(e.msg, "fmcSPL"));
    /* CHIP_ID bytes after the 8-byte Turin hwID must be zero. */
    chip[8] = 1;
    report_make(rep, k.vcek_key, 0x1a, 0x02, tcb, chip, 0, 0);
    assert_int_equal(vt_snp_verify(v, rep, sizeof rep, &c, &o, NULL, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "chip_id");
    vt_snp_verifier_free(v);
    pki_free(&k);
}

static void test_emulated_sanity(void **state)
{
    (void)state;
    uint8_t chip[64];
    memset(chip, 0x5a, sizeof chip);
    pki k;
    pki_make(&k, "Milan", chip, 64, milan_spl, false);
    vt_snp_verifier *v = trusting(&k);
    vt_snp_collateral c = {.leaf = k.vcek};
    vt_snp_verify_opts o = {.at = SNP_REF_TIME};
    vt_error e;
    vt_checks ck = {0};
    uint8_t rep[VT_SNP_REPORT_SIZE], zero[64] = {0};
    /* CHIP_ID masked: the hwID binding is skipped (the VCEK signature still binds the chip). */
    report_make(rep, k.vcek_key, 0x19, 0x01, MILAN_TCB, zero, 0, 0);
    assert_int_equal(vt_snp_verify(v, rep, sizeof rep, &c, &o, NULL, &ck, &e), VT_OK);
    assert_int_equal(vt_checks_find(&ck, "chip_id")->status, VT_CHECK_SKIP);
    /* VMPL 4 is out of range even when signed. */
    report_make(rep, k.vcek_key, 0x19, 0x01, MILAN_TCB, chip, 4, 0);
    assert_int_equal(vt_snp_verify(v, rep, sizeof rep, &c, &o, NULL, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "vmpl");
    report_make(rep, k.vcek_key, 0x19, 0x01, MILAN_TCB, chip, 3, 0);
    assert_int_equal(vt_snp_verify(v, rep, sizeof rep, &c, &o, NULL, NULL, &e), VT_OK);
    /* MASK_CHIP_KEY: no signature to check. */
    report_make(rep, k.vcek_key, 0x19, 0x01, MILAN_TCB, chip, 0, 2);
    assert_int_equal(vt_snp_verify(v, rep, sizeof rep, &c, &o, NULL, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "signing_key");
    /* AUTHOR_KEY_EN is only reported. */
    report_make(rep, k.vcek_key, 0x19, 0x01, MILAN_TCB, chip, 0, 1);
    vt_snp_claims cl;
    assert_int_equal(vt_snp_verify(v, rep, sizeof rep, &c, &o, &cl, NULL, &e), VT_OK);
    assert_true(cl.report.author_key_en);
    /* A CPUID that names no SEV-SNP product. */
    report_make(rep, k.vcek_key, 0x17, 0x31, MILAN_TCB, chip, 0, 0);
    assert_int_equal(vt_snp_verify(v, rep, sizeof rep, &c, &o, NULL, NULL, &e), VT_E_UNSUPPORTED);
    assert_string_equal(e.check, "product");
    vt_snp_verifier_free(v);
    pki_free(&k);
}

/* Re-issue c with the window [nb, na], signed by signer (RSA-PSS). */
static void rewindow(X509 *c, time_t nb, time_t na, EVP_PKEY *signer)
{
    X509_time_adj_ex(X509_getm_notBefore(c), 0, 0, &nb);
    X509_time_adj_ex(X509_getm_notAfter(c), 0, 0, &na);
    pss_sign(c, NULL, signer);
}

static vt_err verify_at(const pki *k, const uint8_t *rep, STACK_OF(X509) *extra, STACK_OF(X509_CRL) *crls,
                        vt_time at, vt_error *e)
{
    vt_snp_verifier *v = trusting(k);
    vt_snp_collateral c = {.leaf = k->vcek, .certs = extra, .crls = crls};
    vt_snp_verify_opts o = {.at = at};
    vt_error_clear(e);
    vt_err rc = vt_snp_verify(v, rep, VT_SNP_REPORT_SIZE, &c, &o, NULL, NULL, e);
    vt_snp_verifier_free(v);
    return rc;
}

/* The library's one validity rule (vt_valid_at) for every certificate of the SNP chain and the
 * ARK's CRL: valid at notBefore/thisUpdate and notAfter/nextUpdate, not one second outside. */
static void test_validity_boundaries(void **state)
{
    (void)state;
    uint8_t chip[64];
    for (int i = 0; i < 64; i++) chip[i] = (uint8_t)i;
    pki k;
    pki_make(&k, "Milan", chip, 64, milan_spl, false);
    uint8_t rep[VT_SNP_REPORT_SIZE];
    report_make(rep, k.vcek_key, 0x19, 0x01, MILAN_TCB, chip, 0, 0);
    const time_t nb = 1700000500, na = 1899999500;
    vt_error e;
    for (int i = 0; i < 3; i++) { /* VCEK, ASK, ARK: each in turn the narrowest window */
        X509 *c = i == 0 ? k.vcek : i == 1 ? k.ask : k.ark;
        EVP_PKEY *signer = i == 0 ? k.ask_key : k.ark_key;
        rewindow(c, nb, na, signer);
        if (i == 2) rewindow(k.ask, 1700000000, 1900000000, k.ark_key); /* re-signed under the new ARK */
        assert_int_equal(verify_at(&k, rep, NULL, NULL, nb, &e), VT_OK);
        assert_int_equal(verify_at(&k, rep, NULL, NULL, na, &e), VT_OK);
        assert_int_equal(verify_at(&k, rep, NULL, NULL, nb - 1, &e), VT_E_EXPIRED);
        assert_string_equal(e.check, "cert_validity");
        assert_non_null(strstr(e.msg, "not yet valid"));
        assert_int_equal(verify_at(&k, rep, NULL, NULL, na + 1, &e), VT_E_EXPIRED);
        assert_non_null(strstr(e.msg, "expired"));
        rewindow(c, 1700000000, 1900000000, signer);
        if (i == 2) rewindow(k.ask, 1700000000, 1900000000, k.ark_key);
    }
    STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
    sk_X509_CRL_push(crls, crl_make(k.ark, k.ark_key, 1760000000, 1770000000, -1));
    assert_int_equal(verify_at(&k, rep, NULL, crls, 1760000000, &e), VT_OK);
    assert_int_equal(verify_at(&k, rep, NULL, crls, 1770000000, &e), VT_OK);
    assert_int_equal(verify_at(&k, rep, NULL, crls, 1759999999, &e), VT_E_EXPIRED);
    assert_string_equal(e.check, "revocation");
    assert_int_equal(verify_at(&k, rep, NULL, crls, 1770000001, &e), VT_E_EXPIRED);
    sk_X509_CRL_pop_free(crls, X509_CRL_free);
    pki_free(&k);
}

/* Issue 13 item 6: evidence carrying another issue of the trusted ARK (same subject and key,
 * other validity/signature) verifies against the trusted anchor; item 5: an ASK whose
 * authority key identifier names another key is an inconsistent chain (VT_E_VERIFY), not a
 * missing ARK. */
static void test_ark_reissue_and_ask_aki(void **state)
{
    (void)state;
    uint8_t chip[64];
    for (int i = 0; i < 64; i++) chip[i] = (uint8_t)(0x40 + i);
    pki k;
    pki_make(&k, "Milan", chip, 64, milan_spl, false);
    uint8_t rep[VT_SNP_REPORT_SIZE];
    report_make(rep, k.vcek_key, 0x19, 0x01, MILAN_TCB, chip, 0, 0);
    vt_error e;
    X509 *reissued = X509_dup(k.ark);
    rewindow(reissued, 1700000001, 1900000001, k.ark_key);
    STACK_OF(X509) *extra = sk_X509_new_null();
    sk_X509_push(extra, reissued);
    if (verify_at(&k, rep, extra, NULL, SNP_REF_TIME, &e) != VT_OK) fail_msg("reissued ARK: %s", e.msg);
    sk_X509_pop_free(extra, X509_free);

    /* ARK with a subject key identifier; the ASK's AKI names another key */
    static const uint8_t ski[22] = {0x04, 0x14, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
                                    0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};
    static const uint8_t aki[24] = {0x30, 0x16, 0x80, 0x14, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb,
                                    0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb};
    X509 *fresh = X509_dup(k.ark); /* a fresh parse: OpenSSL caches extensions on first use */
    X509_free(k.ark);
    k.ark = fresh;
    add_ext(k.ark, "2.5.29.14", ski, sizeof ski);
    pss_sign(k.ark, NULL, k.ark_key);
    fresh = X509_dup(k.ark);
    X509_free(k.ark);
    k.ark = fresh;
    assert_int_equal(verify_at(&k, rep, NULL, NULL, SNP_REF_TIME, &e), VT_OK);
    fresh = X509_dup(k.ask);
    X509_free(k.ask);
    k.ask = fresh;
    add_ext(k.ask, "2.5.29.35", aki, sizeof aki);
    pss_sign(k.ask, NULL, k.ark_key);
    fresh = X509_dup(k.ask);
    X509_free(k.ask);
    k.ask = fresh;
    assert_int_equal(verify_at(&k, rep, NULL, NULL, SNP_REF_TIME, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "ask_signed_by_ark");
    pki_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emulated_milan_and_crl),
        cmocka_unit_test(test_emulated_turin_fmc),
        cmocka_unit_test(test_emulated_sanity),
        cmocka_unit_test(test_validity_boundaries),
        cmocka_unit_test(test_ark_reissue_and_ask_aki),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
