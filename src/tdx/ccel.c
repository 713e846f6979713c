/* CCEL table and TCG crypto-agile event log parsing, RTMR replay (include/veritee/tdx_ccel.h).
 * Event formats: TCG PC Client PFP spec, TCG_PCClientPCREvent and TCG_PCR_EVENT2. */
#include <string.h>

#include "veritee/crypto.h"
#include "veritee/tdx_ccel.h"
#include "veritee/tpm.h"

vt_err vt_tdx_ccel_table_parse(const uint8_t *p, size_t len, vt_tdx_ccel_table *out,
                               vt_error *err)
{
    vt_reader r;
    vt_reader_init(&r, p, len, "CCEL table", err);
    uint8_t sig[4], sum = 0;
    uint32_t tlen;
    VT_GUARD(vt_read_copy(&r, "signature", sig, 4));
    if (memcmp(sig, "CCEL", 4) != 0)
        return vt_error_set(err, VT_E_INVALID, "ccel_table", "ACPI table signature is not CCEL");
    VT_GUARD(vt_read_u32le(&r, "length", &tlen));
    if (tlen != 56 || len < 56)
        return vt_error_set(err, VT_E_INVALID, "ccel_table",
                            "CCEL table length %u (file %zu bytes), expected 56", tlen, len);
    for (size_t i = 0; i < 56; i++) sum = (uint8_t)(sum + p[i]);
    if (sum != 0)
        return vt_error_set(err, VT_E_INVALID, "ccel_table", "CCEL table checksum does not sum to 0");
    VT_GUARD(vt_read_u8(&r, "revision", &out->revision));
    VT_GUARD(vt_read_skip(&r, "checksum, OEM ids, creator", 1 + 6 + 8 + 4 + 4 + 4));
    VT_GUARD(vt_read_u8(&r, "CC type", &out->cc_type));
    VT_GUARD(vt_read_u8(&r, "CC subtype", &out->cc_subtype));
    VT_GUARD(vt_read_skip(&r, "reserved", 2));
    VT_GUARD(vt_read_u64le(&r, "LAML", &out->log_area_min_len));
    VT_GUARD(vt_read_u64le(&r, "LASA", &out->log_area_start));
    return VT_OK;
}

/* The log itself is walked by the tpm layer's TCG2 parser (one parser for CCEL, vTPM and
 * attestation-agent logs): firmware "Spec ID Event03" headers and the agent's zero-signature
 * header alike, only announced algorithms, the FF/zero terminator. Here each record becomes a
 * CCEL event with its SHA-384 digest. */
typedef struct walk_ctx {
    vt_tdx_ccel_cb cb;
    void *ctx;
} walk_ctx;

static vt_err walk_one(const vt_tcg2_event *t, void *vctx, vt_error *err)
{
    walk_ctx *w = vctx;
    vt_tdx_ccel_event ev = {.index = t->index, .offset = t->offset, .mr_index = t->pcr_index,
                            .event_type = t->event_type, .data = t->data};
    for (uint32_t i = 0; i < t->n_digests; i++)
        if (t->digest_alg[i] == VT_TDX_ALG_SHA384 && t->digest[i].len == 48) {
            memcpy(ev.sha384, t->digest[i].ptr, 48);
            ev.has_sha384 = true;
        }
    return w->cb(&ev, w->ctx, err);
}

vt_err vt_tdx_ccel_iterate(const uint8_t *log, size_t len, vt_tdx_ccel_cb cb, void *ctx,
                           vt_error *err)
{
    walk_ctx w = {cb, ctx};
    return vt_tcg2_log_iterate(log, len, NULL, NULL, walk_one, &w, err);
}

typedef struct replay_ctx {
    uint8_t (*rtmr)[48];
    size_t events;
} replay_ctx;

static vt_err replay_one(const vt_tdx_ccel_event *ev, void *vctx, vt_error *err)
{
    replay_ctx *c = vctx;
    c->events++;
    if (ev->index == 0 || ev->event_type == VT_TCG_EV_NO_ACTION) return VT_OK;
    if (ev->mr_index == 0) return VT_OK; /* MRTD: built by the TDX module, not extended */
    if (ev->mr_index > VT_TDX_RTMR_COUNT)
        return vt_error_set(err, VT_E_INVALID, "ccel_log", "event %zu targets MR index %u",
                            ev->index, ev->mr_index);
    if (!ev->has_sha384)
        return vt_error_set(err, VT_E_INVALID, "ccel_log", "event %zu has no SHA-384 digest",
                            ev->index);
    uint8_t *m = c->rtmr[ev->mr_index - 1];
    return vt_hash2(VT_SHA384, m, 48, ev->sha384, 48, m, err);
}

vt_err vt_tdx_ccel_replay(const uint8_t *log, size_t len, uint8_t rtmr[VT_TDX_RTMR_COUNT][48],
                          size_t *events, vt_error *err)
{
    memset(rtmr, 0, VT_TDX_RTMR_COUNT * 48);
    replay_ctx c = {rtmr, 0};
    VT_GUARD(vt_tdx_ccel_iterate(log, len, replay_one, &c, err));
    if (events != NULL) *events = c.events;
    return VT_OK;
}
