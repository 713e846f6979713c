/* SQLite backend driver: one file, WAL journal, busy timeout; writers serialized by
 * BEGIN IMMEDIATE. Sessions and nonces live in a second file beside it (attach_volatile). Placeholders $N are rewritten to SQLite's positional ?N. A commit writes
 * the WAL without waiting for the disk (synchronous=NORMAL); what must be durable is made so
 * by lite_sync, one fdatasync of the WAL for every commit written before it (group commit,
 * sql.c), called without holding the connection. */
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
    sqlite3 *db; /* its own connection: the database, with the sessions file attached */
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool wake, stop, running;
    uint64_t done; /* checkpoints the thread ran (atomic) */
} lite_ckpt;

typedef struct lite_conn {
    sqlite3 *db;
    lite_ckpt ck;
    stmt_slot cache[STMT_CACHE];
    char *wal_path; /* NULL: no WAL file to flush (in-memory or URI databases keep synchronous=FULL) */
    pthread_mutex_t fd_mu;
    int wal_fd;
    char *dir_path; /* synced once after the WAL file is first opened (its directory entry) */
} lite_conn;

#define DB(conn) (((lite_conn *)(conn))->db)

static vt_err lite_fail(sqlite3 *db, int rc, const char *what, vt_error *err)
{
    int code = (rc == SQLITE_BUSY || rc == SQLITE_LOCKED || rc == SQLITE_IOERR ||
                rc == SQLITE_CANTOPEN || rc == SQLITE_FULL || rc == SQLITE_READONLY)
                   ? VT_E_IO
                   : VT_E_INTERNAL;
    return vt_error_set(err, code, "store", "sqlite %s: %s", what,
                        db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static void ckpt_stop(lite_ckpt *k)
{
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
    sqlite3_close_v2(k->db);
    k->db = NULL;
}

static void lite_close(void *conn)
{
    lite_conn *c = conn;
    if (c == NULL) return;
    ckpt_stop(&c->ck);
    for (size_t i = 0; i < STMT_CACHE; i++) {
        sqlite3_finalize(c->cache[i].st);
        free(c->cache[i].sql);
    }
    sqlite3_close_v2(c->db);
    if (c->wal_fd >= 0) close(c->wal_fd);
    pthread_mutex_destroy(&c->fd_mu);
    free(c->wal_path);
    free(c->dir_path);
    free(c);
}

static vt_err db_script(sqlite3 *db, const char *sql, vt_error *err)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? VT_OK : lite_fail(db, rc, "script", err);
}

static vt_err lite_script(void *conn, const char *sql, vt_error *err)
{
    return db_script(DB(conn), sql, err);
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

static vt_err bind_all(sqlite3 *db, sqlite3_stmt *st, const sqlval *p, size_t np, vt_error *err)
{
    for (size_t i = 0; i < np; i++) {
        int k = (int)i + 1, rc;
        switch (p[i].type) {
        case SQL_TEXT: rc = sqlite3_bind_text(st, k, p[i].s, -1, SQLITE_STATIC); break;
        case SQL_INT: rc = sqlite3_bind_int64(st, k, p[i].i); break;
        case SQL_BLOB:
            rc = sqlite3_bind_blob64(st, k, p[i].b ? (const void *)p[i].b : (const void *)"",
                                     p[i].n, SQLITE_STATIC);
            break;
        default: rc = sqlite3_bind_null(st, k); break;
        }
        if (rc != SQLITE_OK) return lite_fail(db, rc, "bind", err);
    }
    return VT_OK;
}

static vt_err add_row(sqlres *r, sqlite3_stmt *st, vt_error *err)
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
        int t = sqlite3_column_type(st, (int)c);
        if (t == SQLITE_NULL) continue;
        const void *v = t == SQLITE_BLOB ? sqlite3_column_blob(st, (int)c)
                                         : (const void *)sqlite3_column_text(st, (int)c);
        size_t n = (size_t)sqlite3_column_bytes(st, (int)c);
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
    stmt_slot *slot = &c->cache[h];
    for (size_t i = 0; i < STMT_CACHE; i++) {
        stmt_slot *t = &c->cache[(h + i) % STMT_CACHE];
        if (t->st == NULL) {
            slot = t;
            break;
        }
        if (t->key == sql && strcmp(t->sql, sql) == 0) return t->st;
    }
    sqlite3_finalize(slot->st);
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
    int src = sqlite3_prepare_v3(c->db, q, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    free(q);
    if (src != SQLITE_OK) {
        free(copy);
        *rc = lite_fail(c->db, src, "prepare", err);
        return NULL;
    }
    *slot = (stmt_slot){.key = sql, .sql = copy, .st = st};
    return st;
}

static vt_err lite_exec(void *conn, const char *sql, const sqlval *p, size_t np, sqlres *res,
                        vt_error *err)
{
    lite_conn *c = conn;
    sqlite3 *db = c->db;
    vt_err rc = VT_OK;
    sqlres tmp = {0};
    sqlite3_stmt *st = cached_stmt(c, sql, &rc, err);
    if (st == NULL) return rc;
    VT_GUARD_GOTO(bind_all(db, st, p, np, err));
    tmp.cols = (size_t)sqlite3_column_count(st);
    for (;;) {
        int src = sqlite3_step(st);
        if (src == SQLITE_DONE) break;
        if (src != SQLITE_ROW) {
            rc = lite_fail(db, src, "step", err);
            goto out;
        }
        if (res) VT_GUARD_GOTO(add_row(&tmp, st, err));
    }
    tmp.changes = (uint64_t)sqlite3_changes64(db);
out:
    sqlite3_reset(st); /* ends the statement (a read would otherwise hold its snapshot) */
    sqlite3_clear_bindings(st);
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
    if (!sqlite3_get_autocommit(DB(conn))) sqlite3_exec(DB(conn), "ROLLBACK", NULL, NULL, NULL);
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

/* ---- sessions and nonces: the volatile file ----
 * Their loss is harmless (a guest whose session or challenge is gone gets a clean error and
 * starts over with /auth; a nonce that is gone cannot be used), and they are most of what a busy
 * broker writes: every attested session keeps its EAR token (~6 KB) for its lifetime, 150,000
 * rows at 500 rounds/s and 300 s. In the database file they swelled the WAL that every durable
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
static vt_err open_volatile(sqlite3 *db, const char *file, const char *boot, vt_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS vol", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, file, -1, SQLITE_TRANSIENT);
    if (rc == SQLITE_OK) rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
    sqlite3_finalize(st);
    if (rc != SQLITE_OK) return lite_fail(db, rc, "attaching the sessions file", err);
    vt_err vr = db_script(db, boot != NULL ? "PRAGMA vol.synchronous=OFF" : "PRAGMA vol.synchronous=NORMAL", err);
    if (vr == VT_OK)
        vr = db_script(db, "PRAGMA vol.journal_mode=WAL; PRAGMA vol.journal_size_limit=4194304; PRAGMA vol.secure_delete=ON",
                       err);
    if (vr == VT_OK) vr = db_script(db, VOL_SCHEMA, err);
    if (vr != VT_OK || strcmp(file, ":memory:") == 0) return vr;
    st = NULL;
    rc = sqlite3_prepare_v2(db, "SELECT id FROM vol.boot", -1, &st, NULL);
    int step = rc == SQLITE_OK ? sqlite3_step(st) : rc;
    bool empty = step == SQLITE_DONE;
    bool same = step == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL &&
                strcmp((const char *)sqlite3_column_text(st, 0), boot != NULL ? boot : "") == 0;
    sqlite3_finalize(st);
    if (empty) {
        rc = sqlite3_prepare_v2(db, "INSERT INTO vol.boot(id) VALUES (?1)", -1, &st, NULL);
        if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, boot != NULL ? boot : "", -1, SQLITE_TRANSIENT);
        if (rc == SQLITE_OK) rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
        sqlite3_finalize(st);
        return rc == SQLITE_OK ? VT_OK : lite_fail(db, rc, "sessions file", err);
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

static vt_err attach_volatile(sqlite3 *db, const char *path, vt_error *err)
{
    if (strncmp(path, "file:", 5) == 0 || strcmp(path, ":memory:") == 0 || *path == 0)
        return open_volatile(db, ":memory:", NULL, err);
    char file[PATH_MAX], boot[64];
    if (snprintf(file, sizeof file, "%s-sessions", path) >= (int)sizeof file)
        return vt_error_set(err, VT_E_ARG, "store", "sqlite path too long");
    const char *b = read_boot_id(boot) ? boot : NULL;
    vt_error first = {0};
    VT_GUARD(create_private(file, err));
    if (open_volatile(db, file, b, &first) == VT_OK) return VT_OK;
    /* from another boot, or unreadable: its content is disposable; start it afresh */
    sqlite3_exec(db, "DETACH DATABASE vol", NULL, NULL, NULL);
    remove_volatile(file);
    VT_GUARD(create_private(file, err));
    vt_err rc = open_volatile(db, file, b, err);
    if (rc != VT_OK) vt_error_wrap(err, "%s (was: %s)", file, first.msg);
    return rc;
}

/* A file created before auto_vacuum was set keeps auto_vacuum=NONE until a VACUUM rebuilds
 * it: done once, at open, so older stores shrink too. */
static vt_err lite_convert_vacuum(sqlite3 *db, vt_error *err)
{
    sqlite3_stmt *st = NULL;
    int mode = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA auto_vacuum", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        mode = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (mode == 2) return VT_OK;
    return db_script(db, "PRAGMA auto_vacuum=INCREMENTAL; VACUUM", err);
}

/* A file database in WAL mode commits with synchronous=NORMAL and is made durable by lite_sync
 * (the group commit in sql.c); any other keeps synchronous=FULL (each commit waits for the disk). */
static vt_err plan_sync(lite_conn *c, const char *path, vt_error *err)
{
    sqlite3_stmt *st = NULL;
    bool wal = false;
    if (sqlite3_prepare_v2(c->db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        wal = sqlite3_column_text(st, 0) != NULL && strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
    sqlite3_finalize(st);
    if (!wal || strncmp(path, "file:", 5) == 0 || strcmp(path, ":memory:") == 0 || *path == 0) return VT_OK;
    size_t n = strlen(path);
    const char *slash = strrchr(path, '/');
    c->wal_path = malloc(n + 5);
    c->dir_path = slash == NULL ? strdup(".") : slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
    if (c->wal_path == NULL || c->dir_path == NULL) return vt_error_set(err, VT_E_NOMEM, "store", "out of memory");
    snprintf(c->wal_path, n + 5, "%s-wal", path);
    return db_script(c->db, "PRAGMA synchronous=NORMAL", err);
}

static void *ckpt_main(void *arg)
{
    lite_ckpt *k = arg;
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
        sqlite3_wal_checkpoint_v2(k->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
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
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
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
    lite_ckpt *k = &c->ck;
    char vol[PATH_MAX];
    if (c->wal_path == NULL || snprintf(vol, sizeof vol, "%s-sessions", path) >= (int)sizeof vol) return;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_open_v2(path, &k->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(k->db, "ATTACH DATABASE ?1 AS vol", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, vol, -1, SQLITE_TRANSIENT);
    if (rc == SQLITE_OK) rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    sqlite3_finalize(st);
    /* the checkpointing connection's synchronous decides the flushes: the same as the writer's */
    sqlite3_stmt *q = NULL;
    char sync[64] = "PRAGMA vol.synchronous=OFF";
    if (sqlite3_prepare_v2(c->db, "PRAGMA vol.synchronous", -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        snprintf(sync, sizeof sync, "PRAGMA vol.synchronous=%d", sqlite3_column_int(q, 0));
    sqlite3_finalize(q);
    if (rc == SQLITE_OK) rc = sqlite3_exec(k->db, "PRAGMA main.synchronous=NORMAL", NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_exec(k->db, sync, NULL, NULL, NULL);
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
        sqlite3_close_v2(k->db);
        k->db = NULL;
        return;
    }
    sqlite3_wal_hook(c->db, wal_hook, k); /* replaces the default autocheckpoint */
}

uint64_t store_sqlite_checkpoints(void *conn)
{
    lite_conn *c = conn;
    return __atomic_load_n(&c->ck.done, __ATOMIC_RELAXED);
}

vt_err store_sqlite_connect(const char *path, int busy_ms, bool create, const sqldrv **drv, void **conn,
                            vt_error *err)
{
    sqlite3 *db = NULL;
    if (!create && access(path, F_OK) != 0)
        return vt_error_set(err, VT_E_MISSING, "store", "sqlite store %s does not exist", path);
    if (create) VT_GUARD(create_private(path, err));
    int rc = sqlite3_open_v2(path, &db,
                             SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        vt_error_set(err, VT_E_IO, "store", "cannot open sqlite database %s: %s", path,
                     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        return err ? err->code : VT_E_IO;
    }
    sqlite3_busy_timeout(db, busy_ms);
    sqlite3_extended_result_codes(db, 0);
    /* auto_vacuum=INCREMENTAL (before WAL and before any table: it is fixed when the first
     * table is created) so that the sweep can shrink the file after deleting expired rows.
     * WAL: readers never block the writer. */
    vt_err vr = db_script(db, "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL; PRAGMA journal_size_limit=4194304; PRAGMA synchronous=FULL; "
                              "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;", err);
    if (vr == VT_OK && create) vr = lite_convert_vacuum(db, err); /* a read-only use rewrites nothing */
    lite_conn *c = NULL;
    if (vr == VT_OK && (c = calloc(1, sizeof *c)) == NULL) vr = vt_error_set(err, VT_E_NOMEM, "store", "out of memory");
    if (vr == VT_OK) {
        c->db = db;
        c->wal_fd = -1;
        pthread_mutex_init(&c->fd_mu, NULL);
        vr = plan_sync(c, path, err);
    }
    if (vr == VT_OK && create) vr = attach_volatile(db, path, err); /* a read-only use needs no sessions */
    if (vr == VT_OK && create) ckpt_start(c, path);
    if (vr != VT_OK) {
        vt_error_wrap(err, "%s", path);
        if (c != NULL) lite_close(c);
        else sqlite3_close_v2(db);
        return vr;
    }
    *drv = &lite_drv;
    *conn = c;
    return VT_OK;
}
