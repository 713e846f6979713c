/* The agent's JSON hot path: its requests' compact output (vt_json_dumps) is byte for byte
 * jansson's json_dumps(JSON_COMPACT) on every kind of value, and the /attest token shortcut takes
 * only the exact {"token":"<JWS chars>"} shape, giving what the parser would. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "agent/agent_internal.h"

/* the agent writes its requests with vt_json_dumps(JSON_COMPACT): the cases it depends on */
static char *vt_json_dumps_compact(const json_t *j) { return vt_json_dumps(j, JSON_COMPACT); }

static void same_as_jansson(json_t *j)
{
    char *want = json_dumps(j, JSON_COMPACT);
    char *got = vt_json_dumps_compact(j);
    assert_non_null(want);
    assert_non_null(got);
    if (strcmp(want, got) != 0) fail_msg("want %s\n got %s", want, got);
    free(want);
    free(got);
    json_decref(j);
}

static void test_dump_matches_jansson(void **state)
{
    (void)state;
    same_as_jansson(json_object());
    same_as_jansson(json_array());
    same_as_jansson(json_pack("{s:s, s:i, s:I, s:f, s:b, s:b, s:n, s:[], s:{}}", "s", "plain", "i", -42, "big",
                              (json_int_t)9007199254740993LL, "real", 3.25, "t", 1, "f", 0, "nul", "a", "o"));
    /* strings that need escapes or are not ASCII: jansson's own encoding */
    same_as_jansson(json_pack("[s, s, s, s, s, s]", "quote\"back\\slash", "tab\tnl\ncr\r", "ctl\x01\x1f",
                              "del\x7f", "slash/ok", "utf8 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
    json_t *o = json_object();
    json_object_set_new(o, "key \"quoted\"", json_string("v"));
    json_object_setn_new(o, "nul\0key", 7, json_true()); /* a key with an embedded NUL */
    json_object_set_new(o, "z", json_pack("[[[{s:[i,i]}]]]", "deep", 1, 2));
    json_object_set_new(o, "a", json_real(-0.001));
    same_as_jansson(o);
    /* the shape of an attestation request, with a long base64 string */
    char *b64 = malloc(8001);
    for (int i = 0; i < 8000; i++) b64[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[i % 64];
    b64[8000] = 0;
    same_as_jansson(json_pack("{s:n, s:{s:s, s:{s:s, s:s, s:s, s:s}}, s:{s:{s:s}, s:s}}", "init-data", "runtime-data",
                              "nonce", "MvONa2AUPbiMZk8gi80Kw6DL3TTZqWuY2hJat2qbQdc=", "tee-pubkey", "kty", "EC", "crv",
                              "P-256", "x", "WYMOXNevQa3ZlT1uox9fL-EFPsmSLqGGx-lAAQC-5UQ", "y", "Wt4e", "tee-evidence",
                              "primary_evidence", "quote", b64, "additional_evidence", ""));
    free(b64);
    /* only containers, as json_dumps without JSON_ENCODE_ANY */
    json_t *s = json_string("x");
    assert_null(vt_json_dumps_compact(s));
    json_decref(s);
    assert_null(vt_json_dumps_compact(NULL));
}

static void fast(const char *body, bool want_ok)
{
    const char *tok = NULL;
    size_t n = 0;
    bool ok = agent_token_fast(body, strlen(body), &tok, &n);
    if (ok != want_ok) fail_msg("%s: fast path %d, expected %d", body, ok, want_ok);
    if (!ok) return;
    json_t *j = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
    const char *t = json_string_value(json_object_get(j, "token"));
    assert_non_null(t);
    assert_int_equal(strlen(t), n);
    assert_memory_equal(t, tok, n);
    json_decref(j);
}

static void test_token_fast_path(void **state)
{
    (void)state;
    fast("{\"token\":\"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_\"}", true);
    fast("{\"token\":\"a\"}", true);
    fast("{\"token\":\"\"}", false);                       /* empty: the parser path refuses it */
    fast("{ \"token\":\"abc\"}", false);                   /* whitespace */
    fast("{\"token\": \"abc\"}", false);
    fast("{\"token\":\"abc\"} ", false);
    fast("{\"token\":\"a\\u0062c\"}", false);              /* an escape */
    fast("{\"token\":\"a\\\"}", false);
    fast("{\"token\":\"abc\",\"x\":\"y\"}", false);        /* more members */
    fast("{\"token\":\"abc\"}}", false);
    fast("{\"tokens\":\"abc\"}", false);
    fast("{\"token\":\"a\"bc\"}", false);
    fast("{\"token\":\"ab\xc3\xa9\"}", false);             /* not JWS characters */
    fast("{\"token\":\"", false);
    fast("", false);
    const char *tok;
    size_t n;
    assert_false(agent_token_fast(NULL, 0, &tok, &n));
    /* a body cut short inside the token is not a token */
    const char *b = "{\"token\":\"abc\"}";
    for (size_t len = 0; len < strlen(b); len++) assert_false(agent_token_fast(b, len, &tok, &n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dump_matches_jansson),
        cmocka_unit_test(test_token_fast_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
