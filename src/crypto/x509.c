/* X.509 loading and chain verification at an explicit time (RFC 5280 via OpenSSL 3). */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "crl_memo_internal.h"
#include "veritee/crypto.h"
#include "veritee/x509.h"

/* The DER of a certificate equal to `der`, from `known`, or NULL. */
static X509 *known_cert(STACK_OF(X509) *known, const unsigned char *der, long len)
{
    for (int i = 0; known != NULL && i < sk_X509_num(known); i++) {
        X509 *k = sk_X509_value(known, i);
        unsigned char *kd = NULL;
        int kl = i2d_X509(k, &kd);
        bool same = kl == len && kd != NULL && memcmp(kd, der, (size_t)len) == 0;
        OPENSSL_free(kd);
        if (same) return k;
    }
    return NULL;
}

/* A PEM block that PEM_read_bio_X509 would take: CERTIFICATE or the old X509 CERTIFICATE. */
static bool is_cert_block(const char *name)
{
    return strcmp(name, PEM_STRING_X509) == 0 || strcmp(name, PEM_STRING_X509_OLD) == 0;
}

vt_err vt_pem_certs_known(const void *pem, size_t len, STACK_OF(X509) *known, STACK_OF(X509) **out,
                          vt_error *err)
{
    if (len > INT32_MAX) return vt_error_set(err, VT_E_INVALID, "certificate", "PEM too large");
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    STACK_OF(X509) *sk = sk_X509_new_null();
    vt_err rc = VT_OK;
    if (b == NULL || sk == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        goto out;
    }
    for (;;) {
        char *name = NULL, *header = NULL;
        unsigned char *der = NULL;
        long dlen = 0;
        if (PEM_read_bio(b, &name, &header, &der, &dlen) != 1) {
            unsigned long e = ERR_peek_last_error();
            ERR_clear_error();
            if (ERR_GET_REASON(e) == PEM_R_NO_START_LINE) break;
            rc = vt_error_set(err, VT_E_INVALID, "certificate",
                              "certificate %d of the PEM chain does not decode", sk_X509_num(sk) + 1);
            goto out;
        }
        bool take = is_cert_block(name);
        bool plain = header[0] == '\0'; /* an encrypted (Proc-Type) block is not a chain certificate */
        X509 *c = NULL;
        if (take && plain) {
            /* decoding a certificate costs OpenSSL 3.0 about a million instructions (its key
             * decoder); one the caller already holds, byte for byte, is taken as it is */
            c = known_cert(known, der, dlen);
            if (c != NULL) {
                if (X509_up_ref(c) != 1) c = NULL;
            } else {
                const unsigned char *q = der;
                c = d2i_X509(NULL, &q, dlen);
            }
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(der);
        if (!take) continue;
        if (c == NULL) {
            ERR_clear_error();
            rc = vt_error_set(err, VT_E_INVALID, "certificate",
                              "certificate %d of the PEM chain does not decode", sk_X509_num(sk) + 1);
            goto out;
        }
        vt_x509_settle(c);
        if (sk_X509_push(sk, c) <= 0) {
            X509_free(c);
            rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
            goto out;
        }
    }
    if (sk_X509_num(sk) == 0) {
        rc = vt_error_set(err, VT_E_INVALID, "certificate", "no PEM certificate found");
        goto out;
    }
    *out = sk;
    sk = NULL;
out:
    sk_X509_pop_free(sk, X509_free);
    BIO_free(b);
    return rc;
}

vt_err vt_pem_certs(const void *pem, size_t len, STACK_OF(X509) **out, vt_error *err)
{
    return vt_pem_certs_known(pem, len, NULL, out, err);
}

void vt_x509_settle(X509 *c)
{
    if (c == NULL) return;
    ERR_set_mark();
    if (X509_check_purpose(c, -1, 0) != 1) {} /* an invalid extension is for the verifier to find */
    ERR_pop_to_mark();
}

static bool is_pem(const void *p, size_t len)
{
    return len >= 10 && memcmp(p, "-----BEGIN", 10) == 0;
}

vt_err vt_cert_parse(const void *p, size_t len, X509 **out, vt_error *err)
{
    if (len > INT32_MAX) return vt_error_set(err, VT_E_INVALID, "certificate", "too large");
    X509 *c = NULL;
    if (is_pem(p, len)) {
        BIO *b = BIO_new_mem_buf(p, (int)len);
        if (b != NULL) c = PEM_read_bio_X509(b, NULL, NULL, NULL);
        BIO_free(b);
    } else {
        const unsigned char *q = p;
        c = d2i_X509(NULL, &q, (long)len);
        if (c != NULL && q != (const unsigned char *)p + len) {
            X509_free(c);
            c = NULL;
        }
    }
    ERR_clear_error();
    if (c == NULL)
        return vt_error_set(err, VT_E_INVALID, "certificate", "not a DER or PEM X.509 certificate");
    vt_x509_settle(c);
    *out = c;
    return VT_OK;
}

vt_err vt_crl_parse(const void *p, size_t len, X509_CRL **out, vt_error *err)
{
    if (len > INT32_MAX) return vt_error_set(err, VT_E_INVALID, "crl", "too large");
    X509_CRL *c = NULL;
    if (is_pem(p, len)) {
        BIO *b = BIO_new_mem_buf(p, (int)len);
        if (b != NULL) c = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
        BIO_free(b);
    } else {
        const unsigned char *q = p;
        c = d2i_X509_CRL(NULL, &q, (long)len);
        if (c != NULL && q != (const unsigned char *)p + len) {
            X509_CRL_free(c);
            c = NULL;
        }
    }
    ERR_clear_error();
    if (c == NULL) return vt_error_set(err, VT_E_INVALID, "crl", "not a DER or PEM X.509 CRL");
    *out = c;
    return VT_OK;
}

vt_err vt_x509_sha256(X509 *c, uint8_t out[32], vt_error *err)
{
    unsigned int n = 0;
    if (X509_digest(c, EVP_sha256(), out, &n) != 1 || n != 32)
        return vt_error_set(err, VT_E_INTERNAL, "certificate", "cannot hash certificate");
    return VT_OK;
}

static vt_err asn1_time(const ASN1_TIME *t, vt_time *out, vt_error *err)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return vt_error_set(err, VT_E_INVALID, "certificate", "invalid ASN.1 time");
    *out = vt_days_from_civil(tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday) *
               86400 +
           tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
    return VT_OK;
}

vt_err vt_x509_validity(const X509 *c, vt_time *not_before, vt_time *not_after, vt_error *err)
{
    VT_GUARD(asn1_time(X509_get0_notBefore(c), not_before, err));
    return asn1_time(X509_get0_notAfter(c), not_after, err);
}

vt_err vt_crl_times(const X509_CRL *crl, vt_time *this_update, vt_time *next_update, vt_error *err)
{
    VT_GUARD(asn1_time(X509_CRL_get0_lastUpdate(crl), this_update, err));
    if (X509_CRL_get0_nextUpdate(crl) == NULL)
        return vt_error_set(err, VT_E_INVALID, "crl", "CRL has no nextUpdate");
    return asn1_time(X509_CRL_get0_nextUpdate(crl), next_update, err);
}

vt_err vt_window_check(const char *what, vt_time from, vt_time until, vt_time at, vt_error *err)
{
    if (vt_valid_at(at, from, until)) return VT_OK;
    char t[21], a[21];
    vt_time_format(at, a);
    if (at > until) {
        vt_time_format(until, t);
        return vt_error_set(err, VT_E_EXPIRED, "validity", "%s expired on %s (verification time %s)", what, t, a);
    }
    vt_time_format(from, t);
    return vt_error_set(err, VT_E_EXPIRED, "validity", "%s is not valid before %s (verification time %s)", what, t, a);
}

vt_err vt_x509_check_time(const X509 *c, vt_time at, vt_error *err)
{
    vt_time nb, na;
    VT_GUARD(vt_x509_validity(c, &nb, &na, err));
    char cn[128], what[160];
    vt_x509_subject_cn(c, cn, sizeof cn);
    snprintf(what, sizeof what, "certificate \"%s\"", cn);
    return vt_window_check(what, nb, na, at, err);
}

vt_err vt_crl_check_time(const X509_CRL *crl, vt_time at, vt_error *err)
{
    vt_time tu, nu;
    VT_GUARD(vt_crl_times(crl, &tu, &nu, err));
    char cn[128] = "", what[160];
    if (X509_NAME_get_text_by_NID(X509_CRL_get_issuer(crl), NID_commonName, cn, sizeof cn) < 0) cn[0] = '\0';
    snprintf(what, sizeof what, "CRL of \"%s\"", cn);
    return vt_window_check(what, tu, nu, at, err);
}

static void name_cn(const X509_NAME *n, char *out, size_t cap)
{
    out[0] = '\0';
    if (n == NULL) return;
    int len = X509_NAME_get_text_by_NID((X509_NAME *)n, NID_commonName, out, (int)cap);
    if (len < 0) out[0] = '\0';
}

bool vt_x509_is_emulated(const X509 *c)
{
    char o[128] = "";
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(c), NID_organizationName, o, sizeof o) < 0) return false;
    return strcmp(o, VT_EMULATED_ORGANIZATION) == 0;
}

void vt_x509_subject_cn(const X509 *c, char *out, size_t cap)
{
    name_cn(X509_get_subject_name(c), out, cap);
}

void vt_x509_issuer_cn(const X509 *c, char *out, size_t cap)
{
    name_cn(X509_get_issuer_name(c), out, cap);
}

static vt_err map_verify_error(X509_STORE_CTX *ctx, const vt_chain_opts *opts, const char *what,
                               vt_error *err)
{
    int e = X509_STORE_CTX_get_error(ctx);
    int depth = X509_STORE_CTX_get_error_depth(ctx);
    X509 *bad = X509_STORE_CTX_get_current_cert(ctx);
    char cn[128] = "";
    if (bad != NULL) vt_x509_subject_cn(bad, cn, sizeof cn);
    const char *reason = X509_verify_cert_error_string(e);
    int code = VT_E_VERIFY;
    switch (e) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID: code = VT_E_EXPIRED; break;
    case X509_V_ERR_CERT_REVOKED: code = VT_E_REVOKED; break;
    case X509_V_ERR_UNABLE_TO_GET_CRL: code = VT_E_MISSING; break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        reason = "does not lead to a trusted root";
        break;
    default: break;
    }
    char when[21] = "";
    X509_CRL *crl = X509_STORE_CTX_get0_current_crl(ctx);
    for (int i = 0; crl == NULL && bad != NULL && opts->crls != NULL && i < sk_X509_CRL_num(opts->crls); i++) {
        X509_CRL *c = sk_X509_CRL_value(opts->crls, i);
        if (X509_NAME_cmp(X509_CRL_get_issuer(c), X509_get_issuer_name(bad)) == 0) crl = c;
    }
    if ((e == X509_V_ERR_CRL_HAS_EXPIRED || e == X509_V_ERR_CRL_NOT_YET_VALID) && crl != NULL) {
        vt_time tu, nu;
        char icn[128] = "";
        X509_NAME_get_text_by_NID(X509_CRL_get_issuer(crl), NID_commonName, icn, sizeof icn);
        if (vt_crl_times(crl, &tu, &nu, NULL) == VT_OK) {
            vt_time_format(e == X509_V_ERR_CRL_HAS_EXPIRED ? nu : tu, when);
            return vt_error_set(err, code, "cert_chain", "%s: CRL of \"%s\" %s %s", what, icn,
                                e == X509_V_ERR_CRL_HAS_EXPIRED ? "expired on" : "is not valid before",
                                when);
        }
    }
    if ((e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID) && bad != NULL) {
        vt_time nb, na;
        if (vt_x509_validity(bad, &nb, &na, NULL) == VT_OK) {
            vt_time_format(e == X509_V_ERR_CERT_HAS_EXPIRED ? na : nb, when);
            return vt_error_set(err, code, "cert_chain", "%s: certificate \"%s\" %s %s", what, cn,
                                e == X509_V_ERR_CERT_HAS_EXPIRED ? "expired on" : "is not valid before",
                                when);
        }
    }
    return vt_error_set(err, code, "cert_chain", "%s %s (certificate \"%s\", depth %d)", what, reason, cn,
                        depth);
}

/* OpenSSL counts notAfter and nextUpdate themselves as past (X509_cmp_time: "earlier than or
 * equal to"); veritee's rule (vt_valid_at) keeps the boundary second valid. The only expiry
 * errors forgiven are those where the verification instant is exactly that second. */
static bool at_boundary(X509_STORE_CTX *ctx, int e)
{
    vt_time at = (vt_time)X509_VERIFY_PARAM_get_time(X509_STORE_CTX_get0_param(ctx));
    vt_time from, until;
    if (e == X509_V_ERR_CERT_HAS_EXPIRED) {
        X509 *c = X509_STORE_CTX_get_current_cert(ctx);
        return c != NULL && vt_x509_validity(c, &from, &until, NULL) == VT_OK && vt_valid_at(at, from, until);
    }
    if (e == X509_V_ERR_CRL_HAS_EXPIRED) {
        X509_CRL *crl = X509_STORE_CTX_get0_current_crl(ctx);
        return crl != NULL && vt_crl_times(crl, &from, &until, NULL) == VT_OK && vt_valid_at(at, from, until);
    }
    return false;
}

/* Tolerates the validity boundary second (above). */
static int chain_cb(int ok, X509_STORE_CTX *ctx)
{
    return ok || at_boundary(ctx, X509_STORE_CTX_get_error(ctx));
}

/* ... and no CRL for the leaf certificate (the caller opted in). */
static int chain_cb_leaf_crl_optional(int ok, X509_STORE_CTX *ctx)
{
    if (ok || chain_cb(ok, ctx)) return 1;
    return X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL && X509_STORE_CTX_get_error_depth(ctx) == 0;
}

vt_err vt_chain_verify(X509 *leaf, STACK_OF(X509) *untrusted, STACK_OF(X509) *roots,
                       const vt_chain_opts *opts, const char *what, vt_error *err)
{
    if (roots == NULL || sk_X509_num(roots) == 0)
        return vt_error_set(err, VT_E_MISSING, "cert_chain", "%s: no trusted root configured", what);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    vt_err rc = VT_OK;
    if (store == NULL || ctx == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        goto out;
    }
    for (int i = 0; i < sk_X509_num(roots); i++)
        if (X509_STORE_add_cert(store, sk_X509_value(roots, i)) != 1) ERR_clear_error();
    unsigned long flags = X509_V_FLAG_USE_CHECK_TIME | X509_V_FLAG_X509_STRICT;
    if (opts->crls != NULL && sk_X509_CRL_num(opts->crls) > 0) {
        for (int i = 0; i < sk_X509_CRL_num(opts->crls); i++)
            if (X509_STORE_add_crl(store, sk_X509_CRL_value(opts->crls, i)) != 1) ERR_clear_error();
        flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
        if (!crl_memo_install(opts->crl_memo, store)) {
            rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
            goto out;
        }
    } else if (opts->crl_required) {
        rc = vt_error_set(err, VT_E_MISSING, "cert_chain", "%s: revocation list missing", what);
        goto out;
    }
    if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
        rc = vt_error_set(err, VT_E_INTERNAL, "cert_chain", "%s: cannot initialise verification", what);
        goto out;
    }
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_flags(param, flags);
    X509_VERIFY_PARAM_set_time(param, (time_t)opts->at);
    X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_ANY);
    X509_STORE_CTX_set_verify_cb(ctx, opts->allow_missing_leaf_crl ? chain_cb_leaf_crl_optional : chain_cb);
    if (X509_verify_cert(ctx) != 1) rc = map_verify_error(ctx, opts, what, err);
out:
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return rc;
}

vt_err vt_x509_ext_der(const X509 *c, const char *oid, const uint8_t **out, size_t *len,
                       vt_error *err)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    if (obj == NULL) return vt_error_set(err, VT_E_INTERNAL, "certificate", "bad OID %s", oid);
    int idx = X509_get_ext_by_OBJ(c, obj, -1);
    ASN1_OBJECT_free(obj);
    if (idx < 0)
        return vt_error_set(err, VT_E_MISSING, "certificate", "certificate has no extension %s", oid);
    X509_EXTENSION *ext = X509_get_ext(c, idx);
    ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(ext);
    *out = ASN1_STRING_get0_data(os);
    *len = (size_t)ASN1_STRING_length(os);
    return VT_OK;
}
