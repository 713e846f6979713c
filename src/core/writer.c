/* Bounds-checked writer, growable or fixed (include/veritee/writer.h). */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/writer.h"

void vt_writer_init(vt_writer *w, const char *what, vt_error *err)
{
    memset(w, 0, sizeof *w);
    w->what = what ? what : "output";
    w->err = err;
}

void vt_writer_init_fixed(vt_writer *w, uint8_t *buf, size_t cap, const char *what, vt_error *err)
{
    vt_writer_init(w, what, err);
    w->buf = buf;
    w->cap = buf ? cap : 0;
    w->fixed = true;
}

static void release(vt_writer *w, bool secret)
{
    if (w == NULL) return;
    if (!w->fixed) {
        if (secret && w->buf) OPENSSL_cleanse(w->buf, w->cap);
        free(w->buf);
        w->buf = NULL;
        w->cap = 0;
    }
    w->len = w->pos = 0;
}

void vt_writer_free(vt_writer *w) { release(w, false); }
void vt_writer_free_secret(vt_writer *w) { release(w, true); }

vt_err vt_writer_status(const vt_writer *w) { return w->failed; }
size_t vt_writer_len(const vt_writer *w) { return w->len; }
size_t vt_writer_tell(const vt_writer *w) { return w->pos; }

static vt_err fail(vt_writer *w, int code, const char *field, const char *why, size_t n)
{
    w->failed = vt_error_set(w->err, code, "write", "%s: %s: %s (%zu bytes at offset %zu)", w->what,
                             field ? field : "write", why, n, w->pos);
    return w->failed;
}

/* Make room for n bytes at pos (plus one spare byte for a NUL in growable mode). */
static vt_err room(vt_writer *w, const char *field, size_t n)
{
    if (w->failed) return w->failed;
    if (n > SIZE_MAX - 1 - w->pos) return fail(w, VT_E_ARG, field, "size overflow", n);
    size_t need = w->pos + n;
    if (w->fixed) {
        if (need > w->cap) {
            w->failed = vt_error_set(w->err, VT_E_INTERNAL, "write",
                                     "%s: %s needs %zu bytes at offset %zu, only %zu fit", w->what,
                                     field ? field : "write", n, w->pos, w->cap - w->pos);
            return w->failed;
        }
        return VT_OK;
    }
    if (need + 1 <= w->cap) return VT_OK;
    size_t cap = w->cap ? w->cap : 64;
    while (cap < need + 1) cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
    uint8_t *q = realloc(w->buf, cap);
    if (q == NULL) {
        w->failed = vt_error_set(w->err, VT_E_NOMEM, "write", "%s: out of memory for %s (%zu bytes)",
                                 w->what, field ? field : "write", cap);
        return w->failed;
    }
    w->buf = q;
    w->cap = cap;
    return VT_OK;
}

static void advance(vt_writer *w, size_t n)
{
    w->pos += n;
    if (w->pos > w->len) w->len = w->pos;
    if (!w->fixed) w->buf[w->len] = 0;
}

void vt_put_le(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void vt_put_be(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++) p[n - 1 - i] = (uint8_t)(v >> (8 * i));
}

static vt_err check_width(vt_writer *w, const char *field, size_t n)
{
    if (n >= 1 && n <= 8) return VT_OK;
    return fail(w, VT_E_ARG, field, "integer width", n);
}

static vt_err write_int(vt_writer *w, const char *field, uint64_t v, size_t n, bool big)
{
    VT_GUARD(check_width(w, field, n));
    VT_GUARD(room(w, field, n));
    if (big) vt_put_be(w->buf + w->pos, v, n);
    else vt_put_le(w->buf + w->pos, v, n);
    advance(w, n);
    return VT_OK;
}

vt_err vt_write_le(vt_writer *w, const char *field, uint64_t v, size_t n) { return write_int(w, field, v, n, false); }
vt_err vt_write_be(vt_writer *w, const char *field, uint64_t v, size_t n) { return write_int(w, field, v, n, true); }

vt_err vt_write_u8(vt_writer *w, const char *field, uint8_t v) { return vt_write_le(w, field, v, 1); }
vt_err vt_write_u16le(vt_writer *w, const char *field, uint16_t v) { return vt_write_le(w, field, v, 2); }
vt_err vt_write_u32le(vt_writer *w, const char *field, uint32_t v) { return vt_write_le(w, field, v, 4); }
vt_err vt_write_u64le(vt_writer *w, const char *field, uint64_t v) { return vt_write_le(w, field, v, 8); }
vt_err vt_write_u16be(vt_writer *w, const char *field, uint16_t v) { return vt_write_be(w, field, v, 2); }
vt_err vt_write_u32be(vt_writer *w, const char *field, uint32_t v) { return vt_write_be(w, field, v, 4); }
vt_err vt_write_u64be(vt_writer *w, const char *field, uint64_t v) { return vt_write_be(w, field, v, 8); }

vt_err vt_write_bytes(vt_writer *w, const char *field, const void *p, size_t n)
{
    VT_GUARD(room(w, field, n));
    if (n > 0) memcpy(w->buf + w->pos, p, n);
    advance(w, n);
    return VT_OK;
}

vt_err vt_write_fill(vt_writer *w, const char *field, uint8_t byte, size_t n)
{
    VT_GUARD(room(w, field, n));
    if (n > 0) memset(w->buf + w->pos, byte, n);
    advance(w, n);
    return VT_OK;
}

vt_err vt_write_zeros(vt_writer *w, const char *field, size_t n) { return vt_write_fill(w, field, 0, n); }

vt_err vt_write_reserve(vt_writer *w, const char *field, size_t n, uint8_t **at)
{
    VT_GUARD(vt_write_fill(w, field, 0, n));
    *at = w->buf + w->pos - n;
    return VT_OK;
}

vt_err vt_write_str(vt_writer *w, const char *s) { return vt_write_bytes(w, "text", s, strlen(s)); }

vt_err vt_write_vfmt(vt_writer *w, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return fail(w, VT_E_INTERNAL, "formatted text", "format", 0);
    /* room for the text and vsnprintf's NUL */
    VT_GUARD(room(w, "formatted text", (size_t)n + 1));
    vsnprintf((char *)w->buf + w->pos, (size_t)n + 1, fmt, ap);
    advance(w, (size_t)n);
    return VT_OK;
}

vt_err vt_write_fmt(vt_writer *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vt_err rc = vt_write_vfmt(w, fmt, ap);
    va_end(ap);
    return rc;
}

vt_err vt_writer_seek(vt_writer *w, size_t off)
{
    if (w->failed) return w->failed;
    if (off > w->len)
        return fail(w, VT_E_INTERNAL, "seek past the end", "seek", off - w->len);
    w->pos = off;
    return VT_OK;
}

vt_err vt_write_patch(vt_writer *w, const char *field, size_t off, const void *p, size_t n)
{
    if (w->failed) return w->failed;
    if (off > w->len || n > w->len - off) {
        w->failed = vt_error_set(w->err, VT_E_INTERNAL, "write",
                                 "%s: %s patch of %zu bytes at offset %zu, only %zu written",
                                 w->what, field ? field : "write", n, off, w->len);
        return w->failed;
    }
    if (n > 0) memcpy(w->buf + off, p, n);
    return VT_OK;
}

vt_err vt_write_insert(vt_writer *w, const char *field, size_t off, const void *p, size_t n)
{
    if (w->failed) return w->failed;
    if (off > w->len) {
        w->failed = vt_error_set(w->err, VT_E_INTERNAL, "write", "%s: %s insert at offset %zu, only %zu written",
                                 w->what, field ? field : "write", off, w->len);
        return w->failed;
    }
    size_t tail = w->len - off;
    w->pos = w->len;
    VT_GUARD(vt_write_zeros(w, field, n)); /* room at the end, then shift the tail up */
    if (n == 0) return VT_OK;
    memmove(w->buf + off + n, w->buf + off, tail);
    memcpy(w->buf + off, p, n);
    return VT_OK;
}

static vt_err patch_int(vt_writer *w, const char *field, size_t off, uint64_t v, size_t n, bool big)
{
    uint8_t b[8];
    VT_GUARD(check_width(w, field, n));
    if (big) vt_put_be(b, v, n);
    else vt_put_le(b, v, n);
    return vt_write_patch(w, field, off, b, n);
}

vt_err vt_write_patch_le(vt_writer *w, const char *field, size_t off, uint64_t v, size_t n)
{
    return patch_int(w, field, off, v, n, false);
}

vt_err vt_write_patch_be(vt_writer *w, const char *field, size_t off, uint64_t v, size_t n)
{
    return patch_int(w, field, off, v, n, true);
}

vt_err vt_writer_take(vt_writer *w, uint8_t **out, size_t *len)
{
    *out = NULL;
    if (len) *len = 0;
    if (w->fixed) return vt_error_set(w->err, VT_E_ARG, "write", "%s: a fixed writer's buffer belongs to the caller", w->what);
    if (w->failed) {
        vt_err rc = w->failed;
        vt_writer_free(w);
        return rc;
    }
    if (w->buf == NULL) {
        VT_GUARD(room(w, "empty", 0));
        w->buf[0] = 0;
    }
    *out = w->buf;
    if (len) *len = w->len;
    w->buf = NULL;
    w->cap = w->len = w->pos = 0;
    return VT_OK;
}

vt_err vt_buf_append(vt_buf *b, const void *p, size_t n, vt_error *err)
{
    vt_writer w;
    vt_writer_init(&w, "buffer", err);
    /* adopt b: no spare capacity known, so the first write grows it */
    w.buf = b->ptr;
    w.len = w.pos = w.cap = b->ptr ? b->len : 0;
    VT_GUARD(vt_write_bytes(&w, "appended bytes", p, n));
    b->ptr = w.buf;
    b->len = w.len;
    return VT_OK;
}
