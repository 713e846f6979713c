/* CBOR reader and encoder (RFC 8949): well-formedness, validity limits, duplicate keys. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/cbor.h"

static vt_err validate(const uint8_t *p, size_t n, const vt_cbor_opts *o, vt_error *e)
{
    vt_error_clear(e);
    return vt_cbor_validate(p, n, o, "test", e);
}

#define VALID(...)                                                                             \
    do {                                                                                       \
        const uint8_t b_[] = {__VA_ARGS__};                                                    \
        vt_error e_;                                                                           \
        assert_int_equal(validate(b_, sizeof b_, NULL, &e_), VT_OK);                           \
    } while (0)
#define INVALID(want_, ...)                                                                      \
    do {                                                                                       \
        const uint8_t b_[] = {__VA_ARGS__};                                                    \
        vt_error e_;                                                                           \
        assert_int_equal(validate(b_, sizeof b_, NULL, &e_), VT_E_INVALID);                    \
        if (strstr(e_.msg, want_) == NULL) fail_msg("'%s' lacks '%s'", e_.msg, want_);             \
    } while (0)

/* RFC 8949 Appendix A examples. */
static void test_rfc_examples(void **state)
{
    (void)state;
    VALID(0x00);
    VALID(0x17);
    VALID(0x18, 0x18);
    VALID(0x19, 0x03, 0xe8);
    VALID(0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    VALID(0x38, 0x63);
    VALID(0xf9, 0x3c, 0x00);                               /* 1.0 half */
    VALID(0xfb, 0x3f, 0xf1, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a); /* 1.1 */
    VALID(0xf4);
    VALID(0xf6);
    VALID(0xf8, 0xff);                                     /* simple(255) */
    VALID(0xc1, 0x1a, 0x51, 0x4b, 0x67, 0xb0);             /* tag 1 */
    VALID(0x44, 0x01, 0x02, 0x03, 0x04);
    VALID(0x62, 0xc3, 0xbc);                               /* "ü" */
    VALID(0x83, 0x01, 0x82, 0x02, 0x03, 0x82, 0x04, 0x05);
    VALID(0xa2, 0x61, 'a', 0x01, 0x61, 'b', 0x82, 0x02, 0x03);
    vt_cbor c;
    vt_error e;
    int64_t v;
    const uint8_t neg[] = {0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    vt_cbor_init(&c, neg, sizeof neg, NULL, "t", &e);
    assert_int_equal(vt_cbor_read_int(&c, "n", &v), VT_OK);
    assert_true(v == INT64_MIN);
    const uint8_t toobig[] = {0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0};
    vt_cbor_init(&c, toobig, sizeof toobig, NULL, "t", &e);
    assert_int_equal(vt_cbor_read_int(&c, "n", &v), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "64-bit signed range"));
}

static void test_not_well_formed(void **state)
{
    (void)state;
    INVALID("reserved additional information 28", 0x1c);
    INVALID("reserved additional information 30", 0x5e);
    INVALID("indefinite length on an unsigned integer", 0x1f);
    INVALID("indefinite length on a tag", 0xdf, 0x00);
    INVALID("two-byte form", 0xf8, 0x18);
    INVALID("unexpected break", 0xff);
    INVALID("unexpected break", 0x82, 0x01, 0xff);
    INVALID("truncated", 0x19, 0x01);
    INVALID("only 2 remain", 0x45, 0x01, 0x02);
    INVALID("cannot fit", 0x9b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00);
    INVALID("cannot fit", 0xba, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00);
    INVALID("bytes but only", 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    INVALID("trailing", 0x01, 0x02);
    INVALID("not valid UTF-8", 0x62, 0xc0, 0x80);       /* overlong NUL */
    INVALID("not valid UTF-8", 0x63, 0xed, 0xa0, 0x80); /* surrogate */
    INVALID("not valid UTF-8", 0x61, 0xff);
}

static void test_indefinite(void **state)
{
    (void)state;
    const uint8_t arr[] = {0x9f, 0x01, 0x82, 0x02, 0x03, 0xff};
    const uint8_t str[] = {0x5f, 0x42, 0x01, 0x02, 0x41, 0x03, 0xff};
    const uint8_t badchunk[] = {0x5f, 0x61, 'a', 0xff};
    const uint8_t nobreak[] = {0x9f, 0x01};
    vt_cbor_opts allow = {.allow_indefinite = true};
    vt_error e;
    assert_int_equal(validate(arr, sizeof arr, NULL, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "indefinite-length an array not allowed"));
    assert_int_equal(validate(arr, sizeof arr, &allow, &e), VT_OK);
    assert_int_equal(validate(str, sizeof str, &allow, &e), VT_OK);
    assert_int_equal(validate(badchunk, sizeof badchunk, &allow, &e), VT_E_INVALID);
    assert_int_equal(validate(nobreak, sizeof nobreak, &allow, &e), VT_E_INVALID);

    /* iterate an indefinite array through the typed API */
    vt_cbor c;
    size_t n, i;
    uint64_t u;
    vt_cbor_init(&c, arr, sizeof arr, &allow, "t", &e);
    assert_int_equal(vt_cbor_read_array(&c, "a", &n), VT_OK);
    assert_true(n == VT_CBOR_INDEFINITE);
    for (i = 0; vt_cbor_more(&c, n, i); i++) assert_int_equal(vt_cbor_skip(&c, "x", NULL), VT_OK);
    assert_int_equal(i, 2);
    assert_int_equal(vt_cbor_expect_end(&c), VT_OK);
    /* chunked byte strings cannot be borrowed as one view */
    vt_bytes v;
    vt_cbor_init(&c, str, sizeof str, &allow, "t", &e);
    assert_int_equal(vt_cbor_read_bstr(&c, "s", &v), VT_E_UNSUPPORTED);
    vt_cbor_init(&c, str, sizeof str, NULL, "t", &e);
    assert_int_equal(vt_cbor_read_bstr(&c, "s", &v), VT_E_INVALID);
    vt_cbor_init(&c, (const uint8_t *)"\x01", 1, NULL, "t", &e);
    assert_int_equal(vt_cbor_read_uint(&c, "u", &u), VT_OK);
}

static void test_depth(void **state)
{
    (void)state;
    uint8_t deep[80];
    vt_error e;
    for (size_t d = 1; d <= 70; d++) {
        memset(deep, 0x81, d); /* d nested one-element arrays around 0 */
        deep[d] = 0x00;
        vt_err rc = validate(deep, d + 1, NULL, &e);
        assert_int_equal(rc, d <= VT_CBOR_DEPTH_DEFAULT ? VT_OK : VT_E_INVALID);
        if (rc != VT_OK) assert_non_null(strstr(e.msg, "nesting deeper than 16"));
    }
    memset(deep, 0xc6, 20); /* tags count as nesting too */
    deep[20] = 0x00;
    assert_int_equal(validate(deep, 21, NULL, &e), VT_E_INVALID);
    vt_cbor_opts o = {.max_depth = 40};
    memset(deep, 0x81, 30);
    deep[30] = 0;
    assert_int_equal(validate(deep, 31, &o, &e), VT_OK);
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    INVALID("duplicate map key 1", 0xa2, 0x01, 0x00, 0x01, 0x00);
    INVALID("duplicate map key 1", 0xa2, 0x01, 0x00, 0x18, 0x01, 0x00); /* same value, longer form */
    INVALID("duplicate map key -1-34", 0xa3, 0x38, 0x22, 0x00, 0x01, 0x00, 0x38, 0x22, 0x01);
    INVALID("duplicate map key (a text string)", 0xa2, 0x61, 'a', 0x00, 0x61, 'a', 0x01);
    INVALID("duplicate map key 7", 0x81, 0xa2, 0x07, 0x00, 0x07, 0x00); /* nested */
    VALID(0xa3, 0x01, 0x00, 0x20, 0x00, 0x41, 0x01, 0x00);              /* 1, -1, h'01' differ */
    VALID(0xa2, 0x61, 'a', 0x00, 0x41, 'a', 0x00);                       /* "a" vs h'61' differ */
    const uint8_t dup[] = {0xa2, 0x01, 0x00, 0x01, 0x00};
    vt_cbor_opts allow = {.allow_dup_keys = true};
    vt_error e;
    assert_int_equal(validate(dup, sizeof dup, &allow, &e), VT_OK);
    /* the typed map read checks before the caller sees the first entry */
    vt_cbor c;
    size_t n;
    vt_cbor_init(&c, dup, sizeof dup, NULL, "claims", &e);
    assert_int_equal(vt_cbor_read_map(&c, "claims", &n), VT_E_INVALID);
    /* a large map (more keys than the on-stack list) */
    vt_cbor_writer w;
    vt_buf b;
    vt_cbor_writer_init(&w);
    vt_cbor_put_map(&w, 300);
    for (int i = 0; i < 300; i++) {
        vt_cbor_put_int(&w, i == 299 ? 17 : i);
        vt_cbor_put_null(&w);
    }
    assert_int_equal(vt_cbor_writer_finish(&w, &b, &e), VT_OK);
    assert_int_equal(validate(b.ptr, b.len, NULL, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "duplicate map key 17"));
    vt_buf_free(&b);
}

static void test_typed_reads(void **state)
{
    (void)state;
    const uint8_t doc[] = {0xa3, 0x0a, 0x43, 1, 2, 3, 0x19, 0x01, 0x09, 0x63, 'a', 'b', 'c',
                           0x20, 0xf5};
    vt_cbor c;
    vt_error e;
    size_t n;
    int64_t k;
    vt_bytes b;
    bool t;
    vt_cbor_init(&c, doc, sizeof doc, NULL, "doc", &e);
    assert_int_equal(vt_cbor_read_map(&c, "m", &n), VT_OK);
    assert_int_equal(n, 3);
    assert_int_equal(vt_cbor_read_int(&c, "k", &k), VT_OK);
    assert_int_equal(k, 10);
    assert_int_equal(vt_cbor_read_tstr(&c, "v", &b), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "v at offset 2: expected a text string, found a byte string"));
    vt_cbor_init(&c, doc, sizeof doc, NULL, "doc", &e);
    assert_int_equal(vt_cbor_read_map(&c, "m", &n), VT_OK);
    assert_int_equal(vt_cbor_skip(&c, "k", NULL), VT_OK);
    assert_int_equal(vt_cbor_read_bstr(&c, "v", &b), VT_OK);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.ptr, "\x01\x02\x03", 3);
    assert_int_equal(vt_cbor_read_int(&c, "k", &k), VT_OK);
    assert_int_equal(k, 265);
    assert_int_equal(vt_cbor_read_tstr(&c, "v", &b), VT_OK);
    assert_int_equal(b.len, 3);
    assert_int_equal(vt_cbor_read_int(&c, "k", &k), VT_OK);
    assert_int_equal(k, -1);
    assert_int_equal(vt_cbor_read_bool(&c, "v", &t), VT_OK);
    assert_true(t);
    assert_int_equal(vt_cbor_expect_end(&c), VT_OK);
}

static void test_writer(void **state)
{
    (void)state;
    uint8_t h[9];
    assert_int_equal(vt_cbor_encode_head(h, VT_CBOR_UINT, 23), 1);
    assert_int_equal(vt_cbor_encode_head(h, VT_CBOR_UINT, 24), 2);
    assert_int_equal(vt_cbor_encode_head(h, VT_CBOR_UINT, 255), 2);
    assert_int_equal(vt_cbor_encode_head(h, VT_CBOR_UINT, 256), 3);
    assert_int_equal(vt_cbor_encode_head(h, VT_CBOR_UINT, 65536), 5);
    assert_int_equal(vt_cbor_encode_head(h, VT_CBOR_UINT, 1ull << 32), 9);
    assert_memory_equal(h, "\x1b\x00\x00\x00\x01\x00\x00\x00\x00", 9);
    vt_cbor_writer w;
    vt_buf b;
    vt_error e;
    vt_cbor_writer_init(&w);
    vt_cbor_put_tag(&w, 399);
    vt_cbor_put_map(&w, 2);
    vt_cbor_put_int(&w, -35);
    vt_cbor_put_bstr(&w, "ab", 2);
    vt_cbor_put_uint(&w, 44234);
    vt_cbor_put_array(&w, 2);
    vt_cbor_put_tstr(&w, "x");
    vt_cbor_put_bool(&w, false);
    assert_int_equal(vt_cbor_writer_finish(&w, &b, &e), VT_OK);
    const uint8_t want[] = {0xd9, 0x01, 0x8f, 0xa2, 0x38, 0x22, 0x42, 'a', 'b', 0x19, 0xac,
                            0xca, 0x82, 0x61, 'x', 0xf4};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.ptr, want, sizeof want);
    assert_int_equal(validate(b.ptr, b.len, NULL, &e), VT_OK);
    vt_buf_free(&b);
}

/* Every truncation of a valid document fails cleanly. */
static void test_truncation(void **state)
{
    (void)state;
    const uint8_t doc[] = {0xd9, 0x01, 0x8f, 0xa2, 0x19, 0xac, 0xca, 0x58, 0x05, 1, 2, 3, 4, 5,
                           0x19, 0xac, 0xd1, 0x82, 0x19, 0x01, 0x07, 0x63, 'a', 'b', 'c'};
    vt_error e;
    assert_int_equal(validate(doc, sizeof doc, NULL, &e), VT_OK);
    for (size_t n = 0; n < sizeof doc; n++) {
        uint8_t *cp = malloc(n ? n : 1);
        memcpy(cp, doc, n);
        assert_int_equal(validate(cp, n, NULL, &e), VT_E_INVALID);
        free(cp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_examples), cmocka_unit_test(test_not_well_formed),
        cmocka_unit_test(test_indefinite),   cmocka_unit_test(test_depth),
        cmocka_unit_test(test_duplicate_keys), cmocka_unit_test(test_typed_reads),
        cmocka_unit_test(test_writer),       cmocka_unit_test(test_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
