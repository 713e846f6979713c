/* Statements and write transactions under the handle lock, and the result sets copied out of
 * a SQL driver (sql.h): what the drivers fill and the store logic reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"
#include "veritee/crypto.h"

void sqlres_free(sqlres *r)
{
    if (r == NULL) return;
    for (size_t i = 0; i < r->rows * r->cols; i++) {
        if (r->cell[i]) {
            vt_wipe(r->cell[i], r->len[i]); /* cells may hold sealed values or tokens */
            free(r->cell[i]);
        }
    }
    free(r->cell);
    free(r->len);
    memset(r, 0, sizeof *r);
}

const char *sqlres_get(const sqlres *r, size_t row, size_t col)
{
    return row < r->rows && col < r->cols ? r->cell[row * r->cols + col] : NULL;
}

int64_t sqlres_int(const sqlres *r, size_t row, size_t col)
{
    const char *v = sqlres_get(r, row, col);
    return v ? strtoll(v, NULL, 10) : 0;
}

/* Waits until commit number `upto` is durable: the first waiter syncs for everyone committed
 * so far; the others wait for it (and sync again if their commit came after it began). */
static vt_err sync_upto(vt_store *s, uint64_t upto, vt_error *err)
{
    pthread_mutex_lock(&s->sync_mu);
    vt_err rc = VT_OK;
    for (;;) {
        if (s->sync_broken) {
            rc = vt_error_set(err, VT_E_IO, "store", "an earlier sync of the store failed: writes may be lost, restart");
            break;
        }
        if (s->synced >= upto) break;
        if (s->syncing) {
            pthread_cond_wait(&s->sync_cv, &s->sync_mu);
            continue;
        }
        s->syncing = true;
        pthread_mutex_unlock(&s->sync_mu);
        uint64_t goal = __atomic_load_n(&s->committed, __ATOMIC_ACQUIRE); /* every commit numbered so far is in the file */
        vt_error e2 = {0};
        vt_err src = s->drv->sync(s->pool[0].conn, &e2); /* SQLite: its one connection */
        pthread_mutex_lock(&s->sync_mu);
        s->syncing = false;
        s->syncs++;
        if (src != VT_OK) {
            s->sync_broken = true;
            if (err) *err = e2;
            rc = src;
            pthread_cond_broadcast(&s->sync_cv);
            break;
        }
        if (goal > s->synced) s->synced = goal;
        pthread_cond_broadcast(&s->sync_cv);
    }
    pthread_mutex_unlock(&s->sync_mu);
    return rc;
}

/* Called under the connection's lock right after a durable commit; returns its number (0:
 * nothing to wait for). */
static uint64_t committed_locked(vt_store *s)
{
    return s->drv->sync != NULL ? __atomic_add_fetch(&s->committed, 1, __ATOMIC_ACQ_REL) : 0;
}

/* An idle connection of a pool that saw a connection dropped since this one was last known good
 * reconnects before use: after a server restart every connection is gone, and each would
 * otherwise fail one request of its own to find out. */
static store_conn *fresh(vt_store *s, store_conn *c)
{
    unsigned d = __atomic_load_n(&s->drops, __ATOMIC_ACQUIRE);
    if (c->gen != d && c->tx_depth == 0 && s->drv->refresh != NULL && s->drv->refresh(c->conn))
        c->gen = d; /* else it tries again at its next use */
    return c;
}

store_conn *store_grab(vt_store *s)
{
    store_conn *mine = pthread_getspecific(s->held);
    if (mine != NULL) { /* inside this thread's transaction */
        pthread_mutex_lock(&mine->mu);
        return mine;
    }
    /* each thread starts at a connection of its own: a guest's requests keep to one PostgreSQL
     * backend (warm caches, one process) unless it is busy; spreading every statement over the
     * pool raised PostgreSQL's CPU per round from 1.25 to 1.45-1.65 ms */
    uint64_t h = (uint64_t)(uintptr_t)pthread_self() * 0x9e3779b97f4a7c15u;
    size_t start = (size_t)(h >> 32) % s->npool;
    for (size_t i = 0; i < s->npool; i++) {
        store_conn *c = &s->pool[(start + i) % s->npool];
        if (pthread_mutex_trylock(&c->mu) == 0) return fresh(s, c);
    }
    pthread_mutex_lock(&s->pool[start].mu); /* all busy: wait for one */
    return fresh(s, &s->pool[start]);
}

/* After a failed driver call: a connection that found the server unreachable (VT_E_IO: dropped,
 * shutting down, starting up) has every connection of the pool, itself included, reconnect
 * before its next use outside a transaction. */
static void note_failure(vt_store *s, vt_err rc)
{
    if (s->npool > 1 && rc == VT_E_IO) __atomic_add_fetch(&s->drops, 1, __ATOMIC_ACQ_REL);
}

void store_release(store_conn *c)
{
    pthread_mutex_unlock(&c->mu);
}

void *store_tx_conn(vt_store *s)
{
    store_conn *c = pthread_getspecific(s->held);
    return c != NULL ? c->conn : NULL;
}

static vt_err exec_one(vt_store *s, const char *sql, const sqlval *p, size_t np, sqlres *res, bool durable,
                       vt_error *err)
{
    store_conn *c = store_grab(s);
    vt_err rc = s->drv->exec(c->conn, sql, p, np, res, err);
    if (rc != VT_OK) note_failure(s, rc);
    /* a read outside a transaction that found its connection dropped runs again on it once
     * reconnected (a read changes nothing, so running it twice is safe) */
    bool read = strncmp(sql, "SELECT", 6) == 0;
    if (rc == VT_E_IO && read && c->tx_depth == 0 && s->drv->refresh != NULL && s->drv->refresh(c->conn))
        rc = s->drv->exec(c->conn, sql, p, np, res, err);
    /* a write in autocommit mode is a commit; inside a vt_store_tx_begin transaction the
     * outermost store_end waits for it */
    uint64_t mine = rc == VT_OK && durable && c->tx_depth == 0 && !read ? committed_locked(s) : 0;
    store_release(c);
    if (mine != 0) rc = sync_upto(s, mine, err);
    return rc;
}

vt_err store_exec(vt_store *s, const char *sql, const sqlval *p, size_t np, sqlres *res,
                  vt_error *err)
{
    return exec_one(s, sql, p, np, res, true, err);
}

vt_err store_exec_volatile(vt_store *s, const char *sql, const sqlval *p, size_t np, sqlres *res,
                           vt_error *err)
{
    return exec_one(s, sql, p, np, res, false, err);
}

static vt_err savepoint(vt_store *s, store_conn *c, const char *verb, vt_error *err)
{
    char sql[64];
    snprintf(sql, sizeof sql, "%s vt_sp%u", verb, c->tx_depth);
    return s->drv->script(c->conn, sql, err);
}

vt_err store_begin(vt_store *s, vt_error *err)
{
    store_conn *c = store_grab(s);
    if (c->tx_depth > 0) { /* inside this thread's transaction: a savepoint */
        c->tx_depth++;
        vt_err rc = savepoint(s, c, "SAVEPOINT", err);
        if (rc != VT_OK) {
            c->tx_depth--;
            store_release(c);
        }
        return rc;
    }
    vt_err rc = s->drv->begin(c->conn, err);
    if (rc != VT_OK) {
        note_failure(s, rc);
        s->drv->rollback(c->conn);
        store_release(c);
        return rc;
    }
    c->tx_depth = 1;
    pthread_setspecific(s->held, c);
    return VT_OK;
}

vt_err store_tx(vt_store *s, const char *sql, const sqlval *p, size_t np, sqlres *res, vt_error *err)
{
    store_conn *c = pthread_getspecific(s->held);
    if (c == NULL) return vt_error_set(err, VT_E_INTERNAL, "store", "statement outside a transaction");
    return s->drv->exec(c->conn, sql, p, np, res, err);
}

/* How a transaction's commit is ended: waited for until durable (the default), committed without
 * waiting (state whose loss is harmless), or deferred (durable with the next durable commit). */
typedef enum end_kind { END_DURABLE, END_VOLATILE, END_DEFERRED } end_kind;

static vt_err end_tx(vt_store *s, vt_err rc, end_kind kind, vt_error *err)
{
    store_conn *c = pthread_getspecific(s->held);
    if (c == NULL) return vt_error_set(err, VT_E_ARG, "store", "no transaction to end");
    if (c->tx_depth > 1) {
        if (rc == VT_OK) rc = savepoint(s, c, "RELEASE SAVEPOINT", err);
        if (rc != VT_OK) {
            vt_error ignore;
            savepoint(s, c, "ROLLBACK TO SAVEPOINT", &ignore);
            savepoint(s, c, "RELEASE SAVEPOINT", &ignore);
        }
        c->tx_depth--;
        store_release(c);
        return rc;
    }
    if (rc == VT_OK && kind == END_DEFERRED && s->drv->defer_sql != NULL)
        rc = s->drv->exec(c->conn, s->drv->defer_sql, NULL, 0, NULL, err);
    if (rc == VT_OK) rc = s->drv->commit(c->conn, err);
    if (rc != VT_OK) {
        note_failure(s, rc);
        s->drv->rollback(c->conn);
    }
    c->tx_depth = 0;
    pthread_setspecific(s->held, NULL);
    uint64_t mine = rc == VT_OK && kind == END_DURABLE ? committed_locked(s) : 0;
    store_release(c);
    if (mine != 0) rc = sync_upto(s, mine, err);
    return rc;
}

vt_err store_end(vt_store *s, vt_err rc, vt_error *err)
{
    return end_tx(s, rc, END_DURABLE, err);
}

vt_err store_end_volatile(vt_store *s, vt_err rc, vt_error *err)
{
    return end_tx(s, rc, END_VOLATILE, err);
}

uint64_t vt_store_flushes(vt_store *s)
{
    pthread_mutex_lock(&s->sync_mu);
    uint64_t n = s->syncs;
    pthread_mutex_unlock(&s->sync_mu);
    return n;
}

vt_err vt_store_tx_begin(vt_store *s, vt_error *err)
{
    return store_begin(s, err);
}

vt_err vt_store_tx_end(vt_store *s, vt_err rc, vt_error *err)
{
    return end_tx(s, rc, END_DURABLE, err);
}

vt_err vt_store_tx_end_deferred(vt_store *s, vt_err rc, vt_error *err)
{
    return end_tx(s, rc, END_DEFERRED, err);
}
