/* SEV-SNP ATTESTATION_REPORT parser (SEV-SNP Firmware ABI spec 56860, "ATTESTATION_REPORT
 * Structure" table; versions 2, 3 (CPUID fields), 4 (same layout as 3) and 5 (mitigation vectors)). */
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

/* ---- the inverse: each field written at its Table 23 offset over an all-zero report ---- */

static vt_err put_version(vt_writer *w, size_t off, const vt_snp_fw_version *v)
{
    VT_GUARD(vt_writer_seek(w, off));
    VT_GUARD(vt_write_u8(w, "build", v->build));
    VT_GUARD(vt_write_u8(w, "minor", v->minor));
    return vt_write_u8(w, "major", v->major);
}

/* 48 big-endian bytes as a 72-byte little-endian value (the zero padding is already there). */
static vt_err put_sig_component(vt_writer *w, size_t off, const uint8_t be[48])
{
    uint8_t le[48];
    for (size_t i = 0; i < 48; i++) le[i] = be[47 - i];
    VT_GUARD(vt_writer_seek(w, off));
    return vt_write_bytes(w, "signature component", le, sizeof le);
}

#define AT(off) VT_GUARD(vt_writer_seek(&w, (off)))

vt_err vt_snp_report_encode(const vt_snp_report *r, uint8_t out[VT_SNP_REPORT_SIZE], vt_error *err)
{
    vt_writer w;
    vt_writer_init_fixed(&w, out, VT_SNP_REPORT_SIZE, "SNP report", err);
    VT_GUARD(vt_write_zeros(&w, "report", VT_SNP_REPORT_SIZE));
    AT(VT_SNP_OFF_VERSION);
    VT_GUARD(vt_write_u32le(&w, "VERSION", r->version));
    AT(VT_SNP_OFF_GUEST_SVN);
    VT_GUARD(vt_write_u32le(&w, "GUEST_SVN", r->guest_svn));
    AT(VT_SNP_OFF_POLICY);
    VT_GUARD(vt_write_u64le(&w, "POLICY", r->policy.raw));
    AT(VT_SNP_OFF_FAMILY_ID);
    VT_GUARD(vt_write_bytes(&w, "FAMILY_ID", r->family_id, sizeof r->family_id));
    AT(VT_SNP_OFF_IMAGE_ID);
    VT_GUARD(vt_write_bytes(&w, "IMAGE_ID", r->image_id, sizeof r->image_id));
    AT(VT_SNP_OFF_VMPL);
    VT_GUARD(vt_write_u32le(&w, "VMPL", r->vmpl));
    AT(VT_SNP_OFF_SIGNATURE_ALGO);
    VT_GUARD(vt_write_u32le(&w, "SIGNATURE_ALGO", r->signature_algo));
    AT(VT_SNP_OFF_CURRENT_TCB);
    VT_GUARD(vt_write_u64le(&w, "CURRENT_TCB", r->current_tcb));
    AT(VT_SNP_OFF_PLATFORM_INFO);
    VT_GUARD(vt_write_u64le(&w, "PLATFORM_INFO", r->platform_info.raw));
    AT(VT_SNP_OFF_KEY_INFO);
    VT_GUARD(vt_write_u32le(&w, "KEY_INFO", r->key_info));
    AT(VT_SNP_OFF_REPORT_DATA);
    VT_GUARD(vt_write_bytes(&w, "REPORT_DATA", r->report_data, sizeof r->report_data));
    AT(VT_SNP_OFF_MEASUREMENT);
    VT_GUARD(vt_write_bytes(&w, "MEASUREMENT", r->measurement, sizeof r->measurement));
    AT(VT_SNP_OFF_HOST_DATA);
    VT_GUARD(vt_write_bytes(&w, "HOST_DATA", r->host_data, sizeof r->host_data));
    AT(VT_SNP_OFF_ID_KEY_DIGEST);
    VT_GUARD(vt_write_bytes(&w, "ID_KEY_DIGEST", r->id_key_digest, sizeof r->id_key_digest));
    AT(VT_SNP_OFF_AUTHOR_KEY_DIGEST);
    VT_GUARD(vt_write_bytes(&w, "AUTHOR_KEY_DIGEST", r->author_key_digest, sizeof r->author_key_digest));
    AT(VT_SNP_OFF_REPORT_ID);
    VT_GUARD(vt_write_bytes(&w, "REPORT_ID", r->report_id, sizeof r->report_id));
    AT(VT_SNP_OFF_REPORT_ID_MA);
    VT_GUARD(vt_write_bytes(&w, "REPORT_ID_MA", r->report_id_ma, sizeof r->report_id_ma));
    AT(VT_SNP_OFF_REPORTED_TCB);
    VT_GUARD(vt_write_u64le(&w, "REPORTED_TCB", r->reported_tcb));
    if (r->has_cpuid) {
        AT(VT_SNP_OFF_CPUID_FAM_ID);
        VT_GUARD(vt_write_u8(&w, "CPUID_FAM_ID", r->cpuid_fam_id));
        AT(VT_SNP_OFF_CPUID_MOD_ID);
        VT_GUARD(vt_write_u8(&w, "CPUID_MOD_ID", r->cpuid_mod_id));
        AT(VT_SNP_OFF_CPUID_STEP);
        VT_GUARD(vt_write_u8(&w, "CPUID_STEP", r->cpuid_step));
    }
    AT(VT_SNP_OFF_CHIP_ID);
    VT_GUARD(vt_write_bytes(&w, "CHIP_ID", r->chip_id, sizeof r->chip_id));
    AT(VT_SNP_OFF_COMMITTED_TCB);
    VT_GUARD(vt_write_u64le(&w, "COMMITTED_TCB", r->committed_tcb));
    VT_GUARD(put_version(&w, VT_SNP_OFF_CURRENT_VERSION, &r->current_version));
    VT_GUARD(put_version(&w, VT_SNP_OFF_COMMITTED_VERSION, &r->committed_version));
    AT(VT_SNP_OFF_LAUNCH_TCB);
    VT_GUARD(vt_write_u64le(&w, "LAUNCH_TCB", r->launch_tcb));
    if (r->has_mit_vectors) {
        AT(VT_SNP_OFF_LAUNCH_MIT_VECTOR);
        VT_GUARD(vt_write_u64le(&w, "LAUNCH_MIT_VECTOR", r->launch_mit_vector));
        AT(VT_SNP_OFF_CURRENT_MIT_VECTOR);
        VT_GUARD(vt_write_u64le(&w, "CURRENT_MIT_VECTOR", r->current_mit_vector));
    }
    VT_GUARD(put_sig_component(&w, VT_SNP_OFF_SIGNATURE_R, r->sig_r));
    return put_sig_component(&w, VT_SNP_OFF_SIGNATURE_S, r->sig_s);
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
