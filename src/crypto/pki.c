/* Test PKI construction over OpenSSL 3 (include/veritee/pki.h): RFC 5280 certificates and
 * CRLs with caller-defined extensions. */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "veritee/pki.h"
#include "veritee/x509.h"

static vt_err ossl_fail(vt_error *err, const char *what)
{
    char buf[160];
    vt_openssl_reason(buf, sizeof buf);
    return vt_error_set(err, VT_E_INTERNAL, "pki", "%s failed: %s", what, buf);
}

vt_err vt_pki_ec_key(vt_curve curve, EVP_PKEY **out, vt_error *err)
{
    const char *name = curve == VT_P256 ? "P-256" : curve == VT_P384 ? "P-384" : "P-521";
    *out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", name);
    return *out ? VT_OK : ossl_fail(err, "EC key generation");
}

vt_err vt_pki_rsa_key(int bits, EVP_PKEY **out, vt_error *err)
{
    *out = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    return *out ? VT_OK : ossl_fail(err, "RSA key generation");
}

static vt_err add_name(X509_NAME *n, const vt_pki_cert_spec *s, vt_error *err)
{
    if (s->subject_extra != NULL) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", s->subject_extra);
        for (char *tok = strtok(buf, ","); tok != NULL; tok = strtok(NULL, ",")) {
            char *eq = strchr(tok, '=');
            if (eq == NULL) continue;
            *eq = 0;
            X509_NAME_add_entry_by_txt(n, tok, MBSTRING_UTF8, (const unsigned char *)eq + 1, -1, -1, 0);
        }
    }
    if (s->subject_o != NULL &&
        X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)s->subject_o, -1, -1, 0) != 1)
        return ossl_fail(err, "subject O");
    if (X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)s->subject_cn, -1, -1, 0) != 1)
        return ossl_fail(err, "subject CN");
    return VT_OK;
}

static vt_err add_std_ext(X509 *c, X509 *issuer, int nid, const char *value, vt_error *err)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : c, c, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (e == NULL || X509_add_ext(c, e, -1) != 1) {
        X509_EXTENSION_free(e);
        return ossl_fail(err, "standard extension");
    }
    X509_EXTENSION_free(e);
    return VT_OK;
}

static vt_err add_custom_ext(X509 *c, const vt_pki_ext *x, vt_error *err)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(x->oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *e = NULL;
    vt_err rc = VT_OK;
    if (obj == NULL || os == NULL || ASN1_OCTET_STRING_set(os, x->der, (int)x->der_len) != 1 ||
        (e = X509_EXTENSION_create_by_OBJ(NULL, obj, x->critical, os)) == NULL || X509_add_ext(c, e, -1) != 1)
        rc = ossl_fail(err, "custom extension");
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    return rc;
}

static const EVP_MD *md_for(vt_hash_alg a)
{
    return a == VT_SHA384 ? EVP_sha384() : a == VT_SHA512 ? EVP_sha512() : EVP_sha256();
}

static vt_err sign_cert(X509 *c, EVP_PKEY *key, const vt_pki_cert_spec *s, vt_error *err)
{
    vt_hash_alg md = s->md;
    if (md == 0) {
        vt_curve cv;
        md = (vt_ec_curve_of(key, &cv, NULL) == VT_OK && cv == VT_P256) ? VT_SHA256 : VT_SHA384;
    }
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = mctx != NULL && EVP_DigestSignInit(mctx, &pctx, md_for(md), NULL, key) == 1;
    if (ok && s->rsa_pss)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (int)vt_hash_len(md)) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md_for(md)) == 1;
    ok = ok && X509_sign_ctx(c, mctx) > 0;
    EVP_MD_CTX_free(mctx);
    return ok ? VT_OK : ossl_fail(err, "certificate signature");
}

vt_err vt_pki_cert(const vt_pki_cert_spec *s, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *issuer_key,
                   X509 **out, vt_error *err)
{
    X509 *c = X509_new();
    ASN1_INTEGER *sn = NULL;
    BIGNUM *bn = NULL;
    vt_err rc = VT_OK;
    if (c == NULL) return ossl_fail(err, "X509_new");
    uint8_t rnd[16];
    const uint8_t *serial = s->serial;
    size_t slen = s->serial_len;
    if (serial == NULL) {
        if (RAND_bytes(rnd, sizeof rnd) != 1) {
            rc = ossl_fail(err, "random serial");
            goto out;
        }
        rnd[0] &= 0x7f;
        rnd[0] |= 0x01;
        serial = rnd;
        slen = sizeof rnd;
    }
    bn = BN_bin2bn(serial, (int)slen, NULL);
    sn = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    if (sn == NULL || X509_set_version(c, X509_VERSION_3) != 1 || X509_set_serialNumber(c, sn) != 1 ||
        X509_time_adj_ex(X509_getm_notBefore(c), 0, 0, &(time_t){(time_t)s->not_before}) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(c), 0, 0, &(time_t){(time_t)s->not_after}) == NULL ||
        X509_set_pubkey(c, pub) != 1) {
        rc = ossl_fail(err, "certificate fields");
        goto out;
    }
    VT_GUARD_GOTO(add_name(X509_get_subject_name(c), s, err));
    if (X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(c)) != 1) {
        rc = ossl_fail(err, "issuer name");
        goto out;
    }
    if (s->ca) {
        char bc[48];
        if (s->path_len >= 0) snprintf(bc, sizeof bc, "critical,CA:TRUE,pathlen:%d", s->path_len);
        else snprintf(bc, sizeof bc, "critical,CA:TRUE");
        VT_GUARD_GOTO(add_std_ext(c, issuer, NID_basic_constraints, bc, err));
        VT_GUARD_GOTO(add_std_ext(c, issuer, NID_key_usage, "critical,keyCertSign,cRLSign", err));
    } else {
        VT_GUARD_GOTO(add_std_ext(c, issuer, NID_basic_constraints, "critical,CA:FALSE", err));
        VT_GUARD_GOTO(add_std_ext(c, issuer, NID_key_usage, "critical,digitalSignature,nonRepudiation", err));
    }
    VT_GUARD_GOTO(add_std_ext(c, issuer, NID_subject_key_identifier, "hash", err));
    VT_GUARD_GOTO(add_std_ext(c, issuer, NID_authority_key_identifier, "keyid:always", err));
    for (size_t i = 0; i < s->n_exts; i++) VT_GUARD_GOTO(add_custom_ext(c, &s->exts[i], err));
    VT_GUARD_GOTO(sign_cert(c, issuer_key, s, err));
    vt_x509_settle(c);
    *out = c;
    c = NULL;
out:
    ASN1_INTEGER_free(sn);
    BN_free(bn);
    X509_free(c);
    return rc;
}

vt_err vt_pki_crl(X509 *issuer, EVP_PKEY *issuer_key, vt_time this_update, vt_time next_update,
                  const uint8_t *const *serials, const size_t *serial_lens, size_t n, X509_CRL **out,
                  vt_error *err)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *tu = ASN1_TIME_new(), *nu = ASN1_TIME_new();
    vt_err rc = VT_OK;
    if (crl == NULL || tu == NULL || nu == NULL || X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
        X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) != 1 ||
        ASN1_TIME_set(tu, (time_t)this_update) == NULL || ASN1_TIME_set(nu, (time_t)next_update) == NULL ||
        X509_CRL_set1_lastUpdate(crl, tu) != 1 || X509_CRL_set1_nextUpdate(crl, nu) != 1) {
        rc = ossl_fail(err, "CRL fields");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        X509_REVOKED *r = X509_REVOKED_new();
        BIGNUM *bn = BN_bin2bn(serials[i], (int)serial_lens[i], NULL);
        ASN1_INTEGER *sn = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
        int ok = r != NULL && sn != NULL && X509_REVOKED_set_serialNumber(r, sn) == 1 &&
                 X509_REVOKED_set_revocationDate(r, tu) == 1 && X509_CRL_add0_revoked(crl, r) == 1;
        ASN1_INTEGER_free(sn);
        BN_free(bn);
        if (!ok) {
            X509_REVOKED_free(r);
            rc = ossl_fail(err, "CRL entry");
            goto out;
        }
    }
    X509_CRL_sort(crl);
    vt_curve cv;
    const EVP_MD *md = (vt_ec_curve_of(issuer_key, &cv, NULL) == VT_OK && cv == VT_P256) ? EVP_sha256() : EVP_sha384();
    if (X509_CRL_sign(crl, issuer_key, md) <= 0) {
        rc = ossl_fail(err, "CRL signature");
        goto out;
    }
    *out = crl;
    crl = NULL;
out:
    ASN1_TIME_free(tu);
    ASN1_TIME_free(nu);
    X509_CRL_free(crl);
    return rc;
}

static vt_err bio_to_buf(BIO *b, vt_buf *out, vt_error *err)
{
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    vt_err rc = n > 0 ? vt_buf_set(out, p, (size_t)n, err) : ossl_fail(err, "serialisation");
    BIO_free(b);
    return rc;
}

vt_err vt_pki_cert_pem(X509 *c, vt_buf *out, vt_error *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL || PEM_write_bio_X509(b, c) != 1) {
        BIO_free(b);
        return ossl_fail(err, "PEM certificate");
    }
    return bio_to_buf(b, out, err);
}

/* The n bytes an i2d_* call allocated at p, moved into out. */
static vt_err take_der(int n, unsigned char *p, const char *what, vt_buf *out, vt_error *err)
{
    if (n <= 0) return ossl_fail(err, what);
    vt_err rc = vt_buf_set(out, p, (size_t)n, err);
    OPENSSL_free(p);
    return rc;
}

vt_err vt_pki_cert_der(X509 *c, vt_buf *out, vt_error *err)
{
    unsigned char *p = NULL;
    int n = i2d_X509(c, &p);
    return take_der(n, p, "DER certificate", out, err);
}

vt_err vt_pki_crl_der(X509_CRL *c, vt_buf *out, vt_error *err)
{
    unsigned char *p = NULL;
    int n = i2d_X509_CRL(c, &p);
    return take_der(n, p, "DER CRL", out, err);
}

vt_err vt_pki_key_pem(EVP_PKEY *k, bool private_key, vt_buf *out, vt_error *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    int ok = b != NULL && (private_key ? PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)
                                       : PEM_write_bio_PUBKEY(b, k)) == 1;
    if (!ok) {
        BIO_free(b);
        return ossl_fail(err, "PEM key");
    }
    return bio_to_buf(b, out, err);
}

vt_err vt_pki_key_load_pem(const void *pem, size_t len, bool private_key, EVP_PKEY **out, vt_error *err)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *k = b == NULL ? NULL
                  : private_key ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)
                                : PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
    BIO_free(b);
    ERR_clear_error();
    if (k == NULL)
        return vt_error_set(err, VT_E_INVALID, "key", "not a PEM %s key", private_key ? "private" : "public");
    *out = k;
    return VT_OK;
}
