/* The agent's JSON output: its requests' compact form (vt_json_dumps) is byte for byte jansson's
 * json_dumps(JSON_COMPACT) on every kind of value. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/json.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dump_matches_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
