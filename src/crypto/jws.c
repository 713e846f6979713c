/* JWS compact serialization with ES256/ES384/ES512 (RFC 7515 §7.1, RFC 7518 §3.4), EC JWKs
 * (RFC 7518 §6.2) and thumbprints (RFC 7638). ECDSA is OpenSSL's (EVP_DigestSign, and
 * vt_ecdsa_verify_raw); this file only frames. */
#include <openssl/ec.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/crypto.h"
#include "veritee/json.h"
#include "veritee/jws.h"

static vt_err alg_info(const EVP_PKEY *key, const char **alg, vt_hash_alg *h, size_t *flen,
                       vt_error *err)
{
    vt_curve c;
    VT_GUARD(vt_ec_curve_of(key, &c, err));
    *flen = vt_curve_len(c);
    *alg = c == VT_P256 ? "ES256" : c == VT_P384 ? "ES384" : "ES512";
    *h = c == VT_P256 ? VT_SHA256 : c == VT_P384 ? VT_SHA384 : VT_SHA512;
    return VT_OK;
}

const char *vt_jws_alg_for_key(const EVP_PKEY *key)
{
    const char *alg;
    vt_hash_alg h;
    size_t fl;
    return alg_info(key, &alg, &h, &fl, NULL) == VT_OK ? alg : NULL;
}

static vt_err sign_raw(EVP_PKEY *priv, vt_hash_alg h, size_t flen, const char *msg, size_t n,
                       uint8_t *sig, vt_error *err)
{
    size_t got = 0;
    vt_err rc = vt_ecdsa_sign_raw(priv, h, msg, n, sig, 2 * flen, &got, err);
    if (rc == VT_OK && got != 2 * flen)
        rc = vt_error_set(err, VT_E_INTERNAL, "jws_sign", "signature length %zu, expected %zu", got, 2 * flen);
    if (rc != VT_OK && err != NULL) vt_error_name(err, "jws_sign");
    return rc;
}

struct vt_jws_signer {
    EVP_PKEY *key; /* referenced */
    vt_hash_alg h;
    size_t flen;
    char *h64;     /* the protected header, serialised and base64url-encoded once */
    size_t hl;
};

vt_err vt_jws_signer_new(EVP_PKEY *priv, const char *typ, const json_t *extra, vt_jws_signer **out, vt_error *err)
{
    const char *alg;
    vt_hash_alg h;
    size_t flen;
    VT_GUARD(alg_info(priv, &alg, &h, &flen, err));
    if (extra != NULL && (!json_is_object(extra) || json_object_get(extra, "alg") != NULL))
        return vt_error_set(err, VT_E_ARG, "jws_sign", "extra header must be an object without alg");
    json_t *hdr = json_pack("{s:s}", "alg", alg);
    if (hdr != NULL && typ != NULL) json_object_set_new(hdr, "typ", json_string(typ));
    if (hdr != NULL && extra != NULL) json_object_update(hdr, (json_t *)extra);
    char *htext = hdr ? vt_json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(hdr);
    char *h64 = htext ? vt_b64_encode((const uint8_t *)htext, strlen(htext), true) : NULL;
    free(htext);
    vt_jws_signer *s = h64 ? calloc(1, sizeof *s) : NULL;
    if (s == NULL) {
        free(h64);
        return vt_error_set(err, VT_E_NOMEM, "jws_sign", "out of memory");
    }
    EVP_PKEY_up_ref(priv);
    s->key = priv;
    s->h = h;
    s->flen = flen;
    s->h64 = h64;
    s->hl = strlen(h64);
    *out = s;
    return VT_OK;
}

void vt_jws_signer_free(vt_jws_signer *s)
{
    if (s == NULL) return;
    EVP_PKEY_free(s->key);
    free(s->h64);
    free(s);
}

vt_err vt_jws_sign_with(const vt_jws_signer *s, const uint8_t *payload, size_t len, char **out, vt_error *err)
{
    char *p64 = vt_b64_encode(payload, len, true);
    vt_err rc = VT_OK;
    char *jws = NULL;
    size_t hl = s->hl, pl = p64 ? strlen(p64) : 0;
    size_t sl = (2 * s->flen * 4 + 2) / 3; /* base64url of the signature, unpadded */
    if (p64 == NULL || (jws = malloc(hl + pl + sl + 3)) == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "jws_sign", "out of memory");
        goto out;
    }
    memcpy(jws, s->h64, hl);
    jws[hl] = '.';
    memcpy(jws + hl + 1, p64, pl);
    uint8_t sig[132];
    if ((rc = sign_raw(s->key, s->h, s->flen, jws, hl + 1 + pl, sig, err)) != VT_OK) goto out;
    char *s64 = vt_b64_encode(sig, 2 * s->flen, true);
    if (s64 == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "jws_sign", "out of memory");
        goto out;
    }
    jws[hl + 1 + pl] = '.';
    memcpy(jws + hl + 2 + pl, s64, strlen(s64) + 1);
    free(s64);
    *out = jws;
    jws = NULL;
out:
    free(jws);
    free(p64);
    return rc;
}

vt_err vt_jws_sign(EVP_PKEY *priv, const char *typ, const json_t *extra, const uint8_t *payload,
                   size_t len, char **out, vt_error *err)
{
    vt_jws_signer *s = NULL;
    VT_GUARD(vt_jws_signer_new(priv, typ, extra, &s, err));
    vt_err rc = vt_jws_sign_with(s, payload, len, out, err);
    vt_jws_signer_free(s);
    return rc;
}

/* Split into three base64url parts (no padding, URL alphabet only). */
static vt_err split(const char *jws, size_t len, size_t dots[2], vt_error *err)
{
    if (len == 0 || len > VT_JWS_MAX)
        return vt_error_set(err, VT_E_INVALID, "jws", "compact JWS of %zu bytes (1..%u)", len, VT_JWS_MAX);
    size_t nd = 0;
    for (size_t i = 0; i < len; i++) {
        char c = jws[i];
        if (c == '.') {
            if (nd == 2) return vt_error_set(err, VT_E_INVALID, "jws", "more than three JWS parts (a JWE?)");
            dots[nd++] = i;
        } else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_')) {
            return vt_error_set(err, VT_E_INVALID, "jws", "character 0x%02x at offset %zu is not base64url",
                                (unsigned char)c, i);
        }
    }
    if (nd != 2) return vt_error_set(err, VT_E_INVALID, "jws", "a compact JWS has three parts, found %zu", nd + 1);
    if (dots[0] == 0) return vt_error_set(err, VT_E_INVALID, "jws", "empty JWS header");
    return VT_OK;
}

static vt_err decode_parts(const char *jws, size_t len, size_t dots[2], json_t **header,
                           vt_buf *payload, vt_error *err)
{
    vt_buf hb = {0};
    VT_GUARD(split(jws, len, dots, err));
    if (vt_b64_decode(jws, dots[0], &hb, err) != VT_OK) return vt_error_wrap(err, "JWS header");
    json_t *h = NULL;
    vt_err rc = vt_json_parse((const char *)hb.ptr, hb.len, &h, err);
    vt_buf_free(&hb);
    if (rc != VT_OK) return vt_error_wrap(err, "JWS header");
    if (!json_is_object(h)) {
        json_decref(h);
        return vt_error_set(err, VT_E_INVALID, "jws", "JWS header is not a JSON object");
    }
    if (vt_b64_decode(jws + dots[0] + 1, dots[1] - dots[0] - 1, payload, err) != VT_OK) {
        json_decref(h);
        return vt_error_wrap(err, "JWS payload");
    }
    *header = h;
    return VT_OK;
}

vt_err vt_jws_peek(const char *jws, size_t len, json_t **header, vt_buf *payload, vt_error *err)
{
    size_t dots[2];
    return decode_parts(jws, len, dots, header, payload, err);
}

vt_err vt_jws_verify(const char *jws, size_t len, EVP_PKEY *pub, json_t **header, vt_buf *payload,
                     vt_error *err)
{
    const char *alg;
    vt_hash_alg h;
    size_t flen, dots[2];
    VT_GUARD(alg_info(pub, &alg, &h, &flen, err));
    json_t *hdr = NULL;
    vt_buf pl = {0}, sig = {0};
    vt_err rc;
    VT_GUARD_GOTO(decode_parts(jws, len, dots, &hdr, &pl, err));
    const char *halg = json_string_value(json_object_get(hdr, "alg"));
    if (halg == NULL) {
        rc = vt_error_set(err, VT_E_INVALID, "jws_alg", "JWS header has no alg string");
        goto out;
    }
    if (strcmp(halg, alg) != 0) {
        rc = vt_error_set(err, VT_E_UNSUPPORTED, "jws_alg", "JWS alg %.16s does not match the %s key",
                          halg, alg);
        goto out;
    }
    if (json_object_get(hdr, "crit") != NULL || json_object_get(hdr, "b64") != NULL) {
        rc = vt_error_set(err, VT_E_UNSUPPORTED, "jws_crit", "JWS header has crit/b64 members we do not process");
        goto out;
    }
    VT_GUARD_GOTO(vt_b64_decode(jws + dots[1] + 1, len - dots[1] - 1, &sig, err));
    if (sig.len != 2 * flen) {
        rc = vt_error_set(err, VT_E_INVALID, "jws_signature", "%s signature has %zu bytes, expected %zu",
                          alg, sig.len, 2 * flen);
        goto out;
    }
    rc = vt_ecdsa_verify_raw(pub, h, jws, dots[1], sig.ptr, sig.len, "JWS signature", err);
    if (rc != VT_OK) {
        vt_error_name(err, "jws_signature");
        goto out;
    }
    if (header) {
        *header = hdr;
        hdr = NULL;
    }
    *payload = pl;
    pl = (vt_buf){0};
out:
    json_decref(hdr);
    vt_buf_free(&pl);
    vt_buf_free(&sig);
    return rc;
}

vt_err vt_jwk_thumbprint(const EVP_PKEY *key, char out[44], vt_error *err)
{
    vt_curve c;
    uint8_t xy[132];
    size_t n;
    VT_GUARD(vt_ec_curve_of(key, &c, err));
    VT_GUARD(vt_ec_pub_xy(key, xy, sizeof xy, &n, err));
    char *x = vt_b64_encode(xy, n / 2, true), *y = vt_b64_encode(xy + n / 2, n / 2, true);
    const char *crv = c == VT_P256 ? "P-256" : c == VT_P384 ? "P-384" : "P-521";
    /* RFC 7638 §3.2: the required members only, in lexicographic order, no whitespace. */
    char text[400];
    int tl = x && y ? snprintf(text, sizeof text, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
                               crv, x, y)
                    : -1;
    free(x);
    free(y);
    if (tl < 0 || (size_t)tl >= sizeof text) return vt_error_set(err, VT_E_NOMEM, "jwk", "out of memory");
    uint8_t h[32];
    VT_GUARD(vt_hash(VT_SHA256, text, (size_t)tl, h, err));
    char *b = vt_b64_encode(h, 32, true);
    if (b == NULL) return vt_error_set(err, VT_E_NOMEM, "jwk", "out of memory");
    snprintf(out, 44, "%s", b);
    free(b);
    return VT_OK;
}
