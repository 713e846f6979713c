/* CoCo attestation-agent event log (AAEL) entries: "<domain> <operation> <content>"
 * (trustee kbs/docs/confidential-containers-eventlog.md), their EV_EVENT_TAG wrapping
 * (TCG_PCClientTaggedEvent, id 0x4141454C) and the legacy text log replay into RTMR3. */
#include <stdio.h>
#include <string.h>

#include "veritee/crypto.h"
#include "veritee/tpm.h"

static bool printable(uint8_t c) { return c >= 0x20 && c != 0x7f; }

vt_err vt_aael_entry_parse(const uint8_t *p, size_t len, vt_aael_entry *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    size_t i = 0, sp[2], n = 0;
    for (i = 0; i < len; i++) {
        if (!printable(p[i]))
            return vt_error_set(err, VT_E_INVALID, "aael_entry", "AAEL entry byte %zu (0x%02x) is not printable", i, p[i]);
        if (p[i] == ' ' && n < 2) sp[n++] = i;
    }
    if (n < 2) return vt_error_set(err, VT_E_INVALID, "aael_entry", "AAEL entry lacks \"<domain> <operation> <content>\"");
    if (sp[0] == 0 || sp[1] == sp[0] + 1)
        return vt_error_set(err, VT_E_INVALID, "aael_entry", "AAEL entry has an empty domain or operation");
    for (i = 0; i < sp[0]; i++)
        if (p[i] > 0x7e) return vt_error_set(err, VT_E_INVALID, "aael_entry", "AAEL domain is not ASCII");
    for (i = sp[0] + 1; i < sp[1]; i++)
        if (p[i] > 0x7e) return vt_error_set(err, VT_E_INVALID, "aael_entry", "AAEL operation is not ASCII");
    out->domain = (vt_bytes){p, sp[0]};
    out->operation = (vt_bytes){p + sp[0] + 1, sp[1] - sp[0] - 1};
    out->content = (vt_bytes){p + sp[1] + 1, len - sp[1] - 1};
    return VT_OK;
}

vt_err vt_aael_event_parse(const vt_bytes *data, vt_aael_entry *out, vt_error *err)
{
    vt_reader r;
    vt_reader_init(&r, data->ptr, data->len, "AAEL tagged event", err);
    uint32_t tag, size;
    VT_GUARD(vt_read_u32le(&r, "taggedEventID", &tag));
    if (tag != VT_AAEL_TAG)
        return vt_error_set(err, VT_E_INVALID, "aael_entry", "tagged event id 0x%08x is not AAEL", tag);
    VT_GUARD(vt_read_u32le(&r, "taggedEventDataSize", &size));
    if (size != vt_reader_remaining(&r))
        return vt_error_set(err, VT_E_INVALID, "aael_entry", "taggedEventDataSize %u, %zu bytes follow", size,
                            vt_reader_remaining(&r));
    vt_bytes text;
    VT_GUARD(vt_read_view(&r, "taggedEventData", size, &text));
    return vt_aael_entry_parse(text.ptr, text.len, out, err);
}

/* "INIT sha384/<96 hex>" (the implementation's form; the spec document's "INIT/sha384 <hex>"
 * was never produced). */
static vt_err parse_init(const uint8_t *p, size_t len, uint8_t init[48], vt_error *err)
{
    static const char pre[] = "INIT sha384/";
    if (len != sizeof pre - 1 + 96 || memcmp(p, pre, sizeof pre - 1) != 0)
        return vt_error_set(err, VT_E_INVALID, "aael_legacy", "first line is not \"INIT sha384/<96 hex digits>\"");
    for (size_t i = 0; i < 48; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            uint8_t c = p[sizeof pre - 1 + 2 * i + (size_t)k];
            unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                       : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
            if (d == 16) return vt_error_set(err, VT_E_INVALID, "aael_legacy", "INIT value is not hex");
            v = v << 4 | d;
        }
        init[i] = (uint8_t)v;
    }
    return VT_OK;
}

vt_err vt_aael_legacy_replay(const uint8_t *text, size_t len, uint8_t out[48], size_t *n_entries, vt_error *err)
{
    size_t start = 0, line = 0, n = 0;
    uint8_t h[48];
    while (start <= len) {
        const uint8_t *nl = memchr(text + start, '\n', len - start);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        const uint8_t *lp = text + start;
        size_t ll = end - start;
        if (line == 0) {
            VT_GUARD(parse_init(lp, ll, out, err));
        } else {
            vt_aael_entry e;
            VT_GUARD(vt_aael_entry_parse(lp, ll, &e, err));
            n++;
        }
        VT_GUARD(vt_hash(VT_SHA384, lp, ll, h, err));
        VT_GUARD(vt_hash2(VT_SHA384, out, 48, h, 48, out, err));
        line++;
        if (nl == NULL) break;
        start = end + 1;
        if (start == len) break; /* a final LF ends the log */
    }
    if (n_entries != NULL) *n_entries = n;
    return VT_OK;
}
