/* Emulated TDX quotes, v4 (TDX 1.0 body) and v5 (body type 3, TDX 1.5), laid out byte for byte
 * as Intel's DCAP quoting library produces them (see src/tdx/quote.c for the parser). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "emu_internal.h"
#include "veritee/crypto.h"
#include "veritee/tdx.h"

static const uint8_t INTEL_QE_VENDOR_ID[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                               0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

typedef struct bw {
    uint8_t *p;
    size_t len, cap;
    bool failed;
} bw;

static uint8_t *bw_room(bw *w, size_t n)
{
    if (w->failed) return NULL;
    if (w->len + n > w->cap) {
        size_t cap = (w->len + n) * 2 + 256;
        uint8_t *q = realloc(w->p, cap);
        if (q == NULL) {
            w->failed = true;
            return NULL;
        }
        w->p = q;
        w->cap = cap;
    }
    uint8_t *r = w->p + w->len;
    w->len += n;
    return r;
}

static void put(bw *w, const void *p, size_t n)
{
    uint8_t *d = bw_room(w, n);
    if (d != NULL && n) memcpy(d, p, n);
}

static void put_le(bw *w, uint64_t v, size_t n)
{
    uint8_t *d = bw_room(w, n);
    for (size_t i = 0; d != NULL && i < n; i++) d[i] = (uint8_t)(v >> (8 * i));
}

static void put_zero(bw *w, size_t n)
{
    uint8_t *d = bw_room(w, n);
    if (d != NULL) memset(d, 0, n);
}

/* SGX REPORT_BODY of the emulated TD quoting enclave. */
static void qe_report(bw *w, uint16_t isv_svn, const uint8_t report_data[64])
{
    put_zero(w, 16);                                  /* CPUSVN */
    put_le(w, 0, 4);                                  /* MISCSELECT */
    put_zero(w, 12 + 16);                             /* reserved, ISVEXTPRODID */
    put(w, (const uint8_t[16]){0x11}, 16);            /* ATTRIBUTES: INIT | MODE64BIT */
    put_zero(w, 32 + 32);                             /* MRENCLAVE, reserved */
    put(w, EMU_QE_MRSIGNER, 32);
    put_zero(w, 32 + 64);                             /* reserved, CONFIGID */
    put_le(w, 2, 2);                                  /* ISVPRODID: TD QE */
    put_le(w, isv_svn, 2);
    put_le(w, 0, 2);                                  /* CONFIGSVN */
    put_zero(w, 42 + 16);                             /* reserved, ISVFAMILYID */
    put(w, report_data, 64);
}

static vt_err td_body(bw *w, const json_t *t, bool tdx15, const uint8_t report_data[64], vt_error *err)
{
    json_t *d = emu_tdx_default();
    vt_td_report r;
    memset(&r, 0, sizeof r);
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
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        VT_GUARD_GOTO(emu_hex(d, f[i].key, "tdx", (uint8_t *)&r + f[i].off, f[i].n, err));
        VT_GUARD_GOTO(emu_hex(t, f[i].key, "tdx", (uint8_t *)&r + f[i].off, f[i].n, err));
    }
    const json_t *rt = json_object_get(t, "rtmr");
    if (rt == NULL) rt = json_object_get(d, "rtmr");
    if (!json_is_array(rt) || json_array_size(rt) != 4) {
        rc = vt_error_set(err, VT_E_INVALID, "emulate", "tdx.rtmr: expected 4 hex strings");
        goto out;
    }
    for (size_t i = 0; i < 4; i++) {
        const char *h = json_string_value(json_array_get(rt, i));
        if (h == NULL || vt_hex_decode_fixed(h, r.rtmr[i], 48, err) != VT_OK) {
            rc = vt_error_set(err, VT_E_INVALID, "emulate", "tdx.rtmr[%zu]: expected 48 hex bytes", i);
            goto out;
        }
    }
    if (emu_bool(t, "debug", false)) r.td_attributes[0] |= 1;
    else r.td_attributes[0] &= (uint8_t)~1u;
    put(w, r.tee_tcb_svn, 16);
    put(w, r.mr_seam, 48);
    put(w, r.mr_signer_seam, 48);
    put(w, r.seam_attributes, 8);
    put(w, r.td_attributes, 8);
    put(w, r.xfam, 8);
    put(w, r.mr_td, 48);
    put(w, r.mr_config_id, 48);
    put(w, r.mr_owner, 48);
    put(w, r.mr_owner_config, 48);
    for (int i = 0; i < 4; i++) put(w, r.rtmr[i], 48);
    put(w, report_data, 64);
    if (tdx15) {
        put(w, r.tee_tcb_svn2, 16);
        put(w, r.mr_service_td, 48);
    }
out:
    json_decref(d);
    return rc;
}

vt_err vt_emu_tdx_quote(vt_emu *e, const uint8_t report_data[64], int version, vt_buf *out, vt_error *err)
{
    const json_t *t = json_object_get(e->platform, "tdx");
    if (t == NULL) return vt_error_set(err, VT_E_ARG, "emulate", "the emulated platform has no TDX section");
    if (version == 0) version = (int)emu_int(t, "quote_version", 4);
    if (version != 4 && version != 5)
        return vt_error_set(err, VT_E_ARG, "emulate", "TDX quote version %d (emulated: 4 or 5)", version);
    EVP_PKEY *ak = NULL, *pck = NULL;
    vt_buf chain = {0};
    bw w = {0};
    vt_err rc = VT_OK;
    VT_GUARD_GOTO(emu_load_key(e->dir, "tdx_attest.key.pem", &ak, err));
    VT_GUARD_GOTO(emu_load_key(e->dir, "tdx_pck.key.pem", &pck, err));
    VT_GUARD_GOTO(emu_read(e->dir, "keys", "tdx_pck_chain.pem", &chain, err));
    uint16_t qe_svn = (uint16_t)emu_int(t, "qe_svn", 7), pce_svn = (uint16_t)emu_int(t, "pce_svn", 13);

    /* header */
    put_le(&w, (uint64_t)version, 2);
    put_le(&w, VT_TDX_ATT_KEY_ECDSA_P256, 2);
    put_le(&w, VT_TDX_TEE_TDX, 4);
    put_le(&w, qe_svn, 2);
    put_le(&w, pce_svn, 2);
    put(&w, INTEL_QE_VENDOR_ID, 16);
    put(&w, "veritee-emu-qe-id\0\0\0", 20);
    /* v5 carries a body type: 3 (TDX 1.5, default) or 2 (TDX 1.0 body in a v5 quote) */
    int body_type = version == 5 ? (int)emu_int(t, "v5_body_type", VT_TDX_BODY_TD15) : VT_TDX_BODY_TD10;
    if (body_type != VT_TDX_BODY_TD10 && body_type != VT_TDX_BODY_TD15) {
        rc = vt_error_set(err, VT_E_ARG, "emulate", "tdx.v5_body_type %d (2 or 3)", body_type);
        goto out;
    }
    if (version == 5) {
        put_le(&w, (uint64_t)body_type, 2);
        put_le(&w, body_type == VT_TDX_BODY_TD15 ? 648 : 584, 4);
    }
    VT_GUARD_GOTO(td_body(&w, t, body_type == VT_TDX_BODY_TD15, report_data, err));
    if (w.failed) goto nomem;
    size_t signed_len = w.len;

    uint8_t ak_xy[64], sig[64], qe_sig[64], auth[32];
    size_t n;
    VT_GUARD_GOTO(vt_ec_pub_xy(ak, ak_xy, sizeof ak_xy, &n, err));
    VT_GUARD_GOTO(vt_ecdsa_sign_raw(ak, VT_SHA256, w.p, signed_len, sig, sizeof sig, &n, err));
    for (int i = 0; i < 32; i++) auth[i] = (uint8_t)i;
    uint8_t qe_rd[64] = {0};
    VT_GUARD_GOTO(vt_hash2(VT_SHA256, ak_xy, 64, auth, 32, qe_rd, err));
    bw qr = {0};
    qe_report(&qr, qe_svn, qe_rd);
    if (qr.failed) {
        free(qr.p);
        goto nomem;
    }
    rc = vt_ecdsa_sign_raw(pck, VT_SHA256, qr.p, qr.len, qe_sig, sizeof qe_sig, &n, err);
    if (rc != VT_OK) {
        free(qr.p);
        goto out;
    }
    size_t pem_len = chain.len + 1; /* with the NUL most quotes carry */
    size_t cert6 = 384 + 64 + 2 + 32 + 2 + 4 + pem_len;
    put_le(&w, 64 + 64 + 2 + 4 + cert6, 4);
    put(&w, sig, 64);
    put(&w, ak_xy, 64);
    put_le(&w, VT_TDX_CERT_QE_REPORT, 2);
    put_le(&w, cert6, 4);
    put(&w, qr.p, qr.len);
    free(qr.p);
    put(&w, qe_sig, 64);
    put_le(&w, 32, 2);
    put(&w, auth, 32);
    put_le(&w, VT_TDX_CERT_PCK_CHAIN, 2);
    put_le(&w, pem_len, 4);
    put(&w, chain.ptr, chain.len);
    put_zero(&w, 1);
    if (w.failed) goto nomem;
    out->ptr = w.p;
    out->len = w.len;
    w.p = NULL;
    goto out;
nomem:
    rc = vt_error_set(err, VT_E_NOMEM, "emulate", "out of memory");
out:
    free(w.p);
    vt_buf_free(&chain);
    EVP_PKEY_free(ak);
    EVP_PKEY_free(pck);
    return rc;
}
