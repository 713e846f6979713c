/* Compact JSON text of a jansson value: the bytes json_dumps() writes for the same flags, but
 * strings are copied in runs between the bytes that need an escape, not character by character
 * through a callback (jansson's dump was a tenth of a key-broker round: replies carry kilobytes
 * of base64url in tokens). Reals and the indented forms are left to jansson itself. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_internal.h"
#include "veritee/json.h"
#include "veritee/writer.h"

#define HANDLED (JSON_COMPACT | JSON_ENSURE_ASCII | JSON_SORT_KEYS | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)

/* 0 for the bytes copied as they are; 1 for the ASCII bytes a string must escape (jansson: '"',
 * '\\' and the controls; 0x7f not), 2 for the bytes that begin (or are not) a UTF-8 sequence.
 * One lookup per byte in the common case. */
static const uint8_t SPECIAL[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

static const char UHEX[] = "0123456789ABCDEF";

static void put_u16(vt_writer *w, uint32_t v)
{
    char e[6] = {'\\', 'u', UHEX[v >> 12 & 15], UHEX[v >> 8 & 15], UHEX[v >> 4 & 15], UHEX[v & 15]};
    vt_write_bytes(w, "json", e, sizeof e);
}

size_t json_utf8_seq(const uint8_t *p, const uint8_t *end, uint32_t *cp)
{
    uint8_t c = p[0];
    size_t n;
    uint32_t v;
    if (c >= 0xc2 && c <= 0xdf) n = 2, v = c & 0x1fu;
    else if (c >= 0xe0 && c <= 0xef) n = 3, v = c & 0x0fu;
    else if (c >= 0xf0 && c <= 0xf4) n = 4, v = c & 0x07u;
    else return 0;
    if ((size_t)(end - p) < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        v = v << 6 | (p[i] & 0x3fu);
    }
    if (n == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) return 0;
    if (n == 4 && (v < 0x10000 || v > 0x10ffff)) return 0;
    if (cp != NULL) *cp = v;
    return n;
}

static int dump_string(vt_writer *w, const char *s, size_t len, size_t flags)
{
    const uint8_t *p = (const uint8_t *)s, *end = p + len, *run = p;
    vt_write_bytes(w, "json", "\"", 1);
    while (p < end) {
        p = json_plain_run(p, end, SPECIAL); /* copied as they are (tokens: kilobytes of base64url) */
        if (p == end) break;
        uint8_t c = *p;
        if (SPECIAL[c] == 2) {
            uint32_t cp;
            size_t n = json_utf8_seq(p, end, &cp);
            if (n == 0) return -1; /* jansson refuses to write malformed UTF-8 */
            if (!(flags & JSON_ENSURE_ASCII)) {
                p += n;
                continue;
            }
            vt_write_bytes(w, "json", run, (size_t)(p - run));
            if (cp < 0x10000) {
                put_u16(w, cp);
            } else {
                cp -= 0x10000;
                put_u16(w, 0xd800 | (cp >> 10));
                put_u16(w, 0xdc00 | (cp & 0x3ff));
            }
            p += n;
            run = p;
            continue;
        }
        vt_write_bytes(w, "json", run, (size_t)(p - run));
        const char *e = NULL;
        switch (c) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        default: break;
        }
        if (e != NULL) vt_write_bytes(w, "json", e, 2);
        else put_u16(w, c);
        run = ++p;
    }
    vt_write_bytes(w, "json", run, (size_t)(p - run));
    vt_write_bytes(w, "json", "\"", 1);
    return 0;
}

typedef struct {
    const char *key;
    size_t len;
    json_t *value;
} member;

static int cmp_member(const void *a, const void *b)
{
    return strcmp(((const member *)a)->key, ((const member *)b)->key);
}

/* Deeper than any text vt_json_parse or json_loadb accepts; a cycle ends here, not in a crash. */
#define MAX_DEPTH 4096

static int dump_value(vt_writer *w, const json_t *j, size_t flags, size_t depth);

static int dump_object(vt_writer *w, const json_t *j, size_t flags, size_t depth)
{
    size_t n = json_object_size(j), i = 0;
    if (n == 0) return vt_write_bytes(w, "json", "{}", 2) == VT_OK ? 0 : -1;
    member one, *m = n == 1 ? &one : malloc(n * sizeof *m);
    if (m == NULL) return -1;
    for (void *it = json_object_iter((json_t *)j); it != NULL && i < n; it = json_object_iter_next((json_t *)j, it), i++) {
        m[i].key = json_object_iter_key(it);
        m[i].len = json_object_iter_key_len(it);
        m[i].value = json_object_iter_value(it);
    }
    int rc = i == n ? 0 : -1;
    if (rc == 0 && (flags & JSON_SORT_KEYS) && n > 1) qsort(m, n, sizeof *m, cmp_member);
    vt_write_bytes(w, "json", "{", 1);
    for (i = 0; rc == 0 && i < n; i++) {
        if (i > 0) vt_write_bytes(w, "json", ",", 1);
        rc = dump_string(w, m[i].key, m[i].len, flags);
        if (rc == 0) {
            vt_write_bytes(w, "json", ":", 1);
            rc = dump_value(w, m[i].value, flags, depth + 1);
        }
    }
    vt_write_bytes(w, "json", "}", 1);
    if (m != &one) free(m);
    return rc;
}

static int dump_value(vt_writer *w, const json_t *j, size_t flags, size_t depth)
{
    if (depth > MAX_DEPTH) return -1;
    switch (json_typeof(j)) {
    case JSON_OBJECT: return dump_object(w, j, flags, depth);
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        vt_write_bytes(w, "json", "[", 1);
        for (size_t i = 0; i < n; i++) {
            if (i > 0) vt_write_bytes(w, "json", ",", 1);
            if (dump_value(w, json_array_get(j, i), flags, depth + 1) != 0) return -1;
        }
        vt_write_bytes(w, "json", "]", 1);
        return 0;
    }
    case JSON_STRING: return dump_string(w, json_string_value(j), json_string_length(j), flags);
    case JSON_INTEGER: vt_write_fmt(w, "%" JSON_INTEGER_FORMAT, json_integer_value(j)); return 0;
    case JSON_REAL: {
        /* jansson's shortest-round-trip formatting of doubles, as it is */
        char *t = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        if (t == NULL) return -1;
        vt_write_str(w, t);
        free(t);
        return 0;
    }
    case JSON_TRUE: vt_write_bytes(w, "json", "true", 4); return 0;
    case JSON_FALSE: vt_write_bytes(w, "json", "false", 5); return 0;
    case JSON_NULL: vt_write_bytes(w, "json", "null", 4); return 0;
    }
    return -1;
}

char *vt_json_dumps(const json_t *j, size_t flags)
{
    if (j == NULL) return NULL;
    if ((flags & ~(size_t)HANDLED) != 0 || !(flags & JSON_COMPACT)) return json_dumps(j, flags);
    if (!(flags & JSON_ENCODE_ANY) && !json_is_object(j) && !json_is_array(j)) return NULL;
    vt_writer w;
    vt_writer_init(&w, "JSON text", NULL);
    if (dump_value(&w, j, flags, 1) != 0) {
        vt_writer_free(&w);
        return NULL;
    }
    uint8_t *out = NULL;
    size_t len;
    if (vt_writer_take(&w, &out, &len) != VT_OK) return NULL;
    return (char *)out;
}
