/* Store internals (sql.h): the storage logic is written once over a small SQL driver vtable (one
 * per backend: SQLite, PostgreSQL via dlopen()ed libpq). Not a public header. */
#ifndef VT_STORE_INTERNAL_H
#define VT_STORE_INTERNAL_H

#include <pthread.h>

#include "pending.h"
#include "veritee/store.h"

typedef enum sql_type { SQL_NULL = 0, SQL_TEXT, SQL_INT, SQL_BLOB } sql_type;

/* A bound parameter. Placeholders are written $1, $2, ... for both backends. */
typedef struct sqlval {
    sql_type type;
    int64_t i;
    const char *s;    /* SQL_TEXT, NUL-terminated */
    const uint8_t *b; /* SQL_BLOB */
    size_t n;
} sqlval;

#define P_TEXT(x) ((sqlval){.type = SQL_TEXT, .s = (x)})
#define P_INT(x) ((sqlval){.type = SQL_INT, .i = (int64_t)(x)})
#define P_BLOB(p, len) ((sqlval){.type = SQL_BLOB, .b = (p), .n = (len)})
#define P_NULL ((sqlval){.type = SQL_NULL})

/* A result set copied out of the driver: rows*cols cells, NULL cell = SQL NULL; each cell
 * is NUL-terminated (blobs too, the NUL not counted in len). */
typedef struct sqlres {
    size_t rows, cols;
    char **cell;
    size_t *len;
    uint64_t changes; /* rows changed by an INSERT/UPDATE/DELETE */
} sqlres;

void sqlres_free(sqlres *r);
const char *sqlres_get(const sqlres *r, size_t row, size_t col);
int64_t sqlres_int(const sqlres *r, size_t row, size_t col);

typedef enum sql_dialect { DIALECT_SQLITE = 1, DIALECT_PG = 2 } sql_dialect;

typedef struct sqldrv {
    const char *name;
    sql_dialect dialect;
    void (*close)(void *conn);
    /* Runs a script of statements without parameters (migrations). */
    vt_err (*script)(void *conn, const char *sql, vt_error *err);
    /* Runs one statement; res may be NULL when no rows are wanted. */
    vt_err (*exec)(void *conn, const char *sql, const sqlval *p, size_t np, sqlres *res,
                   vt_error *err);
    /* Write transaction: SQLite BEGIN IMMEDIATE (serializes writers), PostgreSQL BEGIN. */
    vt_err (*begin)(void *conn, vt_error *err);
    vt_err (*commit)(void *conn, vt_error *err);
    void (*rollback)(void *conn);
    /* Serializes writers of one named thing until the transaction ends (PostgreSQL: an
     * advisory transaction lock; SQLite: nothing, BEGIN IMMEDIATE already did it). */
    vt_err (*lock)(void *conn, const char *what, vt_error *err);
    /* Returns space freed by deleted rows to the file system, outside a transaction (SQLite:
     * PRAGMA incremental_vacuum; PostgreSQL: NULL, autovacuum does it). */
    vt_err (*reclaim)(void *conn, vt_error *err);
    /* Makes every commit written so far durable, called WITHOUT the handle lock while other
     * threads use the connection (SQLite: fdatasync of the WAL; NULL: each commit already
     * is durable, as PostgreSQL's are). */
    vt_err (*sync)(void *conn, vt_error *err);
    /* Run inside a transaction just before its commit to let the commit return without waiting
     * for the disk (PostgreSQL: SET LOCAL synchronous_commit TO OFF); NULL: the driver's
     * commits never wait (SQLite's, made durable by sync). */
    const char *defer_sql;
    /* Re-establishes an idle connection after one of the pool found the server unreachable;
     * true when it answers again; NULL: none. */
    bool (*refresh)(void *conn);
} sqldrv;

/* One connection of a handle, used by one thread at a time. */
typedef struct store_conn {
    void *conn;
    pthread_mutex_t mu; /* held by the thread using the connection; recursive, so that the
                           thread holding a vt_store_tx_begin transaction runs its operations
                           inside it */
    unsigned tx_depth;  /* 0: no transaction; >1: nested store_begin calls are savepoints */
    unsigned gen;       /* the pool's drop count when this connection was last known good */
} store_conn;

struct vt_store {
    const sqldrv *drv;
    /* The connections: SQLite one (a single writer at a time, and the group commit flushes its
     * WAL); PostgreSQL vt_store_opts.pool, so that one node's requests do not queue behind one
     * connection's round trips. A statement takes a free one; a transaction keeps its own until
     * it ends (the thread's, in `held`). */
    store_conn *pool;
    size_t npool;       /* connected */
    size_t nalloc;      /* slots (their mutexes initialised) */
    unsigned drops;     /* connections found dropped so far (atomic): the others reconnect */
    pthread_key_t held; /* the store_conn this thread holds a transaction on */
    bool has_key;
    const vt_kek *kek;
    /* Group commit (drv->sync): commits are numbered under mu; a durable write returns only
     * when a sync begun after its commit has finished; one sync serves every commit before it. */
    pthread_mutex_t sync_mu;
    pthread_cond_t sync_cv;
    uint64_t committed;  /* commits written (incremented under the connection's mu, read atomically) */
    uint64_t synced;     /* commits known durable (under sync_mu) */
    bool syncing;        /* a thread is in drv->sync (under sync_mu) */
    bool sync_broken;    /* a sync failed: what it covered may be lost; every durable write fails from then on */
    uint64_t syncs;      /* drv->sync calls made (for tests and the bench) */
    /* SQLite: the sessions awaiting attestation and the nonces, in memory (store.c, "sessions
     * and nonces"); NULL on PostgreSQL, where every node must see them */
    store_pending *pend;
};

vt_err store_sqlite_connect(const char *path, int busy_ms, bool create, const sqldrv **drv, void **conn,
                            vt_error *err);
/* Checkpoints run by the SQLite connection's checkpoint thread so far (tests). */
uint64_t store_sqlite_checkpoints(void *conn);
vt_err store_pg_connect(const char *url, int busy_ms, const sqldrv **drv, void **conn,
                        vt_error *err);
vt_err store_migrate(vt_store *s, vt_error *err);
/* An existing store's schema is there and current (no migration, nothing created). */
vt_err store_check_schema(vt_store *s, const char *url, vt_error *err);

/* One statement outside a transaction, under the handle lock; a write (any statement but a
 * SELECT) is durable when it returns. */
vt_err store_exec(vt_store *s, const char *sql, const sqlval *p, size_t np, sqlres *res,
                  vt_error *err);
/* The same for state whose loss is harmless (sessions, nonces, expiry sweeps): committed
 * without waiting for the disk; it becomes durable with the next durable write. */
vt_err store_exec_volatile(vt_store *s, const char *sql, const sqlval *p, size_t np, sqlres *res,
                           vt_error *err);
/* A write transaction: store_begin takes the handle lock and begins; statements inside run
 * with store_tx; store_end commits when rc == VT_OK (else rolls back), unlocks, returns the
 * first failure. Inside a transaction already open on this thread (vt_store_tx_begin), they
 * open and release (or roll back to) a savepoint instead. */
vt_err store_begin(vt_store *s, vt_error *err);
vt_err store_tx(vt_store *s, const char *sql, const sqlval *p, size_t np, sqlres *res, vt_error *err);
vt_err store_end(vt_store *s, vt_err rc, vt_error *err);
/* store_end for a transaction of volatile state (see store_exec_volatile). */
vt_err store_end_volatile(vt_store *s, vt_err rc, vt_error *err);
/* The connection of this thread's transaction (between store_begin and store_end), for the
 * driver calls the statements above do not cover (drv->lock); NULL outside one. */
void *store_tx_conn(vt_store *s);
/* A free connection, locked (the thread's own while it holds a transaction); and its release. */
store_conn *store_grab(vt_store *s);
void store_release(store_conn *c);

/* Non-empty printable text of at most max bytes (no control characters). */
vt_err store_text_ok(const char *t, size_t max, const char *what, vt_error *err);

/* Sealing of resource values under the KEK (kek.c). AAD binds path and version. */
vt_err store_seal(const vt_kek *k, const char *path, int64_t version, const uint8_t *p, size_t n,
                  vt_buf *out, vt_error *err);
vt_err store_open_sealed(const vt_kek *k, const char *path, int64_t version, const uint8_t *blob,
                         size_t n, vt_buf *out, vt_error *err);

#endif
