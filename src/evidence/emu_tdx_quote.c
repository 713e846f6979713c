/* Emulated TDX quotes, v4 (TDX 1.0 body) and v5 (body type 3, TDX 1.5), laid out byte for byte
 * as Intel's DCAP quoting library produces them (see src/tdx/quote.c for the parser). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "emu_internal.h"
#include "veritee/crypto.h"
#include "veritee/json.h"
#include "veritee/tdx.h"
#include "veritee/writer.h"

#define OPT VT_JSON_OPTIONAL

/* SGX REPORT_BODY of the emulated TD quoting enclave. */
static vt_err qe_report(vt_writer *w, uint16_t isv_svn, const uint8_t report_data[64])
{
    vt_sgx_report r;
    memset(&r, 0, sizeof r);
    r.attributes[0] = 0x11; /* INIT | MODE64BIT */
    memcpy(r.mr_signer, EMU_QE_MRSIGNER, 32);
    r.isv_prod_id = 2; /* TD QE */
    r.isv_svn = isv_svn;
    memcpy(r.report_data, report_data, 64);
    return vt_tdx_sgx_report_write(w, &r);
}

/* The TD report: the platform's fields over the built-in defaults. */
static vt_err td_body(const json_t *tj, bool tdx15, const uint8_t report_data[64], vt_td_report *r, vt_error *err)
{
    json_t *dj = emu_tdx_default();
    vt_json_in d, t;
    memset(r, 0, sizeof *r);
    vt_err rc = VT_OK;
    static const struct {
        const char *key;
        size_t off, n;
    } f[] = {
        {"tee_tcb_svn", offsetof(vt_td_report, tee_tcb_svn), 16}, {"mr_seam", offsetof(vt_td_report, mr_seam), 48},
        {"mr_signer_seam", offsetof(vt_td_report, mr_signer_seam), 48},
        {"td_attributes", offsetof(vt_td_report, td_attributes), 8}, {"xfam", offsetof(vt_td_report, xfam), 8},
        {"mr_td", offsetof(vt_td_report, mr_td), 48}, {"mr_config_id", offsetof(vt_td_report, mr_config_id), 48},
        {"mr_owner", offsetof(vt_td_report, mr_owner), 48},
        {"mr_owner_config", offsetof(vt_td_report, mr_owner_config), 48},
        {"tee_tcb_svn2", offsetof(vt_td_report, tee_tcb_svn2), 16},
        {"mr_service_td", offsetof(vt_td_report, mr_service_td), 48},
    };
    VT_GUARD_GOTO(vt_json_in_init(&d, dj, "tdx", "emulate", err));
    VT_GUARD_GOTO(vt_json_in_init(&t, tj, "tdx", "emulate", err));
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        VT_GUARD_GOTO(vt_json_get_hex(&d, f[i].key, OPT, (uint8_t *)r + f[i].off, f[i].n, NULL));
        VT_GUARD_GOTO(vt_json_get_hex(&t, f[i].key, OPT, (uint8_t *)r + f[i].off, f[i].n, NULL));
    }
    const json_t *rt = json_object_get(dj, "rtmr");
    VT_GUARD_GOTO(vt_json_get_arr(&t, "rtmr", OPT, 4, 4, &rt, NULL));
    for (size_t i = 0; i < 4; i++) {
        const char *h = json_string_value(json_array_get(rt, i));
        if (h == NULL || vt_hex_decode_fixed(h, r->rtmr[i], 48, err) != VT_OK) {
            rc = vt_error_set(err, VT_E_INVALID, "emulate", "tdx.rtmr[%zu]: expected 48 hex bytes", i);
            goto out;
        }
    }
    bool debug = false;
    VT_GUARD_GOTO(vt_json_get_bool(&t, "debug", OPT, &debug, NULL));
    if (debug) r->td_attributes[0] |= 1;
    else r->td_attributes[0] &= (uint8_t)~1u;
    memcpy(r->report_data, report_data, 64);
    r->tdx15 = tdx15;
out:
    json_decref(dj);
    return rc;
}

/* The QE authentication data of the emulated quotes: bytes 0..31. */
static const uint8_t QE_AUTH[32] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

struct emu_tdx {
    EVP_PKEY *ak, *pck; /* attestation key, PCK key (signs the QE report) */
    /* The attestation key's prepared signer, like a quoting enclave's loaded key: a quote signed
     * with it spares OpenSSL's per-signature context set-up. Used by one thread at a time under
     * sign_lock; a quote that finds it busy signs with a fresh context instead of waiting. */
    vt_ecdsa_signer *ak_signer;
    pthread_mutex_t sign_lock;
    uint8_t ak_xy[64];
    vt_buf chain;   /* keys/tdx_pck_chain.pem as stored */
    vt_td_report td; /* the platform's TD report fields over the defaults; report_data and tdx15 per quote */
    /* The QE report binding the attestation key and its PCK signature: like Intel's quoting
     * library, made when the attestation key is certified, not per quote (the QE SVN is the
     * platform's, fixed while the emulator is open). */
    uint8_t qe_report[VT_SGX_REPORT_SIZE], qe_sig[64];
};

void emu_tdx_free(emu_tdx *t)
{
    if (t == NULL) return;
    vt_ecdsa_signer_free(t->ak_signer);
    pthread_mutex_destroy(&t->sign_lock);
    EVP_PKEY_free(t->ak);
    EVP_PKEY_free(t->pck);
    vt_buf_free(&t->chain);
    free(t);
}

static vt_err tdx_load(vt_emu *e, const json_t *tj, emu_tdx **out, vt_error *err)
{
    emu_tdx *t = calloc(1, sizeof *t);
    if (t == NULL) return vt_error_set(err, VT_E_NOMEM, "emulate", "out of memory");
    if (pthread_mutex_init(&t->sign_lock, NULL) != 0) {
        free(t);
        return vt_error_set(err, VT_E_INTERNAL, "emulate", "cannot create a lock");
    }
    static const uint8_t zero_rd[64] = {0};
    size_t n;
    vt_err rc = VT_OK;
    VT_GUARD_GOTO(emu_load_key(e->dir, "tdx_attest.key.pem", &t->ak, err));
    VT_GUARD_GOTO(emu_load_key(e->dir, "tdx_pck.key.pem", &t->pck, err));
    VT_GUARD_GOTO(emu_read(e->dir, "keys", "tdx_pck_chain.pem", &t->chain, err));
    VT_GUARD_GOTO(vt_ec_pub_xy(t->ak, t->ak_xy, sizeof t->ak_xy, &n, err));
    VT_GUARD_GOTO(vt_ecdsa_signer_new(t->ak, &t->ak_signer, err));
    if (n != 64) {
        rc = vt_error_set(err, VT_E_INVALID, "emulate", "the TDX attestation key is not P-256");
        goto out;
    }
    VT_GUARD_GOTO(td_body(tj, false, zero_rd, &t->td, err));
    vt_json_in in;
    int64_t qe_svn = 7;
    VT_GUARD_GOTO(vt_json_in_init(&in, tj, "tdx", "emulate", err));
    VT_GUARD_GOTO(vt_json_get_int(&in, "qe_svn", OPT, 0, UINT16_MAX, &qe_svn, NULL));
    uint8_t qe_rd[64] = {0};
    VT_GUARD_GOTO(vt_hash2(VT_SHA256, t->ak_xy, 64, QE_AUTH, 32, qe_rd, err));
    vt_writer qr;
    vt_writer_init(&qr, "emulated QE report", err);
    rc = qe_report(&qr, (uint16_t)qe_svn, qe_rd);
    if (rc == VT_OK && qr.len != sizeof t->qe_report)
        rc = vt_error_set(err, VT_E_INTERNAL, "emulate", "QE report of %zu bytes", qr.len);
    if (rc == VT_OK) memcpy(t->qe_report, qr.buf, qr.len);
    vt_writer_free(&qr);
    if (rc != VT_OK) goto out;
    VT_GUARD_GOTO(vt_ecdsa_sign_raw(t->pck, VT_SHA256, t->qe_report, sizeof t->qe_report, t->qe_sig, sizeof t->qe_sig,
                                    &n, err));
    *out = t;
    return VT_OK;
out:
    emu_tdx_free(t);
    return rc;
}

/* The emulator's TDX parts, read at the first quote (under the emulator's lock: a vt_emu may be
 * shared by threads); a failed read is not kept, the next quote tries again. */
static vt_err tdx_get(vt_emu *e, const json_t *tj, emu_tdx **out, vt_error *err)
{
    vt_err rc = VT_OK;
    pthread_mutex_lock(&e->lock);
    if (e->tdx == NULL) rc = tdx_load(e, tj, &e->tdx, err);
    *out = e->tdx;
    pthread_mutex_unlock(&e->lock);
    return rc;
}

vt_err vt_emu_tdx_quote(vt_emu *e, const uint8_t report_data[64], int version, vt_buf *out, vt_error *err)
{
    const json_t *tj = json_object_get(e->platform, "tdx");
    if (tj == NULL) return vt_error_set(err, VT_E_ARG, "emulate", "the emulated platform has no TDX section");
    vt_json_in t;
    int64_t v = 4, qe_svn = 7, pce_svn = 13, body_type = VT_TDX_BODY_TD15;
    VT_GUARD(vt_json_in_init(&t, tj, "tdx", "emulate", err));
    if (version == 0) {
        VT_GUARD(vt_json_get_int(&t, "quote_version", OPT, INT32_MIN, INT32_MAX, &v, NULL));
        version = (int)v;
    }
    if (version != 4 && version != 5)
        return vt_error_set(err, VT_E_ARG, "emulate", "TDX quote version %d (emulated: 4 or 5)", version);
    VT_GUARD(vt_json_get_int(&t, "qe_svn", OPT, 0, UINT16_MAX, &qe_svn, NULL));
    VT_GUARD(vt_json_get_int(&t, "pce_svn", OPT, 0, UINT16_MAX, &pce_svn, NULL));
    /* v5 carries a body type: 3 (TDX 1.5, default) or 2 (TDX 1.0 body in a v5 quote) */
    if (version == 5) VT_GUARD(vt_json_get_int(&t, "v5_body_type", OPT, INT32_MIN, INT32_MAX, &body_type, NULL));
    else body_type = VT_TDX_BODY_TD10;
    if (body_type != VT_TDX_BODY_TD10 && body_type != VT_TDX_BODY_TD15)
        return vt_error_set(err, VT_E_ARG, "emulate", "tdx.v5_body_type %lld (2 or 3)", (long long)body_type);
    emu_tdx *x = NULL;
    VT_GUARD(tdx_get(e, tj, &x, err));
    vt_writer w;
    vt_writer_init(&w, "emulated TDX quote", err);
    vt_err rc = VT_OK;

    vt_tdx_quote q;
    memset(&q, 0, sizeof q);
    q.version = (uint16_t)version;
    q.att_key_type = VT_TDX_ATT_KEY_ECDSA_P256;
    q.tee_type = VT_TDX_TEE_TDX;
    q.qe_svn = (uint16_t)qe_svn;
    q.pce_svn = (uint16_t)pce_svn;
    memcpy(q.qe_vendor_id, VT_TDX_INTEL_QE_VENDOR_ID, 16);
    memcpy(q.user_data, "veritee-emu-qe-id\0\0\0", 20);
    q.body_type = (uint16_t)body_type;
    q.td = x->td;
    memcpy(q.td.report_data, report_data, 64);
    q.td.tdx15 = body_type == VT_TDX_BODY_TD15;
    VT_GUARD_GOTO(vt_tdx_quote_signed_write(&w, &q));
    size_t signed_len = vt_writer_len(&w);

    uint8_t sig[64];
    size_t n;
    if (pthread_mutex_trylock(&x->sign_lock) == 0) {
        rc = vt_ecdsa_signer_sign(x->ak_signer, VT_SHA256, w.buf, signed_len, sig, sizeof sig, &n, err);
        pthread_mutex_unlock(&x->sign_lock);
    } else {
        rc = vt_ecdsa_sign_raw(x->ak, VT_SHA256, w.buf, signed_len, sig, sizeof sig, &n, err);
    }
    if (rc != VT_OK) goto out;
    size_t pem_len = x->chain.len + 1; /* with the NUL most quotes carry */
    size_t cert6 = VT_SGX_REPORT_SIZE + 64 + 2 + 32 + 2 + 4 + pem_len;
    vt_write_u32le(&w, "signature data size", (uint32_t)(64 + 64 + 2 + 4 + cert6));
    vt_write_bytes(&w, "quote signature", sig, 64);
    vt_write_bytes(&w, "attestation key", x->ak_xy, 64);
    vt_write_u16le(&w, "certification data type", VT_TDX_CERT_QE_REPORT);
    vt_write_u32le(&w, "certification data size", (uint32_t)cert6);
    vt_write_bytes(&w, "QE report", x->qe_report, sizeof x->qe_report);
    vt_write_bytes(&w, "QE report signature", x->qe_sig, 64);
    vt_write_u16le(&w, "QE auth data size", 32);
    vt_write_bytes(&w, "QE auth data", QE_AUTH, 32);
    vt_write_u16le(&w, "certification data type", VT_TDX_CERT_PCK_CHAIN);
    vt_write_u32le(&w, "certification data size", (uint32_t)pem_len);
    vt_write_bytes(&w, "PCK certificate chain", x->chain.ptr, x->chain.len);
    vt_write_zeros(&w, "PCK chain NUL", 1);
    rc = vt_writer_take(&w, &out->ptr, &out->len);
out:
    vt_writer_free(&w);
    return rc;
}
