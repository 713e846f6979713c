/* SEV-SNP ATTESTATION_REPORT parser (SEV-SNP Firmware ABI spec 56860, "ATTESTATION_REPORT
 * Structure" table; versions 2, 3 (CPUID fields), 4 (same layout as 3) and 5 (mitigation vectors)). */
#include <stddef.h>
#include <string.h>

#include "veritee/snp.h"
#include "veritee/writer.h"

/* r and s are 72-byte little-endian values of which P-384 uses the low 48 bytes. */
static vt_err read_sig_component(vt_reader *r, const char *field, uint8_t out[48])
{
    uint8_t le[48];
    VT_GUARD(vt_read_copy(r, field, le, sizeof le));
    VT_GUARD(vt_read_zero(r, field, VT_SNP_SIG_COMPONENT_SIZE - 48));
    for (size_t i = 0; i < 48; i++) out[i] = le[47 - i];
    return VT_OK;
}

static vt_err read_version(vt_reader *r, const char *field, vt_snp_fw_version *v)
{
    VT_GUARD(vt_read_u8(r, field, &v->build));
    VT_GUARD(vt_read_u8(r, field, &v->minor));
    VT_GUARD(vt_read_u8(r, field, &v->major));
    return vt_read_zero(r, "reserved after version", 1);
}

static vt_err parse_key_info(vt_snp_report *o, vt_error *err)
{
    if (o->key_info >> 5)
        return vt_error_set(err, VT_E_INVALID, "parse",
                            "SNP report: KEY_INFO 0x%x has reserved bits 31:5 set", o->key_info);
    unsigned sk = (o->key_info >> 2) & 7;
    if (sk >= 2 && sk <= 6)
        return vt_error_set(err, VT_E_INVALID, "parse",
                            "SNP report: SIGNING_KEY %u is reserved (0 VCEK, 1 VLEK, 7 none)", sk);
    o->author_key_en = (o->key_info & 1) != 0;
    o->mask_chip_key = (o->key_info & 2) != 0;
    o->signing_key = (vt_snp_signing_key)sk;
    return VT_OK;
}

static vt_err parse_head(vt_reader *r, vt_snp_report *o, vt_error *err)
{
    uint64_t policy, pinfo;
    VT_GUARD(vt_read_u32le(r, "GUEST_SVN", &o->guest_svn));
    VT_GUARD(vt_read_u64le(r, "POLICY", &policy));
    VT_GUARD(vt_snp_policy_decode(policy, &o->policy, err));
    VT_GUARD(vt_read_copy(r, "FAMILY_ID", o->family_id, 16));
    VT_GUARD(vt_read_copy(r, "IMAGE_ID", o->image_id, 16));
    VT_GUARD(vt_read_u32le(r, "VMPL", &o->vmpl));
    VT_GUARD(vt_read_u32le(r, "SIGNATURE_ALGO", &o->signature_algo));
    VT_GUARD(vt_read_u64le(r, "CURRENT_TCB", &o->current_tcb));
    VT_GUARD(vt_read_u64le(r, "PLATFORM_INFO", &pinfo));
    vt_snp_platform_info_decode(pinfo, &o->platform_info);
    VT_GUARD(vt_read_u32le(r, "KEY_INFO", &o->key_info));
    VT_GUARD(parse_key_info(o, err));
    VT_GUARD(vt_read_zero(r, "reserved 0x04C", VT_SNP_OFF_REPORT_DATA - VT_SNP_OFF_KEY_INFO - 4));
    VT_GUARD(vt_read_copy(r, "REPORT_DATA", o->report_data, 64));
    VT_GUARD(vt_read_copy(r, "MEASUREMENT", o->measurement, 48));
    VT_GUARD(vt_read_copy(r, "HOST_DATA", o->host_data, 32));
    VT_GUARD(vt_read_copy(r, "ID_KEY_DIGEST", o->id_key_digest, 48));
    VT_GUARD(vt_read_copy(r, "AUTHOR_KEY_DIGEST", o->author_key_digest, 48));
    VT_GUARD(vt_read_copy(r, "REPORT_ID", o->report_id, 32));
    VT_GUARD(vt_read_copy(r, "REPORT_ID_MA", o->report_id_ma, 32));
    return vt_read_u64le(r, "REPORTED_TCB", &o->reported_tcb);
}

static vt_err parse_tail(vt_reader *r, vt_snp_report *o)
{
    if (o->version >= 3) {
        o->has_cpuid = true;
        VT_GUARD(vt_read_u8(r, "CPUID_FAM_ID", &o->cpuid_fam_id));
        VT_GUARD(vt_read_u8(r, "CPUID_MOD_ID", &o->cpuid_mod_id));
        VT_GUARD(vt_read_u8(r, "CPUID_STEP", &o->cpuid_step));
        VT_GUARD(vt_read_zero(r, "reserved 0x18B", VT_SNP_OFF_CHIP_ID - VT_SNP_OFF_CPUID_STEP - 1));
    } else {
        VT_GUARD(vt_read_zero(r, "reserved 0x188", VT_SNP_OFF_CHIP_ID - VT_SNP_OFF_CPUID_FAM_ID));
    }
    VT_GUARD(vt_read_copy(r, "CHIP_ID", o->chip_id, 64));
    VT_GUARD(vt_read_u64le(r, "COMMITTED_TCB", &o->committed_tcb));
    VT_GUARD(read_version(r, "CURRENT version", &o->current_version));
    VT_GUARD(read_version(r, "COMMITTED version", &o->committed_version));
    VT_GUARD(vt_read_u64le(r, "LAUNCH_TCB", &o->launch_tcb));
    if (o->version >= 5) {
        o->has_mit_vectors = true;
        VT_GUARD(vt_read_u64le(r, "LAUNCH_MIT_VECTOR", &o->launch_mit_vector));
        VT_GUARD(vt_read_u64le(r, "CURRENT_MIT_VECTOR", &o->current_mit_vector));
        VT_GUARD(vt_read_zero(r, "reserved 0x208", VT_SNP_SIGNED_SIZE - VT_SNP_OFF_CURRENT_MIT_VECTOR - 8));
    } else {
        VT_GUARD(vt_read_zero(r, "reserved 0x1F8", VT_SNP_SIGNED_SIZE - VT_SNP_OFF_LAUNCH_MIT_VECTOR));
    }
    if (o->signature_algo == VT_SNP_SIG_ALGO_ECDSA_P384_SHA384) {
        VT_GUARD(read_sig_component(r, "SIGNATURE R", o->sig_r));
        VT_GUARD(read_sig_component(r, "SIGNATURE S", o->sig_s));
        VT_GUARD(vt_read_zero(r, "reserved 0x330", VT_SNP_REPORT_SIZE - VT_SNP_OFF_SIGNATURE_END));
    } else {
        /* Unknown algorithm: the verifier rejects it; the bytes are not interpreted. */
        VT_GUARD(vt_read_skip(r, "SIGNATURE", VT_SNP_REPORT_SIZE - VT_SNP_SIGNED_SIZE));
    }
    return VT_OK;
}

vt_err vt_snp_report_parse(const uint8_t *p, size_t len, vt_snp_report *out, vt_error *err)
{
    if (p == NULL || out == NULL) return vt_error_set(err, VT_E_ARG, "parse", "SNP report: no input");
    if (len != VT_SNP_REPORT_SIZE)
        return vt_error_set(err, VT_E_INVALID, "parse",
                            "SNP report has %zu bytes, an ATTESTATION_REPORT has %u", len,
                            VT_SNP_REPORT_SIZE);
    vt_snp_report o;
    memset(&o, 0, sizeof o);
    vt_reader r;
    vt_reader_init(&r, p, len, "SNP report", err);
    VT_GUARD(vt_read_u32le(&r, "VERSION", &o.version));
    if (o.version < VT_SNP_VERSION_MIN || o.version > VT_SNP_VERSION_MAX)
        return vt_error_set(err, VT_E_UNSUPPORTED, "report_version",
                            "SNP report version %u is not supported (%u..%u)", o.version,
                            VT_SNP_VERSION_MIN, VT_SNP_VERSION_MAX);
    VT_GUARD(parse_head(&r, &o, err));
    VT_GUARD(parse_tail(&r, &o));
    *out = o;
    return VT_OK;
}

/* ---- the inverse: Table 23 as data, each field written at its offset over zeros ---- */

enum field_kind { U8, U32, U64, BYTES, SIG };
enum field_when { ALWAYS, CPUID, MIT };

#define F(off, member, kind, when) \
    {off, offsetof(vt_snp_report, member), sizeof(((vt_snp_report *)0)->member), kind, when, #off}
static const struct {
    size_t off, at, len;
    enum field_kind kind;
    enum field_when when;
    const char *name;
} TABLE23[] = {
    F(VT_SNP_OFF_VERSION, version, U32, ALWAYS),
    F(VT_SNP_OFF_GUEST_SVN, guest_svn, U32, ALWAYS),
    F(VT_SNP_OFF_POLICY, policy.raw, U64, ALWAYS),
    F(VT_SNP_OFF_FAMILY_ID, family_id, BYTES, ALWAYS),
    F(VT_SNP_OFF_IMAGE_ID, image_id, BYTES, ALWAYS),
    F(VT_SNP_OFF_VMPL, vmpl, U32, ALWAYS),
    F(VT_SNP_OFF_SIGNATURE_ALGO, signature_algo, U32, ALWAYS),
    F(VT_SNP_OFF_CURRENT_TCB, current_tcb, U64, ALWAYS),
    F(VT_SNP_OFF_PLATFORM_INFO, platform_info.raw, U64, ALWAYS),
    F(VT_SNP_OFF_KEY_INFO, key_info, U32, ALWAYS),
    F(VT_SNP_OFF_REPORT_DATA, report_data, BYTES, ALWAYS),
    F(VT_SNP_OFF_MEASUREMENT, measurement, BYTES, ALWAYS),
    F(VT_SNP_OFF_HOST_DATA, host_data, BYTES, ALWAYS),
    F(VT_SNP_OFF_ID_KEY_DIGEST, id_key_digest, BYTES, ALWAYS),
    F(VT_SNP_OFF_AUTHOR_KEY_DIGEST, author_key_digest, BYTES, ALWAYS),
    F(VT_SNP_OFF_REPORT_ID, report_id, BYTES, ALWAYS),
    F(VT_SNP_OFF_REPORT_ID_MA, report_id_ma, BYTES, ALWAYS),
    F(VT_SNP_OFF_REPORTED_TCB, reported_tcb, U64, ALWAYS),
    F(VT_SNP_OFF_CPUID_FAM_ID, cpuid_fam_id, U8, CPUID),
    F(VT_SNP_OFF_CPUID_MOD_ID, cpuid_mod_id, U8, CPUID),
    F(VT_SNP_OFF_CPUID_STEP, cpuid_step, U8, CPUID),
    F(VT_SNP_OFF_CHIP_ID, chip_id, BYTES, ALWAYS),
    F(VT_SNP_OFF_COMMITTED_TCB, committed_tcb, U64, ALWAYS),
    F(VT_SNP_OFF_CURRENT_VERSION + 0, current_version.build, U8, ALWAYS),
    F(VT_SNP_OFF_CURRENT_VERSION + 1, current_version.minor, U8, ALWAYS),
    F(VT_SNP_OFF_CURRENT_VERSION + 2, current_version.major, U8, ALWAYS),
    F(VT_SNP_OFF_COMMITTED_VERSION + 0, committed_version.build, U8, ALWAYS),
    F(VT_SNP_OFF_COMMITTED_VERSION + 1, committed_version.minor, U8, ALWAYS),
    F(VT_SNP_OFF_COMMITTED_VERSION + 2, committed_version.major, U8, ALWAYS),
    F(VT_SNP_OFF_LAUNCH_TCB, launch_tcb, U64, ALWAYS),
    F(VT_SNP_OFF_LAUNCH_MIT_VECTOR, launch_mit_vector, U64, MIT),
    F(VT_SNP_OFF_CURRENT_MIT_VECTOR, current_mit_vector, U64, MIT),
    F(VT_SNP_OFF_SIGNATURE_R, sig_r, SIG, ALWAYS), /* big-endian 48 -> little-endian 72 */
    F(VT_SNP_OFF_SIGNATURE_S, sig_s, SIG, ALWAYS),
};
#undef F

static vt_err put_field(vt_writer *w, const vt_snp_report *r, size_t i)
{
    const uint8_t *p = (const uint8_t *)r + TABLE23[i].at;
    uint8_t le[48];
    uint32_t u32;
    uint64_t u64;
    VT_GUARD(vt_writer_seek(w, TABLE23[i].off));
    switch (TABLE23[i].kind) {
    case U8: return vt_write_u8(w, TABLE23[i].name, *p);
    case U32: memcpy(&u32, p, sizeof u32); return vt_write_u32le(w, TABLE23[i].name, u32);
    case U64: memcpy(&u64, p, sizeof u64); return vt_write_u64le(w, TABLE23[i].name, u64);
    case BYTES: return vt_write_bytes(w, TABLE23[i].name, p, TABLE23[i].len);
    case SIG:
        for (size_t k = 0; k < 48; k++) le[k] = p[47 - k];
        return vt_write_bytes(w, TABLE23[i].name, le, sizeof le); /* bytes 48..71 stay zero */
    }
    return VT_OK;
}

vt_err vt_snp_report_encode(const vt_snp_report *r, uint8_t out[VT_SNP_REPORT_SIZE], vt_error *err)
{
    vt_writer w;
    vt_writer_init_fixed(&w, out, VT_SNP_REPORT_SIZE, "SNP report", err);
    VT_GUARD(vt_write_zeros(&w, "report", VT_SNP_REPORT_SIZE)); /* reserved ranges stay zero */
    for (size_t i = 0; i < sizeof TABLE23 / sizeof TABLE23[0]; i++) {
        if ((TABLE23[i].when == CPUID && !r->has_cpuid) || (TABLE23[i].when == MIT && !r->has_mit_vectors))
            continue;
        VT_GUARD(put_field(&w, r, i));
    }
    return VT_OK;
}

vt_err vt_snp_evidence_split(const uint8_t *p, size_t len, vt_bytes *report, vt_bytes *certtable,
                             vt_error *err)
{
    if (p == NULL || len < VT_SNP_REPORT_SIZE)
        return vt_error_set(err, VT_E_INVALID, "parse",
                            "SNP evidence has %zu bytes, an ATTESTATION_REPORT has %u", len,
                            VT_SNP_REPORT_SIZE);
    report->ptr = p;
    report->len = VT_SNP_REPORT_SIZE;
    certtable->ptr = len > VT_SNP_REPORT_SIZE ? p + VT_SNP_REPORT_SIZE : NULL;
    certtable->len = len - VT_SNP_REPORT_SIZE;
    return VT_OK;
}
