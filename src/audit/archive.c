/* Audit archives (include/veritee/audit.h): the oldest records written out as JSON Lines,
 * checked as they go out and as they come back, then cut from the store in steps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"
#include "veritee/audit.h"
#include "veritee/crypto.h"
#include "veritee/json.h"

#define EXPORT_PAGE 512
#define ARCHIVE_VERSION 1

static vt_err sink_json(vt_audit_sink_fn sink, void *ctx, json_t *j, vt_error *err)
{
    char *t = j ? vt_json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (t == NULL) return vt_error_set(err, VT_E_NOMEM, "audit_archive", "out of memory");
    size_t n = strlen(t);
    t[n] = '\n'; /* the line's NUL becomes its newline: the text is not a C string any more */
    vt_err rc = sink(ctx, t, n + 1, err);
    free(t);
    return rc;
}

static json_t *record_line(const vt_audit_record *r)
{
    char ph[2 * VT_AUDIT_HASH_LEN + 1], h[2 * VT_AUDIT_HASH_LEN + 1];
    vt_hex_encode(r->prev_hash, VT_AUDIT_HASH_LEN, ph);
    vt_hex_encode(r->hash, VT_AUDIT_HASH_LEN, h);
    return json_pack("{sI sI ss ss ss ss ss ss ss}", "seq", (json_int_t)r->seq, "time", (json_int_t)r->time, "actor",
                     r->actor, "action", r->action, "subject", r->subject, "outcome", r->outcome, "details",
                     r->details, "prev_hash", ph, "hash", h);
}

vt_err vt_audit_export(vt_store *s, int64_t upto, vt_audit_sink_fn sink, void *ctx, int64_t *records, vt_error *err)
{
    int64_t base = 0, head = 0;
    uint8_t prev[VT_AUDIT_HASH_LEN], head_hash[VT_AUDIT_HASH_LEN];
    if (records) *records = 0;
    VT_GUARD(vt_store_audit_base(s, &base, prev, err));
    VT_GUARD(vt_store_audit_head(s, &head, head_hash, err));
    if (upto <= base || upto > head)
        return vt_error_set(err, VT_E_ARG, "audit_archive",
                            "nothing to archive up to record %lld: the store holds records %lld to %lld",
                            (long long)upto, (long long)(base + 1), (long long)head);
    char ah[2 * VT_AUDIT_HASH_LEN + 1];
    vt_hex_encode(prev, VT_AUDIT_HASH_LEN, ah);
    VT_GUARD(sink_json(sink, ctx,
                       json_pack("{si sI ss sI}", "veritee_audit_archive", ARCHIVE_VERSION, "after_seq",
                                 (json_int_t)base, "after_hash", ah, "records", (json_int_t)(upto - base)),
                       err));
    int64_t expect = base + 1;
    vt_err rc = VT_OK;
    while (rc == VT_OK && expect <= upto) {
        vt_audit_record *page = NULL;
        size_t n = 0;
        VT_GUARD(vt_store_audit_page(s, expect - 1, EXPORT_PAGE, &page, &n, err));
        if (n == 0)
            rc = vt_error_set(err, VT_E_VERIFY, "audit_chain", "record %lld is missing", (long long)expect);
        for (size_t i = 0; i < n && rc == VT_OK && expect <= upto; i++) {
            vt_audit_record *r = &page[i];
            audit_link link;
            rc = audit_link_check(r, expect, prev, &link, err);
            if (rc == VT_OK && link == AUDIT_LINK_SEQ)
                rc = vt_error_set(err, VT_E_VERIFY, "audit_chain", "record %lld is missing", (long long)expect);
            if (rc == VT_OK && link == AUDIT_LINK_PREV)
                rc = vt_error_set(err, VT_E_VERIFY, "audit_chain", "record %lld does not chain to the record before it",
                                  (long long)r->seq);
            if (rc == VT_OK && link == AUDIT_LINK_HASH)
                rc = vt_error_set(err, VT_E_VERIFY, "audit_chain", "record %lld does not match its hash (edited)",
                                  (long long)r->seq);
            if (rc == VT_OK) rc = sink_json(sink, ctx, record_line(r), err);
            if (rc != VT_OK) break;
            memcpy(prev, r->hash, VT_AUDIT_HASH_LEN);
            expect++;
            if (records) (*records)++;
        }
        vt_audit_records_free(page, n);
    }
    if (rc != VT_OK && err != NULL) vt_error_wrap(err, "audit archive");
    return rc;
}

vt_err vt_audit_cut(vt_store *s, int64_t upto, vt_error *err)
{
    int64_t base = 0;
    uint8_t h[VT_AUDIT_HASH_LEN];
    VT_GUARD(vt_store_audit_base(s, &base, h, err));
    if (upto <= base)
        return vt_error_set(err, VT_E_ARG, "audit_archive", "record %lld is already archived (the store starts after %lld)",
                            (long long)upto, (long long)base);
    while (base < upto) {
        int64_t step = upto - base > VT_AUDIT_CUT_STEP ? base + VT_AUDIT_CUT_STEP : upto;
        VT_GUARD(vt_store_audit_cut(s, step, err));
        base = step;
    }
    return VT_OK;
}

static vt_err line_bad(const vt_audit_archive *a, vt_err code, vt_error *err, const char *what)
{
    return vt_error_set(err, code, code == VT_E_VERIFY ? "audit_chain" : "audit_archive", "archive line %lld: %s",
                        (long long)a->lines, what);
}

/* The object's members are exactly `keys` (n of them). */
static bool exact_keys(const json_t *o, const char *const *keys, size_t n)
{
    if (!json_is_object(o) || json_object_size(o) != n) return false;
    for (size_t i = 0; i < n; i++)
        if (json_object_get(o, keys[i]) == NULL) return false;
    return true;
}

static vt_err header_line(vt_audit_archive *a, const json_t *j, vt_error *err)
{
    static const char *const keys[] = {"veritee_audit_archive", "after_seq", "after_hash", "records"};
    int64_t v = 0;
    if (!exact_keys(j, keys, 4))
        return line_bad(a, VT_E_INVALID, err,
                        "not an archive header (veritee_audit_archive, after_seq, after_hash, records)");
    VT_GUARD(vt_json_int(j, "veritee_audit_archive", "header", 1, INT32_MAX, &v, err));
    if (v != ARCHIVE_VERSION)
        return vt_error_set(err, VT_E_UNSUPPORTED, "audit_archive", "archive version %lld (this veritee reads %d)",
                            (long long)v, ARCHIVE_VERSION);
    VT_GUARD(vt_json_int(j, "after_seq", "header", 0, INT64_MAX / 2, &a->after_seq, err));
    VT_GUARD(vt_json_hex(j, "after_hash", "header", a->after_hash, VT_AUDIT_HASH_LEN, err));
    VT_GUARD(vt_json_int(j, "records", "header", 0, INT64_MAX / 2, &a->declared, err));
    a->header = true;
    a->last_seq = a->after_seq;
    memcpy(a->last_hash, a->after_hash, VT_AUDIT_HASH_LEN);
    return VT_OK;
}

static vt_err field(const json_t *j, const char *key, size_t max, char **out, vt_error *err)
{
    const char *v = NULL;
    VT_GUARD(vt_json_str(j, key, "record", &v, err));
    if (strlen(v) > max) return vt_error_set(err, VT_E_INVALID, "audit_archive", "record.%s: longer than %zu bytes", key, max);
    *out = (char *)v; /* borrowed from j for the hash only */
    return VT_OK;
}

static vt_err record_from(vt_audit_archive *a, const json_t *j, vt_error *err)
{
    static const char *const keys[] = {"seq",     "time",    "actor",     "action", "subject",
                                       "outcome", "details", "prev_hash", "hash"};
    if (!exact_keys(j, keys, 9))
        return line_bad(a, VT_E_INVALID, err,
                        "not an archive record (seq, time, actor, action, subject, outcome, details, prev_hash, hash)");
    vt_audit_record r = {0};
    VT_GUARD(vt_json_int(j, "seq", "record", 1, INT64_MAX / 2, &r.seq, err));
    VT_GUARD(vt_json_int(j, "time", "record", INT64_MIN / 2, INT64_MAX / 2, &r.time, err));
    VT_GUARD(field(j, "actor", VT_AUDIT_FIELD_MAX, &r.actor, err));
    VT_GUARD(field(j, "action", VT_AUDIT_FIELD_MAX, &r.action, err));
    VT_GUARD(field(j, "subject", VT_AUDIT_FIELD_MAX, &r.subject, err));
    VT_GUARD(field(j, "outcome", VT_AUDIT_FIELD_MAX, &r.outcome, err));
    VT_GUARD(field(j, "details", VT_AUDIT_DETAILS_MAX, &r.details, err));
    VT_GUARD(vt_json_hex(j, "prev_hash", "record", r.prev_hash, VT_AUDIT_HASH_LEN, err));
    VT_GUARD(vt_json_hex(j, "hash", "record", r.hash, VT_AUDIT_HASH_LEN, err));
    char what[96];
    if (a->records == a->declared) return line_bad(a, VT_E_INVALID, err, "more records than the header announces");
    audit_link link;
    VT_GUARD(audit_link_check(&r, a->last_seq + 1, a->last_hash, &link, err));
    if (link != AUDIT_LINK_OK) {
        if (link == AUDIT_LINK_SEQ)
            snprintf(what, sizeof what, "record %lld where record %lld was due", (long long)r.seq,
                     (long long)(a->last_seq + 1));
        else
            snprintf(what, sizeof what, "record %lld %s", (long long)r.seq,
                     link == AUDIT_LINK_PREV ? "does not chain to the record before it" : "does not match its hash (edited)");
        return line_bad(a, VT_E_VERIFY, err, what);
    }
    a->last_seq = r.seq;
    memcpy(a->last_hash, r.hash, VT_AUDIT_HASH_LEN);
    a->records++;
    return VT_OK;
}

vt_err vt_audit_archive_line(vt_audit_archive *a, const char *line, size_t len, vt_error *err)
{
    a->lines++;
    if (len > VT_AUDIT_ARCHIVE_LINE_MAX) return line_bad(a, VT_E_INVALID, err, "longer than 1 MiB");
    json_t *j = NULL;
    vt_err rc = vt_json_parse(line, len, &j, err);
    if (rc != VT_OK) {
        if (err != NULL) vt_error_wrap(err, "archive line %lld", (long long)a->lines);
        return rc;
    }
    rc = a->header ? record_from(a, j, err) : header_line(a, j, err);
    json_decref(j);
    if (rc != VT_OK && err != NULL && strncmp(err->msg, "archive line", 12) != 0)
        vt_error_wrap(err, "archive line %lld", (long long)a->lines);
    return rc;
}

vt_err vt_audit_archive_end(const vt_audit_archive *a, vt_error *err)
{
    if (!a->header) return vt_error_set(err, VT_E_INVALID, "audit_archive", "not an audit archive (no header line)");
    if (a->records != a->declared)
        return vt_error_set(err, VT_E_VERIFY, "audit_chain",
                            "the archive announces %lld records and holds %lld (cut short)", (long long)a->declared,
                            (long long)a->records);
    return VT_OK;
}
