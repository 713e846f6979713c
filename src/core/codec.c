/* Hex and base64 codecs (RFC 4648 sections 4 and 5) and owned buffers. */
#include <stdlib.h>
#include <string.h>

#include "veritee/codec.h"

void vt_buf_free(vt_buf *b)
{
    if (b == NULL) return;
    free(b->ptr);
    b->ptr = NULL;
    b->len = 0;
}

void vt_buf_free_secret(vt_buf *b)
{
    if (b == NULL) return;
    if (b->ptr != NULL) {
        volatile uint8_t *v = b->ptr;
        for (size_t i = 0; i < b->len; i++) v[i] = 0;
    }
    vt_buf_free(b);
}

vt_err vt_buf_set(vt_buf *b, const void *p, size_t n, vt_error *err)
{
    uint8_t *q = malloc(n ? n : 1);
    if (q == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory (%zu bytes)", n);
    if (n) memcpy(q, p, n);
    vt_buf_free(b);
    b->ptr = q;
    b->len = n;
    return VT_OK;
}

static const char HEX[] = "0123456789abcdef";

void vt_hex_encode(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = HEX[p[i] >> 4];
        out[2 * i + 1] = HEX[p[i] & 15];
    }
    out[2 * n] = '\0';
}

char *vt_hex_dup(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 1);
    if (s != NULL) vt_hex_encode(p, n, s);
    return s;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static vt_err hex_into(const char *hex, size_t n, uint8_t *out, vt_error *err)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return vt_error_set(err, VT_E_INVALID, "parse", "invalid hex character at position %zu",
                                hi < 0 ? 2 * i : 2 * i + 1);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return VT_OK;
}

vt_err vt_hex_decode_fixed(const char *hex, uint8_t *out, size_t n, vt_error *err)
{
    size_t l = strnlen(hex, 2 * n + 1);
    if (l != 2 * n)
        return vt_error_set(err, VT_E_INVALID, "parse", "hex value has %zu characters, expected %zu",
                            strlen(hex), 2 * n);
    return hex_into(hex, n, out, err);
}

vt_err vt_hex_decode(const char *hex, size_t hexlen, vt_buf *out, vt_error *err)
{
    if (hexlen % 2 != 0)
        return vt_error_set(err, VT_E_INVALID, "parse", "hex value has odd length %zu", hexlen);
    uint8_t *p = malloc(hexlen / 2 ? hexlen / 2 : 1);
    if (p == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    vt_err rc = hex_into(hex, hexlen / 2, p, err);
    if (rc != VT_OK) {
        free(p);
        return rc;
    }
    vt_buf_free(out);
    out->ptr = p;
    out->len = hexlen / 2;
    return VT_OK;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *b64_encode(const uint8_t *p, size_t n, const char *a, bool pad)
{
    size_t outlen = 4 * ((n + 2) / 3) + 1;
    char *s = malloc(outlen);
    if (s == NULL) return NULL;
    size_t j = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        s[j++] = a[v >> 18 & 63];
        s[j++] = a[v >> 12 & 63];
        s[j++] = a[v >> 6 & 63];
        s[j++] = a[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        s[j++] = a[v >> 18 & 63];
        s[j++] = a[v >> 12 & 63];
        if (i + 1 < n) s[j++] = a[v >> 6 & 63];
        else if (pad) s[j++] = '=';
        if (pad) s[j++] = '=';
    }
    s[j] = '\0';
    return s;
}

char *vt_b64_encode(const uint8_t *p, size_t n, bool url)
{
    return b64_encode(p, n, url ? B64URL : B64, !url);
}

char *vt_b64url_encode_padded(const uint8_t *p, size_t n)
{
    return b64_encode(p, n, B64URL, true);
}

/* The value of each base64 digit of either alphabet (RFC 4648 sections 4 and 5: '+' and '-'
 * are 62, '/' and '_' are 63), NO_ for every byte that is no digit: one load per character. */
#define NO_ 0xff
static const uint8_t B64DEC[256] = {
    NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_,
    NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_,
    NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_,  62, NO_,  62, NO_,  63,
     52,  53,  54,  55,  56,  57,  58,  59,  60,  61, NO_, NO_, NO_, NO_, NO_, NO_,
    NO_,   0,   1,   2,   3,   4,   5,   6,   7,   8,   9,  10,  11,  12,  13,  14,
     15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25, NO_, NO_, NO_, NO_,  63,
    NO_,  26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,
     41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51, NO_, NO_, NO_, NO_, NO_,
    NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_,
    NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_,
    NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_,
    NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_,
    NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_,
    NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_,
    NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_,
    NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_, NO_,
};
#undef NO_

vt_err vt_b64_decode(const char *s, size_t slen, vt_buf *out, vt_error *err)
{
    while (slen > 0 && s[slen - 1] == '=') slen--;
    if (slen % 4 == 1)
        return vt_error_set(err, VT_E_INVALID, "parse", "base64 value has impossible length");
    uint8_t *p = malloc(slen * 3 / 4 + 1);
    if (p == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    const uint8_t *u = (const uint8_t *)s;
    size_t i = 0, j = 0;
    /* Whole quanta: four digits make three bytes; a non-digit sets bit 8 or above of the OR. */
    for (; i + 4 <= slen; i += 4) {
        uint32_t a = B64DEC[u[i]], b = B64DEC[u[i + 1]], c = B64DEC[u[i + 2]], d = B64DEC[u[i + 3]];
        if ((a | b | c | d) > 63) break;
        uint32_t v = a << 18 | b << 12 | c << 6 | d;
        p[j++] = (uint8_t)(v >> 16);
        p[j++] = (uint8_t)(v >> 8);
        p[j++] = (uint8_t)v;
    }
    /* The tail (two or three digits), or the quantum holding a non-digit, digit by digit. */
    uint32_t acc = 0;
    int bits = 0;
    for (; i < slen; i++) {
        uint32_t v = B64DEC[u[i]];
        if (v > 63) {
            free(p);
            return vt_error_set(err, VT_E_INVALID, "parse",
                                "invalid base64 character at position %zu", i);
        }
        acc = acc << 6 | v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            p[j++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    vt_buf_free(out);
    out->ptr = p;
    out->len = j;
    return VT_OK;
}

vt_err vt_percent_decode(const char *s, size_t len, char **out, vt_error *err)
{
    *out = NULL;
    char *o = malloc(len + 1), *q = o;
    if (o == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            if (s[i] == 0) break;
            *q++ = s[i];
            continue;
        }
        int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
        int lo = i + 2 < len ? hexval(s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(o);
            return vt_error_set(err, VT_E_INVALID, "percent_encoding", "bad percent-encoding at offset %zu", i);
        }
        *q++ = (char)(hi * 16 + lo);
        i += 2;
    }
    *q = 0;
    *out = o;
    return VT_OK;
}
