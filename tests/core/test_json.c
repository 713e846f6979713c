/* Core JSON field getters (vt_json_get_*): one meaning for optional/required members, wrong
 * types are errors naming the path, integers are JSON integers or "0x" hex/decimal strings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/json.h"

static json_t *doc(const char *text)
{
    json_t *j = NULL;
    vt_error e;
    assert_int_equal(vt_json_parse(text, strlen(text), &j, &e), VT_OK);
    return j;
}

#define ASSERT_FAILS(call, want)                                                             \
    do {                                                                                     \
        vt_error_clear(&e);                                                                  \
        assert_int_equal((call), VT_E_INVALID);                                              \
        if (strstr(e.msg, (want)) == NULL) fail_msg("'%s' lacks '%s'", e.msg, (want));       \
    } while (0)

static void test_json_required_optional(void **state)
{
    (void)state;
    json_t *j = doc("{\"s\":\"hi\",\"n\":null}");
    vt_error e;
    vt_json_in in;
    assert_int_equal(vt_json_in_init(&in, j, "vm", "vm_config", &e), VT_OK);
    const char *s = "default";
    bool given = true;
    /* optional and absent: the caller's default stays */
    assert_int_equal(vt_json_get_str(&in, "t", VT_JSON_OPTIONAL, &s, &given), VT_OK);
    assert_false(given);
    assert_string_equal(s, "default");
    ASSERT_FAILS(vt_json_get_str(&in, "t", VT_JSON_REQUIRED, &s, NULL), "vm.t: missing");
    assert_string_equal(e.check, "vm_config");
    assert_int_equal(vt_json_get_str(&in, "s", VT_JSON_REQUIRED, &s, &given), VT_OK);
    assert_true(given);
    assert_string_equal(s, "hi");
    /* null: a wrong type unless NULLABLE */
    ASSERT_FAILS(vt_json_get_str(&in, "n", VT_JSON_OPTIONAL, &s, NULL), "vm.n: expected a string");
    assert_int_equal(vt_json_get_str(&in, "n", VT_JSON_NULLABLE, &s, &given), VT_OK);
    assert_false(given);
    /* at the root the path is the key alone */
    assert_int_equal(vt_json_in_init(&in, j, "", NULL, &e), VT_OK);
    ASSERT_FAILS(vt_json_get_bool(&in, "s", VT_JSON_OPTIONAL, &(bool){false}, NULL),
                 "s: expected true or false");
    assert_string_equal(e.check, "parse");
    ASSERT_FAILS(vt_json_in_init(&in, json_object_get(j, "s"), "vm.s", NULL, &e),
                 "vm.s: expected an object");
    json_decref(j);
}

/* A wrong type is an error, never the default. */
static void test_json_wrong_types(void **state)
{
    (void)state;
    json_t *j = doc("{\"b\":\"true\",\"i\":\"5\",\"f\":1.5,\"o\":[],\"a\":{},\"h\":12,\"t\":7}");
    vt_error e;
    vt_json_in in, child;
    assert_int_equal(vt_json_in_init(&in, j, "cfg", NULL, &e), VT_OK);
    bool b = true;
    int64_t i = 42;
    const json_t *a = NULL;
    uint8_t h[4];
    char t[8];
    ASSERT_FAILS(vt_json_get_bool(&in, "b", VT_JSON_OPTIONAL, &b, NULL), "cfg.b: expected true or false");
    assert_true(b);
    ASSERT_FAILS(vt_json_get_int(&in, "i", VT_JSON_OPTIONAL, 0, 9, &i, NULL), "cfg.i: expected an integer 0..9");
    ASSERT_FAILS(vt_json_get_int(&in, "f", VT_JSON_OPTIONAL, 0, 9, &i, NULL), "cfg.f: expected an integer");
    assert_int_equal(i, 42);
    ASSERT_FAILS(vt_json_get_obj(&in, "o", VT_JSON_OPTIONAL, &child, NULL), "cfg.o: expected an object");
    ASSERT_FAILS(vt_json_get_arr(&in, "a", VT_JSON_OPTIONAL, 0, 9, &a, NULL), "cfg.a: expected an array");
    ASSERT_FAILS(vt_json_get_hex(&in, "h", VT_JSON_OPTIONAL, h, 4, NULL), "cfg.h: expected a hex string of 4 bytes (8 hex digits)");
    ASSERT_FAILS(vt_json_get_text(&in, "t", VT_JSON_OPTIONAL, t, sizeof t, NULL), "cfg.t: expected a string");
    ASSERT_FAILS(vt_json_get_u64(&in, "b", VT_JSON_OPTIONAL, UINT64_MAX, &(uint64_t){0}, NULL),
                 "cfg.b: expected an integer 0..");
    json_decref(j);
}

static void test_json_int_ranges(void **state)
{
    (void)state;
    json_t *j = doc("{\"cpus\":0,\"big\":9223372036854775807,\"neg\":-3}");
    vt_error e;
    vt_json_in in;
    assert_int_equal(vt_json_in_init(&in, j, "vm", NULL, &e), VT_OK);
    int64_t i = 0;
    ASSERT_FAILS(vt_json_get_int(&in, "cpus", VT_JSON_REQUIRED, 1, 1024, &i, NULL),
                 "vm.cpus: expected an integer 1..1024, got 0");
    assert_int_equal(vt_json_get_int(&in, "neg", VT_JSON_REQUIRED, -5, 5, &i, NULL), VT_OK);
    assert_int_equal(i, -3);
    assert_int_equal(vt_json_get_int(&in, "big", VT_JSON_REQUIRED, 0, INT64_MAX, &i, NULL), VT_OK);
    assert_true(i == INT64_MAX);
    uint64_t u = 7;
    ASSERT_FAILS(vt_json_get_u64(&in, "neg", VT_JSON_REQUIRED, UINT64_MAX, &u, NULL), "vm.neg");
    assert_int_equal(u, 7);
    json_decref(j);
}

/* "010" is decimal ten: no octal; "0x" is hex; nothing else is a number. */
static void test_json_u64_forms(void **state)
{
    (void)state;
    json_t *j = doc("{\"dec\":\"010\",\"hex\":\"0x10\",\"HEX\":\"0XfF\",\"int\":16,"
                    "\"top\":\"0xffffffffffffffff\",\"long\":\"0x10000000000000000\","
                    "\"udec\":\"18446744073709551615\",\"over\":\"18446744073709551616\","
                    "\"sign\":\"-1\",\"plus\":\"+1\",\"sp\":\" 1\",\"empty\":\"\",\"bare\":\"0x\","
                    "\"oct\":\"0o10\",\"junk\":\"0x1g\"}");
    vt_error e;
    vt_json_in in;
    assert_int_equal(vt_json_in_init(&in, j, "x", NULL, &e), VT_OK);
    uint64_t u;
    assert_int_equal(vt_json_get_u64(&in, "dec", VT_JSON_REQUIRED, UINT64_MAX, &u, NULL), VT_OK);
    assert_int_equal(u, 10);
    assert_int_equal(vt_json_get_u64(&in, "hex", VT_JSON_REQUIRED, UINT64_MAX, &u, NULL), VT_OK);
    assert_int_equal(u, 16);
    assert_int_equal(vt_json_get_u64(&in, "HEX", VT_JSON_REQUIRED, UINT64_MAX, &u, NULL), VT_OK);
    assert_int_equal(u, 255);
    assert_int_equal(vt_json_get_u64(&in, "int", VT_JSON_REQUIRED, UINT64_MAX, &u, NULL), VT_OK);
    assert_int_equal(u, 16);
    assert_int_equal(vt_json_get_u64(&in, "top", VT_JSON_REQUIRED, UINT64_MAX, &u, NULL), VT_OK);
    assert_true(u == UINT64_MAX);
    assert_int_equal(vt_json_get_u64(&in, "udec", VT_JSON_REQUIRED, UINT64_MAX, &u, NULL), VT_OK);
    assert_true(u == UINT64_MAX);
    static const char *const bad[] = {"long", "over", "sign", "plus", "sp", "empty", "bare", "oct", "junk"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[32];
        snprintf(want, sizeof want, "x.%s: expected an integer", bad[i]);
        ASSERT_FAILS(vt_json_get_u64(&in, bad[i], VT_JSON_REQUIRED, UINT64_MAX, &u, NULL), want);
    }
    /* the maximum applies to every form */
    ASSERT_FAILS(vt_json_get_u64(&in, "hex", VT_JSON_REQUIRED, 15, &u, NULL), "x.hex: expected an integer 0..15");
    ASSERT_FAILS(vt_json_get_u64(&in, "dec", VT_JSON_REQUIRED, 9, &u, NULL), "x.dec: expected an integer 0..9");
    assert_int_equal(vt_json_u64_text("007", 100, &u), VT_OK);
    assert_int_equal(u, 7);
    json_decref(j);
}

static void test_json_hex_text_arrays(void **state)
{
    (void)state;
    json_t *j = doc("{\"h\":\"00AAbb\",\"odd\":\"abc\",\"nh\":\"zz\",\"t\":\"a\\nb\",\"l\":\"abcdefgh\","
                    "\"arr\":[{\"k\":1},2],\"e\":[]}");
    vt_error e;
    vt_json_in in, child;
    assert_int_equal(vt_json_in_init(&in, j, "p", NULL, &e), VT_OK);
    uint8_t h[8];
    size_t n = 0;
    assert_int_equal(vt_json_get_hex(&in, "h", VT_JSON_REQUIRED, h, 3, NULL), VT_OK);
    assert_memory_equal(h, "\x00\xaa\xbb", 3);
    assert_int_equal(vt_json_get_hexn(&in, "h", VT_JSON_REQUIRED, h, 1, 8, &n, NULL), VT_OK);
    assert_int_equal(n, 3);
    ASSERT_FAILS(vt_json_get_hexn(&in, "h", VT_JSON_REQUIRED, h, 4, 8, &n, NULL), "p.h: expected a hex string of 4..8 bytes");
    ASSERT_FAILS(vt_json_get_hexn(&in, "odd", VT_JSON_REQUIRED, h, 1, 8, &n, NULL), "p.odd");
    ASSERT_FAILS(vt_json_get_hex(&in, "nh", VT_JSON_REQUIRED, h, 1, NULL), "p.nh: not hex");
    char t[8];
    ASSERT_FAILS(vt_json_get_text(&in, "t", VT_JSON_REQUIRED, t, sizeof t, NULL), "p.t: control character 0x0a at 1");
    ASSERT_FAILS(vt_json_get_text(&in, "l", VT_JSON_REQUIRED, t, sizeof t, NULL), "p.l: 8 bytes, at most 7");
    assert_int_equal(vt_json_get_text(&in, "h", VT_JSON_REQUIRED, t, sizeof t, NULL), VT_OK);
    assert_string_equal(t, "00AAbb");
    const json_t *a;
    assert_int_equal(vt_json_get_arr(&in, "arr", VT_JSON_REQUIRED, 1, 4, &a, NULL), VT_OK);
    ASSERT_FAILS(vt_json_get_arr(&in, "e", VT_JSON_REQUIRED, 1, 4, &a, NULL), "p.e: expected an array of 1..4 entries, got 0");
    assert_int_equal(vt_json_get_arr(&in, "arr", VT_JSON_REQUIRED, 1, 4, &a, NULL), VT_OK);
    assert_int_equal(vt_json_elem_obj(&in, "arr", a, 0, &child), VT_OK);
    int64_t k = 0;
    assert_int_equal(vt_json_get_int(&child, "k", VT_JSON_REQUIRED, 0, 5, &k, NULL), VT_OK);
    assert_int_equal(k, 1);
    ASSERT_FAILS(vt_json_get_int(&child, "z", VT_JSON_REQUIRED, 0, 5, &k, NULL), "p.arr[0].z: missing");
    ASSERT_FAILS(vt_json_elem_obj(&in, "arr", a, 1, &child), "p.arr[1]: expected an object");
    /* an absent optional object yields an empty child that getters can skip */
    bool given = true;
    assert_int_equal(vt_json_get_obj(&in, "nope", VT_JSON_OPTIONAL, &child, &given), VT_OK);
    assert_false(given);
    assert_null(child.obj);
    json_decref(j);
}

static void test_json_allowed_keys(void **state)
{
    (void)state;
    json_t *j = doc("{\"snp\":{\"policy\":1,\"polcy\":2}}");
    vt_error e;
    vt_json_in in, snp;
    static const char *const top[] = {"snp", NULL}, *const inner[] = {"policy", NULL};
    assert_int_equal(vt_json_in_init(&in, j, "", NULL, &e), VT_OK);
    assert_int_equal(vt_json_keys(&in, top), VT_OK);
    assert_int_equal(vt_json_get_obj(&in, "snp", VT_JSON_REQUIRED, &snp, NULL), VT_OK);
    ASSERT_FAILS(vt_json_keys(&snp, inner), "snp.polcy: unknown key");
    json_decref(j);
}

/* The older (object, key, path) getters are the same family. */
static void test_json_legacy_getters(void **state)
{
    (void)state;
    json_t *j = doc("{\"a\":{\"n\":300}}"), *o;
    vt_error e;
    int64_t n;
    assert_int_equal(vt_json_obj(j, "a", "root", &o, &e), VT_OK);
    ASSERT_FAILS(vt_json_int(o, "n", "root.a", 0, 255, &n, &e), "root.a.n: expected an integer 0..255, got 300");
    ASSERT_FAILS(vt_json_str(o, "m", "root.a", &(const char *){NULL}, &e), "root.a.m: missing");
    json_decref(j);
}

/* vt_json_parse (src/core/json_parse.c) against jansson's json_loadb with the same rules, case
 * by case: the same verdict and equal values. The cases walk RFC 8259's grammar and RFC 3629's
 * UTF-8 edges; fuzz/fuzz_json.c runs the same comparison on generated input. */
static void same_as_jansson(const char *text, size_t len, int want_ok)
{
    json_t *ours = NULL;
    vt_error e;
    vt_error_clear(&e);
    vt_err rc = vt_json_parse(text, len, &ours, &e);
    json_error_t je;
    json_t *ref = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if ((rc == VT_OK) != (ref != NULL))
        fail_msg("'%.*s': ours %s, jansson %s (%s)", (int)len, text, rc == VT_OK ? "accepts" : e.msg,
                 ref ? "accepts" : "refuses", ref ? "" : je.text);
    if ((rc == VT_OK) != want_ok) fail_msg("'%.*s': expected %s", (int)len, text, want_ok ? "accept" : "refuse");
    if (rc == VT_OK) {
        if (!json_equal(ours, ref)) fail_msg("'%.*s': values differ", (int)len, text);
    } else {
        assert_int_equal(rc, VT_E_INVALID);
        assert_non_null(strstr(e.msg, "JSON error at line"));
    }
    json_decref(ours);
    json_decref(ref);
}

static void test_json_parse_like_jansson(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int ok;
    } cases[] = {
        {"{}", 1}, {"[]", 1}, {" \t\r\n[ ] \n", 1}, {"", 0}, {"   ", 0}, {"1", 0}, {"\"s\"", 0}, {"null", 0},
        {"[1,2,]", 0}, {"[,]", 0}, {"{\"a\":1,}", 0}, {"{\"a\" 1}", 0}, {"{a:1}", 0}, {"[1 2]", 0},
        {"[1]x", 0}, {"[1][2]", 0}, {"{\"a\":1,\"a\":2}", 0}, {"{\"a\":1,\"b\":{\"a\":2}}", 1},
        {"{\"\":1}", 1}, {"{\"a\\u0062\":1,\"ab\":2}", 0},
        {"[true,false,null]", 1}, {"[tru]", 0}, {"[nul]", 0}, {"[falsey]", 0}, {"[True]", 0},
        {"[0,-0,1,-1,10,9223372036854775807,-9223372036854775808]", 1}, {"[9223372036854775808]", 0},
        {"[-9223372036854775809]", 0}, {"[01]", 0}, {"[-01]", 0}, {"[+1]", 0}, {"[.5]", 0}, {"[1.]", 0},
        {"[1.5]", 1}, {"[-0.0]", 1}, {"[1e5]", 1}, {"[1E+5]", 1}, {"[1e-5]", 1}, {"[1e]", 0}, {"[1e+]", 0},
        {"[-]", 0}, {"[1.5e308]", 1}, {"[1e309]", 0}, {"[-1e309]", 0}, {"[1e-400]", 1}, {"[0x10]", 0},
        {"[1.0]", 1}, {"[123456789012345678901234567890.5]", 1},
        {"[\"\"]", 1}, {"[\"abc\"]", 1}, {"[\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"]", 1}, {"[\"\\x\"]", 0},
        {"[\"\\u0041\\u00e9\\u20AC\"]", 1}, {"[\"\\u0000\"]", 0}, {"[\"\\ud83d\\ude00\"]", 1},
        {"[\"\\ud83d\"]", 0}, {"[\"\\ude00\"]", 0}, {"[\"\\ud83d\\u0041\"]", 0}, {"[\"\\ud83dx\"]", 0},
        {"[\"\\u12\"]", 0}, {"[\"\\u12g4\"]", 0}, {"[\"abc]", 0}, {"[\"abc\\\"]", 0}, {"[\"a\tb\"]", 0},
        {"[\"a\x1f" "b\"]", 0}, {"[\"a\x7f" "b\"]", 1},
        {"[\"\xc3\xa9\"]", 1}, {"[\"\xe2\x82\xac\"]", 1}, {"[\"\xf0\x9f\x98\x80\"]", 1},
        {"[\"\xc0\x80\"]", 0}, {"[\"\xc1\xbf\"]", 0}, {"[\"\xe0\x80\x80\"]", 0}, {"[\"\xed\xa0\x80\"]", 0},
        {"[\"\xf0\x80\x80\x80\"]", 0}, {"[\"\xf4\x90\x80\x80\"]", 0}, {"[\"\xf5\x80\x80\x80\"]", 0},
        {"[\"\x80\"]", 0}, {"[\"\xc3\"]", 0}, {"[\"\xc3\x28\"]", 0}, {"[\"\xe2\x82\"]", 0}, {"[\"\xff\"]", 0},
        {"[\"a\\n\xc3\xa9\\u00e9\"]", 1}, {"{\"k\\n\xc3\xa9\":\"v\\t\"}", 1}, {"[\xc3\xa9]", 0},
        {"{\"a\":[1,{\"b\":[null,\"x\"]}],\"c\":-2.5e-3}", 1}, {"\xef\xbb\xbf[]", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        same_as_jansson(cases[i].text, strlen(cases[i].text), cases[i].ok);
    same_as_jansson("[\"a\0b\"]", 7, 0); /* a raw NUL is a control character */
    same_as_jansson("[1]\0", 4, 0);       /* and no whitespace after the value */
    /* jansson skips a NUL byte right after a number (it takes "[2\0]" for [2]); we refuse it. */
    json_t *nul = NULL;
    vt_error ne;
    assert_int_equal(vt_json_parse("[2\0]", 4, &nul, &ne), VT_E_INVALID);
    assert_int_equal(vt_json_parse("{\"a\":1.5\0}", 9, &nul, &ne), VT_E_INVALID);
    /* Depth: every value counts, the limit is 2048. */
    static char deep[2 * 2049 + 2];
    for (size_t n = 2047; n <= 2049; n++) {
        memset(deep, '[', n);
        memset(deep + n, ']', n);
        same_as_jansson(deep, 2 * n, n <= 2048);
        memset(deep, '[', n);
        deep[n] = '1';
        memset(deep + n + 1, ']', n);
        same_as_jansson(deep, 2 * n + 1, n <= 2047);
    }
    /* A long string with escapes after a long plain run, as key and value. */
    static char big[20000];
    size_t o = 0;
    o += (size_t)snprintf(big + o, sizeof big - o, "{\"");
    for (int i = 0; i < 300; i++) big[o++] = 'k';
    o += (size_t)snprintf(big + o, sizeof big - o, "\\u00e9\":\"");
    for (int i = 0; i < 9000; i++) big[o++] = (char)('A' + i % 26);
    o += (size_t)snprintf(big + o, sizeof big - o, "\\n\\ud83d\\ude00\"}");
    same_as_jansson(big, o, 1);
    /* Strings are scanned eight bytes at a time: every byte that ends or breaks a plain run
     * (quote, escape, control characters, UTF-8 valid and not, DEL which is plain) at every
     * position of the first three words, as key and as value. */
    static const char *const breaks[] = {"\"", "\\n", "\x01", "\x1f", "\x7f", "\xc3\xa9", "\xc3", "\x80", "\xff", "\\u0041"};
    for (size_t b = 0; b < sizeof breaks / sizeof breaks[0]; b++)
        for (size_t at = 0; at <= 24; at++) {
            char t[96];
            size_t n = 0;
            t[n++] = '[', t[n++] = '"';
            for (size_t i = 0; i < at; i++) t[n++] = (char)('a' + i % 26);
            memcpy(t + n, breaks[b], strlen(breaks[b]));
            n += strlen(breaks[b]);
            for (size_t i = 0; i < 9; i++) t[n++] = 'z';
            t[n++] = '"', t[n++] = ']';
            /* an early quote leaves "zzz..." outside the string; a lone lead byte is followed by 'z' */
            int ok = b == 1 || b == 4 || b == 5 || b == 9;
            same_as_jansson(t, n, ok);
            t[0] = '{', t[n - 1] = ':', t[n++] = '1', t[n++] = '}';
            same_as_jansson(t, n, ok);
        }
    /* The error names where it is. */
    json_t *j = NULL;
    vt_error e;
    assert_int_equal(vt_json_parse("{\n  \"a\": tru\n}", 14, &j, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "line 2 column 8"));
}

/* vt_json_dumps writes what json_dumps writes, byte for byte, for every compact flag set. */
static void same_dump(const json_t *j)
{
    static const size_t FLAGS[] = {
        JSON_COMPACT | JSON_ENCODE_ANY, JSON_COMPACT, JSON_COMPACT | JSON_SORT_KEYS,
        JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII, JSON_COMPACT | JSON_PRESERVE_ORDER,
        JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY, JSON_INDENT(2), 0,
    };
    for (size_t i = 0; i < sizeof FLAGS / sizeof FLAGS[0]; i++) {
        char *a = vt_json_dumps(j, FLAGS[i]), *b = json_dumps(j, FLAGS[i]);
        if ((a == NULL) != (b == NULL)) fail_msg("flags %zx: ours %s, jansson %s", FLAGS[i], a ? a : "NULL", b ? b : "NULL");
        if (a != NULL && strcmp(a, b) != 0) fail_msg("flags %zx:\n ours    %s\n jansson %s", FLAGS[i], a, b);
        free(a);
        free(b);
    }
}

static void test_json_dumps_like_jansson(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "{}", "[]", "[[],{},[{}]]", "{\"b\":1,\"a\":2,\"c\":{\"z\":[true,false,null],\"y\":\"\"}}",
        "[0,-1,9223372036854775807,-9223372036854775808,1.5,-0.0,1e300,0.1,1.0]",
        "[\"plain\",\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\"]",
        "{\"\\u00e9\\u20ac\":\"\\ud83d\\ude00 \\u00e9\",\"ascii\":\"x\"}",
        "{\"Z\":1,\"a\":2,\"_\":3,\"A\":4,\"aa\":5,\"\":6}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        json_t *j = doc(texts[i]);
        same_dump(j);
        for (size_t k = 0; json_is_array(j) && k < json_array_size(j); k++) same_dump(json_array_get(j, k));
        json_decref(j);
    }
    /* A long base64url token with escapes around it, as the KBS replies carry. */
    static char tok[12000];
    for (size_t i = 0; i < sizeof tok - 1; i++) tok[i] = "ABCxyz012-_."[i % 12];
    tok[5000] = '"';
    tok[9000] = '\n';
    json_t *t = json_pack("{ss}", "token", tok);
    same_dump(t);
    json_decref(t);
    /* Every byte value at every offset of the eight-byte words the string scan reads at once
     * (and in the tail after them): escaped, copied or refused as jansson does. */
    for (int c = 1; c < 256; c++) {
        for (size_t at = 0; at < 19; at++) {
            char str[19];
            memset(str, 'A', sizeof str);
            str[at] = (char)c;
            json_t *o = json_object();
            json_object_set_new_nocheck(o, "k", json_stringn_nocheck(str, sizeof str));
            same_dump(o);
            json_decref(o);
        }
    }
    /* Scalars at the top: only with JSON_ENCODE_ANY. */
    json_t *sc = json_string("top");
    char *a = vt_json_dumps(sc, JSON_COMPACT);
    assert_null(a);
    a = vt_json_dumps(sc, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_string_equal(a, "\"top\"");
    free(a);
    json_decref(sc);
    /* Malformed UTF-8 (a string made without the check) is refused by both. */
    json_t *bad = json_pack("{so}", "k", json_stringn_nocheck("a\xc3(", 3));
    same_dump(bad);
    assert_null(vt_json_dumps(bad, JSON_COMPACT));
    json_decref(bad);
    assert_null(vt_json_dumps(NULL, JSON_COMPACT));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_required_optional), cmocka_unit_test(test_json_wrong_types),
        cmocka_unit_test(test_json_int_ranges),        cmocka_unit_test(test_json_u64_forms),
        cmocka_unit_test(test_json_hex_text_arrays),   cmocka_unit_test(test_json_allowed_keys),
        cmocka_unit_test(test_json_legacy_getters),    cmocka_unit_test(test_json_parse_like_jansson),
        cmocka_unit_test(test_json_dumps_like_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
