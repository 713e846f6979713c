/* EC2 COSE_Key decode/encode (RFC 9052 section 7, RFC 9053 section 7.1.1: kty 2, crv
 * 1 P-256 / 2 P-384 / 3 P-521, x -2, y -3). Public keys only. */
#include <string.h>

#include "veritee/cose.h"

enum { KTY = 1, KID = 2, ALG = 3, KEY_OPS = 4, CRV = -1, X = -2, Y = -3, D = -4 };

static vt_err bad(vt_error *err, int code, const char *msg)
{
    return vt_error_set(err, code, "cose_key", "COSE_Key: %s", msg);
}

static vt_err key_entry(vt_cbor *c, int64_t label, vt_cose_key *out, unsigned *seen,
                        vt_error *err)
{
    int64_t v;
    vt_cbor_head h;
    switch (label) {
    case KTY:
        VT_GUARD(vt_cbor_read_int(c, "kty", &v));
        if (v != 2) return vt_error_set(err, VT_E_UNSUPPORTED, "cose_key",
                                        "COSE_Key: key type %lld is not EC2 (2)", (long long)v);
        *seen |= 1;
        return VT_OK;
    case CRV:
        VT_GUARD(vt_cbor_read_int(c, "crv", &v));
        if (v < 1 || v > 3)
            return vt_error_set(err, VT_E_UNSUPPORTED, "cose_key",
                                "COSE_Key: curve %lld is not P-256, P-384 or P-521", (long long)v);
        out->curve = v == 1 ? VT_P256 : v == 2 ? VT_P384 : VT_P521;
        *seen |= 2;
        return VT_OK;
    case X:
        VT_GUARD(vt_cbor_read_bstr(c, "x", &out->x));
        *seen |= 4;
        return VT_OK;
    case Y:
        VT_GUARD(vt_cbor_peek(c, &h));
        if (h.major == VT_CBOR_SIMPLE)
            return bad(err, VT_E_UNSUPPORTED, "compressed points (y as a sign bit) not supported");
        VT_GUARD(vt_cbor_read_bstr(c, "y", &out->y));
        *seen |= 8;
        return VT_OK;
    case KID: return vt_cbor_read_bstr(c, "kid", &out->kid);
    case ALG:
        VT_GUARD(vt_cbor_read_int(c, "alg", &out->alg));
        out->has_alg = true;
        return VT_OK;
    case KEY_OPS: return vt_cbor_skip(c, "key_ops", NULL);
    case D: return bad(err, VT_E_INVALID, "holds a private key (label -4); only public keys belong here");
    default:
        return vt_error_set(err, VT_E_UNSUPPORTED, "cose_key",
                            "COSE_Key: unknown parameter %lld", (long long)label);
    }
}

vt_err vt_cose_key_decode(const uint8_t *buf, size_t len, vt_cose_key *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    vt_cbor c;
    size_t n;
    unsigned seen = 0;
    vt_cbor_init(&c, buf, len, NULL, "COSE_Key", err);
    VT_GUARD(vt_cbor_read_map(&c, "COSE_Key", &n));
    for (size_t i = 0; i < n; i++) {
        int64_t label;
        VT_GUARD(vt_cbor_read_int(&c, "COSE_Key label", &label));
        VT_GUARD(key_entry(&c, label, out, &seen, err));
    }
    VT_GUARD(vt_cbor_expect_end(&c));
    if (seen != 15) return bad(err, VT_E_INVALID, "kty, crv, x and y are all required");
    size_t fl = vt_curve_len(out->curve);
    if (out->x.len != fl || out->y.len != fl)
        return vt_error_set(err, VT_E_INVALID, "cose_key",
                            "COSE_Key: coordinates are %zu and %zu bytes, the curve needs %zu",
                            out->x.len, out->y.len, fl);
    return VT_OK;
}

vt_err vt_cose_key_to_pkey(const vt_cose_key *k, EVP_PKEY **out, vt_error *err)
{
    uint8_t xy[2 * 66];
    size_t fl = vt_curve_len(k->curve);
    if (fl == 0 || k->x.len != fl || k->y.len != fl)
        return bad(err, VT_E_INVALID, "coordinates do not match the curve");
    memcpy(xy, k->x.ptr, fl);
    memcpy(xy + fl, k->y.ptr, fl);
    return vt_ec_pub_from_xy(k->curve, xy, 2 * fl, out, err);
}

vt_err vt_cose_key_encode(const EVP_PKEY *key, vt_buf *out, vt_error *err)
{
    vt_curve curve;
    uint8_t xy[2 * 66];
    size_t n = 0;
    VT_GUARD(vt_ec_curve_of(key, &curve, err));
    VT_GUARD(vt_ec_pub_xy(key, xy, sizeof xy, &n, err));
    size_t fl = n / 2;
    vt_cbor_writer w;
    vt_cbor_writer_init(&w);
    vt_cbor_put_map(&w, 4);
    vt_cbor_put_int(&w, KTY);
    vt_cbor_put_int(&w, 2);
    vt_cbor_put_int(&w, CRV);
    vt_cbor_put_int(&w, curve == VT_P256 ? 1 : curve == VT_P384 ? 2 : 3);
    vt_cbor_put_int(&w, X);
    vt_cbor_put_bstr(&w, xy, fl);
    vt_cbor_put_int(&w, Y);
    vt_cbor_put_bstr(&w, xy + fl, fl);
    return vt_cbor_writer_finish(&w, out, err);
}
