/* RFC 8785 canonical JSON (include/veritee/jcs.h). Numbers follow ECMAScript
 * Number.prototype.toString (ECMA-262 section 7.1.12.1): the shortest digits that round-trip. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/jcs.h"
#include "veritee/writer.h"

#define MAX_DEPTH 64

typedef vt_writer sb; /* the output text (vt_writer keeps it NUL-terminated) */

static void put(sb *b, const char *s, size_t n) { vt_write_bytes(b, "JSON text", s, n); }

static void puts_(sb *b, const char *s) { put(b, s, strlen(s)); }

/* Decode one UTF-8 sequence at s (n bytes left); returns its length or 0 when invalid. */
static size_t utf8_next(const unsigned char *s, size_t n, unsigned *cp)
{
    if (n == 0) return 0;
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2, c &= 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, c &= 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, c &= 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return 0;
    *cp = c;
    return len;
}

/* The escape RFC 8785 section 3.2.2.2 prescribes for the byte c, NULL when it stands for itself
 * (printable ASCII other than '"' and '\\'; bytes of multi-byte sequences are checked apart). */
static const char *escape_of(unsigned char c, char esc[8])
{
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\b': return "\\b";
    case '\f': return "\\f";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default:
        if (c >= 0x20) return NULL;
        snprintf(esc, 8, "\\u%04x", c);
        return esc;
    }
}

/* The string in quotes, written in runs: the characters that stand for themselves (printable
 * ASCII, and whole multi-byte sequences once checked) go out together, each escape apart. */
static bool put_string(sb *b, const char *s, size_t n)
{
    put(b, "\"", 1);
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0; /* start of the pending run */
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        if (c >= 0x80) { /* a multi-byte sequence: valid UTF-8 or refused */
            unsigned cp;
            size_t l = utf8_next(u + i, n - i, &cp);
            if (l == 0) return false;
            i += l;
            continue;
        }
        char esc[8];
        const char *e = escape_of(c, esc);
        if (e != NULL) {
            put(b, s + run, i - run);
            puts_(b, e);
            run = i + 1;
        }
        i++;
    }
    put(b, s + run, n - run);
    put(b, "\"", 1);
    return true;
}

/* ECMAScript Number::toString for finite doubles. */
static bool put_number(sb *b, double d)
{
    if (!isfinite(d)) return false;
    if (d == 0) {
        puts_(b, "0");
        return true;
    }
    char buf[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
        if (strtod(buf, NULL) == d) break;
    }
    /* buf = [-]D[.DDD]e[+-]XX: digits and exponent */
    char digits[24];
    size_t nd = 0;
    const char *p = buf;
    bool neg = *p == '-';
    if (neg) p++;
    for (; *p && *p != 'e'; p++)
        if (*p != '.') digits[nd++] = *p;
    int e10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = 0;
    int k = (int)nd, n = e10 + 1; /* value = 0.digits * 10^n */
    if (neg) puts_(b, "-");
    if (k <= n && n <= 21) {
        put(b, digits, (size_t)k);
        for (int i = 0; i < n - k; i++) puts_(b, "0");
    } else if (0 < n && n <= 21) {
        put(b, digits, (size_t)n);
        puts_(b, ".");
        put(b, digits + n, (size_t)(k - n));
    } else if (-6 < n && n <= 0) {
        puts_(b, "0.");
        for (int i = 0; i < -n; i++) puts_(b, "0");
        put(b, digits, (size_t)k);
    } else {
        put(b, digits, 1);
        if (k > 1) {
            puts_(b, ".");
            put(b, digits + 1, (size_t)(k - 1));
        }
        char ex[16];
        snprintf(ex, sizeof ex, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
        puts_(b, ex);
    }
    return true;
}

/* Compare two UTF-8 keys by UTF-16 code units. */
static int utf16_cmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    size_t xl = strlen(a), yl = strlen(b), i = 0, j = 0;
    unsigned xs = 0, ys = 0; /* pending low surrogates */
    for (;;) {
        unsigned cx, cy;
        if (xs) cx = xs, xs = 0;
        else if (i >= xl) cx = 0x110000;
        else {
            unsigned cp = 0;
            size_t l = utf8_next(x + i, xl - i, &cp);
            i += l ? l : 1;
            if (cp >= 0x10000) {
                cx = 0xd800 + ((cp - 0x10000) >> 10);
                xs = 0xdc00 + ((cp - 0x10000) & 0x3ff);
            } else cx = cp;
        }
        if (ys) cy = ys, ys = 0;
        else if (j >= yl) cy = 0x110000;
        else {
            unsigned cp = 0;
            size_t l = utf8_next(y + j, yl - j, &cp);
            j += l ? l : 1;
            if (cp >= 0x10000) {
                cy = 0xd800 + ((cp - 0x10000) >> 10);
                ys = 0xdc00 + ((cp - 0x10000) & 0x3ff);
            } else cy = cp;
        }
        if (cx != cy) return cx < cy ? -1 : 1;
        if (cx == 0x110000) return 0;
    }
}

static bool ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80) return false;
    return true;
}

/* Keys in ASCII (all of the KBS protocol's) have one UTF-16 code unit per byte, of the byte's
 * value: their order is strcmp's. */
static int key_cmp(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    if (ascii(x) && ascii(y)) return strcmp(x, y);
    return utf16_cmp(x, y);
}

static bool emit(sb *b, const json_t *v, int depth)
{
    if (depth > MAX_DEPTH) return false;
    switch (json_typeof(v)) {
    case JSON_NULL: puts_(b, "null"); return true;
    case JSON_TRUE: puts_(b, "true"); return true;
    case JSON_FALSE: puts_(b, "false"); return true;
    case JSON_INTEGER: {
        json_int_t i = json_integer_value(v);
        /* beyond 2^53 an integer is not an exact IEEE double: serialise as ECMAScript would */
        if (i > 9007199254740992LL || i < -9007199254740992LL) return put_number(b, (double)i);
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)i);
        puts_(b, buf);
        return true;
    }
    case JSON_REAL: return put_number(b, json_real_value(v));
    case JSON_STRING: return put_string(b, json_string_value(v), json_string_length(v));
    case JSON_ARRAY: {
        puts_(b, "[");
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) puts_(b, ",");
            if (!emit(b, json_array_get(v, i), depth + 1)) return false;
        }
        puts_(b, "]");
        return true;
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(v), k = 0;
        const char **keys = malloc((n ? n : 1) * sizeof *keys);
        if (keys == NULL) return false;
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)v, key, val) keys[k++] = key;
        qsort(keys, n, sizeof *keys, key_cmp);
        bool ok = true;
        puts_(b, "{");
        for (size_t i = 0; ok && i < n; i++) {
            if (i) puts_(b, ",");
            ok = put_string(b, keys[i], strlen(keys[i]));
            puts_(b, ":");
            ok = ok && emit(b, json_object_get(v, keys[i]), depth + 1);
        }
        puts_(b, "}");
        free(keys);
        return ok;
    }
    }
    return false;
}

vt_err vt_jcs(const json_t *v, vt_buf *out, vt_error *err)
{
    sb b;
    vt_writer_init(&b, "canonical JSON", NULL);
    bool ok = emit(&b, v, 0);
    vt_err failed = vt_writer_status(&b);
    if (!ok || failed) {
        vt_writer_free(&b);
        return vt_error_set(err, failed ? VT_E_NOMEM : VT_E_INVALID, "jcs",
                            "cannot canonicalise JSON (non-finite number, invalid UTF-8 or too deep)");
    }
    vt_buf_free(out);
    return vt_writer_take(&b, &out->ptr, &out->len);
}
