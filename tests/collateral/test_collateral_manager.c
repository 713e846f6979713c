/* collateral layer: the manager a server runs (include/veritee/collateral.h), against a fake
 * PCCS on loopback (tests/fixtures/fake_pcs.py) serving the Intel collateral of a real TDX
 * quote, on an injected clock: the hot path never fetches when the cache is fresh, an arriving
 * quote of an unknown platform is fetched once however many guests wait, a waiting guest is
 * bounded, the background refreshes before expiry, an outage is served from the cache until the
 * items really expire, and back-off spaces the retries. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_pcs.h"
#include "testutil.h"
#include "veritee/collateral.h"
#include "veritee/fileio.h"
#include "veritee/metrics.h"

#define VEC "tdx/dcapqvl_tdx_v4_b0c06f"

static struct {
    fake_pcs pcs;
    char dir[512], vec[512];
    vt_buf quote;
    vt_time at;       /* the vector's instant: every item valid */
    vt_time tcb_next; /* the TCB Info's nextUpdate */
    vt_time usable;   /* the earliest nextUpdate of the platform's items (the PCK CRL's) */
} F;

static void ctl(const char *json) { fake_pcs_ctl(&F.pcs, json); }
static int requests(void) { return fake_pcs_requests(&F.pcs); }

static int setup(void **st)
{
    (void)st;
    if (!vt_test_vector_path(VEC "/quote.bin", F.vec, sizeof F.vec)) return 0;
    vt_test_load(VEC "/quote.bin", &F.quote);
    *strrchr(F.vec, '/') = 0;
    assert_int_equal(vt_time_parse_rfc3339("2025-07-19T10:00:34Z", &F.at, NULL), VT_OK);
    assert_int_equal(vt_time_parse_rfc3339("2025-07-19T10:16:03Z", &F.tcb_next, NULL), VT_OK);
    assert_int_equal(vt_time_parse_rfc3339("2025-07-19T10:00:35Z", &F.usable, NULL), VT_OK);
    vt_test_tmpdir(F.dir, sizeof F.dir);
    return fake_pcs_start(&F.pcs, F.vec, F.dir) ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    fake_pcs_stop(&F.pcs);
    vt_buf_free(&F.quote);
    return 0;
}

/* vt_coll_manager_need at an instant, expecting code want; says why when it differs. */
static void need_is(vt_coll_manager *m, vt_time at, vt_err want, vt_error *e)
{
    vt_err rc = vt_coll_manager_need(m, "tdx", F.quote.ptr, F.quote.len, at, e);
    if (rc != want) print_message("need at %lld: %d (%s), want %d\n", (long long)at, rc, rc ? e->msg : "ok", want);
    assert_int_equal(rc, want);
}

static vt_coll_manager *manager(const char *cache, long wait_ms, vt_metrics *metrics)
{
    vt_coll_manager_opts o = {.cache_dir = cache, .pcs = {.base_url = F.pcs.url, .pccs = true, .backoff_ms = 10, .timeout_seconds = 5},
                              .fetch_wait_ms = wait_ms, .retry_min_s = 600, .retry_max_s = 7200, .metrics = metrics};
    vt_coll_manager *m = NULL;
    vt_error e;
    assert_int_equal(vt_coll_manager_new(&o, F.at, &m, &e), VT_OK);
    return m;
}

static void cache_path(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", F.dir, name);
}

/* The hot path: an unknown platform is fetched on demand once, then never again while fresh. */
static void test_need_fetches_once(void **st)
{
    (void)st;
    if (F.quote.len == 0) skip();
    char cache[700];
    cache_path("c1", cache, sizeof cache);
    vt_metrics *reg = vt_metrics_new();
    vt_coll_manager *m = manager(cache, 10000, reg);
    vt_error e;
    assert_true(vt_coll_manager_ready(m, F.at)); /* no platform yet */
    int n0 = requests();
    need_is(m, F.at, VT_OK, &e);
    int n1 = requests();
    assert_int_equal(n1 - n0, 4); /* TCB Info, QE Identity, PCK CRL, root CA CRL */
    for (int i = 0; i < 50; i++)
        need_is(m, F.at - i * 3600, VT_OK, &e);
    assert_int_equal(requests(), n1); /* the hot path made no request */
    assert_true(vt_coll_manager_ready(m, F.at));
    /* other TEEs need nothing from here */
    assert_int_equal(vt_coll_manager_need(m, "snp", (const uint8_t *)"x", 1, F.at, &e), VT_OK);
    /* the gauges carry each item's expiry */
    vt_coll_tick_report r;
    assert_int_equal(vt_coll_manager_tick(m, F.at - 30 * 86400, &r, &e), VT_OK);
    vt_buf text = {0};
    assert_int_equal(vt_metrics_render(reg, &text, &e), VT_OK);
    assert_non_null(strstr((char *)text.ptr, "veritee_collateral_expiry_timestamp_seconds{tee=\"tdx\",kind=\"tcb_info\",id=\"B0C06F000000\"} 1752920163"));
    assert_non_null(strstr((char *)text.ptr, "veritee_collateral_fetch_total{upstream=\"pcs\",result=\"ok\"} 1"));
    vt_buf_free(&text);
    vt_coll_manager_free(m);
    /* a new manager learns the platform from the cache and is ready without fetching */
    m = manager(cache, 10000, NULL);
    assert_true(vt_coll_manager_ready(m, F.at));
    need_is(m, F.at, VT_OK, &e);
    assert_int_equal(requests(), n1);
    assert_true(vt_coll_manager_ready(m, F.usable));       /* usable through the earliest nextUpdate */
    assert_false(vt_coll_manager_ready(m, F.usable + 1)); /* and not one second after */
    vt_coll_manager_free(m);
    vt_metrics_free(reg);
}

typedef struct guest {
    vt_coll_manager *m;
    vt_err rc;
} guest;

static void *guest_run(void *arg)
{
    guest *g = arg;
    vt_error e;
    g->rc = vt_coll_manager_need(g->m, "tdx", F.quote.ptr, F.quote.len, F.at, &e);
    return NULL;
}

/* Eight guests of one platform arrive together: one fetch serves them all. */
static void test_single_flight(void **st)
{
    (void)st;
    if (F.quote.len == 0) skip();
    char cache[700];
    cache_path("c2", cache, sizeof cache);
    vt_coll_manager *m = manager(cache, 20000, NULL);
    ctl("{\"delay\": 1}"); /* the first answer takes a second: everybody arrives meanwhile */
    int n0 = requests();
    pthread_t t[8];
    guest g[8];
    for (int i = 0; i < 8; i++) {
        g[i] = (guest){m, -1};
        assert_int_equal(pthread_create(&t[i], NULL, guest_run, &g[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        if (g[i].rc != VT_OK) print_message("guest %d: %d\n", i, g[i].rc);
        assert_int_equal(g[i].rc, VT_OK);
    }
    /* one fetch for all eight: four requests (TCB Info, QE Identity, PCK CRL, root CA CRL) */
    assert_int_equal(requests() - n0, 4);
    vt_coll_manager_free(m);
}

/* A guest waits a bounded time; the fetch goes on and serves the next guest. */
static void test_bounded_wait(void **st)
{
    (void)st;
    if (F.quote.len == 0) skip();
    char cache[700];
    cache_path("c3", cache, sizeof cache);
    vt_coll_manager *m = manager(cache, 200, NULL);
    vt_error e;
    ctl("{\"stall\": 2}");
    need_is(m, F.at, VT_E_MISSING, &e);
    assert_non_null(strstr(e.msg, "not ready within 200 ms"));
    vt_coll_manager_free(m); /* waits for the fetch in flight */
    /* the platform is usable afterwards; a generous wait here, because whether the freed
     * manager's fetch completed or a new one is needed, a loaded machine must not turn that
     * second fetch (several loopback requests) into a failure of the bound tested above */
    m = manager(cache, 10000, NULL);
    need_is(m, F.at, VT_OK, &e);
    vt_coll_manager_free(m);
}

/* The background: refresh when due, serve from the cache through an outage until the items
 * really expire, back off between failed attempts, recover. */
static void test_tick_refresh_outage(void **st)
{
    (void)st;
    if (F.quote.len == 0) skip();
    char cache[700];
    cache_path("c4", cache, sizeof cache);
    vt_coll_manager *m = manager(cache, 10000, NULL);
    vt_error e;
    vt_coll_tick_report r;
    vt_time t0 = F.at - 20 * 86400; /* twenty days before the vector's instant */
    need_is(m, t0, VT_OK, &e);
    int n0 = requests();
    assert_int_equal(vt_coll_manager_tick(m, t0 + 3600, &r, &e), VT_OK);
    assert_int_equal(r.platforms, 1);
    assert_int_equal(r.refreshed + r.failed, 0); /* fresh: nothing to do */
    assert_int_equal(requests(), n0);
    /* a day later the interval is up: the items are fetched again */
    assert_int_equal(vt_coll_manager_tick(m, t0 + 86400 + 60, &r, &e), VT_OK);
    assert_int_equal(r.refreshed, 1);
    assert_true(r.requests >= 3);
    /* an outage: the tick fails, backs off, and the hot path still serves from the cache */
    ctl("{\"down\": true}");
    vt_time t1 = t0 + 2 * 86400 + 120;
    assert_int_equal(vt_coll_manager_tick(m, t1, &r, &e), VT_OK);
    assert_int_equal(r.failed, 1);
    int n1 = requests();
    assert_int_equal(vt_coll_manager_tick(m, t1 + 60, &r, &e), VT_OK);
    assert_int_equal(r.deferred, 1); /* inside the 600 s back-off: not tried */
    assert_int_equal(requests(), n1);
    need_is(m, F.usable - 1, VT_OK, &e);
    need_is(m, F.usable, VT_OK, &e);
    assert_true(vt_coll_manager_ready(m, F.usable));
    assert_int_equal(requests(), n1); /* never a fetch on the hot path while usable */
    /* recovery: the upstream is back, the next tick after the back-off succeeds */
    ctl("{\"down\": false}");
    assert_int_equal(vt_coll_manager_tick(m, t1 + 700, &r, &e), VT_OK);
    assert_int_equal(r.refreshed, 1);
    /* a second outage lasting past real expiry: refused (fail closed), and not ready */
    ctl("{\"down\": true}");
    need_is(m, F.usable + 1, VT_E_MISSING, &e);
    assert_non_null(strstr(e.msg, "could not be fetched"));
    assert_false(vt_coll_manager_ready(m, F.usable + 1));
    ctl("{\"down\": false}");
    vt_coll_manager_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_need_fetches_once),
        cmocka_unit_test(test_single_flight),
        cmocka_unit_test(test_bounded_wait),
        cmocka_unit_test(test_tick_refresh_outage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
