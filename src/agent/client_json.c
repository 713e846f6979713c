/* The agent's JSON hot path: compact output of its requests and the /attest answer's token
 * (agent_internal.h). Anything unusual goes through jansson, so the bytes are jansson's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_internal.h"
#include "veritee/writer.h"

/* Byte classes (constant): PLAIN needs no JSON escape, i.e. printable ASCII other than '"' and
 * '\\' (jansson escapes control characters and, with its default flags, passes UTF-8 and '/'
 * through: such strings go to jansson); JWS is a character of a JWS compact serialisation
 * (base64url and '.'). One table lookup per byte: these strings are kilobytes of base64. */
enum { PLAIN = 1, JWS = 2 };
static const unsigned char CLASS[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 1,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1,
    1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 1, 0, 1, 1, 3,
    1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 1, 1, 1, 1, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static bool all_in(const char *s, size_t n, unsigned char c)
{
    for (size_t i = 0; i < n; i++)
        if (!(CLASS[(unsigned char)s[i]] & c)) return false;
    return true;
}

static void put(vt_writer *w, const void *p, size_t n) { (void)vt_write_bytes(w, "JSON", p, n); }

/* A string (value or key) as JSON: quoted directly when plain, else jansson's encoding. */
static void put_string(vt_writer *w, const char *s, size_t n)
{
    if (all_in(s, n, PLAIN)) {
        put(w, "\"", 1);
        put(w, s, n);
        put(w, "\"", 1);
        return;
    }
    json_t *v = json_stringn_nocheck(s, n);
    char *t = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(v);
    if (t == NULL) {
        w->failed = w->failed ? w->failed : VT_E_NOMEM;
        return;
    }
    put(w, t, strlen(t));
    free(t);
}

static void put_value(vt_writer *w, const json_t *j, int depth)
{
    if (depth > 2048) { /* jansson's own limit for output */
        w->failed = VT_E_INVALID;
        return;
    }
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *k;
        size_t kl;
        json_t *v;
        bool first = true;
        put(w, "{", 1);
        json_object_keylen_foreach((json_t *)j, k, kl, v) {
            if (!first) put(w, ",", 1);
            first = false;
            put_string(w, k, kl);
            put(w, ":", 1);
            put_value(w, v, depth + 1);
        }
        put(w, "}", 1);
        return;
    }
    case JSON_ARRAY:
        put(w, "[", 1);
        for (size_t i = 0; i < json_array_size(j); i++) {
            if (i) put(w, ",", 1);
            put_value(w, json_array_get(j, i), depth + 1);
        }
        put(w, "]", 1);
        return;
    case JSON_STRING:
        put_string(w, json_string_value(j), json_string_length(j));
        return;
    case JSON_INTEGER: {
        char b[32];
        int n = snprintf(b, sizeof b, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        put(w, b, (size_t)n);
        return;
    }
    case JSON_TRUE: put(w, "true", 4); return;
    case JSON_FALSE: put(w, "false", 5); return;
    case JSON_NULL: put(w, "null", 4); return;
    default: { /* reals: jansson's formatting */
        char *t = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        if (t == NULL) {
            w->failed = w->failed ? w->failed : VT_E_NOMEM;
            return;
        }
        put(w, t, strlen(t));
        free(t);
    }
    }
}

char *agent_json_dump(const json_t *j)
{
    if (j == NULL || (!json_is_object(j) && !json_is_array(j))) return NULL; /* as json_dumps */
    vt_writer w;
    vt_writer_init(&w, "JSON", NULL);
    put_value(&w, j, 0);
    uint8_t *out = NULL;
    size_t n;
    if (vt_writer_take(&w, &out, &n) != VT_OK) return NULL;
    return (char *)out;
}

bool agent_token_fast(const char *body, size_t len, const char **tok, size_t *tok_len)
{
    static const char pre[] = "{\"token\":\"";
    const size_t pl = sizeof pre - 1;
    if (body == NULL || len < pl + 3 || memcmp(body, pre, pl) != 0 || body[len - 2] != '"' || body[len - 1] != '}')
        return false;
    if (!all_in(body + pl, len - pl - 2, JWS)) return false;
    *tok = body + pl;
    *tok_len = len - pl - 2;
    return true;
}
