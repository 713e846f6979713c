/* JSON text (RFC 8259) to jansson values: the parser behind vt_json_parse. It accepts exactly
 * what jansson's json_loadb(JSON_REJECT_DUPLICATES) accepts (an object or array at the top,
 * strict numbers, UTF-8 checked per RFC 3629, no \u0000, no duplicate keys, depth 2048) and
 * builds the same values, but scans strings in one pass over the bytes: jansson lexes through
 * a per-character stream and copies every string twice, which made it most of the cost of a
 * key-broker request (an /attest body is a few kilobytes of base64 in strings). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_internal.h"
#include "veritee/json.h"

/* jansson's JSON_PARSER_MAX_DEPTH: every value counts, scalars included. */
#define MAX_DEPTH 2048

typedef struct {
    const uint8_t *s, *end, *p;
    size_t depth;
    char *scratch; /* unescaped text of a string holding escapes */
    size_t scratch_cap;
    char msg[96];
    const uint8_t *at; /* where the error is */
} parser;

/* Byte classes inside a string: 0 plain ASCII, 1 '"', 2 '\\', 3 control, 4 non-ASCII. */
static const uint8_t STRCLASS[256] = {
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};

static json_t *fail(parser *ps, const uint8_t *at, const char *what)
{
    if (ps->msg[0] == 0) {
        snprintf(ps->msg, sizeof ps->msg, "%s", what);
        ps->at = at;
    }
    return NULL;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t')) ps->p++;
}

static int hex4(const uint8_t *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = p[i];
        uint32_t d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10u;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10u;
        else return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static int scratch_room(parser *ps, size_t need)
{
    if (need <= ps->scratch_cap) return 0;
    size_t cap = ps->scratch_cap ? ps->scratch_cap : 256;
    while (cap < need) cap *= 2;
    char *q = realloc(ps->scratch, cap);
    if (q == NULL) return -1;
    ps->scratch = q;
    ps->scratch_cap = cap;
    return 0;
}

/* The string whose opening quote is at ps->p: its text in text and len (pointing into the input
 * when it holds no escape, else into ps->scratch). */
static int scan_string(parser *ps, const char **text, size_t *len)
{
    const uint8_t *start = ++ps->p, *p = start, *end = ps->end;
    /* Fast path: plain bytes up to the closing quote, eight at a time while a word holds none
     * that needs attention, then byte by byte. */
    for (;;) {
        p = json_plain_run(p, end, STRCLASS);
        if (p >= end) return fail(ps, start - 1, "premature end of input in a string"), -1;
        if (STRCLASS[*p] == 4) {
            size_t n = json_utf8_seq(p, end, NULL);
            if (n == 0) return fail(ps, p, "invalid UTF-8 in a string"), -1;
            p += n;
            continue;
        }
        break;
    }
    if (*p == '"') {
        *text = (const char *)start;
        *len = (size_t)(p - start);
        ps->p = p + 1;
        return 0;
    }
    if (*p != '\\') return fail(ps, p, "control character in a string"), -1;
    /* Escapes: the text so far, then decode into the scratch buffer (never longer than the
     * input: every escape is at least as long as what it stands for). */
    size_t o = (size_t)(p - start);
    if (scratch_room(ps, (size_t)(end - start) + 1) != 0) return fail(ps, p, "out of memory"), -1;
    char *q = ps->scratch;
    memcpy(q, start, o);
    while (p < end) {
        uint8_t c = *p;
        uint8_t k = STRCLASS[c];
        if (k == 0) {
            q[o++] = (char)c;
            p++;
        } else if (k == 1) {
            *text = q;
            *len = o;
            ps->p = p + 1;
            return 0;
        } else if (k == 3) {
            return fail(ps, p, "control character in a string"), -1;
        } else if (k == 4) {
            size_t n = json_utf8_seq(p, end, NULL);
            if (n == 0) return fail(ps, p, "invalid UTF-8 in a string"), -1;
            memcpy(q + o, p, n);
            o += n;
            p += n;
        } else {
            if (end - p < 2) break;
            const uint8_t *esc = p;
            c = p[1];
            p += 2;
            switch (c) {
            case '"': q[o++] = '"'; break;
            case '\\': q[o++] = '\\'; break;
            case '/': q[o++] = '/'; break;
            case 'b': q[o++] = '\b'; break;
            case 'f': q[o++] = '\f'; break;
            case 'n': q[o++] = '\n'; break;
            case 'r': q[o++] = '\r'; break;
            case 't': q[o++] = '\t'; break;
            case 'u': {
                uint32_t v, lo;
                if (end - p < 4 || hex4(p, &v) != 0) return fail(ps, esc, "invalid \\u escape"), -1;
                p += 4;
                if (v >= 0xdc00 && v <= 0xdfff) return fail(ps, esc, "invalid Unicode escape (lone low surrogate)"), -1;
                if (v >= 0xd800 && v <= 0xdbff) {
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) != 0 || lo < 0xdc00 ||
                        lo > 0xdfff)
                        return fail(ps, esc, "invalid Unicode escape (high surrogate without a low one)"), -1;
                    p += 6;
                    v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
                }
                if (v == 0) return fail(ps, esc, "\\u0000 is not allowed"), -1;
                if (v < 0x80) {
                    q[o++] = (char)v;
                } else if (v < 0x800) {
                    q[o++] = (char)(0xc0 | v >> 6);
                    q[o++] = (char)(0x80 | (v & 0x3f));
                } else if (v < 0x10000) {
                    q[o++] = (char)(0xe0 | v >> 12);
                    q[o++] = (char)(0x80 | (v >> 6 & 0x3f));
                    q[o++] = (char)(0x80 | (v & 0x3f));
                } else {
                    q[o++] = (char)(0xf0 | v >> 18);
                    q[o++] = (char)(0x80 | (v >> 12 & 0x3f));
                    q[o++] = (char)(0x80 | (v >> 6 & 0x3f));
                    q[o++] = (char)(0x80 | (v & 0x3f));
                }
                break;
            }
            default: return fail(ps, esc, "invalid escape in a string"), -1;
            }
        }
    }
    return fail(ps, start - 1, "premature end of input in a string"), -1;
}

static int is_digit(const uint8_t *p, const uint8_t *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

static json_t *parse_number(parser *ps)
{
    const uint8_t *start = ps->p, *p = start, *end = ps->end;
    int real = 0;
    if (p < end && *p == '-') p++;
    if (!is_digit(p, end)) return fail(ps, start, "invalid token");
    if (*p == '0') {
        p++;
        if (is_digit(p, end)) return fail(ps, start, "invalid token (leading zero)");
    } else {
        while (is_digit(p, end)) p++;
    }
    if (p < end && *p == '.') {
        p++;
        if (!is_digit(p, end)) return fail(ps, start, "invalid token (no digit after the point)");
        while (is_digit(p, end)) p++;
        real = 1;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (!is_digit(p, end)) return fail(ps, start, "invalid token (no digit in the exponent)");
        while (is_digit(p, end)) p++;
        real = 1;
    }
    char buf[64], *heap = NULL, *t = buf;
    size_t n = (size_t)(p - start);
    if (n >= sizeof buf) {
        heap = malloc(n + 1);
        if (heap == NULL) return fail(ps, start, "out of memory");
        t = heap;
    }
    memcpy(t, start, n);
    t[n] = 0;
    json_t *v = NULL;
    errno = 0;
    if (!real) {
        long long x = strtoll(t, NULL, 10);
        if (errno == ERANGE) fail(ps, start, x < 0 ? "too big negative integer" : "too big integer");
        else v = json_integer(x);
    } else {
        double d = strtod(t, NULL);
        if (isinf(d)) fail(ps, start, "real number overflow");
        else v = json_real(d);
    }
    free(heap);
    if (v == NULL) return fail(ps, start, "out of memory");
    ps->p = p;
    return v;
}

static json_t *parse_value(parser *ps);

static json_t *parse_array(parser *ps)
{
    json_t *a = json_array();
    if (a == NULL) return fail(ps, ps->p, "out of memory");
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return a;
    }
    for (;;) {
        json_t *v = parse_value(ps);
        if (v == NULL || json_array_append_new(a, v) != 0) goto bad;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            continue;
        }
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return a;
        }
        fail(ps, ps->p, "']' or ',' expected");
        goto bad;
    }
bad:
    fail(ps, ps->p, "out of memory");
    json_decref(a);
    return NULL;
}

static json_t *parse_object(parser *ps)
{
    json_t *o = json_object();
    if (o == NULL) return fail(ps, ps->p, "out of memory");
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return o;
    }
    for (;;) {
        if (ps->p >= ps->end || *ps->p != '"') {
            fail(ps, ps->p, "string or '}' expected");
            goto bad;
        }
        const uint8_t *kat = ps->p;
        const char *kt;
        size_t kl;
        if (scan_string(ps, &kt, &kl) != 0) goto bad;
        if (json_object_getn(o, kt, kl) != NULL) {
            fail(ps, kat, "duplicate object key");
            goto bad;
        }
        /* The key may live in the scratch buffer the value's strings reuse: copy it first. */
        char kbuf[128], *kheap = NULL, *key = kbuf;
        if (kl >= sizeof kbuf) {
            kheap = malloc(kl + 1);
            if (kheap == NULL) {
                fail(ps, kat, "out of memory");
                goto bad;
            }
            key = kheap;
        }
        memcpy(key, kt, kl);
        key[kl] = 0;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
            free(kheap);
            fail(ps, ps->p, "':' expected");
            goto bad;
        }
        ps->p++;
        skip_ws(ps);
        json_t *v = parse_value(ps);
        int rc = v == NULL ? -1 : json_object_setn_new_nocheck(o, key, kl, v);
        free(kheap);
        if (rc != 0) goto bad;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            continue;
        }
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            return o;
        }
        fail(ps, ps->p, "'}' or ',' expected");
        goto bad;
    }
bad:
    fail(ps, ps->p, "out of memory");
    json_decref(o);
    return NULL;
}

static int literal(parser *ps, const char *word, size_t n)
{
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) return -1;
    ps->p += n;
    return 0;
}

static json_t *parse_value(parser *ps)
{
    if (++ps->depth > MAX_DEPTH) return fail(ps, ps->p, "maximum parsing depth reached");
    json_t *v = NULL;
    if (ps->p >= ps->end) {
        v = fail(ps, ps->p, "premature end of input");
    } else {
        switch (*ps->p) {
        case '{': v = parse_object(ps); break;
        case '[': v = parse_array(ps); break;
        case '"': {
            const char *t;
            size_t l;
            if (scan_string(ps, &t, &l) == 0) {
                v = json_stringn_nocheck(t, l);
                if (v == NULL) fail(ps, ps->p, "out of memory");
            }
            break;
        }
        case 't': v = literal(ps, "true", 4) == 0 ? json_true() : fail(ps, ps->p, "invalid token"); break;
        case 'f': v = literal(ps, "false", 5) == 0 ? json_false() : fail(ps, ps->p, "invalid token"); break;
        case 'n': v = literal(ps, "null", 4) == 0 ? json_null() : fail(ps, ps->p, "invalid token"); break;
        default: v = parse_number(ps); break;
        }
    }
    ps->depth--;
    return v;
}

vt_err vt_json_parse(const char *text, size_t len, json_t **out, vt_error *err)
{
    parser ps = {.s = (const uint8_t *)text, .end = (const uint8_t *)text + len, .p = (const uint8_t *)text};
    json_t *j = NULL;
    skip_ws(&ps);
    if (ps.p >= ps.end || (*ps.p != '{' && *ps.p != '[')) {
        fail(&ps, ps.p, "'[' or '{' expected");
    } else {
        j = parse_value(&ps);
        skip_ws(&ps);
        if (j != NULL && ps.p != ps.end) {
            fail(&ps, ps.p, "end of input expected");
            json_decref(j);
            j = NULL;
        }
    }
    free(ps.scratch);
    if (j == NULL) {
        /* Line and column (1-based, in bytes) of the offending byte. */
        int line = 1, col = 1;
        for (const uint8_t *p = ps.s; p < ps.at; p++) {
            if (*p == '\n') line++, col = 1;
            else col++;
        }
        return vt_error_set(err, VT_E_INVALID, "parse", "JSON error at line %d column %d: %s", line, col, ps.msg);
    }
    *out = j;
    return VT_OK;
}
