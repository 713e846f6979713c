/* Arm CCA tokens: every vector of shared/vectors/cca with the facts its README states, the
 * negative vectors with their reasons, trust stores and mutations (emulated tokens for the
 * other branches: test_cca_emulated.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/cca.h"
#include "veritee/codec.h"

#define DIR_ "cca/"

static void load_trust(vt_cca_trust *t, const char *rel)
{
    char path[1024];
    vt_error e;
    vt_cca_trust_init(t);
    if (!vt_test_vector_path(rel, path, sizeof path)) skip();
    if (vt_cca_trust_load_file(t, path, &e) != VT_OK) fail_msg("%s: %s", rel, e.msg);
}

static void assert_hex(vt_bytes b, const char *hex)
{
    char *s = vt_hex_dup(b.ptr, b.len);
    if (strncmp(s, hex, strlen(hex)) != 0) fail_msg("got %s, want %s", s, hex);
    free(s);
}

static void assert_text(vt_bytes b, const char *want)
{
    if (b.len != strlen(want) || memcmp(b.ptr, want, b.len) != 0)
        fail_msg("got '%.*s', want '%s'", (int)b.len, (const char *)b.ptr, want);
}

static bool all_bytes(vt_bytes b, uint8_t v, size_t n)
{
    if (b.len != n) return false;
    for (size_t i = 0; i < n; i++)
        if (b.ptr[i] != v) return false;
    return true;
}

/* Parse and verify a vector with one key; returns the verify code. */
static vt_err check_vector(const char *tok, const char *key, vt_buf *buf, vt_cca_token *t,
                           vt_checks *c, vt_error *e)
{
    vt_cca_trust trust;
    vt_test_load(tok, buf);
    load_trust(&trust, key);
    if (vt_cca_token_parse(buf->ptr, buf->len, t, e) != VT_OK) fail_msg("%s: %s", tok, e->msg);
    memset(c, 0, sizeof *c);
    vt_cca_verify_opts o = {.trust = &trust};
    vt_err rc = vt_cca_verify(t, &o, c, NULL, e);
    vt_cca_trust_free(&trust);
    return rc;
}

static const char TFA_IMPL[] = "7f454c4602010100000000000000000003003e00010000005058000000000000";
static const char TFA_INST[] = "0107060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918";
static const char TFRMM_CH[] = "b5973cb68baa9fc55558786b7ec67f69e40df5ba5aa921cd0c27f40587a011ea";
static const char QUICK_FOX[] = "The quick brown fox jumps over 13 lazy dogs.The quick brown fox ";

static void tfrmm_facts(const vt_cca_token *t, uint64_t tag)
{
    const vt_cca_realm_claims *r = &t->realm;
    const vt_cca_platform_claims *p = &t->platform;
    assert_int_equal(t->tag, tag);
    assert_true(all_bytes(r->challenge, 0xab, 64));
    assert_text(r->personalization, QUICK_FOX);
    assert_true(all_bytes(r->rim, 0, 32));
    for (int i = 0; i < 4; i++) assert_true(all_bytes(r->rem[i], 0, 32));
    assert_text(r->hash_alg_id, "sha-256");
    assert_text(r->rak_hash_alg_id, "sha-256");
    assert_int_equal(r->rak.len, 97);
    assert_hex(r->rak, "0476f988");
    assert_false(r->has_profile);
    assert_int_equal(r->profile_id, VT_CCA_PROFILE_SSD);
    assert_text(p->profile, VT_CCA_PROFILE_PLATFORM_SSD);
    assert_int_equal(p->profile_id, VT_CCA_PROFILE_SSD);
    assert_hex(p->challenge, TFRMM_CH);
    assert_hex(p->implementation_id, TFA_IMPL);
    assert_hex(p->instance_id, TFA_INST);
    assert_hex(p->config, TFA_INST);
    assert_int_equal(p->lifecycle, 0x3003);
    assert_text(p->hash_alg_id, "sha-256");
    assert_text(p->verification_service, "whatever.com");
    assert_int_equal(p->n_sw, 4);
    static const char *const names[] = {"BL", "M1", "M2", "M3"};
    static const char *const versions[] = {"3.4.2", "1.2", "1.2.3", "1"};
    for (int i = 0; i < 4; i++) {
        assert_text(p->sw[i].type, names[i]);
        assert_text(p->sw[i].version, versions[i]);
        assert_hex(p->sw[i].measurement, TFA_INST + 2);
        assert_hex(p->sw[i].signer_id, TFA_INST + 2);
    }
    assert_text(p->sw[0].description, "sha-256");
    assert_int_equal(t->platform_cose.alg, VT_COSE_ALG_ES384);
    assert_int_equal(t->realm_cose.alg, VT_COSE_ALG_ES384);
}

static void all_pass(const vt_checks *c)
{
    static const char *const names[] = {"platform_signature", "realm_signature", "rak_binding",
                                        "platform_lifecycle", "profile"};
    for (int i = 0; i < 5; i++) {
        const vt_check *k = vt_checks_find(c, names[i]);
        assert_non_null(k);
        assert_int_equal(k->status, VT_CHECK_PASS);
    }
    assert_int_equal(vt_checks_find(c, "realm_challenge")->status, VT_CHECK_SKIP);
}

static void test_tfrmm(void **state)
{
    (void)state;
    const char *const files[] = {DIR_ "tokens/tfrmm_ssd_399.cbor", DIR_ "tokens/tfrmm_ssd_907.cbor",
                                 "peer_samples/cca_tfm_tools/cca_token.cbor"};
    const char *const keys[] = {DIR_ "keys/tfa_test_cpak_p384.pem", DIR_ "keys/tfa_test_cpak_p384.jwk",
                                "peer_samples/cca_tfm_tools/cpak_pub.pem"};
    for (int i = 0; i < 3; i++) {
        vt_buf b = {0};
        vt_cca_token *t = calloc(1, sizeof *t);
        vt_checks c;
        vt_error e;
        assert_int_equal(check_vector(files[i], keys[i], &b, t, &c, &e), VT_OK);
        tfrmm_facts(t, i == 1 ? 907 : 399);
        all_pass(&c);
        if (i == 1) assert_int_equal(t->platform_content_type, 263);
        free(t);
        vt_buf_free(&b);
    }
}

static void test_tfa_ffm00(void **state)
{
    (void)state;
    vt_buf b = {0};
    vt_cca_token *t = calloc(1, sizeof *t);
    vt_checks c;
    vt_error e;
    assert_int_equal(check_vector(DIR_ "tokens/tfa_ffm00_2023_399.cbor",
                                  DIR_ "trust_anchor_stores/ta-tfa.json", &b, t, &c, &e), VT_OK);
    all_pass(&c);
    const vt_cca_realm_claims *r = &t->realm;
    const vt_cca_platform_claims *p = &t->platform;
    assert_text(r->profile, VT_CCA_PROFILE_REALM_1_0);
    assert_int_equal(r->profile_id, VT_CCA_PROFILE_1_0);
    assert_true(r->rak_is_cose_key);
    assert_int_equal(r->rak.len, 107);
    assert_hex(r->challenge, "6e86d6d97cc713bc6dd43dbce491a6b40311c027a8bf85a39da63e9ce44c132a8a119d296fae6a6999e9bf3e4471b0ce01245d889424c31e89793b3b1d6b1504");
    assert_text(r->personalization, QUICK_FOX);
    assert_hex(r->rim, "311314ab73620350cf758834ae5c65d9e8c2dc7febe6e7d9654bbe864e300d49");
    assert_hex(r->rem[0], "24d5b0a2");
    assert_hex(r->rem[1], "788fc090");
    assert_hex(r->rem[2], "dac46a58");
    assert_hex(r->rem[3], "32c6afc6");
    assert_text(p->profile, VT_CCA_PROFILE_PLATFORM_1_0);
    assert_hex(p->challenge, "0d22e08a98469058486318283489bdb36f09dbefeb1864df433fa6e54ea2d711");
    assert_hex(p->implementation_id, TFA_IMPL);
    assert_hex(p->instance_id, TFA_INST);
    assert_hex(p->config, "cfcfcfcf");
    assert_int_equal(p->config.len, 4);
    assert_int_equal(p->lifecycle, 12291);
    assert_text(p->verification_service, "https://veraison.example/.well-known/veraison/verification");
    assert_int_equal(p->n_sw, 13);
    assert_text(p->sw[0].type, "RSE_BL1_2");
    assert_text(p->sw[12].type, "SOC_FW_CONFIG");
    free(t);
    vt_buf_free(&b);
}

static void test_trustee(void **state)
{
    (void)state;
    vt_buf b = {0};
    vt_cca_token *t = calloc(1, sizeof *t);
    vt_checks c;
    vt_error e;
    assert_int_equal(check_vector(DIR_ "tokens/trustee_ssd_399.cbor",
                                  DIR_ "keys/tfa_test_cpak_p384.jwk", &b, t, &c, &e), VT_OK);
    all_pass(&c);
    const vt_cca_realm_claims *r = &t->realm;
    assert_text(r->hash_alg_id, "sha-512");
    assert_text(r->rak_hash_alg_id, "sha-256");
    assert_hex(r->rim, "ae87fbf7f105e71a7827cb6f0896889c73d2beaf4830d4f9cb05e3e96c3fc7b4faa04caf36a26bd094cf9c7b738617e4c189aaee184dedda5d7a03c39dbdac7c");
    for (int i = 0; i < 4; i++) assert_true(all_bytes(r->rem[i], 0, 64));
    assert_true(all_bytes(r->personalization, 0, 64));
    assert_hex(r->challenge, "57e979ae2618de0c");
    assert_hex(t->platform.challenge, TFRMM_CH);
    assert_int_equal(t->platform.n_sw, 13);
    assert_int_equal(t->platform.lifecycle, 12291);
    free(t);
    vt_buf_free(&b);
}

static void veraison_common(const vt_cca_token *t)
{
    const vt_cca_realm_claims *r = &t->realm;
    const vt_cca_platform_claims *p = &t->platform;
    for (int i = 0; i < 64; i++) assert_int_equal(r->challenge.ptr[i], i % 2 ? 'B' : 'A');
    for (int i = 0; i < 64; i++) assert_int_equal(r->personalization.ptr[i], i % 2 ? 'D' : 'A');
    assert_true(all_bytes(r->rim, 'C', 64));
    for (int i = 0; i < 4; i++) assert_true(all_bytes(r->rem[i], 'C', 64));
    assert_text(r->hash_alg_id, "sha-256");
    assert_text(r->rak_hash_alg_id, "sha-512");
    assert_true(all_bytes(p->implementation_id, 0, 32));
    assert_int_equal(p->instance_id.ptr[0], 1);
    assert_hex(p->instance_id, "0102020202020202020202020202020202020202020202020202020202020202");
    assert_hex(p->config, "010203");
    assert_int_equal(p->lifecycle, 12288);
    assert_int_equal(p->n_sw, 1);
    assert_true(all_bytes(p->sw[0].measurement, 3, 32));
    assert_true(all_bytes(p->sw[0].signer_id, 4, 32));
    assert_false(p->sw[0].has_type || p->sw[0].has_version || p->sw[0].has_description);
    assert_text(p->verification_service, "https://veraison.example/v1/challenge-response");
    assert_text(p->hash_alg_id, "sha-256");
    assert_int_equal(t->platform_cose.alg, VT_COSE_ALG_ES256);
}

static void test_veraison(void **state)
{
    (void)state;
    const char *const files[] = {DIR_ "tokens/veraison_2023_907.cbor", DIR_ "tokens/veraison_2023_399.cbor"};
    for (int i = 0; i < 2; i++) {
        vt_buf b = {0};
        vt_cca_token *t = calloc(1, sizeof *t);
        vt_checks c;
        vt_error e;
        assert_int_equal(check_vector(files[i], DIR_ "keys/veraison_test_iak_p256.pem", &b, t, &c, &e), VT_OK);
        all_pass(&c);
        veraison_common(t);
        assert_text(t->realm.profile, VT_CCA_PROFILE_REALM_1_0);
        assert_int_equal(t->realm.rak.len, 107);
        assert_hex(t->realm.rak, "a401022002215830811958");
        assert_hex((vt_bytes){t->realm.rak.ptr + 104, 3}, "965af1");
        assert_hex(t->platform.challenge, "f7951be801fe7eb0fc3956107058c916134ee0c65f75d03715bf23b96a1784dbca9cfe8fea1c46eff8bf63c4678988d02abf1a0abe72727e63a1a4f56b9bf79f");
        assert_text(t->platform.profile, VT_CCA_PROFILE_PLATFORM_1_0);
        free(t);
        vt_buf_free(&b);
    }
    /* the SSD variant, with the trust-anchor store that names its instance */
    vt_buf b = {0};
    vt_cca_token *t = calloc(1, sizeof *t);
    vt_checks c;
    vt_error e;
    assert_int_equal(check_vector(DIR_ "tokens/veraison_ssd_399.cbor",
                                  DIR_ "trust_anchor_stores/ta-02-ok.json", &b, t, &c, &e), VT_OK);
    veraison_common(t);
    assert_false(t->realm.has_profile);
    assert_int_equal(t->realm.rak.len, 97);
    assert_hex(t->realm.rak, "0482fbd1");
    assert_hex((vt_bytes){t->realm.rak.ptr + 95, 2}, "7ecd");
    assert_hex(t->platform.challenge, "05e6b58844c6a0cd19382069bafdb0e494662a3adcf8fde11478e933951af1790ff5de5c78e3db1123da0a207a8b66556e0a22f19ee64bdc2f89953b6b32555f");
    free(t);
    vt_buf_free(&b);
}

static void test_islet(void **state)
{
    (void)state;
    vt_buf b = {0};
    vt_cca_token *t = calloc(1, sizeof *t);
    vt_checks c;
    vt_error e;
    assert_int_equal(check_vector(DIR_ "tokens/islet_ssd_399.cbor", DIR_ "keys/islet_cpak_p384.bin",
                                  &b, t, &c, &e), VT_OK);
    const vt_cca_platform_claims *p = &t->platform;
    assert_hex(p->instance_id, "011be9c336d7a70b661382934a260192351ac61d24e20d882f494abee87f8a1e98");
    assert_hex(p->implementation_id, "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccdddddddddddddddd");
    assert_hex(p->config, "efbeadde");
    assert_int_equal(p->lifecycle, 12288);
    assert_text(p->verification_service, "http://whatever.com");
    assert_int_equal(p->n_sw, 9);
    assert_text(p->sw[0].type, "BL1");
    assert_int_equal(p->sw[1].measurement.len, 64);
    assert_text(p->sw[8].type, "RMM");
    assert_hex(p->challenge, "5353e0306715457cb8c83074a8b78888c920b9315e35d9ec9523434bed443076");
    assert_hex(t->realm.challenge, "4a48877bc1b88630");
    assert_true(all_bytes(t->realm.personalization, 0, 64));
    assert_hex(t->realm.rim, "59587944ebd7baadb8d4790b55510c25181c83981a92c6970d7080a0cf85d3be");
    for (int i = 0; i < 4; i++) assert_true(all_bytes(t->realm.rem[i], 0, 32));
    free(t);
    vt_buf_free(&b);

    /* rsictl example: signed by the TF-A test CPAK, not the Islet one */
    t = calloc(1, sizeof *t);
    b = (vt_buf){0};
    assert_int_equal(check_vector(DIR_ "tokens/islet_rsictl_ssd_399.cbor",
                                  DIR_ "keys/tfa_test_cpak_p384.pem", &b, t, &c, &e), VT_OK);
    assert_hex(t->realm.rim, "08edc51c32a64743ebe0746c79466ad0e6ac84bc2951f53c9220afecf0013d00");
    assert_hex(t->realm.rem[1], "7d43aefe4c6a955cd0753bccee2e707232d2b44b84c4607ac925597419ac104d");
    assert_hex(t->realm.rem[3], "9e6f6535ee6cf18be0eae95d0a2fd6876ccdc216a172e8f15607fe1a814d0b6c");
    assert_text(t->platform.sw[0].description, "TF-M_SHA256MemPreXIP");
    vt_buf_free(&b);
    assert_int_equal(check_vector(DIR_ "tokens/islet_rsictl_ssd_399.cbor",
                                  DIR_ "keys/islet_cpak_p384.pem", &b, t, &c, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "platform_signature");
    free(t);
    vt_buf_free(&b);
}

/* Wrong-key cases of the README: the platform signature fails, everything else passes. */
static void test_wrong_keys(void **state)
{
    (void)state;
    static const char *const pairs[][2] = {
        {DIR_ "tokens/veraison_2023_907.cbor", DIR_ "keys/veraison_alt_iak_p256.jwk"},
        {DIR_ "tokens/veraison_ssd_399.cbor", DIR_ "keys/veraison_alt_iak_p256.pem"},
        {DIR_ "tokens/tfrmm_ssd_399.cbor", DIR_ "keys/islet_cpak_p384.pem"},
        {DIR_ "tokens/islet_ssd_399.cbor", DIR_ "keys/tfa_test_cpak_p384.pem"},
        {DIR_ "tokens/tfrmm_ssd_907.cbor", DIR_ "keys/veraison_test_iak_p256.pem"}, /* P-256 for ES384 */
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        vt_buf b = {0};
        vt_cca_token *t = calloc(1, sizeof *t);
        vt_checks c;
        vt_error e;
        assert_int_equal(check_vector(pairs[i][0], pairs[i][1], &b, t, &c, &e), VT_E_VERIFY);
        assert_string_equal(e.check, "platform_signature");
        assert_non_null(strstr(e.msg, "platform token signature does not verify"));
        assert_int_equal(vt_checks_find(&c, "platform_signature")->status, VT_CHECK_FAIL);
        assert_int_equal(vt_checks_find(&c, "realm_signature")->status, VT_CHECK_PASS);
        assert_int_equal(vt_checks_find(&c, "rak_binding")->status, VT_CHECK_PASS);
        free(t);
        vt_buf_free(&b);
    }
}

static void test_trust_stores(void **state)
{
    (void)state;
    vt_cca_trust trust;
    vt_error e;
    char path[1024];
    if (!vt_test_vector_path(DIR_ "trust_anchor_stores/ta-02-bad.json", path, sizeof path)) skip();
    vt_cca_trust_init(&trust);
    assert_int_equal(vt_cca_trust_load_file(&trust, path, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "not a valid point on P-256"));
    vt_cca_trust_free(&trust);

    /* a CPAK bound to another platform is not a candidate: trust missing */
    vt_buf b = {0};
    vt_cca_token *t = calloc(1, sizeof *t);
    vt_checks c;
    assert_int_equal(check_vector(DIR_ "tokens/veraison_2023_907.cbor",
                                  DIR_ "trust_anchor_stores/ta-tfa.json", &b, t, &c, &e), VT_E_MISSING);
    assert_string_equal(e.check, "platform_signature");
    assert_non_null(strstr(e.msg, "no trusted CPAK for platform instance id 0102"));
    vt_buf_free(&b);

    /* the whole keys/ directory: every token finds its CPAK among unbound keys */
    vt_cca_trust_init(&trust);
    assert_true(vt_test_vector_path(DIR_ "keys", path, sizeof path));
    assert_int_equal(vt_cca_trust_load_dir(&trust, path, &e), VT_OK);
    assert_int_equal(trust.n, 7);
    static const char *const toks[] = {"tfrmm_ssd_399", "tfrmm_ssd_907", "tfa_ffm00_2023_399",
                                       "trustee_ssd_399", "veraison_2023_907", "veraison_2023_399",
                                       "veraison_ssd_399", "islet_ssd_399", "islet_rsictl_ssd_399"};
    for (size_t i = 0; i < 9; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, DIR_ "tokens/%s.cbor", toks[i]);
        vt_test_load(rel, &b);
        assert_int_equal(vt_cca_token_parse(b.ptr, b.len, t, &e), VT_OK);
        vt_cca_verify_opts o = {.trust = &trust};
        const vt_cca_cpak *used = NULL;
        memset(&c, 0, sizeof c);
        if (vt_cca_verify(t, &o, &c, &used, &e) != VT_OK) fail_msg("%s: %s", toks[i], e.msg);
        assert_non_null(used);
        vt_buf_free(&b);
    }
    /* lookup order: instance-bound first, unbound last, other instances never */
    vt_cca_trust bound;
    load_trust(&bound, DIR_ "trust_anchor_stores/ta-tfa.json");
    assert_true(vt_test_vector_path(DIR_ "keys/islet_cpak_p384.pem", path, sizeof path));
    assert_int_equal(vt_cca_trust_load_file(&bound, path, &e), VT_OK);
    assert_true(vt_test_vector_path(DIR_ "trust_anchor_stores/ta-02-ok.json", path, sizeof path));
    assert_int_equal(vt_cca_trust_load_file(&bound, path, &e), VT_OK);
    uint8_t inst[33], impl[32];
    assert_int_equal(vt_hex_decode_fixed(TFA_INST, inst, 33, &e), VT_OK);
    assert_int_equal(vt_hex_decode_fixed(TFA_IMPL, impl, 32, &e), VT_OK);
    const vt_cca_cpak *cand[4];
    assert_int_equal(vt_cca_trust_find(&bound, (vt_bytes){inst, 33}, (vt_bytes){impl, 32}, cand, 4), 2);
    assert_string_equal(cand[0]->label, "ta-tfa.json[0]");
    assert_string_equal(cand[1]->label, "islet_cpak_p384.pem");
    vt_cca_trust_free(&bound);
    vt_cca_trust_free(&trust);
    free(t);
}

static void test_negative_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        const char *reason;
    } neg[] = {
        {"cmw_unwrapped_sign1_907.cbor", "expected a byte string, found a tag"},
        {"wrong_top_level_tag18.cbor", "wrong top-level tag 18"},
        {"empty_collection_907.cbor", "CCA platform token not set"},
        {"platform_only_907.cbor", "CCA realm token not set"},
        {"untagged_entries_907.cbor", "platform token: COSE_Sign1"},
        {"bogus_sign1_907.cbor", "platform token claims"},
    };
    for (size_t i = 0; i < sizeof neg / sizeof neg[0]; i++) {
        char rel[128];
        vt_buf b = {0};
        vt_cca_token *t = calloc(1, sizeof *t);
        vt_error e;
        snprintf(rel, sizeof rel, DIR_ "negative/%s", neg[i].file);
        vt_test_load(rel, &b);
        assert_int_equal(vt_cca_token_parse(b.ptr, b.len, t, &e), VT_E_INVALID);
        if (strstr(e.msg, neg[i].reason) == NULL) fail_msg("%s: '%s' lacks '%s'", rel, e.msg, neg[i].reason);
        free(t);
        vt_buf_free(&b);
    }
    /* bad binding: both signatures are valid, only the binding fails */
    vt_buf b = {0};
    vt_cca_token *t = calloc(1, sizeof *t);
    vt_checks c;
    vt_error e;
    assert_int_equal(check_vector(DIR_ "negative/bad_binding_ssd_399.cbor",
                                  DIR_ "trust_anchor_stores/ta-tfa.json", &b, t, &c, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "rak_binding");
    assert_non_null(strstr(e.msg, "binding verification failed: platform challenge 07060504030201000f0e0d0c0b0a0908"));
    assert_int_equal(vt_checks_find(&c, "platform_signature")->status, VT_CHECK_PASS);
    assert_int_equal(vt_checks_find(&c, "realm_signature")->status, VT_CHECK_PASS);
    assert_int_equal(vt_checks_find(&c, "rak_binding")->status, VT_CHECK_FAIL);
    assert_int_equal(t->platform.n_sw, 16);
    assert_text(t->realm.hash_alg_id, "sha-512");
    assert_hex(t->realm.rim, "d215240f");
    free(t);
    vt_buf_free(&b);
}

static void test_nonce(void **state)
{
    (void)state;
    vt_buf b = {0};
    vt_cca_token *t = calloc(1, sizeof *t);
    vt_checks c;
    vt_error e;
    vt_cca_trust trust;
    vt_test_load(DIR_ "tokens/tfrmm_ssd_399.cbor", &b);
    load_trust(&trust, DIR_ "keys/tfa_test_cpak_p384.pem");
    assert_int_equal(vt_cca_token_parse(b.ptr, b.len, t, &e), VT_OK);
    uint8_t nonce[64];
    memset(nonce, 0xab, 64);
    vt_cca_verify_opts o = {.trust = &trust, .nonce = nonce, .nonce_len = 64};
    memset(&c, 0, sizeof c);
    assert_int_equal(vt_cca_verify(t, &o, &c, NULL, &e), VT_OK);
    assert_int_equal(vt_checks_find(&c, "realm_challenge")->status, VT_CHECK_PASS);
    nonce[63] = 0xac;
    memset(&c, 0, sizeof c);
    assert_int_equal(vt_cca_verify(t, &o, &c, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "realm_challenge");
    o.nonce_len = 32; /* 32 x 0xab zero-padded is not the challenge either */
    assert_int_equal(vt_cca_verify(t, &o, NULL, NULL, &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "zero-padded"));
    o.nonce_len = 65;
    assert_int_equal(vt_cca_verify(t, &o, NULL, NULL, &e), VT_E_ARG);
    /* no trust at all: fail closed as missing */
    vt_cca_verify_opts none = {0};
    assert_int_equal(vt_cca_verify(t, &none, NULL, NULL, &e), VT_E_MISSING);
    vt_cca_trust_free(&trust);
    free(t);
    vt_buf_free(&b);
}

/* Truncations at every offset and a bit flip at every offset never verify; no crashes. */
static void mutate(const char *rel, const char *key)
{
    vt_buf b = {0};
    vt_cca_token *t = calloc(1, sizeof *t);
    vt_error e;
    vt_cca_trust trust;
    vt_test_load(rel, &b);
    load_trust(&trust, key);
    vt_cca_verify_opts o = {.trust = &trust};
    for (size_t n = 0; n < b.len; n++)
        assert_int_equal(vt_cca_token_parse(b.ptr, n, t, &e), VT_E_INVALID);
    uint8_t *cp = malloc(b.len);
    for (size_t i = 0; i < b.len; i++) {
        memcpy(cp, b.ptr, b.len);
        cp[i] ^= (uint8_t)(1u << (i % 8));
        if (vt_cca_token_parse(cp, b.len, t, &e) == VT_OK)
            if (vt_cca_verify(t, &o, NULL, NULL, &e) == VT_OK)
                fail_msg("%s: flip at offset %zu still verifies", rel, i);
    }
    free(cp);
    vt_cca_trust_free(&trust);
    free(t);
    vt_buf_free(&b);
}

static void test_mutations(void **state)
{
    (void)state;
    mutate(DIR_ "tokens/tfrmm_ssd_907.cbor", DIR_ "keys/tfa_test_cpak_p384.pem");
    mutate(DIR_ "tokens/veraison_2023_399.cbor", DIR_ "keys/veraison_test_iak_p256.pem");
}

/* A collection from two encoded COSE_Sign1 messages. */
static vt_buf collection(uint64_t tag, vt_bytes plat, vt_bytes realm)
{
    vt_cbor_writer w;
    vt_buf out = {0};
    vt_error e;
    vt_cbor_writer_init(&w);
    vt_cbor_put_tag(&w, tag);
    vt_cbor_put_map(&w, 2);
    vt_bytes parts[2] = {plat, realm};
    for (int i = 0; i < 2; i++) {
        vt_cbor_put_uint(&w, i == 0 ? VT_CCA_KEY_PLATFORM : VT_CCA_KEY_REALM);
        if (tag == VT_CCA_TAG_CMW) {
            vt_cbor_put_array(&w, 2);
            vt_cbor_put_uint(&w, 263);
        }
        vt_cbor_put_bstr(&w, parts[i].ptr, parts[i].len);
    }
    assert_int_equal(vt_cbor_writer_finish(&w, &out, &e), VT_OK);
    return out;
}

static void test_swapped_realm(void **state)
{
    (void)state;
    vt_buf a = {0}, b = {0};
    vt_cca_token *ta = calloc(1, sizeof *ta), *tb = calloc(1, sizeof *tb);
    vt_error e;
    vt_checks c;
    vt_cca_trust trust;
    vt_test_load(DIR_ "tokens/tfrmm_ssd_399.cbor", &a);
    vt_test_load(DIR_ "tokens/tfa_ffm00_2023_399.cbor", &b);
    load_trust(&trust, DIR_ "keys/tfa_test_cpak_p384.pem");
    assert_int_equal(vt_cca_token_parse(a.ptr, a.len, ta, &e), VT_OK);
    assert_int_equal(vt_cca_token_parse(b.ptr, b.len, tb, &e), VT_OK);
    vt_buf mix = collection(399, ta->platform_sign1, tb->realm_sign1);
    assert_int_equal(vt_cca_token_parse(mix.ptr, mix.len, ta, &e), VT_OK);
    vt_cca_verify_opts o = {.trust = &trust};
    memset(&c, 0, sizeof c);
    assert_int_equal(vt_cca_verify(ta, &o, &c, NULL, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "rak_binding");
    assert_int_equal(vt_checks_find(&c, "platform_signature")->status, VT_CHECK_PASS);
    assert_int_equal(vt_checks_find(&c, "realm_signature")->status, VT_CHECK_PASS);
    /* CBOR length extremes: a platform bstr claiming 2^64-1 bytes, a map claiming 2^32 pairs */
    const uint8_t huge[] = {0xd9, 0x01, 0x8f, 0xa2, 0x19, 0xac, 0xca, 0x5b, 0xff, 0xff, 0xff,
                            0xff, 0xff, 0xff, 0xff, 0xff, 0x00};
    assert_int_equal(vt_cca_token_parse(huge, sizeof huge, ta, &e), VT_E_INVALID);
    const uint8_t bigmap[] = {0xd9, 0x01, 0x8f, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x00};
    assert_int_equal(vt_cca_token_parse(bigmap, sizeof bigmap, ta, &e), VT_E_INVALID);
    const uint8_t indef[] = {0xd9, 0x01, 0x8f, 0xbf, 0xff};
    assert_int_equal(vt_cca_token_parse(indef, sizeof indef, ta, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "indefinite"));
    vt_buf_free(&mix);
    vt_cca_trust_free(&trust);
    free(ta);
    free(tb);
    vt_buf_free(&a);
    vt_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tfrmm),          cmocka_unit_test(test_tfa_ffm00),
        cmocka_unit_test(test_trustee),        cmocka_unit_test(test_veraison),
        cmocka_unit_test(test_islet),          cmocka_unit_test(test_wrong_keys),
        cmocka_unit_test(test_trust_stores),   cmocka_unit_test(test_negative_vectors),
        cmocka_unit_test(test_nonce),          cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_swapped_realm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
