/* KBS guest client: RCAR 0.4.0 over HTTP (kbs-protocol.md §§4-6, 9-11, 13): /auth with the
 * version and TEE, the challenge, /attest with the TEE key, binding and evidence, then resource
 * GETs by session cookie or Bearer token, each secret decrypted from its JWE with the TEE key. */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "veritee/crypto.h"
#include "veritee/http_get.h"
#include "veritee/jose.h"
#include "veritee/json.h"
#include "veritee/jws.h"
#include "veritee/kbs_client.h"

#define NONCE_MAX 4096 /* Trustee's nonces are 44 characters; SE ones are a JSON request */
#define BODY_MAX (4u << 20)

#define URLS_MAX 8

struct vt_kbs_client {
    vt_kbs_client_opts o;
    const char *urls[URLS_MAX];
    size_t n_urls, next_url;
    vt_http_client *http;
    EVP_PKEY_CTX *ec_gen; /* P-256 key generation, prepared at the first EC TEE key */
    vt_jose_ctx *jose;    /* curves, ciphers and KDF for the JWEs, prepared at the first resource */
    vt_jwe_decryptor *jwe; /* with jose: the JWEs of the resources */
    vt_kbs_tee_key key;
    char *auth_body; /* the /auth request: the same on every round, written once */
    char cookie[VT_KBS_CLIENT_COOKIE_MAX + 1];
    char *token;
    json_t *last_attestation;
    bool retryable; /* the last request failed in a way a new round may pass */
};

/* ---- TEE key ------------------------------------------------------------------------------- */

/* The TEE key's JWK (with its alg) around a generated key k, which it takes. */
static vt_err tee_key_of(EVP_PKEY *k, const char *alg, vt_kbs_tee_key *out, vt_error *err)
{
    if (k == NULL) return vt_error_set(err, VT_E_INTERNAL, "kbs_tee_key", "OpenSSL could not generate the TEE key");
    vt_err rc = vt_jwk_from_pkey(k, alg, &out->jwk, err);
    if (rc != VT_OK) {
        EVP_PKEY_free(k);
        return rc;
    }
    out->pkey = k;
    return VT_OK;
}

vt_err vt_kbs_tee_key_new(vt_kbs_key_type type, vt_kbs_tee_key *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    if (type == VT_KBS_KEY_EC) return tee_key_of(EVP_EC_gen("P-256"), "ECDH-ES+A256KW", out, err);
    if (type == VT_KBS_KEY_RSA) return tee_key_of(EVP_RSA_gen(2048), "RSA-OAEP-256", out, err);
    return vt_error_set(err, VT_E_ARG, "kbs_tee_key", "key type must be EC or RSA");
}

/* A fresh TEE key per round; EC keys from the client's P-256 generation context, prepared once:
 * OpenSSL then keeps the curve's group in it instead of building one per key. */
static vt_err client_tee_key(vt_kbs_client *c, vt_error *err)
{
    if (c->o.key_type != VT_KBS_KEY_EC) return vt_kbs_tee_key_new(c->o.key_type, &c->key, err);
    memset(&c->key, 0, sizeof c->key);
    if (c->ec_gen == NULL) {
        EVP_PKEY_CTX *g = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        if (g == NULL || EVP_PKEY_keygen_init(g) != 1 || EVP_PKEY_CTX_set_group_name(g, "P-256") != 1) {
            EVP_PKEY_CTX_free(g);
            return vt_error_set(err, VT_E_INTERNAL, "kbs_tee_key", "OpenSSL could not prepare P-256 key generation");
        }
        c->ec_gen = g;
    }
    EVP_PKEY *k = NULL;
    if (EVP_PKEY_generate(c->ec_gen, &k) != 1) k = NULL;
    return tee_key_of(k, "ECDH-ES+A256KW", &c->key, err);
}

void vt_kbs_tee_key_free(vt_kbs_tee_key *k)
{
    if (k == NULL) return;
    EVP_PKEY_free(k->pkey); /* OpenSSL clears private key material on free */
    json_decref(k->jwk);
    k->pkey = NULL;
    k->jwk = NULL;
}

/* ---- client -------------------------------------------------------------------------------- */

vt_err vt_kbs_client_new(const vt_kbs_client_opts *o, vt_kbs_client **out, vt_error *err)
{
    *out = NULL;
    if (o == NULL || o->url == NULL || o->tee == NULL || o->evidence == NULL)
        return vt_error_set(err, VT_E_ARG, "kbs_client", "the client needs a KBS URL, a TEE and an evidence source");
    const char *urls[URLS_MAX] = {o->url};
    size_t n = 1;
    for (const char *const *u = o->more_urls; u != NULL && *u != NULL; u++) {
        if (n == URLS_MAX) return vt_error_set(err, VT_E_ARG, "kbs_client", "at most %d KBS URLs", URLS_MAX);
        urls[n++] = *u;
    }
    for (size_t i = 0; i < n; i++)
        if (strncmp(urls[i], "http://", 7) != 0 && strncmp(urls[i], "https://", 8) != 0)
            return vt_error_set(err, VT_E_ARG, "kbs_client", "KBS URL %.200s: must start with http:// or https://",
                                urls[i]);
    vt_kbs_client *c = calloc(1, sizeof *c);
    if (c == NULL) return vt_error_set(err, VT_E_NOMEM, "kbs_client", "out of memory");
    c->o = *o;
    memcpy(c->urls, urls, sizeof urls);
    c->n_urls = n;
    /* Request {version, tee, extra-params: {supported-hash-algorithms}} (section 4) */
    json_t *req = json_pack("{s:s, s:s, s:{s:[s,s,s]}}", "version", VT_RCAR_VERSION, "tee", o->tee, "extra-params",
                            "supported-hash-algorithms", "sha256", "sha384", "sha512");
    c->auth_body = req != NULL ? vt_json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (c->auth_body == NULL) {
        free(c);
        return vt_error_set(err, VT_E_ARG, "kbs_client", "cannot write the /auth request (a TEE name not in UTF-8, or out of memory)");
    }
    vt_err rc = vt_http_client_new(&c->http, err);
    if (rc != VT_OK) {
        free(c->auth_body);
        free(c);
        return rc;
    }
    *out = c;
    return VT_OK;
}

static void forget_session(vt_kbs_client *c)
{
    vt_kbs_tee_key_free(&c->key);
    if (c->token != NULL) {
        vt_wipe(c->token, strlen(c->token));
        free(c->token);
        c->token = NULL;
    }
    vt_wipe(c->cookie, sizeof c->cookie);
    json_decref(c->last_attestation);
    c->last_attestation = NULL;
}

void vt_kbs_client_free(vt_kbs_client *c)
{
    if (c == NULL) return;
    forget_session(c);
    EVP_PKEY_CTX_free(c->ec_gen);
    vt_jwe_decryptor_free(c->jwe);
    vt_jose_ctx_free(c->jose);
    vt_http_client_free(c->http);
    free(c->auth_body);
    free(c);
}

const char *vt_kbs_client_token(const vt_kbs_client *c)
{
    return c->token;
}

/* A member by its dotted name or its draft-03 name. */
static const json_t *ear_get(const json_t *o, const char *dotted, const char *draft)
{
    const json_t *v = json_object_get(o, dotted);
    return v ? v : json_object_get(o, draft);
}

static const char *str_or(const char *s, const char *dflt)
{
    return s ? s : dflt;
}

static void summary_add(char **s, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void summary_add(char **s, size_t *len, const char *fmt, ...)
{
    if (*s == NULL) return;
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof line) n = sizeof line - 1;
    char *t = realloc(*s, *len + (size_t)n + 1);
    if (t == NULL) {
        free(*s);
        *s = NULL;
        return;
    }
    memcpy(t + *len, line, (size_t)n + 1);
    *s = t;
    *len += (size_t)n;
}

bool vt_kbs_client_retryable(const vt_kbs_client *c) { return c != NULL && c->retryable; }

vt_err vt_kbs_client_token_summary(const vt_kbs_client *c, char **out, vt_error *err)
{
    *out = NULL;
    if (c->token == NULL) return vt_error_set(err, VT_E_MISSING, "token", "no attestation token yet");
    json_t *hdr = NULL, *claims = NULL;
    vt_buf pl = {0};
    vt_err rc = vt_jws_peek(c->token, strlen(c->token), &hdr, &pl, err);
    if (rc == VT_OK) rc = vt_json_parse((const char *)pl.ptr, pl.len, &claims, err);
    const json_t *subs = rc == VT_OK ? json_object_get(claims, "submods") : NULL;
    if (rc == VT_OK && !json_is_object(subs)) rc = vt_error_set(err, VT_E_INVALID, "token", "the token has no submods");
    size_t len = 0;
    char *s = rc == VT_OK ? calloc(1, 1) : NULL;
    if (rc == VT_OK && s == NULL) rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    const char *label;
    const json_t *m;
    if (rc == VT_OK) {
        json_object_foreach((json_t *)subs, label, m) {
            const json_t *pol = ear_get(m, "ear.appraisal-policy-id", "ear_appraisal_policy_ids");
            if (json_is_array(pol)) pol = json_array_get(pol, 0);
            summary_add(&s, &len, "%.64s: %.40s (policy %.64s)\n", label,
                        str_or(json_string_value(ear_get(m, "ear.status", "ear_status")), "?"),
                        str_or(json_string_value(pol), "?"));
            const json_t *checks = ear_get(m, "ear.veritee.appraisal-checks", "ear_veritee_appraisal_checks");
            size_t i;
            const json_t *k;
            json_array_foreach(checks, i, k) {
                const char *st = json_string_value(json_object_get(k, "status"));
                if (st == NULL || strcmp(st, "pass") == 0 || strcmp(st, "skip") == 0) continue;
                const char *claim = json_string_value(json_object_get(k, "claim"));
                summary_add(&s, &len, "  [%.8s] %.40s%s%.40s%s %lld: %.300s\n", st,
                            str_or(json_string_value(json_object_get(k, "name")), "?"), claim ? " (" : "",
                            claim ? claim : "", claim ? ")" : "", (long long)json_integer_value(json_object_get(k, "value")),
                            str_or(json_string_value(json_object_get(k, "detail")), ""));
            }
        }
        if (s == NULL) rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    }
    json_decref(hdr);
    json_decref(claims);
    vt_buf_free(&pl);
    *out = s;
    return rc;
}

const json_t *vt_kbs_client_last_attestation(const vt_kbs_client *c)
{
    return c->last_attestation;
}

/* "kbs-session-id=<value>[; attrs]" -> value (§9). */
static void take_cookie(vt_kbs_client *c, const char *set_cookie)
{
    static const char name[] = VT_RCAR_COOKIE "=";
    if (set_cookie == NULL || strncmp(set_cookie, name, sizeof name - 1) != 0) return;
    const char *v = set_cookie + sizeof name - 1;
    size_t n = strcspn(v, "; \t");
    if (n == 0 || n > VT_KBS_CLIENT_COOKIE_MAX) return;
    for (size_t i = 0; i < n; i++) /* RFC 6265 cookie-octet, minus quotes */
        if (v[i] <= 0x20 || v[i] >= 0x7f || v[i] == '"' || v[i] == ',' || v[i] == '\\') return;
    memcpy(c->cookie, v, n);
    c->cookie[n] = 0;
}

/* A non-200 answer as an error: 401 -> VT_E_VERIFY, 404 -> VT_E_MISSING, with the problem's
 * variant and detail (§13). */
static vt_err http_failure(const char *what, const vt_http_reply *r, vt_error *err)
{
    const char *variant = "", *detail = "";
    json_t *j = NULL;
    json_error_t je;
    if (r->body.len > 0 && r->body.len < 65536) j = json_loadb((const char *)r->body.ptr, r->body.len, 0, &je);
    const char *type = json_string_value(json_object_get(j, "type"));
    if (type != NULL) variant = strrchr(type, '/') ? strrchr(type, '/') + 1 : type;
    if (json_string_value(json_object_get(j, "detail"))) detail = json_string_value(json_object_get(j, "detail"));
    int code = r->status == 401 || r->status == 403 ? VT_E_VERIFY : r->status == 404 ? VT_E_MISSING : VT_E_IO;
    vt_err rc = vt_error_set(err, code, "kbs_http", "%s: HTTP %ld%s%.40s%s%.200s", what, r->status, *variant ? " " : "",
                             variant, *detail ? ": " : "", detail);
    json_decref(j);
    return rc;
}

/* One exchange; the body is JSON `body` or text already written (`body_text`), or none. */
static vt_err request(vt_kbs_client *c, const char *method, const char *path, const json_t *body,
                      const char *body_text, const char *auth_header, const char *what, vt_http_reply *resp,
                      vt_error *err)
{
    char url[1024], cookie[sizeof c->cookie + 32];
    const char *base = c->urls[c->next_url++ % c->n_urls];
    if ((size_t)snprintf(url, sizeof url, "%s%s", base, path) >= sizeof url)
        return vt_error_set(err, VT_E_ARG, "kbs_client", "KBS URL too long");
    const char *hdrs[3] = {0};
    size_t nh = 0;
    if (auth_header != NULL) {
        hdrs[nh++] = auth_header;
    } else if (c->cookie[0] != 0) {
        snprintf(cookie, sizeof cookie, "Cookie: " VT_RCAR_COOKIE "=%s", c->cookie);
        hdrs[nh++] = cookie;
    }
    char *text = body ? vt_json_dumps(body, JSON_COMPACT) : NULL;
    if (body != NULL && text == NULL) return vt_error_set(err, VT_E_NOMEM, "kbs_client", "out of memory");
    const char *sent = text != NULL ? text : body_text;
    vt_http_client_req req = {.method = method, .headers = hdrs,
                           .content_type = sent ? "application/json" : NULL,
                           .body = (const uint8_t *)sent, .body_len = sent ? strlen(sent) : 0};
    bool transient = false;
    vt_http_get_opts ho = {.check = "kbs_http", .timeout_seconds = c->o.timeout_seconds, .max_body = BODY_MAX,
                           .ca_file = c->o.ca_file,
                           .want_header = "Set-Cookie", .fail_code = VT_E_IO, .transient = &transient};
    c->retryable = false;
    vt_err rc = vt_http_client_do(c->http, url, &req, &ho, resp, err);
    free(text);
    if (rc != VT_OK) {
        c->retryable = transient;
        return vt_error_wrap(err, "%s", what);
    }
    take_cookie(c, resp->header_value);
    if (resp->status != 200) {
        long s = resp->status;
        c->retryable = s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
        rc = http_failure(what, resp, err);
        vt_http_reply_free(resp);
    }
    return rc;
}

static vt_err parse_body(const vt_http_reply *r, const char *what, json_t **out, vt_error *err)
{
    vt_err rc = vt_json_parse((const char *)r->body.ptr, r->body.len, out, err);
    if (rc != VT_OK) return vt_error_wrap(err, "%s answer", what);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return vt_error_set(err, VT_E_INVALID, "kbs_client", "%s answer is not a JSON object", what);
    }
    return VT_OK;
}

/* Challenge {nonce, extra-params: "" | {selected-hash-algorithm}} (§5). */
static vt_err challenge(const json_t *ch, const char **nonce, const char **hash_alg, vt_error *err)
{
    *nonce = json_string_value(json_object_get(ch, "nonce"));
    if (*nonce == NULL || strlen(*nonce) == 0 || strlen(*nonce) > NONCE_MAX)
        return vt_error_set(err, VT_E_INVALID, "kbs_challenge", "the challenge has no usable \"nonce\" string");
    const json_t *xp = json_object_get(ch, "extra-params");
    *hash_alg = json_string_value(json_object_get(xp, "selected-hash-algorithm"));
    return VT_OK;
}

static vt_err attest_body(vt_kbs_client *c, const char *nonce, const char *hash_alg, json_t **out, vt_error *err)
{
    uint8_t rd[64], dev_rd[64];
    json_t *ev = NULL;
    char *add = NULL;
    if (c->o.additional != NULL) { /* the devices first: the primary evidence binds their evidence */
        VT_GUARD(vt_rcar_device_binding(nonce, c->key.jwk, hash_alg, dev_rd, err));
        VT_GUARD(c->o.additional(c->o.evidence_ud, dev_rd, &add, err));
    }
    vt_err rc = vt_rcar_binding(nonce, c->key.jwk, add ? add : "", hash_alg, rd, NULL, err);
    /* the digest's own length (the vTPM quotes it unpadded); vt_rcar_binding has refused others */
    size_t rd_len = hash_alg == NULL || strcasecmp(hash_alg, "sha384") == 0 ? 48
                    : strcasecmp(hash_alg, "sha256") == 0                    ? 32
                                                                            : 64;
    if (rc == VT_OK) rc = c->o.evidence(c->o.evidence_ud, rd, rd_len, &ev, err);
    if (rc == VT_OK) {
        json_t *init = c->o.init_data_toml != NULL
                           ? json_pack("{s:s, s:s}", "format", "toml", "body", c->o.init_data_toml)
                           : json_null();
        *out = json_pack("{s:o, s:{s:s, s:O}, s:{s:o, s:s}}", "init-data", init, "runtime-data", "nonce", nonce,
                         "tee-pubkey", c->key.jwk, "tee-evidence", "primary_evidence", ev, "additional_evidence",
                         add ? add : "");
        if (*out == NULL) rc = vt_error_set(err, VT_E_NOMEM, "kbs_client", "cannot build the attestation");
    }
    free(add);
    return rc;
}

vt_err vt_kbs_client_attest(vt_kbs_client *c, vt_error *err)
{
    vt_err rc;
    vt_http_reply r = {0};
    json_t *ch = NULL, *att = NULL, *ans = NULL;
    forget_session(c);
    VT_GUARD_GOTO(client_tee_key(c, err));
    VT_GUARD_GOTO(request(c, "POST", "/kbs/v0/auth", NULL, c->auth_body, NULL, "KBS /auth", &r, err));
    VT_GUARD_GOTO(parse_body(&r, "KBS /auth", &ch, err));
    vt_http_reply_free(&r);
    if (c->cookie[0] == 0) {
        rc = vt_error_set(err, VT_E_INVALID, "kbs_challenge", "KBS /auth set no " VT_RCAR_COOKIE " cookie");
        goto out;
    }
    const char *nonce = NULL, *hash_alg = NULL;
    VT_GUARD_GOTO(challenge(ch, &nonce, &hash_alg, err));
    VT_GUARD_GOTO(attest_body(c, nonce, hash_alg, &att, err));
    VT_GUARD_GOTO(request(c, "POST", "/kbs/v0/attest", att, NULL, NULL, "KBS /attest", &r, err));
    VT_GUARD_GOTO(parse_body(&r, "KBS /attest", &ans, err));
    const char *tok = json_string_value(json_object_get(ans, "token"));
    size_t tok_len = tok != NULL ? strlen(tok) : 0;
    if (tok == NULL || tok_len == 0 || tok_len > VT_KBS_CLIENT_TOKEN_MAX) {
        rc = vt_error_set(err, VT_E_INVALID, "kbs_attest", "KBS /attest answer has no usable \"token\"");
        goto out;
    }
    if ((c->token = strndup(tok, tok_len)) == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "kbs_client", "out of memory");
        goto out;
    }
    c->last_attestation = att;
    att = NULL;
out:
    vt_http_reply_free(&r);
    json_decref(ch);
    json_decref(att);
    json_decref(ans);
    return rc;
}

vt_err vt_kbs_client_get_resource(vt_kbs_client *c, const char *path, bool bearer, vt_buf *secret, vt_error *err)
{
    *secret = (vt_buf){0};
    if (path == NULL || !vt_rcar_resource_path_ok(path))
        return vt_error_set(err, VT_E_ARG, "kbs_resource", "resource path must be REPO/TYPE/TAG, each segment "
                                                           "[A-Za-z0-9_-][A-Za-z0-9_.-]*");
    if (c->token == NULL || c->key.pkey == NULL)
        return vt_error_set(err, VT_E_ARG, "kbs_resource", "no attested session: attest first");
    char upath[512];
    snprintf(upath, sizeof upath, "/kbs/v0/resource/%s", path);
    char *auth = NULL;
    if (bearer) {
        size_t n = strlen(c->token) + 32;
        if ((auth = malloc(n)) == NULL) return vt_error_set(err, VT_E_NOMEM, "kbs_client", "out of memory");
        snprintf(auth, n, "Authorization: Bearer %s", c->token);
    }
    vt_http_reply r = {0};
    json_t *jwe = NULL;
    vt_err rc;
    VT_GUARD_GOTO(request(c, "GET", upath, NULL, NULL, auth, "KBS resource", &r, err));
    VT_GUARD_GOTO(parse_body(&r, "KBS resource", &jwe, err));
    if (c->jose == NULL) VT_GUARD_GOTO(vt_jose_ctx_new(&c->jose, err));
    if (c->jwe == NULL) VT_GUARD_GOTO(vt_jwe_decryptor_new(c->jose, &c->jwe, err));
    rc = vt_jwe_decryptor_decrypt(c->jwe, jwe, c->key.pkey, secret, err);
    if (rc != VT_OK) vt_error_wrap(err, "resource %s", path);
out:
    if (auth != NULL) {
        vt_wipe(auth, strlen(auth));
        free(auth);
    }
    vt_http_reply_free(&r);
    json_decref(jwe);
    return rc;
}
