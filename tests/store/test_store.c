/* Store tests, run against SQLite and against a real PostgreSQL (tests/fixtures/pg-start.sh):
 * schema, sessions shared between handles, single-use nonces under a race, versioned
 * resources sealed with the KEK, documents, admin token ids. */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pg_fixture.h"
#include "store/sql.h" /* white box: the group commit's counters */
#include "testutil.h"
#include "veritee/crypto.h"
#include "veritee/fileio.h"
#include "veritee/store.h"

typedef struct backend {
    const char *name;
    bool is_pg;
    pg_fixture *pg;
} backend;

static pg_fixture g_pg;
static backend be_sqlite = {"sqlite", false, NULL};
static backend be_pg = {"postgres", true, &g_pg};

static const uint8_t KEY_A[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t KEY_B[32] = {0xb0};

/* A store URL for one test: a fresh SQLite file, or the shared PostgreSQL database. */
static void store_url(void **state, char *url, size_t cap)
{
    backend *b = *state;
    if (b->is_pg) {
        if (!b->pg->up) skip();
        snprintf(url, cap, "%s", b->pg->url);
        return;
    }
    char dir[128];
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(url, cap, "sqlite:%s/store.db", dir);
}

/* Keys unique across tests (the PostgreSQL database is shared by all of them). */
static void uniq(char *out, size_t cap, const char *what)
{
    static int n;
    snprintf(out, cap, "%s-%d-%d", what, (int)getpid(), ++n);
}

static vt_store *open_store(const char *url, const vt_kek *kek)
{
    vt_error e = {0};
    vt_store *s = NULL;
    vt_store_opts o = {.kek = kek};
    vt_err rc = vt_store_open(url, &o, &s, &e);
    if (rc != VT_OK) fail_msg("open %s: %s", url, e.msg);
    return s;
}

static vt_kek *kek(const uint8_t *k)
{
    vt_kek *x = NULL;
    vt_error e;
    assert_int_equal(vt_kek_from_bytes(k, 32, &x, &e), VT_OK);
    return x;
}

static void test_open_migrate(void **state)
{
    char url[300];
    store_url(state, url, sizeof url);
    vt_error e = {0};
    vt_store *s = open_store(url, NULL);
    int v = 0;
    assert_int_equal(vt_store_schema_version(s, &v, &e), VT_OK);
    assert_int_equal(v, VT_STORE_SCHEMA_VERSION);
    assert_string_equal(vt_store_backend(s), ((backend *)*state)->name);
    assert_int_equal(vt_store_ping(s, &e), VT_OK);
    vt_store_close(s);
    s = open_store(url, NULL); /* migrations are idempotent */
    assert_int_equal(vt_store_schema_version(s, &v, &e), VT_OK);
    assert_int_equal(v, VT_STORE_SCHEMA_VERSION);
    vt_store_close(s);
}

/* A read-only open (audit verify) never creates anything: a missing file or an empty database is
 * VT_E_MISSING and stays missing/empty; an existing store opens. */
static void test_open_existing(void **state)
{
    char dir[128], path[256], url[300];
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/mistyped.db", dir);
    snprintf(url, sizeof url, "sqlite:%s", path);
    vt_error e = {0};
    vt_store *s = NULL;
    vt_store_opts ro = {.existing = true};
    assert_int_equal(vt_store_open(url, &ro, &s, &e), VT_E_MISSING);
    assert_null(s);
    assert_non_null(strstr(e.msg, "does not exist"));
    assert_false(vt_file_exists(path));
    /* an empty SQLite file: no schema, none created */
    assert_int_equal(vt_file_write(path, "", 0, &e), VT_OK);
    assert_int_equal(vt_store_open(url, &ro, &s, &e), VT_E_MISSING);
    assert_non_null(strstr(e.msg, "not a veritee store"));
    assert_int_equal(vt_store_open(url, &ro, &s, &e), VT_E_MISSING); /* still no schema */
    /* created by a normal open, then the read-only open works */
    s = open_store(url, NULL);
    vt_store_close(s);
    s = NULL;
    assert_int_equal(vt_store_open(url, &ro, &s, &e), VT_OK);
    int v = 0;
    assert_int_equal(vt_store_schema_version(s, &v, &e), VT_OK);
    assert_int_equal(v, VT_STORE_SCHEMA_VERSION);
    vt_store_close(s);
    (void)state;
}

static void test_bad_urls(void **state)
{
    vt_error e = {0};
    vt_store *s = NULL;
    assert_int_equal(vt_store_open("mysql://x", NULL, &s, &e), VT_E_ARG);
    assert_null(s);
    assert_int_equal(vt_store_open("sqlite:", NULL, &s, &e), VT_E_ARG);
    assert_int_equal(vt_store_open("sqlite:/nonexistent-dir/x/y.db", NULL, &s, &e), VT_E_IO);
    /* Not a database file. */
    char dir[128], path[256], url[300];
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/junk.db", dir);
    assert_int_equal(vt_file_write(path, "this is not sqlite, just text that is long enough....", 52, &e), VT_OK);
    snprintf(url, sizeof url, "sqlite:%s", path);
    assert_int_not_equal(vt_store_open(url, NULL, &s, &e), VT_OK);
    assert_null(s);
    /* Nothing listens there: a clean I/O error, no hang. */
    assert_int_equal(vt_store_open("postgres://nobody@127.0.0.1:1/none?connect_timeout=3", NULL, &s, &e), VT_E_IO);
    assert_non_null(strstr(e.msg, "cannot connect to postgres"));
}

static void test_sessions(void **state)
{
    char url[300], id[64];
    store_url(state, url, sizeof url);
    uniq(id, sizeof id, "s");
    vt_store *s = open_store(url, NULL);
    vt_error e = {0};
    vt_session in = {.tee = "tdx", .nonce = "bm9uY2U=", .request = "{\"version\":\"0.4.0\"}",
                     .created = 1000, .expires = 1300};
    snprintf(in.id, sizeof in.id, "%s", id);
    assert_int_equal(vt_store_session_put(s, &in, &e), VT_OK);
    assert_int_equal(vt_store_session_put(s, &in, &e), VT_E_ARG);
    vt_session out;
    assert_int_equal(vt_store_session_get(s, id, 1100, &out, &e), VT_OK);
    assert_string_equal(out.tee, "tdx");
    assert_string_equal(out.nonce, "bm9uY2U=");
    assert_string_equal(out.request, "{\"version\":\"0.4.0\"}");
    assert_null(out.token);
    assert_int_equal(out.expires, 1300);
    vt_session_clear(&out);
    uint64_t n = 0;
    assert_int_equal(vt_store_session_count(s, 1100, &n, &e), VT_OK);
    assert_true(n >= 1);
    assert_int_equal(vt_store_session_set_token(s, id, "eyJ.token.sig", 1100, &e), VT_OK);
    assert_int_equal(vt_store_session_get(s, id, 1200, &out, &e), VT_OK);
    assert_string_equal(out.token, "eyJ.token.sig");
    vt_session_clear(&out);
    /* Expired: refused, and deleted on the way. */
    assert_int_equal(vt_store_session_set_token(s, id, "x", 1300, &e), VT_E_MISSING);
    assert_int_equal(vt_store_session_get(s, id, 1300, &out, &e), VT_E_EXPIRED);
    assert_int_equal(vt_store_session_get(s, id, 1000, &out, &e), VT_E_MISSING);
    assert_int_equal(vt_store_session_get(s, "no-such", 1000, &out, &e), VT_E_MISSING);
    assert_int_equal(vt_store_session_get(s, "bad\nid", 1000, &out, &e), VT_E_ARG);
    /* Sweep removes expired sessions, nonces and token ids. */
    uniq(in.id, sizeof in.id, "s");
    assert_int_equal(vt_store_session_put(s, &in, &e), VT_OK);
    uint64_t removed = 0;
    assert_int_equal(vt_store_sweep(s, 1300, &removed, &e), VT_OK);
    assert_true(removed >= 1);
    assert_int_equal(vt_store_session_get(s, in.id, 1000, &out, &e), VT_E_MISSING);
    /* more than one batch of the sweep (256): every expired row goes, no live one */
    const vt_time far = 9000000000LL;
    vt_session live = in;
    uniq(live.id, sizeof live.id, "live");
    live.created = far;
    live.expires = far + 1000;
    assert_int_equal(vt_store_session_put(s, &live, &e), VT_OK);
    for (int i = 0; i < 600; i++) {
        vt_session x = in;
        uniq(x.id, sizeof x.id, "batch");
        x.created = far - 100;
        x.expires = far - 10;
        assert_int_equal(vt_store_session_put(s, &x, &e), VT_OK);
        char bn[64];
        uniq(bn, sizeof bn, "bn");
        assert_int_equal(vt_store_nonce_put(s, bn, far - 10, &e), VT_OK);
    }
    assert_int_equal(vt_store_sweep(s, far, &removed, &e), VT_OK);
    assert_true(removed >= 1200); /* and whatever other tests left expired */
    uint64_t left = 1;
    assert_int_equal(vt_store_session_count(s, 0, &left, &e), VT_OK); /* every row still stored */
    assert_int_equal(left, 1);
    assert_int_equal(vt_store_session_get(s, live.id, far, &out, &e), VT_OK);
    vt_session_clear(&out);
    assert_int_equal(vt_store_session_delete(s, live.id, &e), VT_OK); /* the database is shared by later tests */
    vt_store_close(s);
}

/* kbs-protocol.md §9 across replicas: begun on node A, attested on node B. */
static void test_session_two_handles(void **state)
{
    char url[300], id[64], nonce[64];
    store_url(state, url, sizeof url);
    uniq(id, sizeof id, "shared");
    uniq(nonce, sizeof nonce, "n");
    vt_store *a = open_store(url, NULL), *b = open_store(url, NULL);
    vt_error e = {0};
    vt_session in = {.tee = "snp", .nonce = nonce, .request = "{}", .created = 50, .expires = 350};
    snprintf(in.id, sizeof in.id, "%s", id);
    assert_int_equal(vt_store_session_put(a, &in, &e), VT_OK);
    assert_int_equal(vt_store_nonce_put(a, nonce, 350, &e), VT_OK);
    vt_session got;
    if (!((backend *)*state)->is_pg) {
        /* SQLite is one node: a pending session and a nonce are the handle's own (in memory);
         * once attested, the session is in the sessions file and every handle finds it */
        assert_int_equal(vt_store_session_get(b, id, 60, &got, &e), VT_E_MISSING);
        assert_int_equal(vt_store_nonce_consume(b, nonce, 60, &e), VT_E_VERIFY);
        assert_int_equal(vt_store_nonce_consume(a, nonce, 60, &e), VT_OK);
        assert_int_equal(vt_store_session_set_token(a, id, "tok-from-a", 60, &e), VT_OK);
        assert_int_equal(vt_store_session_get(b, id, 61, &got, &e), VT_OK);
        assert_string_equal(got.token, "tok-from-a");
        assert_string_equal(got.nonce, nonce);
        vt_session_clear(&got);
        assert_int_equal(vt_store_session_set_token(b, id, "tok-from-b", 61, &e), VT_OK); /* replaced */
        assert_int_equal(vt_store_session_get(a, id, 62, &got, &e), VT_OK);
        assert_string_equal(got.token, "tok-from-b");
        vt_session_clear(&got);
        vt_store_close(a);
        vt_store_close(b);
        return;
    }
    assert_int_equal(vt_store_session_get(b, id, 60, &got, &e), VT_OK);
    assert_string_equal(got.nonce, nonce);
    assert_int_equal(vt_store_nonce_consume(b, got.nonce, 60, &e), VT_OK);
    assert_int_equal(vt_store_session_set_token(b, id, "tok-from-b", 60, &e), VT_OK);
    vt_session_clear(&got);
    assert_int_equal(vt_store_session_get(a, id, 61, &got, &e), VT_OK);
    assert_string_equal(got.token, "tok-from-b");
    vt_session_clear(&got);
    assert_int_equal(vt_store_nonce_consume(a, nonce, 61, &e), VT_E_VERIFY);
    vt_store_close(a);
    vt_store_close(b);
}

static void test_nonces(void **state)
{
    char url[300], n1[64], n2[64];
    store_url(state, url, sizeof url);
    uniq(n1, sizeof n1, "n");
    uniq(n2, sizeof n2, "n");
    vt_store *s = open_store(url, NULL);
    vt_error e = {0};
    assert_int_equal(vt_store_nonce_put(s, n1, 100, &e), VT_OK);
    assert_int_equal(vt_store_nonce_put(s, n1, 100, &e), VT_E_ARG);
    assert_int_equal(vt_store_nonce_consume(s, n1, 99, &e), VT_OK);
    assert_int_equal(vt_store_nonce_consume(s, n1, 99, &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "replay"));
    assert_int_equal(vt_store_nonce_put(s, n2, 100, &e), VT_OK);
    assert_int_equal(vt_store_nonce_consume(s, n2, 100, &e), VT_E_EXPIRED);
    assert_int_equal(vt_store_nonce_consume(s, n2, 50, &e), VT_E_VERIFY); /* gone */
    assert_int_equal(vt_store_nonce_consume(s, "never-issued", 50, &e), VT_E_VERIFY);
    vt_store_close(s);
}

typedef struct racer {
    vt_store *s;
    const char *nonce;
    pthread_barrier_t *go;
    vt_err rc;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    vt_error e;
    pthread_barrier_wait(r->go);
    r->rc = vt_store_nonce_consume(r->s, r->nonce, 10, &e);
    return NULL;
}

/* Two handles (two nodes) race to consume each nonce: exactly one wins every time. */
static void test_nonce_race(void **state)
{
    char url[300];
    store_url(state, url, sizeof url);
    /* SQLite (one node, nonces in the handle's memory): two threads of one handle race */
    bool pg = ((backend *)*state)->is_pg;
    vt_store *a = open_store(url, NULL), *b = pg ? open_store(url, NULL) : a;
    vt_error e = {0};
    for (int i = 0; i < 40; i++) {
        char nonce[64];
        uniq(nonce, sizeof nonce, "race");
        assert_int_equal(vt_store_nonce_put(a, nonce, 1000, &e), VT_OK);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 2);
        racer r1 = {a, nonce, &go, -1}, r2 = {b, nonce, &go, -1};
        pthread_t t1, t2;
        pthread_create(&t1, NULL, race, &r1);
        pthread_create(&t2, NULL, race, &r2);
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        pthread_barrier_destroy(&go);
        assert_true((r1.rc == VT_OK) != (r2.rc == VT_OK));
        assert_true(r1.rc == VT_E_VERIFY || r2.rc == VT_E_VERIFY);
    }
    vt_store_close(a);
    if (b != a) vt_store_close(b);
}

static void expect_res(vt_store *s, const char *path, int64_t version, const char *want, int64_t want_v)
{
    vt_buf v = {0};
    vt_error e = {0};
    int64_t got = 0;
    vt_err rc = vt_store_resource_get(s, path, version, &v, &got, &e);
    if (rc != VT_OK) fail_msg("get %s v%lld: %s", path, (long long)version, e.msg);
    assert_int_equal(v.len, strlen(want));
    assert_memory_equal(v.ptr, want, v.len);
    assert_int_equal(got, want_v);
    vt_buf_free_secret(&v);
}

static void test_resources(void **state)
{
    char url[300], path[128];
    store_url(state, url, sizeof url);
    uniq(path, sizeof path, "default/key");
    vt_kek *k = kek(KEY_A);
    vt_store *s = open_store(url, k);
    vt_error e = {0};
    int64_t v = 0;
    assert_int_equal(vt_store_resource_put(s, path, (const uint8_t *)"one", 3, 10, &v, &e), VT_OK);
    assert_int_equal(v, 1);
    assert_int_equal(vt_store_resource_put(s, path, (const uint8_t *)"two", 3, 20, &v, &e), VT_OK);
    assert_int_equal(v, 2);
    expect_res(s, path, 0, "two", 2);
    expect_res(s, path, 1, "one", 1);
    vt_resource_version *vs = NULL;
    size_t n = 0;
    assert_int_equal(vt_store_resource_versions(s, path, &vs, &n, &e), VT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(vs[0].version, 1);
    assert_int_equal(vs[1].created, 20);
    assert_int_equal(vs[1].revoked, 0);
    free(vs);
    /* Revoking the newest makes the previous one current; the revoked one is refused. */
    assert_int_equal(vt_store_resource_revoke(s, path, 2, 30, &e), VT_OK);
    assert_int_equal(vt_store_resource_revoke(s, path, 2, 31, &e), VT_OK);
    expect_res(s, path, 0, "one", 1);
    vt_buf x = {0};
    assert_int_equal(vt_store_resource_get(s, path, 2, &x, NULL, &e), VT_E_REVOKED);
    assert_int_equal(vt_store_resource_get(s, path, 9, &x, NULL, &e), VT_E_MISSING);
    assert_int_equal(vt_store_resource_revoke(s, path, 9, 31, &e), VT_E_MISSING);
    /* Rotation: a new version and every older live one revoked, atomically. */
    assert_int_equal(vt_store_resource_rotate(s, path, (const uint8_t *)"three", 5, 40, &v, &e), VT_OK);
    assert_int_equal(v, 3);
    expect_res(s, path, 0, "three", 3);
    assert_int_equal(vt_store_resource_get(s, path, 1, &x, NULL, &e), VT_E_REVOKED);
    assert_int_equal(vt_store_resource_versions(s, path, &vs, &n, &e), VT_OK);
    assert_int_equal(n, 3);
    assert_int_equal(vs[0].revoked, 40);
    assert_int_equal(vs[1].revoked, 30);
    /* each version's digest is its value's SHA-256, revoked ones included */
    const char *vals[3] = {"one", "two", "three"};
    for (size_t i = 0; i < 3; i++) {
        uint8_t want[32];
        assert_int_equal(vt_hash(VT_SHA256, vals[i], strlen(vals[i]), want, &e), VT_OK);
        assert_true(vs[i].has_sha256);
        assert_memory_equal(vs[i].sha256, want, 32);
    }
    free(vs);
    /* Fail closed when every version is revoked. */
    assert_int_equal(vt_store_resource_revoke(s, path, 3, 50, &e), VT_OK);
    assert_int_equal(vt_store_resource_get(s, path, 0, &x, NULL, &e), VT_E_REVOKED);
    char **paths = NULL;
    assert_int_equal(vt_store_resource_paths(s, &paths, &n, &e), VT_OK);
    bool found = false;
    for (size_t i = 0; i < n; i++) found |= strcmp(paths[i], path) == 0;
    assert_true(found);
    vt_store_strv_free(paths, n);
    assert_int_equal(vt_store_resource_delete(s, path, &e), VT_OK);
    assert_int_equal(vt_store_resource_get(s, path, 0, &x, NULL, &e), VT_E_MISSING);
    assert_int_equal(vt_store_resource_delete(s, path, &e), VT_E_MISSING);
    assert_int_equal(vt_store_resource_versions(s, path, &vs, &n, &e), VT_E_MISSING);
    /* Empty value is a value. */
    assert_int_equal(vt_store_resource_put(s, path, NULL, 0, 60, &v, &e), VT_OK);
    expect_res(s, path, 0, "", 1);
    vt_store_close(s);
    vt_kek_free(k);
}

typedef struct putter {
    vt_store *s;
    const char *path;
    int64_t versions[10];
} putter;

static void *put_many(void *arg)
{
    putter *p = arg;
    vt_error e;
    for (int i = 0; i < 10; i++)
        if (vt_store_resource_put(p->s, p->path, (const uint8_t *)"v", 1, 1, &p->versions[i], &e) != VT_OK)
            p->versions[i] = -1;
    return NULL;
}

/* Two nodes creating versions of one resource at once get distinct, gapless versions. */
static void test_resource_concurrent_versions(void **state)
{
    char url[300], path[128];
    store_url(state, url, sizeof url);
    uniq(path, sizeof path, "conc/key");
    vt_kek *k = kek(KEY_A);
    vt_store *a = open_store(url, k), *b = open_store(url, k);
    putter pa = {a, path, {0}}, pb = {b, path, {0}};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, put_many, &pa);
    pthread_create(&t2, NULL, put_many, &pb);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    bool seen[21] = {false};
    for (int i = 0; i < 10; i++) {
        assert_in_range(pa.versions[i], 1, 20);
        assert_in_range(pb.versions[i], 1, 20);
        assert_false(seen[pa.versions[i]]);
        seen[pa.versions[i]] = true;
        assert_false(seen[pb.versions[i]]);
        seen[pb.versions[i]] = true;
    }
    vt_store_close(a);
    vt_store_close(b);
    vt_kek_free(k);
}

/* The raw stored bytes for path/version 1, hex. */
static void raw_value_hex(void **state, const char *url, const char *path, char *out, size_t cap)
{
    backend *b = *state;
    if (b->is_pg) {
        char sql[512];
        snprintf(sql, sizeof sql, "SELECT encode(value, 'hex') FROM resources WHERE path = '%s' AND version = 1", path);
        assert_true(pg_fixture_query(b->pg, sql, out, cap));
        return;
    }
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(url + 7, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT hex(value) FROM resources WHERE path = ?1 AND version = 1",
                                        -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    for (char *p = out; *p; p++) *p = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_kek_at_rest(void **state)
{
    char url[300], path[128], hex[512];
    store_url(state, url, sizeof url);
    uniq(path, sizeof path, "rest/key");
    const char *secret = "0123456789abcdef0123456789abcdef";
    vt_kek *ka = kek(KEY_A), *kb = kek(KEY_B);
    vt_store *s = open_store(url, ka);
    vt_error e = {0};
    assert_int_equal(vt_store_resource_put(s, path, (const uint8_t *)secret, 32, 1, NULL, &e), VT_OK);
    vt_store_close(s);
    raw_value_hex(state, url, path, hex, sizeof hex);
    char *plain_hex = vt_hex_dup((const uint8_t *)secret, 32);
    /* "VTK1" || kek id || nonce || ciphertext || tag: 40 bytes more, and no plaintext in it. */
    assert_int_equal(strlen(hex), 2 * (32 + 40));
    assert_memory_equal(hex, "56544b31", 8);
    assert_null(strstr(hex, plain_hex));
    assert_null(strstr(hex, "30313233343536373839"));
    free(plain_hex);
    if (!((backend *)*state)->is_pg) {
        /* Not in the database file either. */
        vt_buf file = {0};
        assert_int_equal(vt_file_read(url + 7, 64u << 20, &file, &e), VT_OK);
        for (size_t i = 0; i + 32 <= file.len; i++) assert_false(memcmp(file.ptr + i, secret, 32) == 0);
        vt_buf_free(&file);
        /* The wrong KEK fails cleanly at open, naming both key ids. */
        vt_store *w = NULL;
        vt_store_opts o = {.kek = kb};
        assert_int_equal(vt_store_open(url, &o, &w, &e), VT_E_VERIFY);
        assert_null(w);
        assert_non_null(strstr(e.msg, "wrong key-encryption key"));
    }
    /* Without a KEK, values cannot be opened (the rest of the store works). */
    vt_store *n = open_store(url, NULL);
    vt_buf v = {0};
    assert_int_equal(vt_store_resource_get(n, path, 0, &v, NULL, &e), VT_E_MISSING);
    assert_non_null(strstr(e.msg, "key-encryption key"));
    assert_int_equal(vt_store_resource_put(n, path, (const uint8_t *)"x", 1, 1, NULL, &e), VT_E_MISSING);
    vt_store_close(n);
    vt_kek_free(ka);
    vt_kek_free(kb);
}

/* A sealed value moved to another path (or version) no longer authenticates (AAD). */
static void test_kek_binding(void **state)
{
    char url[300]; /* SQLite only: the sealing code is the same for both backends */
    store_url(state, url, sizeof url);
    vt_kek *ka = kek(KEY_A), *kb = kek(KEY_B);
    vt_store *s = open_store(url, ka);
    vt_error e = {0};
    assert_int_equal(vt_store_resource_put(s, "r/t/a", (const uint8_t *)"secret-a", 8, 1, NULL, &e), VT_OK);
    assert_int_equal(vt_store_resource_put(s, "r/t/b", (const uint8_t *)"secret-b", 8, 1, NULL, &e), VT_OK);
    vt_store_close(s);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(url + 7, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE resources SET value = (SELECT value FROM resources WHERE path = 'r/t/a')"
                                      " WHERE path = 'r/t/b'", NULL, NULL, NULL), SQLITE_OK);
    vt_store_close(open_store(url, ka));
    s = open_store(url, ka);
    vt_buf v = {0};
    assert_int_equal(vt_store_resource_get(s, "r/t/b", 0, &v, NULL, &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "does not authenticate"));
    expect_res(s, "r/t/a", 0, "secret-a", 1);
    /* One changed ciphertext byte (the first, after "VTK1", the KEK id and the nonce). It was set
     * to 0xff, which left the record intact whenever that byte of the random ciphertext was 0xff
     * already: the store read it back and the test failed once in 256 runs. */
    assert_int_equal(sqlite3_exec(db, "UPDATE resources SET value = (SELECT substr(value, 1, 24) ||"
                                      " CASE WHEN substr(value, 25, 1) = x'ff' THEN x'fe' ELSE x'ff' END ||"
                                      " substr(value, 26) FROM resources WHERE path = 'r/t/a') WHERE path = 'r/t/a'",
                                  NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_changes(db), 1);
    assert_int_equal(vt_store_resource_get(s, "r/t/a", 0, &v, NULL, &e), VT_E_VERIFY);
    /* A record sealed under another KEK names the ids. */
    assert_int_equal(sqlite3_exec(db, "UPDATE resources SET value = substr(value, 1, 4) || x'0000000000000000' ||"
                                      " substr(value, 13) WHERE path = 'r/t/b'", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(vt_store_resource_get(s, "r/t/b", 0, &v, NULL, &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "KEK id 0000000000000000"));
    sqlite3_close(db);
    vt_store_close(s);
    vt_kek_free(ka);
    vt_kek_free(kb);
}

/* Rotating the KEK: every value re-sealed under the new key in one transaction; the old key
 * no longer opens the store, the new one reads every value back. */
static void test_kek_rekey(void **state)
{
    char url[300]; /* SQLite only: the PostgreSQL database is shared by the other tests' KEK */
    store_url(state, url, sizeof url);
    vt_kek *ka = kek(KEY_A), *kb = kek(KEY_B);
    vt_error e = {0};
    vt_store *s = open_store(url, ka);
    assert_int_equal(vt_store_resource_put(s, "r/t/a", (const uint8_t *)"secret-a1", 9, 1, NULL, &e), VT_OK);
    assert_int_equal(vt_store_resource_put(s, "r/t/a", (const uint8_t *)"secret-a2", 9, 1, NULL, &e), VT_OK);
    assert_int_equal(vt_store_resource_put(s, "r/t/b", (const uint8_t *)"secret-b", 8, 1, NULL, &e), VT_OK);
    size_t n = 0;
    assert_int_equal(vt_store_rekey(s, kb, &n, &e), VT_OK);
    assert_int_equal(n, 3);
    expect_res(s, "r/t/a", 0, "secret-a2", 2); /* the handle now uses the new KEK */
    vt_store_close(s);
    vt_store *w = NULL;
    vt_store_opts o = {.kek = ka};
    assert_int_equal(vt_store_open(url, &o, &w, &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "wrong key-encryption key"));
    s = open_store(url, kb);
    expect_res(s, "r/t/a", 1, "secret-a1", 1);
    expect_res(s, "r/t/a", 2, "secret-a2", 2);
    expect_res(s, "r/t/b", 0, "secret-b", 1);
    assert_int_equal(vt_store_rekey(s, NULL, &n, &e), VT_E_ARG);
    vt_store_close(s);
    vt_kek_free(ka);
    vt_kek_free(kb);
}

static void test_kek_loading(void **state)
{
    char dir[128], path[256];
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/kek", dir);
    vt_error e = {0};
    vt_kek *k = NULL, *ref = kek(KEY_A);
    char id_ref[17], id[17];
    vt_kek_id_hex(ref, id_ref);
    char *hex = vt_hex_dup(KEY_A, 32);
    char line[80];
    snprintf(line, sizeof line, "%s\n", hex);
    assert_int_equal(vt_file_write(path, line, strlen(line), &e), VT_OK);
    chmod(path, 0644);
    assert_int_equal(vt_kek_load_file(path, &k, &e), VT_E_ARG);
    assert_non_null(strstr(e.msg, "chmod 600"));
    chmod(path, 0600);
    assert_int_equal(vt_kek_load_file(path, &k, &e), VT_OK);
    vt_kek_id_hex(k, id);
    assert_string_equal(id, id_ref);
    vt_kek_free(k);
    assert_int_equal(vt_file_write(path, KEY_A, 32, &e), VT_OK);
    chmod(path, 0600);
    assert_int_equal(vt_kek_load_file(path, &k, &e), VT_OK);
    vt_kek_free(k);
    assert_int_equal(vt_file_write(path, "short", 5, &e), VT_OK);
    chmod(path, 0600);
    assert_int_equal(vt_kek_load_file(path, &k, &e), VT_E_ARG);
    assert_int_equal(vt_kek_load_file("/nonexistent/kek", &k, &e), VT_E_IO);
    setenv("VT_TEST_KEK", hex, 1);
    assert_int_equal(vt_kek_load_env("VT_TEST_KEK", &k, &e), VT_OK);
    vt_kek_id_hex(k, id);
    assert_string_equal(id, id_ref);
    vt_kek_free(k);
    char *b64 = vt_b64_encode(KEY_A, 32, false);
    setenv("VT_TEST_KEK", b64, 1);
    assert_int_equal(vt_kek_load_env("VT_TEST_KEK", &k, &e), VT_OK);
    vt_kek_free(k);
    free(b64);
    unsetenv("VT_TEST_KEK");
    assert_int_equal(vt_kek_load_env("VT_TEST_KEK", &k, &e), VT_E_MISSING);
    assert_int_equal(vt_kek_from_bytes(KEY_A, 16, &k, &e), VT_E_ARG);
    free(hex);
    vt_kek_free(ref);
    vt_kek_free(NULL);
}

static void test_docs(void **state)
{
    char url[300], name[64];
    store_url(state, url, sizeof url);
    uniq(name, sizeof name, "policy");
    vt_store *s = open_store(url, NULL);
    vt_error e = {0};
    assert_int_equal(vt_store_doc_put(s, VT_DOC_RESOURCE_POLICY, name, "{\"allow\":true}", 1, &e), VT_OK);
    assert_int_equal(vt_store_doc_put(s, VT_DOC_ATTESTATION_POLICY, name, "[1,2]", 1, &e), VT_OK);
    char *j = NULL;
    assert_int_equal(vt_store_doc_get(s, VT_DOC_RESOURCE_POLICY, name, &j, &e), VT_OK);
    assert_string_equal(j, "{\"allow\":true}");
    free(j);
    assert_int_equal(vt_store_doc_put(s, VT_DOC_RESOURCE_POLICY, name, "{\"allow\":false}", 2, &e), VT_OK);
    assert_int_equal(vt_store_doc_get(s, VT_DOC_RESOURCE_POLICY, name, &j, &e), VT_OK);
    assert_string_equal(j, "{\"allow\":false}");
    free(j);
    assert_int_equal(vt_store_doc_get(s, VT_DOC_REFERENCE_VALUE, name, &j, &e), VT_E_MISSING);
    assert_int_equal(vt_store_doc_put(s, VT_DOC_REFERENCE_VALUE, name, "{not json", 1, &e), VT_E_INVALID);
    assert_int_equal(vt_store_doc_put(s, VT_DOC_REFERENCE_VALUE, name, "", 1, &e), VT_E_ARG);
    assert_int_equal(vt_store_doc_put(s, (vt_doc_kind)9, name, "{}", 1, &e), VT_E_ARG);
    char **names = NULL;
    size_t n = 0;
    assert_int_equal(vt_store_doc_list(s, VT_DOC_ATTESTATION_POLICY, &names, &n, &e), VT_OK);
    bool found = false;
    for (size_t i = 0; i < n; i++) found |= strcmp(names[i], name) == 0;
    assert_true(found);
    vt_store_strv_free(names, n);
    assert_int_equal(vt_store_doc_delete(s, VT_DOC_ATTESTATION_POLICY, name, &e), VT_OK);
    assert_int_equal(vt_store_doc_delete(s, VT_DOC_ATTESTATION_POLICY, name, &e), VT_E_MISSING);
    assert_int_equal(vt_store_doc_get(s, VT_DOC_RESOURCE_POLICY, name, &j, &e), VT_OK); /* other kind kept */
    free(j);
    vt_store_close(s);
}

/* One query for the first stored of several names (the policy fallbacks default_<tee>,
 * default_cpu, default; a resource's own policy, then "default"), in the order given, not the
 * order stored; and every document of a kind with its text. */
static void test_docs_first_and_all(void **state)
{
    char url[300], a[64], b[64], c[64];
    store_url(state, url, sizeof url);
    uniq(a, sizeof a, "first-a");
    uniq(b, sizeof b, "first-b");
    uniq(c, sizeof c, "first-c");
    vt_store *s = open_store(url, NULL);
    vt_error e = {0};
    char *j = NULL;
    size_t which = 9;
    const char *abc[3] = {a, b, c};
    assert_int_equal(vt_store_doc_get_first(s, VT_DOC_RESOURCE_POLICY, abc, 3, &which, &j, &e), VT_E_MISSING);
    assert_null(j);
    assert_int_equal(vt_store_doc_put(s, VT_DOC_RESOURCE_POLICY, c, "{\"n\":\"c\"}", 1, &e), VT_OK);
    assert_int_equal(vt_store_doc_put(s, VT_DOC_ATTESTATION_POLICY, a, "{\"kind\":\"other\"}", 1, &e), VT_OK);
    assert_int_equal(vt_store_doc_get_first(s, VT_DOC_RESOURCE_POLICY, abc, 3, &which, &j, &e), VT_OK);
    assert_int_equal(which, 2);
    assert_string_equal(j, "{\"n\":\"c\"}");
    free(j);
    assert_int_equal(vt_store_doc_put(s, VT_DOC_RESOURCE_POLICY, b, "{\"n\":\"b\"}", 1, &e), VT_OK);
    assert_int_equal(vt_store_doc_get_first(s, VT_DOC_RESOURCE_POLICY, abc, 3, &which, &j, &e), VT_OK);
    assert_int_equal(which, 1);
    assert_string_equal(j, "{\"n\":\"b\"}");
    free(j);
    const char *cb[2] = {c, b};
    assert_int_equal(vt_store_doc_get_first(s, VT_DOC_RESOURCE_POLICY, cb, 2, &which, &j, &e), VT_OK);
    assert_int_equal(which, 0);
    assert_string_equal(j, "{\"n\":\"c\"}");
    free(j);
    assert_int_equal(vt_store_doc_get_first(s, VT_DOC_RESOURCE_POLICY, abc, 0, &which, &j, &e), VT_E_ARG);
    assert_int_equal(vt_store_doc_get_first(s, VT_DOC_RESOURCE_POLICY, abc, 4, &which, &j, &e), VT_E_ARG);
    const char *bad[1] = {"bad\nname"};
    assert_int_equal(vt_store_doc_get_first(s, VT_DOC_RESOURCE_POLICY, bad, 1, &which, &j, &e), VT_E_ARG);

    char **names = NULL, **texts = NULL;
    size_t n = 0, seen = 0;
    assert_int_equal(vt_store_doc_get_all(s, VT_DOC_RESOURCE_POLICY, &names, &texts, &n, &e), VT_OK);
    for (size_t i = 0; i < n; i++) {
        if (i > 0) assert_true(strcmp(names[i - 1], names[i]) < 0);
        if (strcmp(names[i], b) == 0) assert_string_equal(texts[i], "{\"n\":\"b\"}"), seen++;
        if (strcmp(names[i], c) == 0) assert_string_equal(texts[i], "{\"n\":\"c\"}"), seen++;
        assert_string_not_equal(names[i], a); /* another kind */
    }
    assert_int_equal(seen, 2);
    vt_store_strv_free(names, n);
    vt_store_strv_free(texts, n);
    vt_store_close(s);
}

static void test_admin_jti(void **state)
{
    char url[300], jti[64];
    store_url(state, url, sizeof url);
    uniq(jti, sizeof jti, "jti");
    vt_store *s = open_store(url, NULL), *t = open_store(url, NULL);
    vt_error e = {0};
    assert_int_equal(vt_store_jti_use(s, jti, 200, 100, &e), VT_OK);
    assert_int_equal(vt_store_jti_use(t, jti, 200, 150, &e), VT_E_VERIFY); /* replay on another node */
    assert_non_null(strstr(e.msg, "replay"));
    assert_int_equal(vt_store_jti_use(s, jti, 400, 200, &e), VT_OK); /* the old record expired */
    vt_store_close(s);
    vt_store_close(t);
}


static vt_err seal_zero(vt_audit_record *r, vt_error *err)
{
    memset(r->hash, 0x5a, sizeof r->hash); /* the store does not check the hash: the audit layer does */
    return VT_OK;
}

static vt_err append_row(vt_store *s, const char *actor, vt_error *e)
{
    vt_audit_record r = {.time = 100, .actor = (char *)actor, .action = "resource.put", .subject = "p",
                         .outcome = "ok", .details = "{}"};
    return vt_store_audit_append(s, &r, seal_zero, e);
}

/* The documents' generation: every write of a document changes it, seen from another handle
 * (another node) too; reads and writes of anything else leave it. */
static void test_docs_generation(void **state)
{
    char url[300], name[64];
    store_url(state, url, sizeof url);
    uniq(name, sizeof name, "gen");
    vt_store *s = open_store(url, NULL), *t = open_store(url, NULL);
    vt_error e = {0};
    int64_t g0 = 0, g = 0, h = 0;
    assert_int_equal(vt_store_docs_generation(s, &g0, &e), VT_OK);
    assert_int_equal(vt_store_docs_generation(t, &h, &e), VT_OK);
    assert_true(g0 == h);
    assert_int_equal(vt_store_doc_put(s, VT_DOC_REFERENCE_VALUE, name, "{\"a\":1}", 1, &e), VT_OK);
    assert_int_equal(vt_store_docs_generation(t, &g, &e), VT_OK);
    assert_true(g != g0);
    int64_t g1 = g;
    assert_int_equal(vt_store_doc_put(t, VT_DOC_REFERENCE_VALUE, name, "{\"a\":2}", 2, &e), VT_OK); /* replace */
    assert_int_equal(vt_store_docs_generation(s, &g, &e), VT_OK);
    assert_true(g != g1 && g != g0);
    int64_t g2 = g;
    /* a refused document writes nothing */
    assert_int_equal(vt_store_doc_put(s, VT_DOC_REFERENCE_VALUE, name, "{not json", 3, &e), VT_E_INVALID);
    assert_int_equal(vt_store_doc_delete(s, VT_DOC_REFERENCE_VALUE, "no-such-document", &e), VT_E_MISSING);
    /* other rows */
    assert_int_equal(vt_store_jti_use(s, name, 1000, 1, &e), VT_OK);
    assert_int_equal(append_row(s, "admin:gen", &e), VT_OK);
    char *j = NULL;
    assert_int_equal(vt_store_doc_get(s, VT_DOC_REFERENCE_VALUE, name, &j, &e), VT_OK);
    free(j);
    assert_int_equal(vt_store_docs_generation(t, &g, &e), VT_OK);
    assert_true(g == g2);
    assert_int_equal(vt_store_doc_delete(t, VT_DOC_REFERENCE_VALUE, name, &e), VT_OK);
    assert_int_equal(vt_store_docs_generation(s, &g, &e), VT_OK);
    assert_true(g != g2 && g != g1 && g != g0);
    vt_store_close(t);
    vt_store_close(s);
}


/* An action and its audit record in one transaction (issue 13 item 3): both or neither. A
 * failing audit append rolls the action back; a failing action inside rolls back only its own
 * writes (savepoint); and a process killed (-9) between the two leaves neither. */
static void test_tx_action_and_audit(void **state)
{
    char url[300], path[100];
    store_url(state, url, sizeof url);
    vt_kek *k = kek(KEY_A);
    vt_store *s = open_store(url, k);
    vt_error e = {0};
    int64_t seq0 = 0, seq = 0;
    uint8_t h[VT_AUDIT_HASH_LEN];
    assert_int_equal(vt_store_audit_head(s, &seq0, h, &e), VT_OK);
    /* committed together */
    uniq(path, sizeof path, "tx/ok/a");
    assert_int_equal(vt_store_tx_begin(s, &e), VT_OK);
    assert_int_equal(vt_store_resource_put(s, path, (const uint8_t *)"v", 1, 100, NULL, &e), VT_OK);
    vt_err rc = append_row(s, "admin:alice", &e);
    assert_int_equal(vt_store_tx_end(s, rc, &e), VT_OK);
    vt_resource_version *v = NULL;
    size_t n = 0;
    assert_int_equal(vt_store_resource_versions(s, path, &v, &n, &e), VT_OK);
    free(v);
    assert_int_equal(vt_store_audit_head(s, &seq, h, &e), VT_OK);
    assert_int_equal(seq, seq0 + 1);
    /* the audit append fails (the action's own rows are valid): the action is rolled back */
    uniq(path, sizeof path, "tx/audit/fails");
    assert_int_equal(vt_store_tx_begin(s, &e), VT_OK);
    assert_int_equal(vt_store_resource_put(s, path, (const uint8_t *)"v", 1, 100, NULL, &e), VT_OK);
    rc = vt_store_audit_append(s, &(vt_audit_record){.time = 100, .actor = "a", .action = "x", .subject = "p",
                                                     .outcome = "ok", .details = NULL}, seal_zero, &e);
    assert_int_not_equal(rc, VT_OK); /* NULL details: NOT NULL constraint */
    assert_int_not_equal(vt_store_tx_end(s, rc, &e), VT_OK);
    assert_int_equal(vt_store_resource_versions(s, path, &v, &n, &e), VT_E_MISSING);
    assert_int_equal(vt_store_audit_head(s, &seq, h, &e), VT_OK);
    assert_int_equal(seq, seq0 + 1);
    /* a failing operation inside does not break the transaction around it */
    uniq(path, sizeof path, "tx/inner/fails");
    assert_int_equal(vt_store_tx_begin(s, &e), VT_OK);
    assert_int_equal(vt_store_resource_revoke(s, "no/such/path", 1, 100, &e), VT_E_MISSING);
    assert_int_equal(vt_store_resource_put(s, path, (const uint8_t *)"v", 1, 100, NULL, &e), VT_OK);
    assert_int_equal(vt_store_tx_end(s, append_row(s, "admin:bob", &e), &e), VT_OK);
    assert_int_equal(vt_store_resource_versions(s, path, &v, &n, &e), VT_OK);
    free(v);
    assert_int_equal(vt_store_tx_end(s, VT_OK, &e), VT_E_ARG); /* nothing open */
    assert_int_equal(vt_store_audit_head(s, &seq0, h, &e), VT_OK);
    vt_store_close(s);
    /* kill -9 after both writes, before the commit: neither is there */
    uniq(path, sizeof path, "tx/killed/a");
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        vt_store *c = NULL;
        vt_store_opts o = {.kek = k};
        if (vt_store_open(url, &o, &c, &e) != VT_OK || vt_store_tx_begin(c, &e) != VT_OK ||
            vt_store_resource_put(c, path, (const uint8_t *)"v", 1, 100, NULL, &e) != VT_OK ||
            append_row(c, "admin:killed", &e) != VT_OK)
            _exit(3);
        kill(getpid(), SIGKILL);
        _exit(4);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    s = open_store(url, k);
    assert_int_equal(vt_store_resource_versions(s, path, &v, &n, &e), VT_E_MISSING);
    assert_int_equal(vt_store_audit_head(s, &seq, h, &e), VT_OK);
    assert_int_equal(seq, seq0);
    vt_store_close(s);
    vt_kek_free(k);
}

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

/* n attested sessions (the rows of the sessions file) of 1 KiB requests, in one transaction. */
static void put_sessions(vt_store *s, int n, const char *prefix, vt_time expires)
{
    vt_error e = {0};
    char req[VT_SESSION_REQUEST_MAX + 1];
    memset(req, 'r', VT_SESSION_REQUEST_MAX);
    req[VT_SESSION_REQUEST_MAX] = 0;
    assert_int_equal(vt_store_tx_begin(s, &e), VT_OK);
    for (int i = 0; i < n; i++) {
        vt_session x = {.tee = "tdx", .nonce = "n", .request = req, .token = "eyJ.attested.sig", .created = 1,
                        .expires = expires};
        snprintf(x.id, sizeof x.id, "%s-%d", prefix, i);
        assert_int_equal(vt_store_session_put(s, &x, &e), VT_OK);
    }
    assert_int_equal(vt_store_tx_end(s, VT_OK, &e), VT_OK);
}

/* Copies a WAL into its database file, retrying while the store's own checkpoint thread holds
 * the checkpoint lock (the pragma's first column, busy). */
static void checkpoint(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    int busy = 1;
    for (int i = 0; i < 50 && busy != 0; i++) {
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        busy = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        if (busy != 0) usleep(100 * 1000);
    }
    assert_int_equal(busy, 0);
    sqlite3_close(db);
}

/* A fresh SQLite store's database file, its sessions file and its URL. */
static void sqlite_files(const char *name, char path[256], char vol[300], char url[300])
{
    char dir[128];
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(path, 256, "%s/%s.db", dir, name);
    snprintf(vol, 300, "%s-sessions", path);
    snprintf(url, 300, "sqlite:%s", path);
}

/* The database file itself holds a sessions or nonces table (schema 4 and before). */
static bool has_session_tables(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('sessions', 'nonces')", -1,
                                        &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n != 0;
}

/* SQLite keeps attested sessions in "<db>-sessions" (schema 5): 3000 sessions of 1 KiB leave
 * the database file and its WAL as they were; the sweep frees their pages, which the next 3000
 * reuse (the file does not grow); the database file has no sessions table. (Issue 19: the
 * sessions' churn in the durable file made a 600 s soak fall seconds behind.) */
static void test_sqlite_volatile_file(void **state)
{
    char path[256], url[300], vol[300];
    sqlite_files("sweep", path, vol, url);
    vt_store *s = open_store(url, NULL);
    vt_error e = {0};
    checkpoint(path);
    off_t db_before = file_size(path);
    put_sessions(s, 3000, "a", 10);
    vt_session big = {.id = "too-big", .tee = "tdx", .nonce = "n", .expires = 10};
    char huge[VT_SESSION_REQUEST_MAX + 2];
    memset(huge, 'h', sizeof huge - 1);
    huge[sizeof huge - 1] = 0;
    big.request = huge;
    assert_int_equal(vt_store_session_put(s, &big, &e), VT_E_ARG); /* requests are bounded */
    checkpoint(path);
    checkpoint(vol);
    assert_int_equal(file_size(path), db_before);
    off_t vol_full = file_size(vol);
    assert_true(vol_full > 3000 * 1024);
    uint64_t removed = 0;
    assert_int_equal(vt_store_sweep(s, 20, &removed, &e), VT_OK);
    assert_int_equal(removed, 3000);
    put_sessions(s, 3000, "b", 10);
    checkpoint(vol);
    if (file_size(vol) > vol_full + vol_full / 10)
        fail_msg("sessions file %lld bytes after a sweep and as many sessions again, %lld before",
                 (long long)file_size(vol), (long long)vol_full);
    assert_false(has_session_tables(path));
    vt_store_close(s);
}

/* Checkpoints run beside the requests: after a commit that leaves 3000 sessions in the sessions
 * file's WAL, their pages reach the file while this thread holds the store's only connection (so
 * no commit can have done it), by the connection's checkpoint thread. */
static void test_sqlite_background_checkpoint(void **state)
{
    char path[256], url[300], vol[300];
    sqlite_files("ckpt", path, vol, url);
    vt_store *s = open_store(url, NULL);
    put_sessions(s, 3000, "c", 10);
    store_conn *c = store_grab(s);
    uint64_t before = store_sqlite_checkpoints(c->conn);
    bool seen = false;
    for (int i = 0; i < 100 && !seen; i++) {
        seen = file_size(vol) > 3000 * 1024 && store_sqlite_checkpoints(c->conn) > before;
        if (!seen) usleep(100 * 1000);
    }
    store_release(c);
    if (!seen) fail_msg("the sessions file was not checkpointed beside the requests within 10 s (%lld bytes)",
                        (long long)file_size(vol));
    vt_store_close(s);
}

/* The sessions file is written without flushes: safe across a crash of the process, not of the
 * system. Reopened in the same boot it keeps its sessions; marked as another boot's, or
 * unreadable, it starts empty (every session unknown: the guests start over), and the store
 * opens. A database of schema 4 (sessions in the database file) upgrades to 5: its tables go. */
static void set_vol_boot(const char *vol, const char *boot)
{
    sqlite3 *db = NULL;
    char sql[128];
    assert_int_equal(sqlite3_open(vol, &db), SQLITE_OK);
    snprintf(sql, sizeof sql, "UPDATE boot SET id = '%s'", boot);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_sqlite_volatile_reboot(void **state)
{
    char path[256], url[300], vol[300];
    sqlite_files("boot", path, vol, url);
    vt_store *s = open_store(url, NULL);
    vt_error e = {0};
    vt_session got;
    put_sessions(s, 1, "kept", 1000);
    assert_int_equal(vt_store_nonce_put(s, "boot-nonce", 1000, &e), VT_OK);
    vt_session pend = {.id = "pending-0", .tee = "tdx", .nonce = "boot-nonce", .request = "{}", .expires = 1000};
    assert_int_equal(vt_store_session_put(s, &pend, &e), VT_OK);
    vt_store_close(s);
    s = open_store(url, NULL); /* same boot: the attested session kept; the pending one and the
                                * nonce were in the process's memory: gone, a clean "unknown" */
    assert_int_equal(vt_store_session_get(s, "kept-0", 10, &got, &e), VT_OK);
    vt_session_clear(&got);
    assert_int_equal(vt_store_session_get(s, "pending-0", 10, &got, &e), VT_E_MISSING);
    assert_int_equal(vt_store_nonce_consume(s, "boot-nonce", 10, &e), VT_E_VERIFY);
    vt_store_close(s);
    set_vol_boot(vol, "another-boot");
    s = open_store(url, NULL);
    assert_int_equal(vt_store_session_get(s, "kept-0", 10, &got, &e), VT_E_MISSING);
    assert_int_equal(vt_store_nonce_consume(s, "boot-nonce", 10, &e), VT_E_VERIFY);
    put_sessions(s, 1, "after", 1000); /* and works at once */
    assert_int_equal(vt_store_session_get(s, "after-0", 10, &got, &e), VT_OK);
    vt_session_clear(&got);
    vt_store_close(s);
    char side[320];
    snprintf(side, sizeof side, "%s-wal", vol);
    unlink(side);
    assert_int_equal(vt_file_write(vol, "not a database, not at all", 26, &e), VT_OK);
    s = open_store(url, NULL);
    assert_int_equal(vt_store_session_get(s, "after-0", 10, &got, &e), VT_E_MISSING);
    put_sessions(s, 1, "again", 1000);
    vt_store_close(s);

    /* schema 4: the sessions and nonces tables in the database file */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE sessions(id TEXT PRIMARY KEY, tee TEXT NOT NULL, nonce TEXT NOT NULL,"
                                  " request TEXT NOT NULL, token TEXT, created BIGINT NOT NULL, expires BIGINT NOT NULL,"
                                  " client TEXT NOT NULL DEFAULT '');"
                                  "INSERT INTO sessions VALUES ('old', 'tdx', 'n', '{}', NULL, 1, 1000, '');"
                                  "CREATE TABLE nonces(nonce TEXT PRIMARY KEY, expires BIGINT NOT NULL);"
                                  "DELETE FROM schema_version WHERE version >= 5",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_true(has_session_tables(path));
    s = open_store(url, NULL);
    int v = 0;
    assert_int_equal(vt_store_schema_version(s, &v, &e), VT_OK);
    assert_int_equal(v, VT_STORE_SCHEMA_VERSION);
    assert_int_equal(vt_store_session_get(s, "old", 10, &got, &e), VT_E_MISSING);
    assert_int_equal(vt_store_session_get(s, "again-0", 10, &got, &e), VT_OK); /* the sessions file's */
    vt_session_clear(&got);
    vt_store_close(s);
    assert_false(has_session_tables(path));
}

/* The database holds tokens, nonces and policies: the file and its -wal/-shm are 0600 whatever
 * the umask (issue 13 item 7). */
static void test_sqlite_private_mode(void **state)
{
    char dir[128], path[256], url[300], side[300];
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/private.db", dir);
    snprintf(url, sizeof url, "sqlite:%s", path);
    mode_t old = umask(022);
    vt_store *s = open_store(url, NULL);
    umask(old);
    vt_error e = {0};
    vt_session att = {.id = "mode-test", .tee = "tdx", .nonce = "n", .request = "{}", .token = "t", .expires = 100};
    assert_int_equal(vt_store_session_put(s, &att, &e), VT_OK); /* a write to the sessions file: -wal, -shm exist */
    assert_int_equal(append_row(s, "mode", &e), VT_OK); /* and the database file's too */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    const char *sfx[] = {"-wal", "-shm", "-sessions", "-sessions-wal", "-sessions-shm"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(side, sizeof side, "%s%s", path, sfx[i]);
        assert_int_equal(stat(side, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
    }
    vt_store_close(s);
}

/* Group commit on SQLite (docs/operations.md "What survives a power loss"): a durable write
 * returns only after a flush that began after its commit; sessions and nonces do not wait;
 * concurrent durable writes all land and each is covered by a flush; a failed flush makes
 * every later durable write fail (the kernel may have dropped what it covered). */
typedef struct gc_ctx {
    vt_store *s;
    int fails;
} gc_ctx;

static void *gc_writer(void *ud)
{
    gc_ctx *x = ud;
    for (int i = 0; i < 20; i++) {
        vt_error e = {0};
        if (append_row(x->s, "gc", &e) != VT_OK) x->fails++;
    }
    return NULL;
}

static vt_err failing_sync(void *conn, vt_error *err)
{
    (void)conn;
    return vt_error_set(err, VT_E_IO, "store", "fdatasync: Input/output error (injected)");
}

static void test_sqlite_group_commit(void **state)
{
    (void)state;
    char dir[128], url[300];
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(url, sizeof url, "sqlite:%s/gc.db", dir);
    vt_store *s = open_store(url, NULL);
    vt_error e = {0};
    assert_non_null(s->drv->sync);
    uint64_t syncs = s->syncs, committed = s->committed;
    vt_session x = {.tee = "tdx", .nonce = "gc-nonce", .request = "{}", .created = 1, .expires = 1000};
    snprintf(x.id, sizeof x.id, "gc-session");
    assert_int_equal(vt_store_session_put(s, &x, &e), VT_OK);
    assert_int_equal(vt_store_nonce_put(s, "gc-nonce", 1000, &e), VT_OK);
    assert_int_equal(vt_store_nonce_consume(s, "gc-nonce", 10, &e), VT_OK);
    assert_int_equal(s->syncs, syncs); /* volatile: no flush waited for */
    assert_int_equal(s->committed, committed);
    assert_int_equal(append_row(s, "one", &e), VT_OK);
    assert_int_equal(s->committed, committed + 1);
    assert_int_equal(s->syncs, syncs + 1);
    assert_true(s->synced >= s->committed);

    gc_ctx ctx[8];
    pthread_t th[8];
    uint64_t before = s->syncs;
    for (int i = 0; i < 8; i++) {
        ctx[i] = (gc_ctx){.s = s};
        assert_int_equal(pthread_create(&th[i], NULL, gc_writer, &ctx[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ctx[i].fails, 0);
    }
    int64_t seq = 0;
    uint8_t h[VT_AUDIT_HASH_LEN];
    assert_int_equal(vt_store_audit_head(s, &seq, h, &e), VT_OK);
    assert_int_equal(seq, 1 + 160);
    assert_int_equal(s->synced, s->committed);
    assert_true(s->syncs - before >= 1 && s->syncs - before <= 160);
    printf("     160 concurrent audit appends from 8 threads: %llu flushes\n", (unsigned long long)(s->syncs - before));

    sqldrv broken = *s->drv;
    broken.sync = failing_sync;
    const sqldrv *saved = s->drv;
    s->drv = &broken;
    assert_int_equal(append_row(s, "lost", &e), VT_E_IO);
    assert_non_null(strstr(e.msg, "injected"));
    s->drv = saved;
    assert_int_equal(append_row(s, "after", &e), VT_E_IO);
    assert_non_null(strstr(e.msg, "earlier sync"));
    snprintf(x.id, sizeof x.id, "gc-session-2");
    assert_int_equal(vt_store_session_put(s, &x, &e), VT_OK); /* volatile writes go on */
    assert_int_equal(vt_store_ping(s, &e), VT_E_IO);           /* /readyz fails: the node is taken out */
    vt_store_close(s);
}

/* A deferred commit (vt_store_tx_end_deferred): visible at once, from another handle too; no
 * flush waited for (SQLite: no sync; PostgreSQL: the transaction ran SET LOCAL synchronous_commit
 * TO OFF, which ends with it); rolled back on failure; the next durable write flushes it. */
static const sqldrv *deferred_real;
static int deferred_sets;

static vt_err deferred_exec(void *conn, const char *sql, const sqlval *p, size_t np, sqlres *res, vt_error *err)
{
    if (deferred_real->defer_sql != NULL && strcmp(sql, deferred_real->defer_sql) == 0) deferred_sets++;
    return deferred_real->exec(conn, sql, p, np, res, err);
}

static int64_t head_seq(vt_store *s)
{
    vt_error e = {0};
    int64_t seq = -1;
    uint8_t h[VT_AUDIT_HASH_LEN];
    if (vt_store_audit_head(s, &seq, h, &e) != VT_OK) fail_msg("audit head: %s", e.msg);
    return seq;
}

static void test_tx_deferred(void **state)
{
    backend *b = *state;
    char url[300];
    store_url(state, url, sizeof url);
    vt_store *s = open_store(url, NULL), *t = open_store(url, NULL);
    vt_error e = {0};
    sqldrv rec = *s->drv;
    rec.exec = deferred_exec;
    deferred_real = s->drv;
    deferred_sets = 0;
    s->drv = &rec;
    int64_t seq = head_seq(t);
    uint64_t syncs = s->syncs, committed = s->committed;
    assert_int_equal(vt_store_tx_begin(s, &e), VT_OK);
    assert_int_equal(append_row(s, "deferred", &e), VT_OK);
    assert_int_equal(vt_store_tx_end_deferred(s, VT_OK, &e), VT_OK);
    assert_int_equal(head_seq(t), seq + 1);
    assert_int_equal(s->syncs, syncs);
    assert_int_equal(s->committed, committed);
    assert_int_equal(deferred_sets, b->is_pg ? 1 : 0);

    /* a failure rolls the whole transaction back, and is returned as it was */
    assert_int_equal(vt_store_tx_begin(s, &e), VT_OK);
    assert_int_equal(append_row(s, "rolled-back", &e), VT_OK);
    vt_error why = {0};
    vt_error_set(&why, VT_E_ARG, "test", "refused after the append");
    assert_int_equal(vt_store_tx_end_deferred(s, VT_E_ARG, &why), VT_E_ARG);
    assert_string_equal(why.msg, "refused after the append");
    assert_int_equal(head_seq(t), seq + 1);

    /* a durable write after it: flushed (and with it the deferred one, the same log) */
    assert_int_equal(append_row(s, "durable", &e), VT_OK);
    assert_int_equal(deferred_sets, b->is_pg ? 1 : 0);
    assert_int_equal(head_seq(t), seq + 2);
    if (s->drv->sync != NULL) {
        assert_int_equal(s->syncs, syncs + 1);
        assert_true(s->synced >= s->committed);
    }
    s->drv = deferred_real;
    /* SET LOCAL ended with its transaction: every connection commits synchronously again */
    for (size_t i = 0; b->is_pg && i < s->npool; i++) {
        sqlres r = {0};
        assert_int_equal(s->drv->exec(s->pool[i].conn, "SHOW synchronous_commit", NULL, 0, &r, &e), VT_OK);
        assert_string_equal(sqlres_get(&r, 0, 0), "on");
        sqlres_free(&r);
    }
    vt_store_close(t);
    vt_store_close(s);
}

/* A handle's connection pool (PostgreSQL; SQLite has one connection): while one thread holds a
 * transaction, another thread's statements run on another connection instead of waiting for it
 * (with one connection this test would wait forever: the holder waits for the other thread);
 * the holder's statements stay on its own connection (it reads its uncommitted audit row). */
typedef struct pool_ctx {
    vt_store *s;
    const char *id;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done; /* 1: ok, -1: failed */
} pool_ctx;

static void *pool_other(void *ud)
{
    pool_ctx *x = ud;
    vt_error e = {0};
    vt_session in = {.tee = "tdx", .nonce = "pool-nonce", .request = "{}", .created = 1, .expires = 4000000000};
    snprintf(in.id, sizeof in.id, "%s", x->id);
    vt_session got;
    int ok = vt_store_session_put(x->s, &in, &e) == VT_OK && vt_store_session_get(x->s, x->id, 10, &got, &e) == VT_OK;
    if (ok) vt_session_clear(&got);
    pthread_mutex_lock(&x->mu);
    x->done = ok ? 1 : -1;
    pthread_cond_broadcast(&x->cv);
    pthread_mutex_unlock(&x->mu);
    return NULL;
}

static void test_pool(void **state)
{
    backend *b = *state;
    char url[300], id[64];
    store_url(state, url, sizeof url);
    uniq(id, sizeof id, "pool");
    vt_error e = {0};
    vt_store *s = NULL;
    vt_store_opts too_many = {.pool = 65};
    assert_int_equal(vt_store_open(url, &too_many, &s, &e), VT_E_ARG);
    vt_store_opts o = {.pool = 3};
    assert_int_equal(vt_store_open(url, &o, &s, &e), VT_OK);
    assert_int_equal(s->npool, b->is_pg ? 3 : 1);
    if (!b->is_pg) { /* one connection: nothing to run beside a transaction */
        vt_store_close(s);
        return;
    }
    int64_t seq0 = 0, seq1 = 0;
    uint8_t h[VT_AUDIT_HASH_LEN];
    assert_int_equal(vt_store_audit_head(s, &seq0, h, &e), VT_OK);
    assert_int_equal(vt_store_tx_begin(s, &e), VT_OK);
    assert_int_equal(append_row(s, "pool:holder", &e), VT_OK);
    assert_int_equal(vt_store_audit_head(s, &seq1, h, &e), VT_OK); /* its own connection: sees its row */
    assert_int_equal(seq1, seq0 + 1);
    pool_ctx x = {.s = s, .id = id};
    pthread_mutex_init(&x.mu, NULL);
    pthread_cond_init(&x.cv, NULL);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, pool_other, &x), 0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    pthread_mutex_lock(&x.mu);
    while (x.done == 0 && pthread_cond_timedwait(&x.cv, &x.mu, &until) == 0) {
    }
    int done = x.done;
    pthread_mutex_unlock(&x.mu);
    assert_int_equal(vt_store_tx_end(s, VT_OK, &e), VT_OK);
    pthread_join(th, NULL);
    if (done != 1) fail_msg("the other thread %s while a transaction was open", done == 0 ? "waited" : "failed");
    assert_int_equal(vt_store_session_delete(s, id, &e), VT_OK);
    assert_int_equal(vt_store_tx_end(s, VT_OK, &e), VT_E_ARG); /* no transaction left on this thread */
    pthread_mutex_destroy(&x.mu);
    pthread_cond_destroy(&x.cv);
    vt_store_close(s);
}

/* A server restart drops every connection of the pool, each of which would learn it only from
 * a failed statement of its own: after the first failure, the others reconnect before their next
 * use, so a restart costs one failed request (a clean VT_E_IO, retried by the guest), not one per
 * connection. The drop here: every backend of the pool's database terminated. */
static void test_pg_pool_reconnect(void **state)
{
    backend *b = *state;
    if (!b->pg->up) skip();
    char out[64], id[64];
    vt_store_opts o = {.pool = 4};
    vt_store *s = NULL;
    vt_error e = {0};
    assert_int_equal(vt_store_open(b->pg->url, &o, &s, &e), VT_OK);
    assert_true(pg_fixture_query(b->pg,
                                 "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                 " WHERE pid <> pg_backend_pid() AND datname = current_database() AND backend_type = 'client backend'",
                                 out, sizeof out));
    assert_true(atoi(out) >= 4);
    int failed = 0;
    for (int i = 0; i < 12; i++) {
        uniq(id, sizeof id, "reconnect");
        vt_session in = {.tee = "tdx", .nonce = "n", .request = "{}", .created = 1, .expires = 4000000000};
        snprintf(in.id, sizeof in.id, "%s", id);
        vt_err rc = vt_store_session_put(s, &in, &e);
        if (rc != VT_OK) {
            assert_int_equal(rc, VT_E_IO);
            failed++;
            continue;
        }
        assert_int_equal(vt_store_session_delete(s, id, &e), VT_OK);
    }
    printf("     %d of 12 requests failed after the restart\n", failed); /* the first only */
    if (failed > 1) fail_msg("%d requests failed after the restart (one expected)", failed);
    vt_store_close(s);
}

/* The session limits, total and per client, counted in one statement: the total is checked
 * first, expired sessions do not count. (Far-future instants: the PostgreSQL database is shared.) */
static void test_session_limits(void **state)
{
    char url[300], ids[5][64];
    store_url(state, url, sizeof url);
    vt_store *s = open_store(url, NULL);
    vt_error e = {0};
    const vt_time now = 4000000000LL;
    const char *clients[5] = {"10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.3"};
    const vt_session_limit want[5] = {VT_SESSION_LIMIT_NONE, VT_SESSION_LIMIT_CLIENT, VT_SESSION_LIMIT_NONE,
                                      VT_SESSION_LIMIT_TOTAL, VT_SESSION_LIMIT_TOTAL};
    for (int i = 0; i < 5; i++) {
        uniq(ids[i], sizeof ids[i], "lim");
        vt_session x = {.tee = "tdx", .nonce = "n", .request = "{}", .created = now, .expires = now + 100};
        snprintf(x.id, sizeof x.id, "%s", ids[i]);
        snprintf(x.client, sizeof x.client, "%s", clients[i]);
        vt_session_limit hit = VT_SESSION_LIMIT_NONE;
        assert_int_equal(vt_store_session_put_limited(s, &x, 2, 1, now, &hit, &e), VT_OK);
        assert_int_equal(hit, want[i]);
    }
    /* later, those two have expired: room again, in total and for 10.0.0.1 */
    vt_session x = {.tee = "tdx", .nonce = "n", .request = "{}", .created = now + 200, .expires = now + 300,
                    .client = "10.0.0.1"};
    uniq(x.id, sizeof x.id, "lim");
    vt_session_limit hit = VT_SESSION_LIMIT_TOTAL;
    assert_int_equal(vt_store_session_put_limited(s, &x, 2, 1, now + 200, &hit, &e), VT_OK);
    assert_int_equal(hit, VT_SESSION_LIMIT_NONE);
    vt_session got;
    assert_int_equal(vt_store_session_get(s, x.id, now + 200, &got, &e), VT_OK);
    vt_session_clear(&got);
    assert_int_equal(vt_store_session_get(s, ids[1], now, &got, &e), VT_E_MISSING); /* refused ones were not stored */
    /* a session that passed its attestation (token set) no longer counts, in all or for its
     * client: a busy broker's attested sessions never fill the limits; a pending one does */
    assert_int_equal(vt_store_session_set_token(s, x.id, "ear.token.x", now + 200, &e), VT_OK);
    for (int i = 0; i < 2; i++) { /* 10.0.0.1: x attested (not counted), then one pending (counted) */
        vt_session y = {.tee = "tdx", .nonce = "n", .request = "{}", .created = now + 200, .expires = now + 300,
                        .client = "10.0.0.1"};
        uniq(y.id, sizeof y.id, "lim");
        hit = VT_SESSION_LIMIT_NONE;
        assert_int_equal(vt_store_session_put_limited(s, &y, 2, 1, now + 200, &hit, &e), VT_OK);
        assert_int_equal(hit, i == 0 ? VT_SESSION_LIMIT_NONE : VT_SESSION_LIMIT_CLIENT);
    }
    vt_store_close(s);
}

/* PostgreSQL keeps sessions and nonces in UNLOGGED tables (schema 3): "u" or "p" per table. */
static char persistence(const pg_fixture *pg, const char *url, const char *table)
{
    char sql[200], out[16];
    pg_fixture url_fixture = *pg;
    snprintf(url_fixture.url, sizeof url_fixture.url, "%.*s", (int)sizeof url_fixture.url - 1, url);
    snprintf(sql, sizeof sql, "SELECT relpersistence FROM pg_class WHERE relname = '%s' AND relkind = 'r'", table);
    assert_true(pg_fixture_query(&url_fixture, sql, out, sizeof out));
    return out[0];
}

/* A database created by schema 2 (sessions and nonces logged tables) upgrades on open: the tables
 * become UNLOGGED with their rows kept, the others stay logged, the version reads 3. The old
 * database is the schema-3 one with migration 3 undone (it only changed the two tables' persistence). */
static void test_pg_schema_upgrade(void **state)
{
    backend *b = *state;
    if (!b->pg->up) skip();
    char db[64], sql[200], out[64], url[sizeof b->pg->url];
    snprintf(db, sizeof db, "vt_upgrade_%d", (int)getpid());
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    assert_true(pg_fixture_query(b->pg, sql, out, sizeof out));
    snprintf(url, sizeof url, "%.*s/%s", (int)(strrchr(b->pg->url, '/') - b->pg->url), b->pg->url, db);
    pg_fixture at = *b->pg;
    memcpy(at.url, url, sizeof at.url);

    vt_store *s = open_store(url, NULL);
    vt_error e = {0};
    vt_session in = {.id = "upgrade-session", .tee = "tdx", .nonce = "upgrade-nonce", .request = "{}",
                     .created = 1, .expires = 1000};
    assert_int_equal(vt_store_session_put(s, &in, &e), VT_OK);
    assert_int_equal(vt_store_nonce_put(s, "upgrade-nonce", 1000, &e), VT_OK);
    assert_int_equal(append_row(s, "admin:upgrade", &e), VT_OK);
    vt_store_close(s);
    assert_true(pg_fixture_query(&at,
                                 "ALTER TABLE sessions SET LOGGED; ALTER TABLE nonces SET LOGGED;"
                                 " DROP INDEX sessions_pending; DROP INDEX sessions_pending_client;"
                                 " DELETE FROM schema_version WHERE version >= 3; SELECT max(version) FROM schema_version",
                                 out, sizeof out));
    assert_string_equal(out, "2");
    assert_int_equal(persistence(b->pg, url, "sessions"), 'p');
    assert_int_equal(persistence(b->pg, url, "nonces"), 'p');
    /* a read-only open does not migrate: the old schema is refused, and stays as it was */
    vt_store_opts ro = {.existing = true};
    assert_int_equal(vt_store_open(url, &ro, &s, &e), VT_E_UNSUPPORTED);
    assert_int_equal(persistence(b->pg, url, "sessions"), 'p');

    s = open_store(url, NULL);
    int v = 0;
    assert_int_equal(vt_store_schema_version(s, &v, &e), VT_OK);
    assert_int_equal(v, VT_STORE_SCHEMA_VERSION);
    assert_int_equal(persistence(b->pg, url, "sessions"), 'u');
    assert_int_equal(persistence(b->pg, url, "nonces"), 'u');
    const char *durable[] = {"audit", "audit_head", "resources", "docs", "admin_jti", "meta", "schema_version"};
    for (size_t i = 0; i < sizeof durable / sizeof durable[0]; i++)
        assert_int_equal(persistence(b->pg, url, durable[i]), 'p');
    vt_session got;
    assert_int_equal(vt_store_session_get(s, "upgrade-session", 10, &got, &e), VT_OK); /* rows kept */
    assert_string_equal(got.nonce, "upgrade-nonce");
    vt_session_clear(&got);
    assert_int_equal(vt_store_nonce_consume(s, "upgrade-nonce", 10, &e), VT_OK);
    assert_int_equal(vt_store_nonce_consume(s, "upgrade-nonce", 10, &e), VT_E_VERIFY);
    int64_t seq = 0;
    uint8_t h[VT_AUDIT_HASH_LEN];
    assert_int_equal(vt_store_audit_head(s, &seq, h, &e), VT_OK);
    assert_int_equal(seq, 1);
    assert_int_equal(append_row(s, "admin:after-upgrade", &e), VT_OK);
    vt_store_close(s);
    s = open_store(url, NULL); /* and opens again without migrating twice */
    assert_int_equal(vt_store_schema_version(s, &v, &e), VT_OK);
    assert_int_equal(v, VT_STORE_SCHEMA_VERSION);
    vt_store_close(s);
    snprintf(sql, sizeof sql, "DROP DATABASE %s", db);
    assert_true(pg_fixture_query(b->pg, sql, out, sizeof out));
}

/* What a PostgreSQL crash does to the UNLOGGED tables (it empties them; TRUNCATE here): a session
 * or challenge in flight is gone, and every operation on it is a clean "missing" or "unknown
 * nonce" failure, never a stale or wrong answer; a consumed nonce cannot come back; new
 * sessions work at once. */
static void test_pg_unlogged_loss(void **state)
{
    backend *b = *state;
    if (!b->pg->up) skip();
    char id[64], nonce[64], out[64];
    uniq(id, sizeof id, "lost");
    uniq(nonce, sizeof nonce, "lost-nonce");
    vt_store *s = open_store(b->pg->url, NULL);
    vt_error e = {0};
    vt_session in = {.tee = "tdx", .nonce = nonce, .request = "{}", .created = 1, .expires = 1000};
    snprintf(in.id, sizeof in.id, "%s", id);
    assert_int_equal(vt_store_session_put(s, &in, &e), VT_OK);
    assert_int_equal(vt_store_nonce_put(s, nonce, 1000, &e), VT_OK);
    assert_true(pg_fixture_query(b->pg, "TRUNCATE sessions, nonces", out, sizeof out));
    vt_session got;
    assert_int_equal(vt_store_session_get(s, id, 10, &got, &e), VT_E_MISSING);
    assert_int_equal(vt_store_session_set_token(s, id, "tok", 10, &e), VT_E_MISSING);
    assert_int_equal(vt_store_nonce_consume(s, nonce, 10, &e), VT_E_VERIFY);
    uint64_t n = 99;
    assert_int_equal(vt_store_session_count(s, 10, &n, &e), VT_OK);
    assert_int_equal(n, 0);
    /* the guest starts over: a new session and challenge work on the same handle */
    assert_int_equal(vt_store_session_put(s, &in, &e), VT_OK);
    assert_int_equal(vt_store_nonce_put(s, nonce, 1000, &e), VT_OK);
    assert_int_equal(vt_store_session_set_token(s, id, "tok", 10, &e), VT_OK);
    assert_int_equal(vt_store_session_get(s, id, 10, &got, &e), VT_OK);
    assert_string_equal(got.token, "tok");
    vt_session_clear(&got);
    assert_int_equal(vt_store_nonce_consume(s, nonce, 10, &e), VT_OK);
    vt_store_close(s);
}

/* In a transaction the PostgreSQL driver queues the statements whose rows are not wanted and
 * sends them with the next one that is (or the COMMIT): a failure of a queued statement is the
 * failure of that later call, with its own message, and the transaction rolls back; inside an
 * outer transaction only the savepoint's writes do, and the outer one goes on. The failure here:
 * the audit INSERT (queued) hits a row put there behind the store's back. */
static void test_pg_pipeline_failure(void **state)
{
    backend *b = *state;
    if (!b->pg->up) skip();
    char db[64], sql[600], out[64], url[sizeof b->pg->url];
    snprintf(db, sizeof db, "vt_pipeline_%d", (int)getpid());
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    assert_true(pg_fixture_query(b->pg, sql, out, sizeof out));
    snprintf(url, sizeof url, "%.*s/%s", (int)(strrchr(b->pg->url, '/') - b->pg->url), b->pg->url, db);
    pg_fixture at = *b->pg;
    memcpy(at.url, url, sizeof at.url);
    vt_store *s = open_store(url, NULL);
    vt_error e = {0};
    assert_int_equal(append_row(s, "admin:one", &e), VT_OK);
    assert_true(pg_fixture_query(&at,
                                 "INSERT INTO audit VALUES (2, 0, 'x', 'x', 'x', 'x', '{}', 'x', 'x'); SELECT count(*) FROM audit",
                                 out, sizeof out));
    assert_string_equal(out, "2");
    /* alone: the INSERT's failure comes back from the COMMIT that carried it */
    assert_int_equal(append_row(s, "admin:two", &e), VT_E_INTERNAL);
    assert_non_null(strstr(e.msg, "duplicate key"));
    int64_t seq = 0;
    uint8_t h[VT_AUDIT_HASH_LEN];
    assert_int_equal(vt_store_audit_head(s, &seq, h, &e), VT_OK);
    assert_int_equal(seq, 1); /* the head UPDATE queued after it did not happen */
    /* inside an outer transaction: the savepoint rolls back, the outer writes commit */
    vt_session in = {.id = "pipeline-session", .tee = "tdx", .nonce = "pn", .request = "{}", .created = 1,
                     .expires = 1000};
    assert_int_equal(vt_store_tx_begin(s, &e), VT_OK);
    assert_int_equal(vt_store_session_put(s, &in, &e), VT_OK);
    assert_int_equal(append_row(s, "admin:three", &e), VT_E_INTERNAL);
    assert_non_null(strstr(e.msg, "duplicate key"));
    assert_int_equal(vt_store_nonce_put(s, "pn", 1000, &e), VT_OK);
    assert_int_equal(vt_store_tx_end(s, VT_OK, &e), VT_OK);
    vt_session got;
    assert_int_equal(vt_store_session_get(s, "pipeline-session", 10, &got, &e), VT_OK);
    vt_session_clear(&got);
    assert_int_equal(vt_store_nonce_consume(s, "pn", 10, &e), VT_OK);
    assert_int_equal(vt_store_audit_head(s, &seq, h, &e), VT_OK);
    assert_int_equal(seq, 1);
    vt_store_close(s);
    snprintf(sql, sizeof sql, "DROP DATABASE %s", db);
    assert_true(pg_fixture_query(b->pg, sql, out, sizeof out));
}


/* ---- SQLite: pending sessions and nonces in memory (issue 19) ---- */

/* The row of id in a sessions file, as "tee|nonce|request|token|created|expires|client"; "" when absent. */
static void vol_row(const char *vol, const char *id, char *out, size_t cap)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(vol, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT tee || '|' || nonce || '|' || request || '|' || coalesce(token, 'NULL') || '|' ||"
                                        " created || '|' || expires || '|' || client FROM sessions WHERE id = ?1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    out[0] = 0;
    if (sqlite3_step(st) == SQLITE_ROW) snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static vt_store *open_pending(const char *url, size_t pending_max)
{
    vt_error e = {0};
    vt_store *s = NULL;
    vt_store_opts o = {.pending_max = pending_max};
    if (vt_store_open(url, &o, &s, &e) != VT_OK) fail_msg("open %s: %s", url, e.msg);
    return s;
}

static vt_session pending_session(const char *id, const char *client, vt_time created, vt_time expires)
{
    vt_session x = {.tee = "tdx", .nonce = "bm9uY2U=", .request = "{\"tee\":\"tdx\"}", .created = created,
                    .expires = expires};
    snprintf(x.id, sizeof x.id, "%s", id);
    snprintf(x.client, sizeof x.client, "%s", client);
    return x;
}

/* A pending session lives in memory only; set_token moves its complete row to the sessions file,
 * where it is still found; count, delete and the sweep cover both; lazy expiry in memory. */
static void test_pending_lifecycle(void **state)
{
    char path[256], url[300], vol[300], row[512];
    sqlite_files("pending", path, vol, url);
    vt_store *s = open_pending(url, 0);
    vt_error e = {0};
    vt_session got;
    uint64_t n = 0;
    vt_session a = pending_session("sess-a", "10.1.1.1", 100, 400), b = pending_session("sess-b", "", 100, 200);
    assert_int_equal(vt_store_session_put(s, &a, &e), VT_OK);
    assert_int_equal(vt_store_session_put(s, &b, &e), VT_OK);
    assert_int_equal(vt_store_session_put(s, &a, &e), VT_E_ARG); /* the id is live in memory */
    vol_row(vol, "sess-a", row, sizeof row);
    assert_string_equal(row, ""); /* not written to the file */
    assert_true(pending_session_has(s->pend, "sess-a"));
    assert_int_equal(vt_store_session_get(s, "sess-a", 150, &got, &e), VT_OK);
    assert_string_equal(got.id, "sess-a");
    assert_string_equal(got.tee, "tdx");
    assert_string_equal(got.nonce, "bm9uY2U=");
    assert_string_equal(got.request, "{\"tee\":\"tdx\"}");
    assert_string_equal(got.client, "10.1.1.1");
    assert_null(got.token);
    assert_int_equal(got.created, 100);
    assert_int_equal(got.expires, 400);
    vt_session_clear(&got);
    assert_int_equal(vt_store_session_count(s, 150, &n, &e), VT_OK);
    assert_int_equal(n, 2);

    /* attested: one INSERT of the complete row, gone from memory, still found (and counted) */
    assert_int_equal(vt_store_session_set_token(s, "sess-a", "eyJ.ear.sig", 150, &e), VT_OK);
    assert_false(pending_session_has(s->pend, "sess-a"));
    vol_row(vol, "sess-a", row, sizeof row);
    assert_string_equal(row, "tdx|bm9uY2U=|{\"tee\":\"tdx\"}|eyJ.ear.sig|100|400|10.1.1.1");
    assert_int_equal(vt_store_session_get(s, "sess-a", 160, &got, &e), VT_OK);
    assert_string_equal(got.token, "eyJ.ear.sig");
    assert_string_equal(got.client, "10.1.1.1");
    vt_session_clear(&got);
    assert_int_equal(vt_store_session_count(s, 160, &n, &e), VT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(vt_store_session_put(s, &a, &e), VT_E_ARG); /* the id is in the file */
    assert_int_equal(vt_store_session_set_token(s, "sess-a", "eyJ.second", 170, &e), VT_OK); /* replaces */
    vol_row(vol, "sess-a", row, sizeof row);
    assert_non_null(strstr(row, "|eyJ.second|"));

    /* expiry in memory: count excludes it, set_token refuses it, get reports it once */
    assert_int_equal(vt_store_session_count(s, 199, &n, &e), VT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(vt_store_session_get(s, "sess-b", 200, &got, &e), VT_E_EXPIRED);
    assert_int_equal(vt_store_session_get(s, "sess-b", 150, &got, &e), VT_E_MISSING); /* removed when touched */
    vt_session c = pending_session("sess-c", "", 100, 300);
    assert_int_equal(vt_store_session_put(s, &c, &e), VT_OK);
    assert_int_equal(vt_store_session_set_token(s, "sess-c", "t", 300, &e), VT_E_MISSING);
    assert_int_equal(vt_store_session_get(s, "sess-c", 150, &got, &e), VT_E_MISSING);
    vol_row(vol, "sess-c", row, sizeof row);
    assert_string_equal(row, "");

    /* delete: a pending one (memory), an attested one (file) */
    vt_session d = pending_session("sess-d", "", 100, 400);
    assert_int_equal(vt_store_session_put(s, &d, &e), VT_OK);
    assert_int_equal(vt_store_session_count(s, 160, &n, &e), VT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(vt_store_session_delete(s, "sess-d", &e), VT_OK);
    assert_int_equal(vt_store_session_get(s, "sess-d", 150, &got, &e), VT_E_MISSING);
    assert_int_equal(vt_store_session_delete(s, "sess-a", &e), VT_OK);
    assert_int_equal(vt_store_session_get(s, "sess-a", 150, &got, &e), VT_E_MISSING);
    assert_int_equal(vt_store_session_count(s, 150, &n, &e), VT_OK);
    assert_int_equal(n, 0);

    /* the sweep: expired pending sessions and nonces in memory, and attested rows in the file */
    for (int i = 0; i < 300; i++) {
        char id[32];
        snprintf(id, sizeof id, "sw-%d", i);
        vt_session x = pending_session(id, "10.2.2.2", 100, i < 200 ? 500 : 900);
        assert_int_equal(vt_store_session_put(s, &x, &e), VT_OK);
        if (i % 3 == 0) assert_int_equal(vt_store_session_set_token(s, id, "tok", 150, &e), VT_OK);
        snprintf(id, sizeof id, "nonce-%d", i);
        assert_int_equal(vt_store_nonce_put(s, id, i < 200 ? 500 : 900, &e), VT_OK);
    }
    uint64_t removed = 0;
    assert_int_equal(vt_store_sweep(s, 500, &removed, &e), VT_OK);
    assert_int_equal(removed, 400); /* 200 sessions (67 of them attested) and 200 nonces */
    assert_int_equal(vt_store_session_count(s, 500, &n, &e), VT_OK);
    assert_int_equal(n, 100);
    assert_int_equal(vt_store_nonce_consume(s, "nonce-5", 100, &e), VT_E_VERIFY);
    assert_int_equal(vt_store_nonce_consume(s, "nonce-205", 100, &e), VT_OK);
    assert_int_equal(vt_store_session_get(s, "sw-3", 100, &got, &e), VT_E_MISSING);
    assert_int_equal(vt_store_session_get(s, "sw-204", 100, &got, &e), VT_OK); /* attested, in the file */
    assert_string_equal(got.token, "tok");
    vt_session_clear(&got);
    assert_int_equal(vt_store_session_get(s, "sw-203", 100, &got, &e), VT_OK); /* pending */
    assert_null(got.token);
    vt_session_clear(&got);
    vt_store_close(s);
}

static vt_session_limit put_lim(vt_store *s, const char *id, const char *client, vt_time now, vt_time expires,
                                uint64_t total, uint64_t per_client)
{
    vt_error e = {0};
    vt_session x = pending_session(id, client, now, expires);
    vt_session_limit hit = VT_SESSION_LIMIT_NONE;
    vt_err rc = vt_store_session_put_limited(s, &x, total, per_client, now, &hit, &e);
    if (rc != VT_OK) fail_msg("put_limited %s: %s", id, e.msg);
    return hit;
}

/* The limits count pending sessions exactly as they expire, leave, get attested; the table's own
 * bound (pending_max) refuses cleanly, for sessions and for nonces. */
static void test_pending_limits_exact(void **state)
{
    char path[256], url[300], vol[300];
    sqlite_files("limits", path, vol, url);
    vt_store *s = open_pending(url, 6);
    vt_error e = {0};
    /* 10.0.0.1: three with staggered expiries, limit 3 per client, 5 in all */
    assert_int_equal(put_lim(s, "l1", "10.0.0.1", 100, 200, 5, 3), VT_SESSION_LIMIT_NONE);
    assert_int_equal(put_lim(s, "l2", "10.0.0.1", 100, 300, 5, 3), VT_SESSION_LIMIT_NONE);
    assert_int_equal(put_lim(s, "l3", "10.0.0.1", 100, 400, 5, 3), VT_SESSION_LIMIT_NONE);
    assert_int_equal(put_lim(s, "l4", "10.0.0.1", 199, 500, 5, 3), VT_SESSION_LIMIT_CLIENT);
    assert_int_equal(put_lim(s, "l4", "10.0.0.1", 200, 500, 5, 3), VT_SESSION_LIMIT_NONE); /* l1 expired at 200 */
    assert_int_equal(put_lim(s, "l5", "10.0.0.1", 200, 500, 5, 3), VT_SESSION_LIMIT_CLIENT);
    assert_int_equal(put_lim(s, "m1", "10.0.0.2", 200, 500, 5, 3), VT_SESSION_LIMIT_NONE);
    assert_int_equal(put_lim(s, "m2", "10.0.0.2", 200, 500, 5, 3), VT_SESSION_LIMIT_NONE);
    assert_int_equal(put_lim(s, "m3", "10.0.0.2", 200, 500, 5, 3), VT_SESSION_LIMIT_TOTAL); /* 5 live */
    /* attested: no longer pending, in all or for its client */
    assert_int_equal(vt_store_session_set_token(s, "l2", "tok", 250, &e), VT_OK);
    assert_int_equal(put_lim(s, "l5", "10.0.0.1", 250, 500, 5, 3), VT_SESSION_LIMIT_NONE);
    assert_int_equal(put_lim(s, "l6", "10.0.0.1", 250, 500, 5, 3), VT_SESSION_LIMIT_TOTAL);
    /* deleted: room again */
    assert_int_equal(vt_store_session_delete(s, "m1", &e), VT_OK);
    assert_int_equal(put_lim(s, "m3", "10.0.0.2", 250, 500, 5, 3), VT_SESSION_LIMIT_NONE);
    /* l3 expires at 400: room for one more of 10.0.0.1 and in all */
    assert_int_equal(put_lim(s, "l6", "10.0.0.1", 399, 500, 5, 3), VT_SESSION_LIMIT_TOTAL);
    assert_int_equal(put_lim(s, "l6", "10.0.0.1", 400, 500, 5, 3), VT_SESSION_LIMIT_NONE);
    /* a session created attested goes to the file, within the same limits, and does not count */
    vt_session att = pending_session("att", "10.0.0.1", 400, 500);
    att.token = "tok";
    vt_session_limit ahit = VT_SESSION_LIMIT_NONE;
    assert_int_equal(vt_store_session_put_limited(s, &att, 5, 3, 400, &ahit, &e), VT_OK);
    assert_int_equal(ahit, VT_SESSION_LIMIT_TOTAL);
    assert_int_equal(vt_store_session_put_limited(s, &att, 6, 3, 400, &ahit, &e), VT_OK);
    assert_int_equal(ahit, VT_SESSION_LIMIT_CLIENT);
    assert_int_equal(vt_store_session_put_limited(s, &att, 6, 4, 400, &ahit, &e), VT_OK);
    assert_int_equal(ahit, VT_SESSION_LIMIT_NONE);
    assert_int_equal(vt_store_session_put_limited(s, &att, 6, 4, 400, &ahit, &e), VT_E_ARG); /* in the file now */
    assert_int_equal(vt_store_session_delete(s, "att", &e), VT_OK);
    uint64_t n = 0;
    assert_int_equal(vt_store_session_count(s, 400, &n, &e), VT_OK);
    assert_int_equal(n, 5); /* l4 l5 l6 m2 m3 pending; l2 (in the file) expired at 300 */
    assert_int_equal(vt_store_session_count(s, 299, &n, &e), VT_OK);
    assert_int_equal(n, 6); /* and l2 */
    /* the table holds 6 at most (pending_max): a limit above it meets the table's bound */
    assert_int_equal(put_lim(s, "x1", "10.0.0.9", 400, 500, 100, 100), VT_SESSION_LIMIT_NONE);
    assert_int_equal(put_lim(s, "x2", "10.0.0.9", 400, 500, 100, 100), VT_SESSION_LIMIT_TOTAL);
    vt_session x2 = pending_session("x2", "", 400, 500);
    assert_int_equal(vt_store_session_put(s, &x2, &e), VT_E_NOMEM);
    assert_string_equal(e.check, "session");
    assert_non_null(strstr(e.msg, "6 sessions await attestation"));
    vt_session got;
    assert_int_equal(vt_store_session_get(s, "x2", 400, &got, &e), VT_E_MISSING);
    assert_int_equal(vt_store_session_set_token(s, "x1", "tok", 400, &e), VT_OK); /* moving out makes room */
    assert_int_equal(vt_store_session_put(s, &x2, &e), VT_OK);
    /* nonces: 6 at most; consumed or swept, room again */
    for (int i = 0; i < 6; i++) {
        char nn[16];
        snprintf(nn, sizeof nn, "cap-%d", i);
        assert_int_equal(vt_store_nonce_put(s, nn, i < 3 ? 600 : 700, &e), VT_OK);
    }
    assert_int_equal(vt_store_nonce_put(s, "cap-6", 700, &e), VT_E_NOMEM);
    assert_string_equal(e.check, "nonce");
    assert_non_null(strstr(e.msg, "6 nonces await their use"));
    assert_int_equal(vt_store_nonce_consume(s, "cap-6", 500, &e), VT_E_VERIFY); /* refused: not stored */
    assert_int_equal(vt_store_nonce_consume(s, "cap-0", 500, &e), VT_OK);
    assert_int_equal(vt_store_nonce_put(s, "cap-6", 700, &e), VT_OK);
    assert_int_equal(vt_store_nonce_put(s, "cap-7", 700, &e), VT_E_NOMEM);
    uint64_t removed = 0;
    assert_int_equal(vt_store_sweep(s, 600, &removed, &e), VT_OK);
    assert_int_equal(removed, 2 + 6 + 2); /* cap-1, cap-2; the 6 pending sessions; l2 and x1 in the file */
    assert_int_equal(vt_store_nonce_put(s, "cap-7", 700, &e), VT_OK);
    assert_int_equal(vt_store_nonce_consume(s, "cap-7", 700, &e), VT_E_EXPIRED);
    assert_int_equal(vt_store_nonce_consume(s, "cap-7", 600, &e), VT_E_VERIFY); /* gone with its expiry */
    vt_store_close(s);
}

/* Guests as the broker runs them (auth: limited put and nonce; attest: get, consume, set_token;
 * resource: get), from several threads on one handle, while a sweeper expires the sessions that
 * were abandoned: every round completes, every count is exact. Run under `make tsan`. */
#define CONC_THREADS 4
#define CONC_ROUNDS 300

typedef struct conc_ctx {
    vt_store *s;
    int id;
    int fails;
    char why[512];
    int *stop;
} conc_ctx;

static void *conc_guest(void *ud)
{
    conc_ctx *x = ud;
    char client[32];
    snprintf(client, sizeof client, "10.9.0.%d", x->id);
    for (int i = 0; i < CONC_ROUNDS && x->fails == 0; i++) {
        vt_error e = {0};
        char id[48], nonce[48];
        snprintf(id, sizeof id, "g%d-%d", x->id, i);
        snprintf(nonce, sizeof nonce, "n%d-%d", x->id, i);
        /* every third round is abandoned after /auth, with a lifetime that the sweeper ends */
        bool abandon = i % 3 == 0;
        vt_session sess = pending_session(id, client, 1000, abandon ? 1001 : 5000);
        sess.nonce = nonce;
        vt_session_limit hit;
        vt_session got = {0};
        if (vt_store_session_put_limited(x->s, &sess, 0, CONC_ROUNDS, 1000, &hit, &e) != VT_OK || hit != 0 ||
            vt_store_nonce_put(x->s, nonce, sess.expires, &e) != VT_OK) {
            snprintf(x->why, sizeof x->why, "auth %s: %s", id, e.msg);
            x->fails++;
            break;
        }
        if (abandon) continue;
        if (vt_store_session_get(x->s, id, 1000, &got, &e) != VT_OK || got.token != NULL ||
            vt_store_nonce_consume(x->s, got.nonce, 1000, &e) != VT_OK ||
            vt_store_session_set_token(x->s, id, "eyJ.conc.sig", 1000, &e) != VT_OK) {
            snprintf(x->why, sizeof x->why, "attest %s: %s", id, e.msg);
            x->fails++;
        }
        vt_session_clear(&got);
        if (x->fails == 0 && (vt_store_session_get(x->s, id, 1000, &got, &e) != VT_OK || got.token == NULL ||
                              strcmp(got.token, "eyJ.conc.sig") != 0)) {
            snprintf(x->why, sizeof x->why, "resource %s: %s", id, e.msg);
            x->fails++;
        }
        vt_session_clear(&got);
    }
    return NULL;
}

static void *conc_sweeper(void *ud)
{
    conc_ctx *x = ud;
    uint64_t total = 0;
    while (!__atomic_load_n(x->stop, __ATOMIC_ACQUIRE)) {
        vt_error e = {0};
        uint64_t removed = 0, n = 0;
        if (vt_store_sweep(x->s, 2000, &removed, &e) != VT_OK || vt_store_session_count(x->s, 1000, &n, &e) != VT_OK) {
            snprintf(x->why, sizeof x->why, "sweep: %s", e.msg);
            x->fails++;
            break;
        }
        total += removed;
        struct timespec ms = {0, 2000000};
        nanosleep(&ms, NULL);
    }
    x->id = (int)total;
    return NULL;
}

static void test_pending_concurrent(void **state)
{
    char path[256], url[300], vol[300];
    sqlite_files("conc", path, vol, url);
    vt_store *s = open_pending(url, 0);
    int stop = 0;
    conc_ctx g[CONC_THREADS], sw = {.s = s, .stop = &stop};
    pthread_t t[CONC_THREADS], ts;
    assert_int_equal(pthread_create(&ts, NULL, conc_sweeper, &sw), 0);
    for (int i = 0; i < CONC_THREADS; i++) {
        g[i] = (conc_ctx){.s = s, .id = i, .stop = &stop};
        assert_int_equal(pthread_create(&t[i], NULL, conc_guest, &g[i]), 0);
    }
    for (int i = 0; i < CONC_THREADS; i++) pthread_join(t[i], NULL);
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    pthread_join(ts, NULL);
    for (int i = 0; i < CONC_THREADS; i++)
        if (g[i].fails) fail_msg("guest %d: %s", i, g[i].why);
    if (sw.fails) fail_msg("%s", sw.why);
    /* exact afterwards: a last sweep at the sweeper's instant leaves the attested sessions
     * only, and the sweeps removed every abandoned session and its nonce, each once */
    const uint64_t attested = CONC_THREADS * (CONC_ROUNDS - CONC_ROUNDS / 3), abandoned = CONC_THREADS * (CONC_ROUNDS / 3);
    vt_error e = {0};
    uint64_t n = 0, removed = 0;
    assert_int_equal(vt_store_sweep(s, 2000, &removed, &e), VT_OK);
    assert_int_equal(removed + (uint64_t)sw.id, 2 * abandoned);
    assert_int_equal(vt_store_session_count(s, 1000, &n, &e), VT_OK);
    assert_int_equal(n, attested);
    assert_int_equal(vt_store_sweep(s, 6000, &removed, &e), VT_OK);
    assert_int_equal(vt_store_session_count(s, 0, &n, &e), VT_OK);
    assert_int_equal(n, 0);
    vt_store_close(s);
}

#define BOTH(fn) cmocka_unit_test_prestate(fn, &be_sqlite), cmocka_unit_test_prestate(fn, &be_pg)

int main(void)
{
    pg_fixture_start(&g_pg);
    const struct CMUnitTest tests[] = {
        BOTH(test_open_migrate),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_open_existing),
        BOTH(test_sessions),
        BOTH(test_session_limits),
        BOTH(test_session_two_handles),
        BOTH(test_nonces),
        BOTH(test_nonce_race),
        BOTH(test_resources),
        BOTH(test_resource_concurrent_versions),
        BOTH(test_kek_at_rest),
        cmocka_unit_test_prestate(test_kek_binding, &be_sqlite),
        cmocka_unit_test_prestate(test_kek_rekey, &be_sqlite),
        cmocka_unit_test(test_kek_loading),
        BOTH(test_docs),
        BOTH(test_docs_first_and_all),
        BOTH(test_docs_generation),
        BOTH(test_admin_jti),
        cmocka_unit_test(test_sqlite_private_mode),
        BOTH(test_tx_action_and_audit),
        cmocka_unit_test(test_sqlite_volatile_file),
        BOTH(test_pool),
        cmocka_unit_test(test_sqlite_volatile_reboot),
        cmocka_unit_test(test_sqlite_background_checkpoint),
        cmocka_unit_test(test_sqlite_group_commit),
        BOTH(test_tx_deferred),
        cmocka_unit_test(test_pending_lifecycle),
        cmocka_unit_test(test_pending_limits_exact),
        cmocka_unit_test(test_pending_concurrent),
        cmocka_unit_test_prestate(test_pg_schema_upgrade, &be_pg),
        cmocka_unit_test_prestate(test_pg_unlogged_loss, &be_pg),
        cmocka_unit_test_prestate(test_pg_pipeline_failure, &be_pg),
        cmocka_unit_test_prestate(test_pg_pool_reconnect, &be_pg),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pg_fixture_stop(&g_pg);
    return rc;
}
