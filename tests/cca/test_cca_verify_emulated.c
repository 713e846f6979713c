/* Arm CCA tokens built here with fresh keys, for the branches the published vectors cannot
 * reach: RMM 2.0 realm claims, lifecycle and profile checks, ES512 platforms, a realm signed
 * by another key, CBOR strictness inside the claims, unknown critical headers. */
#include <openssl/ec.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/cca.h"

typedef struct spec {
    uint64_t tag;
    const char *pprofile;
    const char *rprofile; /* NULL: no realm profile, RAK as a raw point */
    uint64_t lifecycle;
    bool rmm2;            /* realm instance id (256) and MEC policy (44243) */
    bool rmm2_no_mec;
    bool dup_claim;       /* realm challenge twice */
    bool indefinite;      /* realm claims as an indefinite-length map */
    bool crit_unknown;    /* platform protected header {1: alg, 2: [99], 99: 0} */
    const uint8_t *challenge; /* 64 bytes; NULL: 64 x 0xab */
    EVP_PKEY *cpak, *rak, *realm_signer;
} spec;

static vt_buf finish(vt_cbor_writer *w)
{
    vt_buf b = {0};
    vt_error e;
    assert_int_equal(vt_cbor_writer_finish(w, &b, &e), VT_OK);
    return b;
}

static vt_buf rak_bytes(const spec *s)
{
    vt_buf b = {0};
    vt_error e;
    if (s->rprofile != NULL) {
        assert_int_equal(vt_cose_key_encode(s->rak, &b, &e), VT_OK);
        return b;
    }
    uint8_t xy[132];
    size_t n;
    assert_int_equal(vt_ec_pub_xy(s->rak, xy, sizeof xy, &n, &e), VT_OK);
    b.ptr = malloc(n + 1);
    b.ptr[0] = 0x04;
    memcpy(b.ptr + 1, xy, n);
    b.len = n + 1;
    return b;
}

static vt_buf realm_claims(const spec *s, const vt_buf *rak)
{
    vt_cbor_writer w;
    uint8_t ch[64], zero[64] = {0}, inst[33];
    memset(ch, 0xab, 64);
    memset(inst, 0x5a, 33);
    inst[0] = 0x01;
    size_t n = 7 + (s->rprofile != NULL) + (s->rmm2 ? (s->rmm2_no_mec ? 1 : 2) : 0) + s->dup_claim;
    vt_cbor_writer_init(&w);
    if (s->indefinite) vt_cbor_put_raw(&w, "\xbf", 1);
    else vt_cbor_put_map(&w, n);
    vt_cbor_put_uint(&w, 10);
    vt_cbor_put_bstr(&w, s->challenge ? s->challenge : ch, 64);
    if (s->rprofile) {
        vt_cbor_put_uint(&w, 265);
        vt_cbor_put_tstr(&w, s->rprofile);
    }
    vt_cbor_put_uint(&w, 44235);
    vt_cbor_put_bstr(&w, zero, 64);
    vt_cbor_put_uint(&w, 44236);
    vt_cbor_put_tstr(&w, "sha-256");
    vt_cbor_put_uint(&w, 44237);
    vt_cbor_put_bstr(&w, rak->ptr, rak->len);
    vt_cbor_put_uint(&w, 44238);
    vt_cbor_put_bstr(&w, ch, 32);
    vt_cbor_put_uint(&w, 44239);
    vt_cbor_put_array(&w, 4);
    for (int i = 0; i < 4; i++) vt_cbor_put_bstr(&w, zero, 32);
    vt_cbor_put_uint(&w, 44240);
    vt_cbor_put_tstr(&w, "sha-256");
    if (s->rmm2) {
        vt_cbor_put_uint(&w, 256);
        vt_cbor_put_bstr(&w, inst, 33);
        if (!s->rmm2_no_mec) {
            vt_cbor_put_uint(&w, 44243);
            vt_cbor_put_uint(&w, 1);
        }
    }
    if (s->dup_claim) {
        vt_cbor_put_uint(&w, 10);
        vt_cbor_put_bstr(&w, ch, 64);
    }
    if (s->indefinite) vt_cbor_put_raw(&w, "\xff", 1);
    return finish(&w);
}

static vt_buf platform_claims(const spec *s, const vt_buf *rak)
{
    vt_cbor_writer w;
    uint8_t h[32], impl[32], inst[33], m[32], sid[32];
    vt_error e;
    assert_int_equal(vt_hash(VT_SHA256, rak->ptr, rak->len, h, &e), VT_OK);
    memset(impl, 0x11, 32);
    memset(inst, 0x22, 33);
    inst[0] = 0x01;
    memset(m, 0x33, 32);
    memset(sid, 0x44, 32);
    vt_cbor_writer_init(&w);
    vt_cbor_put_map(&w, 10);
    vt_cbor_put_uint(&w, 265);
    vt_cbor_put_tstr(&w, s->pprofile ? s->pprofile : VT_CCA_PROFILE_PLATFORM_1_0);
    vt_cbor_put_uint(&w, 10);
    vt_cbor_put_bstr(&w, h, 32);
    vt_cbor_put_uint(&w, 2396);
    vt_cbor_put_bstr(&w, impl, 32);
    vt_cbor_put_uint(&w, 256);
    vt_cbor_put_bstr(&w, inst, 33);
    vt_cbor_put_uint(&w, 2401);
    vt_cbor_put_bstr(&w, "cfg", 3);
    vt_cbor_put_uint(&w, 2395);
    vt_cbor_put_uint(&w, s->lifecycle ? s->lifecycle : 0x3000);
    vt_cbor_put_uint(&w, 2399);
    vt_cbor_put_array(&w, 1);
    vt_cbor_put_map(&w, 5);
    vt_cbor_put_uint(&w, 1);
    vt_cbor_put_tstr(&w, "BL1");
    vt_cbor_put_uint(&w, 2);
    vt_cbor_put_bstr(&w, m, 32);
    vt_cbor_put_uint(&w, 4);
    vt_cbor_put_tstr(&w, "1.0");
    vt_cbor_put_uint(&w, 5);
    vt_cbor_put_bstr(&w, sid, 32);
    vt_cbor_put_uint(&w, 6);
    vt_cbor_put_tstr(&w, "sha-256");
    vt_cbor_put_uint(&w, 2400);
    vt_cbor_put_tstr(&w, "https://verifier.example");
    vt_cbor_put_uint(&w, 2402);
    vt_cbor_put_tstr(&w, "sha-256");
    vt_cbor_put_uint(&w, 2394); /* client id, a 2.0 claim: harmless in 1.0 tokens */
    vt_cbor_put_int(&w, -1);
    return finish(&w);
}

static vt_buf sign(EVP_PKEY *k, const vt_buf *payload)
{
    vt_buf out = {0};
    vt_error e;
    assert_int_equal(vt_cose_sign1_sign(k, NULL, payload->ptr, payload->len, &out, &e), VT_OK);
    return out;
}

static vt_buf crit_sign1(const vt_buf *payload)
{
    vt_cbor_writer w;
    const uint8_t prot[] = {0xa3, 0x01, 0x38, 0x22, 0x02, 0x81, 0x18, 0x63, 0x18, 0x63, 0x00};
    uint8_t sig[96] = {0};
    vt_cbor_writer_init(&w);
    vt_cbor_put_tag(&w, 18);
    vt_cbor_put_array(&w, 4);
    vt_cbor_put_bstr(&w, prot, sizeof prot);
    vt_cbor_put_map(&w, 0);
    vt_cbor_put_bstr(&w, payload->ptr, payload->len);
    vt_cbor_put_bstr(&w, sig, sizeof sig);
    return finish(&w);
}

static vt_buf make_token(const spec *s)
{
    vt_buf rak = rak_bytes(s);
    vt_buf rc = realm_claims(s, &rak), pc = platform_claims(s, &rak);
    vt_buf rs = sign(s->realm_signer ? s->realm_signer : s->rak, &rc);
    vt_buf ps = s->crit_unknown ? crit_sign1(&pc) : sign(s->cpak, &pc);
    vt_cbor_writer w;
    vt_cbor_writer_init(&w);
    vt_cbor_put_tag(&w, s->tag ? s->tag : 907);
    vt_cbor_put_map(&w, 2);
    vt_buf parts[2] = {ps, rs};
    for (int i = 0; i < 2; i++) {
        vt_cbor_put_uint(&w, i == 0 ? VT_CCA_KEY_PLATFORM : VT_CCA_KEY_REALM);
        if ((s->tag ? s->tag : 907) == 907) {
            vt_cbor_put_array(&w, 2);
            vt_cbor_put_uint(&w, 263);
        }
        vt_cbor_put_bstr(&w, parts[i].ptr, parts[i].len);
    }
    vt_buf out = finish(&w);
    vt_buf_free(&rak);
    vt_buf_free(&rc);
    vt_buf_free(&pc);
    vt_buf_free(&rs);
    vt_buf_free(&ps);
    return out;
}

typedef struct keys {
    EVP_PKEY *cpak, *rak, *other, *cpak521;
    vt_cca_trust trust;
} keys;

static int setup(void **state)
{
    keys *k = calloc(1, sizeof *k);
    vt_error e;
    k->cpak = EVP_EC_gen("P-384");
    k->rak = EVP_EC_gen("P-384");
    k->other = EVP_EC_gen("P-384");
    k->cpak521 = EVP_EC_gen("P-521");
    vt_cca_trust_init(&k->trust);
    if (vt_cca_trust_add(&k->trust, k->cpak, NULL, 0, NULL, 0, "emulated-cpak", &e) != VT_OK ||
        vt_cca_trust_add(&k->trust, k->cpak521, NULL, 0, NULL, 0, "emulated-cpak-521", &e) != VT_OK)
        return -1;
    *state = k;
    return 0;
}

static int teardown(void **state)
{
    keys *k = *state;
    vt_cca_trust_free(&k->trust);
    EVP_PKEY_free(k->cpak);
    EVP_PKEY_free(k->rak);
    EVP_PKEY_free(k->other);
    EVP_PKEY_free(k->cpak521);
    free(k);
    return 0;
}

/* Build, parse and verify; returns the first failure (or the parse error). */
static vt_err run(keys *k, spec s, vt_cca_token *t, vt_checks *c, vt_error *e,
                  const vt_cca_verify_opts *extra)
{
    if (s.cpak == NULL) s.cpak = k->cpak;
    if (s.rak == NULL) s.rak = k->rak;
    vt_buf tok = make_token(&s);
    memset(c, 0, sizeof *c);
    vt_err rc = vt_cca_token_parse(tok.ptr, tok.len, t, e);
    if (rc == VT_OK) {
        vt_cca_verify_opts o = {.trust = &k->trust};
        if (extra != NULL) {
            o = *extra;
            o.trust = &k->trust;
        }
        /* views borrow tok: verify before freeing */
        rc = vt_cca_verify(t, &o, c, NULL, e);
    }
    vt_buf_free(&tok);
    return rc;
}

static void test_profiles(void **state)
{
    keys *k = *state;
    vt_cca_token *t = calloc(1, sizeof *t);
    vt_checks c;
    vt_error e;
    /* 1.0 pair in CMW and legacy wrapping */
    spec s10 = {.pprofile = VT_CCA_PROFILE_PLATFORM_1_0, .rprofile = VT_CCA_PROFILE_REALM_1_0};
    assert_int_equal(run(k, s10, t, &c, &e, NULL), VT_OK);
    s10.tag = 399;
    assert_int_equal(run(k, s10, t, &c, &e, NULL), VT_OK);
    /* RMM 2.0: realm instance id and MEC policy parsed */
    spec s20 = {.pprofile = VT_CCA_PROFILE_PLATFORM_2_0, .rprofile = VT_CCA_PROFILE_REALM_2_0, .rmm2 = true};
    assert_int_equal(run(k, s20, t, &c, &e, NULL), VT_OK);
    /* (t's views died with the token; re-check the profile detail through the checks) */
    assert_non_null(strstr(vt_checks_find(&c, "profile")->detail, "platform profile 2.0"));
    s20.rmm2_no_mec = true;
    assert_int_equal(run(k, s20, t, &c, &e, NULL), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "MEC policy (44243) is missing (profile 2.0)"));
    /* CCA-SSD: raw RAK point, no realm profile */
    spec ssd = {.pprofile = VT_CCA_PROFILE_PLATFORM_SSD};
    assert_int_equal(run(k, ssd, t, &c, &e, NULL), VT_OK);
    /* unknown profiles are refused by name */
    spec unk = {.pprofile = "tag:arm.com,2026:cca_platform#2.0.0", .rprofile = VT_CCA_PROFILE_REALM_1_0};
    assert_int_equal(run(k, unk, t, &c, &e, NULL), VT_E_VERIFY); /* a failed check: exit 1 */
    assert_string_equal(e.check, "profile");
    assert_non_null(strstr(e.msg, "unknown platform profile 'tag:arm.com,2026:cca_platform#2.0.0'"));
    spec unkr = {.rprofile = "tag:example,2025:realm"};
    assert_int_equal(run(k, unkr, t, &c, &e, NULL), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "unknown realm profile"));
    free(t);
}

static void test_lifecycle_and_keys(void **state)
{
    keys *k = *state;
    vt_cca_token *t = calloc(1, sizeof *t);
    vt_checks c;
    vt_error e;
    spec dbg = {.lifecycle = 0x4000};
    assert_int_equal(run(k, dbg, t, &c, &e, NULL), VT_E_VERIFY);
    assert_string_equal(e.check, "platform_lifecycle");
    assert_non_null(strstr(e.msg, "0x4000 (non_cca_platform_debug) is not in the secured state"));
    vt_cca_verify_opts optout = {.allow_debug_lifecycle = true};
    assert_int_equal(run(k, dbg, t, &c, &e, &optout), VT_OK);
    spec dec = {.lifecycle = 0x6001};
    assert_int_equal(run(k, dec, t, &c, &e, NULL), VT_E_VERIFY);
    spec big = {.lifecycle = 0x10000};
    assert_int_equal(run(k, big, t, &c, &e, NULL), VT_E_INVALID);
    /* ES512 platform */
    spec p521 = {.cpak = k->cpak521};
    assert_int_equal(run(k, p521, t, &c, &e, NULL), VT_OK);
    assert_non_null(strstr(vt_checks_find(&c, "platform_signature")->detail, "ES512"));
    /* realm token signed by a key other than its RAK */
    spec forged = {.realm_signer = k->other};
    assert_int_equal(run(k, forged, t, &c, &e, NULL), VT_E_VERIFY);
    assert_string_equal(e.check, "realm_signature");
    assert_int_equal(vt_checks_find(&c, "platform_signature")->status, VT_CHECK_PASS);
    assert_int_equal(vt_checks_find(&c, "rak_binding")->status, VT_CHECK_PASS);
    /* platform signed by an untrusted key */
    spec untrusted = {.cpak = k->other};
    assert_int_equal(run(k, untrusted, t, &c, &e, NULL), VT_E_VERIFY);
    assert_string_equal(e.check, "platform_signature");
    free(t);
}

static void test_strictness(void **state)
{
    keys *k = *state;
    vt_cca_token *t = calloc(1, sizeof *t);
    vt_checks c;
    vt_error e;
    spec dup = {.dup_claim = true};
    assert_int_equal(run(k, dup, t, &c, &e, NULL), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "duplicate map key 10"));
    spec indef = {.indefinite = true};
    assert_int_equal(run(k, indef, t, &c, &e, NULL), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "indefinite"));
    spec crit = {.crit_unknown = true};
    assert_int_equal(run(k, crit, t, &c, &e, NULL), VT_E_UNSUPPORTED);
    assert_non_null(strstr(e.msg, "critical header parameter 99 is not understood"));
    /* a realm profile with a raw-point RAK: wrong type for the profile */
    spec mixed = {.rprofile = VT_CCA_PROFILE_REALM_1_0};
    mixed.cpak = k->cpak;
    mixed.rak = k->rak;
    vt_buf rak = {0};
    spec raw = mixed;
    raw.rprofile = NULL;
    rak = rak_bytes(&raw);
    vt_buf rc = realm_claims(&mixed, &rak);
    vt_cca_realm_claims rcl;
    assert_int_equal(vt_cca_realm_claims_parse((vt_bytes){rc.ptr, rc.len}, &rcl, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "realm public key (44237)"));
    vt_buf_free(&rc);
    vt_buf_free(&rak);
    free(t);
}

static void test_padded_nonce(void **state)
{
    keys *k = *state;
    vt_cca_token *t = calloc(1, sizeof *t);
    vt_checks c;
    vt_error e;
    uint8_t ch[64] = {0};
    memcpy(ch, "0123456789abcdef0123456789abcdef", 32);
    spec s = {.challenge = ch};
    vt_cca_verify_opts o = {.nonce = ch, .nonce_len = 32};
    assert_int_equal(run(k, s, t, &c, &e, &o), VT_OK);
    assert_non_null(strstr(vt_checks_find(&c, "realm_challenge")->detail, "zero-padded"));
    o.nonce_len = 31;
    assert_int_equal(run(k, s, t, &c, &e, &o), VT_E_VERIFY); /* ch[31] != 0: 31 bytes + zeros differ */
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profiles), cmocka_unit_test(test_lifecycle_and_keys),
        cmocka_unit_test(test_strictness), cmocka_unit_test(test_padded_nonce),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
