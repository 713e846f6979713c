/* COSE_Sign1 (RFC 9052): Sig_structure bytes, sign/verify ES256/ES384/ES512, header rules
 * (alg, crit, bucket overlap), tags, EC2 COSE_Key. */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/cose.h"

static EVP_PKEY *gen(const char *curve)
{
    EVP_PKEY *k = EVP_EC_gen(curve);
    assert_non_null(k);
    return k;
}

static void test_sig_structure_bytes(void **state)
{
    (void)state;
    const uint8_t prot[] = {0xa1, 0x01, 0x26};
    vt_cose_sign1 m = {.protected_hdr = {prot, 3}, .payload = {(const uint8_t *)"hi", 2}};
    vt_buf b = {0};
    vt_error e;
    assert_int_equal(vt_cose_sig_structure(&m, (const uint8_t *)"\xaa", 1, &b, &e), VT_OK);
    const uint8_t want[] = {0x84, 0x6a, 'S', 'i', 'g', 'n', 'a', 't', 'u', 'r', 'e', '1', 0x43,
                            0xa1, 0x01, 0x26, 0x41, 0xaa, 0x42, 'h', 'i'};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.ptr, want, sizeof want);
    vt_buf_free(&b);
}

static void roundtrip(const char *curve, int64_t alg, size_t siglen)
{
    EVP_PKEY *k = gen(curve), *other = gen(curve);
    vt_buf tok = {0};
    vt_error e;
    vt_cose_sign1 m;
    const uint8_t payload[] = "claims go here";
    const uint8_t aad[] = {1, 2, 3};
    vt_cose_sign_opts o = {.kid = (const uint8_t *)"k1", .kid_len = 2, .aad = aad, .aad_len = 3};
    assert_int_equal(vt_cose_sign1_sign(k, &o, payload, sizeof payload, &tok, &e), VT_OK);
    assert_int_equal(vt_cose_sign1_parse(tok.ptr, tok.len, NULL, &m, &e), VT_OK);
    assert_true(m.tagged);
    assert_int_equal(m.alg, alg);
    assert_int_equal(m.signature.len, siglen);
    assert_int_equal(m.kid.len, 2);
    assert_int_equal(vt_cose_sign1_verify(&m, k, aad, 3, "sig", &e), VT_OK);
    /* wrong AAD, wrong key, changed payload */
    assert_int_equal(vt_cose_sign1_verify(&m, k, NULL, 0, "sig", &e), VT_E_VERIFY);
    assert_string_equal(e.check, "sig");
    assert_int_equal(vt_cose_sign1_verify(&m, other, aad, 3, "sig", &e), VT_E_VERIFY);
    /* every single-bit change outside the (unsigned) unprotected header breaks verification */
    size_t u0 = (size_t)(m.unprotected.ptr - tok.ptr), u1 = u0 + m.unprotected.len;
    for (size_t i = 0; i < tok.len; i++) {
        if (i >= u0 && i < u1) continue;
        uint8_t *cp = malloc(tok.len);
        memcpy(cp, tok.ptr, tok.len);
        cp[i] ^= (uint8_t)(1u << (i % 8));
        vt_cose_sign1 mm;
        if (vt_cose_sign1_parse(cp, tok.len, NULL, &mm, &e) == VT_OK && !mm.detached)
            assert_int_not_equal(vt_cose_sign1_verify(&mm, k, aad, 3, "sig", &e), VT_OK);
        free(cp);
    }
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
    vt_buf_free(&tok);
}

static void test_roundtrip_es256(void **state) { (void)state; roundtrip("P-256", VT_COSE_ALG_ES256, 64); }
static void test_roundtrip_es384(void **state) { (void)state; roundtrip("P-384", VT_COSE_ALG_ES384, 96); }
static void test_roundtrip_es512(void **state) { (void)state; roundtrip("P-521", VT_COSE_ALG_ES512, 132); }

static void test_alg_key_mismatch(void **state)
{
    (void)state;
    EVP_PKEY *k384 = gen("P-384"), *k256 = gen("P-256");
    vt_buf tok = {0};
    vt_error e;
    vt_cose_sign1 m;
    assert_int_equal(vt_cose_sign1_sign(k384, NULL, (const uint8_t *)"x", 1, &tok, &e), VT_OK);
    assert_int_equal(vt_cose_sign1_parse(tok.ptr, tok.len, NULL, &m, &e), VT_OK);
    assert_int_equal(vt_cose_sign1_verify(&m, k256, NULL, 0, "platform_signature", &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "ES384 signature needs a P-384 key, the key given is P-256"));
    vt_cose_sign_opts o = {.alg = VT_COSE_ALG_ES256};
    vt_buf t2 = {0};
    assert_int_equal(vt_cose_sign1_sign(k384, &o, (const uint8_t *)"x", 1, &t2, &e), VT_E_ARG);
    m.signature.len = 95;
    assert_int_equal(vt_cose_sign1_verify(&m, k384, NULL, 0, "s", &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "95 bytes, expected 96"));
    m.alg = -8; /* EdDSA */
    assert_int_equal(vt_cose_sign1_verify(&m, k384, NULL, 0, "s", &e), VT_E_UNSUPPORTED);
    EVP_PKEY_free(k384);
    EVP_PKEY_free(k256);
    vt_buf_free(&tok);
}

/* Assemble a COSE_Sign1 with chosen header bytes; the signature is 96 zero bytes. */
static vt_buf build(bool tag, const uint8_t *prot, size_t pl, const uint8_t *unprot, size_t ul)
{
    vt_cbor_writer w;
    vt_buf b = {0};
    vt_error e;
    uint8_t sig[96] = {0};
    vt_cbor_writer_init(&w);
    if (tag) vt_cbor_put_tag(&w, 18);
    vt_cbor_put_array(&w, 4);
    vt_cbor_put_bstr(&w, prot, pl);
    vt_cbor_put_raw(&w, unprot, ul);
    vt_cbor_put_bstr(&w, "p", 1);
    vt_cbor_put_bstr(&w, sig, sizeof sig);
    assert_int_equal(vt_cbor_writer_finish(&w, &b, &e), VT_OK);
    return b;
}

static int parse_hdr(const uint8_t *prot, size_t pl, const uint8_t *unprot, size_t ul,
                     const vt_cose_parse_opts *o, vt_error *e)
{
    vt_buf b = build(true, prot, pl, unprot, ul);
    vt_cose_sign1 m;
    vt_error_clear(e);
    int rc = vt_cose_sign1_parse(b.ptr, b.len, o, &m, e);
    vt_buf_free(&b);
    return rc;
}

static void test_headers(void **state)
{
    (void)state;
    vt_error e;
    const uint8_t empty[] = {0xa0};
    const uint8_t alg[] = {0xa1, 0x01, 0x38, 0x22};
    assert_int_equal(parse_hdr(alg, sizeof alg, empty, 1, NULL, &e), VT_OK);
    /* no alg at all, alg only unprotected */
    assert_int_equal(parse_hdr(NULL, 0, empty, 1, NULL, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "no algorithm"));
    assert_int_equal(parse_hdr(NULL, 0, alg, sizeof alg, NULL, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "alg must be in the protected header"));
    /* text alg */
    const uint8_t talg[] = {0xa1, 0x01, 0x65, 'E', 'S', '3', '8', '4'};
    assert_int_equal(parse_hdr(talg, sizeof talg, empty, 1, NULL, &e), VT_E_UNSUPPORTED);
    /* a label in both buckets */
    const uint8_t kidp[] = {0xa2, 0x01, 0x38, 0x22, 0x04, 0x41, 0x01};
    const uint8_t kidu[] = {0xa1, 0x04, 0x41, 0x02};
    assert_int_equal(parse_hdr(kidp, sizeof kidp, kidu, sizeof kidu, NULL, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "both the protected and the unprotected"));
    /* crit naming an understood label: fine; an unknown one: unsupported */
    const uint8_t crit_ok[] = {0xa2, 0x01, 0x38, 0x22, 0x02, 0x81, 0x01};
    assert_int_equal(parse_hdr(crit_ok, sizeof crit_ok, empty, 1, NULL, &e), VT_OK);
    const uint8_t crit_unk[] = {0xa3, 0x01, 0x38, 0x22, 0x02, 0x81, 0x19, 0x01, 0x00, 0x19, 0x01,
                                0x00, 0x00};
    assert_int_equal(parse_hdr(crit_unk, sizeof crit_unk, empty, 1, NULL, &e), VT_E_UNSUPPORTED);
    assert_non_null(strstr(e.msg, "critical header parameter 256 is not understood"));
    const int64_t understood[] = {256};
    vt_cose_parse_opts po = {.crit_understood = understood, .n_crit_understood = 1};
    assert_int_equal(parse_hdr(crit_unk, sizeof crit_unk, empty, 1, &po, &e), VT_OK);
    const uint8_t crit_txt[] = {0xa3, 0x01, 0x38, 0x22, 0x02, 0x81, 0x61, 'z', 0x61, 'z', 0x00};
    assert_int_equal(parse_hdr(crit_txt, sizeof crit_txt, empty, 1, NULL, &e), VT_E_UNSUPPORTED);
    /* crit naming an absent label, empty crit, crit unprotected */
    const uint8_t crit_absent[] = {0xa2, 0x01, 0x38, 0x22, 0x02, 0x81, 0x04};
    assert_int_equal(parse_hdr(crit_absent, sizeof crit_absent, empty, 1, NULL, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "not in the protected header"));
    const uint8_t crit_empty[] = {0xa2, 0x01, 0x38, 0x22, 0x02, 0x80};
    assert_int_equal(parse_hdr(crit_empty, sizeof crit_empty, empty, 1, NULL, &e), VT_E_INVALID);
    const uint8_t crit_u[] = {0xa1, 0x02, 0x81, 0x01};
    assert_int_equal(parse_hdr(alg, sizeof alg, crit_u, sizeof crit_u, NULL, &e), VT_E_INVALID);
    /* duplicate label inside the protected map; kid of the wrong type */
    const uint8_t dup[] = {0xa2, 0x01, 0x38, 0x22, 0x01, 0x26};
    assert_int_equal(parse_hdr(dup, sizeof dup, empty, 1, NULL, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "duplicate map key 1"));
    const uint8_t kid_int[] = {0xa1, 0x04, 0x01};
    assert_int_equal(parse_hdr(alg, sizeof alg, kid_int, sizeof kid_int, NULL, &e), VT_E_INVALID);
    /* unprotected not a map */
    const uint8_t arr[] = {0x80};
    assert_int_equal(parse_hdr(alg, sizeof alg, arr, 1, NULL, &e), VT_E_INVALID);
}

static void test_framing(void **state)
{
    (void)state;
    vt_error e;
    vt_cose_sign1 m;
    const uint8_t alg[] = {0xa1, 0x01, 0x38, 0x22};
    const uint8_t empty[] = {0xa0};
    vt_buf b = build(false, alg, sizeof alg, empty, 1);
    assert_int_equal(vt_cose_sign1_parse(b.ptr, b.len, NULL, &m, &e), VT_OK);
    assert_false(m.tagged);
    vt_cose_parse_opts req = {.require_tag = true};
    assert_int_equal(vt_cose_sign1_parse(b.ptr, b.len, &req, &m, &e), VT_E_INVALID);
    vt_buf_free(&b);
    b = build(true, alg, sizeof alg, empty, 1);
    b.ptr[0] = 0xd1; /* tag 17 (COSE_Mac0) */
    assert_int_equal(vt_cose_sign1_parse(b.ptr, b.len, NULL, &m, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "CBOR tag 17"));
    b.ptr[0] = 0xd2;
    b.ptr[1] = 0x83; /* three-element array */
    assert_int_equal(vt_cose_sign1_parse(b.ptr, b.len, NULL, &m, &e), VT_E_INVALID);
    b.ptr[1] = 0x84;
    for (size_t n = 0; n < b.len; n++) /* every truncation */
        assert_int_equal(vt_cose_sign1_parse(b.ptr, n, NULL, &m, &e), VT_E_INVALID);
    vt_buf_free(&b);
    /* detached payload (nil) */
    const uint8_t det[] = {0xd2, 0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0, 0xf6, 0x40};
    assert_int_equal(vt_cose_sign1_parse(det, sizeof det, NULL, &m, &e), VT_OK);
    assert_true(m.detached);
}

static void test_cose_key(void **state)
{
    (void)state;
    EVP_PKEY *k = gen("P-384"), *back = NULL;
    vt_buf enc = {0};
    vt_error e;
    vt_cose_key ck;
    assert_int_equal(vt_cose_key_encode(k, &enc, &e), VT_OK);
    assert_int_equal(enc.len, 107); /* the size CCA realm tokens carry */
    assert_memory_equal(enc.ptr, "\xa4\x01\x02\x20\x02\x21\x58\x30", 8);
    assert_int_equal(vt_cose_key_decode(enc.ptr, enc.len, &ck, &e), VT_OK);
    assert_int_equal(ck.curve, VT_P384);
    assert_int_equal(vt_cose_key_to_pkey(&ck, &back, &e), VT_OK);
    assert_int_equal(EVP_PKEY_eq(k, back), 1);
    EVP_PKEY_free(back);
    back = NULL;
    /* a point off the curve */
    enc.ptr[enc.len - 1] ^= 1;
    assert_int_equal(vt_cose_key_decode(enc.ptr, enc.len, &ck, &e), VT_OK);
    assert_int_not_equal(vt_cose_key_to_pkey(&ck, &back, &e), VT_OK);
    assert_null(back);
    /* wrong sizes, types, private keys, unknown labels */
    const uint8_t okp[] = {0xa1, 0x01, 0x01};
    assert_int_equal(vt_cose_key_decode(okp, sizeof okp, &ck, &e), VT_E_UNSUPPORTED);
    const uint8_t partial[] = {0xa2, 0x01, 0x02, 0x20, 0x02};
    assert_int_equal(vt_cose_key_decode(partial, sizeof partial, &ck, &e), VT_E_INVALID);
    const uint8_t priv[] = {0xa1, 0x23, 0x41, 0x00};
    assert_int_equal(vt_cose_key_decode(priv, sizeof priv, &ck, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "private key"));
    const uint8_t unk[] = {0xa1, 0x18, 0x63, 0x00};
    assert_int_equal(vt_cose_key_decode(unk, sizeof unk, &ck, &e), VT_E_UNSUPPORTED);
    const uint8_t short_x[] = {0xa4, 0x01, 0x02, 0x20, 0x02, 0x21, 0x41, 0x00, 0x22, 0x41, 0x00};
    assert_int_equal(vt_cose_key_decode(short_x, sizeof short_x, &ck, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "the curve needs 48"));
    vt_buf_free(&enc);
    EVP_PKEY_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sig_structure_bytes), cmocka_unit_test(test_roundtrip_es256),
        cmocka_unit_test(test_roundtrip_es384),     cmocka_unit_test(test_roundtrip_es512),
        cmocka_unit_test(test_alg_key_mismatch),    cmocka_unit_test(test_headers),
        cmocka_unit_test(test_framing),             cmocka_unit_test(test_cose_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
