/* CCA attestation token collection: tag 399 {44234: bstr, 44241: bstr} (RMM 1.0) and tag 907
 * CMW collection {44234: [type, bstr], 44241: [type, bstr]} (draft-ffm-rats-cca-token). */
#include <string.h>

#include "veritee/cca.h"

/* CMW type of a collection entry: CoAP content-format 263 (application/eat+cwt), or the
 * same media type as text. Not covered by any signature, so anything else is refused. */
static vt_err cmw_type(vt_cbor *c, const char *name, int64_t *ctype, vt_error *err)
{
    static const char media[] = "application/eat+cwt";
    vt_cbor_head h;
    VT_GUARD(vt_cbor_peek(c, &h));
    if (h.major == VT_CBOR_TSTR) {
        vt_bytes t;
        VT_GUARD(vt_cbor_read_tstr(c, name, &t));
        if (t.len < sizeof media - 1 || memcmp(t.ptr, media, sizeof media - 1) != 0 ||
            (t.len > sizeof media - 1 && t.ptr[sizeof media - 1] != ';'))
            return vt_error_set(err, VT_E_UNSUPPORTED, "cca_token",
                                "%s: CMW media type '%.*s' is not application/eat+cwt", name,
                                (int)(t.len > 80 ? 80 : t.len), t.len ? (const char *)t.ptr : "");
        *ctype = 263;
        return VT_OK;
    }
    VT_GUARD(vt_cbor_read_int(c, name, ctype));
    if (*ctype != 263)
        return vt_error_set(err, VT_E_UNSUPPORTED, "cca_token",
                            "%s: CMW content format %lld is not 263 (application/eat+cwt)", name,
                            (long long)*ctype);
    return VT_OK;
}

static vt_err entry(vt_cbor *c, uint64_t tag, const char *name, int64_t *ctype, vt_bytes *out,
                    vt_error *err)
{
    if (tag == VT_CCA_TAG_COLLECTION) return vt_cbor_read_bstr(c, name, out);
    size_t n;
    VT_GUARD(vt_cbor_read_array(c, name, &n));
    if (n != 2)
        return vt_error_set(err, VT_E_INVALID, "cca_token",
                            "%s: CMW entry is an array of %zu items, expected [type, bstr]", name, n);
    VT_GUARD(cmw_type(c, name, ctype, err));
    return vt_cbor_read_bstr(c, name, out);
}

static vt_err read_collection(const uint8_t *buf, size_t len, vt_cca_token *out, vt_error *err)
{
    vt_cbor c;
    vt_cbor_head h;
    size_t n;
    bool have_p = false, have_r = false;
    vt_cbor_init(&c, buf, len, NULL, "CCA token", err);
    VT_GUARD(vt_cbor_peek(&c, &h));
    if (h.major != VT_CBOR_TAG)
        return vt_error_set(err, VT_E_INVALID, "cca_token",
                            "CCA token does not start with collection tag 399 or 907");
    VT_GUARD(vt_cbor_read_tag(&c, "collection tag", &out->tag));
    if (out->tag == VT_COSE_TAG_SIGN1)
        return vt_error_set(err, VT_E_INVALID, "cca_token",
                            "wrong top-level tag 18: a bare COSE_Sign1 is not a CCA token "
                            "(expected collection tag 399 or 907)");
    if (out->tag != VT_CCA_TAG_COLLECTION && out->tag != VT_CCA_TAG_CMW)
        return vt_error_set(err, VT_E_INVALID, "cca_token",
                            "wrong top-level tag %llu (expected collection tag 399 or 907)",
                            (unsigned long long)out->tag);
    VT_GUARD(vt_cbor_read_map(&c, "collection", &n));
    for (size_t i = 0; i < n; i++) {
        int64_t key;
        VT_GUARD(vt_cbor_read_int(&c, "collection key", &key));
        if (key == VT_CCA_KEY_PLATFORM) {
            VT_GUARD(entry(&c, out->tag, "platform token", &out->platform_content_type,
                           &out->platform_sign1, err));
            have_p = true;
        } else if (key == VT_CCA_KEY_REALM) {
            VT_GUARD(entry(&c, out->tag, "realm token", &out->realm_content_type,
                           &out->realm_sign1, err));
            have_r = true;
        } else {
            return vt_error_set(err, VT_E_INVALID, "cca_token",
                                "unknown key %lld in the CCA token collection", (long long)key);
        }
    }
    VT_GUARD(vt_cbor_expect_end(&c));
    if (!have_p) return vt_error_set(err, VT_E_INVALID, "cca_token", "CCA platform token not set");
    if (!have_r) return vt_error_set(err, VT_E_INVALID, "cca_token", "CCA realm token not set");
    return VT_OK;
}

static vt_err sign1(vt_bytes b, const char *name, vt_cose_sign1 *m, vt_error *err)
{
    vt_err rc = vt_cose_sign1_parse(b.ptr, b.len, NULL, m, err);
    if (rc != VT_OK) return vt_error_wrap(err, "%s", name);
    if (m->detached)
        return vt_error_set(err, VT_E_INVALID, "cca_token", "%s: COSE_Sign1 has no payload", name);
    return VT_OK;
}

vt_err vt_cca_token_parse(const uint8_t *buf, size_t len, vt_cca_token *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    VT_GUARD(read_collection(buf, len, out, err));
    VT_GUARD(sign1(out->platform_sign1, "platform token", &out->platform_cose, err));
    VT_GUARD(sign1(out->realm_sign1, "realm token", &out->realm_cose, err));
    if (vt_cca_platform_claims_parse(out->platform_cose.payload, &out->platform, err) != VT_OK)
        return vt_error_wrap(err, "platform token claims");
    if (vt_cca_realm_claims_parse(out->realm_cose.payload, &out->realm, err) != VT_OK)
        return vt_error_wrap(err, "realm token claims");
    return VT_OK;
}
