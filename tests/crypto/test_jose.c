/* JCS (RFC 8785) and JWE against the known answers of kbs-protocol.md sections 7.1 and 14,
 * round trips for every key kind, and tampering. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/codec.h"
#include "veritee/crypto.h"
#include "veritee/jcs.h"
#include "veritee/jose.h"
#include "veritee/pki.h"

static char *jcs_of(const char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    vt_buf b = {0};
    vt_error e;
    assert_int_equal(vt_jcs(v, &b, &e), VT_OK);
    json_decref(v);
    return (char *)b.ptr;
}

static void test_jcs(void **state)
{
    (void)state;
    char *s = jcs_of("{\"b\":1,\"a\":\"test\",\"c\":{\"d\":\"e\"}}");
    assert_string_equal(s, "{\"a\":\"test\",\"b\":1,\"c\":{\"d\":\"e\"}}");
    uint8_t h[48];
    assert_int_equal(vt_hash(VT_SHA384, s, strlen(s), h, NULL), VT_OK);
    char hex[97];
    vt_hex_encode(h, 48, hex);
    assert_string_equal(hex, "e71ce8e70d814ba6639c3612ebee0ff1f76f650f8dbb5e47157e0f3f525cd22c4597480a186427c813ca941da78870c3");
    free(s);
    /* RFC 8785 section 3.2.2: numbers and string escapes */
    s = jcs_of("[1E30, 4.50, 2e-3, 0.000001, 1e-7, -0, 333333333.33333329, 1e21, 1e20, 0.1]");
    assert_string_equal(s, "[1e+30,4.5,0.002,0.000001,1e-7,0,333333333.3333333,1e+21,100000000000000000000,0.1]");
    free(s);
    s = jcs_of("\"\\u20ac$\\u000F\\u000aA'B\\\"\\\\\\\\\\\"/\"");
    assert_string_equal(s, "\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"");
    free(s);
    /* keys sort by UTF-16 code units: U+1F600 (surrogates D83D..) sorts before U+FB33 */
    s = jcs_of("{\"\\ufb33\":1,\"\\ud83d\\ude00\":2,\"\\r\":3,\"1\":4,\"\\u00f6\":5}");
    assert_string_equal(s, "{\"\\r\":3,\"1\":4,\"\xc3\xb6\":5,\"\xf0\x9f\x98\x80\":2,\"\xef\xac\xb3\":1}");
    free(s);
}

/* The JCS string of s written one character at a time, as RFC 8785 section 3.2.2.2 reads:
 * the reference the run-writing serialiser must match; NULL for invalid UTF-8. */
static char *jcs_string_ref(const unsigned char *s, size_t n)
{
    char *o = malloc(6 * n + 3), *p = o;
    *p++ = '"';
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t l = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (l == 0 || i + l > n) {
            free(o);
            return NULL;
        }
        unsigned cp = l == 1 ? c : c & (0x7f >> l);
        for (size_t k = 1; k < l; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                free(o);
                return NULL;
            }
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        unsigned min = l == 1 ? 0 : l == 2 ? 0x80 : l == 3 ? 0x800 : 0x10000;
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            free(o);
            return NULL;
        }
        const char *e = cp == '"' ? "\\\"" : cp == '\\' ? "\\\\" : cp == '\b' ? "\\b" : cp == '\f' ? "\\f"
                        : cp == '\n' ? "\\n" : cp == '\r' ? "\\r" : cp == '\t' ? "\\t" : NULL;
        if (e != NULL) p += sprintf(p, "%s", e);
        else if (cp < 0x20) p += sprintf(p, "\\u%04x", cp);
        else memcpy(p, s + i, l), p += l;
        i += l;
    }
    *p++ = '"';
    *p = 0;
    return o;
}

/* Strings are written in runs and ASCII keys sorted by strcmp: the output must be the
 * character-by-character one for every ASCII byte at the start, middle and end of a run,
 * escapes back to back, multi-byte characters inside runs, and invalid UTF-8 still refused;
 * keys mixing ASCII and other characters keep the UTF-16 order. */
static void test_jcs_strings(void **state)
{
    (void)state;
    static const char *samples[] = {"", "plain", "a\"b", "\\\\", "\"\"\"", "x\n\r\t\b\fy", "\x01\x1f\x7f",
                                    "caf\xc3\xa9 \xe2\x82\xac\xf0\x9f\x98\x80!", "\xe2\x82\xac\"\xc3\xa9",
                                    "bad \xc3", "bad \xc0\x80", "bad \xed\xa0\x80", "bad \xf4\x90\x80\x80", "\xff"};
    unsigned char buf[64];
    for (size_t k = 0; k < sizeof samples / sizeof *samples + 3 * 128; k++) {
        size_t n;
        if (k < sizeof samples / sizeof *samples) {
            n = strlen(samples[k]);
            memcpy(buf, samples[k], n);
        } else { /* every ASCII byte alone, then between plain characters, then ahead of one */
            size_t b = (k - sizeof samples / sizeof *samples) % 128, form = (k - sizeof samples / sizeof *samples) / 128;
            if (b == 0) continue; /* NUL: C strings in jansson end there */
            n = form == 0 ? 1 : form == 1 ? 3 : 2;
            memcpy(buf, form == 0 ? "?" : form == 1 ? "a?z" : "?z", n);
            buf[form == 1 ? 1 : 0] = (unsigned char)b;
        }
        json_t *v = json_stringn_nocheck((const char *)buf, n);
        vt_buf out = {0};
        vt_error e;
        char *ref = jcs_string_ref(buf, n);
        vt_err rc = vt_jcs(v, &out, &e);
        if (ref == NULL) {
            if (rc == VT_OK) fail_msg("sample %zu: invalid UTF-8 accepted", k);
        } else {
            if (rc != VT_OK) fail_msg("sample %zu: %s", k, e.msg);
            assert_int_equal(out.len, strlen(ref));
            assert_memory_equal(out.ptr, ref, out.len);
        }
        free(ref);
        vt_buf_free(&out);
        json_decref(v);
    }
    /* ASCII keys by byte, the others by UTF-16 units, mixed in one object */
    char *s = jcs_of("{\"b\":1,\"a\\u00e9\":2,\"ab\":3,\"\\u007f\":4,\"A\":5,\"a\":6,\"~\":7,\"\\ud83d\\ude00\":8}");
    assert_string_equal(s, "{\"A\":5,\"a\":6,\"ab\":3,\"a\xc3\xa9\":2,\"b\":1,\"~\":7,\"\x7f\":4,\"\xf0\x9f\x98\x80\":8}");
    free(s);
}

static const char *TEE_JWK = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ECDH-ES+A256KW\","
                             "\"x\":\"WYMOXNevQa3ZlT1uox9fL-EFPsmSLqGGx-lAAQC-5UQ\","
                             "\"y\":\"Wt4eJSsVG8OlJGN3kfsUOLSiBbrdaA8i3DHrr2RKOuU\","
                             "\"d\":\"CXPoVpNhQhDI7j6GuMs7lMaXKQw_o3OdQXGQt0WMhhg\"}";

static void test_kbs_binding_example(void **state)
{
    (void)state;
    /* kbs-protocol.md 7.1/14: the runtime data of the worked example hashes to its report data */
    json_t *jwk = json_loads(TEE_JWK, 0, NULL);
    json_object_del(jwk, "d");
    json_t *rd = json_pack("{s:s, s:s, s:O}", "additional-evidence", "", "nonce",
                           "MvONa2AUPbiMZk8gi80Kw6DL3TTZqWuY2hJat2qbQdc=", "tee-pubkey", jwk);
    vt_buf b = {0};
    vt_error e;
    assert_int_equal(vt_jcs(rd, &b, &e), VT_OK);
    uint8_t h[48];
    assert_int_equal(vt_hash(VT_SHA384, b.ptr, b.len, h, NULL), VT_OK);
    char hex[97];
    vt_hex_encode(h, 48, hex);
    assert_string_equal(hex, "4bd5a5b1c4de20ee9b67a636a6c57feb0130711d022142635ed236b2f981ed9105021a9730bdfa9af51c458a93d0434a");
    vt_buf_free(&b);
    json_decref(rd);
    json_decref(jwk);
}

static void test_jwe_known_answer(void **state)
{
    (void)state;
    vt_error e;
    json_t *rcpt = json_loads(TEE_JWK, 0, NULL);
    /* the ephemeral key of the example: public part from its protected header, d given */
    json_t *eph_jwk = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x",
                                "AURDQHVKfqonQAXLz01uRNsdWEEwKjIYfkava1WCBoc", "y",
                                "UgORJuEWlhOLSOM5ooTpX-7-zSS1pJo6qWWYKsKUzGU", "d",
                                "uhJ_bzffWWRUMGgSSSBBXw7LddIqz7qwN-sq4Lr2Yy4");
    EVP_PKEY *eph = NULL;
    assert_int_equal(vt_jwk_to_pkey(eph_jwk, true, &eph, &e), VT_OK);
    uint8_t cek[32], iv[12];
    assert_int_equal(vt_hex_decode_fixed("fd622d149fb7ef57ced02ad76866b35a448524ebbc6006cd9009ae4e67a0f570", cek, 32, NULL), VT_OK);
    assert_int_equal(vt_hex_decode_fixed("266554d7cd2ef3a71d2bddc6", iv, 12, NULL), VT_OK);
    json_t *jwe = NULL;
    const char *pt = "0123456789abcdef0123456789abcdef";
    assert_int_equal(vt_jwe_encrypt_with(rcpt, eph, cek, iv, (const uint8_t *)pt, 32, &jwe, &e), VT_OK);
    assert_string_equal(json_string_value(json_object_get(jwe, "protected")),
                        "eyJhbGciOiJFQ0RILUVTK0EyNTZLVyIsImVuYyI6IkEyNTZHQ00iLCJlcGsiOnsiY3J2IjoiUC0yNTYiLCJrdHkiOiJFQyIsIngiOiJBVVJEUUhWS2Zxb25RQVhMejAxdVJOc2RXRUV3S2pJWWZrYXZhMVdDQm9jIiwieSI6IlVnT1JKdUVXbGhPTFNPTTVvb1RwWC03LXpTUzFwSm82cVdXWUtzS1V6R1UifX0");
    assert_string_equal(json_string_value(json_object_get(jwe, "encrypted_key")),
                        "GdJXA7zvrG9UaggRNIl5d3HyNdFOUN2idb3B-G9IeXlFJFf-d4jmjQ");
    assert_string_equal(json_string_value(json_object_get(jwe, "iv")), "JmVU180u86cdK93G");
    assert_string_equal(json_string_value(json_object_get(jwe, "ciphertext")),
                        "eNX-LImNO2OKb5qwOqF2MFTYnerPPzdw3swLtb5bBoc");
    assert_string_equal(json_string_value(json_object_get(jwe, "tag")), "GG2APsCLva_tcEn9poBLew");
    /* and it decrypts with the TEE key */
    EVP_PKEY *priv = NULL;
    assert_int_equal(vt_jwk_to_pkey(rcpt, true, &priv, &e), VT_OK);
    vt_buf out = {0};
    assert_int_equal(vt_jwe_decrypt(jwe, priv, &out, &e), VT_OK);
    assert_int_equal(out.len, 32);
    assert_memory_equal(out.ptr, pt, 32);
    vt_buf_free_secret(&out);
    /* a flipped ciphertext or header fails authentication */
    json_t *bad = json_deep_copy(jwe);
    json_object_set_new(bad, "ciphertext", json_string("fNX-LImNO2OKb5qwOqF2MFTYnerPPzdw3swLtb5bBoc"));
    assert_int_equal(vt_jwe_decrypt(bad, priv, &out, &e), VT_E_VERIFY);
    json_decref(bad);
    bad = json_deep_copy(jwe);
    json_object_set_new(bad, "tag", json_string("GG2APsCLva_tcEn9poBLeA"));
    assert_int_equal(vt_jwe_decrypt(bad, priv, &out, &e), VT_E_VERIFY);
    json_decref(bad);
    EVP_PKEY_free(priv);
    EVP_PKEY_free(eph);
    json_decref(jwe);
    json_decref(eph_jwk);
    json_decref(rcpt);
}

static void roundtrip(const vt_jose_ctx *cx, EVP_PKEY *k, const char *alg)
{
    vt_error e;
    json_t *jwk = NULL;
    assert_int_equal(vt_jwk_from_pkey(k, alg, &jwk, &e), VT_OK);
    json_t *jwe = NULL;
    uint8_t secret[100];
    for (int i = 0; i < 100; i++) secret[i] = (uint8_t)(i * 7);
    assert_int_equal(vt_jwe_encrypt_cx(cx, jwk, secret, sizeof secret, &jwe, &e), VT_OK);
    vt_buf out = {0};
    vt_err rc = vt_jwe_decrypt(jwe, k, &out, &e);
    if (rc != VT_OK) fail_msg("%s: %s", alg, e.msg);
    assert_int_equal(out.len, sizeof secret);
    assert_memory_equal(out.ptr, secret, sizeof secret);
    vt_buf_free_secret(&out);
    /* through a decryptor (with the context's curves, ciphers and KDF when given), twice: the
     * second JWE's ephemeral key set on the first one's key object */
    vt_jwe_decryptor *d = NULL;
    assert_int_equal(vt_jwe_decryptor_new(cx, &d, &e), VT_OK);
    for (int i = 0; i < 2; i++) {
        json_t *again = NULL;
        if (i == 1) assert_int_equal(vt_jwe_encrypt_cx(cx, jwk, secret, sizeof secret, &again, &e), VT_OK);
        rc = vt_jwe_decryptor_decrypt(d, again ? again : jwe, k, &out, &e);
        if (rc != VT_OK) fail_msg("%s (decryptor, JWE %d): %s", alg, i, e.msg);
        assert_int_equal(out.len, sizeof secret);
        assert_memory_equal(out.ptr, secret, sizeof secret);
        vt_buf_free_secret(&out);
        json_decref(again);
    }
    /* another recipient's key cannot decrypt */
    EVP_PKEY *other = NULL;
    if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) assert_int_equal(vt_pki_rsa_key(2048, &other, &e), VT_OK);
    else {
        vt_curve c;
        assert_int_equal(vt_ec_curve_of(k, &c, NULL), VT_OK);
        assert_int_equal(vt_pki_ec_key(c, &other, &e), VT_OK);
    }
    assert_int_not_equal(vt_jwe_decrypt(jwe, other, &out, &e), VT_OK);
    assert_int_not_equal(vt_jwe_decryptor_decrypt(d, jwe, other, &out, &e), VT_OK);
    assert_null(out.ptr);
    vt_jwe_decryptor_free(d);
    json_decref(jwe);
    /* to a key made from the JWK beforehand: the same; the key given is the one used (the JWK
     * is not decoded again), so another's key given makes a JWE only the other can open */
    EVP_PKEY *pub = NULL;
    assert_int_equal(vt_jwk_to_pkey_cx(cx, jwk, false, &pub, &e), VT_OK);
    assert_int_equal(vt_jwe_encrypt_to(cx, jwk, pub, secret, sizeof secret, &jwe, &e), VT_OK);
    assert_int_equal(vt_jwe_decrypt(jwe, k, &out, &e), VT_OK);
    assert_memory_equal(out.ptr, secret, sizeof secret);
    vt_buf_free_secret(&out);
    json_decref(jwe);
    assert_int_equal(vt_jwe_encrypt_to(cx, jwk, other, secret, sizeof secret, &jwe, &e), VT_OK);
    assert_int_not_equal(vt_jwe_decrypt(jwe, k, &out, &e), VT_OK);
    assert_int_equal(vt_jwe_decrypt(jwe, other, &out, &e), VT_OK);
    vt_buf_free_secret(&out);
    json_decref(jwe);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(other);
    json_decref(jwk);
}

static void test_jwe_roundtrips(void **state)
{
    (void)state;
    vt_error e;
    EVP_PKEY *k = NULL;
    vt_curve curves[] = {VT_P256, VT_P384, VT_P521};
    vt_jose_ctx *cx = NULL;
    assert_int_equal(vt_jose_ctx_new(&cx, &e), VT_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(vt_pki_ec_key(curves[i], &k, &e), VT_OK);
        roundtrip(NULL, k, "ECDH-ES+A256KW");
        roundtrip(cx, k, "ECDH-ES+A256KW"); /* the prepared curves, ciphers and KDF */
        EVP_PKEY_free(k);
    }
    assert_int_equal(vt_pki_rsa_key(2048, &k, &e), VT_OK);
    roundtrip(NULL, k, "RSA-OAEP-256");
    roundtrip(cx, k, "RSA-OAEP-256");
    EVP_PKEY_free(k);
    vt_jose_ctx_free(cx);
}

/* vt_hash2 is the digest of the concatenation, for short inputs (copied, one-shot) and long
 * ones (EVP), every algorithm, and with the output aliasing the first input (RTMR replay). */
static void test_hash2(void **state)
{
    (void)state;
    uint8_t data[1200];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 31 + 7);
    const size_t splits[][2] = {{0, 0}, {0, 5}, {64, 32}, {48, 48}, {300, 212}, {300, 213}, {512, 0}, {600, 600}, {5, 1000}};
    const vt_hash_alg algs[] = {VT_SHA256, VT_SHA384, VT_SHA512};
    for (size_t a = 0; a < 3; a++)
        for (size_t i = 0; i < sizeof splits / sizeof splits[0]; i++) {
            size_t an = splits[i][0], bn = splits[i][1];
            uint8_t want[64], got[64];
            assert_int_equal(vt_hash(algs[a], data, an + bn, want, NULL), VT_OK);
            assert_int_equal(vt_hash2(algs[a], data, an, data + an, bn, got, NULL), VT_OK);
            assert_memory_equal(got, want, vt_hash_len(algs[a]));
        }
    /* out == a: m = H(m || e), as the RTMR and PCR replays call it */
    uint8_t m[48], cat[96], want[48];
    memcpy(m, data, 48);
    memcpy(cat, data, 48);
    memcpy(cat + 48, data + 100, 48);
    assert_int_equal(vt_hash(VT_SHA384, cat, 96, want, NULL), VT_OK);
    assert_int_equal(vt_hash2(VT_SHA384, m, 48, data + 100, 48, m, NULL), VT_OK);
    assert_memory_equal(m, want, 48);
}

/* Prepared EC parameters import the same keys as the per-call path and refuse the same points:
 * off the curve, a coordinate equal to the field prime, wrong lengths; generated keys are on
 * the asked curve. */
static void check_ec_params(const vt_ec_params *p)
{
    vt_error e;
    static const char *const prime_hex[] = {
        "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
        "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    };
    vt_curve curves[] = {VT_P256, VT_P384, VT_P521};
    for (int i = 0; i < 3; i++) {
        vt_curve c = curves[i], got;
        EVP_PKEY *g = NULL, *a = NULL, *b = NULL;
        assert_int_equal(vt_ec_generate(p, c, &g, &e), VT_OK);
        assert_int_equal(vt_ec_curve_of(g, &got, &e), VT_OK);
        assert_int_equal(got, c);
        uint8_t xy[132];
        size_t n = 0;
        assert_int_equal(vt_ec_pub_xy(g, xy, sizeof xy, &n, &e), VT_OK);
        assert_int_equal(n, 2 * vt_curve_len(c));
        assert_int_equal(vt_ec_pub_from_xy(c, xy, n, &a, &e), VT_OK);
        assert_int_equal(vt_ec_pub_from_xy_with(p, c, xy, n, &b, &e), VT_OK);
        assert_int_equal(EVP_PKEY_eq(a, b), 1);
        assert_int_equal(vt_ec_curve_of(b, &got, &e), VT_OK);
        assert_int_equal(got, c);
        EVP_PKEY_free(a);
        EVP_PKEY_free(b);
        /* one bit of y flipped: off the curve */
        uint8_t bad[132];
        memcpy(bad, xy, n);
        bad[n - 1] ^= 1;
        b = NULL;
        assert_int_equal(vt_ec_pub_from_xy_with(p, c, bad, n, &b, &e), VT_E_INVALID);
        assert_null(b);
        assert_int_equal(vt_ec_pub_from_xy(c, bad, n, &b, &e), VT_E_INVALID);
        /* x = the field prime (reduces to a valid x mod p would be a different point) */
        vt_buf pr = {0};
        assert_int_equal(vt_hex_decode(prime_hex[i], strlen(prime_hex[i]), &pr, &e), VT_OK);
        assert_int_equal(pr.len, n / 2);
        memcpy(bad, pr.ptr, pr.len);
        memcpy(bad + n / 2, xy + n / 2, n / 2);
        vt_buf_free(&pr);
        assert_int_equal(vt_ec_pub_from_xy_with(p, c, bad, n, &b, &e), VT_E_INVALID);
        assert_null(b);
        /* wrong length */
        assert_int_equal(vt_ec_pub_from_xy_with(p, c, xy, n - 1, &b, &e), VT_E_INVALID);
        EVP_PKEY_free(g);
    }
}

/* ... all three curves prepared, or one (the TDX verifier's P-256): the others then take the
 * per-call path with the same results. */
static void test_ec_params(void **state)
{
    (void)state;
    vt_error e;
    vt_ec_params *p = NULL;
    assert_int_equal(vt_ec_params_new(&p, &e), VT_OK);
    check_ec_params(p);
    vt_ec_params_free(p);
    vt_curve curves[] = {VT_P256, VT_P384, VT_P521};
    for (int i = 0; i < 3; i++) {
        p = NULL;
        assert_int_equal(vt_ec_params_new_curve(curves[i], &p, &e), VT_OK);
        check_ec_params(p);
        vt_ec_params_free(p);
    }
    p = NULL;
    assert_int_equal(vt_ec_params_new_curve((vt_curve)0, &p, &e), VT_E_ARG);
    assert_null(p);
}

/* A prepared signer signs again and again with one OpenSSL context: every signature verifies,
 * on every curve, and differs from the last (a fresh nonce each time); it refuses what
 * vt_ecdsa_sign_raw refuses (a small buffer, a public key, a non-EC key). */
static void test_ecdsa_signer(void **state)
{
    (void)state;
    vt_error e;
    vt_curve curves[] = {VT_P256, VT_P384, VT_P521};
    vt_hash_alg algs[] = {VT_SHA256, VT_SHA384, VT_SHA512};
    for (int i = 0; i < 3; i++) {
        EVP_PKEY *k = NULL;
        assert_int_equal(vt_pki_ec_key(curves[i], &k, &e), VT_OK);
        vt_ecdsa_signer *s = NULL;
        assert_int_equal(vt_ecdsa_signer_new(k, &s, &e), VT_OK);
        uint8_t sig[132], last[132];
        size_t n = 0, fl = vt_curve_len(curves[i]);
        for (int j = 0; j < 4; j++) {
            char msg[32];
            snprintf(msg, sizeof msg, "message %d", j % 2);
            vt_err rc = vt_ecdsa_signer_sign(s, algs[(i + j) % 3], msg, strlen(msg), sig, sizeof sig, &n, &e);
            if (rc != VT_OK) fail_msg("curve %d, signature %d: %s", i, j, e.msg);
            assert_int_equal(n, 2 * fl);
            assert_int_equal(vt_ecdsa_verify_raw(k, algs[(i + j) % 3], msg, strlen(msg), sig, n, "signer", &e), VT_OK);
            assert_int_equal(vt_ecdsa_verify_raw(k, algs[(i + j) % 3], "other", 5, sig, n, "signer", &e), VT_E_VERIFY);
            if (j > 0) assert_memory_not_equal(sig, last, n);
            memcpy(last, sig, n);
        }
        assert_int_equal(vt_ecdsa_signer_sign(s, VT_SHA256, "m", 1, sig, 2 * fl - 1, &n, &e), VT_E_ARG);
        vt_ecdsa_signer_free(s);
        /* the public half alone cannot sign */
        json_t *jwk = NULL;
        EVP_PKEY *pub = NULL;
        assert_int_equal(vt_jwk_from_pkey(k, NULL, &jwk, &e), VT_OK);
        assert_int_equal(vt_jwk_to_pkey(jwk, false, &pub, &e), VT_OK);
        vt_err rc = vt_ecdsa_signer_new(pub, &s, &e);
        if (rc == VT_OK) {
            assert_int_equal(vt_ecdsa_signer_sign(s, VT_SHA256, "m", 1, sig, sizeof sig, &n, &e), VT_E_INTERNAL);
            vt_ecdsa_signer_free(s);
        } else {
            assert_int_equal(rc, VT_E_INTERNAL);
            assert_null(s);
        }
        json_decref(jwk);
        EVP_PKEY_free(pub);
        EVP_PKEY_free(k);
    }
    EVP_PKEY *rsa = NULL;
    vt_ecdsa_signer *s = NULL;
    assert_int_equal(vt_pki_rsa_key(2048, &rsa, &e), VT_OK);
    assert_int_equal(vt_ecdsa_signer_new(rsa, &s, &e), VT_E_UNSUPPORTED);
    assert_null(s);
    EVP_PKEY_free(rsa);
}

/* A JWE whose protected header carries epk (the rest from a real JWE for k), decrypted by
 * vt_jwe_decrypt and by `warm`, a decryptor that opened `good` before (so an EC point on its
 * curve is set on the key object it kept): both refuse alike, with the same code, and the
 * decryptor still opens `good` afterwards (a refused point is never used again). */
static vt_err decrypt_with_epk(EVP_PKEY *k, const json_t *good, json_t *epk, vt_jwe_decryptor *warm, vt_error *e)
{
    json_t *hdr = json_pack("{s:s, s:s, s:o}", "alg", "ECDH-ES+A256KW", "enc", "A256GCM", "epk", epk);
    char *text = json_dumps(hdr, JSON_COMPACT);
    char *prot = vt_b64_encode((const uint8_t *)text, strlen(text), true);
    json_t *jwe = json_deep_copy(good);
    json_object_set_new(jwe, "protected", json_string(prot));
    vt_buf out = {0};
    vt_err rc_d = vt_jwe_decryptor_decrypt(warm, jwe, k, &out, e);
    assert_null(out.ptr);
    vt_err rc = vt_jwe_decrypt(jwe, k, &out, e);
    assert_null(out.ptr);
    assert_int_equal(rc_d, rc);
    vt_error e2;
    assert_int_equal(vt_jwe_decryptor_decrypt(warm, good, k, &out, &e2), VT_OK);
    vt_buf_free_secret(&out);
    json_decref(jwe);
    free(prot);
    free(text);
    json_decref(hdr);
    return rc;
}

/* The sender's ephemeral key is checked whichever way it is built (on the recipient key's curve
 * from its parameters, otherwise as any JWK): off the curve, another curve, short coordinates,
 * another key type: refused before any decryption. */
static void test_jwe_hostile_epk(void **state)
{
    (void)state;
    vt_error e;
    EVP_PKEY *k = NULL, *k384 = NULL;
    assert_int_equal(vt_pki_ec_key(VT_P256, &k, &e), VT_OK);
    assert_int_equal(vt_pki_ec_key(VT_P384, &k384, &e), VT_OK);
    json_t *jwk = NULL, *jwk384 = NULL, *jwe = NULL;
    assert_int_equal(vt_jwk_from_pkey(k, "ECDH-ES+A256KW", &jwk, &e), VT_OK);
    assert_int_equal(vt_jwk_from_pkey(k384, NULL, &jwk384, &e), VT_OK);
    assert_int_equal(vt_jwe_encrypt(jwk, (const uint8_t *)"s", 1, &jwe, &e), VT_OK);
    const char *x = json_string_value(json_object_get(jwk, "x")), *y = json_string_value(json_object_get(jwk, "y"));
    vt_jose_ctx *cx = NULL;
    vt_jwe_decryptor *warm = NULL;
    assert_int_equal(vt_jose_ctx_new(&cx, &e), VT_OK);
    assert_int_equal(vt_jwe_decryptor_new(cx, &warm, &e), VT_OK);
    vt_buf first = {0};
    assert_int_equal(vt_jwe_decryptor_decrypt(warm, jwe, k, &first, &e), VT_OK);
    vt_buf_free_secret(&first);
    /* the recipient's own point: on the curve, so only authentication fails (header changed) */
    assert_int_equal(decrypt_with_epk(k, jwe, json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", x,
                                                        "y", y), warm, &e), VT_E_VERIFY);
    /* y of another point: off the curve (set on the decryptor's key object, then dropped) */
    assert_int_equal(decrypt_with_epk(k, jwe, json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", x,
                                                        "y", x), warm, &e), VT_E_INVALID);
    /* a P-384 point for a P-256 key */
    json_t *other = json_deep_copy(jwk384);
    assert_int_not_equal(decrypt_with_epk(k, jwe, other, warm, &e), VT_OK);
    /* a P-384 point labelled P-256: wrong coordinate length */
    assert_int_equal(decrypt_with_epk(k, jwe, json_pack("{s:s, s:s, s:O, s:O}", "kty", "EC", "crv", "P-256", "x",
                                                        json_object_get(jwk384, "x"), "y",
                                                        json_object_get(jwk384, "y")), warm, &e), VT_E_INVALID);
    /* a short x, not base64url, another key type, no y */
    assert_int_equal(decrypt_with_epk(k, jwe, json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x",
                                                        "AAAA", "y", y), warm, &e), VT_E_INVALID);
    assert_int_not_equal(decrypt_with_epk(k, jwe, json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x",
                                                            "!!!!", "y", y), warm, &e), VT_OK);
    assert_int_not_equal(decrypt_with_epk(k, jwe, json_pack("{s:s, s:s, s:s, s:s}", "kty", "RSA", "crv", "P-256", "x",
                                                            x, "y", y), warm, &e), VT_OK);
    assert_int_not_equal(decrypt_with_epk(k, jwe, json_pack("{s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", x), warm, &e),
                         VT_OK);
    /* and the untouched JWE still decrypts */
    vt_buf out = {0};
    assert_int_equal(vt_jwe_decrypt(jwe, k, &out, &e), VT_OK);
    assert_int_equal(out.len, 1);
    vt_buf_free_secret(&out);
    vt_jwe_decryptor_free(warm);
    vt_jose_ctx_free(cx);
    json_decref(jwe);
    json_decref(jwk);
    json_decref(jwk384);
    EVP_PKEY_free(k);
    EVP_PKEY_free(k384);
}

static void test_jwk_hostile(void **state)
{
    (void)state;
    static const char *bad[] = {
        "[]", "{}", "{\"kty\":\"oct\",\"k\":\"AAAA\"}", "{\"kty\":\"EC\",\"crv\":\"P-192\",\"x\":\"AA\",\"y\":\"AA\"}",
        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}",
        /* right lengths, not on the curve */
        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}",
        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":1,\"y\":2}", "{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}",
        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"RSA1_5\",\"x\":\"WYMOXNevQa3ZlT1uox9fL-EFPsmSLqGGx-lAAQC-5UQ\",\"y\":\"Wt4eJSsVG8OlJGN3kfsUOLSiBbrdaA8i3DHrr2RKOuU\"}",
    };
    vt_jose_ctx *cx = NULL;
    assert_int_equal(vt_jose_ctx_new(&cx, NULL), VT_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = json_loads(bad[i], JSON_DECODE_ANY, NULL);
        json_t *jwe = NULL;
        vt_error e;
        vt_err rc = vt_jwe_encrypt(j, (const uint8_t *)"x", 1, &jwe, &e);
        if (rc == VT_OK) fail_msg("hostile JWK %zu accepted", i);
        if (vt_jwe_encrypt_cx(cx, j, (const uint8_t *)"x", 1, &jwe, &e) == VT_OK) fail_msg("hostile JWK %zu accepted (ctx)", i);
        json_decref(j);
    }
    vt_jose_ctx_free(cx);
}

/* The JWK of a fresh RSA key with its modulus or exponent replaced (base64url members). */
static json_t *rsa_jwk_with(unsigned bits, const char *e_b64, size_t pad_to)
{
    vt_error e;
    EVP_PKEY *k = NULL;
    json_t *j = NULL;
    assert_int_equal(vt_pki_rsa_key(bits, &k, &e), VT_OK);
    assert_int_equal(vt_jwk_from_pkey(k, NULL, &j, &e), VT_OK);
    EVP_PKEY_free(k);
    if (e_b64) json_object_set_new(j, "e", json_string(e_b64));
    if (pad_to) { /* zero bytes in front of the modulus: same number, more bytes */
        vt_buf n = {0};
        const char *ns = json_string_value(json_object_get(j, "n"));
        assert_int_equal(vt_b64_decode(ns, strlen(ns), &n, &e), VT_OK);
        assert_true(n.len < pad_to);
        uint8_t *p = calloc(1, pad_to);
        memcpy(p + pad_to - n.len, n.ptr, n.len);
        char *b = vt_b64_encode(p, pad_to, true);
        json_object_set_new(j, "n", json_string(b));
        free(b);
        free(p);
        vt_buf_free(&n);
    }
    return j;
}

/* Weak TEE keys for the JWE (issue 13 item 4): e = 1 would make the ciphertext the padded
 * secret, e = 2 and e = 3 are refused too, and a 1024-bit modulus zero-padded to 256 bytes is
 * counted in bits, not bytes. A sound 2048-bit key with e = 65537 still works. */
static void test_jwk_weak_rsa(void **state)
{
    (void)state;
    struct { unsigned bits; const char *e; size_t pad; const char *why; } bad[] = {
        {2048, "AQ", 0, "e = 1"},
        {2048, "Ag", 0, "e = 2"},
        {2048, "Aw", 0, "e = 3"},
        {2048, "AQAA", 0, "e = 65536"},
        {2048, "AQAD", 0, "e = 65539"},
        {1024, NULL, 256, "1024-bit modulus padded to 256 bytes"},
        {1024, NULL, 0, "1024-bit modulus"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = rsa_jwk_with(bad[i].bits, bad[i].e, bad[i].pad);
        EVP_PKEY *k = NULL;
        json_t *jwe = NULL;
        vt_error e = {0};
        if (vt_jwk_to_pkey(j, false, &k, &e) == VT_OK) fail_msg("%s accepted", bad[i].why);
        assert_null(k);
        if (vt_jwe_encrypt(j, (const uint8_t *)"secret", 6, &jwe, &e) == VT_OK) fail_msg("JWE to %s", bad[i].why);
        json_decref(j);
    }
    json_t *j = rsa_jwk_with(2048, NULL, 0);
    EVP_PKEY *k = NULL;
    vt_error e = {0};
    assert_int_equal(vt_jwk_to_pkey(j, false, &k, &e), VT_OK);
    assert_int_equal(EVP_PKEY_get_bits(k), 2048);
    EVP_PKEY_free(k);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jcs), cmocka_unit_test(test_jcs_strings), cmocka_unit_test(test_kbs_binding_example),
        cmocka_unit_test(test_jwe_known_answer), cmocka_unit_test(test_jwe_roundtrips),
        cmocka_unit_test(test_jwk_hostile), cmocka_unit_test(test_ec_params), cmocka_unit_test(test_ecdsa_signer), cmocka_unit_test(test_hash2), cmocka_unit_test(test_jwk_weak_rsa),
        cmocka_unit_test(test_jwe_hostile_epk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
