/* CBOR encoder (include/veritee/cbor.h): definite lengths and the shortest argument form
 * (RFC 8949 section 4.2.1 "preferred serialization" for integers and lengths). */
#include <stdlib.h>
#include <string.h>

#include "veritee/cbor.h"

size_t vt_cbor_encode_head(uint8_t out[9], vt_cbor_major major, uint64_t arg)
{
    uint8_t mt = (uint8_t)((unsigned)major << 5);
    if (arg < 24) {
        out[0] = (uint8_t)(mt | arg);
        return 1;
    }
    size_t n = arg <= 0xff ? 1 : arg <= 0xffff ? 2 : arg <= 0xffffffffu ? 4 : 8;
    out[0] = (uint8_t)(mt | (n == 1 ? 24 : n == 2 ? 25 : n == 4 ? 26 : 27));
    for (size_t i = 0; i < n; i++) out[1 + i] = (uint8_t)(arg >> (8 * (n - 1 - i)));
    return 1 + n;
}

void vt_cbor_writer_init(vt_cbor_writer *w) { vt_writer_init(&w->out, "CBOR", NULL); }

void vt_cbor_put_raw(vt_cbor_writer *w, const void *p, size_t n) { vt_write_bytes(&w->out, "CBOR item", p, n); }

void vt_cbor_put_head(vt_cbor_writer *w, vt_cbor_major major, uint64_t arg)
{
    uint8_t h[9];
    vt_cbor_put_raw(w, h, vt_cbor_encode_head(h, major, arg));
}

void vt_cbor_put_uint(vt_cbor_writer *w, uint64_t v) { vt_cbor_put_head(w, VT_CBOR_UINT, v); }

void vt_cbor_put_int(vt_cbor_writer *w, int64_t v)
{
    if (v >= 0) vt_cbor_put_head(w, VT_CBOR_UINT, (uint64_t)v);
    else vt_cbor_put_head(w, VT_CBOR_NINT, (uint64_t)(-1 - v));
}

void vt_cbor_put_bstr(vt_cbor_writer *w, const void *p, size_t n)
{
    vt_cbor_put_head(w, VT_CBOR_BSTR, n);
    vt_cbor_put_raw(w, p, n);
}

void vt_cbor_put_tstrn(vt_cbor_writer *w, const char *s, size_t n)
{
    vt_cbor_put_head(w, VT_CBOR_TSTR, n);
    vt_cbor_put_raw(w, s, n);
}

void vt_cbor_put_tstr(vt_cbor_writer *w, const char *s) { vt_cbor_put_tstrn(w, s, strlen(s)); }
void vt_cbor_put_array(vt_cbor_writer *w, size_t n) { vt_cbor_put_head(w, VT_CBOR_ARRAY, n); }
void vt_cbor_put_map(vt_cbor_writer *w, size_t n) { vt_cbor_put_head(w, VT_CBOR_MAP, n); }
void vt_cbor_put_tag(vt_cbor_writer *w, uint64_t tag) { vt_cbor_put_head(w, VT_CBOR_TAG, tag); }

void vt_cbor_put_bool(vt_cbor_writer *w, bool v)
{
    uint8_t b = v ? 0xf5 : 0xf4;
    vt_cbor_put_raw(w, &b, 1);
}

void vt_cbor_put_null(vt_cbor_writer *w)
{
    uint8_t b = 0xf6;
    vt_cbor_put_raw(w, &b, 1);
}

void vt_cbor_writer_free(vt_cbor_writer *w) { vt_writer_free(&w->out); }

vt_err vt_cbor_writer_finish(vt_cbor_writer *w, vt_buf *out, vt_error *err)
{
    vt_err rc = vt_writer_take(&w->out, &out->ptr, &out->len); /* frees on a failed put */
    vt_writer_init(&w->out, "CBOR", NULL);
    if (rc != VT_OK) return vt_error_set(err, rc, "cbor", "out of memory encoding CBOR");
    return VT_OK;
}
