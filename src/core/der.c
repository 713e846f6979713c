/* DER TLV reader (ITU-T X.690 section 8 and 10: definite-length, minimal encodings). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "veritee/der.h"

vt_err vt_der_read(vt_reader *r, uint8_t *tag, vt_bytes *val)
{
    uint8_t t, l0;
    VT_GUARD(vt_read_u8(r, "DER tag", &t));
    if ((t & 0x1f) == 0x1f)
        return vt_error_set(r->err, VT_E_UNSUPPORTED, "parse", "%s: multi-byte DER tag at %zu",
                            r->what, r->off - 1);
    VT_GUARD(vt_read_u8(r, "DER length", &l0));
    size_t len = l0;
    if (l0 & 0x80) {
        unsigned n = l0 & 0x7f;
        if (n == 0 || n > 4)
            return vt_error_set(r->err, VT_E_INVALID, "parse",
                                "%s: unsupported DER length form 0x%02x at %zu", r->what, l0,
                                r->off - 1);
        len = 0;
        for (unsigned i = 0; i < n; i++) {
            uint8_t b;
            VT_GUARD(vt_read_u8(r, "DER length", &b));
            if (i == 0 && b == 0)
                return vt_error_set(r->err, VT_E_INVALID, "parse", "%s: non-minimal DER length",
                                    r->what);
            len = len << 8 | b;
        }
        if (len < 128)
            return vt_error_set(r->err, VT_E_INVALID, "parse", "%s: non-minimal DER length",
                                r->what);
    }
    *tag = t;
    return vt_read_view(r, "DER value", len, val);
}

vt_err vt_der_expect(vt_reader *r, uint8_t tag, const char *field, vt_bytes *val)
{
    uint8_t t;
    size_t at = r->off;
    VT_GUARD(vt_der_read(r, &t, val));
    if (t != tag)
        return vt_error_set(r->err, VT_E_INVALID, "parse",
                            "%s: %s has DER tag 0x%02x at %zu, expected 0x%02x", r->what, field, t,
                            at, tag);
    return VT_OK;
}

vt_err vt_der_uint(vt_bytes v, const char *field, uint64_t *out, vt_error *err)
{
    if (v.len == 0 || (v.ptr[0] & 0x80))
        return vt_error_set(err, VT_E_INVALID, "parse", "%s: not a non-negative integer", field);
    size_t i = 0;
    if (v.len > 1 && v.ptr[0] == 0) i = 1;
    if (v.len - i > 8)
        return vt_error_set(err, VT_E_INVALID, "parse", "%s: integer wider than 64 bits", field);
    uint64_t x = 0;
    for (; i < v.len; i++) x = x << 8 | v.ptr[i];
    *out = x;
    return VT_OK;
}

vt_err vt_der_oid_text(vt_bytes v, char *out, size_t cap, vt_error *err)
{
    size_t o = 0;
    uint64_t arc = 0;
    bool first = true;
    if (v.len == 0 || cap == 0) goto bad;
    out[0] = '\0';
    for (size_t i = 0; i < v.len; i++) {
        if (arc > (UINT64_MAX >> 7)) goto bad;
        arc = arc << 7 | (v.ptr[i] & 0x7f);
        if (v.ptr[i] & 0x80) continue;
        int n;
        if (first) {
            unsigned a0 = arc < 40 ? 0 : arc < 80 ? 1 : 2;
            n = snprintf(out + o, cap - o, "%u.%llu", a0, (unsigned long long)(arc - 40 * a0));
            first = false;
        } else {
            n = snprintf(out + o, cap - o, ".%llu", (unsigned long long)arc);
        }
        if (n < 0 || (size_t)n >= cap - o) goto bad;
        o += (size_t)n;
        arc = 0;
    }
    if (v.ptr[v.len - 1] & 0x80) goto bad;
    return VT_OK;
bad:
    return vt_error_set(err, VT_E_INVALID, "parse", "malformed or oversized OID");
}
