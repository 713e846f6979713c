/* Audit chain: canonical record encoding, SHA-256 chaining, append and verification
 * (include/veritee/audit.h documents the encoding). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"
#include "veritee/audit.h"
#include "veritee/crypto.h"
#include "veritee/json.h"
#include "veritee/writer.h"

#define AUDIT_LABEL "veritee-audit-v1"
#define VERIFY_PAGE 512

vt_err vt_audit_encode(const vt_audit_record *r, vt_buf *out, vt_error *err)
{
    const char *f[5] = {r->actor, r->action, r->subject, r->outcome, r->details};
    size_t fl[5];
    for (int i = 0; i < 5; i++) {
        if (f[i] == NULL) return vt_error_set(err, VT_E_ARG, "audit_record", "record field %d is missing", i);
        fl[i] = strlen(f[i]);
        if (fl[i] > VT_AUDIT_DETAILS_MAX)
            return vt_error_set(err, VT_E_ARG, "audit_record", "record field %d is too long", i);
    }
    vt_writer w;
    vt_writer_init(&w, "audit record", err);
    vt_write_bytes(&w, "label", AUDIT_LABEL, sizeof AUDIT_LABEL - 1);
    vt_write_u64be(&w, "seq", (uint64_t)r->seq);
    vt_write_u64be(&w, "time", (uint64_t)r->time);
    for (int i = 0; i < 5; i++) {
        vt_write_u32be(&w, "field length", (uint32_t)fl[i]);
        vt_write_bytes(&w, "field", f[i], fl[i]);
    }
    vt_write_bytes(&w, "prev_hash", r->prev_hash, VT_AUDIT_HASH_LEN);
    return vt_writer_take(&w, &out->ptr, &out->len);
}

vt_err vt_audit_compute_hash(const vt_audit_record *r, uint8_t out[VT_AUDIT_HASH_LEN], vt_error *err)
{
    vt_buf b = {0};
    VT_GUARD(vt_audit_encode(r, &b, err));
    vt_err rc = vt_hash(VT_SHA256, b.ptr, b.len, out, err);
    vt_buf_free(&b);
    return rc;
}

static vt_err seal_record(vt_audit_record *r, vt_error *err)
{
    return vt_audit_compute_hash(r, r->hash, err);
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates, at most
 * U+10FFFF), 0 when p does not start one. */
static size_t utf8_seq(const unsigned char *p)
{
    unsigned char c = p[0];
    if (c < 0x80) return 1;
    size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n == 0) return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80) return 0;
    if (c == 0xe0 && p[1] < 0xa0) return 0; /* overlong */
    if (c == 0xed && p[1] > 0x9f) return 0; /* surrogate */
    if (c == 0xf0 && p[1] < 0x90) return 0; /* overlong */
    if (c == 0xf4 && p[1] > 0x8f) return 0; /* above U+10FFFF */
    return n;
}

size_t vt_audit_text(const char *in, size_t max, char *out, size_t cap)
{
    if (cap == 0) return 0;
    if (max > cap - 1) max = cap - 1;
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)(in ? in : "");
    while (*p) {
        size_t n = utf8_seq(p);
        bool esc = n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f));
        size_t need = esc ? 4 : n;
        if (o + need > max) break;
        if (esc) {
            snprintf(out + o, 5, "\\x%02x", *p);
            p++;
        } else {
            memcpy(out + o, p, n);
            p += n;
        }
        o += need;
    }
    out[o] = 0;
    return o;
}

/* UTF-8 text without NUL or other C0 controls except tab (they would make logs ambiguous). */
static vt_err field_ok(const char *v, const char *name, vt_error *err)
{
    if (v == NULL || *v == 0) return vt_error_set(err, VT_E_ARG, "audit_record", "%s is empty", name);
    size_t n = strnlen(v, VT_AUDIT_FIELD_MAX + 1);
    if (n > VT_AUDIT_FIELD_MAX)
        return vt_error_set(err, VT_E_ARG, "audit_record", "%s longer than %d bytes", name, VT_AUDIT_FIELD_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 && v[i] != '\t')
            return vt_error_set(err, VT_E_ARG, "audit_record", "%s contains a control character", name);
    json_t *s = json_stringn(v, n); /* jansson validates UTF-8 */
    if (s == NULL) return vt_error_set(err, VT_E_ARG, "audit_record", "%s is not valid UTF-8", name);
    json_decref(s);
    return VT_OK;
}

vt_err vt_audit_append(vt_store *s, vt_time time, const char *actor, const char *action,
                       const char *subject, const char *outcome, const json_t *details,
                       int64_t *seq, vt_error *err)
{
    VT_GUARD(field_ok(actor, "actor", err));
    VT_GUARD(field_ok(action, "action", err));
    VT_GUARD(field_ok(subject, "subject", err));
    VT_GUARD(field_ok(outcome, "outcome", err));
    if (details != NULL && !json_is_object(details))
        return vt_error_set(err, VT_E_ARG, "audit_record", "details must be a JSON object");
    char *d = details ? vt_json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)
                      : strdup("{}");
    if (d == NULL) return vt_error_set(err, VT_E_NOMEM, "audit", "out of memory");
    if (strlen(d) > VT_AUDIT_DETAILS_MAX) {
        free(d);
        return vt_error_set(err, VT_E_ARG, "audit_record", "details longer than %d bytes", VT_AUDIT_DETAILS_MAX);
    }
    vt_audit_record r = {.time = time,
                         .actor = (char *)actor,
                         .action = (char *)action,
                         .subject = (char *)subject,
                         .outcome = (char *)outcome,
                         .details = d};
    vt_err rc = vt_store_audit_append(s, &r, seal_record, err);
    free(d);
    if (rc == VT_OK && seq) *seq = r.seq;
    return rc;
}

vt_err audit_link_check(const vt_audit_record *r, int64_t expect, const uint8_t prev[VT_AUDIT_HASH_LEN],
                        audit_link *link, vt_error *err)
{
    uint8_t h[VT_AUDIT_HASH_LEN];
    *link = AUDIT_LINK_OK;
    if (r->seq != expect) *link = AUDIT_LINK_SEQ;
    else if (!vt_ct_eq(r->prev_hash, prev, VT_AUDIT_HASH_LEN)) *link = AUDIT_LINK_PREV;
    else {
        VT_GUARD(vt_audit_compute_hash(r, h, err));
        if (!vt_ct_eq(h, r->hash, VT_AUDIT_HASH_LEN)) *link = AUDIT_LINK_HASH;
    }
    return VT_OK;
}

static vt_err bad(vt_audit_report *rep, int64_t seq, vt_error *err, const char *what)
{
    rep->bad_seq = seq;
    return vt_error_set(err, VT_E_VERIFY, "audit_chain", "record %lld %s", (long long)seq, what);
}

/* What record seq's prev_hash failed to match: the record walked before it, the hash a walk
 * since an earlier check began from, or the archive base. */
static const char *unchained(const vt_audit_report *rep, int64_t seq)
{
    if (rep->records == 0 && seq > rep->base_seq + 1)
        return "does not chain to the record before it as verified earlier (history rewritten)";
    if (rep->records == 0 && rep->base_seq > 0) return "does not chain to the archive base (the last archived record)";
    return "does not chain to the record before it (deleted, inserted or reordered records)";
}

/* Where a walk begins: after the archive base (a whole walk), or after record `seq` */
typedef struct walk_from {
    bool since;          /* false: from the base */
    int64_t seq;         /* since: the walk begins at seq + 1 */
    const uint8_t *hash; /* since: seq's hash as verified before, or NULL: a suffix, whose first
                          * record's prev_hash is taken as it is stored */
} walk_from;

/* Sets *expect and prev (or *trust_first) for a walk `from`, against the base and head in rep. */
static vt_err walk_start(const walk_from *from, vt_audit_report *rep, int64_t *expect, uint8_t prev[VT_AUDIT_HASH_LEN],
                         bool *trust_first, vt_error *err)
{
    *trust_first = false;
    *expect = rep->base_seq + 1;
    memcpy(prev, rep->base_hash, VT_AUDIT_HASH_LEN);
    if (!from->since) return VT_OK;
    if (from->hash == NULL) {
        /* a suffix: at least the head's record, never before the base */
        int64_t at = from->seq < rep->head_seq ? from->seq : rep->head_seq - 1;
        if (at > rep->base_seq) {
            *expect = at + 1;
            *trust_first = true;
        }
        return VT_OK;
    }
    if (from->seq < rep->base_seq)
        return vt_error_set(err, VT_E_MISSING, "audit_chain",
                            "record %lld is archived (the store starts after record %lld)", (long long)from->seq,
                            (long long)rep->base_seq);
    if (from->seq > rep->head_seq) {
        rep->bad_seq = from->seq;
        return vt_error_set(err, VT_E_VERIFY, "audit_chain",
                            "the head names record %lld, before record %lld verified earlier (records removed from "
                            "the end, or the head was altered)",
                            (long long)rep->head_seq, (long long)from->seq);
    }
    if (from->seq == rep->base_seq) {
        if (!vt_ct_eq(from->hash, rep->base_hash, VT_AUDIT_HASH_LEN))
            return bad(rep, from->seq, err, "(the archive base) differs from its hash verified earlier (history rewritten)");
        return VT_OK;
    }
    *expect = from->seq + 1;
    memcpy(prev, from->hash, VT_AUDIT_HASH_LEN);
    return VT_OK;
}

/* One walk: 1 when a concurrent archive moved the base under it (walk again). */
static vt_err verify_walk(vt_store *s, const walk_from *from, const vt_audit_anchor *anchor, vt_audit_report *rep,
                          bool *moved, vt_error *err)
{
    memset(rep, 0, sizeof *rep);
    *moved = false;
    VT_GUARD(vt_store_audit_base(s, &rep->base_seq, rep->base_hash, err));
    VT_GUARD(vt_store_audit_head(s, &rep->head_seq, rep->head_hash, err));
    uint8_t prev[VT_AUDIT_HASH_LEN];
    int64_t expect = 0;
    bool trust_first = false;
    VT_GUARD(walk_start(from, rep, &expect, prev, &trust_first, err));
    bool anchor_seen = anchor == NULL || anchor->seq == 0;
    if (anchor != NULL && anchor->seq > 0 && anchor->seq <= rep->base_seq) {
        if (anchor->seq < rep->base_seq) {
            rep->bad_seq = anchor->seq;
            return vt_error_set(err, VT_E_VERIFY, "audit_chain",
                                "anchor record %lld is archived (the store starts after record %lld): check it "
                                "against the archive files (audit verify --archive)",
                                (long long)anchor->seq, (long long)rep->base_seq);
        }
        if (!vt_ct_eq(anchor->hash, rep->base_hash, VT_AUDIT_HASH_LEN))
            return bad(rep, anchor->seq, err,
                       "(the archive base) differs from the anchor kept outside the database (history rewritten)");
        anchor_seen = true;
    }
    vt_err rc = VT_OK;
    /* The log as of the head read above: records appended while it is walked are not part of
     * it (a live broker keeps appending), and those archived meanwhile make it walk again. */
    while (expect <= rep->head_seq) {
        vt_audit_record *page = NULL;
        size_t n = 0, want = rep->head_seq - expect + 1 < VERIFY_PAGE ? (size_t)(rep->head_seq - expect + 1) : VERIFY_PAGE;
        VT_GUARD(vt_store_audit_page(s, expect - 1, want, &page, &n, err));
        for (size_t i = 0; i < n && rc == VT_OK; i++) {
            vt_audit_record *r = &page[i];
            audit_link link;
            if (trust_first) {
                memcpy(prev, r->prev_hash, VT_AUDIT_HASH_LEN); /* a suffix: from the first record as stored */
                trust_first = false;
            }
            rc = audit_link_check(r, expect, prev, &link, err);
            if (rc == VT_OK && link == AUDIT_LINK_SEQ) {
                int64_t b2 = 0;
                uint8_t h2[VT_AUDIT_HASH_LEN];
                if (vt_store_audit_base(s, &b2, h2, NULL) == VT_OK && b2 != rep->base_seq) {
                    *moved = true; /* archived while we read */
                    vt_audit_records_free(page, n);
                    return VT_OK;
                }
                rc = bad(rep, expect, err, "is missing (deleted, or the log was reordered)");
                break;
            }
            if (rc == VT_OK && link == AUDIT_LINK_PREV) rc = bad(rep, r->seq, err, unchained(rep, r->seq));
            if (rc == VT_OK && link == AUDIT_LINK_HASH) rc = bad(rep, r->seq, err, "does not match its hash (edited)");
            if (rc == VT_OK && anchor && anchor->seq == r->seq) {
                anchor_seen = true;
                if (!vt_ct_eq(anchor->hash, r->hash, VT_AUDIT_HASH_LEN))
                    rc = bad(rep, r->seq, err,
                             "differs from the anchor kept outside the database (history rewritten)");
            }
            if (rc != VT_OK) break;
            memcpy(prev, r->hash, VT_AUDIT_HASH_LEN);
            expect++;
            rep->records++;
        }
        vt_audit_records_free(page, n);
        if (rc != VT_OK || n < want) break;
    }
    if (rc != VT_OK) return rc;
    if (rep->head_seq == expect - 1 && vt_ct_eq(rep->head_hash, prev, VT_AUDIT_HASH_LEN)) {
        /* a record after the head is an append that came after it was read, unless the head
         * still names an earlier one (moved back by hand) */
        vt_audit_record *next = NULL;
        size_t n = 0;
        int64_t now = 0;
        uint8_t h[VT_AUDIT_HASH_LEN];
        VT_GUARD(vt_store_audit_page(s, rep->head_seq, 1, &next, &n, err));
        int64_t after = n == 1 ? next[0].seq : 0;
        vt_audit_records_free(next, n);
        if (after != 0 && (rc = vt_store_audit_head(s, &now, h, err)) == VT_OK && now < after) {
            rep->bad_seq = after;
            return vt_error_set(err, VT_E_VERIFY, "audit_chain",
                                "record %lld follows record %lld, which the head names as the last (the head was "
                                "moved back)", (long long)after, (long long)rep->head_seq);
        }
        VT_GUARD(rc);
    }
    if (rep->head_seq != expect - 1 || !vt_ct_eq(rep->head_hash, prev, VT_AUDIT_HASH_LEN)) {
        if (rep->head_seq >= expect) rep->bad_seq = expect;
        return vt_error_set(err, VT_E_VERIFY, "audit_chain",
                            "the log ends at record %lld but its head names record %lld%s (records removed from the end, or the head was altered)",
                            (long long)(expect - 1), (long long)rep->head_seq,
                            rep->head_seq == expect - 1 ? " with another hash" : "");
    }
    if (!anchor_seen) {
        rep->bad_seq = anchor->seq;
        return vt_error_set(err, VT_E_VERIFY, "audit_chain",
                            "anchor record %lld is not in the log (it ends at %lld: truncated)",
                            (long long)anchor->seq, (long long)(expect - 1));
    }
    return VT_OK;
}

static vt_err verify_from(vt_store *s, const walk_from *from, const vt_audit_anchor *anchor, vt_audit_report *rep,
                          vt_error *err)
{
    for (int tries = 0;; tries++) {
        bool moved = false;
        VT_GUARD(verify_walk(s, from, anchor, rep, &moved, err));
        if (!moved) return VT_OK;
        if (tries == 3)
            return vt_error_set(err, VT_E_IO, "audit_chain", "the log was archived while it was being verified: try again");
    }
}

vt_err vt_audit_verify(vt_store *s, const vt_audit_anchor *anchor, vt_audit_report *rep,
                       vt_error *err)
{
    walk_from whole = {.since = false};
    return verify_from(s, &whole, anchor, rep, err);
}

vt_err vt_audit_verify_since(vt_store *s, int64_t after_seq, const uint8_t *after_hash, vt_audit_report *rep,
                             vt_error *err)
{
    if (after_seq < 0) return vt_error_set(err, VT_E_ARG, "audit_chain", "negative sequence number");
    walk_from since = {.since = true, .seq = after_seq, .hash = after_hash};
    return verify_from(s, &since, NULL, rep, err);
}

vt_err vt_audit_tail(vt_store *s, size_t n, vt_audit_record **out, size_t *got, vt_error *err)
{
    return vt_store_audit_tail(s, n, out, got, err);
}

json_t *vt_audit_record_json(const vt_audit_record *r)
{
    char t[21], ph[2 * VT_AUDIT_HASH_LEN + 1], h[2 * VT_AUDIT_HASH_LEN + 1];
    vt_time_format(r->time, t);
    vt_hex_encode(r->prev_hash, VT_AUDIT_HASH_LEN, ph);
    vt_hex_encode(r->hash, VT_AUDIT_HASH_LEN, h);
    json_t *d = json_loads(r->details, JSON_REJECT_DUPLICATES, NULL);
    if (d == NULL) d = json_string(r->details);
    return json_pack("{sI ss ss ss ss ss so ss ss}", "seq", (json_int_t)r->seq, "time", t, "actor",
                     r->actor, "action", r->action, "subject", r->subject, "outcome", r->outcome,
                     "details", d, "prev_hash", ph, "hash", h);
}

vt_err vt_audit_anchor_parse(const char *s, vt_audit_anchor *out, vt_error *err)
{
    const char *colon = s ? strchr(s, ':') : NULL;
    char *end = NULL;
    long long seq = s ? strtoll(s, &end, 10) : 0;
    if (colon == NULL || end != colon || seq < 1 || strlen(colon + 1) != 2 * VT_AUDIT_HASH_LEN ||
        vt_hex_decode_fixed(colon + 1, out->hash, VT_AUDIT_HASH_LEN, err) != VT_OK)
        return vt_error_set(err, VT_E_ARG, "audit_anchor", "anchor must be SEQ:HEX (64 hex digits), got '%s'",
                            s ? s : "");
    out->seq = seq;
    return VT_OK;
}
