/* TCG2 crypto-agile event log (TCG PC Client Platform Firmware Profile 2.0, 10.2: TCG_PCR_EVENT
 * header with TCG_EfiSpecIdEvent, then TCG_PCR_EVENT2 records) and its replay into PCRs or CC
 * measurement registers. Little-endian. Also reads the CoCo attestation agent's synthetic
 * header (all-zero signature) and checks AAEL records (EV_EVENT_TAG) against their digests. */
#include <stdio.h>
#include <string.h>

#include "veritee/codec.h"
#include "veritee/crypto.h"
#include "veritee/json.h"
#include "veritee/tpm.h"

#define MAX_EVENT_DATA (16u << 20)

static vt_err read_header(vt_reader *r, vt_tcg2_spec_id *s, vt_tcg2_event *ev, vt_error *err)
{
    uint32_t dsz;
    ev->offset = r->off;
    VT_GUARD(vt_read_u32le(r, "header PCR index", &ev->pcr_index));
    VT_GUARD(vt_read_u32le(r, "header event type", &ev->event_type));
    VT_GUARD(vt_read_skip(r, "header SHA-1 digest", 20));
    VT_GUARD(vt_read_u32le(r, "header event size", &dsz));
    VT_GUARD(vt_read_view(r, "header event data", dsz, &ev->data));
    if (ev->event_type != VT_TCG_EV_NOACTION)
        return vt_error_set(err, VT_E_INVALID, "event_log", "first record is type 0x%x, not EV_NO_ACTION", ev->event_type);
    vt_reader d;
    vt_reader_init(&d, ev->data.ptr, ev->data.len, "TCG_EfiSpecIdEvent", err);
    uint8_t sig[16];
    VT_GUARD(vt_read_copy(&d, "signature", sig, 16));
    if (memcmp(sig, "Spec ID Event03\0", 16) == 0) s->firmware_signature = true;
    else if (!vt_bytes_is_zero(sig, 16))
        return vt_error_set(err, VT_E_UNSUPPORTED, "event_log",
                            "header signature is neither \"Spec ID Event03\" nor zero: not a crypto-agile log");
    VT_GUARD(vt_read_u32le(&d, "platformClass", &s->platform_class));
    VT_GUARD(vt_read_u8(&d, "specVersionMinor", &s->spec_minor));
    VT_GUARD(vt_read_u8(&d, "specVersionMajor", &s->spec_major));
    VT_GUARD(vt_read_u8(&d, "specErrata", &s->errata));
    VT_GUARD(vt_read_u8(&d, "uintnSize", &s->uintn_size));
    VT_GUARD(vt_read_u32le(&d, "numberOfAlgorithms", &s->n_algs));
    if (s->n_algs == 0 || s->n_algs > VT_TCG2_ALGS_MAX)
        return vt_error_set(err, VT_E_INVALID, "event_log", "header announces %u algorithms (1..%d)", s->n_algs,
                            VT_TCG2_ALGS_MAX);
    for (uint32_t i = 0; i < s->n_algs; i++) {
        VT_GUARD(vt_read_u16le(&d, "algorithmId", &s->alg[i]));
        VT_GUARD(vt_read_u16le(&d, "digestSize", &s->size[i]));
        size_t known = vt_tpm_alg_digest_len(s->alg[i]);
        if (s->size[i] == 0 || s->size[i] > 64 || (known != 0 && known != s->size[i]))
            return vt_error_set(err, VT_E_INVALID, "event_log", "digest size %u announced for algorithm 0x%04x",
                                s->size[i], s->alg[i]);
        for (uint32_t j = 0; j < i; j++)
            if (s->alg[j] == s->alg[i])
                return vt_error_set(err, VT_E_INVALID, "event_log", "algorithm 0x%04x announced twice", s->alg[i]);
    }
    uint8_t vsz;
    VT_GUARD(vt_read_u8(&d, "vendorInfoSize", &vsz));
    return vt_read_skip(&d, "vendorInfo", vsz);
}

/* The log ends at 8 bytes of FF (the attestation agent's terminator, the CCEL fill) or zero. */
static bool at_end(const vt_reader *r)
{
    size_t rem = vt_reader_remaining(r);
    if (rem == 0) return true;
    const uint8_t *p = r->buf + r->off;
    if (rem < 8) return vt_bytes_is_zero(p, rem) || (p[0] == 0xff && memcmp(p, "\xff\xff\xff\xff\xff\xff\xff", rem) == 0);
    static const uint8_t ff[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    return memcmp(p, ff, 8) == 0 || vt_bytes_is_zero(p, 8);
}

static vt_err read_event2(vt_reader *r, const vt_tcg2_spec_id *s, vt_tcg2_event *ev, vt_error *err)
{
    uint32_t dsz;
    ev->offset = r->off;
    VT_GUARD(vt_read_u32le(r, "PCRIndex", &ev->pcr_index));
    VT_GUARD(vt_read_u32le(r, "EventType", &ev->event_type));
    VT_GUARD(vt_read_u32le(r, "digests.count", &ev->n_digests));
    if (ev->n_digests > s->n_algs)
        return vt_error_set(err, VT_E_INVALID, "event_log", "record %zu at offset %zu has %u digests (header announces %u)",
                            ev->index, ev->offset, ev->n_digests, s->n_algs);
    for (uint32_t i = 0; i < ev->n_digests; i++) {
        VT_GUARD(vt_read_u16le(r, "digests.hashAlg", &ev->digest_alg[i]));
        uint32_t j = 0;
        while (j < s->n_algs && s->alg[j] != ev->digest_alg[i]) j++;
        if (j == s->n_algs)
            return vt_error_set(err, VT_E_INVALID, "event_log",
                                "record %zu uses algorithm 0x%04x the header does not announce", ev->index, ev->digest_alg[i]);
        for (uint32_t k = 0; k < i; k++)
            if (ev->digest_alg[k] == ev->digest_alg[i])
                return vt_error_set(err, VT_E_INVALID, "event_log", "record %zu repeats algorithm 0x%04x", ev->index,
                                    ev->digest_alg[i]);
        VT_GUARD(vt_read_view(r, "digest", s->size[j], &ev->digest[i]));
    }
    VT_GUARD(vt_read_u32le(r, "EventSize", &dsz));
    if (dsz > MAX_EVENT_DATA)
        return vt_error_set(err, VT_E_INVALID, "event_log", "record %zu claims %u bytes of event data", ev->index, dsz);
    return vt_read_view(r, "Event", dsz, &ev->data);
}

static vt_err iterate(const uint8_t *log, size_t len, vt_tcg2_spec_id *spec, size_t *end, vt_tcg2_cb cb, void *ctx,
                      vt_error *err)
{
    vt_reader r;
    vt_reader_init(&r, log, len, "TCG2 event log", err);
    vt_tcg2_spec_id s = {0};
    vt_tcg2_event ev = {0};
    VT_GUARD(read_header(&r, &s, &ev, err));
    if (cb != NULL) VT_GUARD(cb(&ev, ctx, err));
    for (size_t i = 1; !at_end(&r); i++) {
        memset(&ev, 0, sizeof ev);
        ev.index = i;
        VT_GUARD(read_event2(&r, &s, &ev, err));
        if (cb != NULL) VT_GUARD(cb(&ev, ctx, err));
    }
    if (spec != NULL) *spec = s;
    if (end != NULL) *end = r.off;
    return VT_OK;
}

vt_err vt_tcg2_log_iterate(const uint8_t *log, size_t len, vt_tcg2_spec_id *spec, size_t *end, vt_tcg2_cb cb,
                           void *ctx, vt_error *err)
{
    vt_err rc = iterate(log, len, spec, end, cb, ctx, err);
    /* the reader's "parse" becomes the log's name; a callback's own check stays */
    if (rc != VT_OK && err != NULL && strcmp(err->check, "parse") == 0) vt_error_name(err, "event_log");
    return rc;
}

static const vt_bytes *digest_of(const vt_tcg2_event *ev, uint16_t alg)
{
    for (uint32_t i = 0; i < ev->n_digests; i++)
        if (ev->digest_alg[i] == alg) return &ev->digest[i];
    return NULL;
}

static bool is_aael(const vt_tcg2_event *ev)
{
    return ev->event_type == VT_TCG_EV_EVENT_TAG && ev->data.len >= 4 && ev->data.ptr[0] == 0x4c &&
           ev->data.ptr[1] == 0x45 && ev->data.ptr[2] == 0x41 && ev->data.ptr[3] == 0x41;
}

/* An AAEL record: the text must parse and the digest must be H(event data), or the text is
 * not what was measured. */
static vt_err check_aael(const vt_tcg2_event *ev, uint16_t alg, const vt_bytes *dg, vt_error *err)
{
    vt_aael_entry e;
    VT_GUARD(vt_aael_event_parse(&ev->data, &e, err));
    uint8_t h[64];
    VT_GUARD(vt_tpm_hash2(alg, ev->data.ptr, ev->data.len, NULL, 0, h, err));
    if (!vt_ct_eq(h, dg->ptr, dg->len))
        return vt_error_set(err, VT_E_VERIFY, "aael_digest", "AAEL record %zu: digest is not %s of its event data",
                            ev->index, vt_tpm_alg_name(alg));
    return VT_OK;
}

typedef struct replay_ctx {
    vt_tcg2_replay *out;
    vt_tcg2_seed seed;
} replay_ctx;

static vt_err replay_one(const vt_tcg2_event *ev, void *vctx, vt_error *err)
{
    replay_ctx *c = vctx;
    vt_tcg2_replay *o = c->out;
    if (ev->index == 0 || ev->event_type == VT_TCG_EV_NOACTION) return VT_OK;
    if (ev->pcr_index >= VT_TCG2_REGS_MAX)
        return vt_error_set(err, VT_E_INVALID, "event_log", "record %zu targets register %u", ev->index, ev->pcr_index);
    const vt_bytes *dg = digest_of(ev, o->alg);
    if (dg == NULL || dg->len != o->digest_len)
        return vt_error_set(err, VT_E_INVALID, "event_log", "record %zu has no %s digest", ev->index, vt_tpm_alg_name(o->alg));
    if (is_aael(ev)) {
        VT_GUARD(check_aael(ev, o->alg, dg, err));
        o->aael_events++;
    }
    uint8_t *reg = o->reg[ev->pcr_index];
    if (!o->touched[ev->pcr_index]) {
        o->touched[ev->pcr_index] = true;
        bool drtm = c->seed == VT_TCG2_SEED_TPM && ev->pcr_index >= 17 && ev->pcr_index <= 22;
        memset(reg, drtm ? 0xff : 0x00, o->digest_len);
    }
    o->events++;
    return vt_tpm_hash2(o->alg, reg, o->digest_len, dg->ptr, dg->len, reg, err);
}

vt_err vt_tcg2_replay_log(const uint8_t *log, size_t len, uint16_t alg, vt_tcg2_seed seed, vt_tcg2_replay *out,
                          vt_error *err)
{
    memset(out, 0, sizeof *out);
    out->alg = alg;
    out->digest_len = vt_tpm_alg_digest_len(alg);
    if (out->digest_len == 0)
        return vt_error_set(err, VT_E_UNSUPPORTED, "event_log", "replay algorithm 0x%04x", alg);
    vt_tcg2_spec_id s;
    replay_ctx c = {out, seed};
    /* The header first: the replay algorithm must be one it announces. */
    VT_GUARD(vt_tcg2_log_iterate(log, len, &s, NULL, NULL, NULL, err));
    uint32_t j = 0;
    while (j < s.n_algs && s.alg[j] != alg) j++;
    if (j == s.n_algs)
        return vt_error_set(err, VT_E_INVALID, "event_log", "the log does not carry %s digests", vt_tpm_alg_name(alg));
    return vt_tcg2_log_iterate(log, len, NULL, NULL, replay_one, &c, err);
}

static vt_err json_one(const vt_tcg2_event *ev, void *vctx, vt_error *err)
{
    json_t *a = vctx;
    if (ev->index == 0) return VT_OK;
    json_t *o = json_pack("{s:I, s:I, s:I}", "index", (json_int_t)ev->index, "pcr", (json_int_t)ev->pcr_index, "type",
                          (json_int_t)ev->event_type);
    json_t *dg = json_object();
    if (o == NULL || dg == NULL) {
        json_decref(o);
        json_decref(dg);
        return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    }
    for (uint32_t i = 0; i < ev->n_digests; i++) {
        char name[24];
        const char *n = vt_tpm_alg_name(ev->digest_alg[i]);
        if (strcmp(n, "unknown") == 0) snprintf(name, sizeof name, "0x%04x", ev->digest_alg[i]);
        else snprintf(name, sizeof name, "%s", n);
        json_object_set_new(dg, name, vt_json_hex_string(ev->digest[i].ptr, ev->digest[i].len));
    }
    json_object_set_new(o, "digests", dg);
    vt_aael_entry e;
    vt_error ignore;
    if (is_aael(ev) && vt_aael_event_parse(&ev->data, &e, &ignore) == VT_OK)
        json_object_set_new(o, "aael",
                            json_pack("{s:s%, s:s%, s:s%}", "domain", (const char *)e.domain.ptr, e.domain.len,
                                      "operation", (const char *)e.operation.ptr, e.operation.len, "content",
                                      (const char *)e.content.ptr, e.content.len));
    json_array_append_new(a, o);
    return VT_OK;
}

json_t *vt_tcg2_log_json(const uint8_t *log, size_t len, vt_error *err)
{
    json_t *a = json_array();
    if (a == NULL) return NULL;
    if (vt_tcg2_log_iterate(log, len, NULL, NULL, json_one, a, err) != VT_OK) {
        json_decref(a);
        return NULL;
    }
    return a;
}
