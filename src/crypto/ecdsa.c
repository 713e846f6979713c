/* ECDSA verification over OpenSSL 3 EVP (SEC 1 keys, raw r||s or DER signatures). */
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/crypto.h"

size_t vt_curve_len(vt_curve c)
{
    switch (c) {
    case VT_P256: return 32;
    case VT_P384: return 48;
    case VT_P521: return 66;
    }
    return 0;
}

static const char *curve_group(vt_curve c)
{
    switch (c) {
    case VT_P256: return "prime256v1";
    case VT_P384: return "secp384r1";
    case VT_P521: return "secp521r1";
    }
    return NULL;
}

struct vt_ec_params {
    EVP_PKEY *tmpl[3]; /* domain parameters only, by vt_curve - 1 */
};

static EVP_PKEY *params_only(vt_curve c)
{
    OSSL_PARAM ps[2];
    ps[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)curve_group(c), 0);
    ps[1] = OSSL_PARAM_construct_end();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *k = NULL;
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_KEY_PARAMETERS, ps) != 1)
        k = NULL;
    EVP_PKEY_CTX_free(ctx);
    return k;
}

static vt_err params_new(int from, int to, vt_ec_params **out, vt_error *err)
{
    vt_ec_params *p = calloc(1, sizeof *p);
    if (p == NULL) return vt_error_set(err, VT_E_NOMEM, "ec_params", "out of memory");
    for (int i = from; i <= to; i++)
        if ((p->tmpl[i] = params_only((vt_curve)(i + 1))) == NULL) {
            vt_ec_params_free(p);
            ERR_clear_error();
            return vt_error_set(err, VT_E_INTERNAL, "ec_params", "cannot build the %s parameters", curve_group((vt_curve)(i + 1)));
        }
    *out = p;
    return VT_OK;
}

vt_err vt_ec_params_new(vt_ec_params **out, vt_error *err)
{
    return params_new(0, 2, out, err);
}

vt_err vt_ec_params_new_curve(vt_curve c, vt_ec_params **out, vt_error *err)
{
    if (vt_curve_len(c) == 0) return vt_error_set(err, VT_E_ARG, "ec_params", "unknown curve");
    return params_new((int)c - 1, (int)c - 1, out, err);
}

void vt_ec_params_free(vt_ec_params *p)
{
    if (p == NULL) return;
    for (int i = 0; i < 3; i++) EVP_PKEY_free(p->tmpl[i]);
    free(p);
}

/* From prepared parameters: a copy of the parameters-only key (its group is copied, not
 * built) given the public point; setting the encoded point decodes it with EC_POINT_oct2point,
 * which refuses coordinates outside the field and points not on the curve. */
static EVP_PKEY *pub_from_params(const vt_ec_params *p, vt_curve c, const uint8_t *pt, size_t n)
{
    EVP_PKEY *k = EVP_PKEY_dup(p->tmpl[c - 1]);
    if (k != NULL && EVP_PKEY_set1_encoded_public_key(k, pt, n) != 1) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    return k;
}

vt_err vt_ec_pub_from_xy_with(const vt_ec_params *p, vt_curve c, const uint8_t *xy, size_t len, EVP_PKEY **out,
                              vt_error *err)
{
    size_t fl = vt_curve_len(c);
    if (fl == 0 || len != 2 * fl)
        return vt_error_set(err, VT_E_INVALID, "public_key",
                            "EC public key has %zu bytes, expected %zu", len, 2 * fl);
    uint8_t pt[1 + 2 * 66];
    pt[0] = 0x04;
    memcpy(pt + 1, xy, len);
    EVP_PKEY *k = NULL;
    int ok;
    if (p != NULL && p->tmpl[c - 1] != NULL) {
        ok = (k = pub_from_params(p, c, pt, len + 1)) != NULL;
    } else {
        OSSL_PARAM params[3];
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)curve_group(c), 0);
        params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, len + 1);
        params[2] = OSSL_PARAM_construct_end();
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        ok = ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 && EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) == 1;
        EVP_PKEY_CTX_free(ctx);
    }
    if (!ok) {
        ERR_clear_error();
        EVP_PKEY_free(k);
        return vt_error_set(err, VT_E_INVALID, "public_key", "EC public key is not a point on %s",
                            curve_group(c));
    }
    *out = k;
    return VT_OK;
}

vt_err vt_ec_pub_from_xy(vt_curve c, const uint8_t *xy, size_t len, EVP_PKEY **out, vt_error *err)
{
    return vt_ec_pub_from_xy_with(NULL, c, xy, len, out, err);
}

vt_err vt_ec_generate(const vt_ec_params *p, vt_curve c, EVP_PKEY **out, vt_error *err)
{
    if (vt_curve_len(c) == 0) return vt_error_set(err, VT_E_ARG, "keygen", "unknown curve");
    EVP_PKEY *k = NULL;
    if (p != NULL && p->tmpl[c - 1] != NULL) {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, p->tmpl[c - 1], NULL);
        if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_generate(ctx, &k) != 1) k = NULL;
        EVP_PKEY_CTX_free(ctx);
    } else {
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve_group(c));
    }
    if (k == NULL) {
        ERR_clear_error();
        return vt_error_set(err, VT_E_INTERNAL, "keygen", "EC key generation on %s failed", curve_group(c));
    }
    *out = k;
    return VT_OK;
}

vt_err vt_ec_curve_of(const EVP_PKEY *key, vt_curve *out, vt_error *err)
{
    char name[64];
    size_t nl = 0;
    /* the key's own id first: EVP_PKEY_get_base_id resolves it through the ENGINE table, under
     * OpenSSL's global engine lock, on every call (the signers and the JWE on each round) */
    if ((EVP_PKEY_get_id(key) != EVP_PKEY_EC && EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) ||
        EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &nl) != 1)
        return vt_error_set(err, VT_E_UNSUPPORTED, "public_key", "key is not an EC key");
    if (strcmp(name, "prime256v1") == 0) *out = VT_P256;
    else if (strcmp(name, "secp384r1") == 0) *out = VT_P384;
    else if (strcmp(name, "secp521r1") == 0) *out = VT_P521;
    else return vt_error_set(err, VT_E_UNSUPPORTED, "public_key", "unsupported EC curve %s", name);
    return VT_OK;
}

vt_err vt_ec_pub_xy(const EVP_PKEY *key, uint8_t *out, size_t cap, size_t *len, vt_error *err)
{
    uint8_t pt[1 + 2 * 66];
    size_t n = 0;
    if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof pt,
                                        &n) != 1 ||
        n < 3 || pt[0] != 0x04 || n - 1 > cap) {
        ERR_clear_error();
        return vt_error_set(err, VT_E_INVALID, "public_key", "cannot encode EC public key");
    }
    memcpy(out, pt + 1, n - 1);
    *len = n - 1;
    return VT_OK;
}

vt_err vt_ecdsa_raw_to_der(const uint8_t *sig, size_t siglen, uint8_t **der, size_t *derlen,
                           vt_error *err)
{
    if (siglen == 0 || siglen % 2 != 0 || siglen > 132)
        return vt_error_set(err, VT_E_INVALID, "signature", "raw ECDSA signature has %zu bytes",
                            siglen);
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)(siglen / 2), NULL);
    BIGNUM *ss = BN_bin2bn(sig + siglen / 2, (int)(siglen / 2), NULL);
    if (s == NULL || r == NULL || ss == NULL || ECDSA_SIG_set0(s, r, ss) != 1) {
        BN_free(r);
        BN_free(ss);
        ECDSA_SIG_free(s);
        return vt_error_set(err, VT_E_INTERNAL, "signature", "cannot allocate ECDSA signature");
    }
    unsigned char *p = NULL;
    int n = i2d_ECDSA_SIG(s, &p);
    ECDSA_SIG_free(s);
    if (n <= 0) return vt_error_set(err, VT_E_INTERNAL, "signature", "cannot encode signature");
    *der = p;
    *derlen = (size_t)n;
    return VT_OK;
}

static vt_err verify_digest_der(EVP_PKEY *key, const uint8_t *dgst, size_t dlen, const uint8_t *der,
                                size_t derlen, const char *what, vt_error *err)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
    int r = -1;
    if (ctx != NULL && EVP_PKEY_verify_init(ctx) == 1)
        r = EVP_PKEY_verify(ctx, der, derlen, dgst, dlen);
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    if (r != 1)
        return vt_error_set(err, VT_E_VERIFY, "signature", "%s: ECDSA signature does not verify", what);
    return VT_OK;
}

vt_err vt_ecdsa_verify_digest_raw(EVP_PKEY *key, const uint8_t *dgst, size_t dlen,
                                  const uint8_t *sig, size_t siglen, const char *what,
                                  vt_error *err)
{
    vt_curve c;
    VT_GUARD(vt_ec_curve_of(key, &c, err));
    if (siglen != 2 * vt_curve_len(c))
        return vt_error_set(err, VT_E_INVALID, "signature", "%s: signature has %zu bytes, expected %zu",
                            what, siglen, 2 * vt_curve_len(c));
    uint8_t *der = NULL;
    size_t derlen = 0;
    VT_GUARD(vt_ecdsa_raw_to_der(sig, siglen, &der, &derlen, err));
    vt_err rc = verify_digest_der(key, dgst, dlen, der, derlen, what, err);
    OPENSSL_free(der);
    return rc;
}

vt_err vt_ecdsa_verify_raw(EVP_PKEY *key, vt_hash_alg alg, const void *msg, size_t n,
                           const uint8_t *sig, size_t siglen, const char *what, vt_error *err)
{
    uint8_t d[64];
    VT_GUARD(vt_hash(alg, msg, n, d, err));
    return vt_ecdsa_verify_digest_raw(key, d, vt_hash_len(alg), sig, siglen, what, err);
}

vt_err vt_ecdsa_verify_der(EVP_PKEY *key, vt_hash_alg alg, const void *msg, size_t n,
                           const uint8_t *der, size_t derlen, const char *what, vt_error *err)
{
    uint8_t d[64];
    VT_GUARD(vt_hash(alg, msg, n, d, err));
    return verify_digest_der(key, d, vt_hash_len(alg), der, derlen, what, err);
}

/* ECDSA over the digest of msg with a sign-initialised context; the signature as raw r||s of
 * field length fl each (the form DCAP, COSE and JOSE use). */
static vt_err sign_with(EVP_PKEY_CTX *ctx, size_t fl, vt_hash_alg alg, const void *msg, size_t n, uint8_t *sig,
                        size_t cap, size_t *siglen, vt_error *err)
{
    if (cap < 2 * fl) return vt_error_set(err, VT_E_ARG, "sign", "signature buffer too small");
    uint8_t d[64];
    VT_GUARD(vt_hash(alg, msg, n, d, err));
    uint8_t der[160];
    size_t dl = sizeof der;
    int ok = EVP_PKEY_sign(ctx, der, &dl, d, vt_hash_len(alg)) == 1;
    vt_wipe(d, sizeof d);
    if (!ok) return vt_error_set(err, VT_E_INTERNAL, "sign", "ECDSA signing failed (is the key private?)");
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)dl);
    if (es == NULL) return vt_error_set(err, VT_E_INTERNAL, "sign", "cannot decode the ECDSA signature");
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(es, &r, &s);
    ok = BN_bn2binpad(r, sig, (int)fl) == (int)fl && BN_bn2binpad(s, sig + fl, (int)fl) == (int)fl;
    ECDSA_SIG_free(es);
    if (!ok) return vt_error_set(err, VT_E_INTERNAL, "sign", "cannot encode the ECDSA signature");
    *siglen = 2 * fl;
    return VT_OK;
}

static EVP_PKEY_CTX *sign_ctx(EVP_PKEY *key)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
    if (ctx != NULL && EVP_PKEY_sign_init(ctx) != 1) {
        EVP_PKEY_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

/* Sign with an EC private key; the signature as raw r||s (the form DCAP, COSE and JOSE use). */
vt_err vt_ecdsa_sign_raw(EVP_PKEY *key, vt_hash_alg alg, const void *msg, size_t n, uint8_t *sig,
                         size_t cap, size_t *siglen, vt_error *err)
{
    vt_curve cv;
    VT_GUARD(vt_ec_curve_of(key, &cv, err));
    EVP_PKEY_CTX *ctx = sign_ctx(key);
    vt_err rc = ctx != NULL ? sign_with(ctx, vt_curve_len(cv), alg, msg, n, sig, cap, siglen, err)
                            : vt_error_set(err, VT_E_INTERNAL, "sign", "ECDSA signing failed (is the key private?)");
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

struct vt_ecdsa_signer {
    EVP_PKEY_CTX *ctx; /* sign-initialised once: OpenSSL signs with it again and again */
    size_t fl;
};

vt_err vt_ecdsa_signer_new(EVP_PKEY *key, vt_ecdsa_signer **out, vt_error *err)
{
    *out = NULL;
    vt_curve cv;
    VT_GUARD(vt_ec_curve_of(key, &cv, err));
    vt_ecdsa_signer *s = calloc(1, sizeof *s);
    if (s == NULL) return vt_error_set(err, VT_E_NOMEM, "sign", "out of memory");
    if ((s->ctx = sign_ctx(key)) == NULL) {
        free(s);
        ERR_clear_error();
        return vt_error_set(err, VT_E_INTERNAL, "sign", "cannot prepare ECDSA signing (is the key private?)");
    }
    s->fl = vt_curve_len(cv);
    *out = s;
    return VT_OK;
}

void vt_ecdsa_signer_free(vt_ecdsa_signer *s)
{
    if (s == NULL) return;
    EVP_PKEY_CTX_free(s->ctx);
    free(s);
}

vt_err vt_ecdsa_signer_sign(vt_ecdsa_signer *s, vt_hash_alg alg, const void *msg, size_t n, uint8_t *sig, size_t cap,
                            size_t *siglen, vt_error *err)
{
    return sign_with(s->ctx, s->fl, alg, msg, n, sig, cap, siglen, err);
}
