/* Store front: URL dispatch, sessions (kbs-protocol.md §9), single-use nonces and admin token
 * replay ids. Statements and transactions are sql.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sql.h"
#include "veritee/crypto.h"

static vt_err check_kek(vt_store *s, vt_error *err)
{
    if (s->kek == NULL) return VT_OK;
    char id[2 * VT_KEK_ID_LEN + 1];
    vt_kek_id_hex(s->kek, id);
    sqlval p[] = {P_TEXT(id)};
    VT_GUARD(store_begin(s, err));
    sqlres r = {0};
    vt_err rc = store_tx(s, "SELECT value FROM meta WHERE key = 'kek_id'", NULL, 0, &r, err);
    if (rc == VT_OK && r.rows == 0)
        rc = store_tx(s, "INSERT INTO meta(key, value) VALUES ('kek_id', $1)", p, 1, NULL, err);
    else if (rc == VT_OK && strcmp(sqlres_get(&r, 0, 0), id) != 0)
        rc = vt_error_set(err, VT_E_VERIFY, "kek",
                          "wrong key-encryption key: this store was sealed under KEK id %s, loaded KEK id is %s",
                          sqlres_get(&r, 0, 0), id);
    sqlres_free(&r);
    return store_end(s, rc, err);
}

/* PostgreSQL connections per handle when vt_store_opts.pool is 0, and at most. */
#define POOL_DEFAULT 4
#define POOL_MAX 64

vt_err vt_store_open(const char *url, const vt_store_opts *opts, vt_store **out, vt_error *err)
{
    *out = NULL;
    if (url == NULL) return vt_error_set(err, VT_E_ARG, "store", "no store URL");
    int busy = opts && opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : 5000;
    bool sqlite = strncmp(url, "sqlite:", 7) == 0 && url[7] != 0;
    bool pg = strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0;
    if (!sqlite && !pg)
        return vt_error_set(err, VT_E_ARG, "store", "store URL must be sqlite:PATH or postgres://user@host:port/db");
    unsigned want = opts && opts->pool > 0 ? opts->pool : POOL_DEFAULT;
    if (want > POOL_MAX) return vt_error_set(err, VT_E_ARG, "store", "a pool of %u connections is over %d", want, POOL_MAX);
    vt_store *s = calloc(1, sizeof *s);
    size_t n = sqlite ? 1 : want;
    if (s == NULL || (s->pool = calloc(n, sizeof *s->pool)) == NULL) {
        free(s);
        return vt_error_set(err, VT_E_NOMEM, "store", "out of memory");
    }
    if (pthread_key_create(&s->held, NULL) != 0) {
        free(s->pool);
        free(s);
        return vt_error_set(err, VT_E_NOMEM, "store", "no thread-specific key left");
    }
    s->has_key = true;
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    for (size_t i = 0; i < n; i++) pthread_mutex_init(&s->pool[i].mu, &ma);
    s->nalloc = n;
    pthread_mutexattr_destroy(&ma);
    pthread_mutex_init(&s->sync_mu, NULL);
    pthread_cond_init(&s->sync_cv, NULL);
    s->kek = opts ? opts->kek : NULL;
    vt_err rc = sqlite ? pending_new(opts && opts->pending_max > 0 ? opts->pending_max : VT_STORE_PENDING_DEFAULT, &s->pend, err)
                       : VT_OK;
    for (size_t i = 0; i < n && rc == VT_OK; i++) {
        rc = sqlite ? store_sqlite_connect(url + 7, busy, !(opts && opts->existing), &s->drv, &s->pool[i].conn, err)
                    : store_pg_connect(url, busy, &s->drv, &s->pool[i].conn, err);
        if (rc == VT_OK) s->npool = i + 1;
    }
    if (rc == VT_OK) rc = opts && opts->existing ? store_check_schema(s, url, err) : store_migrate(s, err);
    if (rc == VT_OK) rc = check_kek(s, err);
    if (rc != VT_OK) {
        vt_store_close(s);
        return rc;
    }
    *out = s;
    return VT_OK;
}

void vt_store_close(vt_store *s)
{
    if (s == NULL) return;
    for (size_t i = 0; s->pool != NULL && i < s->nalloc; i++) {
        if (s->drv != NULL && s->pool[i].conn != NULL) s->drv->close(s->pool[i].conn);
        pthread_mutex_destroy(&s->pool[i].mu);
    }
    free(s->pool);
    if (s->has_key) pthread_key_delete(s->held);
    pthread_mutex_destroy(&s->sync_mu);
    pthread_cond_destroy(&s->sync_cv);
    pending_free(s->pend);
    free(s);
}

const char *vt_store_backend(const vt_store *s)
{
    return s->drv->name;
}

vt_err vt_store_ping(vt_store *s, vt_error *err)
{
    /* a store whose flush failed refuses durable writes: not ready (a balancer takes the node out) */
    pthread_mutex_lock(&s->sync_mu);
    bool broken = s->sync_broken;
    pthread_mutex_unlock(&s->sync_mu);
    if (broken) return vt_error_set(err, VT_E_IO, "store", "an earlier sync of the store failed: writes may be lost, restart");
    return store_exec(s, "SELECT 1", NULL, 0, NULL, err);
}

void vt_store_strv_free(char **v, size_t n)
{
    if (v == NULL) return;
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* Keys and names are printable text of bounded length (they end up in logs and URLs). */
vt_err store_text_ok(const char *t, size_t max, const char *what, vt_error *err)
{
    if (t == NULL || *t == 0) return vt_error_set(err, VT_E_ARG, "store", "%s is empty", what);
    size_t n = strnlen(t, max + 1);
    if (n > max) return vt_error_set(err, VT_E_ARG, "store", "%s longer than %zu bytes", what, max);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f)
            return vt_error_set(err, VT_E_ARG, "store", "%s contains a control character", what);
    return VT_OK;
}

/* ---- sessions and nonces ----
 * PostgreSQL: tables every node shares (UNLOGGED: their loss in a crash of the server is
 * harmless). SQLite (one node): a session awaiting attestation (created at /auth, no token yet)
 * and a nonce live in the process's memory (pending.c), not in the sessions file: each of a
 * round's writes to that file was a transaction of its own (whole 4 KiB WAL pages and five or six
 * fcntl locks each: ~40 pwrite and ~58 fcntl per round, issue 19), and the count of pending
 * sessions behind the limits a query. Only an attested session, which keeps its EAR token (~6
 * KB) for its lifetime, is written to the file, as one INSERT of its complete row: 150,000 live
 * sessions at 500 rounds/s and 300 s, whose tokens must not be held in RAM; that is why the file
 * exists. A lookup tries the memory first, then the file; the count, delete and the sweep cover
 * both. Their loss is harmless by design: a restart forgets every pending session and nonce, and
 * a guest whose session or challenge is gone gets a clean error and starts over with /auth (a
 * nonce that is gone can no longer be used: nothing can be replayed). The table is the handle's:
 * another process, or another handle on the same file, does not see it. A vt_store_tx_begin
 * transaction does not cover it (a rollback leaves a pending session or nonce in place).
 * Statements that move a session between memory and the file, or insert one after checking both,
 * hold the store's connection (store_grab) from the check to the write, so a reader that misses
 * the memory and then waits for the connection finds the row in the file. */

void vt_session_clear(vt_session *s)
{
    if (s == NULL) return;
    free(s->tee);
    free(s->nonce);
    free(s->request);
    if (s->token) vt_wipe(s->token, strlen(s->token));
    free(s->token);
    s->tee = s->nonce = s->request = s->token = NULL;
}

static vt_err session_check(const vt_session *x, vt_error *err)
{
    VT_GUARD(store_text_ok(x->id, VT_SESSION_ID_MAX, "session id", err));
    VT_GUARD(store_text_ok(x->tee, 64, "session tee", err));
    VT_GUARD(store_text_ok(x->nonce, VT_NONCE_MAX, "session nonce", err));
    if (x->client[0]) VT_GUARD(store_text_ok(x->client, VT_SESSION_CLIENT_MAX, "session client", err));
    if (x->request && strlen(x->request) > VT_SESSION_REQUEST_MAX)
        return vt_error_set(err, VT_E_ARG, "session", "session request longer than %d bytes", VT_SESSION_REQUEST_MAX);
    return VT_OK;
}

static const char SESSION_INSERT[] =
    "INSERT INTO sessions(id, tee, nonce, request, token, created, expires, client)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING";

/* Inside a transaction (store_tx), or as a statement of its own (SQLite's attested sessions:
 * one statement, no BEGIN and COMMIT around it). */
static vt_err session_insert_as(vt_store *s, const vt_session *x, bool own, vt_error *err)
{
    sqlval p[] = {P_TEXT(x->id), P_TEXT(x->tee), P_TEXT(x->nonce),
                  P_TEXT(x->request ? x->request : "{}"), x->token ? P_TEXT(x->token) : P_NULL,
                  P_INT(x->created), P_INT(x->expires), P_TEXT(x->client)};
    sqlres r = {0};
    VT_GUARD(own ? store_exec_volatile(s, SESSION_INSERT, p, 8, &r, err) : store_tx(s, SESSION_INSERT, p, 8, &r, err));
    uint64_t changed = r.changes;
    sqlres_free(&r);
    if (changed != 1) return vt_error_set(err, VT_E_ARG, "session", "session %s exists already", x->id);
    return VT_OK;
}

static vt_err session_insert(vt_store *s, const vt_session *x, vt_error *err)
{
    return session_insert_as(s, x, false, err);
}

/* SQLite: a session in the sessions file. Called holding the connection (store_grab). */
static vt_err file_has_session(vt_store *s, const char *id, bool *has, vt_error *err)
{
    sqlval p[] = {P_TEXT(id)};
    sqlres r = {0};
    VT_GUARD(store_exec(s, "SELECT 1 FROM sessions WHERE id = $1", p, 1, &r, err));
    *has = r.rows > 0;
    sqlres_free(&r);
    return VT_OK;
}

/* SQLite: a new session, pending (in memory) or attested (a row of the file), its id checked
 * against both; lim as pending_session_put. */
static vt_err put_sqlite(vt_store *s, const vt_session *x, const pending_limits *lim, vt_session_limit *hit,
                         vt_error *err)
{
    store_conn *c = store_grab(s);
    bool has = false;
    vt_err rc = file_has_session(s, x->id, &has, err);
    if (rc == VT_OK && has) rc = vt_error_set(err, VT_E_ARG, "session", "session %s exists already", x->id);
    if (rc == VT_OK && x->token == NULL) {
        rc = pending_session_put(s->pend, x, lim, hit, err);
    } else if (rc == VT_OK && lim == NULL) { /* attested already: to the file */
        if (pending_session_has(s->pend, x->id))
            rc = vt_error_set(err, VT_E_ARG, "session", "session %s exists already", x->id);
        else
            rc = session_insert_as(s, x, true, err);
    } else if (rc == VT_OK) { /* the same, within the limits (which count pending sessions) */
        pending_limits probe = *lim;
        probe.check_only = true;
        rc = pending_session_put(s->pend, x, &probe, hit, err);
        if (rc == VT_OK && *hit == VT_SESSION_LIMIT_NONE) rc = session_insert_as(s, x, true, err);
    }
    store_release(c);
    return rc;
}

vt_err vt_store_session_put(vt_store *s, const vt_session *x, vt_error *err)
{
    VT_GUARD(session_check(x, err));
    if (s->pend != NULL) return put_sqlite(s, x, NULL, NULL, err);
    VT_GUARD(store_begin(s, err));
    return store_end_volatile(s, session_insert(s, x, err), err);
}

/* Live sessions still waiting for their attestation (token NULL: an attested session was opened
 * by a genuine TEE, so only these can be piled up by whoever can reach /auth), in all and of one
 * client, each counted up to its limit only (the partial indexes of schema 4), both in one
 * statement (one round trip); a limit of 0 counts nothing. */
static vt_err count_live(vt_store *s, const char *client, vt_time now, uint64_t max_total, uint64_t max_client,
                         uint64_t *total, uint64_t *mine, vt_error *err)
{
    int64_t lt = max_total > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)max_total;
    int64_t lc = max_client > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)max_client;
    sqlval p[] = {P_INT(now), P_INT(lt), P_INT(lc), P_TEXT(client)};
    sqlres r = {0};
    VT_GUARD(store_tx(s,
                      "SELECT (SELECT count(*) FROM (SELECT 1 FROM sessions WHERE token IS NULL AND expires > $1 LIMIT $2) AS a), "
                      "(SELECT count(*) FROM (SELECT 1 FROM sessions WHERE token IS NULL AND expires > $1 AND client = $4 "
                      "LIMIT $3) AS b)",
                      p, 4, &r, err));
    *total = (uint64_t)sqlres_int(&r, 0, 0);
    *mine = (uint64_t)sqlres_int(&r, 0, 1);
    sqlres_free(&r);
    return VT_OK;
}

vt_err vt_store_session_put_limited(vt_store *s, const vt_session *x, uint64_t max_total, uint64_t max_per_client,
                                    vt_time now, vt_session_limit *hit, vt_error *err)
{
    *hit = VT_SESSION_LIMIT_NONE;
    VT_GUARD(session_check(x, err));
    if (s->pend != NULL) {
        pending_limits lim = {.max_total = max_total, .max_per_client = max_per_client, .now = now};
        return put_sqlite(s, x, &lim, hit, err);
    }
    VT_GUARD(store_begin(s, err));
    vt_err rc = s->drv->lock(store_tx_conn(s), "sessions", err);
    uint64_t total = 0, mine = 0;
    if (rc == VT_OK && (max_total > 0 || max_per_client > 0) &&
        (rc = count_live(s, x->client, now, max_total, max_per_client, &total, &mine, err)) == VT_OK) {
        if (max_total > 0 && total >= max_total) *hit = VT_SESSION_LIMIT_TOTAL;
        else if (max_per_client > 0 && mine >= max_per_client) *hit = VT_SESSION_LIMIT_CLIENT;
    }
    if (rc == VT_OK && !*hit) rc = session_insert(s, x, err);
    return store_end_volatile(s, rc, err);
}

static char *dup_cell(const sqlres *r, size_t col)
{
    const char *v = sqlres_get(r, 0, col);
    return v ? strdup(v) : NULL;
}

vt_err vt_store_session_get(vt_store *s, const char *id, vt_time now, vt_session *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    VT_GUARD(store_text_ok(id, VT_SESSION_ID_MAX, "session id", err));
    if (s->pend != NULL) { /* a pending session, else an attested one in the file */
        pending_found f;
        VT_GUARD(pending_session_get(s->pend, id, now, false, &f, out, err));
        if (f == PENDING_LIVE) return VT_OK;
        if (f == PENDING_EXPIRED) return vt_error_set(err, VT_E_EXPIRED, "session", "session %s expired", id);
    }
    sqlval p[] = {P_TEXT(id)};
    sqlres r = {0};
    VT_GUARD(store_exec(s, "SELECT tee, nonce, request, token, created, expires, client FROM sessions WHERE id = $1",
                        p, 1, &r, err));
    vt_err rc = VT_OK;
    if (r.rows == 0) {
        rc = vt_error_set(err, VT_E_MISSING, "session", "no session %s", id);
    } else if (sqlres_int(&r, 0, 5) <= now) {
        /* Lazy expiry (§9): an expired session is removed when touched. */
        store_exec_volatile(s, "DELETE FROM sessions WHERE id = $1", p, 1, NULL, NULL);
        rc = vt_error_set(err, VT_E_EXPIRED, "session", "session %s expired", id);
    } else {
        strcpy(out->id, id);
        out->tee = dup_cell(&r, 0);
        out->nonce = dup_cell(&r, 1);
        out->request = dup_cell(&r, 2);
        out->token = dup_cell(&r, 3);
        out->created = sqlres_int(&r, 0, 4);
        out->expires = sqlres_int(&r, 0, 5);
        snprintf(out->client, sizeof out->client, "%s", sqlres_get(&r, 0, 6) ? sqlres_get(&r, 0, 6) : "");
        if (!out->tee || !out->nonce || !out->request || (sqlres_get(&r, 0, 3) && !out->token)) {
            vt_session_clear(out);
            rc = vt_error_set(err, VT_E_NOMEM, "session", "out of memory");
        }
    }
    sqlres_free(&r);
    return rc;
}

/* A session of the file: a second token, PostgreSQL's sessions. */
static vt_err set_token_file(vt_store *s, const char *id, const char *token, vt_time now, vt_error *err)
{
    sqlval p[] = {P_TEXT(token), P_TEXT(id), P_INT(now)};
    sqlres r = {0};
    VT_GUARD(store_exec_volatile(s, "UPDATE sessions SET token = $1 WHERE id = $2 AND expires > $3", p, 3, &r, err));
    uint64_t changed = r.changes;
    sqlres_free(&r);
    if (changed != 1) return vt_error_set(err, VT_E_MISSING, "session", "no live session %s", id);
    return VT_OK;
}

vt_err vt_store_session_set_token(vt_store *s, const char *id, const char *token, vt_time now,
                                  vt_error *err)
{
    VT_GUARD(store_text_ok(id, VT_SESSION_ID_MAX, "session id", err));
    if (s->pend == NULL) return set_token_file(s, id, token, now, err);
    store_conn *c = store_grab(s);
    pending_found f;
    vt_session x;
    vt_err rc = pending_session_get(s->pend, id, now, true, &f, &x, err);
    if (rc == VT_OK && f == PENDING_LIVE) {
        /* attested: the complete row goes to the file, in one INSERT */
        x.token = (char *)token;
        rc = session_insert_as(s, &x, true, err);
        if (rc != VT_OK) {
            vt_error ignore; /* still pending; no other insert can run, the connection is ours */
            x.token = NULL;
            (void)pending_session_put(s->pend, &x, NULL, NULL, &ignore);
        }
        x.token = NULL;
        vt_session_clear(&x);
    } else if (rc == VT_OK && f == PENDING_EXPIRED) {
        rc = vt_error_set(err, VT_E_MISSING, "session", "no live session %s", id);
    } else if (rc == VT_OK) {
        rc = set_token_file(s, id, token, now, err);
    }
    store_release(c);
    return rc;
}

vt_err vt_store_session_delete(vt_store *s, const char *id, vt_error *err)
{
    VT_GUARD(store_text_ok(id, VT_SESSION_ID_MAX, "session id", err));
    sqlval p[] = {P_TEXT(id)};
    if (s->pend == NULL) return store_exec_volatile(s, "DELETE FROM sessions WHERE id = $1", p, 1, NULL, err);
    store_conn *c = store_grab(s); /* not in the middle of a move to the file */
    vt_err rc = pending_session_delete(s->pend, id) ? VT_OK
                                                    : store_exec_volatile(s, "DELETE FROM sessions WHERE id = $1", p, 1, NULL, err);
    store_release(c);
    return rc;
}

vt_err vt_store_session_count(vt_store *s, vt_time now, uint64_t *out, vt_error *err)
{
    sqlval p[] = {P_INT(now)};
    sqlres r = {0};
    /* SQLite: both parts under the connection, so that a session moving to the file counts once */
    store_conn *c = s->pend != NULL ? store_grab(s) : NULL;
    uint64_t pending = s->pend != NULL ? pending_session_count(s->pend, now) : 0;
    vt_err rc = store_exec(s, "SELECT count(*) FROM sessions WHERE expires > $1", p, 1, &r, err);
    if (c != NULL) store_release(c);
    if (rc == VT_OK) *out = pending + (uint64_t)sqlres_int(&r, 0, 0);
    sqlres_free(&r);
    return rc;
}

/* Rows deleted by one transaction of the sweep. A busy broker expires its request rate times
 * the session lifetime of sessions and nonces between two sweeps (30,000 of each a minute at
 * 500 rounds/s); deleted in one transaction, and their pages reclaimed at once, they held the
 * store's lock for seconds, and every request queued behind it (a 600 s soak at 500 rounds/s:
 * p50 3.3 s, p99 46 s once the first sessions expired). In batches, requests interleave; a
 * batch of 256 sessions still held the connection 4 ms (median) to 15 ms, 64 a few (each row's
 * ~6 KB token is overwritten as it goes: secure_delete), and a minute of 650 rounds/s whose sweep
 * deleted 39,000 of them still had a p99 of 12.4 ms; batches of 16 kept it at 5.0 ms (the same
 * soak with a 60 s session lifetime: per-minute p99 2.9-12.4 ms -> 3.3-5.0 ms). */
#define SWEEP_BATCH 16

vt_err vt_store_sweep(vt_store *s, vt_time now, uint64_t *removed, vt_error *err)
{
    static const char *const sql[] = {
        "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires <= $1 LIMIT $2)",
        "DELETE FROM nonces WHERE nonce IN (SELECT nonce FROM nonces WHERE expires <= $1 LIMIT $2)",
        "DELETE FROM admin_jti WHERE jti IN (SELECT jti FROM admin_jti WHERE expires <= $1 LIMIT $2)",
    };
    sqlval p[] = {P_INT(now), P_INT(SWEEP_BATCH)};
    uint64_t in_memory = s->pend != NULL ? pending_sweep(s->pend, now) : 0, total = 0;
    vt_err rc = VT_OK;
    for (size_t i = 0; i < 3 && rc == VT_OK; i++) {
        uint64_t n;
        do {
            sqlres r = {0};
            VT_GUARD(store_begin(s, err));
            rc = store_tx(s, sql[i], p, 2, &r, err);
            n = r.changes;
            sqlres_free(&r);
            rc = store_end_volatile(s, rc, err);
            total += rc == VT_OK ? n : 0;
            if (rc == VT_OK && n == SWEEP_BATCH) {
                /* a mutex does not queue its waiters: taking the connection again at once, the
                 * sweep kept it for its whole pass (p99 460 ms in the minute 30,000 sessions
                 * first expired at 500 rounds/s); a millisecond between batches lets requests in */
                struct timespec ms = {0, 1000000};
                nanosleep(&ms, NULL);
            }
        } while (rc == VT_OK && n == SWEEP_BATCH);
    }
    /* SQLite: the database file's free pages back to the file system (admin token ids; the
     * volatile file of sessions and nonces keeps its pages for the next rows) */
    if (rc == VT_OK && total > 0 && s->drv->reclaim != NULL) {
        store_conn *c = store_grab(s);
        rc = s->drv->reclaim(c->conn, err);
        store_release(c);
    }
    if (rc == VT_OK && removed) *removed = in_memory + total;
    return rc;
}

/* ---- nonces ---- */

vt_err vt_store_nonce_put(vt_store *s, const char *nonce, vt_time expires, vt_error *err)
{
    VT_GUARD(store_text_ok(nonce, VT_NONCE_MAX, "nonce", err));
    if (s->pend != NULL) return pending_nonce_put(s->pend, nonce, expires, err);
    sqlval p[] = {P_TEXT(nonce), P_INT(expires)};
    sqlres r = {0};
    VT_GUARD(store_exec_volatile(s, "INSERT INTO nonces(nonce, expires) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING",
                        p, 2, &r, err));
    uint64_t changed = r.changes;
    sqlres_free(&r);
    if (changed != 1) return vt_error_set(err, VT_E_ARG, "nonce", "nonce exists already");
    return VT_OK;
}

vt_err vt_store_nonce_consume(vt_store *s, const char *nonce, vt_time now, vt_error *err)
{
    VT_GUARD(store_text_ok(nonce, VT_NONCE_MAX, "nonce", err));
    if (s->pend != NULL) return pending_nonce_consume(s->pend, nonce, now, err);
    sqlval p[] = {P_TEXT(nonce)};
    sqlres r = {0};
    /* One DELETE ... RETURNING: the row goes to exactly one caller on every backend. */
    VT_GUARD(store_exec_volatile(s, "DELETE FROM nonces WHERE nonce = $1 RETURNING expires", p, 1, &r, err));
    vt_err rc = VT_OK;
    if (r.rows != 1)
        rc = vt_error_set(err, VT_E_VERIFY, "nonce", "nonce unknown or already used (replay)");
    else if (sqlres_int(&r, 0, 0) <= now)
        rc = vt_error_set(err, VT_E_EXPIRED, "nonce", "nonce expired");
    sqlres_free(&r);
    return rc;
}

/* ---- admin token ids ---- */

vt_err vt_store_jti_use(vt_store *s, const char *jti, vt_time expires, vt_time now, vt_error *err)
{
    VT_GUARD(store_text_ok(jti, VT_NONCE_MAX, "token id", err));
    sqlval p[] = {P_TEXT(jti), P_INT(expires)}, q[] = {P_TEXT(jti), P_INT(now)};
    VT_GUARD(store_begin(s, err));
    /* A stale record of the same id may be replaced; a live one means a replay. */
    vt_err rc = store_tx(s, "DELETE FROM admin_jti WHERE jti = $1 AND expires <= $2", q, 2, NULL, err);
    sqlres r = {0};
    if (rc == VT_OK)
        rc = store_tx(s, "INSERT INTO admin_jti(jti, expires) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
                      p, 2, &r, err);
    if (rc == VT_OK && r.changes != 1)
        rc = vt_error_set(err, VT_E_VERIFY, "admin_token", "admin token id %s was already used (replay)", jti);
    sqlres_free(&r);
    return store_end(s, rc, err);
}
