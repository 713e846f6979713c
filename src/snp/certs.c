/* AMD SEV-SNP certificates: VCEK/VLEK extensions (AMD VCEK spec 57230, "VCEK Certificate
 * Extensions": OID arc 1.3.6.1.4.1.3704.1), roles by common name, and the pinned ARKs. */
#include <stdio.h>
#include <string.h>

#include "snp_internal.h"
#include "veritee/der.h"
#include "veritee/x509.h"


/* SHA-256 of the DER of ARK-Milan, ARK-Genoa and ARK-Turin as AMD KDS serves them
 * (https://kdsintf.amd.com/vcek/v1/<product>/cert_chain). */
static const vt_snp_ark_pin builtin_pins[] = {
    {VT_SNP_MILAN, {0x69, 0xd0, 0x63, 0xb4, 0x53, 0x44, 0xd2, 0x6a, 0x2e, 0x94, 0xe1, 0xf4, 0x21, 0x0d, 0xe4, 0x9e,
                    0xf5, 0x55, 0x30, 0x82, 0x87, 0xd4, 0xc1, 0x74, 0x44, 0x5c, 0x95, 0x63, 0x9a, 0x54, 0x0b, 0xcd}},
    {VT_SNP_GENOA, {0x4c, 0x65, 0x98, 0xd1, 0x9c, 0x18, 0x71, 0x9c, 0x5d, 0xfd, 0x4a, 0x7d, 0x33, 0x5f, 0x67, 0x4e,
                    0x5b, 0xfe, 0x1d, 0x8f, 0x80, 0x0c, 0xea, 0x2c, 0xf2, 0x70, 0xc1, 0x0d, 0x10, 0x3d, 0xb2, 0xf1}},
    {VT_SNP_TURIN, {0x1f, 0x08, 0x41, 0x61, 0xa4, 0x4b, 0xb6, 0xd9, 0x37, 0x78, 0xa9, 0x04, 0x87, 0x7d, 0x48, 0x19,
                    0xca, 0xfa, 0x5d, 0x05, 0xef, 0x41, 0x93, 0xb2, 0xde, 0xd9, 0xdd, 0x9c, 0x73, 0xdd, 0x3f, 0x6a}},
};

const vt_snp_ark_pin *vt_snp_builtin_ark_pins(size_t *n)
{
    *n = sizeof builtin_pins / sizeof builtin_pins[0];
    return builtin_pins;
}

static vt_snp_product product_exact(const char *s)
{
    if (strcmp(s, "Milan") == 0) return VT_SNP_MILAN;
    if (strcmp(s, "Genoa") == 0) return VT_SNP_GENOA;
    if (strcmp(s, "Turin") == 0) return VT_SNP_TURIN;
    return VT_SNP_PRODUCT_UNKNOWN;
}

void snp_cert_classify(const X509 *c, snp_class *out)
{
    char cn[96], icn[96];
    vt_x509_subject_cn(c, cn, sizeof cn);
    vt_x509_issuer_cn(c, icn, sizeof icn);
    out->role = SNP_ROLE_UNKNOWN;
    out->product = VT_SNP_PRODUCT_UNKNOWN;
    if (strcmp(cn, "SEV-VCEK") == 0 || strcmp(cn, "SEV-VLEK") == 0) {
        bool vlek = strcmp(cn, "SEV-VLEK") == 0;
        out->role = vlek ? SNP_ROLE_VLEK : SNP_ROLE_VCEK;
        const char *want = vlek ? "SEV-VLEK-" : "SEV-";
        if (strncmp(icn, want, strlen(want)) == 0) out->product = product_exact(icn + strlen(want));
    } else if (strncmp(cn, "ARK-", 4) == 0) {
        out->role = SNP_ROLE_ARK;
        out->product = product_exact(cn + 4);
    } else if (strncmp(cn, "SEV-VLEK-", 9) == 0) {
        out->role = SNP_ROLE_ASVK;
        out->product = product_exact(cn + 9);
    } else if (strncmp(cn, "SEV-", 4) == 0) {
        out->role = SNP_ROLE_ASK;
        out->product = product_exact(cn + 4);
    }
    if (out->product == VT_SNP_PRODUCT_UNKNOWN) out->role = SNP_ROLE_UNKNOWN;
}

const char *snp_role_name(snp_role r)
{
    switch (r) {
    case SNP_ROLE_ARK: return "ARK";
    case SNP_ROLE_ASK: return "ASK";
    case SNP_ROLE_ASVK: return "ASVK";
    case SNP_ROLE_VCEK: return "VCEK";
    case SNP_ROLE_VLEK: return "VLEK";
    default: return "unknown";
    }
}

/* The extension's inner DER, or *present = false. */
static vt_err ext(const X509 *c, const char *oid, vt_bytes *v, bool *present, vt_error *err)
{
    vt_error e;
    vt_error_clear(&e);
    const uint8_t *p = NULL;
    size_t n = 0;
    vt_err rc = vt_x509_ext_der(c, oid, &p, &n, &e);
    *present = rc == VT_OK;
    if (rc == VT_E_MISSING) return VT_OK;
    if (rc != VT_OK) return vt_error_set(err, rc, "vcek_extensions", "%s", e.msg);
    v->ptr = p;
    v->len = n;
    return VT_OK;
}

/* One DER TLV of tag that fills the whole value. */
static vt_err whole_tlv(vt_bytes v, uint8_t tag, const char *name, vt_bytes *inner, vt_error *err)
{
    vt_reader r;
    vt_reader_init(&r, v.ptr, v.len, name, err);
    VT_GUARD(vt_der_expect(&r, tag, name, inner));
    if (vt_reader_remaining(&r) != 0)
        return vt_error_set(err, VT_E_INVALID, "vcek_extensions", "%s: trailing bytes", name);
    return VT_OK;
}

static vt_err spl(const X509 *c, const char *oid, const char *name, bool *has, uint8_t *out,
                  vt_error *err)
{
    vt_bytes v, in;
    VT_GUARD(ext(c, oid, &v, has, err));
    if (!*has) return VT_OK;
    uint64_t x;
    VT_GUARD(whole_tlv(v, VT_DER_INTEGER, name, &in, err));
    VT_GUARD(vt_der_uint(in, name, &x, err));
    if (x > 255)
        return vt_error_set(err, VT_E_INVALID, "vcek_extensions", "%s is %llu, above 255", name,
                            (unsigned long long)x);
    *out = (uint8_t)x;
    return VT_OK;
}

static vt_err ia5(const X509 *c, const char *oid, const char *name, char *out, size_t cap,
                  vt_error *err)
{
    vt_bytes v, in;
    bool has;
    out[0] = '\0';
    VT_GUARD(ext(c, oid, &v, &has, err));
    if (!has) return VT_OK;
    VT_GUARD(whole_tlv(v, VT_DER_IA5STRING, name, &in, err));
    if (in.len >= cap)
        return vt_error_set(err, VT_E_INVALID, "vcek_extensions", "%s is %zu bytes long", name,
                            in.len);
    for (size_t i = 0; i < in.len; i++)
        if (in.ptr[i] < 0x20 || in.ptr[i] > 0x7e)
            return vt_error_set(err, VT_E_INVALID, "vcek_extensions",
                                "%s holds a non-printable byte", name);
    memcpy(out, in.ptr, in.len);
    out[in.len] = '\0';
    return VT_OK;
}

/* hwID: 64 bytes (Milan, Genoa) or 8 (Turin), raw or wrapped in an OCTET STRING. */
static vt_err hwid(const X509 *c, vt_snp_cert_ext *o, vt_error *err)
{
    vt_bytes v;
    bool has;
    VT_GUARD(ext(c, VT_SNP_OID_HWID, &v, &has, err));
    if (!has) return VT_OK;
    if ((v.len == 66 || v.len == 10) && v.ptr[0] == VT_DER_OCTET_STRING && v.ptr[1] == v.len - 2)
        VT_GUARD(whole_tlv(v, VT_DER_OCTET_STRING, "hwID", &v, err));
    if (v.len != 64 && v.len != 8)
        return vt_error_set(err, VT_E_INVALID, "vcek_extensions",
                            "hwID extension has %zu bytes, expected 64 or 8", v.len);
    memcpy(o->hwid, v.ptr, v.len);
    o->hwid_len = v.len;
    return VT_OK;
}

vt_err vt_snp_cert_ext_parse(const X509 *leaf, vt_snp_cert_ext *out, vt_error *err)
{
    vt_snp_cert_ext o;
    memset(&o, 0, sizeof o);
    vt_bytes v, in;
    VT_GUARD(ext(leaf, VT_SNP_OID_STRUCT_VERSION, &v, &o.has_struct_version, err));
    if (o.has_struct_version) {
        VT_GUARD(whole_tlv(v, VT_DER_INTEGER, "structVersion", &in, err));
        VT_GUARD(vt_der_uint(in, "structVersion", &o.struct_version, err));
    }
    VT_GUARD(ia5(leaf, VT_SNP_OID_PRODUCT_NAME, "productName", o.product_name, sizeof o.product_name, err));
    VT_GUARD(spl(leaf, VT_SNP_OID_BL_SPL, "blSPL", &o.has_bl, &o.bl_spl, err));
    VT_GUARD(spl(leaf, VT_SNP_OID_TEE_SPL, "teeSPL", &o.has_tee, &o.tee_spl, err));
    VT_GUARD(spl(leaf, VT_SNP_OID_SNP_SPL, "snpSPL", &o.has_snp, &o.snp_spl, err));
    VT_GUARD(spl(leaf, VT_SNP_OID_UCODE_SPL, "ucodeSPL", &o.has_ucode, &o.ucode_spl, err));
    VT_GUARD(spl(leaf, VT_SNP_OID_FMC_SPL, "fmcSPL", &o.has_fmc, &o.fmc_spl, err));
    VT_GUARD(hwid(leaf, &o, err));
    VT_GUARD(ia5(leaf, VT_SNP_OID_CSP_ID, "cspId", o.csp_id, sizeof o.csp_id, err));
    *out = o;
    return VT_OK;
}
