/* JWK <-> EVP_PKEY (RFC 7517, RFC 7518 section 6) for EC and RSA keys. */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <string.h>

#include "veritee/crypto.h"
#include "jose_internal.h"
#include "veritee/jose.h"

static vt_err b64member(const json_t *jwk, const char *k, vt_buf *out, vt_error *err)
{
    const char *s = json_string_value(json_object_get(jwk, k));
    if (s == NULL) return vt_error_set(err, VT_E_INVALID, "jwk", "JWK member \"%s\" missing or not a string", k);
    vt_err rc = vt_b64_decode(s, strlen(s), out, err);
    if (rc != VT_OK) vt_error_wrap(err, "JWK member \"%s\"", k);
    return rc;
}

static vt_err ec_from_jwk(const vt_ec_params *ep, const json_t *jwk, bool priv, EVP_PKEY **out, vt_error *err)
{
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    vt_curve c;
    const char *group;
    if (crv != NULL && strcmp(crv, "P-256") == 0) c = VT_P256, group = "prime256v1";
    else if (crv != NULL && strcmp(crv, "P-384") == 0) c = VT_P384, group = "secp384r1";
    else if (crv != NULL && strcmp(crv, "P-521") == 0) c = VT_P521, group = "secp521r1";
    else return vt_error_set(err, VT_E_UNSUPPORTED, "jwk", "EC JWK curve \"%.16s\" is not P-256, P-384 or P-521",
                             crv ? crv : "(missing)");
    size_t fl = vt_curve_len(c);
    vt_buf x = {0}, y = {0}, d = {0};
    vt_err rc = VT_OK;
    VT_GUARD_GOTO(b64member(jwk, "x", &x, err));
    VT_GUARD_GOTO(b64member(jwk, "y", &y, err));
    if (x.len != fl || y.len != fl) {
        rc = vt_error_set(err, VT_E_INVALID, "jwk", "EC JWK coordinates must be %zu bytes", fl);
        goto out;
    }
    if (!priv) {
        uint8_t xy[132];
        memcpy(xy, x.ptr, fl);
        memcpy(xy + fl, y.ptr, fl);
        rc = vt_ec_pub_from_xy_with(ep, c, xy, 2 * fl, out, err);
        goto out;
    }
    VT_GUARD_GOTO(b64member(jwk, "d", &d, err));
    uint8_t pt[1 + 132];
    pt[0] = 4;
    memcpy(pt + 1, x.ptr, fl);
    memcpy(pt + 1 + fl, y.ptr, fl);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bd = BN_bin2bn(d.ptr, (int)d.len, NULL);
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    int ok = bld && bd && ctx && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
             OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * fl) &&
             OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bd) && (params = OSSL_PARAM_BLD_to_param(bld)) &&
             EVP_PKEY_fromdata_init(ctx) == 1 && EVP_PKEY_fromdata(ctx, out, EVP_PKEY_KEYPAIR, params) == 1;
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(bd);
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    if (!ok) rc = vt_error_set(err, VT_E_INVALID, "jwk", "EC JWK private key does not load");
out:
    vt_buf_free(&x);
    vt_buf_free(&y);
    vt_buf_free_secret(&d);
    return rc;
}

/* A JWK's RSA public key is only ever a key to encrypt to (the KBS wraps secrets for the TEE):
 * the modulus must have at least 2048 significant bits (counted after leading zero bytes, so a
 * 1024-bit modulus padded to 256 bytes is refused) and e must be 65537. e = 1 makes the
 * "ciphertext" the padded secret itself; small or even exponents are refused likewise. */
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192

static vt_err rsa_from_jwk(const json_t *jwk, bool priv, EVP_PKEY **out, vt_error *err)
{
    if (priv) return vt_error_set(err, VT_E_UNSUPPORTED, "jwk", "RSA private JWKs are not supported");
    vt_buf n = {0}, e = {0};
    vt_err rc = VT_OK;
    OSSL_PARAM_BLD *bld = NULL;
    BIGNUM *bn = NULL, *be = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    VT_GUARD_GOTO(b64member(jwk, "n", &n, err));
    VT_GUARD_GOTO(b64member(jwk, "e", &e, err));
    if (n.len == 0 || n.len > RSA_MAX_BITS / 8 + 1 || e.len == 0 || e.len > 8) {
        rc = vt_error_set(err, VT_E_INVALID, "jwk", "RSA JWK modulus or exponent has a bad length");
        goto out;
    }
    bn = BN_bin2bn(n.ptr, (int)n.len, NULL);
    be = BN_bin2bn(e.ptr, (int)e.len, NULL);
    if (bn == NULL || be == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "jwk", "out of memory");
        goto out;
    }
    int bits = BN_num_bits(bn); /* significant bits: leading zero bytes do not count */
    if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
        rc = vt_error_set(err, VT_E_INVALID, "jwk", "RSA JWK modulus of %d bits is outside %d..%d", bits, RSA_MIN_BITS,
                          RSA_MAX_BITS);
        goto out;
    }
    if (!BN_is_word(be, 65537)) {
        rc = vt_error_set(err, VT_E_INVALID, "jwk", "RSA JWK public exponent must be 65537");
        goto out;
    }
    bld = OSSL_PARAM_BLD_new();
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    int ok = bld && ctx && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
             OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) && (params = OSSL_PARAM_BLD_to_param(bld)) &&
             EVP_PKEY_fromdata_init(ctx) == 1 && EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) == 1;
    ERR_clear_error();
    if (!ok) rc = vt_error_set(err, VT_E_INVALID, "jwk", "RSA JWK does not load");
    else if (EVP_PKEY_get_bits(*out) < RSA_MIN_BITS) { /* OpenSSL's count, as a second opinion */
        EVP_PKEY_free(*out);
        *out = NULL;
        rc = vt_error_set(err, VT_E_INVALID, "jwk", "RSA JWK modulus is shorter than %d bits", RSA_MIN_BITS);
    }
out:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    EVP_PKEY_CTX_free(ctx);
    vt_buf_free(&n);
    vt_buf_free(&e);
    return rc;
}

vt_err vt_jwk_to_pkey(const json_t *jwk, bool private_key, EVP_PKEY **out, vt_error *err)
{
    return vt_jwk_to_pkey_cx(NULL, jwk, private_key, out, err);
}

vt_err vt_jwk_to_pkey_cx(const vt_jose_ctx *cx, const json_t *jwk, bool private_key, EVP_PKEY **out, vt_error *err)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    if (!json_is_object(jwk) || kty == NULL)
        return vt_error_set(err, VT_E_INVALID, "jwk", "a JWK must be an object with a \"kty\" string");
    if (strcmp(kty, "EC") == 0) return ec_from_jwk(cx ? cx->ec : NULL, jwk, private_key, out, err);
    if (strcmp(kty, "RSA") == 0) return rsa_from_jwk(jwk, private_key, out, err);
    return vt_error_set(err, VT_E_UNSUPPORTED, "jwk", "JWK kty \"%.16s\" is not EC or RSA", kty);
}

static json_t *b64(const uint8_t *p, size_t n)
{
    char *s = vt_b64_encode(p, n, true);
    json_t *j = s ? json_string(s) : NULL;
    free(s);
    return j;
}

vt_err vt_jwk_from_pkey(EVP_PKEY *key, const char *alg, json_t **out, vt_error *err)
{
    json_t *j = json_object();
    if (j == NULL) return vt_error_set(err, VT_E_NOMEM, "jwk", "out of memory");
    vt_curve c;
    if (vt_ec_curve_of(key, &c, NULL) == VT_OK) { /* an EC key on P-256, P-384 or P-521 */
        uint8_t xy[132];
        size_t n;
        vt_err rc = vt_ec_pub_xy(key, xy, sizeof xy, &n, err);
        if (rc != VT_OK) {
            json_decref(j);
            return rc;
        }
        json_object_set_new(j, "kty", json_string("EC"));
        json_object_set_new(j, "crv", json_string(c == VT_P256 ? "P-256" : c == VT_P384 ? "P-384" : "P-521"));
        if (alg) json_object_set_new(j, "alg", json_string(alg));
        json_object_set_new(j, "x", b64(xy, n / 2));
        json_object_set_new(j, "y", b64(xy + n / 2, n / 2));
    } else if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
        BIGNUM *bn = NULL, *be = NULL;
        if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &bn) != 1 ||
            EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &be) != 1) {
            BN_free(bn);
            json_decref(j);
            return vt_error_set(err, VT_E_INTERNAL, "jwk", "cannot read RSA key");
        }
        uint8_t nb[1024], eb[16];
        if (BN_num_bytes(bn) > (int)sizeof nb || BN_num_bytes(be) > (int)sizeof eb) {
            BN_free(bn);
            BN_free(be);
            json_decref(j);
            return vt_error_set(err, VT_E_UNSUPPORTED, "jwk", "RSA key larger than 8192 bits");
        }
        int nl = BN_bn2bin(bn, nb), el = BN_bn2bin(be, eb);
        BN_free(bn);
        BN_free(be);
        json_object_set_new(j, "kty", json_string("RSA"));
        if (alg) json_object_set_new(j, "alg", json_string(alg));
        json_object_set_new(j, "n", b64(nb, (size_t)nl));
        json_object_set_new(j, "e", b64(eb, (size_t)el));
    } else {
        json_decref(j);
        return vt_error_set(err, VT_E_UNSUPPORTED, "jwk", "only EC and RSA keys have a JWK form here");
    }
    *out = j;
    return VT_OK;
}
