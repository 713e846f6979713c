/* libFuzzer: the CBOR reader under each decoding policy, typed reads, key comparison, and the
 * COSE_Sign1 / COSE_Key parsers built on it. */
#include <stddef.h>
#include <stdint.h>

#include "veritee/cbor.h"
#include "veritee/cose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walk an item with the typed API (maps and arrays recursively, bounded by the reader). */
static void walk(vt_cbor *c, int depth)
{
    vt_cbor_head h;
    size_t n;
    vt_bytes b;
    int64_t v;
    if (depth > 20 || vt_cbor_peek(c, &h) != VT_OK) return;
    switch (h.major) {
    case VT_CBOR_ARRAY:
    case VT_CBOR_MAP:
        if ((h.major == VT_CBOR_ARRAY ? vt_cbor_read_array(c, "a", &n) : vt_cbor_read_map(c, "m", &n)) != VT_OK)
            return;
        for (size_t i = 0; vt_cbor_more(c, n, i) && vt_cbor_remaining(c) > 0; i++) {
            size_t before = vt_cbor_offset(c);
            walk(c, depth + 1);
            if (h.major == VT_CBOR_MAP) walk(c, depth + 1);
            if (vt_cbor_offset(c) == before) return;
        }
        return;
    case VT_CBOR_BSTR: (void)vt_cbor_read_bstr(c, "b", &b); return;
    case VT_CBOR_TSTR: (void)vt_cbor_read_tstr(c, "t", &b); return;
    case VT_CBOR_UINT:
    case VT_CBOR_NINT: (void)vt_cbor_read_int(c, "i", &v); return;
    default: (void)vt_cbor_skip(c, "x", NULL); return;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_error e;
    if (size == 0) return 0;
    vt_cbor_opts o = {.allow_indefinite = data[0] & 1, .allow_dup_keys = data[0] & 2,
                      .max_depth = data[0] >> 2};
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    (void)vt_cbor_validate(p, n, &o, "fuzz", &e);
    vt_cbor c;
    vt_cbor_init(&c, p, n, &o, "fuzz", &e);
    walk(&c, 0);
    if (n >= 2) (void)vt_cbor_key_equal((vt_bytes){p, n / 2}, (vt_bytes){p + n / 2, n - n / 2});
    vt_cose_sign1 m;
    (void)vt_cose_sign1_parse(p, n, NULL, &m, &e);
    vt_cose_key k;
    if (vt_cose_key_decode(p, n, &k, &e) == VT_OK) {
        EVP_PKEY *pk = NULL;
        if (vt_cose_key_to_pkey(&k, &pk, &e) == VT_OK) EVP_PKEY_free(pk);
    }
    return 0;
}
