/* EAR attestation results (specs/ear.md): AR4SI tiers and status derivation, claims-set shapes in
 * both namings, ES256/ES384 JWT round trips with tampering, expiry and profile rules, the
 * Trustee worked example token (kbs-protocol.md §14), and the signing key's life cycle. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "veritee/ear.h"
#include "veritee/fileio.h"
#include "veritee/jose.h"
#include "veritee/jws.h"
#include "veritee/policy.h"

static void tiers(void **state)
{
    (void)state;
    static const struct { int v; vt_ear_status t; } rows[] = {
        {0, VT_EAR_NONE}, {1, VT_EAR_NONE}, {-1, VT_EAR_NONE}, {2, VT_EAR_AFFIRMING}, {31, VT_EAR_AFFIRMING},
        {32, VT_EAR_WARNING}, {95, VT_EAR_WARNING}, {96, VT_EAR_CONTRAINDICATED}, {127, VT_EAR_CONTRAINDICATED},
        {-2, VT_EAR_AFFIRMING}, {-32, VT_EAR_AFFIRMING}, {-33, VT_EAR_WARNING}, {-96, VT_EAR_WARNING},
        {-97, VT_EAR_CONTRAINDICATED}, {-128, VT_EAR_CONTRAINDICATED}, {99, VT_EAR_CONTRAINDICATED}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) assert_int_equal(vt_ar4si_tier(rows[i].v), rows[i].t);
    vt_ar4si_vector v = {{0}};
    assert_int_equal(vt_ar4si_status(&v), VT_EAR_NONE); /* all zeros: none */
    v.v[VT_AR4SI_HARDWARE] = 2;
    assert_int_equal(vt_ar4si_status(&v), VT_EAR_AFFIRMING);
    v.v[VT_AR4SI_EXECUTABLES] = 33;
    assert_int_equal(vt_ar4si_status(&v), VT_EAR_WARNING); /* one warning caps it */
    v.v[VT_AR4SI_CONFIGURATION] = 96;
    assert_int_equal(vt_ar4si_status(&v), VT_EAR_CONTRAINDICATED);
    assert_string_equal(vt_ar4si_name(VT_AR4SI_RUNTIME_OPAQUE), "runtime-opaque");
    vt_ear_status s;
    assert_int_equal(vt_ear_status_parse("warning", &s, NULL), VT_OK);
    assert_int_equal(s, VT_EAR_WARNING);
    assert_int_not_equal(vt_ear_status_parse("Affirming", &s, NULL), VT_OK);
}

static void sample(vt_appraisal *a, vt_claims *c)
{
    memset(a, 0, sizeof *a);
    memset(c, 0, sizeof *c);
    snprintf(a->policy_id, sizeof a->policy_id, "default");
    a->vector.v[VT_AR4SI_INSTANCE_IDENTITY] = 2;
    a->vector.v[VT_AR4SI_HARDWARE] = 2;
    a->vector.v[VT_AR4SI_EXECUTABLES] = 3;
    a->status = vt_ar4si_status(&a->vector);
    a->n_checks = 1;
    snprintf(a->checks[0].name, sizeof a->checks[0].name, "verified");
    a->checks[0].claim = VT_AR4SI_INSTANCE_IDENTITY;
    a->checks[0].value = 2;
    c->tee = VT_TEE_SNP;
    c->verified = true;
    c->report_data_len = 64;
    c->report_data[0] = 0xab;
    uint8_t m[48] = {1, 2, 3};
    assert_int_equal(vt_claims_set_meas(c, "measurement", m, 48, NULL), VT_OK);
}

static json_t *build(vt_ear_naming naming, vt_time iat, int64_t ttl)
{
    static vt_appraisal a;
    static vt_claims c;
    sample(&a, &c);
    vt_ear_submod s = {.label = "cpu0", .appraisal = &a, .claims = &c};
    uint8_t nonce[32] = {7};
    vt_ear_opts o = {.naming = naming, .iat = iat, .ttl = ttl, .nonce = nonce, .nonce_len = 32,
                     .include_checks = true, .issuer = "veritee-test"};
    json_t *j = NULL;
    vt_error e;
    assert_int_equal(vt_ear_build(&s, 1, &o, &j, &e), VT_OK);
    return j;
}

/* include_failed_checks carries the checks that warn or fail, in their order, and no other;
 * include_checks all of them; neither, no checks member. */
static void failed_checks_only(void **state)
{
    (void)state;
    static vt_appraisal a;
    static vt_claims c;
    sample(&a, &c);
    const struct {
        const char *name;
        vt_check_status st;
        int value;
    } rows[] = {{"p1", VT_CHECK_PASS, 2}, {"s1", VT_CHECK_SKIP, 0}, {"w1", VT_CHECK_PASS, 32},
                {"f1", VT_CHECK_FAIL, 96}, {"p2", VT_CHECK_PASS, 3}, {"f2", VT_CHECK_FAIL, 99}};
    a.n_checks = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        vt_appraisal_check *k = &a.checks[a.n_checks++];
        memset(k, 0, sizeof *k);
        snprintf(k->name, sizeof k->name, "%s", rows[i].name);
        k->status = rows[i].st;
        k->claim = rows[i].st == VT_CHECK_SKIP ? -1 : VT_AR4SI_CONFIGURATION;
        k->value = rows[i].value;
    }
    const char *want[3] = {"w1 f1 f2", "p1 s1 w1 f1 p2 f2", NULL};
    for (int mode = 0; mode < 3; mode++) {
        vt_ear_submod sub = {.label = "cpu0", .appraisal = &a, .claims = &c};
        vt_ear_opts o = {.iat = 1787400000, .ttl = 300, .include_failed_checks = mode == 0, .include_checks = mode == 1};
        json_t *j = NULL;
        vt_error e;
        assert_int_equal(vt_ear_build(&sub, 1, &o, &j, &e), VT_OK);
        json_t *arr = json_object_get(json_object_get(json_object_get(j, "submods"), "cpu0"), "ear.veritee.appraisal-checks");
        if (want[mode] == NULL) {
            assert_null(arr);
        } else {
            char got[64] = "";
            for (size_t i = 0; i < json_array_size(arr); i++)
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? " " : "",
                         json_string_value(json_object_get(json_array_get(arr, i), "name")));
            assert_string_equal(got, want[mode]);
        }
        json_decref(j);
    }
}

static void claims_shape(void **state)
{
    (void)state;
    json_t *j = build(VT_EAR_NAMING_DOTTED, 1787400000, 300);
    assert_string_equal(json_string_value(json_object_get(j, "eat_profile")), VT_EAR_PROFILE_TRUSTEE);
    assert_true(json_is_integer(json_object_get(j, "iat")));
    assert_int_equal(json_integer_value(json_object_get(j, "exp")), 1787400300);
    assert_string_equal(json_string_value(json_object_get(j, "iss")), "veritee-test");
    json_t *vid = json_object_get(j, "ear.verifier-id");
    assert_true(json_is_string(json_object_get(vid, "developer")) && json_is_string(json_object_get(vid, "build")));
    /* the project's identifier, not a placeholder URL (docs/ear.md) */
    assert_string_equal(json_string_value(json_object_get(vid, "developer")), VT_EAR_DEVELOPER);
    assert_null(strstr(json_string_value(json_object_get(vid, "developer")), "github.com"));
    const char *n = json_string_value(json_object_get(j, "eat_nonce"));
    assert_non_null(n);
    assert_int_equal(strlen(n), 43); /* 32 bytes, base64url unpadded */
    json_t *cpu0 = json_object_get(json_object_get(j, "submods"), "cpu0");
    assert_string_equal(json_string_value(json_object_get(cpu0, "ear.status")), "affirming");
    json_t *vec = json_object_get(cpu0, "ear.trustworthiness-vector");
    assert_int_equal(json_object_size(vec), 8); /* rust-ear style: all eight claims */
    assert_int_equal(json_integer_value(json_object_get(vec, "executables")), 3);
    assert_int_equal(json_integer_value(json_object_get(vec, "file-system")), 0);
    assert_string_equal(json_string_value(json_object_get(cpu0, "ear.appraisal-policy-id")), "default");
    json_t *ann = json_object_get(cpu0, "ear.veraison.annotated-evidence");
    assert_non_null(json_object_get(ann, "snp"));
    assert_true(json_is_false(json_object_get(ann, "emulated")));
    assert_string_equal(json_string_value(json_object_get(ann, "report_data")) , "ab000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000");
    assert_true(json_is_array(json_object_get(cpu0, "ear.veritee.appraisal-checks")));
    json_decref(j);

    j = build(VT_EAR_NAMING_DRAFT03, 1787400000, 0);
    assert_string_equal(json_string_value(json_object_get(j, "eat_profile")), VT_EAR_PROFILE_DRAFT03);
    assert_null(json_object_get(j, "exp"));
    assert_string_equal(json_string_value(json_object_get(j, "ear_status")), "affirming");
    assert_non_null(json_object_get(j, "ear_verifier_id"));
    cpu0 = json_object_get(json_object_get(j, "submods"), "cpu0");
    assert_non_null(json_object_get(cpu0, "ear_trustworthiness_vector"));
    json_t *ids = json_object_get(cpu0, "ear_appraisal_policy_ids");
    assert_true(json_is_array(ids) && json_array_size(ids) == 1);
    json_decref(j);

    /* argument errors */
    vt_ear_opts o = {.iat = 1};
    json_t *out = NULL;
    vt_error e;
    assert_int_equal(vt_ear_build(NULL, 0, &o, &out, &e), VT_E_ARG);
    vt_appraisal a;
    vt_claims c;
    sample(&a, &c);
    vt_ear_submod two[2] = {{.label = "cpu0", .appraisal = &a}, {.label = "cpu0", .appraisal = &a}};
    assert_int_equal(vt_ear_build(two, 2, &o, &out, &e), VT_E_ARG); /* duplicate label */
    uint8_t shortn[4] = {0};
    o.nonce = shortn;
    o.nonce_len = 4;
    assert_int_equal(vt_ear_build(two, 1, &o, &out, &e), VT_E_ARG);
}

static EVP_PKEY *keygen(const char *crv)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", crv);
    assert_non_null(k);
    return k;
}

__attribute__((noinline)) static char *sign(const json_t *claims, EVP_PKEY *k)
{
    char *jwt = NULL;
    vt_error e;
    assert_int_equal(vt_ear_sign(claims, k, &jwt, &e), VT_OK);
    return jwt;
}

static vt_err check(const char *jwt, EVP_PKEY *k, vt_time now, vt_error *e)
{
    vt_ear_verify_opts o = {.now = now, .skew = 60};
    json_t *c = NULL;
    vt_err rc = vt_ear_verify(jwt, strlen(jwt), k, &o, &c, e);
    json_decref(c);
    return rc;
}

static void round_trip(const char *crv, const char *alg)
{
    EVP_PKEY *k = keygen(crv), *other = keygen(crv);
    json_t *claims = build(VT_EAR_NAMING_DOTTED, 1787400000, 300);
    char *jwt = sign(claims, k);
    vt_error e;
    vt_ear_verify_opts o = {.now = 1787400100, .skew = 60};
    json_t *got = NULL;
    assert_int_equal(vt_ear_verify(jwt, strlen(jwt), k, &o, &got, &e), VT_OK);
    assert_true(json_equal(got, claims));
    assert_int_equal(vt_ear_overall(got), VT_EAR_AFFIRMING);
    json_decref(got);
    /* header: alg, typ, jwk of the signer, RFC 7638 kid */
    json_t *hdr = NULL;
    vt_buf pl = {0};
    assert_int_equal(vt_jws_peek(jwt, strlen(jwt), &hdr, &pl, &e), VT_OK);
    assert_string_equal(json_string_value(json_object_get(hdr, "alg")), alg);
    assert_string_equal(json_string_value(json_object_get(hdr, "typ")), "JWT");
    EVP_PKEY *hk = NULL;
    assert_int_equal(vt_jwk_to_pkey(json_object_get(hdr, "jwk"), false, &hk, &e), VT_OK);
    assert_int_equal(EVP_PKEY_eq(hk, k), 1);
    char kid[44];
    assert_int_equal(vt_jwk_thumbprint(k, kid, &e), VT_OK);
    assert_string_equal(json_string_value(json_object_get(hdr, "kid")), kid);
    EVP_PKEY_free(hk);
    json_decref(hdr);
    vt_buf_free(&pl);
    /* the prepared signer (the broker's): the same header and payload bytes, a signature that
     * verifies, twice from one signer */
    vt_jws_signer *sg = NULL;
    assert_int_equal(vt_ear_signer_new(k, &sg, &e), VT_OK);
    for (int r = 0; r < 2; r++) {
        char *jw2 = NULL;
        assert_int_equal(vt_ear_sign_with(sg, claims, &jw2, &e), VT_OK);
        size_t upto = (size_t)(strrchr(jwt, '.') - jwt);
        assert_int_equal((size_t)(strrchr(jw2, '.') - jw2), upto);
        assert_memory_equal(jw2, jwt, upto);
        assert_int_equal(vt_ear_verify(jw2, strlen(jw2), k, &o, &got, &e), VT_OK);
        assert_true(json_equal(got, claims));
        json_decref(got);
        free(jw2);
    }
    vt_jws_signer_free(sg);

    /* every single-character change in each part is rejected */
    size_t n = strlen(jwt);
    const char *d1 = strchr(jwt, '.'), *d2 = strrchr(jwt, '.');
    size_t at[] = {2, (size_t)(d1 - jwt) + 5, (size_t)(d2 - jwt) + 3, n - 2};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        char *t = strdup(jwt);
        t[at[i]] = t[at[i]] == 'A' ? 'B' : 'A';
        assert_int_not_equal(check(t, k, 1787400100, &e), VT_OK);
        free(t);
    }
    assert_int_equal(check(jwt, other, 1787400100, &e), VT_E_VERIFY); /* wrong key */
    assert_int_equal(check(jwt, k, 1787400300 + 60, &e), VT_E_EXPIRED);
    assert_int_equal(check(jwt, k, 1787400300 + 59, &e), VT_OK); /* inside the skew */
    assert_int_equal(check(jwt, k, 1787400000 - 61, &e), VT_E_VERIFY); /* issued in the future */
    o.max_age = 50;
    assert_int_equal(vt_ear_verify(jwt, n, k, &o, &got, &e), VT_E_EXPIRED);
    free(jwt);
    json_decref(claims);
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
}

static void es256(void **state) { (void)state; round_trip("P-256", "ES256"); }
static void es384(void **state) { (void)state; round_trip("P-384", "ES384"); }

static char *raw_jws(EVP_PKEY *k, const char *hdr_json, const char *payload)
{
    /* a JWS with an arbitrary header: sign with vt_jws_sign then swap in the header */
    json_t *h = json_loads(hdr_json, 0, NULL);
    json_t *extra = json_deep_copy(h);
    json_object_del(extra, "alg");
    json_object_del(extra, "typ");
    char *out = NULL;
    vt_error e;
    assert_int_equal(vt_jws_sign(k, "JWT", extra, (const uint8_t *)payload, strlen(payload), &out, &e), VT_OK);
    json_decref(h);
    json_decref(extra);
    return out;
}

static void hostile_tokens(void **state)
{
    (void)state;
    EVP_PKEY *k = keygen("P-256"), *k384 = keygen("P-384");
    vt_error e;
    json_t *claims = build(VT_EAR_NAMING_DOTTED, 1787400000, 300);
    char *jwt = sign(claims, k);
    char buf[8192];
    /* alg none: header replaced, signature dropped */
    const char *none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"; /* {"alg":"none","typ":"JWT"} */
    snprintf(buf, sizeof buf, "%s%s.", none, strchr(jwt, '.'));
    *strrchr(buf, '.') = '\0';
    strcat(buf, ".");
    assert_int_not_equal(check(buf, k, 1787400100, &e), VT_OK);
    /* an ES256 token checked with a P-384 key: alg mismatch */
    assert_int_equal(check(jwt, k384, 1787400100, &e), VT_E_UNSUPPORTED);
    /* framing */
    assert_int_equal(check("a.b", k, 0, &e), VT_E_INVALID);
    assert_int_equal(check("a.b.c.d", k, 0, &e), VT_E_INVALID);
    assert_int_equal(check("", k, 0, &e), VT_E_INVALID);
    snprintf(buf, sizeof buf, "%s=", jwt);
    assert_int_equal(check(buf, k, 1787400100, &e), VT_E_INVALID); /* padding */
    snprintf(buf, sizeof buf, "%s", jwt);
    *strrchr(buf, '.') = '\0';
    strcat(buf, ".AAAA");
    assert_int_equal(check(buf, k, 1787400100, &e), VT_E_INVALID); /* short signature */
    /* crit header refused even when correctly signed */
    char *t = raw_jws(k, "{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"exp\":1}", "{}");
    assert_int_equal(check(t, k, 1787400100, &e), VT_E_UNSUPPORTED);
    free(t);
    /* correctly signed but wrong shapes */
    static const struct { const char *payload; int code; } rows[] = {
        {"[]", VT_E_INVALID},
        {"{\"eat_profile\":\"tag:example.com,2024:other\",\"iat\":1}", VT_E_UNSUPPORTED},
        {"{\"eat_profile\":\"tag:github.com,2023:veraison/ear\",\"iat\":1.5}", VT_E_INVALID},
        {"{\"eat_profile\":\"tag:github.com,2023:veraison/ear\",\"iat\":1,\"ear.verifier-id\":{\"developer\":\"x\",\"build\":\"y\"}}", VT_E_INVALID},
        {"{\"eat_profile\":\"tag:github.com,2023:veraison/ear\",\"iat\":1,\"ear.verifier-id\":{\"developer\":\"x\",\"build\":\"y\"},\"submods\":{\"a\":{\"ear.status\":\"great\"}}}", VT_E_INVALID},
        {"{\"eat_profile\":\"tag:github.com,2023:veraison/ear\",\"iat\":1,\"ear.verifier-id\":{\"developer\":\"x\",\"build\":\"y\"},\"submods\":{\"a\":{\"ear.status\":\"affirming\",\"ear.trustworthiness-vector\":{\"hardware\":96}}}}", VT_E_INVALID},
        {"{\"eat_profile\":\"tag:github.com,2023:veraison/ear\",\"iat\":1,\"ear.verifier-id\":{\"developer\":\"x\",\"build\":\"y\"},\"submods\":{\"a\":{\"ear.status\":\"affirming\",\"ear.trustworthiness-vector\":{\"hardware\":200}}}}", VT_E_INVALID},
        {"{\"eat_profile\":\"tag:github.com,2023:veraison/ear\",\"iat\":1,\"ear.verifier-id\":{\"developer\":\"x\",\"build\":\"y\"},\"submods\":{\"a\":{\"ear.status\":\"affirming\",\"ear.trustworthiness-vector\":{\"firmware\":2}}}}", VT_E_INVALID},
        {"{\"eat_profile\":\"tag:github.com,2023:veraison/ear\",\"iat\":1,\"ear.verifier-id\":{\"developer\":\"x\",\"build\":\"y\"},\"submods\":{\"a\":{\"ear.status\":\"warning\",\"ear.trustworthiness-vector\":{\"hardware\":32}}}}", VT_OK},
        {"{\"eat_profile\":\"tag:ietf.org,2026:rats/ear#03\",\"iat\":1,\"ear_verifier_id\":{\"developer\":\"x\",\"build\":\"y\"},\"submods\":{\"a\":{\"ear_status\":\"none\"}}}", VT_OK},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        t = raw_jws(k, "{\"alg\":\"ES256\"}", rows[i].payload);
        vt_error_clear(&e);
        if (check(t, k, 100, &e) != rows[i].code) fail_msg("row %zu: got %d (%s)", i, e.code, e.msg);
        free(t);
    }
    vt_ear_verify_opts o = {.now = 100, .require_exp = true};
    json_t *got = NULL;
    t = raw_jws(k, "{\"alg\":\"ES256\"}", rows[8].payload);
    assert_int_equal(vt_ear_verify(t, strlen(t), k, &o, &got, &e), VT_E_VERIFY);
    free(t);
    free(jwt);
    json_decref(claims);
    EVP_PKEY_free(k);
    EVP_PKEY_free(k384);
}

/* The Trustee-style token of kbs-protocol.md §14, signed by another implementation. */
static void trustee_example(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/../specs/kbs-protocol.md", vt_test_vectors());
    vt_buf b = {0};
    vt_error e;
    if (vt_file_read(path, 1u << 20, &b, &e) != VT_OK) {
        printf("SKIP: %s not found\n", path);
        skip();
    }
    const char *p = strstr((const char *)b.ptr, "{\"token\":\"eyJ");
    assert_non_null(p);
    p += 10;
    const char *q = strchr(p, '"');
    char *jwt = strndup(p, (size_t)(q - p));
    json_t *hdr = NULL;
    vt_buf pl = {0};
    assert_int_equal(vt_jws_peek(jwt, strlen(jwt), &hdr, &pl, &e), VT_OK);
    EVP_PKEY *k = NULL;
    if (vt_jwk_to_pkey(json_object_get(hdr, "jwk"), false, &k, &e) != VT_OK) fail_msg("jwk: %s", e.msg);
    vt_ear_verify_opts o = {.now = 1787400000 + 10, .skew = 60};
    json_t *c = NULL;
    if (vt_ear_verify(jwt, strlen(jwt), k, &o, &c, &e) != VT_OK) fail_msg("%s: %s", e.check, e.msg);

    assert_int_equal(vt_ear_overall(c), VT_EAR_AFFIRMING);
    json_t *ann = json_object_get(json_object_get(json_object_get(c, "submods"), "cpu0"), "ear.veraison.annotated-evidence");
    assert_non_null(json_object_get(json_object_get(ann, "runtime_data_claims"), "tee-pubkey"));
    o.now = 1787400300 + 60;
    json_t *c2 = NULL;
    assert_int_equal(vt_ear_verify(jwt, strlen(jwt), k, &o, &c2, &e), VT_E_EXPIRED);
    json_decref(c);
    json_decref(hdr);
    vt_buf_free(&pl);
    vt_buf_free(&b);
    EVP_PKEY_free(k);
    free(jwt);
}

static void keys(void **state)
{
    (void)state;
    char dir[64], path[128], pub[128], jwk[128];
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/ear.pem", dir);
    snprintf(pub, sizeof pub, "%s/ear.pub.pem", dir);
    snprintf(jwk, sizeof jwk, "%s/ear.jwks", dir);
    vt_error e;
    EVP_PKEY *k = NULL, *k2 = NULL, *p = NULL;
    bool created = false;
    assert_int_equal(vt_ear_key_load_or_create(path, VT_EAR_ES384, &k, &created, &e), VT_OK);
    assert_true(created);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_string_equal(vt_jws_alg_for_key(k), "ES384");
    assert_int_equal(vt_ear_key_load_or_create(path, VT_EAR_ES256, &k2, &created, &e), VT_OK);
    assert_false(created); /* the existing key wins over the requested algorithm */
    assert_int_equal(EVP_PKEY_eq(k, k2), 1);
    /* public forms: the private PEM, the written public PEM, a JWKS */
    assert_int_equal(vt_ear_key_load_public(path, &p, &e), VT_OK);
    assert_int_equal(EVP_PKEY_eq(p, k), 1);
    EVP_PKEY_free(p);
    assert_int_equal(vt_ear_key_write_public(k, pub, &e), VT_OK);
    assert_int_equal(vt_ear_key_load_public(pub, &p, &e), VT_OK);
    assert_int_equal(EVP_PKEY_eq(p, k), 1);
    EVP_PKEY_free(p);
    json_t *j = NULL;
    assert_int_equal(vt_jwk_from_pkey(k, "ES384", &j, &e), VT_OK);
    json_t *set = json_pack("{s:[o]}", "keys", j);
    assert_int_equal(json_dump_file(set, jwk, 0), 0);
    json_decref(set);
    assert_int_equal(vt_ear_key_load_public(jwk, &p, &e), VT_OK);
    assert_int_equal(EVP_PKEY_eq(p, k), 1);
    EVP_PKEY_free(p);
    /* a key file others can read is refused */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(vt_ear_key_load_or_create(path, VT_EAR_ES256, &k2, &created, &e), VT_E_ARG);
    assert_non_null(strstr(e.msg, "chmod 600"));
    assert_int_equal(vt_ear_key_load_public(dir, &p, &e) == VT_OK, 0); /* a directory is no key */
    assert_int_equal(vt_ear_key_load_or_create(path, (vt_ear_key_alg)512, &k2, &created, &e), VT_E_ARG);
    EVP_PKEY_free(k);
    EVP_PKEY_free(k2);
    unlink(path);
    unlink(pub);
    unlink(jwk);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tiers),           cmocka_unit_test(claims_shape), cmocka_unit_test(failed_checks_only), cmocka_unit_test(es256),
        cmocka_unit_test(es384),           cmocka_unit_test(hostile_tokens),
        cmocka_unit_test(trustee_example), cmocka_unit_test(keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
