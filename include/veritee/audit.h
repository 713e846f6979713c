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
    int64_t base_seq; /* the last archived record (0 when none): the store starts after it */
    uint8_t base_hash[VT_AUDIT_HASH_LEN];
    int64_t records;  /* records checked */
    int64_t head_seq; /* head row */
    uint8_t head_hash[VT_AUDIT_HASH_LEN];
    int64_t bad_seq;  /* first bad record (0 when the chain verifies, or when the fault is the head) */
} vt_audit_report;

/* Walks the whole stored chain: sequence numbers contiguous from the archive base + 1 (1 when
 * nothing is archived), the first prev_hash equals the base's hash and each next one the
 * previous record's hash, each hash recomputes, the head row names the last record, and the
 * anchor (optional) matches. VT_E_VERIFY names the first bad record and what is wrong; an
 * anchor before the base is VT_E_VERIFY too (the archive files must be checked for it). */
VT_MUST_USE vt_err vt_audit_verify(vt_store *s, const vt_audit_anchor *anchor, vt_audit_report *rep,
                       vt_error *err);

/* Walks only what follows record after_seq, for a reader that checks the chain again and again
 * (the console): with after_hash (that record's hash, verified earlier), the first record must
 * chain to it, so the checks of successive calls join into one; VT_E_MISSING when after_seq is
 * archived meanwhile (before the base), VT_E_VERIFY when the head names an earlier record. With
 * after_hash NULL, a suffix: from record after_seq + 1 (at least the head's record; from the base
 * when after_seq is before it), the first record's prev_hash taken as stored. rep->records counts
 * the records walked. What was walked before is not read again: an edit there is found by
 * vt_audit_verify (and the anchors), not here. */
VT_MUST_USE vt_err vt_audit_verify_since(vt_store *s, int64_t after_seq, const uint8_t *after_hash,
                                         vt_audit_report *rep, vt_error *err);

/* Last n records (seq order); free with vt_audit_records_free. */
VT_MUST_USE vt_err vt_audit_tail(vt_store *s, size_t n, vt_audit_record **out, size_t *got, vt_error *err);
/* One record as a JSON object (seq, time RFC 3339, actor, action, subject, outcome, details,
 * prev_hash, hash). Caller json_decref()s. */
json_t *vt_audit_record_json(const vt_audit_record *r);
/* Parses "SEQ:HEX" (as printed by `veritee audit verify`). */
VT_MUST_USE vt_err vt_audit_anchor_parse(const char *s, vt_audit_anchor *out, vt_error *err);

/* ---- Archiving ------------------------------------------------------------------------
 * `veritee audit archive` moves the oldest records out of the store into a file, so that the
 * log of a busy broker does not grow without bound, while the hash chain still proves the whole
 * history: the file's first record chains from the store's base before the cut, and the
 * store's first record after the cut chains from the file's last. An archive is JSON Lines:
 *   {"veritee_audit_archive":1,"after_seq":A,"after_hash":"<64 hex>","records":N}
 * then N lines, one record each, in seq order:
 *   {"seq":S,"time":T,"actor":"..","action":"..","subject":"..","outcome":"..",
 *    "details":"<the stored details text>","prev_hash":"<64 hex>","hash":"<64 hex>"}
 * time in Unix seconds; details as the exact stored text (a JSON string), which the hash
 * covers byte for byte. */
#define VT_AUDIT_ARCHIVE_LINE_MAX (1u << 20) /* bytes of one line, without its newline */

/* Receives the archive's text in pieces (each ends with a newline). */
typedef vt_err (*vt_audit_sink_fn)(void *ctx, const char *data, size_t len, vt_error *err);
/* Writes the records after the store's base up to `upto` (inclusive, at most the head) through
 * sink, the header first, checking the chain as it goes (a broken chain is VT_E_VERIFY and
 * nothing more is written). *records (may be NULL) receives how many were written. */
VT_MUST_USE vt_err vt_audit_export(vt_store *s, int64_t upto, vt_audit_sink_fn sink, void *ctx, int64_t *records,
                                   vt_error *err);
/* Moves the store's base to record `upto`, deleting the records up to it, in transactions of
 * at most VT_AUDIT_CUT_STEP records (each leaves a store that verifies). */
#define VT_AUDIT_CUT_STEP 10000
VT_MUST_USE vt_err vt_audit_cut(vt_store *s, int64_t upto, vt_error *err);

/* The reading of one archive, line by line (vt_audit_archive_line), from a zeroed struct. */
typedef struct vt_audit_archive {
    int64_t lines;      /* lines read */
    bool header;        /* the header line was read */
    int64_t after_seq;  /* the record before the file's first (0: the file starts the log) */
    uint8_t after_hash[VT_AUDIT_HASH_LEN];
    int64_t declared;   /* records the header announces */
    int64_t records;    /* records read and checked */
    int64_t last_seq;   /* the last record read (after_seq before any) */
    uint8_t last_hash[VT_AUDIT_HASH_LEN];
} vt_audit_archive;
/* One line (without its newline) of an archive read in order: the header first, then each
 * record's seq follows the last, its prev_hash is the last hash, and its hash recomputes.
 * VT_E_INVALID for a line that is not the format, VT_E_VERIFY for a broken chain; the
 * message names the line. */
VT_MUST_USE vt_err vt_audit_archive_line(vt_audit_archive *a, const char *line, size_t len, vt_error *err);
/* After the last line: a header was read and its count of records is what was read. */
VT_MUST_USE vt_err vt_audit_archive_end(const vt_audit_archive *a, vt_error *err);

VT_END_DECLS

#endif
