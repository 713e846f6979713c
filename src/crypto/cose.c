/* COSE_Sign1 parse, verify and sign (RFC 9052 sections 3 and 4, RFC 9053 section 2.1).
 * The Sig_structure is hashed piecewise from the bytes as received, never re-encoded. */
#include <openssl/ec.h>
#include <openssl/err.h>
#include <string.h>

#include "veritee/cose.h"

#define HDR_LABELS_MAX 16

const char *vt_cose_alg_name(int64_t alg)
{
    switch (alg) {
    case VT_COSE_ALG_ES256: return "ES256";
    case VT_COSE_ALG_ES384: return "ES384";
    case VT_COSE_ALG_ES512: return "ES512";
    default: return "unknown";
    }
}

vt_err vt_cose_alg_info(int64_t alg, vt_hash_alg *hash, vt_curve *curve, vt_error *err)
{
    switch (alg) {
    case VT_COSE_ALG_ES256: *hash = VT_SHA256; *curve = VT_P256; return VT_OK;
    case VT_COSE_ALG_ES384: *hash = VT_SHA384; *curve = VT_P384; return VT_OK;
    case VT_COSE_ALG_ES512: *hash = VT_SHA512; *curve = VT_P521; return VT_OK;
    default:
        return vt_error_set(err, VT_E_UNSUPPORTED, "cose_alg",
                            "COSE algorithm %lld is not supported (ES256, ES384, ES512)",
                            (long long)alg);
    }
}

/* ---- headers ---- */

typedef struct hdr_state {
    vt_bytes labels[HDR_LABELS_MAX]; /* protected labels, encoded */
    size_t n_labels;
    bool has_alg;
    vt_bytes crit; /* encoded crit array, empty when absent */
} hdr_state;

static vt_err read_label(vt_cbor *c, const char *bucket, vt_bytes *raw, int64_t *ilabel,
                         bool *is_int, vt_error *err)
{
    vt_cbor_head h;
    VT_GUARD(vt_cbor_peek(c, &h));
    if (h.major != VT_CBOR_UINT && h.major != VT_CBOR_NINT && h.major != VT_CBOR_TSTR)
        return vt_error_set(err, VT_E_INVALID, "cose_header",
                            "%s header: a label must be an integer or a text string", bucket);
    *is_int = h.major != VT_CBOR_TSTR;
    vt_cbor look = *c;
    if (*is_int) VT_GUARD(vt_cbor_read_int(&look, "header label", ilabel));
    return vt_cbor_skip(c, "header label", raw);
}

static vt_err check_value(vt_cbor *c, int64_t label, bool is_int, const char *bucket,
                          vt_cose_sign1 *m, hdr_state *st, vt_error *err)
{
    vt_cbor_head h;
    VT_GUARD(vt_cbor_peek(c, &h));
    if (!is_int) return vt_cbor_skip(c, "header value", NULL);
    switch (label) {
    case VT_COSE_HDR_ALG:
        if (st == NULL)
            return vt_error_set(err, VT_E_INVALID, "cose_header",
                                "alg must be in the protected header, not the %s one", bucket);
        if (h.major == VT_CBOR_TSTR)
            return vt_error_set(err, VT_E_UNSUPPORTED, "cose_alg",
                                "COSE algorithm given as a text string is not supported");
        VT_GUARD(vt_cbor_read_int(c, "alg", &m->alg));
        st->has_alg = true;
        return VT_OK;
    case VT_COSE_HDR_CRIT: {
        if (st == NULL)
            return vt_error_set(err, VT_E_INVALID, "cose_header",
                                "crit must be in the protected header, not the %s one", bucket);
        size_t n;
        vt_cbor look = *c;
        VT_GUARD(vt_cbor_read_array(&look, "crit", &n));
        if (n == 0)
            return vt_error_set(err, VT_E_INVALID, "cose_header", "crit is an empty array");
        return vt_cbor_skip(c, "crit", &st->crit);
    }
    case VT_COSE_HDR_CONTENT_TYPE:
        if (h.major != VT_CBOR_UINT && h.major != VT_CBOR_TSTR)
            return vt_error_set(err, VT_E_INVALID, "cose_header",
                                "content type must be an unsigned integer or text");
        return vt_cbor_skip(c, "content type", NULL);
    case VT_COSE_HDR_KID: return vt_cbor_read_bstr(c, "kid", &m->kid);
    default: return vt_cbor_skip(c, "header value", NULL);
    }
}

static bool label_in(const hdr_state *st, vt_bytes raw)
{
    for (size_t i = 0; i < st->n_labels; i++)
        if (vt_cbor_key_equal(st->labels[i], raw)) return true;
    return false;
}

static vt_err check_crit(const hdr_state *st, const vt_cose_parse_opts *o, vt_error *err)
{
    if (st->crit.len == 0) return VT_OK;
    vt_cbor c;
    size_t n;
    vt_cbor_init(&c, st->crit.ptr, st->crit.len, NULL, "COSE crit", err);
    VT_GUARD(vt_cbor_read_array(&c, "crit", &n));
    for (size_t i = 0; i < n; i++) {
        vt_bytes raw;
        int64_t label = 0;
        bool is_int = false;
        VT_GUARD(read_label(&c, "crit", &raw, &label, &is_int, err));
        if (!label_in(st, raw))
            return vt_error_set(err, VT_E_INVALID, "cose_header",
                                "crit names a label that is not in the protected header");
        bool known = is_int && label >= 1 && label <= 4;
        for (size_t k = 0; is_int && o != NULL && k < o->n_crit_understood; k++)
            known = known || o->crit_understood[k] == label;
        if (!known) {
            if (is_int)
                return vt_error_set(err, VT_E_UNSUPPORTED, "cose_crit",
                                    "critical header parameter %lld is not understood",
                                    (long long)label);
            return vt_error_set(err, VT_E_UNSUPPORTED, "cose_crit",
                                "critical header parameter '%.*s' is not understood",
                                (int)(raw.len > 40 ? 40 : raw.len - 1), (const char *)raw.ptr + 1);
        }
    }
    return VT_OK;
}

static vt_err parse_protected(vt_cose_sign1 *m, hdr_state *st, vt_error *err)
{
    if (m->protected_hdr.len == 0) return VT_OK; /* RFC 9052 3: empty map as a zero-length bstr */
    vt_cbor c;
    size_t n;
    vt_cbor_init(&c, m->protected_hdr.ptr, m->protected_hdr.len, NULL, "COSE protected header",
                 err);
    VT_GUARD(vt_cbor_read_map(&c, "protected header", &n));
    if (n > HDR_LABELS_MAX)
        return vt_error_set(err, VT_E_UNSUPPORTED, "cose_header",
                            "protected header has %zu parameters (at most %d)", n, HDR_LABELS_MAX);
    for (size_t i = 0; i < n; i++) {
        int64_t label = 0;
        bool is_int;
        VT_GUARD(read_label(&c, "protected", &st->labels[st->n_labels], &label, &is_int, err));
        st->n_labels++;
        VT_GUARD(check_value(&c, label, is_int, "protected", m, st, err));
    }
    return vt_cbor_expect_end(&c);
}

static vt_err parse_unprotected(vt_cose_sign1 *m, const hdr_state *st, vt_error *err)
{
    vt_cbor c;
    size_t n;
    vt_cbor_init(&c, m->unprotected.ptr, m->unprotected.len, NULL, "COSE unprotected header", err);
    VT_GUARD(vt_cbor_read_map(&c, "unprotected header", &n));
    for (size_t i = 0; i < n; i++) {
        vt_bytes raw;
        int64_t label = 0;
        bool is_int;
        VT_GUARD(read_label(&c, "unprotected", &raw, &label, &is_int, err));
        if (label_in(st, raw))
            return vt_error_set(err, VT_E_INVALID, "cose_header",
                                "header label %s%lld appears in both the protected and the "
                                "unprotected header", is_int ? "" : "(text) ",
                                (long long)label);
        VT_GUARD(check_value(&c, label, is_int, "unprotected", m, NULL, err));
    }
    return VT_OK;
}

vt_err vt_cose_sign1_parse(const uint8_t *buf, size_t len, const vt_cose_parse_opts *opts,
                           vt_cose_sign1 *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    vt_cbor c;
    vt_cbor_head h;
    size_t n;
    vt_cbor_init(&c, buf, len, NULL, "COSE_Sign1", err);
    VT_GUARD(vt_cbor_peek(&c, &h));
    if (h.major == VT_CBOR_TAG) {
        uint64_t tag;
        VT_GUARD(vt_cbor_read_tag(&c, "tag", &tag));
        if (tag != VT_COSE_TAG_SIGN1)
            return vt_error_set(err, VT_E_INVALID, "cose_sign1",
                                "CBOR tag %llu where COSE_Sign1 (tag 18) was expected",
                                (unsigned long long)tag);
        out->tagged = true;
    }
    if (opts != NULL && opts->require_tag && !out->tagged)
        return vt_error_set(err, VT_E_INVALID, "cose_sign1", "COSE_Sign1 lacks its tag 18");
    if (opts != NULL && opts->forbid_tag && out->tagged)
        return vt_error_set(err, VT_E_INVALID, "cose_sign1", "COSE_Sign1 must not be tagged here");
    VT_GUARD(vt_cbor_read_array(&c, "COSE_Sign1", &n));
    if (n != 4)
        return vt_error_set(err, VT_E_INVALID, "cose_sign1",
                            "COSE_Sign1 is an array of %zu items, expected 4", n);
    VT_GUARD(vt_cbor_read_bstr(&c, "protected", &out->protected_hdr));
    VT_GUARD(vt_cbor_peek(&c, &h));
    if (h.major != VT_CBOR_MAP)
        return vt_error_set(err, VT_E_INVALID, "cose_sign1", "unprotected header is not a map");
    VT_GUARD(vt_cbor_skip(&c, "unprotected", &out->unprotected));
    VT_GUARD(vt_cbor_peek(&c, &h));
    if (h.major == VT_CBOR_SIMPLE && h.ai == 22) {
        VT_GUARD(vt_cbor_skip(&c, "payload", NULL));
        out->detached = true;
    } else {
        VT_GUARD(vt_cbor_read_bstr(&c, "payload", &out->payload));
    }
    VT_GUARD(vt_cbor_read_bstr(&c, "signature", &out->signature));
    VT_GUARD(vt_cbor_expect_end(&c));

    hdr_state st;
    memset(&st, 0, sizeof st);
    VT_GUARD(parse_protected(out, &st, err));
    VT_GUARD(parse_unprotected(out, &st, err));
    if (!st.has_alg)
        return vt_error_set(err, VT_E_INVALID, "cose_header",
                            "protected header has no algorithm (label 1)");
    return check_crit(&st, opts, err);
}

/* ---- Sig_structure ---- */

static const uint8_t SIG1_CONTEXT[] = {0x84, 0x6a, 'S', 'i', 'g', 'n', 'a', 't', 'u', 'r', 'e', '1'};

typedef int (*sink_fn)(void *ctx, const void *p, size_t n);

static int emit_bstr(sink_fn f, void *ctx, const uint8_t *p, size_t n)
{
    uint8_t h[9];
    size_t hl = vt_cbor_encode_head(h, VT_CBOR_BSTR, n);
    return f(ctx, h, hl) && (n == 0 || f(ctx, p, n));
}

static int emit_sig_structure(sink_fn f, void *ctx, const vt_cose_sign1 *m, const uint8_t *aad,
                              size_t aad_len)
{
    return f(ctx, SIG1_CONTEXT, sizeof SIG1_CONTEXT) &&
           emit_bstr(f, ctx, m->protected_hdr.ptr, m->protected_hdr.len) &&
           emit_bstr(f, ctx, aad, aad_len) && emit_bstr(f, ctx, m->payload.ptr, m->payload.len);
}

static int sink_writer(void *ctx, const void *p, size_t n)
{
    vt_cbor_put_raw(ctx, p, n);
    return vt_writer_status(&((vt_cbor_writer *)ctx)->out) == VT_OK;
}

static int sink_md(void *ctx, const void *p, size_t n) { return EVP_DigestUpdate(ctx, p, n) == 1; }

vt_err vt_cose_sig_structure(const vt_cose_sign1 *m, const uint8_t *aad, size_t aad_len,
                             vt_buf *out, vt_error *err)
{
    vt_cbor_writer w;
    vt_cbor_writer_init(&w);
    emit_sig_structure(sink_writer, &w, m, aad, aad_len);
    return vt_cbor_writer_finish(&w, out, err);
}

static const EVP_MD *md_of(vt_hash_alg h)
{
    return h == VT_SHA256 ? EVP_sha256() : h == VT_SHA384 ? EVP_sha384() : EVP_sha512();
}

vt_err vt_cose_sign1_verify(const vt_cose_sign1 *m, EVP_PKEY *key, const uint8_t *aad,
                            size_t aad_len, const char *check, vt_error *err)
{
    vt_hash_alg hash = VT_SHA256;
    vt_curve want = VT_P256, have = VT_P256;
    const char *what = check ? check : "cose_signature";
    VT_GUARD(vt_cose_alg_info(m->alg, &hash, &want, err));
    VT_GUARD(vt_ec_curve_of(key, &have, err));
    if (have != want)
        return vt_error_set(err, VT_E_VERIFY, what,
                            "%s signature needs a P-%d key, the key given is P-%d",
                            vt_cose_alg_name(m->alg), want == VT_P256 ? 256 : want == VT_P384 ? 384 : 521,
                            have == VT_P256 ? 256 : have == VT_P384 ? 384 : 521);
    if (m->signature.len != 2 * vt_curve_len(want))
        return vt_error_set(err, VT_E_VERIFY, what, "%s signature has %zu bytes, expected %zu",
                            vt_cose_alg_name(m->alg), m->signature.len, 2 * vt_curve_len(want));
    uint8_t dgst[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, md_of(hash), NULL) == 1 &&
             emit_sig_structure(sink_md, ctx, m, aad, aad_len) &&
             EVP_DigestFinal_ex(ctx, dgst, &dlen) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        ERR_clear_error();
        return vt_error_set(err, VT_E_INTERNAL, what, "cannot hash the Sig_structure");
    }
    vt_err rc = vt_ecdsa_verify_digest_raw(key, dgst, dlen, m->signature.ptr, m->signature.len,
                                           what, err);
    if (rc != VT_OK && err != NULL) {
        vt_error_name(err, what);
        if (rc != VT_E_VERIFY) err->code = rc = VT_E_VERIFY;
    }
    return rc;
}

/* ---- sign ---- */

static vt_err ecdsa_sign(EVP_PKEY *priv, vt_hash_alg hash, const vt_buf *tbs, uint8_t *sig,
                         size_t flen, vt_error *err)
{
    size_t n = 0;
    vt_err rc = vt_ecdsa_sign_raw(priv, hash, tbs->ptr, tbs->len, sig, 2 * flen, &n, err);
    if (rc == VT_OK && n != 2 * flen)
        rc = vt_error_set(err, VT_E_INTERNAL, "cose_sign", "signature length %zu, expected %zu", n, 2 * flen);
    if (rc != VT_OK && err != NULL) vt_error_name(err, "cose_sign");
    return rc;
}

vt_err vt_cose_sign1_sign(EVP_PKEY *priv, const vt_cose_sign_opts *opts, const uint8_t *payload,
                          size_t len, vt_buf *out, vt_error *err)
{
    vt_cose_sign_opts o = {0};
    if (opts != NULL) o = *opts;
    vt_curve curve = VT_P256, want = VT_P256;
    vt_hash_alg hash = VT_SHA256;
    VT_GUARD(vt_ec_curve_of(priv, &curve, err));
    if (o.alg == 0)
        o.alg = curve == VT_P256 ? VT_COSE_ALG_ES256 : curve == VT_P384 ? VT_COSE_ALG_ES384
                                                                         : VT_COSE_ALG_ES512;
    VT_GUARD(vt_cose_alg_info(o.alg, &hash, &want, err));
    if (want != curve)
        return vt_error_set(err, VT_E_ARG, "cose_sign", "%s needs a key on another curve",
                            vt_cose_alg_name(o.alg));
    uint8_t prot[8];
    vt_cbor_writer w;
    vt_cbor_writer_init(&w);
    vt_cbor_put_map(&w, 1);
    vt_cbor_put_int(&w, VT_COSE_HDR_ALG);
    vt_cbor_put_int(&w, o.alg);
    size_t plen = vt_writer_status(&w.out) != VT_OK ? 0 : vt_writer_len(&w.out);
    if (plen > 0 && plen <= sizeof prot) memcpy(prot, w.out.buf, plen);
    vt_cbor_writer_free(&w);
    if (plen == 0 || plen > sizeof prot)
        return vt_error_set(err, VT_E_NOMEM, "cose_sign", "cannot encode the header");

    vt_cose_sign1 m = {.protected_hdr = {prot, plen}, .payload = {payload, len}, .alg = o.alg};
    vt_buf tbs = {0};
    uint8_t sig[132];
    size_t flen = vt_curve_len(curve);
    VT_GUARD(vt_cose_sig_structure(&m, o.aad, o.aad_len, &tbs, err));
    vt_err rc = ecdsa_sign(priv, hash, &tbs, sig, flen, err);
    vt_buf_free(&tbs);
    VT_GUARD(rc);

    vt_cbor_writer_init(&w);
    if (!o.untagged) vt_cbor_put_tag(&w, VT_COSE_TAG_SIGN1);
    vt_cbor_put_array(&w, 4);
    vt_cbor_put_bstr(&w, prot, plen);
    vt_cbor_put_map(&w, o.kid != NULL ? 1 : 0);
    if (o.kid != NULL) {
        vt_cbor_put_int(&w, VT_COSE_HDR_KID);
        vt_cbor_put_bstr(&w, o.kid, o.kid_len);
    }
    vt_cbor_put_bstr(&w, payload, len);
    vt_cbor_put_bstr(&w, sig, 2 * flen);
    return vt_cbor_writer_finish(&w, out, err);
}
