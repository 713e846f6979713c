/* Sessions awaiting attestation and nonces of a SQLite store, in memory (pending.c). Internal. */
#ifndef VT_STORE_PENDING_H
#define VT_STORE_PENDING_H

#include <stdbool.h>
#include <stdint.h>

#include "veritee/store.h"

typedef struct store_pending store_pending;

/* cap: entries of each table (sessions, nonces) at most. */
vt_err pending_new(size_t cap, store_pending **out, vt_error *err);
/* Accepts NULL; wipes every entry. */
void pending_free(store_pending *p);

typedef struct pending_limits {
    uint64_t max_total, max_per_client; /* 0: no such limit */
    vt_time now;                        /* entries expired at now are dropped first */
    bool check_only;                    /* the limits and the id checked, nothing added (an
                                           attested session, which goes to the file) */
} pending_limits;

/* Adds x (token ignored). lim NULL: no limit but the table's (full: VT_E_NOMEM); else *hit says
 * which limit refused it (a full table is VT_SESSION_LIMIT_TOTAL). A live id: VT_E_ARG. */
vt_err pending_session_put(store_pending *p, const vt_session *x, const pending_limits *lim, vt_session_limit *hit,
                           vt_error *err);
bool pending_session_has(store_pending *p, const char *id);

typedef enum pending_found { PENDING_ABSENT = 0, PENDING_LIVE, PENDING_EXPIRED } pending_found;
/* Looks id up: live (out, if not NULL, gets a copy; take: and it leaves the table), expired at
 * now (it leaves the table), or absent. */
vt_err pending_session_get(store_pending *p, const char *id, vt_time now, bool take, pending_found *found,
                           vt_session *out, vt_error *err);
/* true when id was here (and is gone). */
bool pending_session_delete(store_pending *p, const char *id);
/* Live at now (the expired ones are dropped). */
uint64_t pending_session_count(store_pending *p, vt_time now);
/* Drops the sessions and nonces expired at now, a batch per hold of the lock; returns how many. */
uint64_t pending_sweep(store_pending *p, vt_time now);

/* As vt_store_nonce_put / vt_store_nonce_consume; a full table: VT_E_NOMEM. */
vt_err pending_nonce_put(store_pending *p, const char *nonce, vt_time expires, vt_error *err);
vt_err pending_nonce_consume(store_pending *p, const char *nonce, vt_time now, vt_error *err);

#endif
