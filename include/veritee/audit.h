/* Append-only audit log: every attestation, key release, denial and admin action as a
 * record chained by SHA-256 to the previous one (hash = SHA-256 of the canonical encoding
 * below, which includes the previous record's hash). Stored through vt_store. */
#ifndef VERITEE_AUDIT_H
#define VERITEE_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/codec.h"
#include "veritee/err.h"
#include "veritee/store.h"
#include "veritee/vtime.h"

VT_BEGIN_DECLS

/* Canonical encoding hashed into the chain:
 *   "veritee-audit-v1" || u64be(seq) || i64be(time)
 *   || for actor, action, subject, outcome, details: u32be(len) || bytes
 *   || prev_hash (32 bytes)
 * Strings must be valid UTF-8 without NUL (checked at append). */
VT_MUST_USE vt_err vt_audit_encode(const vt_audit_record *r, vt_buf *out, vt_error *err);
/* hash = SHA-256(vt_audit_encode(r)). */
VT_MUST_USE vt_err vt_audit_compute_hash(const vt_audit_record *r, uint8_t out[VT_AUDIT_HASH_LEN], vt_error *err);

/* Appends a record. details may be NULL ({}); it must be a JSON object and is stored in
 * compact, key-sorted form. The append is serialized across every handle and node on the
 * same database (transaction + lock on the chain head row). *seq (may be NULL) receives the
 * record's sequence number. */
VT_MUST_USE vt_err vt_audit_append(vt_store *s, vt_time time, const char *actor, const char *action,
                       const char *subject, const char *outcome, const json_t *details,
                       int64_t *seq, vt_error *err);

/* Makes untrusted text (a token's "sub", a client-chosen name) fit for a record field: control
 * characters (C0, DEL) and bytes that are not UTF-8 become "\xNN", and the result is cut at a
 * character boundary (never inside a multi-byte character or an escape) to at most max bytes
 * (and cap - 1). Always NUL-terminates out (cap >= 1); NULL in gives "". Returns the length. */
size_t vt_audit_text(const char *in, size_t max, char *out, size_t cap);

/* An externally kept checkpoint (e.g. the head printed by `veritee audit verify` and shipped
 * off the host): verification then also proves that the record at seq still has this hash,
 * which is what detects a truncation followed by a rewrite of the tail. */
typedef struct vt_audit_anchor {
    int64_t seq;
    uint8_t hash[VT_AUDIT_HASH_LEN];
} vt_audit_anchor;

typedef struct vt_audit_report {
    int64_t records;  /* records checked */
    int64_t head_seq; /* head row */
    uint8_t head_hash[VT_AUDIT_HASH_LEN];
    int64_t bad_seq;  /* first bad record (0 when the chain verifies, or when the fault is the head) */
} vt_audit_report;

/* Walks the whole chain: sequence numbers contiguous from 1, each prev_hash equals the
 * previous record's hash, each hash recomputes, the head row names the last record, and the
 * anchor (optional) matches. VT_E_VERIFY names the first bad record and what is wrong. */
VT_MUST_USE vt_err vt_audit_verify(vt_store *s, const vt_audit_anchor *anchor, vt_audit_report *rep,
                       vt_error *err);

/* Last n records (seq order); free with vt_audit_records_free. */
VT_MUST_USE vt_err vt_audit_tail(vt_store *s, size_t n, vt_audit_record **out, size_t *got, vt_error *err);
/* One record as a JSON object (seq, time RFC 3339, actor, action, subject, outcome, details,
 * prev_hash, hash). Caller json_decref()s. */
json_t *vt_audit_record_json(const vt_audit_record *r);
/* Parses "SEQ:HEX" (as printed by `veritee audit verify`). */
VT_MUST_USE vt_err vt_audit_anchor_parse(const char *s, vt_audit_anchor *out, vt_error *err);

VT_END_DECLS

#endif
