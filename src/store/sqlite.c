/* SQLite backend driver: one file, WAL journal, busy timeout; writers serialized by
 * BEGIN IMMEDIATE. Attested sessions live in a second file beside it (attach_volatile; pending
 * sessions and nonces in memory, store.c). Placeholders $N are rewritten to SQLite's positional ?N. A commit writes
 * the WAL without waiting for the disk (synchronous=NORMAL); what must be durable is made so
 * by lite_sync, one fdatasync of the WAL for every commit written before it (group commit,
 * sql.c), called without holding the connection. libsqlite3 is loaded with dlopen() when a store
 * is opened (lite_api), as libpq is: most `veritee` processes (a one-shot verify) never open a
 * store, and linking it cost each of them the library, libm and their relocations at start. */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sql.h"

/* The SQLite entry points the store uses, found with dlsym() in the connection's own handle
 * (no table shared between connections: each open loads its own, each close drops it);
 * sqlite3.h is included for the types and constants only, and gives each pointer its type. */
#define LITE_FNS(X)                                                                                     \
    X(open_v2) X(close_v2) X(errmsg) X(errstr) X(errcode) X(exec) X(prepare_v2) X(prepare_v3)          \
    X(finalize) X(reset) X(clear_bindings) X(step) X(bind_text) X(bind_int64) X(bind_blob64)          \
    X(bind_null) X(column_count) X(column_type) X(column_blob) X(column_text) X(column_bytes)          \
    X(column_int) X(changes64) X(get_autocommit) X(busy_timeout) X(extended_result_codes)             \
    X(wal_checkpoint_v2) X(wal_hook)

typedef struct lite_api {
    void *lib;
#define LITE_MEMBER(f) __typeof__(&sqlite3_##f) f;
    LITE_FNS(LITE_MEMBER)
#undef LITE_MEMBER
} lite_api;

#define LITE_LIB "libsqlite3.so.0"

static vt_err lite_load(lite_api *a, vt_error *err)
{
    /* NODELETE, as for libpq: SQLite keeps process-wide state (its initialization, mutexes, the
     * unix VFS's table of open files) that unloading would drop under another connection's open
     * of the same library; a later open then finds it mapped (no reload). */
    a->lib = dlopen(LITE_LIB, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (a->lib == NULL) {
        const char *why = dlerror();
        return vt_error_set(err, VT_E_IO, "store", "cannot load " LITE_LIB ": %s (install libsqlite3-0)",
                            why ? why : "not found");
    }
    struct { void **fn; const char *name; } t[] = {
#define LITE_SYM(f) {(void **)&a->f, "sqlite3_" #f},
        LITE_FNS(LITE_SYM)
#undef LITE_SYM
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        *t[i].fn = dlsym(a->lib, t[i].name);
        if (*t[i].fn == NULL) {
            dlclose(a->lib);
            a->lib = NULL;
            return vt_error_set(err, VT_E_IO, "store", "cannot load " LITE_LIB ": it lacks %s (SQLite 3.37 or later needed)",
                                t[i].name);
        }
    }
    return VT_OK;
}

/* The connection, and the WAL file descriptor lite_sync flushes (its own lock: it runs while
 * other threads use the connection). */
/* Prepared statements kept across calls, keyed by the SQL text's address (the store's
 * statements are constants) and checked against a copy of the text: parsing and planning a
 * statement costs more than running it. */
#define STMT_CACHE 64

typedef struct stmt_slot {
    const char *key; /* the caller's pointer */
    char *sql;       /* copy of the text, compared before reuse */
    sqlite3_stmt *st;
} stmt_slot;

/* ---- checkpoints beside the requests ----
 * SQLite checkpoints a WAL (copies its pages into the database file and, with synchronous=NORMAL,
 * flushes both) in the commit that takes it past wal_autocheckpoint pages: under the store's
 * lock, so every request queued behind it (10-27 ms each, several times a second at 500 rounds/s).
 * Here a thread of the connection's own runs them on a second connection (a PASSIVE checkpoint
 * runs beside the writer and the readers), woken by the commit hook once a WAL passes CKPT_PAGES
 * (or every second); a WAL that reaches CKPT_BACKSTOP pages all the same (the thread is behind)
 * is checkpointed by the commit as before. */
#define CKPT_PAGES 1000
#define CKPT_BACKSTOP 16000

typedef struct lite_ckpt {
    const lite_api *api; /* the connection's */
    sqlite3 *db; /* its own connection: the database, with the sessions file attached */
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool wake, stop, running;
    uint64_t done; /* checkpoints the thread ran (atomic) */
} lite_ckpt;

typedef struct lite_conn {
    lite_api api; /* its libsqlite3 handle: dlclose()d by lite_close */
    sqlite3 *db;
    lite_ckpt ck;
    stmt_slot cache[STMT_CACHE];
    char *wal_path; /* NULL: no WAL file to flush (in-memory or URI databases keep synchronous=FULL) */
    pthread_mutex_t fd_mu;
    int wal_fd;
    char *dir_path; /* synced once after the WAL file is first opened (its directory entry) */
} lite_conn;

static vt_err lite_fail(const lite_api *api, sqlite3 *db, int rc, const char *what, vt_error *err)
{
    int code = (rc == SQLITE_BUSY || rc == SQLITE_LOCKED || rc == SQLITE_IOERR ||
                rc == SQLITE_CANTOPEN || rc == SQLITE_FULL || rc == SQLITE_READONLY)
                   ? VT_E_IO
                   : VT_E_INTERNAL;
    return vt_error_set(err, code, "store", "sqlite %s: %s", what,
                        db ? api->errmsg(db) : api->errstr(rc));
}

static void ckpt_stop(lite_ckpt *k)
{
    const lite_api *api = k->api;
    if (k->running) {
        pthread_mutex_lock(&k->mu);
        k->stop = true;
        pthread_cond_signal(&k->cv);
        pthread_mutex_unlock(&k->mu);
        pthread_join(k->th, NULL);
        k->running = false;
        pthread_mutex_destroy(&k->mu);
        pthread_cond_destroy(&k->cv);
    }
    if (k->db != NULL) api->close_v2(k->db);
    k->db = NULL;
}

static void lite_close(void *conn)
{
    lite_conn *c = conn;
    if (c == NULL) return;
    const lite_api *api = &c->api;
    if (api->lib != NULL) {
        ckpt_stop(&c->ck);
        for (size_t i = 0; i < STMT_CACHE; i++) {
            api->finalize(c->cache[i].st);
            free(c->cache[i].sql);
        }
        api->close_v2(c->db);
        dlclose(api->lib);
    }
    if (c->wal_fd >= 0) close(c->wal_fd);
    pthread_mutex_destroy(&c->fd_mu);
    free(c->wal_path);
    free(c->dir_path);
    free(c);
}

static vt_err db_script(const lite_api *api, sqlite3 *db, const char *sql, vt_error *err)
{
    int rc = api->exec(db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? VT_OK : lite_fail(api, db, rc, "script", err);
}

static vt_err lite_script(void *conn, const char *sql, vt_error *err)
{
    lite_conn *c = conn;
    return db_script(&c->api, c->db, sql, err);
}

static vt_err sync_dir(const char *dir, vt_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        return vt_error_set(err, VT_E_IO, "store", "cannot sync directory %s: %s", dir, strerror(e));
    }
    close(fd);
    return VT_OK;
}

/* Makes every commit written so far durable: fdatasync of the WAL file (the same inode SQLite
 * writes; reopened if it was replaced). The database file itself is synced by SQLite's
 * checkpoints before WAL frames are overwritten. */
static vt_err lite_sync(void *conn, vt_error *err)
{
    lite_conn *c = conn;
    if (c->wal_path == NULL) return VT_OK;
    pthread_mutex_lock(&c->fd_mu);
    vt_err rc = VT_OK;
    struct stat a, b;
    if (c->wal_fd >= 0 && (fstat(c->wal_fd, &a) != 0 || stat(c->wal_path, &b) != 0 || a.st_ino != b.st_ino ||
                           a.st_dev != b.st_dev)) {
        close(c->wal_fd);
        c->wal_fd = -1;
    }
    bool fresh = false;
    if (c->wal_fd < 0) {
        c->wal_fd = open(c->wal_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (c->wal_fd < 0) {
            rc = vt_error_set(err, VT_E_IO, "store", "cannot open %s to sync it: %s", c->wal_path, strerror(errno));
            goto out;
        }
        fresh = true;
    }
    if (fdatasync(c->wal_fd) != 0) {
        rc = vt_error_set(err, VT_E_IO, "store", "fdatasync %s: %s", c->wal_path, strerror(errno));
        goto out;
    }
    if (fresh) rc = sync_dir(c->dir_path, err);
out:
    pthread_mutex_unlock(&c->fd_mu);
    return rc;
}

/* "$12" -> "?12". Only outside quoted literals; our statements are fixed text. */
static char *rewrite_params(const char *sql)
{
    char *o = strdup(sql);
    if (o == NULL) return NULL;
    bool q = false;
    for (char *p = o; *p; p++) {
        if (*p == '\'') q = !q;
        else if (!q && *p == '$' && p[1] >= '0' && p[1] <= '9') *p = '?';
    }
    return o;
}

static vt_err bind_all(const lite_api *api, sqlite3 *db, sqlite3_stmt *st, const sqlval *p, size_t np, vt_error *err)
{
    for (size_t i = 0; i < np; i++) {
        int k = (int)i + 1, rc;
        switch (p[i].type) {
        case SQL_TEXT: rc = api->bind_text(st, k, p[i].s, -1, SQLITE_STATIC); break;
        case SQL_INT: rc = api->bind_int64(st, k, p[i].i); break;
        case SQL_BLOB:
            rc = api->bind_blob64(st, k, p[i].b ? (const void *)p[i].b : (const void *)"",
                                     p[i].n, SQLITE_STATIC);
            break;
        default: rc = api->bind_null(st, k); break;
        }
        if (rc != SQLITE_OK) return lite_fail(api, db, rc, "bind", err);
    }
    return VT_OK;
}

static vt_err add_row(const lite_api *api, sqlres *r, sqlite3_stmt *st, vt_error *err)
{
    size_t cols = r->cols, base = r->rows * cols;
    char **cell = realloc(r->cell, (base + cols) * sizeof *cell);
    if (cell == NULL) return vt_error_set(err, VT_E_NOMEM, "store", "out of memory");
    r->cell = cell;
    size_t *len = realloc(r->len, (base + cols) * sizeof *len);
    if (len == NULL) return vt_error_set(err, VT_E_NOMEM, "store", "out of memory");
    r->len = len;
    for (size_t c = 0; c < cols; c++) {
        r->cell[base + c] = NULL;
        r->len[base + c] = 0;
    }
    r->rows++;
    for (size_t c = 0; c < cols; c++) {
        int t = api->column_type(st, (int)c);
        if (t == SQLITE_NULL) continue;
        const void *v = t == SQLITE_BLOB ? api->column_blob(st, (int)c)
                                         : (const void *)api->column_text(st, (int)c);
        size_t n = (size_t)api->column_bytes(st, (int)c);
        char *x = malloc(n + 1);
        if (x == NULL) return vt_error_set(err, VT_E_NOMEM, "store", "out of memory");
        if (n) memcpy(x, v, n);
        x[n] = 0;
        r->cell[base + c] = x;
        r->len[base + c] = n;
    }
    return VT_OK;
}

/* The cached statement for sql, prepared on first use; NULL with *rc set on failure. */
static sqlite3_stmt *cached_stmt(lite_conn *c, const char *sql, vt_err *rc, vt_error *err)
{
    /* Open addressing from the pointer's hash: two statements whose addresses share a slot
     * used to evict each other at every call (re-prepared each time). A full table evicts the
     * home slot. */
    size_t h = ((uintptr_t)sql >> 3) % STMT_CACHE;
    const lite_api *api = &c->api;
    stmt_slot *slot = &c->cache[h];
    for (size_t i = 0; i < STMT_CACHE; i++) {
        stmt_slot *t = &c->cache[(h + i) % STMT_CACHE];
        if (t->st == NULL) {
            slot = t;
            break;
        }
        if (t->key == sql && strcmp(t->sql, sql) == 0) return t->st;
    }
    api->finalize(slot->st);
    free(slot->sql);
    memset(slot, 0, sizeof *slot);
    char *q = rewrite_params(sql);
    char *copy = strdup(sql);
    if (q == NULL || copy == NULL) {
        free(q);
        free(copy);
        *rc = vt_error_set(err, VT_E_NOMEM, "store", "out of memory");
        return NULL;
    }
    sqlite3_stmt *st = NULL;
    int src = api->prepare_v3(c->db, q, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    free(q);
    if (src != SQLITE_OK) {
        free(copy);
        *rc = lite_fail(api, c->db, src, "prepare", err);
        return NULL;
    }
    *slot = (stmt_slot){.key = sql, .sql = copy, .st = st};
    return st;
}

static vt_err lite_exec(void *conn, const char *sql, const sqlval *p, size_t np, sqlres *res,
                        vt_error *err)
{
    lite_conn *c = conn;
    const lite_api *api = &c->api;
    sqlite3 *db = c->db;
    vt_err rc = VT_OK;
    sqlres tmp = {0};
    sqlite3_stmt *st = cached_stmt(c, sql, &rc, err);
    if (st == NULL) return rc;
    VT_GUARD_GOTO(bind_all(api, db, st, p, np, err));
    tmp.cols = (size_t)api->column_count(st);
    for (;;) {
        int src = api->step(st);
        if (src == SQLITE_DONE) break;
        if (src != SQLITE_ROW) {
            rc = lite_fail(api, db, src, "step", err);
            goto out;
        }
        if (res) VT_GUARD_GOTO(add_row(api, &tmp, st, err));
    }
    tmp.changes = (uint64_t)api->changes64(db);
out:
    api->reset(st); /* ends the statement (a read would otherwise hold its snapshot) */
    api->clear_bindings(st);
    if (rc == VT_OK && res) *res = tmp;
    else sqlres_free(&tmp);
    return rc;
}

/* BEGIN and COMMIT from the statement cache: sqlite3_exec would parse them at every
 * transaction (two or three per key-broker round). */
static vt_err lite_begin(void *conn, vt_error *err)
{
    return lite_exec(conn, "BEGIN IMMEDIATE", NULL, 0, NULL, err);
}

static vt_err lite_commit(void *conn, vt_error *err)
{
    return lite_exec(conn, "COMMIT", NULL, 0, NULL, err);
}

static void lite_rollback(void *conn)
{
    lite_conn *c = conn;
    if (!c->api.get_autocommit(c->db)) c->api.exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

static vt_err lite_lock(void *conn, const char *what, vt_error *err)
{
    return VT_OK;
}

/* Gives the pages freed by deletes back to the file system (auto_vacuum=INCREMENTAL). */
static vt_err lite_reclaim(void *conn, vt_error *err)
{
    return lite_script(conn, "PRAGMA main.incremental_vacuum", err);
}

/* The database holds tokens, nonces and policies: create it 0600 before SQLite does (SQLite
 * would use 0644 under the usual umask), so that its -wal and -shm files, which SQLite creates
 * with the database file's mode, are 0600 as well. An existing file keeps its mode. */
static vt_err create_private(const char *path, vt_error *err)
{
    if (strncmp(path, "file:", 5) == 0 || strcmp(path, ":memory:") == 0) return VT_OK;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
        /* The umask could only have removed bits; make the mode exactly 0600. */
        int rc = fchmod(fd, 0600);
        close(fd);
        if (rc != 0) return vt_error_set(err, VT_E_IO, "store", "cannot chmod 600 %s: %s", path, strerror(errno));
        return VT_OK;
    }
    if (errno == EEXIST) return VT_OK;
    return vt_error_set(err, VT_E_IO, "store", "cannot open sqlite database %s: %s", path, strerror(errno));
}

static const sqldrv lite_drv = {
    .name = "sqlite",
    .dialect = DIALECT_SQLITE,
    .close = lite_close,
    .script = lite_script,
    .exec = lite_exec,
    .begin = lite_begin,
    .commit = lite_commit,
    .rollback = lite_rollback,
    .lock = lite_lock,
    .reclaim = lite_reclaim,
    .sync = lite_sync,
};

/* ---- sessions: the volatile file ----
 * Their loss is harmless (a guest whose session or challenge is gone gets a clean error and
 * starts over with /auth; a nonce that is gone cannot be used), and they are most of what a busy
 * broker writes: every attested session keeps its EAR token (~6 KB) for its lifetime, 150,000
 * rows at 500 rounds/s and 300 s, too many to hold in RAM. Sessions awaiting attestation and the
 * nonces, small and short-lived, are kept in the process's memory instead (store.c, "sessions
 * and nonces"; a restart forgets them, as a reboot forgets this file): the file gets one INSERT
 * per attested session. Its nonces table stays (empty but for rows of an older version). In the database file they swelled the WAL that every durable
 * write flushes, the checkpoints and the sweep (a 600 s soak at 500 rounds/s fell seconds behind
 * once they began to expire). So they live in "<path>-sessions", attached as schema "vol",
 * written without any flush (synchronous=OFF) and never vacuumed (a swept row's pages serve the
 * next ones). WAL mode with synchronous=OFF survives a crash of the process (what is committed
 * is in the page cache) but not one of the system: the file records the boot it was created in
 * (/proc/sys/kernel/random/boot_id), and an open in another boot, or of a file SQLite cannot
 * read, starts it afresh. Where the boot is unknown the file commits with synchronous=NORMAL
 * (safe across a power loss: at most the latest commits are lost). */
#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

static bool read_boot_id(char out[64])
{
    FILE *f = fopen(BOOT_ID_PATH, "re");
    if (f == NULL) return false;
    bool ok = fgets(out, 64, f) != NULL;
    fclose(f);
    if (!ok) return false;
    out[strcspn(out, "\n")] = 0;
    return out[0] != 0;
}

/* What the volatile file holds: kept identical to the sessions and nonces of schema 1-4 (which
 * schema 5 drops from the database file; PostgreSQL keeps them, UNLOGGED). */
static const char VOL_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS vol.sessions(id TEXT PRIMARY KEY, tee TEXT NOT NULL, nonce TEXT NOT NULL,"
    " request TEXT NOT NULL, token TEXT, created BIGINT NOT NULL, expires BIGINT NOT NULL,"
    " client TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS vol.sessions_expires ON sessions(expires);"
    "CREATE INDEX IF NOT EXISTS vol.sessions_pending ON sessions(expires) WHERE token IS NULL;"
    "CREATE INDEX IF NOT EXISTS vol.sessions_pending_client ON sessions(client, expires) WHERE token IS NULL;"
    /* a nonce is its key: one b-tree instead of a table and its primary-key index */
    "CREATE TABLE IF NOT EXISTS vol.nonces(nonce TEXT PRIMARY KEY, expires BIGINT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS vol.boot(id TEXT NOT NULL);";

/* Attaches the file and checks its boot: VT_OK, or VT_E_VERIFY when it must start afresh (any
 * other failure of SQLite on it counts as that too: its content is disposable). */
static vt_err open_volatile(const lite_api *api, sqlite3 *db, const char *file, const char *boot, vt_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = api->prepare_v2(db, "ATTACH DATABASE ?1 AS vol", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = api->bind_text(st, 1, file, -1, SQLITE_TRANSIENT);
    if (rc == SQLITE_OK) rc = api->step(st) == SQLITE_DONE ? SQLITE_OK : api->errcode(db);
    api->finalize(st);
    if (rc != SQLITE_OK) return lite_fail(api, db, rc, "attaching the sessions file", err);
    vt_err vr = db_script(api, db, boot != NULL ? "PRAGMA vol.synchronous=OFF" : "PRAGMA vol.synchronous=NORMAL", err);
    if (vr == VT_OK)
        vr = db_script(api, db, "PRAGMA vol.journal_mode=WAL; PRAGMA vol.journal_size_limit=4194304; PRAGMA vol.secure_delete=ON",
                       err);
    if (vr == VT_OK) vr = db_script(api, db, VOL_SCHEMA, err);
    if (vr != VT_OK || strcmp(file, ":memory:") == 0) return vr;
    st = NULL;
    rc = api->prepare_v2(db, "SELECT id FROM vol.boot", -1, &st, NULL);
    int step = rc == SQLITE_OK ? api->step(st) : rc;
    bool empty = step == SQLITE_DONE;
    bool same = step == SQLITE_ROW && api->column_text(st, 0) != NULL &&
                strcmp((const char *)api->column_text(st, 0), boot != NULL ? boot : "") == 0;
    api->finalize(st);
    if (empty) {
        rc = api->prepare_v2(db, "INSERT INTO vol.boot(id) VALUES (?1)", -1, &st, NULL);
        if (rc == SQLITE_OK) rc = api->bind_text(st, 1, boot != NULL ? boot : "", -1, SQLITE_TRANSIENT);
        if (rc == SQLITE_OK) rc = api->step(st) == SQLITE_DONE ? SQLITE_OK : api->errcode(db);
        api->finalize(st);
        return rc == SQLITE_OK ? VT_OK : lite_fail(api, db, rc, "sessions file", err);
    }
    if (!same) return vt_error_set(err, VT_E_VERIFY, "store", "sessions file %s is from another boot", file);
    return VT_OK;
}

static void remove_volatile(const char *file)
{
    char side[PATH_MAX + 8];
    unlink(file);
    snprintf(side, sizeof side, "%s-wal", file);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", file);
    unlink(side);
}

/* The sessions file beside the database at path; false when the name does not fit. */
static bool volatile_file(const char *path, char out[PATH_MAX])
{
    return snprintf(out, PATH_MAX, "%s-sessions", path) < PATH_MAX;
}

static vt_err attach_volatile(const lite_api *api, sqlite3 *db, const char *path, vt_error *err)
{
    if (strncmp(path, "file:", 5) == 0 || strcmp(path, ":memory:") == 0 || *path == 0)
        return open_volatile(api, db, ":memory:", NULL, err);
    char file[PATH_MAX], boot[64];
    if (!volatile_file(path, file)) return vt_error_set(err, VT_E_ARG, "store", "sqlite path too long");
    const char *b = read_boot_id(boot) ? boot : NULL;
    vt_error first = {0};
    VT_GUARD(create_private(file, err));
    if (open_volatile(api, db, file, b, &first) == VT_OK) return VT_OK;
    /* from another boot, or unreadable: its content is disposable; start it afresh */
    api->exec(db, "DETACH DATABASE vol", NULL, NULL, NULL);
    remove_volatile(file);
    VT_GUARD(create_private(file, err));
    vt_err rc = open_volatile(api, db, file, b, err);
    if (rc != VT_OK) vt_error_wrap(err, "%s (was: %s)", file, first.msg);
    return rc;
}

/* A file created before auto_vacuum was set keeps auto_vacuum=NONE until a VACUUM rebuilds
 * it: done once, at open, so older stores shrink too. */
static vt_err lite_convert_vacuum(const lite_api *api, sqlite3 *db, vt_error *err)
{
    sqlite3_stmt *st = NULL;
    int mode = -1;
    if (api->prepare_v2(db, "PRAGMA auto_vacuum", -1, &st, NULL) == SQLITE_OK && api->step(st) == SQLITE_ROW)
        mode = api->column_int(st, 0);
    api->finalize(st);
    if (mode == 2) return VT_OK;
    return db_script(api, db, "PRAGMA auto_vacuum=INCREMENTAL; VACUUM", err);
}

/* A file database in WAL mode commits with synchronous=NORMAL and is made durable by lite_sync
 * (the group commit in sql.c); any other keeps synchronous=FULL (each commit waits for the disk). */
static vt_err plan_sync(lite_conn *c, const char *path, vt_error *err)
{
    const lite_api *api = &c->api;
    sqlite3_stmt *st = NULL;
    bool wal = false;
    if (api->prepare_v2(c->db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK && api->step(st) == SQLITE_ROW)
        wal = api->column_text(st, 0) != NULL && strcmp((const char *)api->column_text(st, 0), "wal") == 0;
    api->finalize(st);
    if (!wal || strncmp(path, "file:", 5) == 0 || strcmp(path, ":memory:") == 0 || *path == 0) return VT_OK;
    size_t n = strlen(path);
    const char *slash = strrchr(path, '/');
    c->wal_path = malloc(n + 5);
    c->dir_path = slash == NULL ? strdup(".") : slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
    if (c->wal_path == NULL || c->dir_path == NULL) return vt_error_set(err, VT_E_NOMEM, "store", "out of memory");
    snprintf(c->wal_path, n + 5, "%s-wal", path);
    return db_script(api, c->db, "PRAGMA synchronous=NORMAL", err);
}

static void *ckpt_main(void *arg)
{
    lite_ckpt *k = arg;
    const lite_api *api = k->api;
    pthread_mutex_lock(&k->mu);
    while (!k->stop) {
        if (!k->wake) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&k->cv, &k->mu, &ts);
        }
        if (k->stop) break;
        k->wake = false;
        pthread_mutex_unlock(&k->mu);
        int log = 0, done = 0;
        /* every attached database; a busy one is simply not checkpointed this time */
        api->wal_checkpoint_v2(k->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        __atomic_add_fetch(&k->done, 1, __ATOMIC_RELAXED);
        pthread_mutex_lock(&k->mu);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

/* After every commit, with the pages now in that database's WAL. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    lite_ckpt *k = arg;
    if (pages >= CKPT_BACKSTOP) {
        k->api->wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    } else if (pages >= CKPT_PAGES) {
        pthread_mutex_lock(&k->mu);
        k->wake = true;
        pthread_cond_signal(&k->cv);
        pthread_mutex_unlock(&k->mu);
    }
    return SQLITE_OK;
}

/* The checkpoint connection and its thread, for a file database in WAL mode; without them (any
 * failure: no thread can start, the file cannot be opened twice) the commits checkpoint as
 * SQLite does by default. */
static void ckpt_start(lite_conn *c, const char *path)
{
    const lite_api *api = &c->api;
    lite_ckpt *k = &c->ck;
    char vol[PATH_MAX];
    if (c->wal_path == NULL || !volatile_file(path, vol)) return;
    sqlite3_stmt *st = NULL;
    int rc = api->open_v2(path, &k->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) rc = api->prepare_v2(k->db, "ATTACH DATABASE ?1 AS vol", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = api->bind_text(st, 1, vol, -1, SQLITE_TRANSIENT);
    if (rc == SQLITE_OK) rc = api->step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    api->finalize(st);
    /* the checkpointing connection's synchronous decides the flushes: the same as the writer's */
    sqlite3_stmt *q = NULL;
    char sync[64] = "PRAGMA vol.synchronous=OFF";
    if (api->prepare_v2(c->db, "PRAGMA vol.synchronous", -1, &q, NULL) == SQLITE_OK && api->step(q) == SQLITE_ROW)
        snprintf(sync, sizeof sync, "PRAGMA vol.synchronous=%d", api->column_int(q, 0));
    api->finalize(q);
    if (rc == SQLITE_OK) rc = api->exec(k->db, "PRAGMA main.synchronous=NORMAL", NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = api->exec(k->db, sync, NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        pthread_mutex_init(&k->mu, NULL);
        pthread_cond_init(&k->cv, NULL);
        k->running = pthread_create(&k->th, NULL, ckpt_main, k) == 0;
        if (!k->running) {
            pthread_mutex_destroy(&k->mu);
            pthread_cond_destroy(&k->cv);
        }
    }
    if (!k->running) {
        api->close_v2(k->db);
        k->db = NULL;
        return;
    }
    api->wal_hook(c->db, wal_hook, k); /* replaces the default autocheckpoint */
}

uint64_t store_sqlite_checkpoints(void *conn)
{
    lite_conn *c = conn;
    return __atomic_load_n(&c->ck.done, __ATOMIC_RELAXED);
}

vt_err store_sqlite_connect(const char *path, int busy_ms, bool create, const sqldrv **drv, void **conn,
                            vt_error *err)
{
    if (!create && access(path, F_OK) != 0)
        return vt_error_set(err, VT_E_MISSING, "store", "sqlite store %s does not exist", path);
    lite_conn *c = calloc(1, sizeof *c);
    if (c == NULL) return vt_error_set(err, VT_E_NOMEM, "store", "out of memory");
    c->wal_fd = -1;
    c->ck.api = &c->api;
    pthread_mutex_init(&c->fd_mu, NULL);
    const lite_api *api = &c->api;
    vt_err vr = lite_load(&c->api, err);
    if (vr == VT_OK && create) vr = create_private(path, err);
    if (vr == VT_OK) {
        int rc = api->open_v2(path, &c->db,
                              SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK)
            vr = vt_error_set(err, VT_E_IO, "store", "cannot open sqlite database %s: %s", path,
                              c->db ? api->errmsg(c->db) : api->errstr(rc));
    }
    if (vr != VT_OK) {
        lite_close(c);
        return vr;
    }
    api->busy_timeout(c->db, busy_ms);
    api->extended_result_codes(c->db, 0);
    /* auto_vacuum=INCREMENTAL (before WAL and before any table: it is fixed when the first
     * table is created) so that the sweep can shrink the file after deleting expired rows.
     * WAL: readers never block the writer. */
    vr = db_script(api, c->db, "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL; PRAGMA journal_size_limit=4194304; PRAGMA synchronous=FULL; "
                               "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;", err);
    if (vr == VT_OK && create) vr = lite_convert_vacuum(api, c->db, err); /* a read-only use rewrites nothing */
    if (vr == VT_OK) vr = plan_sync(c, path, err);
    if (vr == VT_OK && create) vr = attach_volatile(api, c->db, path, err); /* a read-only use needs no sessions */
    if (vr == VT_OK && create) ckpt_start(c, path);
    if (vr != VT_OK) {
        vt_error_wrap(err, "%s", path);
        lite_close(c);
        return vr;
    }
    *drv = &lite_drv;
    *conn = c;
    return VT_OK;
}
