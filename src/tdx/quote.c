/* DCAP ECDSA quote parser: SGX quote v3, TDX quote v4 and v5 (Intel TDX DCAP Quoting Library
 * API, appendix "Quote format"; SGX ECDSA Quote Library Reference, "Quote structure"). */
#include <string.h>

#include "veritee/tdx.h"

#define SGX_REPORT_SIZE VT_SGX_REPORT_SIZE
#define TD10_SIZE VT_TDX_TD10_BODY_SIZE
#define TD15_SIZE VT_TDX_TD15_BODY_SIZE
#define MAX_AUTH_DATA 4096

const uint8_t VT_TDX_INTEL_QE_VENDOR_ID[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                               0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

static vt_err read_sgx_report(vt_reader *r, vt_sgx_report *s)
{
    VT_GUARD(vt_read_copy(r, "CPUSVN", s->cpu_svn, 16));
    VT_GUARD(vt_read_u32le(r, "MISCSELECT", &s->misc_select));
    VT_GUARD(vt_read_skip(r, "reserved", 12));
    VT_GUARD(vt_read_copy(r, "ISVEXTPRODID", s->isv_ext_prod_id, 16));
    VT_GUARD(vt_read_copy(r, "ATTRIBUTES", s->attributes, 16));
    VT_GUARD(vt_read_copy(r, "MRENCLAVE", s->mr_enclave, 32));
    VT_GUARD(vt_read_skip(r, "reserved", 32));
    VT_GUARD(vt_read_copy(r, "MRSIGNER", s->mr_signer, 32));
    VT_GUARD(vt_read_skip(r, "reserved", 32));
    VT_GUARD(vt_read_copy(r, "CONFIGID", s->config_id, 64));
    VT_GUARD(vt_read_u16le(r, "ISVPRODID", &s->isv_prod_id));
    VT_GUARD(vt_read_u16le(r, "ISVSVN", &s->isv_svn));
    VT_GUARD(vt_read_u16le(r, "CONFIGSVN", &s->config_svn));
    VT_GUARD(vt_read_skip(r, "reserved", 42));
    VT_GUARD(vt_read_copy(r, "ISVFAMILYID", s->isv_family_id, 16));
    return vt_read_copy(r, "REPORTDATA", s->report_data, 64);
}

static vt_err read_td_report(vt_reader *r, vt_td_report *t, bool tdx15)
{
    VT_GUARD(vt_read_copy(r, "TEE_TCB_SVN", t->tee_tcb_svn, 16));
    VT_GUARD(vt_read_copy(r, "MRSEAM", t->mr_seam, 48));
    VT_GUARD(vt_read_copy(r, "MRSIGNERSEAM", t->mr_signer_seam, 48));
    VT_GUARD(vt_read_copy(r, "SEAMATTRIBUTES", t->seam_attributes, 8));
    VT_GUARD(vt_read_copy(r, "TDATTRIBUTES", t->td_attributes, 8));
    VT_GUARD(vt_read_copy(r, "XFAM", t->xfam, 8));
    VT_GUARD(vt_read_copy(r, "MRTD", t->mr_td, 48));
    VT_GUARD(vt_read_copy(r, "MRCONFIGID", t->mr_config_id, 48));
    VT_GUARD(vt_read_copy(r, "MROWNER", t->mr_owner, 48));
    VT_GUARD(vt_read_copy(r, "MROWNERCONFIG", t->mr_owner_config, 48));
    for (int i = 0; i < 4; i++) VT_GUARD(vt_read_copy(r, "RTMR", t->rtmr[i], 48));
    VT_GUARD(vt_read_copy(r, "REPORTDATA", t->report_data, 64));
    t->tdx15 = tdx15;
    if (!tdx15) return VT_OK;
    VT_GUARD(vt_read_copy(r, "TEE_TCB_SVN2", t->tee_tcb_svn2, 16));
    return vt_read_copy(r, "MRSERVICETD", t->mr_service_td, 48);
}

static vt_err read_header(vt_reader *r, vt_tdx_quote *q, vt_error *err)
{
    VT_GUARD(vt_read_u16le(r, "version", &q->version));
    VT_GUARD(vt_read_u16le(r, "attestation key type", &q->att_key_type));
    VT_GUARD(vt_read_u32le(r, "TEE type", &q->tee_type));
    VT_GUARD(vt_read_u16le(r, "QE SVN", &q->qe_svn));
    VT_GUARD(vt_read_u16le(r, "PCE SVN", &q->pce_svn));
    VT_GUARD(vt_read_copy(r, "QE vendor id", q->qe_vendor_id, 16));
    VT_GUARD(vt_read_copy(r, "user data", q->user_data, 20));
    if (q->version < 3 || q->version > 5)
        return vt_error_set(err, VT_E_UNSUPPORTED, "header", "quote version %u is not supported (3, 4, 5)",
                            q->version);
    if (q->tee_type != VT_TDX_TEE_SGX && q->tee_type != VT_TDX_TEE_TDX)
        return vt_error_set(err, VT_E_INVALID, "header", "TEE type 0x%08x is neither SGX nor TDX",
                            q->tee_type);
    if (q->version == 3 && q->tee_type != VT_TDX_TEE_SGX)
        return vt_error_set(err, VT_E_INVALID, "header", "quote v3 with TEE type 0x%08x (v3 is SGX only)",
                            q->tee_type);
    return VT_OK;
}

static vt_err read_body(vt_reader *r, vt_tdx_quote *q, vt_error *err)
{
    if (q->version == 3 || (q->version == 4 && q->tee_type == VT_TDX_TEE_SGX)) {
        q->body_type = VT_TDX_BODY_SGX;
        q->body_size = SGX_REPORT_SIZE;
        return read_sgx_report(r, &q->enclave);
    }
    if (q->version == 4) {
        q->body_type = VT_TDX_BODY_TD10;
        q->body_size = TD10_SIZE;
        return read_td_report(r, &q->td, false);
    }
    VT_GUARD(vt_read_u16le(r, "body type", &q->body_type));
    VT_GUARD(vt_read_u32le(r, "body size", &q->body_size));
    static const uint32_t want[] = {0, SGX_REPORT_SIZE, TD10_SIZE, TD15_SIZE};
    if (q->body_type < 1 || q->body_type > 3)
        return vt_error_set(err, VT_E_UNSUPPORTED, "header", "quote v5 body type %u is not supported",
                            q->body_type);
    if (q->body_size != want[q->body_type])
        return vt_error_set(err, VT_E_INVALID, "header",
                            "quote v5 body type %u has size %u, expected %u", q->body_type,
                            q->body_size, want[q->body_type]);
    if ((q->body_type == VT_TDX_BODY_SGX) != (q->tee_type == VT_TDX_TEE_SGX))
        return vt_error_set(err, VT_E_INVALID, "header", "quote v5 body type %u contradicts TEE type 0x%08x",
                            q->body_type, q->tee_type);
    if (q->body_type == VT_TDX_BODY_SGX) return read_sgx_report(r, &q->enclave);
    return read_td_report(r, &q->td, q->body_type == VT_TDX_BODY_TD15);
}

/* QE report + signature + auth data + inner certification data (type 5). */
static vt_err read_qe_part(vt_reader *r, vt_tdx_quote *q, vt_error *err)
{
    vt_reader qr;
    VT_GUARD(vt_read_view(r, "QE report", SGX_REPORT_SIZE, &q->qe_report_raw));
    vt_reader_init(&qr, q->qe_report_raw.ptr, q->qe_report_raw.len, "QE report", err);
    VT_GUARD(read_sgx_report(&qr, &q->qe_report));
    VT_GUARD(vt_read_copy(r, "QE report signature", q->qe_report_sig, 64));
    uint16_t auth_len;
    VT_GUARD(vt_read_u16le(r, "QE auth data size", &auth_len));
    if (auth_len > MAX_AUTH_DATA)
        return vt_error_set(err, VT_E_INVALID, "certification_data", "QE auth data size %u is implausible",
                            auth_len);
    VT_GUARD(vt_read_view(r, "QE auth data", auth_len, &q->qe_auth_data));
    uint16_t type;
    uint32_t size;
    VT_GUARD(vt_read_u16le(r, "certification data type", &type));
    VT_GUARD(vt_read_u32le(r, "certification data size", &size));
    if (type != VT_TDX_CERT_PCK_CHAIN)
        return vt_error_set(err, VT_E_UNSUPPORTED, "certification_data",
                            "certification data type %u is not a PCK certificate chain (5)", type);
    VT_GUARD(vt_read_view(r, "PCK certificate chain", size, &q->pck_chain));
    if (vt_reader_remaining(r) != 0)
        return vt_error_set(err, VT_E_INVALID, "certification_data",
                            "%zu unexpected bytes after the PCK certificate chain",
                            vt_reader_remaining(r));
    return VT_OK;
}

vt_err vt_tdx_quote_parse(const uint8_t *p, size_t len, vt_tdx_quote *q, vt_error *err)
{
    memset(q, 0, sizeof *q);
    vt_reader r;
    vt_reader_init(&r, p, len, "quote", err);
    VT_GUARD(read_header(&r, q, err));
    VT_GUARD(read_body(&r, q, err));
    q->signed_region = (vt_bytes){p, r.off};
    uint32_t sig_len;
    VT_GUARD(vt_read_u32le(&r, "signature data size", &sig_len));
    vt_reader s;
    VT_GUARD(vt_read_sub(&r, "signature data", sig_len, &s));
    q->trailing = vt_reader_remaining(&r);
    s.what = "signature data";
    VT_GUARD(vt_read_copy(&s, "quote signature", q->signature, 64));
    VT_GUARD(vt_read_copy(&s, "attestation key", q->attest_key, 64));
    if (q->version == 3) return read_qe_part(&s, q, err);
    uint16_t type;
    uint32_t size;
    VT_GUARD(vt_read_u16le(&s, "certification data type", &type));
    VT_GUARD(vt_read_u32le(&s, "certification data size", &size));
    if (type != VT_TDX_CERT_QE_REPORT)
        return vt_error_set(err, VT_E_UNSUPPORTED, "certification_data",
                            "outer certification data type %u is not QE report data (6)", type);
    if (size != vt_reader_remaining(&s))
        return vt_error_set(err, VT_E_INVALID, "certification_data",
                            "certification data size %u does not match the %zu bytes that remain",
                            size, vt_reader_remaining(&s));
    vt_reader c;
    VT_GUARD(vt_read_sub(&s, "QE report certification data", size, &c));
    return read_qe_part(&c, q, err);
}

bool vt_tdx_quote_is_td(const vt_tdx_quote *q) { return q->tee_type == VT_TDX_TEE_TDX; }

/* ---- the inverse, field for field in the readers' order ---- */

vt_err vt_tdx_sgx_report_write(vt_writer *w, const vt_sgx_report *s)
{
    vt_write_bytes(w, "CPUSVN", s->cpu_svn, 16);
    vt_write_u32le(w, "MISCSELECT", s->misc_select);
    vt_write_zeros(w, "reserved", 12);
    vt_write_bytes(w, "ISVEXTPRODID", s->isv_ext_prod_id, 16);
    vt_write_bytes(w, "ATTRIBUTES", s->attributes, 16);
    vt_write_bytes(w, "MRENCLAVE", s->mr_enclave, 32);
    vt_write_zeros(w, "reserved", 32);
    vt_write_bytes(w, "MRSIGNER", s->mr_signer, 32);
    vt_write_zeros(w, "reserved", 32);
    vt_write_bytes(w, "CONFIGID", s->config_id, 64);
    vt_write_u16le(w, "ISVPRODID", s->isv_prod_id);
    vt_write_u16le(w, "ISVSVN", s->isv_svn);
    vt_write_u16le(w, "CONFIGSVN", s->config_svn);
    vt_write_zeros(w, "reserved", 42);
    vt_write_bytes(w, "ISVFAMILYID", s->isv_family_id, 16);
    return vt_write_bytes(w, "REPORTDATA", s->report_data, 64);
}

static vt_err write_td_report(vt_writer *w, const vt_td_report *t)
{
    vt_write_bytes(w, "TEE_TCB_SVN", t->tee_tcb_svn, 16);
    vt_write_bytes(w, "MRSEAM", t->mr_seam, 48);
    vt_write_bytes(w, "MRSIGNERSEAM", t->mr_signer_seam, 48);
    vt_write_bytes(w, "SEAMATTRIBUTES", t->seam_attributes, 8);
    vt_write_bytes(w, "TDATTRIBUTES", t->td_attributes, 8);
    vt_write_bytes(w, "XFAM", t->xfam, 8);
    vt_write_bytes(w, "MRTD", t->mr_td, 48);
    vt_write_bytes(w, "MRCONFIGID", t->mr_config_id, 48);
    vt_write_bytes(w, "MROWNER", t->mr_owner, 48);
    vt_write_bytes(w, "MROWNERCONFIG", t->mr_owner_config, 48);
    for (int i = 0; i < 4; i++) vt_write_bytes(w, "RTMR", t->rtmr[i], 48);
    vt_write_bytes(w, "REPORTDATA", t->report_data, 64);
    if (!t->tdx15) return vt_writer_status(w);
    vt_write_bytes(w, "TEE_TCB_SVN2", t->tee_tcb_svn2, 16);
    return vt_write_bytes(w, "MRSERVICETD", t->mr_service_td, 48);
}

vt_err vt_tdx_quote_signed_write(vt_writer *w, const vt_tdx_quote *q)
{
    static const uint32_t size[] = {0, SGX_REPORT_SIZE, TD10_SIZE, TD15_SIZE};
    vt_write_u16le(w, "version", q->version);
    vt_write_u16le(w, "attestation key type", q->att_key_type);
    vt_write_u32le(w, "TEE type", q->tee_type);
    vt_write_u16le(w, "QE SVN", q->qe_svn);
    vt_write_u16le(w, "PCE SVN", q->pce_svn);
    vt_write_bytes(w, "QE vendor id", q->qe_vendor_id, 16);
    vt_write_bytes(w, "user data", q->user_data, 20);
    if (q->version == 5) {
        vt_write_u16le(w, "body type", q->body_type);
        vt_write_u32le(w, "body size", q->body_type <= 3 ? size[q->body_type] : 0);
    }
    if (q->tee_type == VT_TDX_TEE_SGX) return vt_tdx_sgx_report_write(w, &q->enclave);
    return write_td_report(w, &q->td);
}
