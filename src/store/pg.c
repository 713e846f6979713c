/* PostgreSQL backend driver over libpq, loaded with dlopen() only when a postgres:// URL is
 * opened: linking libpq would make every `veritee` process load ~20 libraries (GSSAPI,
 * LDAP, GnuTLS...) at start. Writers of one thing serialize on advisory transaction locks. */
#include <dlfcn.h>
#include <stdint.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"

#define BYTEAOID 17
#define INT8OID 20

typedef struct pg_api {
    void *lib;
    PGconn *(*connectdb)(const char *);
    ConnStatusType (*status)(const PGconn *);
    char *(*error_message)(const PGconn *);
    void (*finish)(PGconn *);
    void (*reset)(PGconn *);
    PGresult *(*exec)(PGconn *, const char *);
    PGresult *(*exec_params)(PGconn *, const char *, int, const Oid *, const char *const *,
                             const int *, const int *, int);
    PGresult *(*prepare)(PGconn *, const char *, const char *, int, const Oid *);
    PGresult *(*exec_prepared)(PGconn *, const char *, int, const char *const *, const int *, const int *, int);
    ExecStatusType (*result_status)(const PGresult *);
    char *(*result_error_field)(const PGresult *, int);
    void (*clear)(PGresult *);
    int (*ntuples)(const PGresult *);
    int (*nfields)(const PGresult *);
    char *(*getvalue)(const PGresult *, int, int);
    int (*getlength)(const PGresult *, int, int);
    int (*getisnull)(const PGresult *, int, int);
    Oid (*ftype)(const PGresult *, int);
    char *(*cmd_tuples)(PGresult *);
    PQnoticeProcessor (*set_notice_processor)(PGconn *, PQnoticeProcessor, void *);
    /* pipeline mode (libpq 14+); all NULL when this libpq lacks it: transactions then make one
     * round trip per statement */
    int (*enter_pipeline)(PGconn *);
    int (*exit_pipeline)(PGconn *);
    int (*pipeline_sync)(PGconn *);
    PGpipelineStatus (*pipeline_status)(const PGconn *);
    int (*send_query_params)(PGconn *, const char *, int, const Oid *, const char *const *, const int *,
                             const int *, int);
    int (*send_query_prepared)(PGconn *, const char *, int, const char *const *, const int *, const int *, int);
    PGresult *(*get_result)(PGconn *);
} pg_api;

/* Statements prepared on this connection, named "vt<index>": a statement's text and parameter
 * types are parsed and planned once per connection instead of once per execution. Bounded: past
 * PG_MAX_STMTS distinct statements the rest run unprepared. */
#define PG_MAX_STMTS 128
#define PG_MAX_PARAMS 16

typedef struct pg_stmt {
    char *sql;                 /* NULL: free slot */
    char sig[PG_MAX_PARAMS + 1]; /* parameter types the statement was prepared with */
    uint32_t hash;
} pg_stmt;

typedef struct pg_conn {
    pg_api api;
    PGconn *c;
    pg_stmt stmts[PG_MAX_STMTS];
    size_t nstmts;
    char settings[128]; /* session settings, re-applied after a reconnect */
    bool in_txn;        /* never reconnect inside a transaction: its statements would be lost */
    /* Inside a transaction the connection is in pipeline mode: BEGIN and every statement whose
     * result is not wanted (res == NULL) are sent without waiting; the next statement whose rows
     * are wanted, or the COMMIT, sends them all with itself in one round trip and reads every
     * result, reporting the first failure. A failure of a deferred statement thus surfaces at that
     * later call, which fails, and the transaction rolls back as it would have. */
    bool pipe;
    unsigned queued; /* commands sent in the pipeline and not read yet */
} pg_conn;

static vt_err pg_load(pg_api *a, vt_error *err)
{
    /* NODELETE: libpq and its GSSAPI/TLS dependencies keep global state that is not freed on
     * unload; staying mapped after the last handle closes avoids that (and reloading). */
    a->lib = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (a->lib == NULL)
        return vt_error_set(err, VT_E_MISSING, "store",
                            "libpq.so.5 not available (install libpq5): cannot open a postgres:// store");
    struct { void **fn; const char *name; } t[] = {
        {(void **)&a->connectdb, "PQconnectdb"},
        {(void **)&a->status, "PQstatus"},
        {(void **)&a->error_message, "PQerrorMessage"},
        {(void **)&a->finish, "PQfinish"},
        {(void **)&a->reset, "PQreset"},
        {(void **)&a->exec, "PQexec"},
        {(void **)&a->exec_params, "PQexecParams"},
        {(void **)&a->prepare, "PQprepare"},
        {(void **)&a->exec_prepared, "PQexecPrepared"},
        {(void **)&a->result_status, "PQresultStatus"},
        {(void **)&a->result_error_field, "PQresultErrorField"},
        {(void **)&a->clear, "PQclear"},
        {(void **)&a->ntuples, "PQntuples"},
        {(void **)&a->nfields, "PQnfields"},
        {(void **)&a->getvalue, "PQgetvalue"},
        {(void **)&a->getlength, "PQgetlength"},
        {(void **)&a->getisnull, "PQgetisnull"},
        {(void **)&a->ftype, "PQftype"},
        {(void **)&a->cmd_tuples, "PQcmdTuples"},
        {(void **)&a->set_notice_processor, "PQsetNoticeProcessor"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        *t[i].fn = dlsym(a->lib, t[i].name);
        if (*t[i].fn == NULL) {
            dlclose(a->lib);
            return vt_error_set(err, VT_E_MISSING, "store", "libpq.so.5 lacks %s", t[i].name);
        }
    }
    struct { void **fn; const char *name; } opt[] = {
        {(void **)&a->enter_pipeline, "PQenterPipelineMode"},
        {(void **)&a->exit_pipeline, "PQexitPipelineMode"},
        {(void **)&a->pipeline_sync, "PQpipelineSync"},
        {(void **)&a->pipeline_status, "PQpipelineStatus"},
        {(void **)&a->send_query_params, "PQsendQueryParams"},
        {(void **)&a->send_query_prepared, "PQsendQueryPrepared"},
        {(void **)&a->get_result, "PQgetResult"},
    };
    bool all = true;
    for (size_t i = 0; i < sizeof opt / sizeof opt[0]; i++) {
        *opt[i].fn = dlsym(a->lib, opt[i].name);
        all = all && *opt[i].fn != NULL;
    }
    if (!all) a->enter_pipeline = NULL;
    return VT_OK;
}

/* libpq messages end with a newline; keep the first line. */
static vt_err pg_fail(pg_conn *pc, const PGresult *r, const char *what, vt_error *err)
{
    const char *m = r ? pc->api.result_error_field(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *state = r ? pc->api.result_error_field(r, PG_DIAG_SQLSTATE) : NULL;
    if (m == NULL) m = pc->api.error_message(pc->c);
    size_t n = strcspn(m, "\n");
    bool down = pc->api.status(pc->c) != CONNECTION_OK || (state && strncmp(state, "08", 2) == 0) ||
                (state && strncmp(state, "57P", 3) == 0);
    return vt_error_set(err, down ? VT_E_IO : VT_E_INTERNAL, "store", "postgres %s: %.*s%s%s%s", what,
                        (int)n, m, state ? " (SQLSTATE " : "", state ? state : "", state ? ")" : "");
}

/* Prepared statements live in the server session: a new session has none. */
static void forget_stmts(pg_conn *pc)
{
    for (size_t i = 0; i < PG_MAX_STMTS; i++) {
        free(pc->stmts[i].sql);
        pc->stmts[i].sql = NULL;
    }
    pc->nstmts = 0;
}

/* A dropped connection (server restart) is re-established before the next statement
 * outside a transaction; the statement that saw the drop has already failed cleanly. */
static bool pg_reconnect(pg_conn *pc)
{
    pc->pipe = false;
    pc->queued = 0;
    pc->api.reset(pc->c);
    forget_stmts(pc);
    if (pc->api.enter_pipeline && pc->api.pipeline_status(pc->c) != PQ_PIPELINE_OFF) pc->api.exit_pipeline(pc->c);
    if (pc->api.status(pc->c) != CONNECTION_OK) return false;
    PGresult *r = pc->api.exec(pc->c, pc->settings); /* a round trip: the new session answers */
    bool ok = r != NULL && pc->api.result_status(r) == PGRES_COMMAND_OK;
    pc->api.clear(r);
    return ok;
}

static void pg_revive(pg_conn *pc)
{
    if (pc->api.status(pc->c) != CONNECTION_OK) pg_reconnect(pc);
}

/* The pool saw another of its connections dropped (a server restart drops them all, but each
 * would learn it only from a failed statement of its own): this one, idle, reconnects now. */
static bool pg_refresh(void *conn)
{
    pg_conn *pc = conn;
    return !pc->in_txn && pg_reconnect(pc);
}

static void pg_close(void *conn)
{
    pg_conn *pc = conn;
    if (pc == NULL) return;
    pc->api.finish(pc->c);
    forget_stmts(pc);
    dlclose(pc->api.lib);
    free(pc);
}

static vt_err pipe_drain(pg_conn *pc, sqlres *res, vt_error *err);
static void pipe_leave(pg_conn *pc);

/* Outside pipeline mode (multi-statement scripts and PQexec are not allowed in it): a script
 * inside a transaction (savepoints, migrations) first sends and reads what is queued, and runs
 * even if that failed (ROLLBACK TO SAVEPOINT must), reporting the first failure. */
static vt_err pg_script(void *conn, const char *sql, vt_error *err)
{
    pg_conn *pc = conn;
    vt_err first = VT_OK;
    bool repipe = pc->pipe;
    if (pc->pipe) {
        first = pipe_drain(pc, NULL, err);
        pipe_leave(pc);
    }
    vt_err rc = VT_OK;
    PGresult *r = pc->api.exec(pc->c, sql);
    ExecStatusType st = r ? pc->api.result_status(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        vt_error e2 = {0};
        rc = pg_fail(pc, r, "script", &e2);
        if (first == VT_OK && err) *err = e2;
    }
    pc->api.clear(r);
    if (repipe && pc->api.status(pc->c) == CONNECTION_OK && pc->api.enter_pipeline(pc->c) == 1) pc->pipe = true;
    return first != VT_OK ? first : rc;
}

static vt_err plain_script(pg_conn *pc, const char *sql, vt_error *err)
{
    PGresult *r = pc->api.exec(pc->c, sql);
    ExecStatusType st = r ? pc->api.result_status(r) : PGRES_FATAL_ERROR;
    vt_err rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? VT_OK : pg_fail(pc, r, "script", err);
    pc->api.clear(r);
    return rc;
}

/* bytea arrives in text form as "\x" + hex. */
static vt_err unhex_cell(const char *v, size_t n, char **out, size_t *len, vt_error *err)
{
    if (n < 2 || v[0] != '\\' || v[1] != 'x' || (n - 2) % 2)
        return vt_error_set(err, VT_E_INTERNAL, "store", "postgres returned an unexpected bytea form");
    vt_buf b = {0};
    VT_GUARD(vt_hex_decode(v + 2, n - 2, &b, err));
    char *x = malloc(b.len + 1);
    if (x == NULL) {
        vt_buf_free_secret(&b);
        return vt_error_set(err, VT_E_NOMEM, "store", "out of memory");
    }
    if (b.len) memcpy(x, b.ptr, b.len);
    x[b.len] = 0;
    *len = b.len;
    *out = x;
    vt_buf_free_secret(&b);
    return VT_OK;
}

static vt_err copy_result(pg_conn *pc, PGresult *r, sqlres *res, vt_error *err)
{
    int rows = pc->api.ntuples(r), cols = pc->api.nfields(r);
    res->rows = (size_t)rows;
    res->cols = (size_t)cols;
    size_t cells = (size_t)rows * (size_t)cols;
    res->cell = calloc(cells ? cells : 1, sizeof *res->cell);
    res->len = calloc(cells ? cells : 1, sizeof *res->len);
    if (res->cell == NULL || res->len == NULL) return vt_error_set(err, VT_E_NOMEM, "store", "out of memory");
    for (int i = 0; i < rows; i++)
        for (int c = 0; c < cols; c++) {
            if (pc->api.getisnull(r, i, c)) continue;
            const char *v = pc->api.getvalue(r, i, c);
            size_t n = (size_t)pc->api.getlength(r, i, c), k = (size_t)i * (size_t)cols + (size_t)c;
            if (pc->api.ftype(r, c) == BYTEAOID) {
                VT_GUARD(unhex_cell(v, n, &res->cell[k], &res->len[k], err));
                continue;
            }
            res->cell[k] = strndup(v, n);
            if (res->cell[k] == NULL) return vt_error_set(err, VT_E_NOMEM, "store", "out of memory");
            res->len[k] = n;
        }
    const char *ct = pc->api.cmd_tuples(r);
    res->changes = ct && *ct ? strtoull(ct, NULL, 10) : 0;
    return VT_OK;
}

/* Sends a Sync and reads every queued result; the first failure is the return value. res (may
 * be NULL): the rows of the last command queued, when all succeeded. */
static vt_err pipe_drain(pg_conn *pc, sqlres *res, vt_error *err)
{
    vt_err rc = VT_OK;
    PGresult *last = NULL;
    bool synced = false;
    if (pc->api.pipeline_sync(pc->c) != 1) {
        rc = pg_fail(pc, NULL, "pipeline", err);
    } else {
        unsigned nulls = 0;
        for (;;) {
            PGresult *r = pc->api.get_result(pc->c);
            if (r == NULL) {
                /* one NULL ends each command's results; two in a row: nothing more will come */
                if (++nulls > 1 || pc->api.status(pc->c) != CONNECTION_OK) break;
                continue;
            }
            nulls = 0;
            ExecStatusType st = pc->api.result_status(r);
            if (st == PGRES_PIPELINE_SYNC) {
                pc->api.clear(r);
                synced = true;
                break;
            }
            if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && rc == VT_OK)
                rc = st == PGRES_PIPELINE_ABORTED ? vt_error_set(err, VT_E_INTERNAL, "store", "postgres pipeline aborted")
                                                  : pg_fail(pc, r, "statement", err);
            pc->api.clear(last);
            last = r;
        }
        if (!synced && rc == VT_OK) rc = pg_fail(pc, NULL, "pipeline", err);
    }
    pc->queued = 0;
    if (rc == VT_OK && res != NULL) {
        if (last == NULL) rc = vt_error_set(err, VT_E_INTERNAL, "store", "postgres pipeline returned no result");
        else rc = copy_result(pc, last, res, err);
        if (rc != VT_OK) sqlres_free(res);
    }
    pc->api.clear(last);
    return rc;
}

static void pipe_leave(pg_conn *pc)
{
    if (pc->pipe && pc->api.pipeline_status(pc->c) != PQ_PIPELINE_OFF) pc->api.exit_pipeline(pc->c);
    pc->pipe = false;
    pc->queued = 0;
}

/* The slot of (sql, sig) in the statement table, prepared on first use; -1: run it unprepared
 * (table full). A failed PREPARE is the statement's failure. */
static vt_err stmt_slot(pg_conn *pc, const char *sql, const char *sig, size_t np, const Oid *types, int *slot,
                        vt_error *err)
{
    uint32_t h = 2166136261u; /* FNV-1a over text and types */
    for (const char *q = sql; *q; q++) h = (h ^ (uint8_t)*q) * 16777619u;
    for (const char *q = sig; *q; q++) h = (h ^ (uint8_t)*q) * 16777619u;
    size_t i = h % PG_MAX_STMTS;
    for (size_t n = 0; n < PG_MAX_STMTS; n++, i = (i + 1) % PG_MAX_STMTS) {
        pg_stmt *st = &pc->stmts[i];
        if (st->sql == NULL) break;
        if (st->hash == h && strcmp(st->sig, sig) == 0 && strcmp(st->sql, sql) == 0) {
            *slot = (int)i;
            return VT_OK;
        }
    }
    *slot = -1;
    if (pc->nstmts >= PG_MAX_STMTS * 3 / 4) return VT_OK; /* keep probes short: the rest unprepared */
    char *copy = strdup(sql);
    if (copy == NULL) return vt_error_set(err, VT_E_NOMEM, "store", "out of memory");
    /* PQprepare is synchronous: in a pipeline, what is queued goes first (once per statement and
     * connection, so the pipeline's bookkeeping never has to track a PREPARE's own outcome) */
    bool repipe = pc->pipe;
    vt_err rc = VT_OK;
    if (pc->pipe) {
        rc = pipe_drain(pc, NULL, err);
        pipe_leave(pc);
    }
    if (rc == VT_OK) {
        char name[16];
        snprintf(name, sizeof name, "vt%zu", i);
        PGresult *r = pc->api.prepare(pc->c, name, sql, (int)np, types);
        ExecStatusType st = r ? pc->api.result_status(r) : PGRES_FATAL_ERROR;
        rc = st == PGRES_COMMAND_OK ? VT_OK : pg_fail(pc, r, "prepare", err);
        pc->api.clear(r);
    }
    if (repipe && pc->api.status(pc->c) == CONNECTION_OK && pc->api.enter_pipeline(pc->c) == 1) pc->pipe = true;
    if (rc != VT_OK) {
        free(copy);
        return rc;
    }
    pc->stmts[i] = (pg_stmt){.sql = copy, .hash = h};
    memcpy(pc->stmts[i].sig, sig, np + 1);
    pc->nstmts++;
    *slot = (int)i;
    return VT_OK;
}

static vt_err pg_exec(void *conn, const char *sql, const sqlval *p, size_t np, sqlres *res,
                      vt_error *err)
{
    pg_conn *pc = conn;
    if (np > PG_MAX_PARAMS) return vt_error_set(err, VT_E_INTERNAL, "store", "too many parameters");
    const char *vals[PG_MAX_PARAMS];
    int lens[PG_MAX_PARAMS], fmts[PG_MAX_PARAMS];
    Oid types[PG_MAX_PARAMS];
    char ints[PG_MAX_PARAMS][24];
    char sig[PG_MAX_PARAMS + 1];
    if (!pc->in_txn) pg_revive(pc);
    for (size_t i = 0; i < np; i++) {
        lens[i] = 0;
        fmts[i] = 0;
        types[i] = 0;
        sig[i] = 'u'; /* text and NULL: type left to the server (from the statement) */
        switch (p[i].type) {
        case SQL_TEXT: vals[i] = p[i].s; break;
        case SQL_INT:
            snprintf(ints[i], sizeof ints[i], "%lld", (long long)p[i].i);
            vals[i] = ints[i];
            types[i] = INT8OID;
            sig[i] = 'i';
            break;
        case SQL_BLOB:
            vals[i] = p[i].b ? (const char *)p[i].b : "";
            lens[i] = (int)p[i].n;
            fmts[i] = 1;
            types[i] = BYTEAOID;
            sig[i] = 'b';
            break;
        default: vals[i] = NULL; break;
        }
    }
    sig[np] = 0;
    int slot = -1;
    VT_GUARD(stmt_slot(pc, sql, sig, np, types, &slot, err));
    char name[16];
    snprintf(name, sizeof name, "vt%d", slot);
    if (pc->pipe) {
        int sent = slot >= 0 ? pc->api.send_query_prepared(pc->c, name, (int)np, vals, lens, fmts, 0)
                             : pc->api.send_query_params(pc->c, sql, (int)np, types, vals, lens, fmts, 0);
        if (sent == 1) pc->queued++;
        /* a failure to queue is reported by the drain (the pipeline is then aborted) */
        if (sent == 1 && res == NULL && pc->queued < 64) return VT_OK;
        sqlres tmp = {0};
        vt_err rc = pipe_drain(pc, res ? &tmp : NULL, err);
        if (rc == VT_OK && sent != 1) rc = pg_fail(pc, NULL, "statement", err);
        if (rc == VT_OK && res) *res = tmp;
        else sqlres_free(&tmp);
        return rc;
    }
    PGresult *r;
    if (slot >= 0) {
        r = pc->api.exec_prepared(pc->c, name, (int)np, vals, lens, fmts, 0);
    } else {
        r = pc->api.exec_params(pc->c, sql, (int)np, types, vals, lens, fmts, 0);
    }
    ExecStatusType st = r ? pc->api.result_status(r) : PGRES_FATAL_ERROR;
    vt_err rc = VT_OK;
    sqlres tmp = {0};
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) rc = pg_fail(pc, r, "statement", err);
    else rc = copy_result(pc, r, &tmp, err);
    pc->api.clear(r);
    if (rc == VT_OK && res) *res = tmp;
    else sqlres_free(&tmp);
    return rc;
}

/* BEGIN is queued: it travels with the transaction's first statement whose rows are wanted. */
static vt_err pg_begin(void *conn, vt_error *err)
{
    pg_conn *pc = conn;
    pg_revive(pc);
    if (pc->api.enter_pipeline != NULL && pc->api.status(pc->c) == CONNECTION_OK &&
        pc->api.enter_pipeline(pc->c) == 1) {
        pc->pipe = true;
        pc->queued = 0;
        if (pc->api.send_query_params(pc->c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) != 1) {
            vt_err rc = pg_fail(pc, NULL, "begin", err);
            pipe_drain(pc, NULL, NULL);
            pipe_leave(pc);
            return rc;
        }
        pc->queued = 1;
    } else {
        VT_GUARD(plain_script(pc, "BEGIN", err));
    }
    pc->in_txn = true;
    return VT_OK;
}

/* COMMIT goes with the statements still queued, in one round trip. */
static vt_err pg_commit(void *conn, vt_error *err)
{
    pg_conn *pc = conn;
    pc->in_txn = false;
    if (!pc->pipe) return plain_script(pc, "COMMIT", err);
    vt_err rc = pc->api.send_query_params(pc->c, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) == 1
                    ? VT_OK
                    : pg_fail(pc, NULL, "commit", err);
    if (rc == VT_OK) pc->queued++;
    vt_err drc = pipe_drain(pc, NULL, rc == VT_OK ? err : NULL);
    pipe_leave(pc);
    return rc != VT_OK ? rc : drc;
}

static void pg_rollback(void *conn)
{
    pg_conn *pc = conn;
    pc->in_txn = false;
    if (pc->pipe) {
        if (pc->api.status(pc->c) == CONNECTION_OK) pipe_drain(pc, NULL, NULL);
        pipe_leave(pc);
    }
    if (pc->api.status(pc->c) == CONNECTION_OK) pc->api.clear(pc->api.exec(pc->c, "ROLLBACK"));
}

static vt_err pg_lock(void *conn, const char *what, vt_error *err)
{
    sqlval p[] = {P_TEXT(what)};
    return pg_exec(conn, "SELECT pg_advisory_xact_lock(7007, hashtext($1))", p, 1, NULL, err);
}

static void quiet_notices(void *arg, const char *message)
{
}

static const sqldrv pg_drv = {
    .name = "postgres",
    .dialect = DIALECT_PG,
    .close = pg_close,
    .script = pg_script,
    .exec = pg_exec,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .lock = pg_lock,
    .defer_sql = "SET LOCAL synchronous_commit TO OFF",
    .refresh = pg_refresh,
};

vt_err store_pg_connect(const char *url, int busy_ms, const sqldrv **drv, void **conn,
                        vt_error *err)
{
    pg_conn *pc = calloc(1, sizeof *pc);
    if (pc == NULL) return vt_error_set(err, VT_E_NOMEM, "store", "out of memory");
    vt_err rc = pg_load(&pc->api, err);
    if (rc != VT_OK) {
        free(pc);
        return rc;
    }
    pc->c = pc->api.connectdb(url);
    if (pc->c == NULL || pc->api.status(pc->c) != CONNECTION_OK) {
        const char *m = pc->c ? pc->api.error_message(pc->c) : "out of memory";
        vt_error_set(err, VT_E_IO, "store", "cannot connect to postgres: %.*s", (int)strcspn(m, "\n"), m);
        pg_close(pc);
        return VT_E_IO;
    }
    pc->api.set_notice_processor(pc->c, quiet_notices, NULL);
    snprintf(pc->settings, sizeof pc->settings, "SET lock_timeout = %d; SET statement_timeout = %d",
             busy_ms, busy_ms * 6);
    rc = plain_script(pc, pc->settings, err);
    if (rc != VT_OK) {
        pg_close(pc);
        return rc;
    }
    *drv = &pg_drv;
    *conn = pc;
    return VT_OK;
}
