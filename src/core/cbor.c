/* Bounded CBOR reader (include/veritee/cbor.h), RFC 8949 section 3 (encoding), 5.3 (validity)
 * and 5.6 (map keys). Every read goes through vt_reader; nothing is allocated except the key
 * list of a large map while checking for duplicates. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/cbor.h"

static const char *major_name(unsigned m)
{
    static const char *const names[] = {"an unsigned integer", "a negative integer",
                                        "a byte string",       "a text string",
                                        "an array",            "a map",
                                        "a tag",               "a simple value or float"};
    return m < 8 ? names[m] : "?";
}

static vt_err fail(const vt_cbor *c, int code, const char *field, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static vt_err fail(const vt_cbor *c, int code, const char *field, size_t off, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return vt_error_set(c->r.err, code, "cbor", "%s: %s at offset %zu: %s", c->r.what,
                        field ? field : "item", off, msg);
}

static unsigned depth_limit(const vt_cbor *c)
{
    unsigned d = c->opts.max_depth ? c->opts.max_depth : VT_CBOR_DEPTH_DEFAULT;
    return d > VT_CBOR_DEPTH_MAX ? VT_CBOR_DEPTH_MAX : d;
}

void vt_cbor_init(vt_cbor *c, const uint8_t *buf, size_t len, const vt_cbor_opts *opts,
                  const char *what, vt_error *err)
{
    vt_reader_init(&c->r, buf, len, what ? what : "CBOR", err);
    memset(&c->opts, 0, sizeof c->opts);
    if (opts != NULL) c->opts = *opts;
}

size_t vt_cbor_remaining(const vt_cbor *c) { return vt_reader_remaining(&c->r); }
size_t vt_cbor_offset(const vt_cbor *c) { return c->r.off; }

vt_err vt_cbor_read_head(vt_cbor *c, const char *field, vt_cbor_head *h)
{
    uint8_t ib;
    h->off = c->r.off;
    VT_GUARD(vt_read_u8(&c->r, field ? field : "item", &ib));
    h->major = (vt_cbor_major)(ib >> 5);
    h->ai = ib & 31;
    h->arg = 0;
    h->indefinite = false;
    if (h->ai < 24) {
        h->arg = h->ai;
    } else if (h->ai <= 27) {
        vt_bytes v;
        VT_GUARD(vt_read_view(&c->r, field ? field : "item", (size_t)1 << (h->ai - 24), &v));
        for (size_t i = 0; i < v.len; i++) h->arg = h->arg << 8 | v.ptr[i];
        if (h->major == VT_CBOR_SIMPLE && h->ai == 24 && h->arg < 32)
            return fail(c, VT_E_INVALID, field, h->off,
                        "simple value %u in the two-byte form (not well-formed)",
                        (unsigned)h->arg);
    } else if (h->ai < 31) {
        return fail(c, VT_E_INVALID, field, h->off, "reserved additional information %u",
                    (unsigned)h->ai);
    } else if (h->major == VT_CBOR_UINT || h->major == VT_CBOR_NINT || h->major == VT_CBOR_TAG) {
        return fail(c, VT_E_INVALID, field, h->off, "indefinite length on %s",
                    major_name(h->major));
    } else if (h->major != VT_CBOR_SIMPLE) {
        h->indefinite = true;
    }
    return VT_OK;
}

vt_err vt_cbor_peek(const vt_cbor *c, vt_cbor_head *h)
{
    vt_cbor tmp = *c;
    return vt_cbor_read_head(&tmp, NULL, h);
}

static bool is_break(const vt_cbor_head *h) { return h->major == VT_CBOR_SIMPLE && h->ai == 31; }

/* RFC 3629: shortest forms only, no surrogates, at most U+10FFFF. */
static bool utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        size_t k;
        uint32_t cp, min;
        if (b < 0x80) { i++; continue; }
        if ((b & 0xe0) == 0xc0) { k = 1; cp = b & 0x1f; min = 0x80; }
        else if ((b & 0xf0) == 0xe0) { k = 2; cp = b & 0x0f; min = 0x800; }
        else if ((b & 0xf8) == 0xf0) { k = 3; cp = b & 0x07; min = 0x10000; }
        else return false;
        if (n - i <= k) return false;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xc0) != 0x80) return false;
            cp = cp << 6 | (p[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += k + 1;
    }
    return true;
}

static vt_err string_body(vt_cbor *c, const char *field, const vt_cbor_head *h, vt_bytes *out)
{
    if (h->arg > vt_cbor_remaining(c))
        return fail(c, VT_E_INVALID, field, h->off,
                    "%s of %llu bytes but only %zu remain", major_name(h->major),
                    (unsigned long long)h->arg, vt_cbor_remaining(c));
    VT_GUARD(vt_read_view(&c->r, field ? field : "item", (size_t)h->arg, out));
    if (h->major == VT_CBOR_TSTR && !utf8_valid(out->ptr, out->len))
        return fail(c, VT_E_INVALID, field, h->off, "text string is not valid UTF-8");
    return VT_OK;
}

/* ---- duplicate keys: normalise each key, sort, compare neighbours ---- */

typedef struct keyrec {
    unsigned cls; /* 0/1 integer, 2/3 definite string, 8 anything else (raw bytes) */
    uint64_t arg;
    const uint8_t *p;
    size_t n;
} keyrec;

static void key_normalise(vt_bytes raw, keyrec *k)
{
    vt_cbor t;
    vt_cbor_head h;
    vt_cbor_init(&t, raw.ptr, raw.len, NULL, NULL, NULL);
    k->cls = 8;
    k->arg = 0;
    k->p = raw.ptr;
    k->n = raw.len;
    if (vt_cbor_read_head(&t, NULL, &h) != VT_OK) return;
    if (h.major == VT_CBOR_UINT || h.major == VT_CBOR_NINT) {
        k->cls = h.major;
        k->arg = h.arg;
        k->p = NULL;
        k->n = 0;
    } else if ((h.major == VT_CBOR_BSTR || h.major == VT_CBOR_TSTR) && !h.indefinite &&
               h.arg == vt_cbor_remaining(&t)) {
        k->cls = h.major;
        k->p = raw.ptr + t.r.off;
        k->n = (size_t)h.arg;
    }
}

static int key_cmp(const void *va, const void *vb)
{
    const keyrec *a = va, *b = vb;
    if (a->cls != b->cls) return a->cls < b->cls ? -1 : 1;
    if (a->arg != b->arg) return a->arg < b->arg ? -1 : 1;
    if (a->n != b->n) return a->n < b->n ? -1 : 1;
    return a->n == 0 ? 0 : memcmp(a->p, b->p, a->n);
}

bool vt_cbor_key_equal(vt_bytes a, vt_bytes b)
{
    keyrec ka, kb;
    key_normalise(a, &ka);
    key_normalise(b, &kb);
    return key_cmp(&ka, &kb) == 0;
}

typedef struct keylist {
    keyrec local[32];
    keyrec *v;
    size_t n, cap;
} keylist;

static bool keylist_push(keylist *l, vt_bytes raw)
{
    if (l->n == l->cap) {
        size_t cap = l->cap * 2;
        keyrec *nv = malloc(cap * sizeof *nv);
        if (nv == NULL) return false;
        memcpy(nv, l->v, l->n * sizeof *nv);
        if (l->v != l->local) free(l->v);
        l->v = nv;
        l->cap = cap;
    }
    key_normalise(raw, &l->v[l->n++]);
    return true;
}

static vt_err skip_item(vt_cbor *c, const char *field, unsigned depth);

static vt_err skip_indefinite_string(vt_cbor *c, const char *field, const vt_cbor_head *h)
{
    for (;;) {
        vt_cbor_head ch;
        vt_bytes body;
        VT_GUARD(vt_cbor_read_head(c, field, &ch));
        if (is_break(&ch)) return VT_OK;
        if (ch.major != h->major || ch.indefinite)
            return fail(c, VT_E_INVALID, field, ch.off,
                        "chunk of an indefinite-length string is %s%s", major_name(ch.major),
                        ch.indefinite ? " of indefinite length" : "");
        VT_GUARD(string_body(c, field, &ch, &body));
    }
}

static vt_err skip_container(vt_cbor *c, const char *field, const vt_cbor_head *h, unsigned depth)
{
    bool map = h->major == VT_CBOR_MAP;
    if (!h->indefinite && h->arg > vt_cbor_remaining(c) / (map ? 2 : 1))
        return fail(c, VT_E_INVALID, field, h->off, "%s of %llu entries cannot fit in %zu bytes",
                    major_name(h->major), (unsigned long long)h->arg, vt_cbor_remaining(c));
    size_t n = h->indefinite ? VT_CBOR_INDEFINITE : (size_t)h->arg;
    bool dup_check = map && !c->opts.allow_dup_keys;
    keylist kl;
    kl.v = kl.local;
    kl.n = 0;
    kl.cap = sizeof kl.local / sizeof kl.local[0];
    vt_err rc = VT_OK;
    for (size_t i = 0; vt_cbor_more(c, n, i); i++) {
        size_t start = c->r.off;
        VT_GUARD_GOTO(skip_item(c, field, depth + 1));
        if (dup_check) {
            vt_bytes raw = {c->r.buf + start, c->r.off - start};
            if (!keylist_push(&kl, raw)) {
                rc = vt_error_set(c->r.err, VT_E_NOMEM, "cbor", "out of memory checking map keys");
                goto out;
            }
        }
        if (map) VT_GUARD_GOTO(skip_item(c, field, depth + 1));
    }
    if (dup_check && kl.n > 1) {
        qsort(kl.v, kl.n, sizeof *kl.v, key_cmp);
        for (size_t i = 1; i < kl.n; i++) {
            if (key_cmp(&kl.v[i - 1], &kl.v[i]) == 0) {
                const keyrec *k = &kl.v[i];
                if (k->cls == VT_CBOR_UINT)
                    rc = fail(c, VT_E_INVALID, field, h->off, "duplicate map key %llu",
                              (unsigned long long)k->arg);
                else if (k->cls == VT_CBOR_NINT)
                    rc = fail(c, VT_E_INVALID, field, h->off, "duplicate map key -1-%llu",
                              (unsigned long long)k->arg);
                else
                    rc = fail(c, VT_E_INVALID, field, h->off, "duplicate map key (%s)",
                              k->cls < 8 ? major_name(k->cls) : "complex key");
                goto out;
            }
        }
    }
out:
    if (kl.v != kl.local) free(kl.v);
    return rc;
}

static vt_err skip_item(vt_cbor *c, const char *field, unsigned depth)
{
    vt_cbor_head h;
    vt_bytes body;
    VT_GUARD(vt_cbor_read_head(c, field, &h));
    if (h.indefinite && !c->opts.allow_indefinite)
        return fail(c, VT_E_INVALID, field, h.off, "indefinite-length %s not allowed here",
                    major_name(h.major));
    switch (h.major) {
    case VT_CBOR_UINT:
    case VT_CBOR_NINT: return VT_OK;
    case VT_CBOR_BSTR:
    case VT_CBOR_TSTR:
        if (h.indefinite) return skip_indefinite_string(c, field, &h);
        return string_body(c, field, &h, &body);
    case VT_CBOR_ARRAY:
    case VT_CBOR_MAP:
    case VT_CBOR_TAG:
        if (depth + 1 > depth_limit(c))
            return fail(c, VT_E_INVALID, field, h.off, "nesting deeper than %u levels",
                        depth_limit(c));
        if (h.major == VT_CBOR_TAG) return skip_item(c, field, depth + 1);
        return skip_container(c, field, &h, depth);
    default:
        if (is_break(&h)) return fail(c, VT_E_INVALID, field, h.off, "unexpected break");
        return VT_OK;
    }
}

vt_err vt_cbor_skip(vt_cbor *c, const char *field, vt_bytes *raw)
{
    size_t start = c->r.off;
    VT_GUARD(skip_item(c, field, 0));
    if (raw != NULL) {
        raw->ptr = c->r.buf + start;
        raw->len = c->r.off - start;
    }
    return VT_OK;
}

bool vt_cbor_more(vt_cbor *c, size_t n, size_t i)
{
    if (n != VT_CBOR_INDEFINITE) return i < n;
    if (vt_cbor_remaining(c) > 0 && c->r.buf[c->r.off] == 0xff) {
        c->r.off++;
        return false;
    }
    return true; /* at end of input the next read reports the truncation */
}

static vt_err expect(vt_cbor *c, const char *field, vt_cbor_major want, vt_cbor_head *h)
{
    VT_GUARD(vt_cbor_read_head(c, field, h));
    if (h->major != want || (want == VT_CBOR_SIMPLE && is_break(h)))
        return fail(c, VT_E_INVALID, field, h->off, "expected %s, found %s%s", major_name(want),
                    is_break(h) ? "a break" : major_name(h->major), "");
    return VT_OK;
}

vt_err vt_cbor_read_uint(vt_cbor *c, const char *field, uint64_t *out)
{
    vt_cbor_head h;
    VT_GUARD(expect(c, field, VT_CBOR_UINT, &h));
    *out = h.arg;
    return VT_OK;
}

vt_err vt_cbor_read_int(vt_cbor *c, const char *field, int64_t *out)
{
    vt_cbor_head h;
    VT_GUARD(vt_cbor_read_head(c, field, &h));
    if (h.major != VT_CBOR_UINT && h.major != VT_CBOR_NINT)
        return fail(c, VT_E_INVALID, field, h.off, "expected an integer, found %s",
                    major_name(h.major));
    if (h.arg > (uint64_t)INT64_MAX)
        return fail(c, VT_E_INVALID, field, h.off, "integer out of the 64-bit signed range");
    *out = h.major == VT_CBOR_UINT ? (int64_t)h.arg : -1 - (int64_t)h.arg;
    return VT_OK;
}

static vt_err read_string(vt_cbor *c, const char *field, vt_cbor_major m, vt_bytes *out)
{
    vt_cbor_head h;
    VT_GUARD(expect(c, field, m, &h));
    if (h.indefinite)
        return fail(c, c->opts.allow_indefinite ? VT_E_UNSUPPORTED : VT_E_INVALID, field, h.off,
                    "indefinite-length %s not %s here", major_name(m),
                    c->opts.allow_indefinite ? "supported" : "allowed");
    return string_body(c, field, &h, out);
}

vt_err vt_cbor_read_bstr(vt_cbor *c, const char *field, vt_bytes *out)
{
    return read_string(c, field, VT_CBOR_BSTR, out);
}

vt_err vt_cbor_read_tstr(vt_cbor *c, const char *field, vt_bytes *out)
{
    return read_string(c, field, VT_CBOR_TSTR, out);
}

vt_err vt_cbor_read_bool(vt_cbor *c, const char *field, bool *out)
{
    vt_cbor_head h;
    VT_GUARD(expect(c, field, VT_CBOR_SIMPLE, &h));
    if (h.ai != 20 && h.ai != 21)
        return fail(c, VT_E_INVALID, field, h.off, "expected true or false");
    *out = h.ai == 21;
    return VT_OK;
}

static vt_err read_container(vt_cbor *c, const char *field, vt_cbor_major m, size_t *n)
{
    vt_cbor_head h;
    VT_GUARD(vt_cbor_peek(c, &h));
    if (h.major == m && m == VT_CBOR_MAP && !c->opts.allow_dup_keys) {
        vt_cbor look = *c; /* validate the whole map (keys unique at every level) first */
        VT_GUARD(vt_cbor_skip(&look, field, NULL));
    }
    VT_GUARD(expect(c, field, m, &h));
    if (h.indefinite) {
        if (!c->opts.allow_indefinite)
            return fail(c, VT_E_INVALID, field, h.off, "indefinite-length %s not allowed here",
                        major_name(m));
        *n = VT_CBOR_INDEFINITE;
        return VT_OK;
    }
    if (h.arg > vt_cbor_remaining(c) / (m == VT_CBOR_MAP ? 2 : 1))
        return fail(c, VT_E_INVALID, field, h.off, "%s of %llu entries cannot fit in %zu bytes",
                    major_name(m), (unsigned long long)h.arg, vt_cbor_remaining(c));
    *n = (size_t)h.arg;
    return VT_OK;
}

vt_err vt_cbor_read_array(vt_cbor *c, const char *field, size_t *n)
{
    return read_container(c, field, VT_CBOR_ARRAY, n);
}

vt_err vt_cbor_read_map(vt_cbor *c, const char *field, size_t *n)
{
    return read_container(c, field, VT_CBOR_MAP, n);
}

vt_err vt_cbor_read_tag(vt_cbor *c, const char *field, uint64_t *tag)
{
    vt_cbor_head h;
    VT_GUARD(expect(c, field, VT_CBOR_TAG, &h));
    *tag = h.arg;
    return VT_OK;
}

vt_err vt_cbor_expect_end(const vt_cbor *c)
{
    if (vt_cbor_remaining(c) == 0) return VT_OK;
    return fail(c, VT_E_INVALID, "end", c->r.off, "%zu trailing bytes after the data item",
                vt_cbor_remaining(c));
}

vt_err vt_cbor_validate(const uint8_t *buf, size_t len, const vt_cbor_opts *opts,
                        const char *what, vt_error *err)
{
    vt_cbor c;
    vt_cbor_init(&c, buf, len, opts, what, err);
    VT_GUARD(vt_cbor_skip(&c, NULL, NULL));
    return vt_cbor_expect_end(&c);
}
