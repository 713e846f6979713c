/* Versioned schema migrations, applied in order inside one locked write transaction, so
 * several nodes starting at once on one PostgreSQL database migrate exactly once. */
#include <stdio.h>
#include <string.h>

#include "sql.h"

typedef struct migration {
    int version;
    const char *sqlite;
    const char *pg;
} migration;

#define ZERO_HASH "'0000000000000000000000000000000000000000000000000000000000000000'"

#define COMMON_TABLES(BLOB)                                                                         \
    "CREATE TABLE sessions(id TEXT PRIMARY KEY, tee TEXT NOT NULL, nonce TEXT NOT NULL,"            \
    " request TEXT NOT NULL, token TEXT, created BIGINT NOT NULL, expires BIGINT NOT NULL);"        \
    "CREATE INDEX sessions_expires ON sessions(expires);"                                           \
    "CREATE TABLE nonces(nonce TEXT PRIMARY KEY, expires BIGINT NOT NULL);"                         \
    "CREATE TABLE resources(path TEXT NOT NULL, version BIGINT NOT NULL, value " BLOB " NOT NULL,"  \
    " created BIGINT NOT NULL, revoked BIGINT NOT NULL DEFAULT 0, PRIMARY KEY(path, version));"    \
    "CREATE TABLE docs(kind INTEGER NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,"              \
    " updated BIGINT NOT NULL, PRIMARY KEY(kind, name));"                                           \
    "CREATE TABLE admin_jti(jti TEXT PRIMARY KEY, expires BIGINT NOT NULL);"                        \
    "CREATE TABLE audit(seq BIGINT PRIMARY KEY, time BIGINT NOT NULL, actor TEXT NOT NULL,"         \
    " action TEXT NOT NULL, subject TEXT NOT NULL, outcome TEXT NOT NULL, details TEXT NOT NULL,"   \
    " prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"                                                \
    "CREATE TABLE audit_head(id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL,"           \
    " hash TEXT NOT NULL);"                                                                         \
    "INSERT INTO audit_head VALUES (1, 0, " ZERO_HASH ");"                                           \
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"

/* The audit table refuses UPDATE and DELETE (defence in depth: the hash chain is what
 * proves integrity, since whoever owns the database can drop these triggers). */
static const migration migrations[] = {
    {1,
     COMMON_TABLES("BLOB")
     "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
     " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
     "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
     " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;",
     COMMON_TABLES("BYTEA")
     "CREATE FUNCTION veritee_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS"
     " $f$ BEGIN RAISE EXCEPTION 'audit log is append-only'; END $f$;"
     "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit"
     " FOR EACH ROW EXECUTE FUNCTION veritee_audit_append_only();"
     "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit"
     " FOR EACH STATEMENT EXECUTE FUNCTION veritee_audit_append_only();"},
    /* 2: sessions remember the client address, for the per-client session limit. */
    {2,
     "ALTER TABLE sessions ADD COLUMN client TEXT NOT NULL DEFAULT '';"
     "CREATE INDEX sessions_client ON sessions(client, expires);",
     "ALTER TABLE sessions ADD COLUMN client TEXT NOT NULL DEFAULT '';"
     "CREATE INDEX sessions_client ON sessions(client, expires);"},
    /* 3 (PostgreSQL): sessions and nonces are UNLOGGED. Losing them is harmless (a guest whose
     * session or challenge is gone gets a clean error and starts its round again; a nonce that is
     * gone cannot be used, so no replay), and it spares their writes the WAL and the commit's
     * flush: a transaction that wrote only unlogged tables commits without waiting for the disk.
     * A crash empties both tables (a clean shutdown keeps them); standbys do not receive them.
     * Audit records, resources, documents and admin token ids stay logged and durable. SQLite:
     * nothing (store_exec_volatile already commits these without the flush). */
    {3, "",
     "ALTER TABLE sessions SET UNLOGGED;"
     "ALTER TABLE nonces SET UNLOGGED;"},
    /* 4: the session limits count sessions still waiting for their attestation (token NULL): a
     * session that passed attestation was opened by a genuine TEE, and counting those capped a
     * busy broker at max_sessions / session lifetime rounds per second (10,000 / 300 s = 33/s
     * by default). Partial indexes keep that count to the few rounds in flight. */
    {4,
     "CREATE INDEX sessions_pending ON sessions(expires) WHERE token IS NULL;"
     "CREATE INDEX sessions_pending_client ON sessions(client, expires) WHERE token IS NULL;",
     "CREATE INDEX sessions_pending ON sessions(expires) WHERE token IS NULL;"
     "CREATE INDEX sessions_pending_client ON sessions(client, expires) WHERE token IS NULL;"},
    /* 5 (SQLite): sessions and nonces leave the database file for the volatile file beside it
     * (sqlite.c, attach_volatile), where they are written without a flush and never weigh on the
     * durable WAL; the rows of the old tables are dropped (a guest in the middle of a round at
     * the upgrade starts over). PostgreSQL: nothing (schema 3 made them UNLOGGED). */
    {5,
     "DROP TABLE IF EXISTS main.sessions;"
     "DROP TABLE IF EXISTS main.nonces;",
     ""},
    /* 6: the documents' generation, a number every write to docs changes in its own
     * transaction (triggers, so that no writer can forget it): a node keeps the policies and
     * reference values it parsed and reads this one row to know they are still the stored ones,
     * instead of reading and parsing every document for every attestation. Written to run again
     * over itself (a store whose version rows were rewound, as the upgrade tests do). */
    {6,
     "CREATE TABLE IF NOT EXISTS docs_gen(id INTEGER PRIMARY KEY CHECK (id = 1), gen BIGINT NOT NULL);"
     "INSERT INTO docs_gen VALUES (1, 1) ON CONFLICT (id) DO NOTHING;"
     "CREATE TRIGGER IF NOT EXISTS docs_gen_insert AFTER INSERT ON docs"
     " BEGIN UPDATE docs_gen SET gen = gen + 1 WHERE id = 1; END;"
     "CREATE TRIGGER IF NOT EXISTS docs_gen_update AFTER UPDATE ON docs"
     " BEGIN UPDATE docs_gen SET gen = gen + 1 WHERE id = 1; END;"
     "CREATE TRIGGER IF NOT EXISTS docs_gen_delete AFTER DELETE ON docs"
     " BEGIN UPDATE docs_gen SET gen = gen + 1 WHERE id = 1; END;",
     "CREATE TABLE IF NOT EXISTS docs_gen(id INTEGER PRIMARY KEY CHECK (id = 1), gen BIGINT NOT NULL);"
     "INSERT INTO docs_gen VALUES (1, 1) ON CONFLICT (id) DO NOTHING;"
     "CREATE OR REPLACE FUNCTION veritee_docs_gen() RETURNS trigger LANGUAGE plpgsql AS"
     " $f$ BEGIN UPDATE docs_gen SET gen = gen + 1 WHERE id = 1; RETURN NULL; END $f$;"
     "DROP TRIGGER IF EXISTS docs_gen_change ON docs;"
     "CREATE TRIGGER docs_gen_change AFTER INSERT OR UPDATE OR DELETE ON docs"
     " FOR EACH ROW EXECUTE FUNCTION veritee_docs_gen();"
     "DROP TRIGGER IF EXISTS docs_gen_truncate ON docs;"
     "CREATE TRIGGER docs_gen_truncate AFTER TRUNCATE ON docs"
     " FOR EACH STATEMENT EXECUTE FUNCTION veritee_docs_gen();"},
    /* 7: the audit log can be archived (`veritee audit archive`). audit_base names the last
     * record moved out of the store (0 and zeros before any): it only moves forward, and only
     * onto a stored record with that record's hash; DELETE is refused for every record after it,
     * so the append-only triggers still refuse all but the archived prefix. The chain itself
     * (the first stored record's prev_hash is the base's hash) and the archive files are what
     * prove the history. Written to run again over itself. */
    {7,
     "CREATE TABLE IF NOT EXISTS audit_base(id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL,"
     " hash TEXT NOT NULL);"
     "INSERT INTO audit_base VALUES (1, 0, " ZERO_HASH ") ON CONFLICT (id) DO NOTHING;"
     "DROP TRIGGER IF EXISTS audit_no_delete;"
     "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
     " WHEN old.seq > (SELECT seq FROM audit_base WHERE id = 1)"
     " BEGIN SELECT RAISE(ABORT, 'audit log is append-only (only archived records may be deleted)'); END;"
     "DROP TRIGGER IF EXISTS audit_base_forward;"
     "CREATE TRIGGER audit_base_forward BEFORE UPDATE ON audit_base"
     " WHEN new.id IS NOT old.id OR new.seq <= old.seq"
     " OR new.hash IS NOT (SELECT hash FROM audit WHERE seq = new.seq)"
     " BEGIN SELECT RAISE(ABORT, 'the audit archive base only moves forward, onto a stored record'); END;"
     "DROP TRIGGER IF EXISTS audit_base_no_delete;"
     "CREATE TRIGGER audit_base_no_delete BEFORE DELETE ON audit_base"
     " BEGIN SELECT RAISE(ABORT, 'the audit archive base cannot be deleted'); END;",
     "CREATE TABLE IF NOT EXISTS audit_base(id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL,"
     " hash TEXT NOT NULL);"
     "INSERT INTO audit_base VALUES (1, 0, " ZERO_HASH ") ON CONFLICT (id) DO NOTHING;"
     "CREATE OR REPLACE FUNCTION veritee_audit_delete() RETURNS trigger LANGUAGE plpgsql AS"
     " $f$ BEGIN IF OLD.seq > (SELECT seq FROM audit_base WHERE id = 1) THEN"
     " RAISE EXCEPTION 'audit log is append-only (only archived records may be deleted)'; END IF;"
     " RETURN OLD; END $f$;"
     "DROP TRIGGER IF EXISTS audit_no_change ON audit;"
     "CREATE TRIGGER audit_no_change BEFORE UPDATE ON audit"
     " FOR EACH ROW EXECUTE FUNCTION veritee_audit_append_only();"
     "DROP TRIGGER IF EXISTS audit_no_delete ON audit;"
     "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
     " FOR EACH ROW EXECUTE FUNCTION veritee_audit_delete();"
     "CREATE OR REPLACE FUNCTION veritee_audit_base_forward() RETURNS trigger LANGUAGE plpgsql AS"
     " $f$ BEGIN IF TG_OP <> 'UPDATE' OR NEW.id <> OLD.id OR NEW.seq <= OLD.seq"
     " OR NEW.hash IS DISTINCT FROM (SELECT hash FROM audit WHERE seq = NEW.seq) THEN"
     " RAISE EXCEPTION 'the audit archive base only moves forward, onto a stored record'; END IF;"
     " RETURN NEW; END $f$;"
     "DROP TRIGGER IF EXISTS audit_base_forward ON audit_base;"
     "CREATE TRIGGER audit_base_forward BEFORE UPDATE OR DELETE ON audit_base"
     " FOR EACH ROW EXECUTE FUNCTION veritee_audit_base_forward();"
     "DROP TRIGGER IF EXISTS audit_base_no_truncate ON audit_base;"
     "CREATE TRIGGER audit_base_no_truncate BEFORE TRUNCATE ON audit_base"
     " FOR EACH STATEMENT EXECUTE FUNCTION veritee_audit_append_only();"},
};

#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])

static vt_err read_version(vt_store *s, void *conn, int *out, vt_error *err)
{
    sqlres r = {0};
    VT_GUARD(s->drv->exec(conn, "SELECT max(version) FROM schema_version", NULL, 0, &r, err));
    *out = r.rows == 1 && sqlres_get(&r, 0, 0) ? (int)sqlres_int(&r, 0, 0) : 0;
    sqlres_free(&r);
    return VT_OK;
}

static vt_err migrate_locked(vt_store *s, vt_error *err)
{
    void *conn = store_tx_conn(s);
    VT_GUARD(s->drv->lock(conn, "schema", err));
    VT_GUARD(s->drv->script(conn,
                            "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL, applied BIGINT NOT NULL)",
                            err));
    int have = 0;
    VT_GUARD(read_version(s, conn, &have, err));
    int newest = migrations[N_MIGRATIONS - 1].version;
    if (have > newest)
        return vt_error_set(err, VT_E_UNSUPPORTED, "store_schema",
                            "store schema version %d is newer than this veritee supports (%d)", have, newest);
    for (size_t i = 0; i < N_MIGRATIONS; i++) {
        const migration *m = &migrations[i];
        if (m->version <= have) continue;
        const char *sql = s->drv->dialect == DIALECT_PG ? m->pg : m->sqlite;
        vt_err rc = *sql != 0 ? s->drv->script(conn, sql, err) : VT_OK; /* nothing to do on this backend */
        if (rc != VT_OK) return vt_error_wrap(err, "schema migration to version %d", m->version);
        sqlval p[] = {P_INT(m->version)};
        VT_GUARD(s->drv->exec(conn,
                              "INSERT INTO schema_version(version, applied) VALUES ($1, 0)", p, 1,
                              NULL, err));
    }
    return VT_OK;
}

vt_err store_migrate(vt_store *s, vt_error *err)
{
    VT_GUARD(store_begin(s, err));
    return store_end(s, migrate_locked(s, err), err);
}

vt_err store_check_schema(vt_store *s, const char *url, vt_error *err)
{
    int have = 0;
    vt_error ignored;
    store_conn *c = store_grab(s);
    vt_err vr = read_version(s, c->conn, &have, &ignored);
    store_release(c);
    if (vr != VT_OK || have == 0)
        return vt_error_set(err, VT_E_MISSING, "store_schema", "%s is not a veritee store (no schema)", url);
    int newest = migrations[N_MIGRATIONS - 1].version;
    if (have != newest)
        return vt_error_set(err, VT_E_UNSUPPORTED, "store_schema",
                            "store schema version %d, this veritee reads %d (a read-only open does not migrate)",
                            have, newest);
    return VT_OK;
}

vt_err vt_store_schema_version(vt_store *s, int *out, vt_error *err)
{
    store_conn *c = store_grab(s);
    vt_err rc = read_version(s, c->conn, out, err);
    store_release(c);
    return rc;
}
