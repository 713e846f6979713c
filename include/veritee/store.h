/* Storage for veritee serve: one interface (a vtable, src/store/store_internal.h) with an
 * embedded SQLite backend and a PostgreSQL backend shared by several nodes. Holds what the
 * KBS protocol needs (kbs-protocol.md §9 sessions, nonces, §11 resources, §12 admin token
 * ids), named JSON documents (policies, reference values) and the audit chain rows. */
#ifndef VERITEE_STORE_H
#define VERITEE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/codec.h"
#include "veritee/err.h"
#include "veritee/vtime.h"

VT_BEGIN_DECLS

typedef struct vt_store vt_store;

/* ---- Key-encryption key (AES-256-GCM over resource values) ---------------------------- */

#define VT_KEK_LEN 32
#define VT_KEK_ID_LEN 8
/* Environment variable read by vt_kek_load_env when name is NULL. */
#define VT_KEK_ENV "VERITEE_KEK"

typedef struct vt_kek vt_kek;

/* From 32 raw bytes. */
VT_MUST_USE vt_err vt_kek_from_bytes(const uint8_t *key, size_t len, vt_kek **out, vt_error *err);
/* From a file holding 32 raw bytes, or 64 hex digits, or base64 of 32 bytes (trailing
 * newline allowed). The file must not be readable by group or others (mode & 077 == 0). */
VT_MUST_USE vt_err vt_kek_load_file(const char *path, vt_kek **out, vt_error *err);
/* From an environment variable (hex or base64 of 32 bytes); name NULL means VT_KEK_ENV. */
VT_MUST_USE vt_err vt_kek_load_env(const char *name, vt_kek **out, vt_error *err);
/* Key check value: first 8 bytes of SHA-256("veritee-kek-id" || key), lower-case hex (17 bytes). */
void vt_kek_id_hex(const vt_kek *k, char out[2 * VT_KEK_ID_LEN + 1]);
/* Wipes and frees; accepts NULL. */
void vt_kek_free(vt_kek *k);

/* ---- Opening ------------------------------------------------------------------------- */

typedef struct vt_store_opts {
    const vt_kek *kek;   /* borrowed, must outlive the store; NULL: resource values unavailable */
    int busy_timeout_ms; /* SQLite busy timeout, PostgreSQL lock_timeout; 0: 5000 */
    bool existing;       /* the store must already exist: never create the SQLite file nor the
                          * schema (read-only commands such as audit verify); a missing file or an
                          * empty database is VT_E_MISSING */
    unsigned pool;       /* PostgreSQL: connections this handle keeps and its threads share (a
                          * transaction keeps one until it ends); 0: 4; at most 64. SQLite: one */
    size_t pending_max;  /* SQLite: sessions awaiting attestation, and nonces, this handle keeps in
                          * memory at most, each (a full table refuses: see the sessions below);
                          * 0: VT_STORE_PENDING_DEFAULT. PostgreSQL: unused */
} vt_store_opts;
#define VT_STORE_PENDING_DEFAULT 100000

/* Opens (and migrates) a store. url: "sqlite:PATH" (file created 0600 if absent unless
 * opts->existing, WAL mode, incremental auto_vacuum; its -wal/-shm files get the same mode) or
 * "postgres://user@host:port/db" / "postgresql://..." (libpq is dlopen()ed only here).
 * When a KEK is given and the store already has sealed values, its id must match the id
 * recorded in the store, else VT_E_VERIFY ("wrong key-encryption key"). */
VT_MUST_USE vt_err vt_store_open(const char *url, const vt_store_opts *opts, vt_store **out, vt_error *err);
/* Closes; accepts NULL. */
void vt_store_close(vt_store *s);
/* "sqlite" or "postgres". */
const char *vt_store_backend(const vt_store *s);
/* Current schema version (VT_STORE_SCHEMA_VERSION after a successful open). */
#define VT_STORE_SCHEMA_VERSION 7
VT_MUST_USE vt_err vt_store_schema_version(vt_store *s, int *out, vt_error *err);
/* Cheap liveness check (SELECT 1), for /healthz. */
VT_MUST_USE vt_err vt_store_ping(vt_store *s, vt_error *err);
/* Disk flushes the handle has made so far (SQLite: fdatasync of its WAL, each one serving every
 * durable commit written before it; PostgreSQL: 0, its server flushes its own log). For the
 * veritee_store_flushes_total metric and tests. */
uint64_t vt_store_flushes(vt_store *s);

/* Re-seal every resource value under new_kek in one transaction and record its id: the way to
 * rotate the key-encryption key. The store must have been opened with the current KEK; on
 * success it uses new_kek (borrowed, must outlive the store) and *count (may be NULL) is the
 * number of values re-sealed. Other nodes must be restarted with the new KEK. */
VT_MUST_USE vt_err vt_store_rekey(vt_store *s, const vt_kek *new_kek, size_t *count, vt_error *err);

/* ---- Transactions ----------------------------------------------------------------------
 * Several operations as one transaction, e.g. an admin action and its audit record: either
 * both are committed or neither is (a crash in between leaves neither). From vt_store_tx_begin
 * on, the calling thread has the handle to itself (other threads using it wait) and every
 * vt_store_* and vt_audit_append call it makes on the handle runs inside the transaction (each
 * as a savepoint: a failing call undoes only its own writes). vt_store_tx_end commits when rc
 * is VT_OK, else rolls everything back, and returns the first failure. SQLite: BEGIN
 * IMMEDIATE; PostgreSQL: BEGIN ... COMMIT on the handle's connection. A nested
 * vt_store_tx_begin is a savepoint, ended by its own vt_store_tx_end. */
VT_MUST_USE vt_err vt_store_tx_begin(vt_store *s, vt_error *err);
VT_MUST_USE vt_err vt_store_tx_end(vt_store *s, vt_err rc, vt_error *err);
/* vt_store_tx_end without waiting for the disk: the commit is visible at once and becomes
 * durable with the next durable commit on the same database (any later vt_store_tx_end or
 * durable write, on any handle or node: SQLite's WAL and PostgreSQL's are one ordered log, so
 * flushing a later commit flushes this one). A crash of the system before that may lose it, and
 * with it only other commits that were not durable either. For records whose durability is
 * owed to what follows them (an attestation's audit record before a release made on its
 * strength), not to the caller. SQLite: the commit is written to the WAL and not flushed;
 * PostgreSQL: the transaction commits with synchronous_commit off. Nested: as vt_store_tx_end. */
VT_MUST_USE vt_err vt_store_tx_end_deferred(vt_store *s, vt_err rc, vt_error *err);

/* ---- Sessions (kbs-protocol.md §9) ----------------------------------------------------- */

#define VT_SESSION_ID_MAX 64
#define VT_SESSION_CLIENT_MAX 46   /* an IPv6 address in text */
#define VT_SESSION_REQUEST_MAX 1024 /* what is kept of the /auth request */

typedef struct vt_session {
    char id[VT_SESSION_ID_MAX + 1];
    char client[VT_SESSION_CLIENT_MAX + 1]; /* the address that opened it ("" unknown) */
    char *tee;     /* owned */
    char *nonce;   /* owned: the challenge nonce as sent */
    char *request; /* owned: what is kept of the /auth request (JSON, at most
                      VT_SESSION_REQUEST_MAX bytes) */
    char *token;   /* owned: attestation token once attested, else NULL */
    vt_time created;
    vt_time expires;
} vt_session;

/* Frees the owned strings (not the struct); accepts NULL. */
void vt_session_clear(vt_session *s);
/* Creates a session; VT_E_ARG if the id exists already or the request is too long. */
VT_MUST_USE vt_err vt_store_session_put(vt_store *s, const vt_session *sess, vt_error *err);

typedef enum vt_session_limit {
    VT_SESSION_LIMIT_NONE = 0, /* created */
    VT_SESSION_LIMIT_TOTAL,    /* max_total pending live sessions exist already: not created */
    VT_SESSION_LIMIT_CLIENT,   /* max_per_client pending ones of sess->client exist: not created */
} vt_session_limit;
/* Creates a session when fewer than max_total sessions awaiting attestation (live at now, no
 * token yet) exist and fewer than max_per_client of them belong to sess->client (0: no such
 * limit); counting and insertion are one transaction, serialized across nodes. *hit says which
 * limit refused it. */
VT_MUST_USE vt_err vt_store_session_put_limited(vt_store *s, const vt_session *sess, uint64_t max_total,
                                    uint64_t max_per_client, vt_time now, vt_session_limit *hit,
                                    vt_error *err);
/* Loads a live session. Absent: VT_E_MISSING; expired at now: deleted, VT_E_EXPIRED. */
VT_MUST_USE vt_err vt_store_session_get(vt_store *s, const char *id, vt_time now, vt_session *out, vt_error *err);
/* Marks a live session attested with token (a second call replaces it). */
VT_MUST_USE vt_err vt_store_session_set_token(vt_store *s, const char *id, const char *token, vt_time now,
                                  vt_error *err);
VT_MUST_USE vt_err vt_store_session_delete(vt_store *s, const char *id, vt_error *err);
/* Deletes sessions, nonces and admin token ids expired at now; *removed (may be NULL) counts them.
 * SQLite: the freed pages are then returned to the file system (auto_vacuum=INCREMENTAL), so
 * the file shrinks after a flood of sessions expires. */
VT_MUST_USE vt_err vt_store_sweep(vt_store *s, vt_time now, uint64_t *removed, vt_error *err);
/* Number of sessions live at now (for the active-sessions gauge). */
VT_MUST_USE vt_err vt_store_session_count(vt_store *s, vt_time now, uint64_t *out, vt_error *err);

/* ---- Nonces: single use, with expiry ------------------------------------------------------ */

#define VT_NONCE_MAX 256

/* Records a fresh nonce (VT_E_ARG if it exists). */
VT_MUST_USE vt_err vt_store_nonce_put(vt_store *s, const char *nonce, vt_time expires, vt_error *err);
/* Atomically consumes a nonce: exactly one caller across all nodes gets VT_OK. Unknown or
 * already used: VT_E_VERIFY; expired at now: VT_E_EXPIRED (and it is gone). */
VT_MUST_USE vt_err vt_store_nonce_consume(vt_store *s, const char *nonce, vt_time now, vt_error *err);

/* ---- Resources: versioned secrets, sealed with the KEK ------------------------------------ */

#define VT_RESOURCE_PATH_MAX 512
#define VT_RESOURCE_VALUE_MAX (1u << 20)

typedef struct vt_resource_version {
    int64_t version; /* 1, 2, ... */
    vt_time created;
    vt_time revoked; /* 0: not revoked */
    uint8_t sha256[32]; /* SHA-256 of the value (never the value itself), when has_sha256 */
    bool has_sha256;    /* false: no KEK loaded, or the value does not open under it */
} vt_resource_version;

/* Stores value as a new version of path (first version 1); *version (may be NULL) receives it. */
VT_MUST_USE vt_err vt_store_resource_put(vt_store *s, const char *path, const uint8_t *value, size_t len,
                             vt_time now, int64_t *version, vt_error *err);
/* New version and revocation of every older live version, in one transaction. */
VT_MUST_USE vt_err vt_store_resource_rotate(vt_store *s, const char *path, const uint8_t *value, size_t len,
                                vt_time now, int64_t *version, vt_error *err);
/* Opens a version: version 0 means the newest non-revoked one. Absent: VT_E_MISSING; revoked
 * (or every version revoked): VT_E_REVOKED; sealed under another KEK or altered: VT_E_VERIFY.
 * value is a secret: free it with vt_buf_free_secret. *got (may be NULL) = version opened. */
VT_MUST_USE vt_err vt_store_resource_get(vt_store *s, const char *path, int64_t version, vt_buf *value,
                             int64_t *got, vt_error *err);
/* All versions of path, oldest first, each with its value's SHA-256 (opened under the KEK,
 * hashed and wiped: revoked versions too); caller frees *out with free(). VT_E_MISSING if none. */
VT_MUST_USE vt_err vt_store_resource_versions(vt_store *s, const char *path, vt_resource_version **out,
                                  size_t *n, vt_error *err);
/* Revokes one version (idempotent on an already revoked one). */
VT_MUST_USE vt_err vt_store_resource_revoke(vt_store *s, const char *path, int64_t version, vt_time now,
                                vt_error *err);
/* Deletes every version of path. VT_E_MISSING if none. */
VT_MUST_USE vt_err vt_store_resource_delete(vt_store *s, const char *path, vt_error *err);
/* Paths that have at least one version, sorted; free with vt_store_strv_free. */
VT_MUST_USE vt_err vt_store_resource_paths(vt_store *s, char ***out, size_t *n, vt_error *err);

/* ---- Named JSON documents: policies and reference values ---------------------------------- */

typedef enum vt_doc_kind {
    VT_DOC_ATTESTATION_POLICY = 1,
    VT_DOC_RESOURCE_POLICY = 2,
    VT_DOC_REFERENCE_VALUE = 3,
} vt_doc_kind;

#define VT_DOC_NAME_MAX 256
#define VT_DOC_MAX (1u << 20)

/* Stores (replaces) a document; json must parse as JSON (stored as given). */
VT_MUST_USE vt_err vt_store_doc_put(vt_store *s, vt_doc_kind kind, const char *name, const char *json,
                        vt_time now, vt_error *err);
/* Caller frees *json with free(). VT_E_MISSING if absent. */
VT_MUST_USE vt_err vt_store_doc_get(vt_store *s, vt_doc_kind kind, const char *name, char **json, vt_error *err);
VT_MUST_USE vt_err vt_store_doc_delete(vt_store *s, vt_doc_kind kind, const char *name, vt_error *err);
/* Names of that kind, sorted; free with vt_store_strv_free. */
VT_MUST_USE vt_err vt_store_doc_list(vt_store *s, vt_doc_kind kind, char ***out, size_t *n, vt_error *err);
/* The first of names[0..n) (1 <= n <= VT_DOC_FIRST_MAX, in that order of preference) that is
 * stored under kind, in one query: *which is its index, *json its text (caller frees with
 * free()). VT_E_MISSING when none is. */
#define VT_DOC_FIRST_MAX 3
VT_MUST_USE vt_err vt_store_doc_get_first(vt_store *s, vt_doc_kind kind, const char *const *names, size_t n,
                                          size_t *which, char **json, vt_error *err);
/* Every document of kind with its text, names sorted, in one query; free both lists with
 * vt_store_strv_free(…, *n). */
VT_MUST_USE vt_err vt_store_doc_get_all(vt_store *s, vt_doc_kind kind, char ***names, char ***jsons, size_t *n,
                                        vt_error *err);

/* A number that every write of a document (put, replace, delete, on any node) changes, in the
 * same transaction: what was read and parsed after reading generation G is still what is stored
 * while the generation reads G (read the generation first, then the documents). */
VT_MUST_USE vt_err vt_store_docs_generation(vt_store *s, int64_t *gen, vt_error *err);

/* ---- Admin token replay ids (JWT "jti") ----------------------------------------------------- */

/* Records jti until expires. First use: VT_OK; a live duplicate: VT_E_VERIFY ("replayed"). */
VT_MUST_USE vt_err vt_store_jti_use(vt_store *s, const char *jti, vt_time expires, vt_time now, vt_error *err);

void vt_store_strv_free(char **v, size_t n);

/* ---- audit rows --------------------------------------------------------------------------
 * The store owns the rows of the audit chain; hashing and verification are the audit layer's
 * (audit.h), which seals each record inside the appending transaction. */

#define VT_AUDIT_HASH_LEN 32
#define VT_AUDIT_FIELD_MAX 4096   /* actor, action, subject, outcome */
#define VT_AUDIT_DETAILS_MAX 65536 /* details JSON */

typedef struct vt_audit_record {
    int64_t seq;   /* 1, 2, ... without gaps */
    vt_time time;
    char *actor;   /* owned: who ("admin:alice", "guest:<session>", "node:<host>") */
    char *action;  /* owned: what ("attest", "resource.get", "resource.put", ...) */
    char *subject; /* owned: on what ("default/key/disk1", "policy:default") */
    char *outcome; /* owned: "ok", "denied", "error", ... */
    char *details; /* owned: compact JSON object with sorted keys */
    uint8_t prev_hash[VT_AUDIT_HASH_LEN]; /* zeros for seq 1 */
    uint8_t hash[VT_AUDIT_HASH_LEN];
} vt_audit_record;

/* Frees the owned strings; accepts NULL. */
void vt_audit_record_clear(vt_audit_record *r);
/* Clears and frees an array of n records; accepts NULL. */
void vt_audit_records_free(vt_audit_record *r, size_t n);

/* Computes r->hash from r (seq and prev_hash filled in by the store). */
typedef vt_err (*vt_store_audit_seal_fn)(vt_audit_record *r, vt_error *err);
/* Appends r in one transaction serialized on the chain head: reads the head, fills r->seq and
 * r->prev_hash, calls seal, inserts the row and moves the head. */
VT_MUST_USE vt_err vt_store_audit_append(vt_store *s, vt_audit_record *r, vt_store_audit_seal_fn seal, vt_error *err);
VT_MUST_USE vt_err vt_store_audit_head(vt_store *s, int64_t *seq, uint8_t hash[VT_AUDIT_HASH_LEN], vt_error *err);
/* Up to max records with seq > after, in seq order; free with vt_audit_records_free. */
VT_MUST_USE vt_err vt_store_audit_page(vt_store *s, int64_t after, size_t max, vt_audit_record **out, size_t *n,
                           vt_error *err);
/* The last n records in seq order. */
VT_MUST_USE vt_err vt_store_audit_tail(vt_store *s, size_t n, vt_audit_record **out, size_t *got, vt_error *err);
/* The archive base: the last record moved out of the store by vt_store_audit_cut, its seq and
 * hash (0 and zeros while nothing is archived). The first stored record follows it. */
VT_MUST_USE vt_err vt_store_audit_base(vt_store *s, int64_t *seq, uint8_t hash[VT_AUDIT_HASH_LEN], vt_error *err);
/* In one transaction: moves the base to stored record `seq` (after the base) and deletes the
 * records up to it. The caller has archived them first (audit.h, vt_audit_export). */
VT_MUST_USE vt_err vt_store_audit_cut(vt_store *s, int64_t seq, vt_error *err);
/* The seq of the first record whose time is at or after `t`, 0 when there is none. */
VT_MUST_USE vt_err vt_store_audit_first_at(vt_store *s, vt_time t, int64_t *seq, vt_error *err);

VT_END_DECLS

#endif
