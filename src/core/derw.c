/* DER writer (include/veritee/derw.h): definite, minimal lengths (X.690 section 10.1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/derw.h"

void vt_derw_init(vt_derw *w)
{
    vt_writer_init(&w->out, "DER", NULL);
    w->bad_oid = false;
}

void vt_derw_free(vt_derw *w) { vt_writer_free(&w->out); }

size_t vt_derw_mark(const vt_derw *w) { return vt_writer_len(&w->out); }

static size_t len_bytes(size_t n, uint8_t out[9])
{
    if (n < 128) {
        out[0] = (uint8_t)n;
        return 1;
    }
    size_t k = 0;
    for (size_t t = n; t; t >>= 8) k++;
    out[0] = (uint8_t)(0x80 | k);
    for (size_t i = 0; i < k; i++) out[1 + i] = (uint8_t)(n >> (8 * (k - 1 - i)));
    return 1 + k;
}

void vt_derw_tlv(vt_derw *w, uint8_t tag, const uint8_t *v, size_t n)
{
    uint8_t l[9];
    size_t ll = len_bytes(n, l);
    vt_write_u8(&w->out, "tag", tag);
    vt_write_bytes(&w->out, "length", l, ll);
    vt_write_bytes(&w->out, "contents", v, n);
}

void vt_derw_uint(vt_derw *w, uint8_t tag, uint64_t x)
{
    uint8_t b[9];
    size_t n = 0;
    uint8_t tmp[8];
    size_t k = 0;
    do {
        tmp[k++] = (uint8_t)(x & 0xff);
        x >>= 8;
    } while (x);
    if (tmp[k - 1] & 0x80) b[n++] = 0;
    while (k) b[n++] = tmp[--k];
    vt_derw_tlv(w, tag, b, n);
}

void vt_derw_oid(vt_derw *w, const char *dotted)
{
    uint64_t arcs[32];
    size_t na = 0;
    const char *p = dotted;
    while (*p && na < 32) {
        char *end;
        arcs[na++] = strtoull(p, &end, 10);
        if (end == p) break;
        p = *end == '.' ? end + 1 : end;
        if (*end != '.' && *end != '\0') {
            w->bad_oid = true;
            return;
        }
    }
    if (na < 2 || arcs[0] > 2) {
        w->bad_oid = true;
        return;
    }
    uint8_t b[32 * 10];
    size_t n = 0;
    for (size_t i = 1; i < na; i++) {
        uint64_t v = i == 1 ? arcs[0] * 40 + arcs[1] : arcs[i];
        uint8_t tmp[10];
        size_t k = 0;
        do {
            tmp[k++] = (uint8_t)(v & 0x7f);
            v >>= 7;
        } while (v);
        while (k > 0) {
            k--;
            b[n++] = (uint8_t)(tmp[k] | (k > 0 ? 0x80 : 0));
        }
    }
    vt_derw_tlv(w, 0x06, b, n);
}

void vt_derw_wrap(vt_derw *w, size_t mark, uint8_t tag)
{
    if (mark > vt_writer_len(&w->out)) return;
    uint8_t h[10];
    h[0] = tag;
    size_t ll = len_bytes(vt_writer_len(&w->out) - mark, h + 1);
    vt_write_insert(&w->out, "header", mark, h, 1 + ll);
}

vt_err vt_derw_finish(vt_derw *w, vt_buf *out, vt_error *err)
{
    vt_buf_free(out);
    if (w->bad_oid) {
        vt_derw_free(w);
        return vt_error_set(err, VT_E_NOMEM, "der", "DER encoding failed");
    }
    vt_err rc = vt_writer_take(&w->out, &out->ptr, &out->len);
    vt_derw_init(w);
    if (rc != VT_OK) return vt_error_set(err, VT_E_NOMEM, "der", "DER encoding failed");
    return VT_OK;
}
