/* CCEL table and TCG crypto-agile event log parsing, RTMR replay (include/veritee/tdx_ccel.h).
 * Event formats: TCG PC Client PFP spec, TCG_PCClientPCREvent and TCG_PCR_EVENT2. */
#include <string.h>

#include "veritee/crypto.h"
#include "veritee/tdx_ccel.h"

#define MAX_ALGS 8
#define MAX_EVENT_DATA (16u << 20)

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

typedef struct spec_id {
    uint32_t nalgs;
    uint16_t alg[MAX_ALGS];
    uint16_t size[MAX_ALGS];
} spec_id;

/* The first event: SHA-1 format header carrying the "Spec ID Event03" structure. */
static vt_err read_spec_id(vt_reader *r, spec_id *s, vt_tdx_ccel_event *ev, vt_error *err)
{
    uint32_t dsz;
    ev->offset = r->off;
    VT_GUARD(vt_read_u32le(r, "first event PCR index", &ev->mr_index));
    VT_GUARD(vt_read_u32le(r, "first event type", &ev->event_type));
    VT_GUARD(vt_read_skip(r, "first event SHA-1 digest", 20));
    VT_GUARD(vt_read_u32le(r, "first event size", &dsz));
    VT_GUARD(vt_read_view(r, "first event data", dsz, &ev->data));
    if (ev->event_type != VT_TCG_EV_NO_ACTION)
        return vt_error_set(err, VT_E_INVALID, "ccel_log", "first event is not EV_NO_ACTION");
    vt_reader d;
    vt_reader_init(&d, ev->data.ptr, ev->data.len, "Spec ID event", err);
    uint8_t sig[16];
    VT_GUARD(vt_read_copy(&d, "signature", sig, 16));
    if (memcmp(sig, "Spec ID Event03\0", 16) != 0)
        return vt_error_set(err, VT_E_UNSUPPORTED, "ccel_log",
                            "event log is not crypto-agile (no \"Spec ID Event03\")");
    VT_GUARD(vt_read_skip(&d, "platform class, version, uintn size", 8));
    VT_GUARD(vt_read_u32le(&d, "number of algorithms", &s->nalgs));
    if (s->nalgs == 0 || s->nalgs > MAX_ALGS)
        return vt_error_set(err, VT_E_INVALID, "ccel_log", "Spec ID event lists %u algorithms",
                            s->nalgs);
    for (uint32_t i = 0; i < s->nalgs; i++) {
        VT_GUARD(vt_read_u16le(&d, "algorithm id", &s->alg[i]));
        VT_GUARD(vt_read_u16le(&d, "digest size", &s->size[i]));
        if (s->size[i] == 0 || s->size[i] > 64)
            return vt_error_set(err, VT_E_INVALID, "ccel_log", "digest size %u for algorithm 0x%04x",
                                s->size[i], s->alg[i]);
    }
    return VT_OK;
}

static bool at_end(const vt_reader *r)
{
    size_t rem = vt_reader_remaining(r);
    if (rem < 8) return true;
    const uint8_t *p = r->buf + r->off;
    uint32_t idx = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    uint32_t typ = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
    return idx == 0xffffffffu || typ == 0xffffffffu || (idx == 0 && typ == 0);
}

static vt_err read_event2(vt_reader *r, const spec_id *s, vt_tdx_ccel_event *ev, vt_error *err)
{
    uint32_t count, dsz;
    ev->offset = r->off;
    ev->has_sha384 = false;
    VT_GUARD(vt_read_u32le(r, "PCR index", &ev->mr_index));
    VT_GUARD(vt_read_u32le(r, "event type", &ev->event_type));
    VT_GUARD(vt_read_u32le(r, "digest count", &count));
    if (count > MAX_ALGS)
        return vt_error_set(err, VT_E_INVALID, "ccel_log", "event %zu at offset %zu has %u digests",
                            ev->index, ev->offset, count);
    for (uint32_t i = 0; i < count; i++) {
        uint16_t alg;
        VT_GUARD(vt_read_u16le(r, "digest algorithm", &alg));
        uint32_t j = 0;
        while (j < s->nalgs && s->alg[j] != alg) j++;
        if (j == s->nalgs)
            return vt_error_set(err, VT_E_INVALID, "ccel_log",
                                "event %zu uses algorithm 0x%04x not declared in the Spec ID event",
                                ev->index, alg);
        vt_bytes d;
        VT_GUARD(vt_read_view(r, "digest", s->size[j], &d));
        if (alg == VT_TDX_ALG_SHA384 && d.len == 48) {
            memcpy(ev->sha384, d.ptr, 48);
            ev->has_sha384 = true;
        }
    }
    VT_GUARD(vt_read_u32le(r, "event size", &dsz));
    if (dsz > MAX_EVENT_DATA)
        return vt_error_set(err, VT_E_INVALID, "ccel_log", "event %zu claims %u bytes of data",
                            ev->index, dsz);
    return vt_read_view(r, "event data", dsz, &ev->data);
}

vt_err vt_tdx_ccel_iterate(const uint8_t *log, size_t len, vt_tdx_ccel_cb cb, void *ctx,
                           vt_error *err)
{
    vt_reader r;
    vt_reader_init(&r, log, len, "CCEL event log", err);
    spec_id s = {0};
    vt_tdx_ccel_event ev = {0};
    VT_GUARD(read_spec_id(&r, &s, &ev, err));
    VT_GUARD(cb(&ev, ctx, err));
    for (size_t i = 1; !at_end(&r); i++) {
        memset(&ev, 0, sizeof ev);
        ev.index = i;
        VT_GUARD(read_event2(&r, &s, &ev, err));
        VT_GUARD(cb(&ev, ctx, err));
    }
    return VT_OK;
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
