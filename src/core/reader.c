/* Bounds-checked reader over untrusted bytes (include/veritee/reader.h). */
#include <string.h>

#include "veritee/reader.h"

void vt_reader_init(vt_reader *r, const uint8_t *buf, size_t len, const char *what, vt_error *err)
{
    r->buf = buf;
    r->len = buf == NULL ? 0 : len;
    r->off = 0;
    r->what = what ? what : "input";
    r->err = err;
}

size_t vt_reader_remaining(const vt_reader *r) { return r->len - r->off; }

static vt_err need(vt_reader *r, const char *field, size_t n)
{
    if (n <= vt_reader_remaining(r)) return VT_OK;
    return vt_error_set(r->err, VT_E_INVALID, "parse",
                        "%s truncated: %s needs %zu bytes at offset %zu, %zu remain", r->what, field,
                        n, r->off, vt_reader_remaining(r));
}

vt_err vt_read_u8(vt_reader *r, const char *field, uint8_t *out)
{
    VT_GUARD(need(r, field, 1));
    *out = r->buf[r->off++];
    return VT_OK;
}

/* An n-byte integer at the cursor (the byte order is vt_get_le's or vt_get_be's). */
static vt_err read_int(vt_reader *r, const char *field, size_t n, bool big, uint64_t *out)
{
    VT_GUARD(need(r, field, n));
    *out = big ? vt_get_be(r->buf + r->off, n) : vt_get_le(r->buf + r->off, n);
    r->off += n;
    return VT_OK;
}

vt_err vt_read_u16le(vt_reader *r, const char *field, uint16_t *out)
{
    uint64_t v;
    VT_GUARD(read_int(r, field, 2, false, &v));
    *out = (uint16_t)v;
    return VT_OK;
}

vt_err vt_read_u32le(vt_reader *r, const char *field, uint32_t *out)
{
    uint64_t v;
    VT_GUARD(read_int(r, field, 4, false, &v));
    *out = (uint32_t)v;
    return VT_OK;
}

vt_err vt_read_u64le(vt_reader *r, const char *field, uint64_t *out) { return read_int(r, field, 8, false, out); }

vt_err vt_read_u16be(vt_reader *r, const char *field, uint16_t *out)
{
    uint64_t v;
    VT_GUARD(read_int(r, field, 2, true, &v));
    *out = (uint16_t)v;
    return VT_OK;
}

vt_err vt_read_u32be(vt_reader *r, const char *field, uint32_t *out)
{
    uint64_t v;
    VT_GUARD(read_int(r, field, 4, true, &v));
    *out = (uint32_t)v;
    return VT_OK;
}

vt_err vt_read_copy(vt_reader *r, const char *field, void *dst, size_t n)
{
    VT_GUARD(need(r, field, n));
    if (n > 0) memcpy(dst, r->buf + r->off, n);
    r->off += n;
    return VT_OK;
}

vt_err vt_read_view(vt_reader *r, const char *field, size_t n, vt_bytes *out)
{
    VT_GUARD(need(r, field, n));
    out->ptr = r->buf + r->off;
    out->len = n;
    r->off += n;
    return VT_OK;
}

vt_err vt_read_skip(vt_reader *r, const char *field, size_t n)
{
    VT_GUARD(need(r, field, n));
    r->off += n;
    return VT_OK;
}

bool vt_bytes_is_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) acc |= p[i];
    return acc == 0;
}

vt_err vt_read_zero(vt_reader *r, const char *field, size_t n)
{
    VT_GUARD(need(r, field, n));
    if (!vt_bytes_is_zero(r->buf + r->off, n))
        return vt_error_set(r->err, VT_E_INVALID, "parse",
                            "%s: reserved field %s at offset %zu is not zero", r->what, field, r->off);
    r->off += n;
    return VT_OK;
}

vt_err vt_read_sub(vt_reader *r, const char *field, size_t n, vt_reader *sub)
{
    VT_GUARD(need(r, field, n));
    vt_reader_init(sub, r->buf + r->off, n, r->what, r->err);
    r->off += n;
    return VT_OK;
}

uint64_t vt_get_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i > 0; i--) v = v << 8 | p[i - 1];
    return v;
}

uint64_t vt_get_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}
