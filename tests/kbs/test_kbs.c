/* Key Broker Service handlers (kbs-protocol.md): every RCAR rule and the admin API, at the
 * handler level, with the emulated TDX as the guest; the §14 worked example with the sample TEE
 * behind its explicit insecure switch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>

#include "pg_fixture.h"
#include <sqlite3.h>

#include "testutil.h"
#include "veritee/audit.h"
#include "veritee/collateral.h"
#include "veritee/crypto.h"
#include "veritee/emulate.h"
#include "veritee/jose.h"
#include "veritee/kbs.h"
#include "veritee/kbs_http.h"
#include "veritee/pki.h"

#define INIT_TOML "version = \"0.1.0\"\nalgorithm = \"sha384\"\n[data]\n\"aa.toml\" = '''\n[token_configs]\n'''\n"
#define POLICY "{\"id\":\"emu\",\"version\":1,\"emulated\":\"accept\"}"

typedef struct fx {
    char dir[256], emu[300], trust[320], coll[320];
    vt_kek *kek;
    vt_store *store;
    EVP_PKEY *ear, *admin, *tee_ec, *tee_rsa;
    json_t *jwk_ec, *jwk_rsa;
    vt_metrics *metrics;
    vt_kbs *kbs;
    vt_emu *e;
    vt_time now;
    /* scripted randomness for the worked example */
    const uint8_t *script;
    size_t script_len;
} fx;

static fx F;

static int scripted(void *ud, uint8_t *out, size_t n)
{
    fx *f = ud;
    if (f->script == NULL || n > f->script_len) return -1;
    memcpy(out, f->script, n);
    f->script += n;
    f->script_len -= n;
    return 0;
}

static vt_kbs *make_kbs(bool sample, bool scripted_rng)
{
    vt_kbs_config c = {.store = F.store, .metrics = F.metrics, .ear_key = F.ear, .admin_key = F.admin,
                       .trust_dir = F.trust, .collateral_dir = F.coll, .policy_text = POLICY,
                       .insecure_sample_tee = sample, .rng = scripted_rng ? scripted : NULL, .rng_ud = &F};
    vt_kbs *k = NULL;
    vt_error e;
    assert_int_equal(vt_kbs_new(&c, &k, &e), VT_OK);
    return k;
}

static int setup(void **state)
{
    (void)state;
    vt_error e = {0};
    memset(&F, 0, sizeof F);
    F.now = (vt_time)time(NULL);
    vt_test_tmpdir(F.dir, sizeof F.dir);
    snprintf(F.emu, sizeof F.emu, "%s/emu", F.dir);
    snprintf(F.trust, sizeof F.trust, "%s/trust", F.emu);
    snprintf(F.coll, sizeof F.coll, "%s/collateral", F.emu);
    /* MRCONFIGID = SHA-384(init-data TOML), as a guest launched with that init-data reports */
    uint8_t d[48];
    char hex[97], plat[256];
    assert_int_equal(vt_hash(VT_SHA384, INIT_TOML, strlen(INIT_TOML), d, &e), VT_OK);
    vt_hex_encode(d, 48, hex);
    snprintf(plat, sizeof plat, "{\"tdx\":{\"mr_config_id\":\"%s\"},\"snp\":{\"rsa_bits\":2048}}", hex);
    assert_int_equal(vt_emu_init(F.emu, plat, F.now, &e), VT_OK);
    assert_int_equal(vt_emu_open(F.emu, &F.e, &e), VT_OK);
    uint8_t kb[32];
    memset(kb, 7, sizeof kb);
    assert_int_equal(vt_kek_from_bytes(kb, 32, &F.kek, &e), VT_OK);
    char url[400];
    snprintf(url, sizeof url, "sqlite:%s/kbs.db", F.dir);
    vt_store_opts so = {.kek = F.kek};
    assert_int_equal(vt_store_open(url, &so, &F.store, &e), VT_OK);
    F.ear = EVP_EC_gen("P-256");
    F.admin = EVP_EC_gen("P-256");
    F.tee_ec = EVP_EC_gen("P-256");
    F.tee_rsa = EVP_RSA_gen(2048);
    assert_non_null(F.tee_rsa);
    assert_int_equal(vt_jwk_from_pkey(F.tee_ec, "ECDH-ES+A256KW", &F.jwk_ec, &e), VT_OK);
    assert_int_equal(vt_jwk_from_pkey(F.tee_rsa, "RSA-OAEP-256", &F.jwk_rsa, &e), VT_OK);
    F.metrics = vt_metrics_new();
    F.kbs = make_kbs(false, false);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    vt_kbs_free(F.kbs);
    vt_emu_free(F.e);
    vt_store_close(F.store);
    vt_kek_free(F.kek);
    EVP_PKEY_free(F.ear);
    EVP_PKEY_free(F.admin);
    EVP_PKEY_free(F.tee_ec);
    EVP_PKEY_free(F.tee_rsa);
    json_decref(F.jwk_ec);
    json_decref(F.jwk_rsa);
    vt_metrics_free(F.metrics);
    return 0;
}

/* ---- helpers ---- */

static vt_kbs_call call(vt_time now, const char *sid, const char *body)
{
    vt_kbs_call c = {.now = now, .session_id = sid, .body = (const uint8_t *)body, .body_len = body ? strlen(body) : 0};
    return c;
}

typedef struct sess {
    char id[40];
    char nonce[64];
} sess;

static void auth(vt_kbs *k, const char *tee, vt_time now, sess *s)
{
    char body[160];
    vt_kbs_reply r;
    snprintf(body, sizeof body, "{\"version\":\"0.4.0\",\"tee\":\"%s\",\"extra-params\":{\"supported-hash-algorithms\":[\"sha384\"]}}", tee);
    vt_kbs_call c = call(now, NULL, body);
    vt_kbs_auth(k, &c, &r);
    assert_int_equal(r.status, 200);
    assert_true(r.set_cookie);
    assert_int_equal(strlen(r.session_id), 32);
    assert_int_equal(r.session_expires, now + VT_KBS_DEFAULT_SESSION_LIFETIME);
    assert_string_equal(json_string_value(json_object_get(r.json, "extra-params")), "");
    const char *n = json_string_value(json_object_get(r.json, "nonce"));
    assert_int_equal(strlen(n), 44);
    snprintf(s->id, sizeof s->id, "%s", r.session_id);
    snprintf(s->nonce, sizeof s->nonce, "%s", n);
    vt_kbs_reply_clear(&r);
}

/* An Attestation body with emulated TDX evidence over report data rd (NULL: the right binding). */
static char *tdx_body(const char *nonce, const json_t *jwk, const uint8_t *rd_override, const char *init)
{
    uint8_t rd[64];
    vt_error e = {0};
    vt_buf q = {0};
    json_t *ev = NULL;
    if (rd_override) memcpy(rd, rd_override, 64);
    else assert_int_equal(vt_rcar_binding(nonce, jwk, "", NULL, rd, NULL, &e), VT_OK);
    assert_int_equal(vt_emu_tdx_quote(F.e, rd, 0, &q, &e), VT_OK);
    assert_int_equal(vt_rcar_evidence_json("tdx", q.ptr, q.len, &ev, &e), VT_OK);
    vt_buf_free(&q);
    json_t *b = json_pack("{so s{ss sO} s{so ss}}", "init-data",
                          init ? json_pack("{ss ss}", "format", "toml", "body", init) : json_null(), "runtime-data",
                          "nonce", nonce, "tee-pubkey", jwk, "tee-evidence", "primary_evidence", ev,
                          "additional_evidence", "");
    char *s = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    return s;
}

static void attest(vt_kbs *k, const sess *s, vt_time now, const char *body, int want, const char *detail, char **token)
{
    vt_kbs_reply r;
    vt_kbs_call c = call(now, s->id, body);
    vt_kbs_attest(k, &c, &r);
    if (r.status != want) fprintf(stderr, "attest: %d %s: %s\n", r.status, r.problem, r.detail);
    assert_int_equal(r.status, want);
    if (detail) assert_non_null(strstr(r.detail, detail));
    if (want == 200) {
        assert_true(r.set_cookie);
        assert_string_equal(r.session_id, s->id);
        if (token) *token = strdup(json_string_value(json_object_get(r.json, "token")));
    } else {
        assert_string_equal(r.problem, "AttestationError");
    }
    vt_kbs_reply_clear(&r);
}

static void admin_call(vt_kbs *k, EVP_PKEY *key, const char *method, const char *path, const char *query,
                       const char *body, int want)
{
    vt_error e = {0};
    char *jwt = NULL;
    size_t bl = body ? strlen(body) : 0;
    char target[600]; /* the token binds path and query */
    snprintf(target, sizeof target, "%s%s%s", path, query ? "?version=" : "", query ? query : "");
    assert_int_equal(vt_kbs_admin_token(key, method, target, (const uint8_t *)body, bl, F.now, 60, "test", &jwt, &e), VT_OK);
    vt_kbs_call c = {.now = F.now, .bearer = jwt, .bearer_len = strlen(jwt), .method = method, .path = path,
                     .body = (const uint8_t *)body, .body_len = bl, .query_version = query};
    vt_kbs_reply r;
    vt_kbs_admin(k, &c, &r);
    if (r.status != want) fprintf(stderr, "admin %s %s: %d %s\n", method, path, r.status, r.detail);
    assert_int_equal(r.status, want);
    vt_kbs_reply_clear(&r);
    free(jwt);
}

static void put_secret(const char *path, const char *value)
{
    char p[300];
    snprintf(p, sizeof p, "/kbs/v0/resource/%s", path);
    admin_call(F.kbs, F.admin, "POST", p, NULL, value, 200);
}

static void set_rpolicy(const char *path, const char *policy)
{
    char *b64 = vt_b64_encode((const uint8_t *)policy, strlen(policy), true);
    json_t *o = path ? json_pack("{ss ss}", "path", path, "policy", b64) : json_pack("{ss}", "policy", b64);
    char *body = json_dumps(o, JSON_COMPACT);
    admin_call(F.kbs, F.admin, "POST", "/kbs/v0/resource-policy", NULL, body, 200);
    free(body);
    free(b64);
    json_decref(o);
}

/* GET a resource; on 200 decrypt the JWE with priv and compare with want. */
static void get_resource(vt_kbs *k, const char *path, const char *sid, const char *bearer, vt_time now,
                         const char *version, EVP_PKEY *priv, int status, const char *problem, const char *want)
{
    vt_kbs_call c = {.now = now, .session_id = sid, .bearer = bearer, .bearer_len = bearer ? strlen(bearer) : 0,
                     .query_version = version};
    vt_kbs_reply r;
    vt_kbs_resource(k, path, &c, &r);
    if (r.status != status) fprintf(stderr, "resource %s: %d %s: %s\n", path, r.status, r.problem, r.detail);
    assert_int_equal(r.status, status);
    if (problem) assert_string_equal(r.problem, problem);
    if (status == 200) {
        vt_buf pt = {0};
        vt_error e = {0};
        assert_int_equal(json_object_size(r.json), 5);
        assert_null(json_object_get(r.json, "aad"));
        assert_int_equal(vt_jwe_decrypt(r.json, priv, &pt, &e), VT_OK);
        assert_int_equal(pt.len, strlen(want));
        assert_memory_equal(pt.ptr, want, pt.len);
        vt_buf_free_secret(&pt);
    }
    vt_kbs_reply_clear(&r);
}

/* ---- /auth ---- */

static void test_auth_rules(void **state)
{
    (void)state;
    static const struct {
        const char *body, *detail;
    } bad[] = {
        {"{\"version\":\"0.2.0\",\"tee\":\"tdx\",\"extra-params\":\"\"}", "expect =0.4.0 while the request is 0.2.0"},
        {"{\"version\":\"0.4.0\",\"tee\":\"csv\",\"extra-params\":\"\"}", "not supported"},
        {"{\"version\":\"0.4.0\",\"tee\":\"bogus\"}", "not supported"},
        {"{\"version\":\"0.4.0\",\"tee\":\"sample\"}", "not supported"}, /* never without the switch */
        {"{\"version\":\"0.4.0\",\"tee\":\"tdx\",\"extra-params\":{\"id\":\"x\"}}", "policy selector"},
        {"{\"version\":\"0.4.0\"}", "tee"},
        {"[1,2]", "object"},
        {"{\"version\":", ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vt_kbs_reply r;
        vt_kbs_call c = call(F.now, NULL, bad[i].body);
        vt_kbs_auth(F.kbs, &c, &r);
        assert_int_equal(r.status, 401);
        assert_false(r.set_cookie);
        assert_string_equal(r.problem, "AttestationError");
        assert_non_null(strstr(r.detail, bad[i].detail));
        vt_kbs_reply_clear(&r);
    }
    /* older clients send extra-params "" : accepted */
    vt_kbs_reply r;
    vt_kbs_call c = call(F.now, NULL, "{\"version\":\"0.4.0\",\"tee\":\"snp\",\"extra-params\":\"\"}");
    vt_kbs_auth(F.kbs, &c, &r);
    assert_int_equal(r.status, 200);
    /* the cookie as an HTTP header: Expires only */
    vt_http_response h;
    memset(&h, 0, sizeof h);
    vt_kbs_reply_to_http(&r, &h);
    assert_int_equal(h.nheaders, 1);
    assert_string_equal(h.header_names[0], "Set-Cookie");
    assert_int_equal(strncmp(h.header_values[0], "kbs-session-id=", 15), 0);
    assert_non_null(strstr(h.header_values[0], "; Expires="));
    assert_null(strstr(h.header_values[0], "Path"));
    vt_http_response_clear(&h);
    vt_kbs_reply_clear(&r);
}

/* ---- the whole exchange, cookie and bearer, idempotent attest ---- */

static void test_tdx_round_trip(void **state)
{
    (void)state;
    sess s;
    char *tok = NULL, *tok2 = NULL;
    auth(F.kbs, "tdx", F.now, &s);
    char *body = tdx_body(s.nonce, F.jwk_ec, NULL, INIT_TOML);
    vt_error e = {0};
    int64_t seq0 = 0, seq1 = 0;
    uint8_t h[VT_AUDIT_HASH_LEN];
    assert_int_equal(vt_store_audit_head(F.store, &seq0, h, &e), VT_OK);
    uint64_t flushes = vt_store_flushes(F.store);
    attest(F.kbs, &s, F.now, body, 200, NULL, &tok);
    /* the attestation's record is written, and not waited for on the disk (deferred: the
     * release's flush makes it durable, below) */
    assert_int_equal(vt_store_audit_head(F.store, &seq1, h, &e), VT_OK);
    assert_int_equal(seq1, seq0 + 1);
    assert_int_equal(vt_store_flushes(F.store), flushes);
    attest(F.kbs, &s, F.now + 1, body, 200, NULL, &tok2); /* second /attest: same token */
    assert_string_equal(tok, tok2);
    /* the EAR: ES256, cpu0 affirming, tee-pubkey under runtime_data_claims, init-data claims */
    json_t *claims = NULL;
    vt_ear_verify_opts vo = {.now = F.now, .require_exp = true};
    assert_int_equal(vt_ear_verify(tok, strlen(tok), F.ear, &vo, &claims, &e), VT_OK);
    assert_int_equal(json_integer_value(json_object_get(claims, "exp")) - json_integer_value(json_object_get(claims, "iat")), 300);
    json_t *cpu0 = json_object_get(json_object_get(claims, "submods"), "cpu0");
    assert_string_equal(json_string_value(json_object_get(cpu0, "ear.status")), "affirming");
    json_t *ae = json_object_get(cpu0, "ear.veraison.annotated-evidence");
    assert_true(json_equal(json_object_get(json_object_get(ae, "runtime_data_claims"), "tee-pubkey"), F.jwk_ec));
    assert_true(json_is_true(json_object_get(ae, "emulated")));
    assert_non_null(json_object_get(json_object_get(ae, "init_data_claims"), "aa.toml"));
    json_decref(claims);
    put_secret("default/key/disk1", "0123456789abcdef0123456789abcdef");
    flushes = vt_store_flushes(F.store);
    get_resource(F.kbs, "default/key/disk1", s.id, NULL, F.now, NULL, F.tee_ec, 200, NULL, "0123456789abcdef0123456789abcdef");
    assert_int_equal(vt_store_flushes(F.store), flushes + 1); /* the release waited for its record */
    get_resource(F.kbs, "default/key/disk1", NULL, tok, F.now, NULL, F.tee_ec, 200, NULL, "0123456789abcdef0123456789abcdef");
    assert_int_equal(vt_kbs_sweep(F.kbs, F.now, &e), VT_OK);
    assert_int_equal(vt_metric_value(vt_metrics_counter(F.metrics, "veritee_store_flushes_total", NULL, NULL), NULL),
                     (double)vt_store_flushes(F.store));
    /* the audit gauge counts the stored records (the fixture's store is the other tests' too:
     * nothing is archived here; test_audit covers the cut) */
    vt_audit_report rep;
    assert_int_equal(vt_audit_verify(F.store, NULL, &rep, &e), VT_OK);
    assert_true(rep.records >= 3); /* the attestation and the two releases at least */
    assert_int_equal(vt_metric_value(vt_metrics_gauge(F.metrics, "veritee_audit_records", NULL, NULL), NULL),
                     (double)rep.records);
    /* no token at all; unknown session without bearer */
    get_resource(F.kbs, "default/key/disk1", NULL, NULL, F.now, NULL, NULL, 401, "TokenNotFound", NULL);
    get_resource(F.kbs, "default/key/disk1", "00000000000000000000000000000000", NULL, F.now, NULL, NULL, 401, "TokenNotFound", NULL);
    /* bad paths: 404 */
    get_resource(F.kbs, "default/key", NULL, tok, F.now, NULL, NULL, 404, "InvalidRequestPath", NULL);
    get_resource(F.kbs, "default/../disk1", NULL, tok, F.now, NULL, NULL, 404, "InvalidRequestPath", NULL);
    get_resource(F.kbs, "default/key/.hidden", NULL, tok, F.now, NULL, NULL, 404, "InvalidRequestPath", NULL);
    /* unknown resource: 401 as the reference */
    get_resource(F.kbs, "default/key/none", NULL, tok, F.now, NULL, NULL, 401, "PluginInternalError", NULL);
    /* expired token (bearer) and tampered token */
    get_resource(F.kbs, "default/key/disk1", NULL, tok, F.now + 300 + 61, NULL, NULL, 401, "TokenVerifierError", NULL);
    char *bad = strdup(tok);
    char *dot = strchr(bad, '.');
    dot[5] = dot[5] == 'A' ? 'B' : 'A';
    get_resource(F.kbs, "default/key/disk1", NULL, bad, F.now, NULL, NULL, 401, "TokenVerifierError", NULL);
    free(bad);
    assert_true(vt_metric_value(vt_metrics_counter(F.metrics, "tee_key_release_total", NULL, "tee"),
                                (const char *const[]){"tdx"}) >= 2);
    free(body);
    free(tok);
    free(tok2);
}

static void test_rsa_tee_key(void **state)
{
    (void)state;
    sess s;
    auth(F.kbs, "tdx", F.now, &s);
    char *body = tdx_body(s.nonce, F.jwk_rsa, NULL, NULL);
    attest(F.kbs, &s, F.now, body, 200, NULL, NULL);
    put_secret("default/key/rsa", "rsa secret");
    get_resource(F.kbs, "default/key/rsa", s.id, NULL, F.now, NULL, F.tee_rsa, 200, NULL, "rsa secret");
    free(body);
}

/* ---- /attest rules ---- */

static void test_attest_rules(void **state)
{
    (void)state;
    sess s, s2;
    char *body;
    /* nonce of another session */
    auth(F.kbs, "tdx", F.now, &s);
    auth(F.kbs, "tdx", F.now, &s2);
    body = tdx_body(s2.nonce, F.jwk_ec, NULL, NULL);
    attest(F.kbs, &s, F.now, body, 401, "challenge", NULL);
    free(body);
    /* wrong binding: the evidence commits to another key */
    uint8_t rd[64];
    vt_error e;
    assert_int_equal(vt_rcar_binding(s2.nonce, F.jwk_rsa, "", NULL, rd, NULL, &e), VT_OK);
    body = tdx_body(s2.nonce, F.jwk_ec, rd, NULL);
    attest(F.kbs, &s2, F.now, body, 401, "binding", NULL);
    free(body);
    /* the nonce was consumed by that attempt: a correct retry on the same session is a replay */
    body = tdx_body(s2.nonce, F.jwk_ec, NULL, NULL);
    attest(F.kbs, &s2, F.now, body, 401, "already used", NULL);
    free(body);
    /* wrong init-data: MRCONFIGID holds another digest */
    sess s3;
    auth(F.kbs, "tdx", F.now, &s3);
    body = tdx_body(s3.nonce, F.jwk_ec, NULL, "version = \"0.1.0\"\nalgorithm = \"sha384\"\n[data]\n");
    attest(F.kbs, &s3, F.now, body, 401, "init-data digest does not match", NULL);
    free(body);
    /* init-data other than TOML */
    sess s4;
    auth(F.kbs, "tdx", F.now, &s4);
    body = tdx_body(s4.nonce, F.jwk_ec, NULL, NULL);
    json_t *j = json_loads(body, 0, NULL);
    json_object_set_new(j, "init-data", json_pack("{ss ss}", "format", "json", "body", "{}"));
    char *b2 = json_dumps(j, JSON_COMPACT);
    attest(F.kbs, &s4, F.now, b2, 401, "format", NULL);
    free(b2);
    json_decref(j);
    free(body);
    /* expired session */
    sess s5;
    auth(F.kbs, "tdx", F.now, &s5);
    body = tdx_body(s5.nonce, F.jwk_ec, NULL, NULL);
    attest(F.kbs, &s5, F.now + VT_KBS_DEFAULT_SESSION_LIFETIME + 1, body, 401, "expired", NULL);
    free(body);
    /* no cookie; unknown cookie; evidence of another TEE than the session's */
    sess none = {.id = "ffffffffffffffffffffffffffffffff"};
    attest(F.kbs, &none, F.now, "{}", 401, "unknown session", NULL);
    vt_kbs_reply r;
    vt_kbs_call c = call(F.now, NULL, "{}");
    vt_kbs_attest(F.kbs, &c, &r);
    assert_int_equal(r.status, 401);
    vt_kbs_reply_clear(&r);
    sess s6;
    auth(F.kbs, "sgx", F.now, &s6);
    body = tdx_body(s6.nonce, F.jwk_ec, NULL, NULL);
    attest(F.kbs, &s6, F.now, body, 401, NULL, NULL);
    free(body);
    /* malformed bodies */
    sess s7;
    auth(F.kbs, "tdx", F.now, &s7);
    attest(F.kbs, &s7, F.now, "{\"runtime-data\":{\"nonce\":\"x\",\"tee-pubkey\":{\"kty\":\"oct\"}}}", 401, "kty", NULL);
    attest(F.kbs, &s7, F.now, "not json", 401, NULL, NULL);
    /* A weak RSA TEE key (e = 1: the JWE would carry the secret in clear) gets no token. */
    EVP_PKEY *rk = NULL;
    json_t *weak = NULL;
    assert_int_equal(vt_pki_rsa_key(2048, &rk, &e), VT_OK);
    assert_int_equal(vt_jwk_from_pkey(rk, NULL, &weak, &e), VT_OK);
    EVP_PKEY_free(rk);
    json_object_set_new(weak, "e", json_string("AQ"));
    sess s8;
    auth(F.kbs, "tdx", F.now, &s8);
    body = tdx_body(s8.nonce, weak, NULL, NULL);
    attest(F.kbs, &s8, F.now, body, 401, "exponent", NULL);
    free(body);
    json_decref(weak);
}

/* ---- resource policy, revocation ---- */

static void test_resource_policy_and_revocation(void **state)
{
    (void)state;
    sess s;
    char *tok = NULL;
    auth(F.kbs, "tdx", F.now, &s);
    char *body = tdx_body(s.nonce, F.jwk_ec, NULL, NULL);
    attest(F.kbs, &s, F.now, body, 200, NULL, &tok);
    free(body);
    put_secret("team/key/snp-only", "x");
    set_rpolicy("team/key/snp-only", "{\"id\":\"snp\",\"version\":1,\"tee_types\":[\"snp\"]}");
    get_resource(F.kbs, "team/key/snp-only", NULL, tok, F.now, NULL, NULL, 401, "PolicyDeny", NULL);
    put_secret("team/key/mrtd", "pinned");
    set_rpolicy("team/key/mrtd", "{\"tee_types\":[\"tdx\"],\"measurements\":{\"mr_td\":[\"00\"]}}");
    get_resource(F.kbs, "team/key/mrtd", NULL, tok, F.now, NULL, NULL, 401, "PolicyDeny", NULL);
    set_rpolicy("team/key/noemu", "{\"emulated\":\"reject\"}");
    put_secret("team/key/noemu", "y");
    get_resource(F.kbs, "team/key/noemu", NULL, tok, F.now, NULL, NULL, 401, "PolicyDeny", NULL);
    /* a bad resource policy is refused */
    char *b64 = vt_b64_encode((const uint8_t *)"{\"tee_typo\":1}", 14, true);
    char pb[200];
    snprintf(pb, sizeof pb, "{\"policy\":\"%s\"}", b64);
    free(b64);
    admin_call(F.kbs, F.admin, "POST", "/kbs/v0/resource-policy", NULL, pb, 401);
    /* versions: revoke, rotate, explicit version */
    put_secret("team/key/rot", "v1");
    put_secret("team/key/rot", "v2");
    get_resource(F.kbs, "team/key/rot", NULL, tok, F.now, NULL, F.tee_ec, 200, NULL, "v2");
    get_resource(F.kbs, "team/key/rot", NULL, tok, F.now, "1", F.tee_ec, 200, NULL, "v1");
    admin_call(F.kbs, F.admin, "POST", "/kbs/v0/admin/revoke/team/key/rot", "2", NULL, 200);
    get_resource(F.kbs, "team/key/rot", NULL, tok, F.now, "2", NULL, 401, "PluginInternalError", NULL);
    get_resource(F.kbs, "team/key/rot", NULL, tok, F.now, NULL, F.tee_ec, 200, NULL, "v1");
    admin_call(F.kbs, F.admin, "POST", "/kbs/v0/admin/rotate/team/key/rot", NULL, "v3", 200);
    get_resource(F.kbs, "team/key/rot", NULL, tok, F.now, "1", NULL, 401, "PluginInternalError", NULL);
    get_resource(F.kbs, "team/key/rot", NULL, tok, F.now, NULL, F.tee_ec, 200, NULL, "v3");
    admin_call(F.kbs, F.admin, "GET", "/kbs/v0/admin/versions/team/key/rot", NULL, NULL, 200);
    admin_call(F.kbs, F.admin, "GET", "/kbs/v0/admin/resources", NULL, NULL, 200);
    admin_call(F.kbs, F.admin, "DELETE", "/kbs/v0/resource/team/key/rot", NULL, NULL, 200);
    get_resource(F.kbs, "team/key/rot", NULL, tok, F.now, NULL, NULL, 401, "PluginInternalError", NULL);
    admin_call(F.kbs, F.admin, "DELETE", "/kbs/v0/resource/team/key/rot", NULL, NULL, 404);
    free(tok);
}

/* A non-affirming result gets a token but no resource (default resource policy). */
static void test_contraindicated_denied(void **state)
{
    (void)state;
    /* the stored attestation policy overrides --policy: reject emulated evidence */
    const char *pol = "{\"id\":\"strict\",\"version\":1}";
    char *b64 = vt_b64_encode((const uint8_t *)pol, strlen(pol), true);
    char body[300];
    snprintf(body, sizeof body, "{\"type\":\"rego\",\"policy_id\":\"default_tdx\",\"policy\":\"%s\"}", b64);
    free(b64);
    admin_call(F.kbs, F.admin, "POST", "/kbs/v0/attestation-policy", NULL, body, 200);
    sess s;
    char *tok = NULL;
    auth(F.kbs, "tdx", F.now, &s);
    char *ab = tdx_body(s.nonce, F.jwk_ec, NULL, NULL);
    attest(F.kbs, &s, F.now, ab, 200, NULL, &tok);
    free(ab);
    put_secret("default/key/strict", "z");
    get_resource(F.kbs, "default/key/strict", s.id, NULL, F.now, NULL, NULL, 401, "PolicyDeny", NULL);
    /* a broken attestation policy is refused */
    admin_call(F.kbs, F.admin, "POST", "/kbs/v0/attestation-policy", NULL, "{\"policy\":\"e30\"}", 401);
    /* a policy_id of the wrong type is refused (it used to be taken as "default") */
    b64 = vt_b64_encode((const uint8_t *)pol, strlen(pol), true);
    snprintf(body, sizeof body, "{\"type\":\"rego\",\"policy_id\":5,\"policy\":\"%s\"}", b64);
    free(b64);
    admin_call(F.kbs, F.admin, "POST", "/kbs/v0/attestation-policy", NULL, body, 401);
    /* back to the --policy text */
    vt_error e;
    assert_int_equal(vt_store_doc_delete(F.store, VT_DOC_ATTESTATION_POLICY, "default_tdx", &e), VT_OK);
    free(tok);
}

/* The EAR status of a fresh TDX attestation on broker k. */
static const char *status_of_attestation(vt_kbs *k)
{
    static char st[32];
    sess s;
    char *tok = NULL;
    auth(k, "tdx", F.now, &s);
    char *ab = tdx_body(s.nonce, F.jwk_ec, NULL, NULL);
    attest(k, &s, F.now, ab, 200, NULL, &tok);
    free(ab);
    json_t *claims = NULL;
    vt_error e = {0};
    vt_ear_verify_opts vo = {.now = F.now, .require_exp = true};
    assert_int_equal(vt_ear_verify(tok, strlen(tok), F.ear, &vo, &claims, &e), VT_OK);
    json_t *cpu0 = json_object_get(json_object_get(claims, "submods"), "cpu0");
    snprintf(st, sizeof st, "%s", json_string_value(json_object_get(cpu0, "ear.status")));
    json_decref(claims);
    free(tok);
    return st;
}

/* vt_kbs_reload (SIGHUP in veritee serve): a new configured policy takes effect, a broken one
 * is refused naming the check and the running one stays, NULL keeps it. */
static void test_reload(void **state)
{
    (void)state;
    vt_kbs *k = make_kbs(false, false);
    vt_error e = {0};
    assert_string_equal(status_of_attestation(k), "affirming");
    assert_int_equal(vt_kbs_reload(k, "{\"id\":\"strict\",\"version\":1}", &e), VT_OK);
    assert_string_equal(status_of_attestation(k), "contraindicated");
    assert_int_not_equal(vt_kbs_reload(k, "{\"id\":", &e), VT_OK);
    assert_true(e.check[0] != 0);
    assert_string_equal(status_of_attestation(k), "contraindicated");
    assert_int_equal(vt_kbs_reload(k, NULL, &e), VT_OK);
    assert_string_equal(status_of_attestation(k), "contraindicated");
    assert_int_equal(vt_kbs_reload(k, POLICY, &e), VT_OK);
    assert_string_equal(status_of_attestation(k), "affirming");
    vt_kbs_free(k);
}

/* ---- admin authentication ---- */

static void test_admin_auth(void **state)
{
    (void)state;
    vt_error e = {0};
    vt_kbs_reply r;
    const char *path = "/kbs/v0/admin/resources";
    /* no token */
    vt_kbs_call c = {.now = F.now, .method = "GET", .path = path};
    vt_kbs_admin(F.kbs, &c, &r);
    assert_int_equal(r.status, 401);
    assert_string_equal(r.problem, "AdminAuthAccess");
    vt_kbs_reply_clear(&r);
    /* another key */
    EVP_PKEY *other = EVP_EC_gen("P-256");
    admin_call(F.kbs, other, "GET", path, NULL, NULL, 401);
    EVP_PKEY_free(other);
    /* replayed jti */
    char *jwt = NULL;
    assert_int_equal(vt_kbs_admin_token(F.admin, "GET", path, NULL, 0, F.now, 60, "t", &jwt, &e), VT_OK);
    c.bearer = jwt;
    c.bearer_len = strlen(jwt);
    vt_kbs_admin(F.kbs, &c, &r);
    assert_int_equal(r.status, 200);
    vt_kbs_reply_clear(&r);
    vt_kbs_admin(F.kbs, &c, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.detail, "replayed"));
    vt_kbs_reply_clear(&r);
    free(jwt);
    /* bound to another request: path, method, body */
    assert_int_equal(vt_kbs_admin_token(F.admin, "GET", "/kbs/v0/resource-policy", NULL, 0, F.now, 60, "t", &jwt, &e), VT_OK);
    c.bearer = jwt;
    c.bearer_len = strlen(jwt);
    vt_kbs_admin(F.kbs, &c, &r);
    assert_int_equal(r.status, 401);
    vt_kbs_reply_clear(&r);
    free(jwt);
    assert_int_equal(vt_kbs_admin_token(F.admin, "POST", "/kbs/v0/resource/a/b/c", (const uint8_t *)"one", 3, F.now, 60, "t", &jwt, &e), VT_OK);
    vt_kbs_call c2 = {.now = F.now, .method = "POST", .path = "/kbs/v0/resource/a/b/c", .bearer = jwt,
                      .bearer_len = strlen(jwt), .body = (const uint8_t *)"two", .body_len = 3};
    vt_kbs_admin(F.kbs, &c2, &r);
    assert_int_equal(r.status, 401);
    vt_kbs_reply_clear(&r);
    /* expired */
    c2.body = (const uint8_t *)"one";
    c2.now = F.now + 61;
    vt_kbs_admin(F.kbs, &c2, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.detail, "expired"));
    vt_kbs_reply_clear(&r);
    free(jwt);
    /* Ed25519 admin key */
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    vt_kbs_config cfg = {.store = F.store, .ear_key = F.ear, .admin_key = ed};
    vt_kbs *k2 = NULL;
    assert_int_equal(vt_kbs_new(&cfg, &k2, &e), VT_OK);
    admin_call(k2, ed, "GET", path, NULL, NULL, 200);
    admin_call(k2, F.admin, "GET", path, NULL, NULL, 401);
    vt_kbs_free(k2);
    /* no admin key configured: always refused */
    cfg.admin_key = NULL;
    assert_int_equal(vt_kbs_new(&cfg, &k2, &e), VT_OK);
    admin_call(k2, ed, "GET", path, NULL, NULL, 401);
    vt_kbs_free(k2);
    EVP_PKEY_free(ed);
    /* every admin action is audited, and the chain verifies */
    vt_audit_report rep;
    assert_int_equal(vt_audit_verify(F.store, NULL, &rep, &e), VT_OK);
    assert_true(rep.records > 5);
}


/* ---- issue 13: the broker under attack ---- */

static vt_kbs *kbs_with(vt_store *store, uint64_t max_total, uint64_t per_client, int64_t skew)
{
    vt_kbs_config c = {.store = store, .metrics = F.metrics, .ear_key = F.ear, .admin_key = F.admin,
                       .trust_dir = F.trust, .collateral_dir = F.coll, .policy_text = POLICY,
                       .max_sessions = max_total, .max_sessions_per_client = per_client, .token_skew = skew};
    vt_kbs *k = NULL;
    vt_error e = {0};
    assert_int_equal(vt_kbs_new(&c, &k, &e), VT_OK);
    return k;
}

static int auth_from(vt_kbs *k, const char *client, vt_time now, const char *body)
{
    vt_kbs_call c = call(now, NULL, body);
    c.client = client;
    vt_kbs_reply r;
    vt_kbs_auth(k, &c, &r);
    int st = r.status;
    vt_kbs_reply_clear(&r);
    return st;
}

#define AUTH_BODY "{\"version\":\"0.4.0\",\"tee\":\"tdx\",\"extra-params\":\"\"}"

/* One address cannot take every session: over its own limit it gets 429, others still get in
 * (50 anonymous /auth calls used to lock every guest out of a --max-sessions 50 broker). */
static void test_sessions_per_client(void **state)
{
    (void)state;
    vt_time t = F.now + 5000;
    vt_kbs *k = kbs_with(F.store, 50, 3, 0);
    for (int i = 0; i < 3; i++) assert_int_equal(auth_from(k, "192.0.2.66", t, AUTH_BODY), 200);
    for (int i = 0; i < 50; i++) assert_int_equal(auth_from(k, "192.0.2.66", t, AUTH_BODY), 429);
    assert_int_equal(auth_from(k, "192.0.2.7", t, AUTH_BODY), 200);
    assert_int_equal(auth_from(k, "2001:db8::7", t, AUTH_BODY), 200);
    /* expired sessions do not count */
    assert_int_equal(auth_from(k, "192.0.2.66", t + VT_KBS_DEFAULT_SESSION_LIFETIME, AUTH_BODY), 200);
    vt_kbs_free(k);
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

/* A flood of unauthenticated /auth calls with 64 KiB bodies from many addresses: the SQLite
 * files stay small (the request body is not stored; live sessions are capped), and the sweep
 * deletes the expired rows. Bounded: 3 x 1000 calls. Before: every call stored its body
 * (1,179 calls grew the file to 1.18 GB). */
static void test_auth_flood_storage(void **state)
{
    (void)state;
    char url[400], db[300], wal[310];
    snprintf(db, sizeof db, "%s/flood.db", F.dir);
    snprintf(wal, sizeof wal, "%s-wal", db);
    snprintf(url, sizeof url, "sqlite:%s", db);
    vt_store *st = NULL;
    vt_error e = {0};
    assert_int_equal(vt_store_open(url, NULL, &st, &e), VT_OK);
    vt_kbs *k = kbs_with(st, 300, 10, 0);
    size_t bl = 64 * 1024;
    char *big = malloc(bl + 1);
    int n = snprintf(big, bl, "{\"version\":\"0.4.0\",\"tee\":\"tdx\",\"extra-params\":\"");
    memset(big + n, 'x', bl - (size_t)n - 2);
    memcpy(big + bl - 2, "\"}", 3);
    const off_t bound = 8 << 20; /* the WAL alone may reach ~4 MiB before a checkpoint */
    for (int round = 0; round < 3; round++) {
        vt_time t = F.now + round * (VT_KBS_DEFAULT_SESSION_LIFETIME + 1);
        int ok = 0;
        for (int i = 0; i < 1000; i++) {
            char client[32];
            snprintf(client, sizeof client, "198.51.100.%d", i % 200);
            int code = auth_from(k, client, t, big);
            if (code == 200) ok++;
            else assert_true(code == 503 || code == 429);
        }
        assert_int_equal(ok, 300); /* the total limit, spread over the addresses */
        off_t total = file_size(db) + file_size(wal);
        if (total > bound) fail_msg("round %d: database and WAL hold %lld bytes after 1000 /auth calls", round, (long long)total);
        assert_int_equal(vt_kbs_sweep(k, t + VT_KBS_DEFAULT_SESSION_LIFETIME, &e), VT_OK); /* all expired: pruned */
        uint64_t live = 1;
        assert_int_equal(vt_store_session_count(st, t, &live, &e), VT_OK);
        assert_int_equal(live, 0);
    }
    /* what a session keeps of the request */
    assert_int_equal(auth_from(k, "203.0.113.1", F.now + 10000, big), 200);
    free(big);
    vt_kbs_free(k);
    vt_store_close(st);
}

/* Token-less admin calls, token-less resource requests and rejected attestations are counted,
 * not written one by one: they add no record until the summary interval is over, then exactly
 * one summary with the counts. */
static void test_unauthenticated_summarized(void **state)
{
    (void)state;
    vt_error e = {0};
    vt_time t = F.now + 20000;
    vt_kbs *k = kbs_with(F.store, 0, 0, 0);
    int64_t seq0 = 0, seq1 = 0;
    uint8_t h[VT_AUDIT_HASH_LEN];
    assert_int_equal(vt_store_audit_head(F.store, &seq0, h, &e), VT_OK);
    const char *lab[1] = {"admin"};
    vt_std_metrics m;
    assert_int_equal(vt_metrics_std(F.metrics, &m, &e), VT_OK);
    double before = vt_metric_value(m.unauthenticated, lab);
    const char *rej[2] = {"tdx", "rejected"};
    double rejected = vt_metric_value(m.attestation_total, rej);
    for (int i = 0; i < 500; i++) {
        vt_kbs_call c = {.now = t, .method = "GET", .path = "/kbs/v0/admin/resources", .client = "192.0.2.99"};
        vt_kbs_reply r;
        vt_kbs_admin(k, &c, &r);
        assert_int_equal(r.status, 401);
        vt_kbs_reply_clear(&r);
    }
    sess sa; /* a garbage /attest, again and again on one session */
    auth(k, "tdx", t, &sa);
    for (int i = 0; i < 20; i++) attest(k, &sa, t, "{\"runtime-data\":7}", 401, NULL, NULL);
    get_resource(k, "default/key/disk1", NULL, NULL, t, NULL, NULL, 401, "TokenNotFound", NULL);
    get_resource(k, "default/key/disk1", NULL, "e30.e30.AAAA", t, NULL, NULL, 401, "TokenVerifierError", NULL);
    assert_true(vt_metric_value(m.unauthenticated, lab) - before == 500.0);
    assert_true(vt_metric_value(m.attestation_total, rej) - rejected == 20.0);
    assert_int_equal(vt_store_audit_head(F.store, &seq1, h, &e), VT_OK);
    assert_int_equal(seq1, seq0);
    assert_int_equal(vt_kbs_sweep(k, t + VT_KBS_UNAUTH_SUMMARY_INTERVAL, &e), VT_OK);
    assert_int_equal(vt_store_audit_head(F.store, &seq1, h, &e), VT_OK);
    assert_int_equal(seq1, seq0 + 1);
    vt_audit_record *rec = NULL;
    size_t got = 0;
    assert_int_equal(vt_audit_tail(F.store, 1, &rec, &got, &e), VT_OK);
    assert_int_equal(got, 1);
    assert_string_equal(rec[0].action, "unauthenticated.summary");
    json_t *d = json_loads(rec[0].details, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(d, "admin")), 500);
    assert_int_equal(json_integer_value(json_object_get(d, "resource")), 2);
    assert_int_equal(json_integer_value(json_object_get(d, "attest")), 20);
    assert_non_null(strstr(json_string_value(json_object_get(d, "last_error")), "token rejected")); /* the last one */
    assert_string_equal(json_string_value(json_object_get(d, "last_client")), "");
    json_decref(d);
    vt_audit_records_free(rec, got);
    assert_int_equal(vt_kbs_sweep(k, t + 10 * VT_KBS_UNAUTH_SUMMARY_INTERVAL, &e), VT_OK); /* nothing pending */
    assert_int_equal(vt_store_audit_head(F.store, &seq0, h, &e), VT_OK);
    assert_int_equal(seq0, seq1);
    vt_kbs_free(k);
}

/* A signed sub with a newline, or with a multi-byte character where the actor is cut, used to
 * make the audit append fail after the action had run. Now the actor is escaped and cut on a
 * character boundary: the action and its record are both there, and the chain verifies. */
static void test_admin_actor_escaped(void **state)
{
    (void)state;
    vt_error e = {0};
    char sub79[128];
    memset(sub79, 'a', 79);
    strcpy(sub79 + 79, "\xc3\xa9tail"); /* 'é' straddles byte 80 */
    char emoji[128] = "x"; /* 'x' and 21 four-byte characters: the cut falls inside the 20th */
    for (int i = 0; i < 21; i++) strcat(emoji, "\xf0\x9f\x94\x91");
    const char *subs[] = {"alice\nadmin:root", sub79, emoji, "tab\tand\x7f"};
    for (size_t i = 0; i < 4; i++) {
        char path[100], *jwt = NULL;
        snprintf(path, sizeof path, "/kbs/v0/resource/default/actor/k%zu", i);
        assert_int_equal(vt_kbs_admin_token(F.admin, "POST", path, (const uint8_t *)"v", 1, F.now, 60, subs[i], &jwt, &e), VT_OK);
        vt_kbs_call c = {.now = F.now, .bearer = jwt, .bearer_len = strlen(jwt), .method = "POST", .path = path,
                         .body = (const uint8_t *)"v", .body_len = 1};
        vt_kbs_reply r;
        vt_kbs_admin(F.kbs, &c, &r);
        if (r.status != 200) fail_msg("sub %zu: %d %s", i, r.status, r.detail);
        vt_kbs_reply_clear(&r);
        free(jwt);
        vt_audit_record *rec = NULL;
        size_t got = 0;
        assert_int_equal(vt_audit_tail(F.store, 1, &rec, &got, &e), VT_OK);
        assert_string_equal(rec[0].action, "resource.put");
        assert_string_equal(rec[0].subject, path + strlen("/kbs/v0/resource/"));
        assert_null(strchr(rec[0].actor, '\n'));
        json_t *valid = json_string(rec[0].actor); /* NULL when not UTF-8 */
        assert_non_null(valid);
        json_decref(valid);
        if (i == 0) assert_string_equal(rec[0].actor, "admin:alice\\x0aadmin:root");
        if (i == 1) assert_int_equal(strlen(rec[0].actor), strlen("admin:") + 79);
        if (i == 2) assert_int_equal(strlen(rec[0].actor), strlen("admin:") + 1 + 19 * 4);
        if (i == 3) assert_string_equal(rec[0].actor, "admin:tab\\x09and\\x7f");
        vt_audit_records_free(rec, got);
    }
    vt_audit_report rep;
    assert_int_equal(vt_audit_verify(F.store, NULL, &rep, &e), VT_OK);
}

/* Bearer EAR expiry: exactly exp with no skew, exp + skew with a configured one (it was a
 * hard-coded 60 s). */
static void test_token_skew_boundary(void **state)
{
    (void)state;
    sess s;
    char *tok = NULL;
    auth(F.kbs, "tdx", F.now, &s);
    char *body = tdx_body(s.nonce, F.jwk_ec, NULL, NULL);
    attest(F.kbs, &s, F.now, body, 200, NULL, &tok);
    free(body);
    put_secret("default/key/skew", "skewed");
    vt_time exp = F.now + VT_KBS_DEFAULT_TOKEN_LIFETIME;
    vt_kbs *k0 = kbs_with(F.store, 0, 0, 0), *k5 = kbs_with(F.store, 0, 0, 5);
    get_resource(k0, "default/key/skew", NULL, tok, exp - 1, NULL, F.tee_ec, 200, NULL, "skewed");
    get_resource(k0, "default/key/skew", NULL, tok, exp, NULL, NULL, 401, "TokenVerifierError", NULL);
    get_resource(k5, "default/key/skew", NULL, tok, exp + 4, NULL, F.tee_ec, 200, NULL, "skewed");
    get_resource(k5, "default/key/skew", NULL, tok, exp + 5, NULL, NULL, 401, "TokenVerifierError", NULL);
    vt_kbs_free(k0);
    vt_kbs_free(k5);
    vt_kbs_config bad = {.store = F.store, .ear_key = F.ear, .token_skew = VT_KBS_MAX_TOKEN_SKEW + 1};
    vt_kbs *kb = NULL;
    vt_error e = {0};
    assert_int_equal(vt_kbs_new(&bad, &kb, &e), VT_E_ARG);
    free(tok);
}

/* The token cache: a token this broker issued is not verified again at release (counted as a
 * hit), but only for its exact bytes; a forged token in the session row, another broker's
 * token and an evicted one take the full path; expiry is applied at the request instant on a
 * hit as on a full verification; one slot bounds the cache to one token. */
typedef void (*kbs_stats_fn)(vt_kbs *, uint64_t *, uint64_t *);

static void stats_are(kbs_stats_fn fn, vt_kbs *k, uint64_t want_hits, uint64_t want_misses)
{
    uint64_t h = 99, m = 99;
    fn(k, &h, &m);
    assert_int_equal(h, want_hits);
    assert_int_equal(m, want_misses);
}
#define hits(k, h, m) stats_are(vt_kbs_token_cache_stats, k, h, m)
#define docs_hits(k, h, m) stats_are(vt_kbs_docs_cache_stats, k, h, m)

static void test_token_cache(void **state)
{
    (void)state;
    vt_error e = {0};
    vt_kbs_config c = {.store = F.store, .metrics = F.metrics, .ear_key = F.ear, .admin_key = F.admin,
                       .trust_dir = F.trust, .collateral_dir = F.coll, .policy_text = POLICY, .token_cache_slots = 1};
    vt_kbs *k = NULL;
    assert_int_equal(vt_kbs_new(&c, &k, &e), VT_OK);
    put_secret("default/key/cached", "cached-secret");
    sess a, b;
    char *ta = NULL, *tb = NULL;
    auth(k, "tdx", F.now, &a);
    char *body = tdx_body(a.nonce, F.jwk_ec, NULL, NULL);
    attest(k, &a, F.now, body, 200, NULL, &ta);
    free(body);
    hits(k, 0, 0);
    /* the issued token, by cookie and as bearer: no second verification */
    get_resource(k, "default/key/cached", a.id, NULL, F.now + 1, NULL, F.tee_ec, 200, NULL, "cached-secret");
    get_resource(k, "default/key/cached", NULL, ta, F.now + 1, NULL, F.tee_ec, 200, NULL, "cached-secret");
    hits(k, 2, 0);
    /* expiry at the request instant, on the cached path */
    get_resource(k, "default/key/cached", NULL, ta, F.now + VT_KBS_DEFAULT_TOKEN_LIFETIME, NULL, NULL, 401,
                 "TokenVerifierError", NULL);
    hits(k, 3, 0);
    /* one byte of the signature altered: not the remembered bytes, verified, refused */
    char *forged = strdup(ta);
    char *sig = strrchr(forged, '.') + 3;
    *sig = *sig == 'A' ? 'B' : 'A';
    get_resource(k, "default/key/cached", NULL, forged, F.now + 1, NULL, NULL, 401, "TokenVerifierError", NULL);
    hits(k, 3, 1);
    /* ... nor when it is written into the session row the cookie names */
    assert_int_equal(vt_store_session_set_token(F.store, a.id, forged, F.now, &e), VT_OK);
    get_resource(k, "default/key/cached", a.id, NULL, F.now + 1, NULL, NULL, 401, "TokenVerifierError", NULL);
    hits(k, 3, 2);
    assert_int_equal(vt_store_session_set_token(F.store, a.id, ta, F.now, &e), VT_OK);
    free(forged);
    /* a token of another broker (another EAR key) is refused */
    EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(other);
    vt_kbs_config c2 = c;
    c2.ear_key = other;
    vt_kbs *k2 = NULL;
    assert_int_equal(vt_kbs_new(&c2, &k2, &e), VT_OK);
    sess o;
    char *to = NULL;
    auth(k2, "tdx", F.now, &o);
    body = tdx_body(o.nonce, F.jwk_ec, NULL, NULL);
    attest(k2, &o, F.now, body, 200, NULL, &to);
    free(body);
    get_resource(k2, "default/key/cached", NULL, to, F.now + 1, NULL, F.tee_ec, 200, NULL, "cached-secret");
    hits(k2, 1, 0);
    get_resource(k, "default/key/cached", NULL, to, F.now + 1, NULL, NULL, 401, "TokenVerifierError", NULL);
    hits(k, 3, 3);
    /* one slot: a second issued token evicts the first, which is then verified in full (and
     * remembered again, evicting the second) */
    auth(k, "tdx", F.now, &b);
    body = tdx_body(b.nonce, F.jwk_ec, NULL, NULL);
    attest(k, &b, F.now, body, 200, NULL, &tb);
    free(body);
    assert_string_not_equal(ta, tb);
    get_resource(k, "default/key/cached", NULL, tb, F.now + 1, NULL, F.tee_ec, 200, NULL, "cached-secret");
    hits(k, 4, 3);
    get_resource(k, "default/key/cached", a.id, NULL, F.now + 1, NULL, F.tee_ec, 200, NULL, "cached-secret");
    hits(k, 4, 4);
    get_resource(k, "default/key/cached", a.id, NULL, F.now + 1, NULL, F.tee_ec, 200, NULL, "cached-secret");
    hits(k, 5, 4);
    get_resource(k, "default/key/cached", NULL, tb, F.now + 1, NULL, F.tee_ec, 200, NULL, "cached-secret");
    hits(k, 5, 5);
    /* the bound is checked at creation */
    vt_kbs_config big = c;
    big.token_cache_slots = VT_KBS_MAX_TOKEN_CACHE + 1;
    vt_kbs *kb = NULL;
    assert_int_equal(vt_kbs_new(&big, &kb, &e), VT_E_ARG);
    vt_kbs_free(k2);
    vt_kbs_free(k);
    EVP_PKEY_free(other);
    free(ta);
    free(tb);
    free(to);
}

/* The parsed policy and reference values are kept between attestations (a hit), and never used
 * once a document changed on any node (another broker on the store writes one: the next
 * attestation reads it) or the configured policy was reloaded. */
static void test_docs_cache(void **state)
{
    (void)state;
    vt_error e = {0};
    char *j = NULL;
    size_t which = 0;
    const char *names[3] = {"default_tdx", "default_cpu", "default"};
    assert_int_equal(vt_store_doc_get_first(F.store, VT_DOC_ATTESTATION_POLICY, names, 3, &which, &j, &e), VT_E_MISSING);
    vt_kbs *k = kbs_with(F.store, 0, 0, 0), *other = kbs_with(F.store, 0, 0, 0);
    assert_string_equal(status_of_attestation(k), "affirming");
    docs_hits(k, 0, 1);
    assert_string_equal(status_of_attestation(k), "affirming");
    assert_string_equal(status_of_attestation(k), "affirming");
    docs_hits(k, 2, 1);
    /* another node stores a policy that refuses the emulated TEE: the very next attestation here */
    admin_call(other, F.admin, "POST", "/kbs/v0/attestation-policy", NULL,
               "{\"type\":\"json\",\"policy_id\":\"default_tdx\",\"policy\":\"eyJpZCI6InN0cmljdCIsInZlcnNpb24iOjF9\"}", 200);
    assert_string_equal(status_of_attestation(k), "contraindicated");
    docs_hits(k, 2, 2);
    assert_string_equal(status_of_attestation(k), "contraindicated");
    docs_hits(k, 3, 2);
    /* removed again (as an operator could in the database): accepted at once */
    assert_int_equal(vt_store_doc_delete(F.store, VT_DOC_ATTESTATION_POLICY, "default_tdx", &e), VT_OK);
    assert_string_equal(status_of_attestation(k), "affirming");
    docs_hits(k, 3, 3);
    /* a reference value stored: a new generation, read again */
    assert_int_equal(vt_store_doc_put(F.store, VT_DOC_REFERENCE_VALUE, "cache-test",
                                      "{\"reference_values\":[{\"tee\":\"tdx\",\"name\":\"x\",\"value\":\"00\"}]}", F.now, &e),
                     VT_OK);
    assert_string_equal(status_of_attestation(k), "affirming");
    docs_hits(k, 3, 4);
    assert_int_equal(vt_store_doc_delete(F.store, VT_DOC_REFERENCE_VALUE, "cache-test", &e), VT_OK);
    /* the configured policy reloaded (SIGHUP): not the parsed old text */
    assert_int_equal(vt_kbs_reload(k, "{\"id\":\"strict\",\"version\":1}", &e), VT_OK);
    assert_string_equal(status_of_attestation(k), "contraindicated");
    assert_int_equal(vt_kbs_reload(k, POLICY, &e), VT_OK);
    assert_string_equal(status_of_attestation(k), "affirming");
    docs_hits(k, 3, 6);
    vt_kbs_free(other);
    vt_kbs_free(k);
}

/* The parsed documents shared by concurrent attestations while another thread keeps changing a
 * document (each change a new generation, the older set freed by its last user): every
 * attestation served (ASan/UBSan runs see a set freed under a user). */
enum { DC_THREADS = 4, DC_EACH = 5 };

typedef struct dc_worker {
    vt_kbs *k;
    sess s[DC_EACH];
    char *body[DC_EACH];
    int ok, wrong;
    vt_test_ticker *writer;
    int writes_before;  /* the writer's calls when the workers were started */
    bool no_overlap;    /* halfway through, the writer had not written since */
} dc_worker;

static void *dc_run(void *arg)
{
    dc_worker *w = arg;
    for (int i = 0; i < DC_EACH; i++) {
        if (i == DC_EACH / 2 && !vt_test_ticker_wait_past(w->writer, w->writes_before)) w->no_overlap = true;
        vt_kbs_call c = call(F.now, w->s[i].id, w->body[i]);
        vt_kbs_reply r;
        vt_kbs_attest(w->k, &c, &r);
        if (r.status == 200) w->ok++;
        else w->wrong++;
        vt_kbs_reply_clear(&r);
    }
    return NULL;
}

static bool dc_write(void *unused)
{
    (void)unused;
    vt_error e = {0};
    return vt_store_doc_put(F.store, VT_DOC_REFERENCE_VALUE, "cache-threads",
                            "{\"reference_values\":[{\"tee\":\"tdx\",\"name\":\"y\",\"value\":\"01\"}]}", F.now,
                            &e) == VT_OK;
}

static void test_docs_cache_threads(void **state)
{
    (void)state;
    vt_kbs *k = kbs_with(F.store, 0, 0, 0);
    dc_worker w[DC_THREADS];
    memset(w, 0, sizeof w);
    for (int t = 0; t < DC_THREADS; t++) {
        w[t].k = k;
        for (int i = 0; i < DC_EACH; i++) {
            auth(k, "tdx", F.now, &w[t].s[i]);
            w[t].body[i] = tdx_body(w[t].s[i].nonce, F.jwk_ec, NULL, NULL);
        }
    }
    vt_test_ticker *wt = vt_test_ticker_start(dc_write, NULL, 1, 200); /* a new generation each ms */
    /* the second half of each worker's attestations runs after a write made while the workers
     * ran: under load the writer's thread was not always run before they had all finished */
    int before = vt_test_ticker_calls(wt);
    pthread_t th[DC_THREADS];
    for (int t = 0; t < DC_THREADS; t++) {
        w[t].writer = wt;
        w[t].writes_before = before;
        assert_int_equal(pthread_create(&th[t], NULL, dc_run, &w[t]), 0);
    }
    for (int t = 0; t < DC_THREADS; t++) assert_int_equal(pthread_join(th[t], NULL), 0);
    int failed = -1, writes = vt_test_ticker_stop(wt, &failed);
    assert_int_equal(failed, 0);
    assert_true(writes > 0);
    for (int t = 0; t < DC_THREADS; t++) {
        if (w[t].no_overlap) fail_msg("worker %d: no document write within 30 s while it ran", t);
        assert_int_equal(w[t].wrong, 0);
        assert_int_equal(w[t].ok, DC_EACH);
        for (int i = 0; i < DC_EACH; i++) free(w[t].body[i]);
    }
    uint64_t h = 0, m = 0;
    vt_kbs_docs_cache_stats(k, &h, &m);
    assert_int_equal(h + m, (uint64_t)DC_THREADS * DC_EACH);
    vt_error e = {0};
    assert_int_equal(vt_store_doc_delete(F.store, VT_DOC_REFERENCE_VALUE, "cache-threads", &e), VT_OK);
    vt_kbs_free(k);
}

/* The token cache under concurrency: threads releasing with two tokens that evict each other
 * from a one-slot cache, and with a forged one, all at once: every valid request is served,
 * every forged one refused (ASan/UBSan runs see the races, if any). */
typedef struct tc_worker {
    vt_kbs *k;
    const char *tok[3]; /* two valid, one forged */
    int ok, refused, wrong;
} tc_worker;

static void *tc_run(void *arg)
{
    tc_worker *w = arg;
    for (int i = 0; i < 12; i++) {
        int which = i % 3;
        vt_kbs_call c = {.now = F.now + 1, .bearer = w->tok[which], .bearer_len = strlen(w->tok[which])};
        vt_kbs_reply r;
        vt_kbs_resource(w->k, "default/key/conc", &c, &r);
        if (which < 2 && r.status == 200) w->ok++;
        else if (which == 2 && r.status == 401) w->refused++;
        else w->wrong++;
        vt_kbs_reply_clear(&r);
    }
    return NULL;
}

static void test_token_cache_threads(void **state)
{
    (void)state;
    vt_error e = {0};
    vt_kbs_config c = {.store = F.store, .metrics = F.metrics, .ear_key = F.ear, .admin_key = F.admin,
                       .trust_dir = F.trust, .collateral_dir = F.coll, .policy_text = POLICY, .token_cache_slots = 1};
    vt_kbs *k = NULL;
    assert_int_equal(vt_kbs_new(&c, &k, &e), VT_OK);
    put_secret("default/key/conc", "concurrent");
    sess a, b;
    char *ta = NULL, *tb = NULL;
    auth(k, "tdx", F.now, &a);
    char *body = tdx_body(a.nonce, F.jwk_ec, NULL, NULL);
    attest(k, &a, F.now, body, 200, NULL, &ta);
    free(body);
    auth(k, "tdx", F.now, &b);
    body = tdx_body(b.nonce, F.jwk_ec, NULL, NULL);
    attest(k, &b, F.now, body, 200, NULL, &tb);
    free(body);
    char *forged = strdup(ta);
    char *sig = strrchr(forged, '.') + 5;
    *sig = *sig == 'A' ? 'B' : 'A';
    enum { N = 4 };
    tc_worker w[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        w[i] = (tc_worker){.k = k, .tok = {ta, tb, forged}};
        assert_int_equal(pthread_create(&th[i], NULL, tc_run, &w[i]), 0);
    }
    int ok = 0, refused = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].wrong, 0);
        ok += w[i].ok;
        refused += w[i].refused;
    }
    assert_int_equal(ok, N * 8);
    assert_int_equal(refused, N * 4);
    uint64_t h = 0, m = 0;
    vt_kbs_token_cache_stats(k, &h, &m);
    assert_int_equal(h + m, (uint64_t)N * 12);
    assert_true(m >= (uint64_t)N * 4); /* at least every forged request went the full way */
    vt_kbs_free(k);
    free(forged);
    free(ta);
    free(tb);
}

/* The admin token binds the query: ?version=1 signed, ?version=2 sent is refused. */
static void test_admin_token_binds_query(void **state)
{
    (void)state;
    vt_error e = {0};
    put_secret("default/key/rq", "one");
    put_secret("default/key/rq", "two");
    const char *path = "/kbs/v0/admin/revoke/default/key/rq";
    char *jwt = NULL;
    assert_int_equal(vt_kbs_admin_token(F.admin, "POST", "/kbs/v0/admin/revoke/default/key/rq?version=1", NULL, 0, F.now,
                                        60, "t", &jwt, &e), VT_OK);
    vt_kbs_call c = {.now = F.now, .bearer = jwt, .bearer_len = strlen(jwt), .method = "POST", .path = path,
                     .target = "/kbs/v0/admin/revoke/default/key/rq?version=2", .query_version = "2"};
    vt_kbs_reply r;
    vt_kbs_admin(F.kbs, &c, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.detail, "bound to another request"));
    vt_kbs_reply_clear(&r);
    c.target = NULL; /* transport-free: path + ?version= */
    vt_kbs_admin(F.kbs, &c, &r);
    assert_int_equal(r.status, 401);
    vt_kbs_reply_clear(&r);
    c.target = "/kbs/v0/admin/revoke/default/key/rq?version=1";
    c.query_version = "1";
    vt_kbs_admin(F.kbs, &c, &r);
    assert_int_equal(r.status, 200);
    vt_kbs_reply_clear(&r);
    free(jwt);
    vt_resource_version *v = NULL;
    size_t n = 0;
    assert_int_equal(vt_store_resource_versions(F.store, "default/key/rq", &v, &n, &e), VT_OK);
    assert_int_equal(n, 2);
    assert_true(v[0].revoked != 0);
    assert_true(v[1].revoked == 0);
    free(v);
}

/* ---- parsers ---- */

static void test_initdata_and_snp_serde(void **state)
{
    (void)state;
    vt_error e = {0};
    uint8_t d[64], want[48];
    size_t dl;
    json_t *data = NULL;
    assert_int_equal(vt_rcar_initdata_digest(INIT_TOML, strlen(INIT_TOML), d, &dl, &data, &e), VT_OK);
    assert_int_equal(dl, 48);
    assert_int_equal(vt_hash(VT_SHA384, INIT_TOML, strlen(INIT_TOML), want, &e), VT_OK);
    assert_memory_equal(d, want, 48);
    assert_string_equal(json_string_value(json_object_get(data, "aa.toml")), "[token_configs]\n");
    json_decref(data);
    const char *t512 = "algorithm = 'sha512'\nversion = \"0.1.0\" # comment\n[data]\nk = \"a\\tb\"\n";
    assert_int_equal(vt_rcar_initdata_digest(t512, strlen(t512), d, &dl, &data, &e), VT_OK);
    assert_int_equal(dl, 64);
    assert_string_equal(json_string_value(json_object_get(data, "k")), "a\tb");
    json_decref(data);
    assert_int_equal(vt_rcar_initdata_digest("algorithm = \"md5\"\n", 18, d, &dl, NULL, &e), VT_E_UNSUPPORTED);
    assert_int_equal(vt_rcar_initdata_digest("algorithm = \"sha256", 19, d, &dl, NULL, &e), VT_E_INVALID);
    /* SNP: binary -> serde JSON -> binary is the identity; the verifier accepts the rebuilt report */
    uint8_t rd[64] = {1, 2, 3};
    vt_buf rep = {0};
    json_t *j = NULL;
    uint8_t back[VT_SNP_REPORT_SIZE];
    vt_emu_snp_opts o = {.with_certtable = true};
    assert_int_equal(vt_emu_snp_report(F.e, rd, &o, &rep, &e), VT_OK);
    assert_int_equal(vt_rcar_evidence_json("snp", rep.ptr, rep.len, &j, &e), VT_OK);
    STACK_OF(X509) *certs = sk_X509_new_null();
    assert_int_equal(vt_rcar_snp_from_json(j, back, certs, &e), VT_OK);
    assert_memory_equal(back, rep.ptr, VT_SNP_REPORT_SIZE);
    assert_int_equal(sk_X509_num(certs), 3);
    sk_X509_pop_free(certs, X509_free);
    json_object_set_new(json_object_get(j, "attestation_report"), "vmpl", json_string("0"));
    assert_int_equal(vt_rcar_snp_from_json(j, back, NULL, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "attestation_report.vmpl: expected an integer"));
    json_object_set_new(json_object_get(j, "attestation_report"), "vmpl", json_integer(0));
    /* r's padding (bytes 48..71) must be zero: the rebuild refuses it rather than carry it */
    json_t *r = json_object_get(json_object_get(json_object_get(j, "attestation_report"), "signature"), "r");
    json_array_set_new(r, 60, json_integer(1));
    assert_int_equal(vt_rcar_snp_from_json(j, back, NULL, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "attestation_report.signature.r: bytes 48..71 must be zero"));
    json_decref(j);
    vt_buf_free(&rep);
}

/* ---- kbs-protocol.md §14, the worked example ---- */

#define EX_NONCE "MvONa2AUPbiMZk8gi80Kw6DL3TTZqWuY2hJat2qbQdc="
#define EX_JWK "{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ECDH-ES+A256KW\",\"x\":\"WYMOXNevQa3ZlT1uox9fL-EFPsmSLqGGx-lAAQC-5UQ\",\"y\":\"Wt4eJSsVG8OlJGN3kfsUOLSiBbrdaA8i3DHrr2RKOuU\"}"
#define EX_D "CXPoVpNhQhDI7j6GuMs7lMaXKQw_o3OdQXGQt0WMhhg"

static void test_worked_example(void **state)
{
    (void)state;
    vt_error e = {0};
    json_t *jwk = json_loads(EX_JWK, 0, NULL);
    uint8_t rd[64], want[48];
    assert_int_equal(vt_rcar_binding(EX_NONCE, jwk, "", NULL, rd, NULL, &e), VT_OK);
    vt_buf w = {0};
    assert_int_equal(vt_hex_decode("4bd5a5b1c4de20ee9b67a636a6c57feb0130711d022142635ed236b2f981ed9105021a9730bdfa9af51c458a93d0434a", 96, &w, &e), VT_OK);
    memcpy(want, w.ptr, 48);
    vt_buf_free(&w);
    assert_memory_equal(rd, want, 48);
    for (int i = 48; i < 64; i++) assert_int_equal(rd[i], 0);
    /* the server's randomness scripted to the example's session id and nonce */
    uint8_t script[48];
    vt_buf b = {0};
    assert_int_equal(vt_hex_decode("6f1c2b9e0d3a4f5b8c7d9e0a1b2c3d4e", 32, &b, &e), VT_OK);
    memcpy(script, b.ptr, 16);
    vt_buf_free(&b);
    assert_int_equal(vt_b64_decode(EX_NONCE, strlen(EX_NONCE), &b, &e), VT_OK);
    memcpy(script + 16, b.ptr, 32);
    vt_buf_free(&b);
    F.script = script;
    F.script_len = sizeof script;
    vt_kbs *k = make_kbs(true, true);
    vt_time t0 = 1787400000 - 2; /* Expires = Sat, 22 Aug 2026 12:04:58 GMT */
    vt_kbs_call c = call(t0, NULL, "{\"version\":\"0.4.0\",\"tee\":\"sample\",\"extra-params\":{\"supported-hash-algorithms\":[\"sha256\",\"sha384\",\"sha512\",\"sm3\"]}}");
    vt_kbs_reply r;
    vt_kbs_auth(k, &c, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.session_id, "6f1c2b9e0d3a4f5b8c7d9e0a1b2c3d4e");
    char *ch = json_dumps(r.json, JSON_COMPACT);
    assert_string_equal(ch, "{\"nonce\":\"" EX_NONCE "\",\"extra-params\":\"\"}");
    free(ch);
    vt_http_response h;
    memset(&h, 0, sizeof h);
    vt_kbs_reply_to_http(&r, &h);
    assert_string_equal(h.header_values[0], "kbs-session-id=6f1c2b9e0d3a4f5b8c7d9e0a1b2c3d4e; Expires=Sat, 22 Aug 2026 12:04:58 GMT");
    vt_http_response_clear(&h);
    vt_kbs_reply_clear(&r);
    const char *att =
        "{\"init-data\":null,\"runtime-data\":{\"nonce\":\"" EX_NONCE "\",\"tee-pubkey\":" EX_JWK "},"
        "\"tee-evidence\":{\"primary_evidence\":{\"svn\":\"1\",\"report_data\":\"S9WlscTeIO6bZ6Y2psV/6wEwcR0CIUJjXtI2svmB7ZEFAhqXML36mvUcRYqT0ENK\"},\"additional_evidence\":\"\"}}";
    sess s = {.id = "6f1c2b9e0d3a4f5b8c7d9e0a1b2c3d4e"};
    char *tok = NULL;
    attest(k, &s, t0 + 2, att, 200, NULL, &tok);
    /* default resource policy: a sample token is denied */
    vt_error e2;
    assert_int_equal(vt_store_resource_put(F.store, "default/key/disk1", (const uint8_t *)"0123456789abcdef0123456789abcdef", 32, t0, NULL, &e2), VT_OK);
    get_resource(k, "default/key/disk1", s.id, NULL, t0 + 2, NULL, NULL, 401, "PolicyDeny", NULL);
    /* with an allow-all policy (as local testing in the example) the JWE decrypts with d */
    json_t *priv_jwk = json_loads(EX_JWK, 0, NULL);
    json_object_set_new(priv_jwk, "d", json_string(EX_D));
    EVP_PKEY *priv = NULL;
    assert_int_equal(vt_jwk_to_pkey(priv_jwk, true, &priv, &e), VT_OK);
    assert_int_equal(vt_store_doc_put(F.store, VT_DOC_RESOURCE_POLICY, "default/key/disk1",
                                      "{\"allow_sample\":true}", t0, &e), VT_OK);
    get_resource(k, "default/key/disk1", s.id, NULL, t0 + 2, NULL, priv, 200, NULL, "0123456789abcdef0123456789abcdef");
    get_resource(k, "default/key/disk1", NULL, tok, t0 + 2, NULL, priv, 200, NULL, "0123456789abcdef0123456789abcdef");
    assert_int_equal(vt_store_doc_delete(F.store, VT_DOC_RESOURCE_POLICY, "default/key/disk1", &e), VT_OK);
    /* the JWE known answer (ephemeral key, CEK and IV of the example) */
    json_t *epk_jwk = json_pack("{ss ss ss ss ss}", "kty", "EC", "crv", "P-256", "x", "AURDQHVKfqonQAXLz01uRNsdWEEwKjIYfkava1WCBoc",
                                "y", "UgORJuEWlhOLSOM5ooTpX-7-zSS1pJo6qWWYKsKUzGU", "d", "uhJ_bzffWWRUMGgSSSBBXw7LddIqz7qwN-sq4Lr2Yy4");
    EVP_PKEY *epk = NULL;
    assert_int_equal(vt_jwk_to_pkey(epk_jwk, true, &epk, &e), VT_OK);
    vt_buf cek = {0}, iv = {0};
    assert_int_equal(vt_hex_decode("fd622d149fb7ef57ced02ad76866b35a448524ebbc6006cd9009ae4e67a0f570", 64, &cek, &e), VT_OK);
    assert_int_equal(vt_hex_decode("266554d7cd2ef3a71d2bddc6", 24, &iv, &e), VT_OK);
    json_t *jwe = NULL;
    assert_int_equal(vt_jwe_encrypt_with(jwk, epk, cek.ptr, iv.ptr, (const uint8_t *)"0123456789abcdef0123456789abcdef", 32, &jwe, &e), VT_OK);
    assert_string_equal(json_string_value(json_object_get(jwe, "encrypted_key")), "GdJXA7zvrG9UaggRNIl5d3HyNdFOUN2idb3B-G9IeXlFJFf-d4jmjQ");
    assert_string_equal(json_string_value(json_object_get(jwe, "ciphertext")), "eNX-LImNO2OKb5qwOqF2MFTYnerPPzdw3swLtb5bBoc");
    assert_string_equal(json_string_value(json_object_get(jwe, "tag")), "GG2APsCLva_tcEn9poBLew");
    json_decref(jwe);
    vt_buf_free(&cek);
    vt_buf_free(&iv);
    EVP_PKEY_free(epk);
    json_decref(epk_jwk);
    EVP_PKEY_free(priv);
    json_decref(priv_jwk);
    json_decref(jwk);
    free(tok);
    vt_kbs_free(k);
    F.script = NULL;
}

/* --max-sessions: /auth answers 503 while the live sessions are at the limit, and works again
 * once they have expired. */
static void test_session_limit(void **state)
{
    (void)state;
    vt_error e = {0};
    uint64_t live = 0;
    vt_time t = F.now + 1000; /* sessions of the other tests have expired by then */
    assert_int_equal(vt_store_session_count(F.store, t, &live, &e), VT_OK);
    vt_kbs_config c = {.store = F.store, .ear_key = F.ear, .policy_text = POLICY, .max_sessions = live + 2};
    vt_kbs *k = NULL;
    assert_int_equal(vt_kbs_new(&c, &k, &e), VT_OK);
    sess s;
    auth(k, "tdx", t, &s);
    auth(k, "snp", t, &s);
    vt_kbs_reply r;
    vt_kbs_call call3 = call(t, NULL, "{\"version\":\"0.4.0\",\"tee\":\"tdx\",\"extra-params\":\"\"}");
    vt_kbs_auth(k, &call3, &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.problem, "TooManySessions");
    assert_false(r.set_cookie);
    vt_kbs_reply_clear(&r);
    auth(k, "cca", t + 2 * VT_KBS_DEFAULT_SESSION_LIFETIME, &s); /* the two have expired */
    /* only sessions awaiting attestation count: at a limit of one, guest after guest completes
     * its round (before, the attested sessions filled the limit for their whole lifetime, which
     * capped a broker at --max-sessions / 300 s rounds per second) */
    vt_kbs_free(k);
    vt_time t2 = t + 4 * VT_KBS_DEFAULT_SESSION_LIFETIME;
    assert_int_equal(vt_store_session_count(F.store, t2, &live, &e), VT_OK);
    assert_int_equal(live, 0);
    k = kbs_with(F.store, 1, 0, 0);
    for (int i = 0; i < 3; i++) {
        auth(k, "tdx", t2, &s);
        char *body = tdx_body(s.nonce, F.jwk_ec, NULL, NULL);
        attest(k, &s, t2, body, 200, NULL, NULL);
        free(body);
    }
    assert_int_equal(vt_store_session_count(F.store, t2, &live, &e), VT_OK);
    assert_int_equal(live, 3);
    auth(k, "tdx", t2, &s); /* one pending: the limit is reached for the next */
    vt_kbs_call call4 = call(t2, NULL, "{\"version\":\"0.4.0\",\"tee\":\"tdx\",\"extra-params\":\"\"}");
    vt_kbs_auth(k, &call4, &r);
    assert_int_equal(r.status, 503);
    vt_kbs_reply_clear(&r);
    vt_kbs_free(k);
}

/* SQLite (issue 19): a session awaiting attestation and its nonce are the broker's memory; the
 * attested session is in the sessions file. Another handle on the file sees the session only
 * once attested; a restart forgets the pending one (its guest gets a clean 401 and starts over
 * with /auth) and keeps the attested one (its cookie still fetches the secret). */
static void test_pending_sessions_restart(void **state)
{
    (void)state;
    char url[400];
    snprintf(url, sizeof url, "sqlite:%s/pending.db", F.dir);
    vt_store_opts so = {.kek = F.kek};
    vt_store *st = NULL, *other = NULL;
    vt_error e = {0};
    assert_int_equal(vt_store_open(url, &so, &st, &e), VT_OK);
    assert_int_equal(vt_store_open(url, &so, &other, &e), VT_OK);
    vt_kbs *k = kbs_with(st, 10, 10, 0);
    admin_call(k, F.admin, "POST", "/kbs/v0/resource/default/key/restart", NULL, "restart-secret", 200);
    sess done, left;
    auth(k, "tdx", F.now, &done);
    auth(k, "tdx", F.now, &left);
    vt_session got;
    assert_int_equal(vt_store_session_get(st, done.id, F.now, &got, &e), VT_OK);
    assert_null(got.token);
    vt_session_clear(&got);
    assert_int_equal(vt_store_session_get(other, done.id, F.now, &got, &e), VT_E_MISSING); /* not in the file */
    char *body = tdx_body(done.nonce, F.jwk_ec, NULL, NULL);
    char *tok = NULL;
    attest(k, &done, F.now, body, 200, NULL, &tok);
    assert_int_equal(vt_store_session_get(other, done.id, F.now, &got, &e), VT_OK); /* attested: in the file */
    assert_string_equal(got.token, tok);
    vt_session_clear(&got);
    uint64_t live = 0;
    assert_int_equal(vt_store_session_count(st, F.now, &live, &e), VT_OK);
    assert_int_equal(live, 2); /* one pending, one attested */
    attest(k, &done, F.now, body, 200, NULL, NULL); /* idempotent, from the file */
    get_resource(k, "default/key/restart", done.id, NULL, F.now, NULL, F.tee_ec, 200, NULL, "restart-secret");
    /* restart */
    vt_kbs_free(k);
    vt_store_close(st);
    vt_store_close(other);
    assert_int_equal(vt_store_open(url, &so, &st, &e), VT_OK);
    k = kbs_with(st, 10, 10, 0);
    get_resource(k, "default/key/restart", done.id, NULL, F.now + 1, NULL, F.tee_ec, 200, NULL, "restart-secret");
    char *lbody = tdx_body(left.nonce, F.jwk_ec, NULL, NULL);
    attest(k, &left, F.now + 1, lbody, 401, "unknown session", NULL);
    assert_int_equal(vt_store_session_count(st, F.now + 1, &live, &e), VT_OK);
    assert_int_equal(live, 1);
    sess again;
    auth(k, "tdx", F.now + 1, &again); /* starts over */
    char *abody = tdx_body(again.nonce, F.jwk_ec, NULL, NULL);
    attest(k, &again, F.now + 1, lbody, 401, "nonce", NULL); /* the old challenge is not this session's */
    attest(k, &again, F.now + 1, abody, 200, NULL, NULL);
    get_resource(k, "default/key/restart", again.id, NULL, F.now + 1, NULL, F.tee_ec, 200, NULL, "restart-secret");
    free(abody);
    free(lbody);
    free(body);
    free(tok);
    vt_kbs_free(k);
    vt_store_close(st);
}

/* The store's table of challenges full (SQLite keeps at most vt_store_opts.pending_max nonces in
 * memory): /auth answers 503 TooManySessions (a load to wait out, as the session limit), and the
 * session it had created is removed again instead of holding a place until it expires. */
static void test_nonce_table_full(void **state)
{
    (void)state;
    char url[400];
    snprintf(url, sizeof url, "sqlite:%s/nonces-full.db", F.dir);
    vt_store_opts so = {.kek = F.kek, .pending_max = 2};
    vt_store *st = NULL;
    vt_error e = {0};
    assert_int_equal(vt_store_open(url, &so, &st, &e), VT_OK);
    vt_kbs *k = kbs_with(st, 100, 100, 0);
    assert_int_equal(vt_store_nonce_put(st, "filler-one", F.now + 60, &e), VT_OK);
    assert_int_equal(vt_store_nonce_put(st, "filler-two", F.now + 60, &e), VT_OK);
    vt_kbs_reply r;
    vt_kbs_call c = call(F.now, NULL, "{\"version\":\"0.4.0\",\"tee\":\"tdx\",\"extra-params\":\"\"}");
    vt_kbs_auth(k, &c, &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.problem, "TooManySessions");
    assert_false(r.set_cookie);
    vt_kbs_reply_clear(&r);
    uint64_t live = 9;
    assert_int_equal(vt_store_session_count(st, F.now, &live, &e), VT_OK);
    assert_int_equal(live, 0); /* the session without its challenge is gone */
    assert_int_equal(vt_store_nonce_consume(st, "filler-one", F.now, &e), VT_OK);
    sess s;
    auth(k, "tdx", F.now, &s); /* room again */
    vt_kbs_free(k);
    vt_store_close(st);
}

static void test_sweep(void **state)
{
    (void)state;
    sess s;
    vt_error e = {0};
    auth(F.kbs, "tdx", F.now, &s);
    assert_int_equal(vt_kbs_sweep(F.kbs, F.now + 10 * 365 * 86400, &e), VT_OK);
    assert_int_equal(vt_metric_value(vt_metrics_gauge(F.metrics, "veritee_active_sessions", NULL, NULL), NULL), 0);
    char *body = tdx_body(s.nonce, F.jwk_ec, NULL, NULL);
    attest(F.kbs, &s, F.now, body, 401, "unknown session", NULL);
    free(body);
}

/* ---- the console's admin reads (docs/console.md) ---- */

static json_t *admin_get(const char *path, int want)
{
    vt_error e = {0};
    char *jwt = NULL;
    assert_int_equal(vt_kbs_admin_token(F.admin, "GET", path, NULL, 0, F.now, 60, "console", &jwt, &e), VT_OK);
    vt_kbs_call c = {.now = F.now, .bearer = jwt, .bearer_len = strlen(jwt), .method = "GET", .path = path};
    vt_kbs_reply r;
    vt_kbs_admin(F.kbs, &c, &r);
    if (r.status != want) fprintf(stderr, "GET %s: %d %s\n", path, r.status, r.detail);
    assert_int_equal(r.status, want);
    json_t *j = r.json ? json_incref(r.json) : NULL;
    vt_kbs_reply_clear(&r);
    free(jwt);
    return j;
}

/* A Trustee admin token as kbs-client makes it (header {"alg":"EdDSA","typ":"JWT"}, claims
 * {iat, nbf, exp}), signed by key; the header and claims JSON are given whole. */
static char *trustee_token(EVP_PKEY *key, const char *header, const char *claims)
{
    char *h = vt_b64_encode((const uint8_t *)header, strlen(header), true);
    char *c = vt_b64_encode((const uint8_t *)claims, strlen(claims), true);
    char in[1024], *out = malloc(1200);
    snprintf(in, sizeof in, "%s.%s", h, c);
    uint8_t sig[64];
    size_t sl = sizeof sig;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, key), 1);
    assert_int_equal(EVP_DigestSign(md, sig, &sl, (const uint8_t *)in, strlen(in)), 1);
    EVP_MD_CTX_free(md);
    char *s = vt_b64_encode(sig, sl, true);
    snprintf(out, 1200, "%s.%s", in, s);
    free(h);
    free(c);
    free(s);
    return out;
}

static vt_err trustee_check(EVP_PKEY *pub, EVP_PKEY *signer, const char *header, long long iat, long long nbf,
                            long long exp, vt_time now, vt_error *e)
{
    char claims[160];
    if (nbf >= 0) snprintf(claims, sizeof claims, "{\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}", iat, nbf, exp);
    else snprintf(claims, sizeof claims, "{\"iat\":%lld,\"exp\":%lld}", iat, exp);
    char *t = trustee_token(signer, header, claims);
    json_t *c = NULL;
    vt_err rc = vt_kbs_trustee_token_verify(pub, t, strlen(t), now, &c, e);
    if (rc == VT_OK) assert_non_null(json_object_get(c, "exp"));
    json_decref(c);
    free(t);
    return rc;
}

/* Trustee compatibility (docs/coco.md): the token's rules at their boundaries. */
static void test_trustee_token(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"), *other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    const char *H = "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}";
    const vt_time now = 1800000000;
    vt_error e = {0};
    /* kbs-client: exp = iat + 2 h */
    assert_int_equal(trustee_check(k, k, H, now, now, now + 7200, now, &e), VT_OK);
    assert_int_equal(trustee_check(k, k, H, now, -1, now + 7200, now, &e), VT_OK); /* nbf optional */
    assert_int_equal(trustee_check(k, k, H, now - 7200, now - 7200, now, now - 1, &e), VT_OK);
    assert_int_equal(trustee_check(k, k, H, now - 7200, now - 7200, now, now, &e), VT_E_EXPIRED);
    assert_int_equal(trustee_check(k, k, H, now, now, now + 7201, now, &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "lifetime"));
    assert_int_equal(trustee_check(k, k, H, now, now, now, now, &e), VT_E_VERIFY);
    assert_int_equal(trustee_check(k, k, H, now + 60, now + 60, now + 120, now, &e), VT_OK);
    assert_int_equal(trustee_check(k, k, H, now + 61, now + 61, now + 120, now, &e), VT_E_VERIFY);
    assert_int_equal(trustee_check(k, k, H, now, now + 61, now + 120, now, &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "not valid yet"));
    /* another key, another algorithm, a crit header, the key not Ed25519 */
    assert_int_equal(trustee_check(k, other, H, now, now, now + 60, now, &e), VT_E_VERIFY);
    assert_int_not_equal(trustee_check(k, k, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}", now, now, now + 60, now, &e), VT_OK);
    assert_int_not_equal(trustee_check(k, k, "{\"alg\":\"EdDSA\",\"crit\":[\"x\"]}", now, now, now + 60, now, &e), VT_OK);
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    json_t *c = NULL;
    assert_int_equal(vt_kbs_trustee_token_verify(ec, "a.b.c", 5, now, &c, &e), VT_E_ARG);
    EVP_PKEY_free(ec);
    /* claims that are not an object, a missing exp, a string iat */
    const char *bad[] = {"[1,2]", "{\"iat\":1800000000}", "{\"iat\":\"1800000000\",\"exp\":1800000060}"};
    for (size_t i = 0; i < 3; i++) {
        char *t = trustee_token(k, H, bad[i]);
        assert_int_not_equal(vt_kbs_trustee_token_verify(k, t, strlen(t), now, &c, &e), VT_OK);
        assert_null(c);
        free(t);
    }
    /* a veritee admin token signed by the same key is never taken as a Trustee one */
    char *vt = NULL;
    assert_int_equal(vt_kbs_admin_token(k, "POST", "/kbs/v0/resource/a/b/c", (const uint8_t *)"x", 1, now, 60, "t", &vt, &e), VT_OK);
    assert_int_equal(vt_kbs_trustee_token_verify(k, vt, strlen(vt), now, &c, &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "not a Trustee admin token"));
    free(vt);
    /* and the library refuses the same key for both roles */
    vt_kbs_config kc = {.store = F.store, .ear_key = F.ear, .admin_key = k, .trustee_admin_key = k};
    vt_kbs *kb = NULL;
    assert_int_equal(vt_kbs_new(&kc, &kb, &e), VT_E_ARG);
    assert_null(kb);
    /* truncations never verify */
    char *t = trustee_token(k, H, "{\"iat\":1800000000,\"exp\":1800000060}");
    for (size_t n = 0; n < strlen(t); n += 7) assert_int_not_equal(vt_kbs_trustee_token_verify(k, t, n, now, &c, &e), VT_OK);
    free(t);
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
}

static void test_console_reads(void **state)
{
    (void)state;
    /* unsigned: refused like every admin call */
    vt_kbs_call c = {.now = F.now, .method = "GET", .path = "/api/v1/audit"};
    vt_kbs_reply r;
    vt_kbs_admin(F.kbs, &c, &r);
    assert_int_equal(r.status, 401);
    vt_kbs_reply_clear(&r);
    /* an attestation that is appraised contraindicated, and a release it is then denied */
    const char *pol = "{\"id\":\"strict\",\"version\":1}";
    char *b64 = vt_b64_encode((const uint8_t *)pol, strlen(pol), true);
    char body[300];
    snprintf(body, sizeof body, "{\"type\":\"rego\",\"policy_id\":\"default_tdx\",\"policy\":\"%s\"}", b64);
    free(b64);
    admin_call(F.kbs, F.admin, "POST", "/kbs/v0/attestation-policy", NULL, body, 200);
    json_t *p = admin_get("/api/v1/policies/attestation/default_tdx", 200);
    assert_string_equal(json_string_value(json_object_get(p, "text")), pol);
    json_decref(p);
    sess s;
    auth(F.kbs, "tdx", F.now, &s);
    char *ab = tdx_body(s.nonce, F.jwk_ec, NULL, NULL);
    attest(F.kbs, &s, F.now, ab, 200, NULL, NULL);
    free(ab);
    put_secret("default/key/console", "z");
    get_resource(F.kbs, "default/key/console", s.id, NULL, F.now, NULL, NULL, 401, "PolicyDeny", NULL);
    vt_error e;
    assert_int_equal(vt_store_doc_delete(F.store, VT_DOC_ATTESTATION_POLICY, "default_tdx", &e), VT_OK);
    admin_get("/api/v1/policies/attestation/nope", 404);

    /* the audit page: newest records, the whole chain verified, the head named */
    json_t *a = admin_get("/api/v1/audit", 200);
    json_t *recs = json_object_get(a, "records"), *ch = json_object_get(a, "chain");
    assert_true(json_array_size(recs) > 0);
    assert_true(json_is_true(json_object_get(ch, "verified")));
    assert_int_equal(json_integer_value(json_object_get(ch, "base_seq")), 0); /* nothing archived */
    assert_true(json_is_integer(json_object_get(ch, "base_seq")));
    json_int_t last = json_integer_value(json_object_get(json_array_get(recs, json_array_size(recs) - 1), "seq"));
    assert_true(json_integer_value(json_object_get(ch, "head_seq")) >= last);
    json_decref(a);
    a = admin_get("/api/v1/audit/after/1", 200);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(a, "records"), 0), "seq")), 2);
    json_decref(a);
    json_decref(admin_get("/api/v1/audit/after/x", 404));

    /* denials: the contraindicated attestation with its failing appraisal check, the denied release */
    json_t *d = admin_get("/api/v1/audit/denials", 200);
    bool att = false, rel = false;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(d, "denials"), i, x) {
        const char *act = json_string_value(json_object_get(x, "action"));
        const char *out = json_string_value(json_object_get(x, "outcome"));
        json_t *det = json_object_get(x, "details");
        json_t *dj = json_is_string(det) ? json_loads(json_string_value(det), 0, NULL) : json_incref(det);
        if (strcmp(act, "attest") == 0 && strcmp(out, "contraindicated") == 0 && json_string_value(json_object_get(dj, "check")))
            att = true;
        if (strcmp(act, "resource.get") == 0 && strcmp(out, "denied") == 0) rel = true;
        assert_true(strcmp(out, "affirming") != 0 && strcmp(out, "ok") != 0);
        json_decref(dj);
    }
    assert_true(att);
    assert_true(rel);
    json_decref(d);

    /* the counters as JSON */
    json_t *m = admin_get("/api/v1/stats", 200);
    assert_true(json_array_size(json_object_get(m, "tee_attestation_total")) > 0);
    assert_non_null(json_object_get(m, "veritee_admin_requests_total"));
    json_decref(m);
}

static json_int_t chain_int(json_t *page, const char *key)
{
    json_t *v = json_object_get(json_object_get(page, "chain"), key);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static void audit_n(int n)
{
    vt_error e = {0};
    for (int i = 0; i < n; i++) assert_int_equal(vt_audit_append(F.store, F.now, "test", "x", "y", "ok", NULL, NULL, &e), VT_OK);
}

/* The console's chain check walks only what is new since its last check, joined by hash; a gap
 * wider than the window starts a new run with the newest records; a failure stays a failure. */
static void test_console_audit_incremental(void **state)
{
    (void)state;
    vt_kbs_config c = {.store = F.store, .ear_key = F.ear, .admin_key = F.admin, .trust_dir = F.trust,
                       .collateral_dir = F.coll, .policy_text = POLICY, .audit_check_window = 5};
    vt_kbs *keep = F.kbs, *k = NULL;
    vt_error e = {0};
    assert_int_equal(vt_kbs_new(&c, &k, &e), VT_OK);
    F.kbs = k;
    audit_n(12);
    int64_t head = 0;
    uint8_t h[32];
    assert_int_equal(vt_store_audit_head(F.store, &head, h, &e), VT_OK);
    /* first view: the newest 5 records of the window */
    json_t *a = admin_get("/api/v1/audit", 200);
    assert_true(json_is_true(json_object_get(json_object_get(a, "chain"), "verified")));
    assert_int_equal(chain_int(a, "head_seq"), head);
    assert_int_equal(chain_int(a, "checked_now"), 5);
    assert_int_equal(chain_int(a, "checked_from"), head - 4);
    assert_int_equal(chain_int(a, "records"), head); /* nothing archived: the store holds 1..head */
    json_decref(a);
    /* then only what is new: the view's own audit record and three more */
    audit_n(3);
    a = admin_get("/api/v1/audit/after/1", 200);
    assert_int_equal(chain_int(a, "checked_now"), 4);
    assert_int_equal(chain_int(a, "checked_from"), head - 4);
    assert_int_equal(chain_int(a, "head_seq"), head + 4);
    json_decref(a);
    /* more new records than the window: a new run of the newest */
    audit_n(9);
    a = admin_get("/api/v1/audit", 200);
    assert_int_equal(chain_int(a, "checked_now"), 5);
    assert_int_equal(chain_int(a, "checked_from"), head + 14 - 4); /* head + 4, its view, 9 */
    json_decref(a);
    /* an edit among new records: refused, and still refused at the next view (the run stays) */
    audit_n(2);
    char path[400];
    snprintf(path, sizeof path, "%s/kbs.db", F.dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char q[200];
    snprintf(q, sizeof q, "DROP TRIGGER audit_no_update; UPDATE audit SET outcome = 'denied' WHERE seq = %lld",
             (long long)(head + 17));
    assert_int_equal(sqlite3_exec(db, q, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    for (int i = 0; i < 2; i++) {
        a = admin_get("/api/v1/audit", 200);
        json_t *ch = json_object_get(a, "chain");
        assert_true(json_is_false(json_object_get(ch, "verified")));
        assert_int_equal(chain_int(a, "bad_seq"), head + 17);
        assert_non_null(strstr(json_string_value(json_object_get(ch, "error")), "edited"));
        json_decref(a);
    }
    F.kbs = keep;
    vt_kbs_free(k);
}

/* Resource policies are read with the core JSON getters: unknown keys and wrong types are
 * refused naming the key. */
static void test_rpolicy_check(void **state)
{
    (void)state;
    static const struct { const char *p, *want; } bad[] = {
        {"{\"tee_types\":[\"tdx\"],\"colour\":1}", "policy.colour: unknown key"},
        {"{\"deny\":\"yes\"}", "policy.deny: expected true or false"},
        {"{\"version\":2}", "policy.version: expected an integer 1..1"},
        {"{\"tee_types\":\"tdx\"}", "policy.tee_types: expected an array"},
        {"{\"tee_types\":[7]}", "policy.tee_types[0]: expected a string"},
        {"{\"tee_types\":[\"sev\"]}", "policy.tee_types[0]: unknown TEE"},
        {"{\"measurements\":{\"mr_td\":\"00\"}}", "policy.measurements.mr_td: expected an array"},
        {"{\"emulated\":\"maybe\"}", "policy.emulated: expected \"accept\" or \"reject\""},
        {"[]", "policy: expected an object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vt_error e;
        vt_error_clear(&e);
        vt_err rc = vt_kbs_rpolicy_check(bad[i].p, strlen(bad[i].p), &e);
        if (rc != VT_E_INVALID || strstr(e.msg, bad[i].want) == NULL)
            fail_msg("case %zu: rc %d '%s', wanted '%s'", i, rc, e.msg, bad[i].want);
    }
    const char *ok = "{\"id\":\"a\",\"version\":1,\"tee_types\":[\"snp\"],\"measurements\":{\"m\":[\"00\"]},\"deny\":false}";
    vt_error e;
    assert_int_equal(vt_kbs_rpolicy_check(ok, strlen(ok), &e), VT_OK);
}

/* Collateral the broker does not have is no verdict on the evidence: with its platform's items
 * not cached and the upstream failing (connection refused here; the same path answers a guest
 * whose platform's fetch outlasts the manager's wait), /attest answers 503 "collateral
 * unavailable ... retry" and counts no rejection; the guest begins again from /auth. It was 401
 * AttestationError, which the guest does not retry: on a loaded machine the first guest of a
 * platform failed whenever the fetch took more than 5 s. */
static void test_collateral_unavailable_is_503(void **state)
{
    (void)state;
    vt_error e = {0};
    char cache[400];
    snprintf(cache, sizeof cache, "%s/cache-unreachable", F.dir);
    assert_int_equal(mkdir(cache, 0700), 0);
    vt_coll_manager_opts mo = {.cache_dir = cache, .pcs = {.base_url = "http://127.0.0.1:1", .pccs = true},
                               .fetch_wait_ms = 60000};
    vt_coll_manager *m = NULL;
    assert_int_equal(vt_coll_manager_new(&mo, F.now, &m, &e), VT_OK);
    vt_kbs_config c = {.store = F.store, .metrics = F.metrics, .ear_key = F.ear, .admin_key = F.admin,
                       .trust_dir = F.trust, .collateral = m, .pcs_url = "http://127.0.0.1:1", .cache_dir = cache,
                       .policy_text = POLICY};
    vt_kbs *k = NULL;
    assert_int_equal(vt_kbs_new(&c, &k, &e), VT_OK);
    vt_std_metrics sm;
    assert_int_equal(vt_metrics_std(F.metrics, &sm, &e), VT_OK);
    const char *rej[2] = {"tdx", "rejected"};
    double rejected = vt_metric_value(sm.attestation_total, rej);
    for (int round = 0; round < 2; round++) { /* the fetch failing, then its back-off */
        sess s;
        auth(k, "tdx", F.now, &s);
        char *body = tdx_body(s.nonce, F.jwk_ec, NULL, NULL);
        vt_kbs_call call_ = call(F.now, s.id, body);
        vt_kbs_reply r;
        vt_kbs_attest(k, &call_, &r);
        if (r.status != 503) fprintf(stderr, "attest: %d %s: %s\n", r.status, r.problem, r.detail);
        assert_int_equal(r.status, 503);
        assert_string_equal(r.problem, "PluginInternalError");
        assert_non_null(strstr(r.detail, "collateral unavailable"));
        vt_kbs_reply_clear(&r);
        free(body);
    }
    assert_true(vt_metric_value(sm.attestation_total, rej) == rejected);
    vt_kbs_free(k);
    vt_coll_manager_free(m);
}

/* A store that cannot be reached (PostgreSQL stopped) is a 503 the guest may retry, never a 401
 * verdict on it, and nothing is released: found behind HAProxy, where a database restart turned
 * /auth into "401 cannot store the session" and /attest into "nonce already used". */
static void test_store_down_is_503(void **state)
{
    (void)state;
    pg_fixture pg;
    if (!pg_fixture_start(&pg)) skip(); /* no PostgreSQL: reported skipped, not passed */
    vt_error e = {0};
    vt_store *st = NULL;
    vt_store_opts so = {.kek = F.kek};
    assert_int_equal(vt_store_open(pg.url, &so, &st, &e), VT_OK);
    vt_kbs *k = kbs_with(st, 0, 0, 0);
    char p[300];
    snprintf(p, sizeof p, "/kbs/v0/resource/%s", "down/key/one");
    admin_call(k, F.admin, "POST", p, NULL, "down-secret", 200);
    /* a session attested while the store is up, and one only begun */
    sess s, s2;
    char *tok = NULL;
    auth(k, "tdx", F.now, &s);
    char *body = tdx_body(s.nonce, F.jwk_ec, NULL, NULL);
    attest(k, &s, F.now, body, 200, NULL, &tok);
    free(body);
    auth(k, "tdx", F.now, &s2);
    get_resource(k, "down/key/one", s.id, NULL, F.now, NULL, F.tee_ec, 200, NULL, "down-secret");
    pg_fixture_stop(&pg);
    /* /auth: whatever it needs of the store, never 401 */
    vt_kbs_call c = call(F.now, NULL, AUTH_BODY);
    vt_kbs_reply r;
    vt_kbs_auth(k, &c, &r);
    assert_true(r.status == 200 || r.status == 503);
    if (r.status == 503) assert_string_equal(r.problem, "PluginInternalError");
    vt_kbs_reply_clear(&r);
    /* /attest of the begun session: 200 or 503, never 401 "nonce already used" */
    body = tdx_body(s2.nonce, F.jwk_ec, NULL, NULL);
    c = call(F.now, s2.id, body);
    vt_kbs_attest(k, &c, &r);
    if (r.status != 200 && r.status != 503) fprintf(stderr, "attest: %d %s\n", r.status, r.detail);
    assert_true(r.status == 200 || r.status == 503);
    vt_kbs_reply_clear(&r);
    free(body);
    /* a release needs its audit record: 503, by cookie and by bearer token, nothing sent */
    get_resource(k, "down/key/one", s.id, NULL, F.now, NULL, NULL, 503, "PluginInternalError", NULL);
    get_resource(k, "down/key/one", NULL, tok, F.now, NULL, NULL, 503, "PluginInternalError", NULL);
    free(tok);
    vt_kbs_free(k);
    vt_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_rules), cmocka_unit_test(test_rpolicy_check),
        cmocka_unit_test(test_tdx_round_trip),
        cmocka_unit_test(test_rsa_tee_key),
        cmocka_unit_test(test_attest_rules),
        cmocka_unit_test(test_resource_policy_and_revocation),
        cmocka_unit_test(test_contraindicated_denied),
        cmocka_unit_test(test_admin_auth),
        cmocka_unit_test(test_initdata_and_snp_serde),
        cmocka_unit_test(test_worked_example),
        cmocka_unit_test(test_session_limit),
        cmocka_unit_test(test_sessions_per_client),
        cmocka_unit_test(test_store_down_is_503),
        cmocka_unit_test(test_collateral_unavailable_is_503),
        cmocka_unit_test(test_auth_flood_storage),
        cmocka_unit_test(test_unauthenticated_summarized),
        cmocka_unit_test(test_admin_actor_escaped),
        cmocka_unit_test(test_token_skew_boundary),
        cmocka_unit_test(test_token_cache),
        cmocka_unit_test(test_token_cache_threads),
        cmocka_unit_test(test_docs_cache),
        cmocka_unit_test(test_docs_cache_threads),
        cmocka_unit_test(test_admin_token_binds_query),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_pending_sessions_restart),
        cmocka_unit_test(test_nonce_table_full),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_console_reads),
        cmocka_unit_test(test_console_audit_incremental),
        cmocka_unit_test(test_trustee_token),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
