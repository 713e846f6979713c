/* The one verification entry (include/veritee/verify.h): the same call and result shape for
 * TDX, SGX, SNP and CCA; every option enforced for every kind it applies to (the expected nonce
 * above all) and refused for a kind it cannot apply to; the evidence kind checked. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "veritee/emulate.h"
#include "veritee/verify.h"

#define T0 "2026-06-01T12:00:00Z"

typedef struct emu_set {
    char dir[256];
    vt_buf tdx, snp, cca;
    uint8_t rd[64];
} emu_set;

/* One emulator, one piece of evidence of each kind over the same 64-byte nonce. */
static void make_set(emu_set *s)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 64; i++) s->rd[i] = (uint8_t)(i < 16 ? 0xa0 + i : 0);
    vt_test_tmpdir(s->dir, sizeof s->dir);
    vt_error e;
    if (vt_emu_init(s->dir, NULL, vt_test_at(T0), &e) != VT_OK) fail_msg("emu init: %s", e.msg);
    vt_emu *emu;
    assert_int_equal(vt_emu_open(s->dir, &emu, &e), VT_OK);
    assert_int_equal(vt_emu_tdx_quote(emu, s->rd, 4, &s->tdx, &e), VT_OK);
    vt_emu_snp_opts so = {.with_certtable = true};
    assert_int_equal(vt_emu_snp_report(emu, s->rd, &so, &s->snp, &e), VT_OK);
    assert_int_equal(vt_emu_cca_token(emu, s->rd, NULL, &s->cca, &e), VT_OK);
    vt_emu_free(emu);
}

static void free_set(emu_set *s)
{
    vt_buf_free(&s->tdx);
    vt_buf_free(&s->snp);
    vt_buf_free(&s->cca);
}

static vt_verifier *verifier_for(const emu_set *s)
{
    char trust[300], coll[300];
    snprintf(trust, sizeof trust, "%s/trust", s->dir);
    snprintf(coll, sizeof coll, "%s/collateral", s->dir);
    vt_verify_sources src = {.trust_dir = trust, .collateral_dir = coll};
    vt_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_verifier_new(&src, &v, &e), VT_OK);
    return v;
}

static vt_err run(vt_verifier *v, const vt_buf *ev, const vt_verify_opts *o, vt_verify_result *r, vt_error *e)
{
    vt_error_clear(e);
    vt_verify_result_clear(r);
    return vt_verify(v, ev->ptr, ev->len, o, r, e);
}

/* The same call for every kind: claims, checks and the TEE's own result. */
static void test_same_shape(void **state)
{
    const emu_set *sp = *state;
    emu_set s = *sp; /* shallow: the evidence buffers stay the group's */
    vt_verifier *v = verifier_for(&s);
    vt_verify_result *r = calloc(1, sizeof *r);
    vt_error e;
    const vt_buf *ev[3] = {&s.tdx, &s.snp, &s.cca};
    const vt_tee kind[3] = {VT_TEE_TDX, VT_TEE_SNP, VT_TEE_CCA};
    for (int i = 0; i < 3; i++) {
        vt_verify_opts o = {.at = vt_test_at(T0)};
        if (run(v, ev[i], &o, r, &e) != VT_OK) fail_msg("%s: %s", vt_tee_name(kind[i]), e.msg);
        assert_int_equal(r->tee, kind[i]);
        assert_int_equal(r->claims.tee, kind[i]);
        assert_true(r->claims.emulated);
        assert_true(r->checks.n > 3);
        assert_true((r->tdx != NULL) + (r->snp != NULL) + (r->cca != NULL) == 1);
        json_t *j = vt_verify_result_json(r);
        assert_non_null(j);
        json_decref(j);
    }
    vt_verify_result_clear(r);
    free(r);
    vt_verifier_free(v);
}

/* A result need not be zeroed whole (vt_verify_result_init leaves the check entries and the
 * claims' unused arrays as they are): one full of junk reads as empty after init, is safe to
 * clear, and verifies every kind to the same claims as a zeroed one. */
static void test_result_from_junk(void **state)
{
    const emu_set *sp = *state;
    emu_set s = *sp;
    vt_verifier *v = verifier_for(&s);
    vt_verify_result *z = calloc(1, sizeof *z), *r = malloc(sizeof *r);
    assert_non_null(z);
    assert_non_null(r);
    memset(r, 0xa5, sizeof *r);
    vt_verify_result_init(r);
    assert_int_equal(r->tee, VT_TEE_UNKNOWN);
    assert_int_equal(r->claims.tee, VT_TEE_UNKNOWN);
    assert_false(r->claims.verified);
    assert_false(r->claims.tpm.present);
    assert_int_equal(r->claims.n_meas + r->claims.tpm.n_pcrs + r->claims.tpm.n_events + r->checks.n + r->n_gpus, 0);
    assert_null(r->tdx);
    assert_null(r->tpm_claims);
    assert_null(r->gpus);
    vt_verify_result_clear(r); /* nothing owned: frees nothing */
    vt_error e;
    const vt_buf *ev[3] = {&s.tdx, &s.snp, &s.cca};
    for (int i = 0; i < 3; i++) {
        vt_verify_opts o = {.at = vt_test_at(T0)};
        memset(r, 0xa5, sizeof *r);
        assert_int_equal(vt_verify(v, ev[i]->ptr, ev[i]->len, &o, r, &e), VT_OK);
        assert_int_equal(run(v, ev[i], &o, z, &e), VT_OK);
        json_t *a = vt_claims_json(&r->claims), *b = vt_claims_json(&z->claims);
        assert_non_null(a);
        if (!json_equal(a, b)) fail_msg("%s: claims differ after a result full of junk", vt_tee_name(z->tee));
        assert_int_equal(r->checks.n, z->checks.n);
        assert_memory_equal(r->checks.items, z->checks.items, z->checks.n * sizeof z->checks.items[0]);
        json_decref(a);
        json_decref(b);
        vt_verify_result_clear(r);
    }
    vt_verify_result_clear(z);
    free(z);
    free(r);
    vt_verifier_free(v);
}

/* The expected nonce is enforced for every kind: the right one passes its check, another one
 * fails it (VT_E_VERIFY), none is a skipped check. */
static void test_nonce_every_kind(void **state)
{
    const emu_set *sp = *state;
    emu_set s = *sp; /* shallow: the evidence buffers stay the group's */
    vt_verifier *v = verifier_for(&s);
    vt_verify_result *r = calloc(1, sizeof *r);
    vt_error e;
    const vt_buf *ev[3] = {&s.tdx, &s.snp, &s.cca};
    const char *check[3] = {"report_data", "report_data", "realm_challenge"};
    uint8_t other[16];
    memcpy(other, s.rd, 16);
    other[15] ^= 1;
    for (int i = 0; i < 3; i++) {
        vt_verify_opts o = {.at = vt_test_at(T0), .nonce = s.rd, .nonce_len = 16};
        if (run(v, ev[i], &o, r, &e) != VT_OK) fail_msg("kind %d with its nonce: %s", i, e.msg);
        assert_int_equal(vt_checks_find(&r->checks, check[i])->status, VT_CHECK_PASS);
        o.nonce = other;
        assert_int_equal(run(v, ev[i], &o, r, &e), VT_E_VERIFY);
        assert_string_equal(e.check, check[i]);
        o.nonce = NULL;
        assert_int_equal(run(v, ev[i], &o, r, &e), VT_OK);
        assert_int_equal(vt_checks_find(&r->checks, check[i])->status, VT_CHECK_SKIP);
        o.nonce = s.rd;
        o.nonce_len = 65;
        assert_int_equal(run(v, ev[i], &o, r, &e), VT_E_ARG);
    }
    vt_verify_result_clear(r);
    free(r);
    vt_verifier_free(v);
}

/* An option that cannot apply to the evidence is refused, never ignored; the kind is checked. */
static void test_options_refused(void **state)
{
    const emu_set *sp = *state;
    emu_set s = *sp; /* shallow: the evidence buffers stay the group's */
    vt_verifier *v = verifier_for(&s);
    vt_verify_result *r = calloc(1, sizeof *r);
    vt_error e;
    vt_verify_opts o = {.at = vt_test_at(T0), .product = "milan"};
    assert_int_equal(run(v, &s.tdx, &o, r, &e), VT_E_ARG);
    assert_non_null(strstr(e.msg, "SNP evidence only"));
    assert_int_equal(run(v, &s.cca, &o, r, &e), VT_E_ARG);
    STACK_OF(X509) *certs = sk_X509_new_null();
    X509 *x = X509_new();
    sk_X509_push(certs, x);
    vt_verify_opts oc = {.at = vt_test_at(T0), .certs = certs};
    assert_int_equal(run(v, &s.tdx, &oc, r, &e), VT_E_ARG);
    sk_X509_pop_free(certs, X509_free);
    vt_verify_opts ocrl = {.at = vt_test_at(T0), .crl_required = true};
    assert_int_equal(run(v, &s.cca, &ocrl, r, &e), VT_E_ARG);
    vt_verify_opts kind = {.at = vt_test_at(T0), .tee = "sgx"};
    assert_int_equal(run(v, &s.tdx, &kind, r, &e), VT_E_ARG);
    assert_non_null(strstr(e.msg, "sgx evidence expected but it is tdx"));
    kind.tee = "nitro";
    assert_int_equal(run(v, &s.tdx, &kind, r, &e), VT_E_ARG);
    vt_verify_sources bad = {.pcs_url = "https://example.invalid"};
    vt_verifier *w = NULL;
    assert_int_equal(vt_verifier_new(&bad, &w, &e), VT_E_ARG);
    assert_null(strstr(e.msg, "--")); /* the library speaks of inputs, not flags */
    vt_verify_result_clear(r);
    free(r);
    vt_verifier_free(v);
}

/* TDX: a cache directory alone is the collateral source (what a PCS fetch fills). */
static void test_cache_as_collateral(void **state)
{
    const emu_set *sp = *state;
    emu_set s = *sp; /* shallow: the evidence buffers stay the group's */
    char trust[300], coll[300];
    snprintf(trust, sizeof trust, "%s/trust", s.dir);
    snprintf(coll, sizeof coll, "%s/collateral", s.dir);
    vt_verify_sources src = {.trust_dir = trust, .cache_dir = coll};
    vt_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_verifier_new(&src, &v, &e), VT_OK);
    vt_verify_result *r = calloc(1, sizeof *r);
    vt_verify_opts o = {.at = vt_test_at(T0)};
    if (run(v, &s.tdx, &o, r, &e) != VT_OK) fail_msg("%s", e.msg);
    vt_verify_result_clear(r);
    free(r);
    vt_verifier_free(v);
}

/* The sources' files are looked at once per recheck interval on the caller's monotonic clock
 * (a server's verifier: not a stat() of every file at every verification). The clock here is
 * a variable, so nothing depends on how fast the test runs; directory times are set
 * explicitly, so no change hides inside one tick of the file system's clock. */
static double fake_now;
static double fake_clock(void) { return fake_now; }

static void set_mtime(const char *path, time_t t)
{
    struct timespec ts[2] = {{.tv_sec = t}, {.tv_sec = t}};
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void test_sources_recheck(void **state)
{
    const emu_set *sp = *state;
    char base[256], trust[300], from[600], to[600] = "";
    /* after every other file's time: the newest time of all the sources is the directory's */
    time_t t0 = time(NULL) + 1000000;
    vt_test_tmpdir(base, sizeof base);
    snprintf(trust, sizeof trust, "%s/trust", base);
    assert_int_equal(mkdir(trust, 0700), 0);
    char coll[300];
    snprintf(coll, sizeof coll, "%s/collateral", sp->dir);
    vt_verify_opts o = {.at = vt_test_at(T0)};
    vt_verify_result *r = calloc(1, sizeof *r);
    vt_error e;
    for (int mode = 0; mode < 3; mode++) { /* 0: clock and 1 s; 1: no clock; 2: clock, online */
        if (to[0] != 0) unlink(to);
        set_mtime(trust, t0 + 10 * mode);
        fake_now = 100.0;
        vt_verify_sources src = {.trust_dir = trust, .collateral_dir = coll, .recheck_seconds = 1.0,
                                 .monotonic = mode == 1 ? NULL : fake_clock};
        if (mode == 2) src.cache_dir = base, src.kds_url = "http://127.0.0.1:9"; /* never asked: TDX */
        vt_verifier *v = NULL;
        assert_int_equal(vt_verifier_new(&src, &v, &e), VT_OK);
        /* no TDX root in the trust directory: refused */
        assert_int_not_equal(run(v, &sp->tdx, &o, r, &e), VT_OK);
        /* the root arrives (the directory's time moves on) */
        snprintf(from, sizeof from, "%s/trust/tdx_sgx_root_ca.pem", sp->dir);
        snprintf(to, sizeof to, "%s/tdx_sgx_root_ca.pem", trust);
        assert_int_equal(link(from, to), 0);
        set_mtime(trust, t0 + 10 * mode + 1);
        fake_now = 100.5;
        vt_err rc = run(v, &sp->tdx, &o, r, &e);
        if (mode == 0) {
            /* within the interval: the files were not looked at, the old verifier answers */
            assert_int_not_equal(rc, VT_OK);
            fake_now = 101.0; /* the interval has passed: the new root is seen */
            if (run(v, &sp->tdx, &o, r, &e) != VT_OK) fail_msg("after the interval: %s", e.msg);
            /* and gone again: seen only after the next interval, or at once when invalidated */
            assert_int_equal(unlink(to), 0);
            set_mtime(trust, t0 + 2);
            fake_now = 101.5;
            if (run(v, &sp->tdx, &o, r, &e) != VT_OK) fail_msg("within the interval: %s", e.msg);
            vt_verifier_invalidate(v);
            assert_int_not_equal(run(v, &sp->tdx, &o, r, &e), VT_OK);
            /* a clock that goes back counts as the interval passed */
            assert_int_equal(link(from, to), 0);
            set_mtime(trust, t0 + 3);
            fake_now = 50.0;
            if (run(v, &sp->tdx, &o, r, &e) != VT_OK) fail_msg("clock went back: %s", e.msg);
        } else {
            /* no clock, or a source a fetch writes into: every verification looks */
            if (rc != VT_OK) fail_msg("mode %d: %s", mode, e.msg);
        }
        vt_verify_result_clear(r);
        vt_verifier_free(v);
    }
    free(r);
}

/* Verifications run at once on one verifier (TDX, SNP and CCA outside its lock) while another
 * thread keeps forcing rebuilds: every result is the right one for its own evidence and nonce,
 * and another thread's nonce is refused. cmocka's asserts are not for threads: a worker counts
 * what it saw and keeps its first wrong answer; the main thread asserts. */
#define CONC_WORKERS 4
#define CONC_ROUNDS 6

typedef struct conc_worker {
    vt_verifier *v;
    const emu_set *set;
    int id;
    uint8_t rd[64], other[64];
    vt_buf ev[3];
    int good;
    char bad[800];
    vt_test_ticker *reloader;
    int reloads_before; /* the reloader's calls when the workers were started */
} conc_worker;

static const vt_tee conc_kind[3] = {VT_TEE_TDX, VT_TEE_SNP, VT_TEE_CCA};
static const char *const conc_check[3] = {"report_data", "report_data", "realm_challenge"};

static void conc_note(conc_worker *w, int k, const char *what, const vt_error *e)
{
    if (w->bad[0] == 0)
        snprintf(w->bad, sizeof w->bad, "worker %d %s: %s (%s: %s)", w->id, vt_tee_name(conc_kind[k]), what, e->check,
                 e->msg);
}

static void *conc_work(void *arg)
{
    conc_worker *w = arg;
    vt_verify_result *r = calloc(1, sizeof *r);
    vt_error e;
    for (int round = 0; r != NULL && round < CONC_ROUNDS; round++)
        for (int j = 0; j < 3; j++) {
            if (round == CONC_ROUNDS / 2 && j == 0 && !vt_test_ticker_wait_past(w->reloader, w->reloads_before) &&
                w->bad[0] == 0)
                snprintf(w->bad, sizeof w->bad, "worker %d: no rebuild within 30 s while it ran", w->id);
            int k = (j + w->id) % 3; /* the workers do not all start on one kind */
            vt_verify_opts o = {.at = vt_test_at(T0), .nonce = w->rd, .nonce_len = 16};
            vt_error_clear(&e);
            vt_err rc = vt_verify(w->v, w->ev[k].ptr, w->ev[k].len, &o, r, &e);
            const vt_check *c = rc == VT_OK ? vt_checks_find(&r->checks, conc_check[k]) : NULL;
            if (rc != VT_OK) conc_note(w, k, "own nonce refused", &e);
            else if (r->claims.tee != conc_kind[k] || c == NULL || c->status != VT_CHECK_PASS)
                conc_note(w, k, "own nonce: wrong claims or check", &e);
            else w->good++;
            vt_verify_result_clear(r);
            o.nonce = w->other;
            vt_error_clear(&e);
            rc = vt_verify(w->v, w->ev[k].ptr, w->ev[k].len, &o, r, &e);
            if (rc != VT_E_VERIFY || strcmp(e.check, conc_check[k]) != 0) conc_note(w, k, "other nonce not refused", &e);
            else w->good++;
            vt_verify_result_clear(r);
        }
    free(r);
    return NULL;
}

static bool conc_reload(void *v)
{
    vt_verifier_invalidate(v);
    return true;
}

static void test_concurrent(void **state)
{
    const emu_set *s = *state;
    vt_verifier *v = verifier_for(s);
    conc_worker *w = calloc(CONC_WORKERS, sizeof *w);
    assert_non_null(w);
    vt_error e;
    vt_emu *emu;
    assert_int_equal(vt_emu_open(s->dir, &emu, &e), VT_OK);
    for (int i = 0; i < CONC_WORKERS; i++) {
        w[i].v = v;
        w[i].set = s;
        w[i].id = i;
        for (int b = 0; b < 16; b++) w[i].rd[b] = (uint8_t)(0x10 * i + b + 1);
        memcpy(w[i].other, w[(i + 1) % CONC_WORKERS].rd, 64); /* the next worker's nonce */
        assert_int_equal(vt_emu_tdx_quote(emu, w[i].rd, 4, &w[i].ev[0], &e), VT_OK);
        vt_emu_snp_opts so = {.with_certtable = true};
        assert_int_equal(vt_emu_snp_report(emu, w[i].rd, &so, &w[i].ev[1], &e), VT_OK);
        assert_int_equal(vt_emu_cca_token(emu, w[i].rd, NULL, &w[i].ev[2], &e), VT_OK);
    }
    vt_emu_free(emu);
    vt_test_ticker *rl = vt_test_ticker_start(conc_reload, v, 2, 400); /* rebuilds, 2 ms apart */
    /* the second half of each worker's rounds runs after a rebuild forced while the workers ran:
     * under load the reloader's thread was not always run before they had all finished */
    int before = vt_test_ticker_calls(rl);
    pthread_t th[CONC_WORKERS];
    for (int i = 0; i < CONC_WORKERS; i++) {
        w[i].reloader = rl;
        w[i].reloads_before = before;
        assert_int_equal(pthread_create(&th[i], NULL, conc_work, &w[i]), 0);
    }
    for (int i = 0; i < CONC_WORKERS; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
    int reloads = vt_test_ticker_stop(rl, NULL);
    for (int i = 0; i < CONC_WORKERS; i++) {
        if (w[i].bad[0] != 0) fail_msg("%s", w[i].bad);
        assert_int_equal(w[i].good, CONC_ROUNDS * 3 * 2);
        for (int k = 0; k < 3; k++) vt_buf_free(&w[i].ev[k]);
    }
    assert_true(reloads > 0);
    free(w);
    vt_verifier_free(v);
}

/* The collateral directory stays one of the sources looked at (it is also the TDX directory,
 * looked at once): without a clock, every verification sees a file leave it. */
static void test_collateral_change_seen(void **state)
{
    const emu_set *sp = *state;
    char base[256], coll[300], from[600], to[600], trust[300];
    vt_test_tmpdir(base, sizeof base);
    snprintf(coll, sizeof coll, "%s/collateral", base);
    assert_int_equal(mkdir(coll, 0700), 0);
    snprintf(from, sizeof from, "%s/collateral", sp->dir);
    DIR *d = opendir(from);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        snprintf(from, sizeof from, "%s/collateral/%s", sp->dir, de->d_name);
        snprintf(to, sizeof to, "%s/%s", coll, de->d_name);
        assert_int_equal(symlink(from, to), 0);
    }
    closedir(d);
    snprintf(trust, sizeof trust, "%s/trust", sp->dir);
    vt_verify_sources src = {.trust_dir = trust, .collateral_dir = coll};
    vt_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_verifier_new(&src, &v, &e), VT_OK);
    vt_verify_opts o = {.at = vt_test_at(T0)};
    vt_verify_result *r = calloc(1, sizeof *r);
    if (run(v, &sp->tdx, &o, r, &e) != VT_OK) fail_msg("complete collateral: %s", e.msg);
    snprintf(to, sizeof to, "%s/qe_identity.json", coll);
    assert_int_equal(unlink(to), 0);
    assert_int_equal(run(v, &sp->tdx, &o, r, &e), VT_E_MISSING);
    assert_non_null(strstr(e.msg, "QE Identity"));
    vt_verify_result_clear(r);
    free(r);
    vt_verifier_free(v);
}

static int group_setup(void **state)
{
    emu_set *s = calloc(1, sizeof *s);
    if (s == NULL) return -1;
    make_set(s); /* one emulator for all: its SNP keys are RSA-4096 */
    *state = s;
    return 0;
}

static int group_teardown(void **state)
{
    free_set(*state);
    free(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_shape),
        cmocka_unit_test(test_result_from_junk),
        cmocka_unit_test(test_nonce_every_kind),
        cmocka_unit_test(test_options_refused),
        cmocka_unit_test(test_cache_as_collateral),
        cmocka_unit_test(test_sources_recheck),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_collateral_change_seen),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
