/* Core layer: reader, codecs, time, DER. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "testutil.h"
#include "veritee/der.h"
#include "veritee/reader.h"
#include "veritee/vtime.h"

static void test_reader_bounds(void **state)
{
    (void)state;
    const uint8_t buf[] = {1, 2, 3, 4, 5, 6, 7};
    vt_error e;
    vt_reader r;
    vt_reader_init(&r, buf, sizeof buf, "blob", &e);
    uint32_t v32;
    uint16_t v16;
    assert_int_equal(vt_read_u32le(&r, "a", &v32), VT_OK);
    assert_int_equal(v32, 0x04030201);
    assert_int_equal(vt_read_u16le(&r, "b", &v16), VT_OK);
    assert_int_equal(v16, 0x0605);
    assert_int_equal(vt_read_u16le(&r, "c", &v16), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "c needs 2 bytes at offset 6, 1 remain"));
    assert_int_equal(vt_reader_remaining(&r), 1);
    uint8_t big[16];
    assert_int_equal(vt_read_copy(&r, "d", big, SIZE_MAX), VT_E_INVALID);
}

static void test_reader_zero(void **state)
{
    (void)state;
    const uint8_t buf[] = {0, 0, 1};
    vt_error e;
    vt_reader r;
    vt_reader_init(&r, buf, sizeof buf, "blob", &e);
    assert_int_equal(vt_read_zero(&r, "rsvd", 2), VT_OK);
    assert_int_equal(vt_read_zero(&r, "rsvd2", 1), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "rsvd2"));
}

static void test_hex_b64(void **state)
{
    (void)state;
    vt_error e;
    uint8_t out[3];
    assert_int_equal(vt_hex_decode_fixed("0aFf10", out, 3, &e), VT_OK);
    assert_memory_equal(out, "\x0a\xff\x10", 3);
    assert_int_equal(vt_hex_decode_fixed("0aFf1", out, 3, &e), VT_E_INVALID);
    assert_int_equal(vt_hex_decode_fixed("0aFg10", out, 3, &e), VT_E_INVALID);
    char *s = vt_b64_encode((const uint8_t *)"foob", 4, false);
    assert_string_equal(s, "Zm9vYg==");
    free(s);
    s = vt_b64_encode((const uint8_t *)"\xfb\xff", 2, true);
    assert_string_equal(s, "-_8");
    free(s);
    s = vt_b64url_encode_padded((const uint8_t *)"\xfb\xff", 2); /* URL alphabet, padded */
    assert_string_equal(s, "-_8=");
    free(s);
    s = vt_b64url_encode_padded((const uint8_t *)"\xfb", 1);
    assert_string_equal(s, "-w==");
    free(s);
    vt_buf b = {0};
    assert_int_equal(vt_b64_decode("Zm9vYg==", 8, &b, &e), VT_OK);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.ptr, "foob", 4);
    assert_int_equal(vt_b64_decode("-_8", 3, &b, &e), VT_OK);
    assert_memory_equal(b.ptr, "\xfb\xff", 2);
    assert_int_equal(vt_b64_decode("Zm9v*g", 6, &b, &e), VT_E_INVALID);
    vt_buf_free(&b);
}

/* The table-driven decoder against the alphabet's definition: every byte value at every
 * position of a quantum (and of a tail) is accepted exactly when it is a digit of either
 * alphabet, the reported position is the bad byte's, and every length round-trips. */
static int b64_ref(unsigned c)
{
    if (c >= 'A' && c <= 'Z') return (int)c - 'A';
    if (c >= 'a' && c <= 'z') return (int)c - 'a' + 26;
    if (c >= '0' && c <= '9') return (int)c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

static void test_b64_decode_table(void **state)
{
    (void)state;
    vt_error e;
    vt_buf b = {0};
    char s[11] = "QUJDREVGR0";  /* "ABCDEFG" less its last digit: 2 quanta and a tail of 2 */
    for (size_t pos = 0; pos < 10; pos++) {
        for (unsigned c = 0; c < 256; c++) {
            char t[11];
            memcpy(t, s, sizeof t);
            t[pos] = (char)c;
            vt_err rc = vt_b64_decode(t, 10, &b, &e);
            if (c == '=' && pos == 9) { /* a trailing pad is dropped: 9 digits is impossible */
                assert_int_equal(rc, VT_E_INVALID);
                continue;
            }
            int v = b64_ref(c);
            if (v < 0) {
                assert_int_equal(rc, VT_E_INVALID);
                char want[48];
                snprintf(want, sizeof want, "at position %zu", pos);
                assert_non_null(strstr(e.msg, want));
                continue;
            }
            assert_int_equal(rc, VT_OK);
            assert_int_equal(b.len, 7);
            /* the 6 bits at pos landed where the reference puts them */
            size_t bit = pos * 6;
            unsigned got = 0;
            for (size_t k = 0; k < 6; k++) {
                size_t at = bit + k;
                if (at / 8 < b.len) got = got << 1 | ((b.ptr[at / 8] >> (7 - at % 8)) & 1u);
                else got <<= 1;
            }
            if (pos < 9) assert_int_equal(got, (unsigned)v);
            else assert_int_equal(got >> 4, (unsigned)v >> 4); /* only 2 bits of the last digit count */
        }
    }
    uint8_t raw[64];
    for (size_t i = 0; i < sizeof raw; i++) raw[i] = (uint8_t)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof raw; n++) {
        for (int url = 0; url < 2; url++) {
            char *enc = vt_b64_encode(raw, n, url);
            assert_non_null(enc);
            assert_int_equal(vt_b64_decode(enc, strlen(enc), &b, &e), VT_OK);
            assert_int_equal(b.len, n);
            if (n) assert_memory_equal(b.ptr, raw, n);
            free(enc);
        }
    }
    vt_buf_free(&b);
}

static void test_duration(void **state)
{
    (void)state;
    vt_error e;
    int64_t d = -1;
    static const struct {
        const char *in;
        int64_t want;
    } good[] = {{"30d", 30 * 86400}, {"12h", 12 * 3600}, {"90m", 5400}, {"45s", 45}, {"2w", 14 * 86400},
                {"1s", 1}, {"007d", 7 * 86400}, {"36525d", VT_DURATION_MAX}, {"3155760000s", VT_DURATION_MAX}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(vt_duration_parse(good[i].in, &d, &e), VT_OK);
        assert_int_equal(d, good[i].want);
    }
    /* junk, a sign, a space, a fraction, two units, no unit, an unknown or upper-case unit */
    static const char *const junk[] = {"",    "d",    "30",   "30x",  "30dd", "30d ", " 30d", "-30d", "+30d",
                                       "1.5d", "30D",  "1d2h", "30 d", "0x1d", "30d\n", "d30",  "1e3s"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        d = -1;
        assert_int_equal(vt_duration_parse(junk[i], &d, &e), VT_E_INVALID);
        assert_string_equal(e.check, "duration");
        assert_non_null(strstr(e.msg, "want a number"));
        assert_int_equal(d, -1);
    }
    assert_int_equal(vt_duration_parse(NULL, &d, &e), VT_E_INVALID);
    /* zero, and spans past the bound: one unit over, a count that would overflow int64 */
    assert_int_equal(vt_duration_parse("0d", &d, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "zero"));
    assert_int_equal(vt_duration_parse("000s", &d, &e), VT_E_INVALID);
    static const char *const big[] = {"36526d", "3155760001s", "5218w", "99999999999999999999999d",
                                      "9223372036854775807s", "9223372036854775808s", "153722867280912930m"};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        assert_int_equal(vt_duration_parse(big[i], &d, &e), VT_E_INVALID);
        assert_non_null(strstr(e.msg, "longer than 100 years"));
    }
    assert_int_equal(d, -1);
}

static void test_time(void **state)
{
    (void)state;
    vt_error e;
    vt_time t;
    assert_int_equal(vt_time_parse_rfc3339("1970-01-01T00:00:00Z", &t, &e), VT_OK);
    assert_int_equal(t, 0);
    assert_int_equal(vt_time_parse_rfc3339("2025-07-19T10:00:34Z", &t, &e), VT_OK);
    assert_int_equal(t, 1752919234);
    assert_int_equal(vt_time_parse_rfc3339("2025-07-19T12:00:34.123+02:00", &t, &e), VT_OK);
    assert_int_equal(t, 1752919234);
    char buf[21];
    vt_time_format(1752919234, buf);
    assert_string_equal(buf, "2025-07-19T10:00:34Z");
    assert_int_equal(vt_time_parse_rfc3339("2025-02-29T00:00:00Z", &t, &e), VT_E_INVALID);
    assert_int_equal(vt_time_parse_rfc3339("2024-02-29T00:00:00Z", &t, &e), VT_OK);
    /* an offset cut short: refused, nothing read past the string's end (fuzz_policy found a
     * read of p[3] after "+0"; heap copies of exactly their length let ASan see any overread) */
    static const char *const cut[] = {"2025-07-19T10:00:34+", "2025-07-19T10:00:34+0", "2025-07-19T10:00:34-02",
                                      "2025-07-19T10:00:34+02:", "2025-07-19T10:00:34+02:0",
                                      "2025-07-19T10:00:34+02:00x", "2025-07-19T10:00:34+0200"};
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
        char *c = strdup(cut[i]);
        assert_non_null(c);
        assert_int_equal(vt_time_parse_rfc3339(c, &t, &e), VT_E_INVALID);
        free(c);
    }
    assert_int_equal(vt_time_parse_rfc3339("2025-07-19 10:00:34", &t, &e), VT_E_INVALID);
    assert_int_equal(vt_time_parse_rfc3339("2025-07-19T10:00:34Zjunk", &t, &e), VT_E_INVALID);
}

/* vt_time_format (digits written by hand) against the C library's gmtime_r/strftime, over
 * instants from year 0000 to 9999 (before 1970 too) and both ends of the range. */
static void test_time_format(void **state)
{
    (void)state;
    const vt_time lo = -62167219200; /* 0000-01-01T00:00:00Z */
    const vt_time hi = 253402300799; /* 9999-12-31T23:59:59Z */
    char got[21], want[64];
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift: a fixed spread of instants */
        vt_time t = i == 0 ? lo : i == 1 ? hi : i == 2 ? 0 : i == 3 ? -1 : lo + (vt_time)(x % (uint64_t)(hi - lo + 1));
        time_t tt = (time_t)t;
        struct tm tm;
        assert_non_null(gmtime_r(&tt, &tm));
        /* strftime's %Y pads to 4 digits for years 0..999 only on some libcs: write it ourselves */
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec);
        vt_time_format(t, got);
        assert_string_equal(got, want);
        vt_time back;
        vt_error e;
        assert_int_equal(vt_time_parse_rfc3339(got, &back, &e), VT_OK);
        assert_int_equal(back, t);
    }
    vt_time_format(lo - 1, got);
    assert_string_equal(got, "out-of-range-time");
    vt_time_format(hi + 1, got);
    assert_string_equal(got, "out-of-range-time");
}

static void test_der(void **state)
{
    (void)state;
    /* SEQUENCE { OID 1.2.840.113741.1.13.1.4, OCTET STRING 6 bytes } */
    const uint8_t der[] = {0x30, 0x14, 0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d,
                           0x01, 0x0d, 0x01, 0x04, 0x04, 0x06, 0xb0, 0xc0, 0x6f, 0, 0, 0};
    vt_error e;
    vt_reader r, s;
    vt_bytes seq, oid, os;
    vt_reader_init(&r, der, sizeof der, "ext", &e);
    assert_int_equal(vt_der_expect(&r, VT_DER_SEQUENCE, "seq", &seq), VT_OK);
    vt_reader_init(&s, seq.ptr, seq.len, "seq", &e);
    assert_int_equal(vt_der_expect(&s, VT_DER_OID, "oid", &oid), VT_OK);
    char txt[64];
    assert_int_equal(vt_der_oid_text(oid, txt, sizeof txt, &e), VT_OK);
    assert_string_equal(txt, "1.2.840.113741.1.13.1.4");
    assert_int_equal(vt_der_expect(&s, VT_DER_OCTET_STRING, "fmspc", &os), VT_OK);
    assert_int_equal(os.len, 6);
    /* a length claiming more than remains */
    const uint8_t bad[] = {0x30, 0x82, 0x10, 0x00, 0x01};
    vt_reader_init(&r, bad, sizeof bad, "ext", &e);
    assert_int_equal(vt_der_read(&r, &(uint8_t){0}, &seq), VT_E_INVALID);
    uint64_t v;
    assert_int_equal(vt_der_uint((vt_bytes){(const uint8_t *)"\x00\xff", 2}, "x", &v, &e), VT_OK);
    assert_int_equal(v, 255);
    assert_int_equal(vt_der_uint((vt_bytes){(const uint8_t *)"\xff", 1}, "x", &v, &e), VT_E_INVALID);
}

/* RFC 3986 percent-decoding, as PCS issuer-chain headers need it: exact, and strict on hostile input. */
static void test_percent_decode(void **state)
{
    (void)state;
    char *out = NULL;
    vt_error e;
    assert_int_equal(vt_percent_decode("-----BEGIN%20CERT%0A%41b", 24, &out, &e), VT_OK);
    assert_string_equal(out, "-----BEGIN CERT\nAb");
    free(out);
    assert_int_equal(vt_percent_decode("a%2", 3, &out, &e), VT_E_INVALID); /* truncated escape */
    assert_null(out);
    assert_int_equal(vt_percent_decode("a%zz", 4, &out, &e), VT_E_INVALID);
    assert_int_equal(vt_percent_decode("a%00b", 5, &out, &e), VT_E_INVALID); /* no NUL smuggled in */
    assert_non_null(strstr(e.msg, "offset 1"));
    assert_int_equal(vt_percent_decode("", 0, &out, &e), VT_OK);
    assert_string_equal(out, "");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_bounds), cmocka_unit_test(test_reader_zero),
        cmocka_unit_test(test_hex_b64),       cmocka_unit_test(test_b64_decode_table),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_der),
        cmocka_unit_test(test_percent_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
