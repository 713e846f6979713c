/* EAR as a JWT (specs/ear.md §5, §8): signing with the verifier key (ES256/ES384 over OpenSSL
 * through vt_jws), relying-party verification, and the signing key's life cycle (load, or
 * generate on first run and store with mode 0600). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "veritee/ear.h"
#include "veritee/fileio.h"
#include "veritee/jose.h"
#include "veritee/json.h"
#include "veritee/jws.h"

/* The EAR's protected header: alg, typ JWT, the verifier key as a JWK and its thumbprint as kid. */
vt_err vt_ear_signer_new(EVP_PKEY *key, vt_jws_signer **out, vt_error *err)
{
    char kid[44];
    VT_GUARD(vt_jwk_thumbprint(key, kid, err));
    json_t *jwk = NULL;
    VT_GUARD(vt_jwk_from_pkey(key, vt_jws_alg_for_key(key), &jwk, err));
    json_t *extra = jwk ? json_pack("{s:o, s:s}", "jwk", jwk, "kid", kid) : NULL;
    vt_err rc = extra ? vt_jws_signer_new(key, "JWT", extra, out, err)
                      : vt_error_set(err, VT_E_NOMEM, "ear_sign", "out of memory");
    json_decref(extra);
    return rc;
}

vt_err vt_ear_sign_with(const vt_jws_signer *s, const json_t *claims, char **jwt, vt_error *err)
{
    char *payload = claims ? vt_json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (payload == NULL) return vt_error_set(err, VT_E_NOMEM, "ear_sign", "out of memory");
    vt_err rc = vt_jws_sign_with(s, (const uint8_t *)payload, strlen(payload), jwt, err);
    free(payload);
    return rc;
}

vt_err vt_ear_sign(const json_t *claims, EVP_PKEY *key, char **jwt, vt_error *err)
{
    vt_jws_signer *s = NULL;
    VT_GUARD(vt_ear_signer_new(key, &s, err));
    vt_err rc = vt_ear_sign_with(s, claims, jwt, err);
    vt_jws_signer_free(s);
    return rc;
}

static bool known_profile(const char *p)
{
    static const char *const ok[] = {VT_EAR_PROFILE_TRUSTEE, VT_EAR_PROFILE_VERAISON,
                                     VT_EAR_PROFILE_DRAFT03, "tag:ietf.org,2025-07:ear", NULL};
    for (size_t i = 0; p && ok[i]; i++)
        if (strcmp(p, ok[i]) == 0) return true;
    return false;
}

static const json_t *either(const json_t *o, const char *dotted, const char *underscored)
{
    const json_t *v = json_object_get(o, dotted);
    return v ? v : json_object_get(o, underscored);
}

static vt_err check_submod(const char *label, const json_t *m, vt_error *err)
{
    if (!json_is_object(m))
        return vt_error_set(err, VT_E_INVALID, "ear_shape", "submods.%.32s: expected an object", label);
    vt_ear_status st;
    const json_t *s = either(m, "ear.status", "ear_status");
    if (!json_is_string(s) || vt_ear_status_parse(json_string_value(s), &st, NULL) != VT_OK)
        return vt_error_set(err, VT_E_INVALID, "ear_shape", "submods.%.32s: ear.status missing or unknown", label);
    const json_t *v = either(m, "ear.trustworthiness-vector", "ear_trustworthiness_vector");
    if (v == NULL) return VT_OK;
    if (!json_is_object(v))
        return vt_error_set(err, VT_E_INVALID, "ear_shape", "submods.%.32s: trustworthiness vector is not an object", label);
    vt_ar4si_vector vec = {{0}};
    const char *k;
    const json_t *x;
    json_object_foreach((json_t *)v, k, x) {
        int idx = -1;
        for (int i = 0; i < VT_AR4SI_COUNT && idx < 0; i++)
            if (strcmp(k, vt_ar4si_name((vt_ar4si_claim)i)) == 0) idx = i;
        if (idx < 0 || !json_is_integer(x) || json_integer_value(x) < -128 || json_integer_value(x) > 127)
            return vt_error_set(err, VT_E_INVALID, "ear_shape",
                                "submods.%.32s: vector claim '%.40s' unknown or not an integer -128..127", label, k);
        vec.v[idx] = (int8_t)json_integer_value(x);
    }
    if (vt_ear_status_rank(st) < vt_ear_status_rank(vt_ar4si_status(&vec)))
        return vt_error_set(err, VT_E_INVALID, "ear_shape", "submods.%.32s: status %s is better than its vector (%s)",
                            label, vt_ear_status_name(st), vt_ear_status_name(vt_ar4si_status(&vec)));
    return VT_OK;
}

vt_err vt_ear_check_claims(const json_t *c, const vt_ear_verify_opts *o, vt_error *err)
{
    const char *prof = json_string_value(json_object_get(c, "eat_profile"));
    if (!known_profile(prof))
        return vt_error_set(err, VT_E_UNSUPPORTED, "ear_profile", "unknown eat_profile '%.80s'", prof ? prof : "(none)");
    const json_t *iat = json_object_get(c, "iat"), *exp = json_object_get(c, "exp");
    if (!json_is_integer(iat)) return vt_error_set(err, VT_E_INVALID, "ear_shape", "iat missing or not an integer");
    if (exp != NULL && !json_is_integer(exp)) return vt_error_set(err, VT_E_INVALID, "ear_shape", "exp is not an integer");
    if (exp == NULL && o->require_exp) return vt_error_set(err, VT_E_VERIFY, "ear_exp", "the token has no exp");
    char t1[21], t2[21];
    if (json_integer_value(iat) > o->now + o->skew) {
        vt_time_format(json_integer_value(iat), t1);
        return vt_error_set(err, VT_E_VERIFY, "ear_iat", "issued in the future (%s)", t1);
    }
    if (exp != NULL && o->now - o->skew >= json_integer_value(exp)) {
        vt_time_format(json_integer_value(exp), t1);
        vt_time_format(o->now, t2);
        return vt_error_set(err, VT_E_EXPIRED, "ear_exp", "the EAR expired on %s (now %s)", t1, t2);
    }
    if (o->max_age > 0 && o->now - json_integer_value(iat) > o->max_age) {
        vt_time_format(json_integer_value(iat), t1);
        return vt_error_set(err, VT_E_EXPIRED, "ear_age", "the EAR was issued %s, more than %lld s ago", t1,
                            (long long)o->max_age);
    }
    const json_t *vid = either(c, "ear.verifier-id", "ear_verifier_id");
    if (!json_is_string(json_object_get(vid, "developer")) || !json_is_string(json_object_get(vid, "build")))
        return vt_error_set(err, VT_E_INVALID, "ear_shape", "ear.verifier-id needs developer and build strings");
    const json_t *subs = json_object_get(c, "submods");
    if (!json_is_object(subs) || json_object_size(subs) == 0)
        return vt_error_set(err, VT_E_INVALID, "ear_shape", "submods missing or empty");
    const char *k;
    const json_t *m;
    json_object_foreach((json_t *)subs, k, m) VT_GUARD(check_submod(k, m, err));
    return VT_OK;
}

vt_err vt_ear_verify(const char *jwt, size_t len, EVP_PKEY *pub, const vt_ear_verify_opts *opts,
                     json_t **claims, vt_error *err)
{
    json_t *hdr = NULL, *c = NULL;
    vt_buf pl = {0};
    vt_err rc;
    VT_GUARD_GOTO(vt_jws_verify(jwt, len, pub, &hdr, &pl, err));
    const json_t *typ = json_object_get(hdr, "typ");
    if (typ != NULL && (!json_is_string(typ) || strcmp(json_string_value(typ), "JWT") != 0)) {
        rc = vt_error_set(err, VT_E_INVALID, "ear_typ", "JWS typ is not JWT");
        goto out;
    }
    VT_GUARD_GOTO(vt_json_parse((const char *)pl.ptr, pl.len, &c, err));
    if (!json_is_object(c)) {
        rc = vt_error_set(err, VT_E_INVALID, "ear_shape", "the JWT payload is not a JSON object");
        goto out;
    }
    VT_GUARD_GOTO(vt_ear_check_claims(c, opts, err));
    *claims = c;
    c = NULL;
out:
    json_decref(hdr);
    json_decref(c);
    vt_buf_free(&pl);
    return rc;
}

vt_ear_status vt_ear_overall(const json_t *claims)
{
    const json_t *subs = json_object_get(claims, "submods");
    vt_ear_status worst = VT_EAR_NONE;
    const char *k;
    const json_t *m;
    if (json_object_size(subs) == 0) return VT_EAR_NONE;
    json_object_foreach((json_t *)subs, k, m) {
        vt_ear_status s = VT_EAR_NONE;
        if (vt_ear_status_parse(json_string_value(either(m, "ear.status", "ear_status")), &s, NULL) != VT_OK)
            return VT_EAR_CONTRAINDICATED;
        if (s == VT_EAR_NONE) return VT_EAR_NONE; /* "none" is never affirmed */
        if (vt_ear_status_rank(s) > vt_ear_status_rank(worst)) worst = s;
    }
    return worst;
}

/* ---- keys ---- */

static vt_err read_secret_file(const char *path, vt_buf *b, vt_error *err)
{
    return vt_file_read(path, 1u << 20, b, err);
}

static vt_err create_key(const char *path, vt_ear_key_alg alg, EVP_PKEY **out, vt_error *err)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", alg == VT_EAR_ES384 ? "P-384" : "P-256");
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n = 0;
    vt_err rc = VT_OK;
    if (k == NULL || bio == NULL || PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) != 1 ||
        (n = BIO_get_mem_data(bio, &data)) <= 0) {
        ERR_clear_error();
        rc = vt_error_set(err, VT_E_INTERNAL, "ear_key", "cannot generate an EC key");
        goto out;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = vt_error_set(err, errno == EEXIST ? VT_E_MISSING : VT_E_IO, "ear_key", "cannot create %s: %s", path,
                          strerror(errno));
        goto out;
    }
    ssize_t w = write(fd, data, (size_t)n);
    int sync_ok = fsync(fd) == 0;
    if (close(fd) != 0 || w != n || !sync_ok) {
        unlink(path);
        rc = vt_error_set(err, VT_E_IO, "ear_key", "cannot write %s", path);
        goto out;
    }
    *out = k;
    k = NULL;
out:
    if (data != NULL && n > 0) OPENSSL_cleanse(data, (size_t)n);
    BIO_free(bio);
    EVP_PKEY_free(k);
    return rc;
}

vt_err vt_ear_key_load_or_create(const char *path, vt_ear_key_alg alg, EVP_PKEY **out,
                                 bool *created, vt_error *err)
{
    struct stat st;
    if (created) *created = false;
    if (alg != VT_EAR_ES256 && alg != VT_EAR_ES384)
        return vt_error_set(err, VT_E_ARG, "ear_key", "EAR keys are ES256 or ES384");
    if (lstat(path, &st) != 0 && errno == ENOENT) {
        vt_err rc = create_key(path, alg, out, err);
        if (rc != VT_E_MISSING) {
            if (rc == VT_OK && created) *created = true;
            return rc;
        }
        if (lstat(path, &st) != 0) return vt_error_set(err, VT_E_IO, "ear_key", "%s vanished", path);
    }
    if (!S_ISREG(st.st_mode)) return vt_error_set(err, VT_E_ARG, "ear_key", "%s is not a regular file", path);
    if (st.st_mode & 077)
        return vt_error_set(err, VT_E_ARG, "ear_key", "%s is readable by group or others (mode %04o); chmod 600 it",
                            path, (unsigned)(st.st_mode & 07777));
    vt_buf b = {0};
    VT_GUARD(read_secret_file(path, &b, err));
    BIO *bio = BIO_new_mem_buf(b.ptr, (int)b.len);
    EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    vt_buf_free_secret(&b);
    if (k == NULL) {
        ERR_clear_error();
        return vt_error_set(err, VT_E_INVALID, "ear_key", "%s is not a PEM private key", path);
    }
    const char *a = vt_jws_alg_for_key(k);
    if (a == NULL || strcmp(a, "ES512") == 0) {
        EVP_PKEY_free(k);
        return vt_error_set(err, VT_E_UNSUPPORTED, "ear_key", "%s: EAR keys must be EC P-256 or P-384", path);
    }
    *out = k;
    return VT_OK;
}

static vt_err jwk_file(const vt_buf *b, const char *path, EVP_PKEY **out, vt_error *err)
{
    json_t *j = NULL;
    VT_GUARD(vt_json_parse((const char *)b->ptr, b->len, &j, err));
    const json_t *keys = json_object_get(j, "keys");
    const json_t *k = j;
    if (keys != NULL) {
        k = NULL;
        size_t i;
        const json_t *x;
        json_array_foreach(keys, i, x) if (k == NULL && json_is_string(json_object_get(x, "kty")) &&
                                           strcmp(json_string_value(json_object_get(x, "kty")), "EC") == 0) k = x;
    }
    vt_err rc = k ? vt_jwk_to_pkey(k, false, out, err)
                  : vt_error_set(err, VT_E_INVALID, "ear_key", "%s: no EC key in the JWKS", path);
    json_decref(j);
    return rc;
}

vt_err vt_ear_key_load_public(const char *path, EVP_PKEY **out, vt_error *err)
{
    vt_buf b = {0};
    VT_GUARD(read_secret_file(path, &b, err));
    size_t i = 0;
    while (i < b.len && (b.ptr[i] == ' ' || b.ptr[i] == '\n' || b.ptr[i] == '\r' || b.ptr[i] == '\t')) i++;
    vt_err rc = VT_OK;
    if (i < b.len && b.ptr[i] == '{') {
        rc = jwk_file(&b, path, out, err);
    } else {
        EVP_PKEY *k = NULL;
        BIO *bio = BIO_new_mem_buf(b.ptr, (int)b.len);
        if (bio) k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        if (bio && k == NULL && BIO_reset(bio) == 1) k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        if (bio && k == NULL && BIO_reset(bio) == 1) {
            X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
            if (x) k = X509_get_pubkey(x);
            X509_free(x);
        }
        BIO_free(bio);
        ERR_clear_error();
        if (k == NULL) rc = vt_error_set(err, VT_E_INVALID, "ear_key", "%s is not a PEM key, certificate or JWK", path);
        else *out = k;
    }
    vt_buf_free_secret(&b);
    if (rc == VT_OK && vt_jws_alg_for_key(*out) == NULL) {
        EVP_PKEY_free(*out);
        *out = NULL;
        return vt_error_set(err, VT_E_UNSUPPORTED, "ear_key", "%s: not an EC key", path);
    }
    return rc;
}

vt_err vt_ear_key_write_public(EVP_PKEY *key, const char *path, vt_error *err)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n = 0;
    if (bio == NULL || PEM_write_bio_PUBKEY(bio, key) != 1 || (n = BIO_get_mem_data(bio, &data)) <= 0) {
        BIO_free(bio);
        ERR_clear_error();
        return vt_error_set(err, VT_E_INTERNAL, "ear_key", "cannot encode the public key");
    }
    vt_err rc = vt_file_write(path, data, (size_t)n, err);
    BIO_free(bio);
    return rc;
}
