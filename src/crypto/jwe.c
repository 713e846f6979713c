/* JWE flattened JSON serialisation (RFC 7516 section 7.2.2): ECDH-ES+A256KW (RFC 7518 section
 * 4.6: Concat KDF = OpenSSL's SSKDF with SHA-256, AES key wrap) or RSA-OAEP-256, and A256GCM.
 * The protected header is written in the order CoCo guests re-serialise it (kbs-protocol.md
 * section 11.2): alg, enc, then epk with crv, kty, x, y. */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/crypto.h"
#include "veritee/json.h"
#include "jose_internal.h"
#include "veritee/jose.h"

#define ALG_ECDH "ECDH-ES+A256KW"
#define ALG_RSA "RSA-OAEP-256"

static vt_err fail(vt_error *err, int code, const char *what)
{
    char buf[160];
    vt_openssl_reason(buf, sizeof buf);
    return vt_error_set(err, code, "jwe", "%s%s%s", what, buf[0] ? ": " : "", buf);
}

vt_err vt_jose_ctx_new(vt_jose_ctx **out, vt_error *err)
{
    vt_jose_ctx *cx = calloc(1, sizeof *cx);
    if (cx == NULL) return vt_error_set(err, VT_E_NOMEM, "jwe", "out of memory");
    vt_err rc = vt_ec_params_new(&cx->ec, err);
    if (rc != VT_OK) {
        free(cx);
        return rc;
    }
    cx->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    cx->wrap = EVP_CIPHER_fetch(NULL, "AES-256-WRAP", NULL);
    cx->sskdf = EVP_KDF_fetch(NULL, "SSKDF", NULL);
    if (cx->gcm == NULL || cx->wrap == NULL || cx->sskdf == NULL) {
        vt_jose_ctx_free(cx);
        return fail(err, VT_E_INTERNAL, "cannot fetch AES-256-GCM, AES-256-WRAP or SSKDF");
    }
    *out = cx;
    return VT_OK;
}

void vt_jose_ctx_free(vt_jose_ctx *cx)
{
    if (cx == NULL) return;
    vt_ec_params_free(cx->ec);
    EVP_CIPHER_free(cx->gcm);
    EVP_CIPHER_free(cx->wrap);
    EVP_KDF_free(cx->sskdf);
    free(cx);
}

/* The peer key is checked to lie on the curve and not be the point at infinity (the quick
 * check). OpenSSL's full check would also multiply it by the group order, a scalar
 * multiplication as costly as the ECDH itself; it proves nothing more here: JWKs are only
 * P-256, P-384 or P-521 (jwk.c), whose cofactor is 1, so every point on the curve but infinity
 * has the prime order n (SP 800-56A 5.6.2.3.4, partial validation, suffices for such curves). */
static vt_err ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t *z, size_t *zlen, vt_error *err)
{
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(peer, NULL);
    int valid = pc != NULL && EVP_PKEY_public_check_quick(pc) == 1;
    EVP_PKEY_CTX_free(pc);
    if (!valid) return fail(err, VT_E_INVALID, "ECDH peer key is not a point of its curve");
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(priv, NULL);
    int ok = c && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer_ex(c, peer, 0) == 1 &&
             EVP_PKEY_derive(c, z, zlen) == 1;
    EVP_PKEY_CTX_free(c);
    return ok ? VT_OK : fail(err, VT_E_INVALID, "ECDH key agreement failed");
}

/* Concat KDF (NIST SP 800-56A single-step, SHA-256) as RFC 7518 section 4.6.2 fills it. */
static vt_err concat_kdf(const vt_jose_ctx *cx, const uint8_t *z, size_t zlen, uint8_t kek[32], vt_error *err)
{
    uint8_t info[4 + sizeof ALG_ECDH - 1 + 4 + 4 + 4];
    size_t o = 0, al = sizeof ALG_ECDH - 1;
    info[o++] = 0, info[o++] = 0, info[o++] = 0, info[o++] = (uint8_t)al;
    memcpy(info + o, ALG_ECDH, al);
    o += al;
    memset(info + o, 0, 8); /* apu, apv: empty */
    o += 8;
    info[o++] = 0, info[o++] = 0, info[o++] = 1, info[o++] = 0; /* keydatalen = 256 bits */
    EVP_KDF *kdf = cx ? cx->sskdf : EVP_KDF_fetch(NULL, "SSKDF", NULL);
    EVP_KDF_CTX *kc = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM ps[4];
    ps[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    ps[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, zlen);
    ps[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, o);
    ps[3] = OSSL_PARAM_construct_end();
    int ok = kc && EVP_KDF_derive(kc, kek, 32, ps) == 1;
    EVP_KDF_CTX_free(kc);
    if (cx == NULL) EVP_KDF_free(kdf);
    return ok ? VT_OK : fail(err, VT_E_INTERNAL, "Concat KDF failed");
}

static vt_err aes_kw(const vt_jose_ctx *cx, bool wrap, const uint8_t kek[32], const uint8_t *in, size_t inlen, uint8_t *out,
                     size_t *outlen, vt_error *err)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0;
    int ok = c != NULL;
    if (ok) EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    ok = ok && EVP_CipherInit_ex(c, cx ? cx->wrap : EVP_aes_256_wrap(), NULL, kek, NULL, wrap ? 1 : 0) == 1 &&
         EVP_CipherUpdate(c, out, &l1, in, (int)inlen) == 1 && EVP_CipherFinal_ex(c, out + l1, &l2) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) return fail(err, wrap ? VT_E_INTERNAL : VT_E_VERIFY, wrap ? "AES key wrap failed" : "AES key unwrap failed");
    *outlen = (size_t)(l1 + l2);
    return VT_OK;
}

static vt_err gcm(const vt_jose_ctx *cx, bool enc, const uint8_t key[32], const uint8_t iv[12], const char *aad, const uint8_t *in,
                  size_t inlen, uint8_t *out, uint8_t tag[16], vt_error *err)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l = 0, lf = 0;
    int ok = c && EVP_CipherInit_ex(c, cx ? cx->gcm : EVP_aes_256_gcm(), NULL, NULL, NULL, enc ? 1 : 0) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
             EVP_CipherInit_ex(c, NULL, NULL, key, iv, enc ? 1 : 0) == 1 &&
             EVP_CipherUpdate(c, NULL, &l, (const uint8_t *)aad, (int)strlen(aad)) == 1 &&
             EVP_CipherUpdate(c, out, &l, in, (int)inlen) == 1;
    if (ok && !enc) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
    ok = ok && EVP_CipherFinal_ex(c, out + l, &lf) == 1;
    if (ok && enc) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) return fail(err, enc ? VT_E_INTERNAL : VT_E_VERIFY, enc ? "AES-GCM encryption failed"
                                                                   : "AES-GCM authentication failed");
    return VT_OK;
}

static vt_err rsa_oaep(bool enc, EVP_PKEY *k, const uint8_t *in, size_t inlen, uint8_t *out, size_t *outlen,
                       vt_error *err)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
    int ok = c && (enc ? EVP_PKEY_encrypt_init(c) : EVP_PKEY_decrypt_init(c)) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) == 1 &&
             (enc ? EVP_PKEY_encrypt(c, out, outlen, in, inlen) : EVP_PKEY_decrypt(c, out, outlen, in, inlen)) == 1;
    EVP_PKEY_CTX_free(c);
    return ok ? VT_OK : fail(err, enc ? VT_E_INTERNAL : VT_E_VERIFY, enc ? "RSA-OAEP-256 failed" : "RSA-OAEP-256 decryption failed");
}

static json_t *b64(const uint8_t *p, size_t n)
{
    char *s = vt_b64_encode(p, n, true);
    json_t *j = s ? json_string(s) : NULL;
    free(s);
    return j;
}

static const char *recipient_alg(const json_t *jwk)
{
    const char *alg = json_string_value(json_object_get(jwk, "alg"));
    if (alg != NULL) return alg;
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    return kty && strcmp(kty, "RSA") == 0 ? ALG_RSA : ALG_ECDH;
}

static vt_err encrypt(const vt_jose_ctx *cx, const json_t *recipient_jwk, EVP_PKEY *recipient, EVP_PKEY *ephemeral,
                      const uint8_t cek[32], const uint8_t iv[12], const uint8_t *plaintext, size_t len, json_t **out,
                      vt_error *err)
{
    const char *alg = recipient_alg(recipient_jwk);
    bool ec = strcmp(alg, ALG_ECDH) == 0;
    if (!ec && strcmp(alg, ALG_RSA) != 0)
        return vt_error_set(err, VT_E_UNSUPPORTED, "jwe", "key management algorithm \"%.24s\" is not supported "
                                                          "(ECDH-ES+A256KW, RSA-OAEP-256)", alg);
    EVP_PKEY *rcpt = NULL, *eph = NULL;
    char *hdr = NULL, *prot = NULL, *ex = NULL, *ey = NULL;
    uint8_t *ct = NULL, ek[1100], z[132], kek[32], tag[16];
    size_t eklen = sizeof ek, zlen = sizeof z;
    vt_err rc = VT_OK;
    if (recipient != NULL && EVP_PKEY_up_ref(recipient) == 1) rcpt = recipient;
    else VT_GUARD_GOTO(vt_jwk_to_pkey_cx(cx, recipient_jwk, false, &rcpt, err));
    if (ec) {
        vt_curve cv;
        VT_GUARD_GOTO(vt_ec_curve_of(rcpt, &cv, err));
        if (ephemeral != NULL) {
            eph = ephemeral;
            EVP_PKEY_up_ref(eph);
        } else {
            VT_GUARD_GOTO(vt_ec_generate(cx ? cx->ec : NULL, cv, &eph, err));
        }
        VT_GUARD_GOTO(ecdh(eph, rcpt, z, &zlen, err));
        VT_GUARD_GOTO(concat_kdf(cx, z, zlen, kek, err));
        VT_GUARD_GOTO(aes_kw(cx, true, kek, cek, 32, ek, &eklen, err));
        /* the epk member straight from the ephemeral point (crv, kty, x, y: the order guests
         * re-serialise) */
        uint8_t xy[132];
        size_t n = 0;
        VT_GUARD_GOTO(vt_ec_pub_xy(eph, xy, sizeof xy, &n, err));
        ex = vt_b64_encode(xy, n / 2, true);
        ey = vt_b64_encode(xy + n / 2, n / 2, true);
        size_t hl = (ex ? strlen(ex) : 0) + (ey ? strlen(ey) : 0) + 160;
        hdr = ex && ey ? malloc(hl) : NULL;
        if (hdr)
            snprintf(hdr, hl, "{\"alg\":\"" ALG_ECDH "\",\"enc\":\"A256GCM\",\"epk\":{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}}",
                     cv == VT_P256 ? "P-256" : cv == VT_P384 ? "P-384" : "P-521", ex, ey);
    } else {
        VT_GUARD_GOTO(rsa_oaep(true, rcpt, cek, 32, ek, &eklen, err));
        hdr = strdup("{\"alg\":\"" ALG_RSA "\",\"enc\":\"A256GCM\"}");
    }
    prot = hdr ? vt_b64_encode((const uint8_t *)hdr, strlen(hdr), true) : NULL;
    ct = malloc(len ? len : 1);
    if (prot == NULL || ct == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "jwe", "out of memory");
        goto out;
    }
    VT_GUARD_GOTO(gcm(cx, true, cek, iv, prot, plaintext, len, ct, tag, err));
    json_t *j = json_object();
    json_object_set_new(j, "protected", json_string(prot));
    json_object_set_new(j, "encrypted_key", b64(ek, eklen));
    json_object_set_new(j, "iv", b64(iv, 12));
    json_object_set_new(j, "ciphertext", b64(ct, len));
    json_object_set_new(j, "tag", b64(tag, 16));
    *out = j;
out:
    vt_wipe(z, sizeof z);
    vt_wipe(kek, sizeof kek);
    free(ct);
    free(prot);
    free(hdr);
    free(ex);
    free(ey);
    EVP_PKEY_free(rcpt);
    EVP_PKEY_free(eph);
    return rc;
}

vt_err vt_jwe_encrypt_with(const json_t *recipient_jwk, EVP_PKEY *ephemeral, const uint8_t cek[32],
                           const uint8_t iv[12], const uint8_t *plaintext, size_t len, json_t **out,
                           vt_error *err)
{
    return encrypt(NULL, recipient_jwk, NULL, ephemeral, cek, iv, plaintext, len, out, err);
}

vt_err vt_jwe_encrypt_to(const vt_jose_ctx *cx, const json_t *recipient_jwk, EVP_PKEY *recipient,
                         const uint8_t *plaintext, size_t len, json_t **out, vt_error *err)
{
    /* CEK then IV from one call: each RAND_bytes also asks the kernel for the process id
     * (OpenSSL's fork check) */
    uint8_t rnd[32 + 12];
    if (RAND_bytes(rnd, sizeof rnd) != 1) return fail(err, VT_E_INTERNAL, "no randomness");
    vt_err rc = encrypt(cx, recipient_jwk, recipient, NULL, rnd, rnd + 32, plaintext, len, out, err);
    vt_wipe(rnd, sizeof rnd);
    return rc;
}

vt_err vt_jwe_encrypt_cx(const vt_jose_ctx *cx, const json_t *recipient_jwk, const uint8_t *plaintext, size_t len,
                         json_t **out, vt_error *err)
{
    return vt_jwe_encrypt_to(cx, recipient_jwk, NULL, plaintext, len, out, err);
}

vt_err vt_jwe_encrypt(const json_t *recipient_jwk, const uint8_t *plaintext, size_t len, json_t **out,
                      vt_error *err)
{
    return vt_jwe_encrypt_cx(NULL, recipient_jwk, plaintext, len, out, err);
}

static vt_err member(const json_t *jwe, const char *k, vt_buf *out, vt_error *err)
{
    const char *s = json_string_value(json_object_get(jwe, k));
    if (s == NULL) return vt_error_set(err, VT_E_INVALID, "jwe", "JWE member \"%s\" missing", k);
    vt_err rc = vt_b64_decode(s, strlen(s), out, err);
    if (rc != VT_OK) vt_error_wrap(err, "JWE member \"%s\"", k);
    return rc;
}

/* The uncompressed point (0x04 || x || y) of an EC JWK whose "x" and "y" are both of curve c's
 * length; false for anything else (the caller then takes the general path, with its errors). */
static bool epk_point(const json_t *jwk, vt_curve c, uint8_t pt[1 + 132], size_t *len)
{
    const char *xs = json_string_value(json_object_get(jwk, "x"));
    const char *ys = json_string_value(json_object_get(jwk, "y"));
    if (xs == NULL || ys == NULL) return false;
    size_t fl = vt_curve_len(c);
    vt_buf x = {0}, y = {0};
    bool fits = vt_b64_decode(xs, strlen(xs), &x, NULL) == VT_OK && vt_b64_decode(ys, strlen(ys), &y, NULL) == VT_OK &&
                x.len == fl && y.len == fl;
    if (fits) {
        pt[0] = 4;
        memcpy(pt + 1, x.ptr, fl);
        memcpy(pt + 1 + fl, y.ptr, fl);
        *len = 1 + 2 * fl;
    }
    vt_buf_free(&x);
    vt_buf_free(&y);
    return fits;
}

/* The sender's ephemeral key. When it is an EC JWK on the recipient key's own curve with both
 * coordinates of that curve's length, its point is set on a copy of the recipient key's
 * parameters: OpenSSL duplicates the curve's group instead of building it again from its name
 * (a third of an ECDH's cost). Anything else goes through vt_jwk_to_pkey, with its errors; ecdh()
 * checks the point either way. */
static vt_err epk_key(const json_t *jwk, EVP_PKEY *priv, EVP_PKEY **out, vt_error *err)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    vt_curve c;
    uint8_t pt[1 + 132];
    size_t ptlen = 0;
    if (kty == NULL || strcmp(kty, "EC") != 0 || crv == NULL || vt_ec_curve_of(priv, &c, NULL) != VT_OK ||
        strcmp(crv, c == VT_P256 ? "P-256" : c == VT_P384 ? "P-384" : "P-521") != 0 || !epk_point(jwk, c, pt, &ptlen))
        return vt_jwk_to_pkey(jwk, false, out, err);
    EVP_PKEY *k = EVP_PKEY_new();
    if (k == NULL || EVP_PKEY_copy_parameters(k, priv) != 1 || EVP_PKEY_set1_encoded_public_key(k, pt, ptlen) != 1) {
        EVP_PKEY_free(k);
        ERR_clear_error();
        return vt_error_set(err, VT_E_INVALID, "public_key", "EC public key is not a point on %s", crv);
    }
    *out = k;
    return VT_OK;
}

struct vt_jwe_decryptor {
    const vt_jose_ctx *cx; /* borrowed, may be NULL */
    EVP_PKEY *epk;         /* the last JWE's ephemeral key, NULL after a refused one */
    vt_curve epk_curve;    /* its curve; 0: not an EC key of ours (rebuilt next time) */
};

vt_err vt_jwe_decryptor_new(const vt_jose_ctx *cx, vt_jwe_decryptor **out, vt_error *err)
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL) return vt_error_set(err, VT_E_NOMEM, "jwe", "out of memory");
    (*out)->cx = cx;
    return VT_OK;
}

void vt_jwe_decryptor_free(vt_jwe_decryptor *d)
{
    if (d == NULL) return;
    EVP_PKEY_free(d->epk);
    free(d);
}

static vt_curve curve_named(const char *crv)
{
    return crv == NULL ? 0 : strcmp(crv, "P-256") == 0 ? VT_P256 : strcmp(crv, "P-384") == 0 ? VT_P384
                         : strcmp(crv, "P-521") == 0 ? VT_P521 : 0;
}

/* The decryptor's ephemeral key for this JWE. An EC JWK on the curve of the key kept from the
 * last JWE, with coordinates of that curve's length, has its point set on that key: decoding it
 * refuses a point off the curve (EC_POINT_oct2point), and a refused key is dropped, never used
 * again. Anything else is built afresh by vt_jwk_to_pkey_cx, with its checks and errors, and
 * kept. Creating an EVP_PKEY is OpenSSL's costliest step here (its type is looked up by walking
 * the algorithm name map); setting a point is not. ecdh() checks the point either way. */
static vt_err epk_reuse(vt_jwe_decryptor *d, const json_t *jwk, EVP_PKEY **out, vt_error *err)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    vt_curve c = kty != NULL && strcmp(kty, "EC") == 0 ? curve_named(crv) : 0;
    uint8_t pt[1 + 132];
    size_t ptlen = 0;
    if (c != 0 && d->epk != NULL && d->epk_curve == c && epk_point(jwk, c, pt, &ptlen)) {
        if (EVP_PKEY_set1_encoded_public_key(d->epk, pt, ptlen) != 1) {
            EVP_PKEY_free(d->epk); /* its point may be half set: never used again */
            d->epk = NULL;
            ERR_clear_error();
            return vt_error_set(err, VT_E_INVALID, "public_key", "EC public key is not a point on %s", crv);
        }
        *out = d->epk;
        return VT_OK;
    }
    EVP_PKEY_free(d->epk);
    d->epk = NULL;
    VT_GUARD(vt_jwk_to_pkey_cx(d->cx, jwk, false, &d->epk, err));
    d->epk_curve = c;
    *out = d->epk;
    return VT_OK;
}

static vt_err decrypt(const vt_jose_ctx *cx, vt_jwe_decryptor *d, const json_t *jwe, EVP_PKEY *priv, vt_buf *plaintext,
                      vt_error *err);

vt_err vt_jwe_decrypt(const json_t *jwe, EVP_PKEY *priv, vt_buf *plaintext, vt_error *err)
{
    return decrypt(NULL, NULL, jwe, priv, plaintext, err);
}

vt_err vt_jwe_decryptor_decrypt(vt_jwe_decryptor *d, const json_t *jwe, EVP_PKEY *priv, vt_buf *plaintext,
                                vt_error *err)
{
    return decrypt(d->cx, d, jwe, priv, plaintext, err);
}

static vt_err decrypt(const vt_jose_ctx *cx, vt_jwe_decryptor *d, const json_t *jwe, EVP_PKEY *priv, vt_buf *plaintext,
                      vt_error *err)
{
    const char *prot = json_string_value(json_object_get(jwe, "protected"));
    if (!json_is_object(jwe) || prot == NULL)
        return vt_error_set(err, VT_E_INVALID, "jwe", "not a flattened JWE (no \"protected\")");
    vt_buf hb = {0}, ek = {0}, iv = {0}, ct = {0}, tag = {0}, pt = {0};
    json_t *hdr = NULL;
    EVP_PKEY *epk = NULL;
    uint8_t cek[1100], z[132], kek[32];
    size_t ceklen = sizeof cek, zlen = sizeof z;
    vt_err rc = VT_OK;
    VT_GUARD_GOTO(vt_b64_decode(prot, strlen(prot), &hb, err));
    if (vt_json_parse((const char *)hb.ptr, hb.len, &hdr, NULL) != VT_OK) hdr = NULL; /* refused just below */
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    const char *enc = json_string_value(json_object_get(hdr, "enc"));
    if (alg == NULL || enc == NULL || strcmp(enc, "A256GCM") != 0) {
        rc = vt_error_set(err, VT_E_UNSUPPORTED, "jwe", "JWE header must name alg and enc A256GCM");
        goto out;
    }
    VT_GUARD_GOTO(member(jwe, "encrypted_key", &ek, err));
    VT_GUARD_GOTO(member(jwe, "iv", &iv, err));
    VT_GUARD_GOTO(member(jwe, "ciphertext", &ct, err));
    VT_GUARD_GOTO(member(jwe, "tag", &tag, err));
    if (iv.len != 12 || tag.len != 16) {
        rc = vt_error_set(err, VT_E_INVALID, "jwe", "JWE iv must be 12 bytes and tag 16");
        goto out;
    }
    if (strcmp(alg, ALG_ECDH) == 0) {
        EVP_PKEY *peer = NULL; /* the decryptor's, or epk (freed below) */
        if (d != NULL) {
            VT_GUARD_GOTO(epk_reuse(d, json_object_get(hdr, "epk"), &peer, err));
        } else {
            VT_GUARD_GOTO(epk_key(json_object_get(hdr, "epk"), priv, &epk, err));
            peer = epk;
        }
        VT_GUARD_GOTO(ecdh(priv, peer, z, &zlen, err));
        VT_GUARD_GOTO(concat_kdf(cx, z, zlen, kek, err));
        if (ek.len != 40) {
            rc = vt_error_set(err, VT_E_INVALID, "jwe", "wrapped key must be 40 bytes");
            goto out;
        }
        VT_GUARD_GOTO(aes_kw(cx, false, kek, ek.ptr, ek.len, cek, &ceklen, err));
    } else if (strcmp(alg, ALG_RSA) == 0) {
        VT_GUARD_GOTO(rsa_oaep(false, priv, ek.ptr, ek.len, cek, &ceklen, err));
    } else {
        rc = vt_error_set(err, VT_E_UNSUPPORTED, "jwe", "JWE alg \"%.24s\" is not supported", alg);
        goto out;
    }
    if (ceklen != 32) {
        rc = vt_error_set(err, VT_E_VERIFY, "jwe", "content key is not 32 bytes");
        goto out;
    }
    VT_GUARD_GOTO(vt_buf_set(&pt, "", 0, err));
    free(pt.ptr);
    pt.ptr = malloc(ct.len ? ct.len : 1);
    pt.len = ct.len;
    if (pt.ptr == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "jwe", "out of memory");
        goto out;
    }
    VT_GUARD_GOTO(gcm(cx, false, cek, iv.ptr, prot, ct.ptr, ct.len, pt.ptr, tag.ptr, err));
    *plaintext = pt;
    pt.ptr = NULL;
out:
    vt_wipe(cek, sizeof cek);
    vt_wipe(z, sizeof z);
    vt_wipe(kek, sizeof kek);
    vt_buf_free_secret(&pt);
    vt_buf_free(&hb);
    vt_buf_free(&ek);
    vt_buf_free(&iv);
    vt_buf_free(&ct);
    vt_buf_free(&tag);
    json_decref(hdr);
    EVP_PKEY_free(epk);
    return rc;
}
