/* KBS guest client (kbs-protocol.md): the §7 binding against the worked example of §14, the §8
 * evidence shapes (TDX, CCA, SNP serde form from emulated evidence, rebuilt by the server's
 * decoder), and the whole exchange against a scripted KBS on loopback: cookie and bearer, EC and
 * RSA keys, 401/404 answers, refused paths and an unreachable KBS. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"
#include "kbs_fake.h"
#include "veritee/crypto.h"
#include "veritee/emulate.h"
#include "veritee/jcs.h"
#include "veritee/jose.h"
#include "veritee/kbs.h"
#include "veritee/kbs_client.h"
#include "veritee/snp.h"

/* ---- §7 binding, §14 worked example -------------------------------------------------------- */

static const char EX_NONCE[] = "MvONa2AUPbiMZk8gi80Kw6DL3TTZqWuY2hJat2qbQdc=";
static const char EX_JWK[] = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ECDH-ES+A256KW\","
                             "\"x\":\"WYMOXNevQa3ZlT1uox9fL-EFPsmSLqGGx-lAAQC-5UQ\","
                             "\"y\":\"Wt4eJSsVG8OlJGN3kfsUOLSiBbrdaA8i3DHrr2RKOuU\"}";

static void test_binding_worked_example(void **st)
{
    (void)st;
    json_t *jwk = json_loads(EX_JWK, 0, NULL);
    uint8_t rd[64];
    vt_buf canon = {0};
    vt_error e;
    assert_int_equal(vt_rcar_binding(EX_NONCE, jwk, "", NULL, rd, &canon, &e), VT_OK);
    const char *want = "{\"additional-evidence\":\"\",\"nonce\":\"MvONa2AUPbiMZk8gi80Kw6DL3TTZqWuY2hJat2qbQdc=\","
                       "\"tee-pubkey\":{\"alg\":\"ECDH-ES+A256KW\",\"crv\":\"P-256\",\"kty\":\"EC\","
                       "\"x\":\"WYMOXNevQa3ZlT1uox9fL-EFPsmSLqGGx-lAAQC-5UQ\","
                       "\"y\":\"Wt4eJSsVG8OlJGN3kfsUOLSiBbrdaA8i3DHrr2RKOuU\"}}";
    assert_int_equal(canon.len, strlen(want));
    assert_memory_equal(canon.ptr, want, canon.len);
    char hex[129];
    vt_hex_encode(rd, 64, hex);
    assert_string_equal(hex, "4bd5a5b1c4de20ee9b67a636a6c57feb0130711d022142635ed236b2f981ed91"
                             "05021a9730bdfa9af51c458a93d0434a00000000000000000000000000000000");
    /* sha512 fills the field; unknown algorithms are refused */
    assert_int_equal(vt_rcar_binding(EX_NONCE, jwk, "", "SHA512", rd, NULL, &e), VT_OK);
    assert_int_not_equal(rd[63] | rd[62] | rd[61], 0);
    assert_int_equal(vt_rcar_binding(EX_NONCE, jwk, "", "sm3", rd, NULL, &e), VT_E_UNSUPPORTED);
    vt_buf_free(&canon);
    json_decref(jwk);
}

/* §14 step 4: the example JWE decrypts with the example key to the 32-byte payload. */
static void test_worked_example_jwe(void **st)
{
    (void)st;
    json_t *jwk = json_loads(EX_JWK, 0, NULL);
    json_object_set_new(jwk, "d", json_string("CXPoVpNhQhDI7j6GuMs7lMaXKQw_o3OdQXGQt0WMhhg"));
    json_t *jwe = json_pack(
        "{s:s, s:s, s:s, s:s, s:s}", "protected",
        "eyJhbGciOiJFQ0RILUVTK0EyNTZLVyIsImVuYyI6IkEyNTZHQ00iLCJlcGsiOnsiY3J2IjoiUC0yNTYiLCJrdHkiOiJFQyIsIngiOiJBVVJE"
        "UUhWS2Zxb25RQVhMejAxdVJOc2RXRUV3S2pJWWZrYXZhMVdDQm9jIiwieSI6IlVnT1JKdUVXbGhPTFNPTTVvb1RwWC03LXpTUzFwSm82cVdX"
        "WUtzS1V6R1UifX0",
        "encrypted_key", "GdJXA7zvrG9UaggRNIl5d3HyNdFOUN2idb3B-G9IeXlFJFf-d4jmjQ", "iv", "JmVU180u86cdK93G",
        "ciphertext", "eNX-LImNO2OKb5qwOqF2MFTYnerPPzdw3swLtb5bBoc", "tag", "GG2APsCLva_tcEn9poBLew");
    EVP_PKEY *k = NULL;
    vt_error e;
    assert_int_equal(vt_jwk_to_pkey(jwk, true, &k, &e), VT_OK);
    vt_buf pt = {0};
    assert_int_equal(vt_jwe_decrypt(jwe, k, &pt, &e), VT_OK);
    assert_int_equal(pt.len, 32);
    assert_memory_equal(pt.ptr, "0123456789abcdef0123456789abcdef", 32);
    vt_buf_free_secret(&pt);
    EVP_PKEY_free(k);
    json_decref(jwe);
    json_decref(jwk);
}

static void test_tee_keys(void **st)
{
    (void)st;
    vt_kbs_tee_key k;
    vt_error e;
    assert_int_equal(vt_kbs_tee_key_new(VT_KBS_KEY_EC, &k, &e), VT_OK);
    assert_string_equal(json_string_value(json_object_get(k.jwk, "alg")), "ECDH-ES+A256KW");
    assert_string_equal(json_string_value(json_object_get(k.jwk, "crv")), "P-256");
    assert_null(json_object_get(k.jwk, "d"));
    vt_kbs_tee_key_free(&k);
    assert_int_equal(vt_kbs_tee_key_new(VT_KBS_KEY_RSA, &k, &e), VT_OK);
    assert_string_equal(json_string_value(json_object_get(k.jwk, "alg")), "RSA-OAEP-256");
    assert_string_equal(json_string_value(json_object_get(k.jwk, "kty")), "RSA");
    assert_null(json_object_get(k.jwk, "d"));
    vt_kbs_tee_key_free(&k);
    vt_kbs_tee_key_free(NULL);
}

/* ---- §8 evidence shapes ------------------------------------------------------------------- */

static void test_tdx_cca_shapes(void **st)
{
    (void)st;
    const uint8_t q[] = {4, 0, 2, 0, 0x81, 0, 0, 0, 0xff};
    json_t *o = NULL;
    vt_error e;
    assert_int_equal(vt_rcar_tdx_evidence_json(q, sizeof q, NULL, 0, &o, &e), VT_OK);
    assert_string_equal(json_string_value(json_object_get(o, "quote")), "BAACAIEAAAD/");
    assert_true(json_is_null(json_object_get(o, "cc_eventlog")));
    assert_int_equal(json_object_size(o), 2);
    json_decref(o);
    assert_int_equal(vt_rcar_cca_evidence_json(q, sizeof q, &o, &e), VT_OK);
    const json_t *t = json_object_get(o, "token");
    assert_int_equal(json_array_size(t), sizeof q);
    assert_int_equal(json_integer_value(json_array_get(t, 4)), 0x81);
    assert_int_equal(json_integer_value(json_array_get(t, 8)), 255);
    json_decref(o);
    assert_int_equal(vt_rcar_tdx_evidence_json(q, 0, NULL, 0, &o, &e), VT_E_ARG);
}

static char g_emu[256];

static int emu_setup(void **st)
{
    (void)st;
    vt_test_tmpdir(g_emu, sizeof g_emu);
    json_t *p = vt_emu_default_platform();
    json_object_del(p, "cca");
    char *text = json_dumps(p, 0);
    vt_error e;
    vt_err rc = vt_emu_init(g_emu, text, (vt_time)1780000000, &e);
    free(text);
    json_decref(p);
    if (rc != VT_OK) fprintf(stderr, "emulate init: %s\n", e.msg);
    return rc == VT_OK ? 0 : -1;
}

/* The serde form carries every field; the server's decoder rebuilds the exact 1184 bytes and the
 * certificates of the table. */
static void test_snp_serde_shape(void **st)
{
    (void)st;
    vt_emu *emu = NULL;
    vt_error e;
    assert_int_equal(vt_emu_open(g_emu, &emu, &e), VT_OK);
    uint8_t rd[64];
    for (int i = 0; i < 64; i++) rd[i] = (uint8_t)(i * 3 + 1);
    vt_buf rep = {0}, ct = {0};
    assert_int_equal(vt_emu_snp_report(emu, rd, NULL, &rep, &e), VT_OK);
    assert_int_equal(vt_emu_snp_certtable(emu, false, &ct, &e), VT_OK);
    json_t *o = NULL;
    assert_int_equal(vt_rcar_snp_evidence_json(rep.ptr, rep.len, ct.ptr, ct.len, &o, &e), VT_OK);
    const json_t *r = json_object_get(o, "attestation_report");
    assert_int_equal(json_integer_value(json_object_get(r, "version")), rep.ptr[0]);
    const json_t *jrd = json_object_get(r, "report_data");
    assert_int_equal(json_array_size(jrd), 64);
    for (size_t i = 0; i < 64; i++) assert_int_equal(json_integer_value(json_array_get(jrd, i)), rd[i]);
    assert_int_equal(json_array_size(json_object_get(json_object_get(r, "signature"), "r")), 72);
    assert_int_equal(json_array_size(json_object_get(json_object_get(r, "signature"), "s")), 72);
    assert_true(json_is_object(json_object_get(r, "current_tcb")));
    assert_non_null(json_object_get(json_object_get(r, "reported_tcb"), "bootloader"));
    assert_int_equal(json_array_size(json_object_get(r, "chip_id")), 64);
    const json_t *chain = json_object_get(o, "cert_chain");
    assert_int_equal(json_array_size(chain), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(chain, 0), "cert_type")), "VCEK");
    /* the server's decoder */
    uint8_t back[VT_SNP_REPORT_SIZE];
    STACK_OF(X509) *certs = sk_X509_new_null();
    vt_err rc = vt_rcar_snp_from_json(o, back, certs, &e);
    if (rc != VT_OK) fail_msg("server decoder: %s", e.msg);
    assert_memory_equal(back, rep.ptr, VT_SNP_REPORT_SIZE);
    assert_true(sk_X509_num(certs) >= 1);
    sk_X509_pop_free(certs, X509_free);
    json_decref(o);
    /* no table: cert_chain is null */
    assert_int_equal(vt_rcar_snp_evidence_json(rep.ptr, rep.len, NULL, 0, &o, &e), VT_OK);
    assert_true(json_is_null(json_object_get(o, "cert_chain")));
    json_decref(o);
    /* through the provider interface */
    vt_kbs_evidence_src src = {.tee = VT_EV_TEE_SNP, .provider = VT_KBS_PROVIDER_EMULATED, .emulator_dir = g_emu};
    vt_ev_tee tee = VT_EV_TEE_UNKNOWN;
    assert_int_equal(vt_kbs_evidence_get(&src, rd, 64, &o, &tee, &e), VT_OK);
    assert_int_equal(tee, VT_EV_TEE_SNP);
    assert_int_equal(json_array_size(json_object_get(o, "cert_chain")), 3);
    json_decref(o);
    src.provider = VT_KBS_PROVIDER_IOCTL;
    src.tee = VT_EV_TEE_TDX;
    assert_int_equal(vt_kbs_evidence_get(&src, rd, 64, &o, NULL, &e), VT_E_UNSUPPORTED);
    assert_int_equal(vt_snp_report_parse(rep.ptr, rep.len - 1, &(vt_snp_report){0}, &e), VT_E_INVALID);
    assert_int_equal(vt_rcar_snp_evidence_json(rep.ptr, rep.len - 1, NULL, 0, &o, &e), VT_E_INVALID);
    vt_buf_free(&rep);
    vt_buf_free(&ct);
    vt_emu_free(emu);
}

/* ---- the exchange against a scripted KBS -------------------------------------------------- */

#define FK_COOKIE "0123456789abcdef0123456789abcdef"
#define FK_TOKEN "eyJhbGciOiJFUzI1NiJ9.eyJ4IjoxfQ.c2ln"

typedef struct fake_kbs {
    json_t *jwk;        /* the TEE key of the last /attest */
    int cookie_gets, bearer_gets, attests;
    bool binding_ok;
    char tee[16];
    char ctype[96];
} fake_kbs;

static char *problem(int *status, int code, const char *variant, const char *detail)
{
    *status = code;
    json_t *j = json_pack("{s:s+, s:s}", "type", "https://github.com/confidential-containers/kbs/errors/", variant,
                          "detail", detail);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

/* The §7.1 binding computed here from its definition (JCS + SHA-384, zero-padded). */
static bool binding_matches(const json_t *att)
{
    const json_t *rt = json_object_get(att, "runtime-data");
    json_t *o = json_pack("{s:s, s:O, s:O}", "additional-evidence", "", "nonce", json_object_get(rt, "nonce"),
                          "tee-pubkey", json_object_get(rt, "tee-pubkey"));
    vt_buf t = {0};
    uint8_t d[64] = {0};
    char hex[129];
    bool ok = vt_jcs(o, &t, NULL) == VT_OK && vt_hash(VT_SHA384, t.ptr, t.len, d, NULL) == VT_OK;
    vt_hex_encode(d, 64, hex);
    const json_t *ev = json_object_get(json_object_get(att, "tee-evidence"), "primary_evidence");
    const char *got = json_string_value(json_object_get(ev, "report_data"));
    ok = ok && got != NULL && strcmp(got, hex) == 0;
    vt_buf_free(&t);
    json_decref(o);
    return ok;
}

static void fake_kbs_handle(void *ud, const fake_req *rq, int *status, const char **hdrs, char **body)
{
    fake_kbs *k = ud;
    bool cookie_ok = strcmp(rq->cookie, "kbs-session-id=" FK_COOKIE) == 0;
    json_t *j = rq->body_len ? json_loadb(rq->body, rq->body_len, 0, NULL) : NULL;
    *status = 200;
    if (strcmp(rq->method, "POST") == 0 && strcmp(rq->path, "/kbs/v0/auth") == 0) {
        const char *v = json_string_value(json_object_get(j, "version"));
        snprintf(k->tee, sizeof k->tee, "%s", json_string_value(json_object_get(j, "tee")));
        snprintf(k->ctype, sizeof k->ctype, "%s", rq->ctype);
        if (v == NULL || strcmp(v, "0.4.0") != 0) {
            *body = problem(status, 401, "AttestationError", "KBS Client Protocol Version Mismatch");
        } else {
            *hdrs = "Set-Cookie: kbs-session-id=" FK_COOKIE "; Expires=Sat, 22 Aug 2026 12:04:58 GMT\r\n";
            *body = strdup("{\"nonce\":\"MvONa2AUPbiMZk8gi80Kw6DL3TTZqWuY2hJat2qbQdc=\",\"extra-params\":\"\"}");
        }
    } else if (strcmp(rq->method, "POST") == 0 && strcmp(rq->path, "/kbs/v0/attest") == 0) {
        k->attests++;
        const json_t *rt = json_object_get(j, "runtime-data");
        if (!cookie_ok) {
            *body = problem(status, 401, "AttestationError", "no session");
        } else if (!json_is_null(json_object_get(j, "init-data")) ||
                   strcmp(json_string_value(json_object_get(rt, "nonce")), EX_NONCE) != 0) {
            *body = problem(status, 401, "AttestationError", "nonce");
        } else {
            k->binding_ok = binding_matches(j);
            json_decref(k->jwk);
            k->jwk = json_deep_copy(json_object_get(rt, "tee-pubkey"));
            *body = strdup("{\"token\":\"" FK_TOKEN "\"}");
        }
    } else if (strcmp(rq->method, "GET") == 0 && strncmp(rq->path, "/kbs/v0/resource/", 17) == 0) {
        bool bearer = strcmp(rq->auth, "Bearer " FK_TOKEN) == 0 && rq->cookie[0] == 0;
        if (!bearer && !cookie_ok) {
            *body = problem(status, 401, "TokenNotFound", "no token");
        } else if (strcmp(rq->path + 17, "default/key/denied") == 0) {
            *body = problem(status, 401, "PolicyDeny", "resource policy denied default/key/denied");
        } else if (strcmp(rq->path + 17, "default/key/missing") == 0) {
            *body = problem(status, 404, "InvalidRequestPath", "no such resource");
        } else {
            bearer ? k->bearer_gets++ : k->cookie_gets++;
            char secret[300];
            snprintf(secret, sizeof secret, "secret of %s", rq->path + 17);
            json_t *jwe = NULL;
            if (vt_jwe_encrypt(k->jwk, (const uint8_t *)secret, strlen(secret), &jwe, NULL) == VT_OK)
                *body = json_dumps(jwe, JSON_COMPACT);
            json_decref(jwe);
        }
    } else {
        *body = problem(status, 404, "PluginNotFound", rq->path);
    }
    json_decref(j);
}

/* Evidence for the scripted KBS: the report data, hex. */
static vt_err fake_evidence(void *ud, const uint8_t rd[64], size_t rd_len, json_t **out, vt_error *err)
{
    (void)ud;
    char hex[129];
    vt_hex_encode(rd, 64, hex);
    *out = json_pack("{s:s}", "report_data", hex);
    return *out ? VT_OK : vt_error_set(err, VT_E_NOMEM, "t", "oom");
}

static void exchange(vt_kbs_key_type kt, bool bearer)
{
    fake_kbs k = {0};
    fake_server s;
    fake_start(&s, fake_kbs_handle, &k);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s.port);
    vt_kbs_client_opts o = {.url = url, .tee = "tdx", .key_type = kt, .evidence = fake_evidence, .timeout_seconds = 10};
    vt_kbs_client *c = NULL;
    vt_error e;
    assert_int_equal(vt_kbs_client_new(&o, &c, &e), VT_OK);
    assert_null(vt_kbs_client_token(c));
    vt_err rc = vt_kbs_client_attest(c, &e);
    if (rc != VT_OK) fail_msg("attest: %s", e.msg);
    assert_string_equal(vt_kbs_client_token(c), FK_TOKEN);
    assert_true(k.binding_ok);
    assert_string_equal(k.tee, "tdx");
    assert_string_equal(k.ctype, "application/json");
    assert_string_equal(json_string_value(json_object_get(k.jwk, "alg")),
                        kt == VT_KBS_KEY_EC ? "ECDH-ES+A256KW" : "RSA-OAEP-256");
    const json_t *att = vt_kbs_client_last_attestation(c);
    assert_string_equal(json_string_value(json_object_get(json_object_get(att, "tee-evidence"), "additional_evidence")),
                        "");
    for (int i = 0; i < 2; i++) {
        vt_buf sec = {0};
        rc = vt_kbs_client_get_resource(c, "default/key/disk1", bearer, &sec, &e);
        if (rc != VT_OK) fail_msg("resource: %s", e.msg);
        assert_int_equal(sec.len, strlen("secret of default/key/disk1"));
        assert_memory_equal(sec.ptr, "secret of default/key/disk1", sec.len);
        vt_buf_free_secret(&sec);
    }
    assert_int_equal(bearer ? k.bearer_gets : k.cookie_gets, 2);
    assert_int_equal(bearer ? k.cookie_gets : k.bearer_gets, 0);
    /* a new round on the same client: a fresh TEE key (EC keys come from a generation context
     * the client prepares once), and the secret decrypts with it */
    char *jwk1 = json_dumps(json_object_get(json_object_get(att, "runtime-data"), "tee-pubkey"), JSON_COMPACT);
    assert_int_equal(vt_kbs_client_attest(c, &e), VT_OK);
    att = vt_kbs_client_last_attestation(c);
    char *jwk2 = json_dumps(json_object_get(json_object_get(att, "runtime-data"), "tee-pubkey"), JSON_COMPACT);
    assert_non_null(jwk1);
    assert_non_null(jwk2);
    assert_string_not_equal(jwk1, jwk2);
    free(jwk1);
    free(jwk2);
    vt_buf sec = {0};
    assert_int_equal(vt_kbs_client_get_resource(c, "default/key/disk1", bearer, &sec, &e), VT_OK);
    assert_memory_equal(sec.ptr, "secret of default/key/disk1", sec.len);
    vt_buf_free_secret(&sec);
    vt_kbs_client_free(c);
    fake_stop(&s);
    json_decref(k.jwk);
}

static void test_exchange_ec_cookie(void **st)
{
    (void)st;
    exchange(VT_KBS_KEY_EC, false);
}

static void test_exchange_rsa_bearer(void **st)
{
    (void)st;
    exchange(VT_KBS_KEY_RSA, true);
    exchange(VT_KBS_KEY_EC, true);
    exchange(VT_KBS_KEY_RSA, false);
}

static void test_refusals(void **st)
{
    (void)st;
    fake_kbs k = {0};
    fake_server s;
    fake_start(&s, fake_kbs_handle, &k);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s.port);
    vt_kbs_client_opts o = {.url = url, .tee = "snp", .evidence = fake_evidence, .timeout_seconds = 10};
    vt_kbs_client *c = NULL;
    vt_error e;
    vt_buf sec = {0};
    assert_int_equal(vt_kbs_client_new(&o, &c, &e), VT_OK);
    /* no session yet: refused locally */
    assert_int_equal(vt_kbs_client_get_resource(c, "default/key/disk1", false, &sec, &e), VT_E_ARG);
    assert_int_equal(vt_kbs_client_attest(c, &e), VT_OK);
    assert_int_equal(vt_kbs_client_get_resource(c, "default/key/denied", false, &sec, &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "401 PolicyDeny: resource policy denied"));
    assert_int_equal(vt_kbs_client_get_resource(c, "default/key/missing", true, &sec, &e), VT_E_MISSING);
    assert_non_null(strstr(e.msg, "404"));
    const char *bad[] = {"default/key", "a/b/c/d", "../key/x", "a/.hidden/c", "a//c", "a/b/c?x=1", "a/b/c%2f", "", "a/b/"};
    int before = s.nreq;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(vt_kbs_client_get_resource(c, bad[i], false, &sec, &e), VT_E_ARG);
    assert_int_equal(s.nreq, before); /* refused before any request */
    assert_null(sec.ptr);
    vt_kbs_client_free(c);
    fake_stop(&s);
    json_decref(k.jwk);
    /* nobody listening: a transport error */
    o.url = url;
    assert_int_equal(vt_kbs_client_new(&o, &c, &e), VT_OK);
    assert_int_equal(vt_kbs_client_attest(c, &e), VT_E_IO);
    assert_non_null(strstr(e.msg, "/auth"));
    vt_kbs_client_free(c);
    o.url = "ftp://x";
    assert_int_equal(vt_kbs_client_new(&o, &c, &e), VT_E_ARG);
    o.url = url;
    o.evidence = NULL;
    assert_int_equal(vt_kbs_client_new(&o, &c, &e), VT_E_ARG);
    /* the /auth request is written when the client is made: a TEE name JSON cannot carry is
     * refused there, before any request */
    o.evidence = fake_evidence;
    o.tee = "td\xff";
    assert_int_equal(vt_kbs_client_new(&o, &c, &e), VT_E_ARG);
    assert_null(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binding_worked_example),
        cmocka_unit_test(test_worked_example_jwe),
        cmocka_unit_test(test_tee_keys),
        cmocka_unit_test(test_tdx_cca_shapes),
        cmocka_unit_test_setup(test_snp_serde_shape, emu_setup),
        cmocka_unit_test(test_exchange_ec_cookie),
        cmocka_unit_test(test_exchange_rsa_bearer),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
