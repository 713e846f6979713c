/* Admin tokens (docs/kbs.md "Admin API"): short-lived JWTs signed ES256 (RFC 7518 §3.4) or
 * EdDSA/Ed25519 (RFC 8037), binding the request method, target (path and query) and body hash, with a jti the
 * server records so a token is used once. Framing here; every signature is OpenSSL's. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/crypto.h"
#include "veritee/json.h"
#include "veritee/jws.h"
#include "veritee/kbs.h"

static bool is_ed25519(const EVP_PKEY *k)
{
    return EVP_PKEY_is_a(k, "ED25519");
}

static char *body_hash(const uint8_t *body, size_t len)
{
    uint8_t h[32];
    vt_error e;
    if (vt_hash(VT_SHA256, body ? (const void *)body : "", len, h, &e) != VT_OK) return NULL;
    return vt_b64_encode(h, 32, true);
}

vt_err vt_kbs_admin_token(EVP_PKEY *priv, const char *method, const char *target, const uint8_t *body,
                          size_t body_len, vt_time now, int64_t ttl, const char *sub, char **jwt, vt_error *err)
{
    *jwt = NULL;
    uint8_t rnd[16];
    char jti[33];
    if (ttl <= 0 || ttl > VT_KBS_ADMIN_MAX_LIFETIME) ttl = 60;
    if (RAND_bytes(rnd, sizeof rnd) != 1) return vt_error_set(err, VT_E_INTERNAL, "admin_token", "random source failed");
    vt_hex_encode(rnd, sizeof rnd, jti);
    char *bsh = body_hash(body, body_len);
    json_t *c = json_pack("{sI sI ss ss ss ss ss}", "iat", (json_int_t)now, "exp", (json_int_t)(now + ttl), "jti", jti,
                          "sub", sub ? sub : "admin", "htm", method, "htu", target, "bsh", bsh ? bsh : "");
    free(bsh);
    char *payload = c ? json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(c);
    if (payload == NULL) return vt_error_set(err, VT_E_NOMEM, "admin_token", "out of memory");
    vt_err rc = VT_OK;
    if (!is_ed25519(priv)) {
        rc = vt_jws_sign(priv, "JWT", NULL, (const uint8_t *)payload, strlen(payload), jwt, err);
        free(payload);
        return rc;
    }
    char *h = vt_b64_encode((const uint8_t *)"{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}", 27, true);
    char *p = vt_b64_encode((const uint8_t *)payload, strlen(payload), true);
    free(payload);
    char *input = NULL, *sig = NULL;
    uint8_t s[64];
    size_t sl = sizeof s;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (h == NULL || p == NULL || md == NULL || (input = malloc(strlen(h) + strlen(p) + 2)) == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "admin_token", "out of memory");
        goto out;
    }
    sprintf(input, "%s.%s", h, p);
    if (EVP_DigestSignInit(md, NULL, NULL, NULL, priv) != 1 ||
        EVP_DigestSign(md, s, &sl, (const uint8_t *)input, strlen(input)) != 1 || sl != 64) {
        rc = vt_error_set(err, VT_E_INTERNAL, "admin_token", "Ed25519 signing failed");
        goto out;
    }
    sig = vt_b64_encode(s, 64, true);
    *jwt = sig ? malloc(strlen(input) + strlen(sig) + 2) : NULL;
    if (*jwt == NULL) rc = vt_error_set(err, VT_E_NOMEM, "admin_token", "out of memory");
    else sprintf(*jwt, "%s.%s", input, sig);
out:
    EVP_MD_CTX_free(md);
    free(h);
    free(p);
    free(input);
    free(sig);
    return rc;
}

/* EdDSA compact JWS: header {"alg":"EdDSA"} exactly, 64-byte signature. */
static vt_err verify_eddsa(EVP_PKEY *pub, const char *jwt, size_t len, vt_buf *payload, vt_error *err)
{
    const char *d1 = memchr(jwt, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jwt)) : NULL;
    if (d1 == NULL || d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jwt)) != NULL)
        return vt_error_set(err, VT_E_INVALID, "admin_token", "not a compact JWS");
    vt_buf hb = {0}, sb = {0};
    json_t *h = NULL;
    vt_err rc;
    VT_GUARD_GOTO(vt_b64_decode(jwt, (size_t)(d1 - jwt), &hb, err));
    VT_GUARD_GOTO(vt_json_parse((const char *)hb.ptr, hb.len, &h, err));
    const char *alg = json_string_value(json_object_get(h, "alg"));
    if (alg == NULL || strcmp(alg, "EdDSA") != 0 || json_object_get(h, "crit") != NULL) {
        rc = vt_error_set(err, VT_E_UNSUPPORTED, "admin_token", "admin token alg must be EdDSA for an Ed25519 key");
        goto out;
    }
    VT_GUARD_GOTO(vt_b64_decode(d2 + 1, len - (size_t)(d2 + 1 - jwt), &sb, err));
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && sb.len == 64 && EVP_DigestVerifyInit(md, NULL, NULL, NULL, pub) == 1 &&
             EVP_DigestVerify(md, sb.ptr, sb.len, (const uint8_t *)jwt, (size_t)(d2 - jwt)) == 1;
    EVP_MD_CTX_free(md);
    if (!ok) {
        rc = vt_error_set(err, VT_E_VERIFY, "admin_token", "admin token signature does not verify");
        goto out;
    }
    rc = vt_b64_decode(d1 + 1, (size_t)(d2 - d1 - 1), payload, err);
out:
    vt_buf_free(&hb);
    vt_buf_free(&sb);
    json_decref(h);
    return rc;
}

vt_err vt_kbs_admin_token_verify(EVP_PKEY *pub, const char *jwt, size_t len, const char *method, const char *target,
                                 const uint8_t *body, size_t body_len, vt_time now, json_t **claims, vt_error *err)
{
    *claims = NULL;
    vt_buf pl = {0};
    json_t *c = NULL;
    char *bsh = NULL;
    vt_err rc;
    if (len > 8192) return vt_error_set(err, VT_E_INVALID, "admin_token", "admin token too large");
    if (is_ed25519(pub)) VT_GUARD_GOTO(verify_eddsa(pub, jwt, len, &pl, err));
    else VT_GUARD_GOTO(vt_jws_verify(jwt, len, pub, NULL, &pl, err));
    VT_GUARD_GOTO(vt_json_parse((const char *)pl.ptr, pl.len, &c, err));
    int64_t iat, exp;
    const char *jti, *htm, *htu, *bh;
    VT_GUARD_GOTO(vt_json_int(c, "iat", "admin_token.iat", 0, INT64_MAX / 2, &iat, err));
    VT_GUARD_GOTO(vt_json_int(c, "exp", "admin_token.exp", 0, INT64_MAX / 2, &exp, err));
    VT_GUARD_GOTO(vt_json_str(c, "jti", "admin_token.jti", &jti, err));
    VT_GUARD_GOTO(vt_json_str(c, "htm", "admin_token.htm", &htm, err));
    VT_GUARD_GOTO(vt_json_str(c, "htu", "admin_token.htu", &htu, err));
    VT_GUARD_GOTO(vt_json_str(c, "bsh", "admin_token.bsh", &bh, err));
    if (strlen(jti) < 16 || strlen(jti) > 128) {
        rc = vt_error_set(err, VT_E_INVALID, "admin_token", "jti must be 16..128 characters");
        goto out;
    }
    if (exp <= iat || exp - iat > VT_KBS_ADMIN_MAX_LIFETIME) {
        rc = vt_error_set(err, VT_E_VERIFY, "admin_token", "admin token lifetime must be 1..%d s", VT_KBS_ADMIN_MAX_LIFETIME);
        goto out;
    }
    if (iat > now + 60) {
        rc = vt_error_set(err, VT_E_VERIFY, "admin_token", "admin token issued in the future");
        goto out;
    }
    if (now >= exp) {
        rc = vt_error_set(err, VT_E_EXPIRED, "admin_token", "admin token expired");
        goto out;
    }
    bsh = body_hash(body, body_len);
    if (strcmp(htm, method) != 0 || strcmp(htu, target) != 0 || bsh == NULL || strcmp(bsh, bh) != 0) {
        rc = vt_error_set(err, VT_E_VERIFY, "admin_token",
                          "admin token is bound to another request (method, path and query, or body)");
        goto out;
    }
    *claims = c;
    c = NULL;
    rc = VT_OK;
out:
    free(bsh);
    json_decref(c);
    vt_buf_free(&pl);
    return rc;
}

/* Trustee compatibility (docs/coco.md): the token kbs-client makes for its admin calls. */
vt_err vt_kbs_trustee_token_verify(EVP_PKEY *pub, const char *jwt, size_t len, vt_time now, json_t **claims,
                                   vt_error *err)
{
    *claims = NULL;
    vt_buf pl = {0};
    json_t *c = NULL;
    vt_err rc;
    if (pub == NULL || !is_ed25519(pub))
        return vt_error_set(err, VT_E_ARG, "trustee_token", "the Trustee admin key must be an Ed25519 public key");
    if (len > 8192) return vt_error_set(err, VT_E_INVALID, "trustee_token", "Trustee admin token too large");
    VT_GUARD_GOTO(verify_eddsa(pub, jwt, len, &pl, err));
    VT_GUARD_GOTO(vt_json_parse((const char *)pl.ptr, pl.len, &c, err));
    if (!json_is_object(c)) {
        rc = vt_error_set(err, VT_E_INVALID, "trustee_token", "Trustee admin token claims are not a JSON object");
        goto out;
    }
    /* a veritee admin token (request-bound, single use) never passes as an unbound one */
    if (json_object_get(c, "htu") != NULL || json_object_get(c, "jti") != NULL) {
        rc = vt_error_set(err, VT_E_VERIFY, "trustee_token", "a veritee admin token is not a Trustee admin token");
        goto out;
    }
    int64_t iat, exp, nbf = 0;
    VT_GUARD_GOTO(vt_json_int(c, "iat", "trustee_token.iat", 0, INT64_MAX / 2, &iat, err));
    VT_GUARD_GOTO(vt_json_int(c, "exp", "trustee_token.exp", 0, INT64_MAX / 2, &exp, err));
    if (json_object_get(c, "nbf") != NULL)
        VT_GUARD_GOTO(vt_json_int(c, "nbf", "trustee_token.nbf", 0, INT64_MAX / 2, &nbf, err));
    if (exp <= iat || exp - iat > VT_KBS_TRUSTEE_MAX_LIFETIME) {
        rc = vt_error_set(err, VT_E_VERIFY, "trustee_token", "Trustee admin token lifetime must be 1..%d s",
                          VT_KBS_TRUSTEE_MAX_LIFETIME);
        goto out;
    }
    if (iat > now + VT_KBS_TRUSTEE_SKEW || nbf > now + VT_KBS_TRUSTEE_SKEW) {
        rc = vt_error_set(err, VT_E_VERIFY, "trustee_token", "Trustee admin token not valid yet (iat/nbf ahead)");
        goto out;
    }
    if (now >= exp) {
        rc = vt_error_set(err, VT_E_EXPIRED, "trustee_token", "Trustee admin token expired");
        goto out;
    }
    *claims = c;
    c = NULL;
    rc = VT_OK;
out:
    json_decref(c);
    vt_buf_free(&pl);
    return rc;
}
