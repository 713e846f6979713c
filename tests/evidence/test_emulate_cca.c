/* Emulated Arm CCA round trips: tokens (tag 399 and 907, profiles 1.0, 2.0 and CCA-SSD) verify
 * with the CCA verifier against the emulator's trust directory and carry the configured RIM,
 * REMs, RPV, hash algorithms, lifecycle and software components; the realm challenge is the
 * report data and the platform challenge the hash of the RAK; a RAK per realm; other
 * emulators' trust and debug lifecycles are refused; layout matches the published tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/cca.h"
#include "veritee/crypto.h"
#include "veritee/emulate.h"

#define T0 "2026-06-01T12:00:00Z"

static void make_emu(char *dir, size_t cap, const char *overrides)
{
    vt_test_emu_make(dir, cap, "cca", overrides, vt_test_at(T0));
}

static void token(const char *dir, const vt_emu_cca_opts *o, const uint8_t ch[64], vt_buf *out)
{
    vt_emu *emu;
    vt_error e;
    assert_int_equal(vt_emu_open(dir, &emu, &e), VT_OK);
    vt_err rc = vt_emu_cca_token(emu, ch, o, out, &e);
    if (rc != VT_OK) fail_msg("token: %s", e.msg);
    vt_emu_free(emu);
}

/* Verify as `veritee verify --tee cca --trust DIR/trust --nonce` does. */
static vt_err verify(const char *trust_emu, const vt_buf *tok, const uint8_t *nonce, vt_cca_token *t,
                     const vt_cca_cpak **used, bool allow_debug, vt_error *e)
{
    char dir[300];
    vt_cca_trust trust;
    vt_cca_trust_init(&trust);
    snprintf(dir, sizeof dir, "%s/trust", trust_emu);
    /* as the CLI does; tests/cli/cli_evidence.sh covers the directory shared with TDX and SNP roots */
    vt_err rc = vt_cca_trust_load_dir(&trust, dir, e);
    if (rc != VT_OK) fail_msg("trust: %s", e->msg);
    assert_int_equal(vt_cca_token_parse(tok->ptr, tok->len, t, e), VT_OK);
    vt_cca_verify_opts o = {.trust = &trust, .nonce = nonce, .nonce_len = 64, .allow_debug_lifecycle = allow_debug};
    const vt_cca_cpak *u = NULL;
    rc = vt_cca_verify(t, &o, NULL, &u, e);
    bool emulated = u != NULL && u->emulated;
    vt_cca_trust_free(&trust);
    if (used) *used = NULL; /* the store is gone */
    if (rc == VT_OK) assert_true(emulated);
    return rc;
}

static void hexeq(vt_bytes b, const char *hex)
{
    char *h = vt_hex_dup(b.ptr, b.len);
    assert_string_equal(h, hex);
    free(h);
}

static void test_roundtrip_399_907(void **state)
{
    (void)state;
    char dir[256];
    make_emu(dir, sizeof dir,
             "{\"rim\": \"1111111111111111111111111111111111111111111111111111111111111111\", \"lifecycle\": 12289}");
    uint8_t ch[64];
    for (int i = 0; i < 64; i++) ch[i] = (uint8_t)(0x40 + i);
    int tags[] = {399, 907};
    for (int i = 0; i < 2; i++) {
        vt_emu_cca_opts o = {.tag = tags[i]};
        vt_buf tok = {0};
        token(dir, &o, ch, &tok);
        vt_cca_token *t = calloc(1, sizeof *t);
        const vt_cca_cpak *used = NULL;
        vt_error e;
        vt_err rc = verify(dir, &tok, ch, t, &used, false, &e);
        if (rc != VT_OK) fail_msg("tag %d: %s", tags[i], e.msg);
        assert_int_equal(t->tag, (uint64_t)tags[i]);
        assert_int_equal(t->platform.profile_id, VT_CCA_PROFILE_1_0);
        assert_int_equal(t->realm.profile_id, VT_CCA_PROFILE_1_0);
        assert_memory_equal(t->realm.challenge.ptr, ch, 64);
        hexeq(t->realm.rim, "1111111111111111111111111111111111111111111111111111111111111111");
        assert_int_equal(t->platform.lifecycle, 0x3001);
        assert_int_equal(t->platform.n_sw, 4);
        assert_int_equal(t->realm.rem[3].len, 32);
        assert_int_equal(t->realm.personalization.len, 64);
        assert_true(t->realm.rak_is_cose_key);
        assert_int_equal(t->realm.rak.len, 107);
        assert_int_equal(t->platform.instance_id.len, 33);
        assert_int_equal(t->platform.instance_id.ptr[0], 0x01);
        /* platform challenge = SHA-256 of the RAK claim bytes */
        uint8_t h[32];
        assert_int_equal(vt_hash(VT_SHA256, t->realm.rak.ptr, t->realm.rak.len, h, &e), VT_OK);
        assert_int_equal(t->platform.challenge.len, 32);
        assert_memory_equal(t->platform.challenge.ptr, h, 32);
        if (tags[i] == 907) assert_int_equal(t->platform_content_type, 263);
        /* the wrong nonce is refused */
        uint8_t other[64] = {0};
        vt_cca_token *t2 = calloc(1, sizeof *t2);
        assert_int_equal(verify(dir, &tok, other, t2, NULL, false, &e), VT_E_VERIFY);
        free(t2);
        free(t);
        vt_buf_free(&tok);
    }
}

static void test_profiles_and_hashes(void **state)
{
    (void)state;
    static const struct {
        const char *over;
        vt_cca_profile profile;
        size_t rim_len;
        bool raw_rak;
    } cases[] = {
        {"{\"profile\": \"2.0\"}", VT_CCA_PROFILE_2_0, 32, false},
        {"{\"profile\": \"ssd\"}", VT_CCA_PROFILE_SSD, 32, true},
        {"{\"realm_hash_alg\": \"sha-512\", \"rak_hash_alg\": \"sha-512\", \"rim\": \"" /* 64-byte measurements */
         "2222222222222222222222222222222222222222222222222222222222222222"
         "2222222222222222222222222222222222222222222222222222222222222222\", \"rem\": ["
         "\"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "000000000000000000000000\", \"00000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "000000000000000000000000000000000000000000000000\", \"0000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000000000000000\", \"0000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\"]}",
         VT_CCA_PROFILE_1_0, 64, false},
    };
    uint8_t ch[64] = {7};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[256];
        make_emu(dir, sizeof dir, cases[i].over);
        vt_buf tok = {0};
        token(dir, NULL, ch, &tok);
        vt_cca_token *t = calloc(1, sizeof *t);
        vt_error e;
        vt_err rc = verify(dir, &tok, ch, t, NULL, false, &e);
        if (rc != VT_OK) fail_msg("%s: %s", cases[i].over, e.msg);
        assert_int_equal(t->platform.profile_id, cases[i].profile);
        assert_int_equal(t->realm.rim.len, cases[i].rim_len);
        assert_int_equal(t->realm.rak_is_cose_key, !cases[i].raw_rak);
        if (cases[i].raw_rak) assert_int_equal(t->realm.rak.len, 97);
        if (cases[i].rim_len == 64) assert_int_equal(t->platform.challenge.len, 64);
        if (cases[i].profile == VT_CCA_PROFILE_2_0) {
            assert_true(t->realm.has_instance_id);
            assert_true(t->realm.has_mec_policy);
        }
        free(t);
        vt_buf_free(&tok);
    }
}

static void test_realms_lifecycle_cross(void **state)
{
    (void)state;
    char a[256], b[256];
    make_emu(a, sizeof a,
             "{\"realms\": {\"db\": {\"rpv\": \"ab00000000000000000000000000000000000000000000000000000000000000000000"
             "0000000000000000000000000000000000000000000000000000000000\"}}}");
    make_emu(b, sizeof b, "{\"lifecycle\": \"0x5000\"}");
    uint8_t ch[64] = {8};
    vt_buf t0 = {0}, t0b = {0}, t1 = {0}, tb = {0};
    vt_emu_cca_opts r0 = {.realm = "realm0"}, r1 = {.realm = "db"};
    token(a, &r0, ch, &t0);
    token(a, &r0, ch, &t0b);
    token(a, &r1, ch, &t1);
    vt_cca_token *x = calloc(1, sizeof *x), *y = calloc(1, sizeof *y), *z = calloc(1, sizeof *z);
    vt_error e;
    assert_int_equal(verify(a, &t0, ch, x, NULL, false, &e), VT_OK);
    assert_int_equal(verify(a, &t0b, ch, y, NULL, false, &e), VT_OK);
    assert_int_equal(verify(a, &t1, ch, z, NULL, false, &e), VT_OK);
    /* one RAK per realm, kept across tokens */
    assert_int_equal(x->realm.rak.len, y->realm.rak.len);
    assert_memory_equal(x->realm.rak.ptr, y->realm.rak.ptr, x->realm.rak.len);
    assert_memory_not_equal(x->realm.rak.ptr, z->realm.rak.ptr, x->realm.rak.len);
    assert_int_equal(z->realm.personalization.ptr[0], 0xab);
    assert_int_equal(x->realm.personalization.ptr[0], 0x00);
    /* another emulator's trust: no CPAK for this platform */
    assert_int_not_equal(verify(b, &t0, ch, x, NULL, false, &e), VT_OK);
    /* a debug lifecycle: refused unless the caller opts out */
    token(b, NULL, ch, &tb);
    assert_int_equal(verify(b, &tb, ch, x, NULL, false, &e), VT_E_VERIFY);
    assert_int_equal(verify(b, &tb, ch, x, NULL, true, &e), VT_OK);
    assert_int_equal(x->platform.lifecycle, 0x5000);
    /* a bad realm name */
    vt_emu *emu;
    vt_buf bad = {0};
    vt_emu_cca_opts rb = {.realm = "../x"};
    assert_int_equal(vt_emu_open(a, &emu, &e), VT_OK);
    assert_int_equal(vt_emu_cca_token(emu, ch, &rb, &bad, &e), VT_E_ARG);
    vt_emu_free(emu);
    free(x);
    free(y);
    free(z);
    vt_buf_free(&t0);
    vt_buf_free(&t0b);
    vt_buf_free(&t1);
    vt_buf_free(&tb);
}

/* Emulated tokens parse like the published 1.0 token and share its envelope bytes. */
static void test_real_format(void **state)
{
    (void)state;
    vt_buf real = {0}, emu = {0};
    vt_test_load("cca/tokens/veraison_2023_399.cbor", &real);
    char dir[256];
    make_emu(dir, sizeof dir, NULL);
    uint8_t ch[64] = {5};
    token(dir, NULL, ch, &emu);
    vt_cca_token *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    vt_error e;
    assert_int_equal(vt_cca_token_parse(real.ptr, real.len, a, &e), VT_OK);
    assert_int_equal(vt_cca_token_parse(emu.ptr, emu.len, b, &e), VT_OK);
    assert_int_equal(a->tag, b->tag);
    assert_memory_equal(real.ptr, emu.ptr, 3); /* d9 01 8f */
    assert_int_equal(a->platform.profile_id, b->platform.profile_id);
    assert_int_equal(a->realm.profile_id, b->realm.profile_id);
    assert_int_equal(a->realm.rak.len, b->realm.rak.len);         /* COSE_Key, 107 bytes */
    assert_int_equal(a->realm.challenge.len, b->realm.challenge.len);
    assert_int_equal(a->platform.instance_id.len, b->platform.instance_id.len);
    assert_int_equal(a->platform.implementation_id.len, b->platform.implementation_id.len);
    assert_int_equal(a->realm_cose.protected_hdr.len, b->realm_cose.protected_hdr.len);
    assert_memory_equal(a->realm_cose.protected_hdr.ptr, b->realm_cose.protected_hdr.ptr, a->realm_cose.protected_hdr.len);
    assert_int_equal(a->realm_cose.signature.len, b->realm_cose.signature.len); /* 96: raw r||s */
    assert_true(b->platform_cose.tagged && b->realm_cose.tagged);
    free(a);
    free(b);
    vt_buf_free(&real);
    vt_buf_free(&emu);
}

static void test_bad_description(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"profile\": \"3.0\"}", "{\"rim\": \"00\"}", "{\"realm_hash_alg\": \"md5\"}", "{\"rem\": []}",
        "{\"sw_components\": []}", "{\"rpv\": \"00\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char dir[256];
        make_emu(dir, sizeof dir, bad[i]);
        vt_emu *emu;
        vt_buf t = {0};
        uint8_t ch[64] = {0};
        vt_error e;
        assert_int_equal(vt_emu_open(dir, &emu, &e), VT_OK);
        assert_int_equal(vt_emu_cca_token(emu, ch, NULL, &t, &e), VT_E_INVALID);
        vt_emu_free(emu);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_399_907), cmocka_unit_test(test_profiles_and_hashes),
        cmocka_unit_test(test_realms_lifecycle_cross), cmocka_unit_test(test_real_format),
        cmocka_unit_test(test_bad_description),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
