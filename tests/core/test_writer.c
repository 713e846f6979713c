/* Core writer (vt_writer): the inverse of vt_reader, growable and fixed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/reader.h"
#include "veritee/writer.h"

/* What the writer writes, the reader reads back. */
static void test_writer_roundtrip(void **state)
{
    (void)state;
    vt_error e;
    vt_writer w;
    vt_writer_init(&w, "blob", &e);
    assert_int_equal(vt_write_u8(&w, "a", 0xab), VT_OK);
    assert_int_equal(vt_write_u16le(&w, "b", 0x1234), VT_OK);
    assert_int_equal(vt_write_u32le(&w, "c", 0xdeadbeef), VT_OK);
    assert_int_equal(vt_write_u64le(&w, "d", UINT64_C(0x0102030405060708)), VT_OK);
    assert_int_equal(vt_write_u16be(&w, "e", 0x1234), VT_OK);
    assert_int_equal(vt_write_u32be(&w, "f", 0xcafef00d), VT_OK);
    assert_int_equal(vt_write_u64be(&w, "g", UINT64_C(0x1122334455667788)), VT_OK);
    assert_int_equal(vt_write_zeros(&w, "h", 3), VT_OK);
    assert_int_equal(vt_write_bytes(&w, "i", "xyz", 3), VT_OK);
    assert_int_equal(vt_write_le(&w, "j", 0x030201, 3), VT_OK);
    assert_int_equal(vt_writer_len(&w), 1 + 2 + 4 + 8 + 2 + 4 + 8 + 3 + 3 + 3);
    uint8_t *p;
    size_t n;
    assert_int_equal(vt_writer_take(&w, &p, &n), VT_OK);
    assert_int_equal(vt_writer_len(&w), 0);

    vt_reader r;
    vt_reader_init(&r, p, n, "blob", &e);
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    assert_int_equal(vt_read_u8(&r, "a", &u8), VT_OK);
    assert_int_equal(u8, 0xab);
    assert_int_equal(vt_read_u16le(&r, "b", &u16), VT_OK);
    assert_int_equal(u16, 0x1234);
    assert_int_equal(vt_read_u32le(&r, "c", &u32), VT_OK);
    assert_int_equal(u32, 0xdeadbeef);
    assert_int_equal(vt_read_u64le(&r, "d", &u64), VT_OK);
    assert_true(u64 == UINT64_C(0x0102030405060708));
    assert_int_equal(vt_read_u16be(&r, "e", &u16), VT_OK);
    assert_int_equal(u16, 0x1234);
    assert_int_equal(vt_read_u32be(&r, "f", &u32), VT_OK);
    assert_int_equal(u32, 0xcafef00d);
    const uint8_t be64[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
    vt_bytes v;
    assert_int_equal(vt_read_view(&r, "g", 8, &v), VT_OK);
    assert_memory_equal(v.ptr, be64, 8);
    assert_int_equal(vt_read_zero(&r, "h", 3), VT_OK);
    assert_int_equal(vt_read_view(&r, "i", 3, &v), VT_OK);
    assert_memory_equal(v.ptr, "xyz", 3);
    assert_int_equal(vt_read_view(&r, "j", 3, &v), VT_OK);
    assert_memory_equal(v.ptr, "\x01\x02\x03", 3);
    assert_int_equal(vt_reader_remaining(&r), 0);
    free(p);
}

/* A fixed writer never writes past its buffer; the failure is sticky and names the field. */
static void test_writer_fixed_bounds(void **state)
{
    (void)state;
    uint8_t buf[8];
    memset(buf, 0xee, sizeof buf);
    vt_error e;
    vt_writer w;
    vt_writer_init_fixed(&w, buf, 6, "report", &e);
    assert_int_equal(vt_write_u32le(&w, "VERSION", 5), VT_OK);
    assert_int_equal(vt_write_u32le(&w, "GUEST_SVN", 7), VT_E_INTERNAL);
    assert_non_null(strstr(e.msg, "GUEST_SVN needs 4 bytes at offset 4, only 2 fit"));
    assert_int_equal(buf[4], 0xee); /* nothing written by the failed call */
    assert_int_equal(buf[6], 0xee);
    /* sticky: a write that would fit still fails, and the status says so */
    assert_int_equal(vt_write_u8(&w, "x", 1), VT_E_INTERNAL);
    assert_int_equal(vt_writer_status(&w), VT_E_INTERNAL);
    assert_int_equal(buf[4], 0xee);
    /* the caller's buffer cannot be taken */
    uint8_t *p;
    assert_int_equal(vt_writer_take(&w, &p, NULL), VT_E_ARG);
    assert_null(p);
    vt_writer_free(&w); /* leaves buf alone */
    assert_int_equal(buf[0], 5);
}

/* Sizes that would overflow size_t fail cleanly, growable or fixed. */
static void test_writer_overflow(void **state)
{
    (void)state;
    vt_error e;
    vt_writer w;
    vt_writer_init(&w, "blob", &e);
    assert_int_equal(vt_write_u8(&w, "a", 1), VT_OK);
    assert_int_equal(vt_write_zeros(&w, "huge", SIZE_MAX), VT_E_ARG);
    assert_non_null(strstr(e.msg, "huge"));
    uint8_t *p;
    assert_int_equal(vt_writer_take(&w, &p, NULL), VT_E_ARG); /* the failure is reported, buffer freed */
    assert_null(p);
    vt_writer_init(&w, "blob", &e);
    assert_int_equal(vt_write_le(&w, "w", 1, 9), VT_E_ARG);
    vt_writer_free(&w);
    vt_writer_free(NULL);
}

/* Seek and patch fill in fields whose values are known later (lengths, offsets). */
static void test_writer_patch_seek(void **state)
{
    (void)state;
    vt_error e;
    vt_writer w;
    vt_writer_init(&w, "table", &e);
    assert_int_equal(vt_write_u32le(&w, "len", 0), VT_OK);
    assert_int_equal(vt_write_bytes(&w, "body", "abcdef", 6), VT_OK);
    assert_int_equal(vt_write_patch_le(&w, "len", 0, 6, 4), VT_OK);
    assert_int_equal(vt_write_patch_be(&w, "body", 4, 0x4142, 2), VT_OK);
    /* a patch past what was written is a bug in the layout */
    assert_int_equal(vt_write_patch_le(&w, "late", 8, 1, 4), VT_E_INTERNAL);
    assert_non_null(strstr(e.msg, "late patch of 4 bytes at offset 8, only 10 written"));
    vt_writer_free(&w);

    vt_writer_init(&w, "table", &e);
    assert_int_equal(vt_write_zeros(&w, "all", 10), VT_OK);
    assert_int_equal(vt_writer_seek(&w, 2), VT_OK);
    assert_int_equal(vt_write_u16be(&w, "x", 0x0102), VT_OK);
    assert_int_equal(vt_writer_tell(&w), 4);
    assert_int_equal(vt_writer_len(&w), 10); /* the high-water mark */
    uint8_t *at;
    assert_int_equal(vt_writer_seek(&w, 10), VT_OK);
    assert_int_equal(vt_write_reserve(&w, "sig", 2, &at), VT_OK);
    at[0] = 9;
    uint8_t *p;
    size_t n;
    assert_int_equal(vt_writer_take(&w, &p, &n), VT_OK);
    assert_int_equal(n, 12);
    assert_memory_equal(p, "\0\0\x01\x02\0\0\0\0\0\0\x09\0", 12);
    free(p);
    vt_writer_init(&w, "table", &e);
    assert_int_equal(vt_writer_seek(&w, 1), VT_E_INTERNAL);
    vt_writer_free(&w);
}

/* Text: strings and formats, NUL-terminated on take, also when empty. */
static void test_writer_text(void **state)
{
    (void)state;
    vt_error e;
    vt_writer w;
    vt_writer_init(&w, "text", &e);
    uint8_t *p;
    size_t n;
    assert_int_equal(vt_writer_take(&w, &p, &n), VT_OK);
    assert_int_equal(n, 0);
    assert_string_equal((char *)p, "");
    free(p);
    vt_writer_init(&w, "text", &e);
    assert_int_equal(vt_write_str(&w, "a="), VT_OK);
    for (int i = 0; i < 100; i++) assert_int_equal(vt_write_fmt(&w, "%d,", i), VT_OK);
    assert_int_equal(vt_writer_take(&w, &p, &n), VT_OK);
    assert_int_equal(n, strlen((char *)p));
    assert_memory_equal(p, "a=0,1,2,", 8);
    assert_non_null(strstr((char *)p, ",99,"));
    free(p);
    uint8_t b[4];
    vt_writer_init_fixed(&w, b, sizeof b, "text", &e);
    assert_int_equal(vt_write_fmt(&w, "%s", "abc"), VT_OK); /* needs room for the NUL too */
    assert_int_equal(vt_write_fmt(&w, "%s", "d"), VT_E_INTERNAL);
}

/* Insert: a header placed before contents written first (DER's wrap). */
static void test_writer_insert(void **state)
{
    (void)state;
    vt_error e;
    vt_writer w;
    vt_writer_init(&w, "der", &e);
    assert_int_equal(vt_write_bytes(&w, "body", "abc", 3), VT_OK);
    assert_int_equal(vt_write_insert(&w, "hdr", 1, "XY", 2), VT_OK);
    assert_int_equal(vt_write_insert(&w, "hdr", 5, "!", 1), VT_OK); /* at the end */
    assert_int_equal(vt_write_insert(&w, "bad", 9, "?", 1), VT_E_INTERNAL);
    assert_non_null(strstr(e.msg, "bad insert at offset 9, only 6 written"));
    vt_writer_free(&w);
    vt_writer_init(&w, "der", &e);
    assert_int_equal(vt_write_bytes(&w, "body", "abc", 3), VT_OK);
    assert_int_equal(vt_write_insert(&w, "hdr", 0, "\x30\x03", 2), VT_OK);
    assert_int_equal(vt_write_u8(&w, "after", 'z'), VT_OK); /* writes go on at the end */
    uint8_t *p;
    size_t n;
    assert_int_equal(vt_writer_take(&w, &p, &n), VT_OK);
    assert_int_equal(n, 6);
    assert_memory_equal(p, "\x30\x03" "abcz", 6);
    free(p);
}

static void test_put_helpers(void **state)
{
    (void)state;
    uint8_t b[8];
    vt_put_le(b, 0x0a0b0c, 3);
    assert_memory_equal(b, "\x0c\x0b\x0a", 3);
    vt_put_be(b, 0x0a0b0c, 3);
    assert_memory_equal(b, "\x0a\x0b\x0c", 3);
    /* and back (veritee/reader.h) */
    assert_int_equal(vt_get_be(b, 3), 0x0a0b0c);
    assert_int_equal(vt_get_le(b, 3), 0x0c0b0a);
    vt_put_le(b, UINT64_C(0x0102030405060708), 8);
    assert_true(vt_get_le(b, 8) == UINT64_C(0x0102030405060708));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_roundtrip), cmocka_unit_test(test_writer_fixed_bounds),
        cmocka_unit_test(test_writer_overflow),  cmocka_unit_test(test_writer_patch_seek),
        cmocka_unit_test(test_writer_text),      cmocka_unit_test(test_put_helpers),
        cmocka_unit_test(test_writer_insert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
