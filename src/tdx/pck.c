/* Intel SGX PCK certificate extensions, OID 1.2.840.113741.1.13.1 (Intel "SGX PCK Certificate
 * and Certificate Revocation List Profile Specification", section 1.5). */
#include <stdio.h>
#include <string.h>

#include "veritee/der.h"
#include "veritee/tdx.h"
#include "veritee/x509.h"

#define SGX_EXT_OID "1.2.840.113741.1.13.1"

/* Read one SEQUENCE { OID, value } entry; returns the last OID arc below `base`. */
static vt_err read_entry(vt_reader *r, const char *base, unsigned *arc, uint8_t *tag, vt_bytes *val,
                         vt_error *err)
{
    vt_bytes seq, oid;
    VT_GUARD(vt_der_expect(r, VT_DER_SEQUENCE, "extension entry", &seq));
    vt_reader s;
    vt_reader_init(&s, seq.ptr, seq.len, r->what, err);
    VT_GUARD(vt_der_expect(&s, VT_DER_OID, "entry OID", &oid));
    char txt[96];
    VT_GUARD(vt_der_oid_text(oid, txt, sizeof txt, err));
    size_t bl = strlen(base);
    unsigned a = 0;
    char extra;
    if (strncmp(txt, base, bl) != 0 || txt[bl] != '.' || sscanf(txt + bl + 1, "%u%c", &a, &extra) != 1)
        return vt_error_set(err, VT_E_INVALID, "pck_extensions", "unexpected OID %s under %s", txt, base);
    VT_GUARD(vt_der_read(&s, tag, val));
    if (vt_reader_remaining(&s) != 0)
        return vt_error_set(err, VT_E_INVALID, "pck_extensions", "trailing bytes in entry %s", txt);
    *arc = a;
    return VT_OK;
}

static vt_err octets(uint8_t tag, vt_bytes v, uint8_t *out, size_t n, const char *name, vt_error *err)
{
    if (tag != VT_DER_OCTET_STRING || v.len != n)
        return vt_error_set(err, VT_E_INVALID, "pck_extensions", "%s is not an OCTET STRING of %zu bytes",
                            name, n);
    memcpy(out, v.ptr, n);
    return VT_OK;
}

static vt_err small_uint(uint8_t tag, uint8_t want, vt_bytes v, uint64_t max, const char *name,
                         uint64_t *out, vt_error *err)
{
    if (tag != want)
        return vt_error_set(err, VT_E_INVALID, "pck_extensions", "%s has DER tag 0x%02x", name, tag);
    VT_GUARD(vt_der_uint(v, name, out, err));
    if (*out > max)
        return vt_error_set(err, VT_E_INVALID, "pck_extensions", "%s = %llu exceeds %llu", name,
                            (unsigned long long)*out, (unsigned long long)max);
    return VT_OK;
}

static vt_err parse_tcb(vt_bytes seq, vt_sgx_pck_ext *out, vt_error *err)
{
    vt_reader r;
    vt_reader_init(&r, seq.ptr, seq.len, "PCK TCB extension", err);
    unsigned seen = 0; /* bit per arc 1..18 */
    while (vt_reader_remaining(&r) > 0) {
        unsigned arc;
        uint8_t tag;
        vt_bytes v;
        uint64_t x;
        VT_GUARD(read_entry(&r, SGX_EXT_OID ".2", &arc, &tag, &v, err));
        if (arc < 1 || arc > 18 || (seen & (1u << arc)))
            return vt_error_set(err, VT_E_INVALID, "pck_extensions", "TCB entry .2.%u unexpected or repeated", arc);
        seen |= 1u << arc;
        if (arc <= 16) {
            VT_GUARD(small_uint(tag, VT_DER_INTEGER, v, 255, "SGX TCB component", &x, err));
            out->comp_svn[arc - 1] = (uint8_t)x;
        } else if (arc == 17) {
            VT_GUARD(small_uint(tag, VT_DER_INTEGER, v, 65535, "PCESVN", &x, err));
            out->pce_svn = (uint16_t)x;
        } else {
            VT_GUARD(octets(tag, v, out->cpu_svn, 16, "CPUSVN", err));
        }
    }
    if (seen != 0x7fffeu)
        return vt_error_set(err, VT_E_INVALID, "pck_extensions", "TCB extension lacks components (mask 0x%x)", seen);
    return VT_OK;
}

static vt_err parse_config(vt_bytes seq, vt_sgx_pck_ext *out, vt_error *err)
{
    vt_reader r;
    vt_reader_init(&r, seq.ptr, seq.len, "PCK configuration extension", err);
    while (vt_reader_remaining(&r) > 0) {
        unsigned arc;
        uint8_t tag;
        vt_bytes v;
        VT_GUARD(read_entry(&r, SGX_EXT_OID ".7", &arc, &tag, &v, err));
        if (tag != VT_DER_BOOLEAN || v.len != 1)
            return vt_error_set(err, VT_E_INVALID, "pck_extensions", "configuration .7.%u is not a BOOLEAN", arc);
        bool b = v.ptr[0] != 0;
        if (arc == 1) out->dynamic_platform = b;
        else if (arc == 2) out->cached_keys = b;
        else if (arc == 3) out->smt_enabled = b;
    }
    out->has_configuration = true;
    return VT_OK;
}

vt_err vt_sgx_pck_ext_parse_der(const uint8_t *p, size_t len, vt_sgx_pck_ext *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    vt_reader outer, r;
    vt_bytes seq;
    vt_reader_init(&outer, p, len, "PCK SGX extension", err);
    VT_GUARD(vt_der_expect(&outer, VT_DER_SEQUENCE, "SGX extensions", &seq));
    if (vt_reader_remaining(&outer) != 0)
        return vt_error_set(err, VT_E_INVALID, "pck_extensions", "trailing bytes after SGX extensions");
    vt_reader_init(&r, seq.ptr, seq.len, "PCK SGX extension", err);
    unsigned seen = 0;
    while (vt_reader_remaining(&r) > 0) {
        unsigned arc;
        uint8_t tag;
        vt_bytes v;
        uint64_t x;
        VT_GUARD(read_entry(&r, SGX_EXT_OID, &arc, &tag, &v, err));
        if (arc < 1 || arc > 31 || (seen & (1u << arc)))
            return vt_error_set(err, VT_E_INVALID, "pck_extensions", "SGX extension .%u repeated or out of range", arc);
        seen |= 1u << arc;
        switch (arc) {
        case 1: VT_GUARD(octets(tag, v, out->ppid, 16, "PPID", err)); break;
        case 2:
            if (tag != VT_DER_SEQUENCE)
                return vt_error_set(err, VT_E_INVALID, "pck_extensions", "TCB is not a SEQUENCE");
            VT_GUARD(parse_tcb(v, out, err));
            break;
        case 3: VT_GUARD(octets(tag, v, out->pce_id, 2, "PCE-ID", err)); break;
        case 4: VT_GUARD(octets(tag, v, out->fmspc, 6, "FMSPC", err)); break;
        case 5:
            VT_GUARD(small_uint(tag, VT_DER_ENUMERATED, v, 2, "SGX Type", &x, err));
            out->sgx_type = (int)x;
            break;
        case 6:
            VT_GUARD(octets(tag, v, out->platform_instance_id, 16, "PlatformInstanceID", err));
            out->has_platform_instance_id = true;
            break;
        case 7:
            if (tag != VT_DER_SEQUENCE)
                return vt_error_set(err, VT_E_INVALID, "pck_extensions", "Configuration is not a SEQUENCE");
            VT_GUARD(parse_config(v, out, err));
            break;
        default: break; /* later Intel additions are informational */
        }
    }
    const unsigned required = 1u << 1 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5;
    if ((seen & required) != required)
        return vt_error_set(err, VT_E_INVALID, "pck_extensions",
                            "PCK certificate lacks a required SGX extension (PPID, TCB, PCE-ID, FMSPC, SGX Type)");
    return VT_OK;
}

vt_err vt_sgx_pck_ext_parse(const X509 *pck, vt_sgx_pck_ext *out, vt_error *err)
{
    const uint8_t *p;
    size_t len;
    vt_err rc = vt_x509_ext_der(pck, SGX_EXT_OID, &p, &len, err);
    if (rc == VT_E_MISSING)
        return vt_error_set(err, VT_E_INVALID, "pck_extensions", "PCK certificate has no SGX extension");
    VT_GUARD(rc);
    return vt_sgx_pck_ext_parse_der(p, len, out, err);
}
