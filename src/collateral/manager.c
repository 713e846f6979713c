/* The collateral manager (include/veritee/collateral.h): a server's TDX/SGX collateral kept
 * fresh in the background, fetched on demand (single flight per platform, bounded wait) when
 * an arriving quote needs what the cache lacks, and never fetched on the hot path otherwise. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collateral_internal.h"
#include "veritee/codec.h"
#include "veritee/tdx.h"
#include "veritee/crypto.h"
#include "veritee/metrics.h"
#include "veritee/vtime.h"

#define MAX_PLATFORMS 64
#define MAX_SEEN 256
#define CHECK "collateral"

typedef struct platform {
    bool snp;             /* an AMD KDS platform (sw), else Intel (w) */
    vt_coll_tdx_want w;
    vt_coll_snp_want sw;
    vt_time usable_until; /* earliest nextUpdate of its items (0: something missing) */
    bool established;     /* its collateral was usable once: a platform really seen, not a claim */
    bool in_flight;
    vt_err last_rc;
    char last_error[VT_ERR_MSG_MAX];
    vt_time next_try;     /* back-off: no background fetch before this */
    int64_t backoff;      /* seconds of the current back-off */
} platform;

struct vt_coll_manager {
    vt_coll_manager_opts o;
    char *cache_dir, *base_url, *ca_file, *api_key, *kds_url, *kds_ca_file;
    pthread_mutex_t mu;
    pthread_cond_t done;
    platform p[MAX_PLATFORMS];
    size_t n;
    unsigned threads; /* fetch threads running */
    /* PCK chain digest -> platform: the hot path names a quote's platform without decoding its
     * certificates again (they are decoded once per chain, on the first quote) */
    struct seen {
        uint8_t chain[32];
        vt_coll_tdx_want w;
    } seen[MAX_SEEN];
    size_t n_seen, next_seen;
    vt_metric *expiry, *fetches, *fetch_seconds, *platform_ok;
};

static void platform_id(const platform *p, char out[180])
{
    if (p->snp) vt_coll_snp_want_id(&p->sw, out);
    else vt_coll_tdx_want_id(&p->w, out);
}

/* Earliest nextUpdate of the platform's cached items (0 when one is missing or unreadable);
 * *due: one of them is due for refresh at now. */
static vt_time usable_until(vt_coll_manager *m, const platform *p, vt_time now, bool *due)
{
    char names[COLL_SNP_ITEMS > COLL_ITEMS ? COLL_SNP_ITEMS : COLL_ITEMS][COLL_SNP_REL_MAX];
    size_t n = 0;
    if (p->snp) {
        n = coll_snp_rels(&p->sw, names);
    } else {
        char tdx[COLL_ITEMS][64];
        coll_item_names(&p->w, tdx);
        for (; n < COLL_ITEMS; n++) snprintf(names[n], sizeof names[n], "%s/%s", VT_COLL_TDX_DIR, tdx[n]);
    }
    vt_time until = n > 0 ? INT64_MAX : 0;
    if (due) *due = n == 0;
    for (size_t i = 0; i < n; i++) {
        vt_coll_item it;
        if (coll_item_read_rel(m->cache_dir, names[i], &it) != VT_OK || !it.readable) {
            if (due) *due = true;
            return 0;
        }
        if (due && strcmp(vt_coll_item_state(&it, now, m->o.margin, m->o.interval), "valid") != 0) *due = true;
        if (m->expiry != NULL) {
            const char *l[3] = {it.tee, it.kind, it.id};
            vt_metric_set(m->expiry, l, (double)it.next_update);
        }
        if (it.next_update < until) until = it.next_update;
    }
    return until;
}

static bool same_platform(const platform *a, const platform *b)
{
    return a->snp == b->snp && (b->snp ? memcmp(&a->sw, &b->sw, sizeof b->sw) == 0 : memcmp(&a->w, &b->w, sizeof b->w) == 0);
}

/* tmpl: a platform with only snp and w or sw set (the rest zero) */
static platform *find(vt_coll_manager *m, const platform *tmpl)
{
    for (size_t i = 0; i < m->n; i++)
        if (same_platform(&m->p[i], tmpl)) return &m->p[i];
    return NULL;
}

static void set_usable(platform *p, vt_time until, vt_time now)
{
    p->usable_until = until;
    if (until >= now) p->established = true;
}

/* A platform is named by the evidence before anything in it is verified (the FMSPC of a PCK
 * certificate, an SNP report's chip id): a slot whose collateral never became usable is a
 * claim, and a full table gives such a slot (not being fetched) to the next platform. So
 * forged evidence naming 64 made-up platforms cannot lock real ones out. */
static platform *add(vt_coll_manager *m, const platform *tmpl, vt_time now)
{
    platform *p = find(m, tmpl);
    if (p != NULL) return p;
    if (m->n < MAX_PLATFORMS) {
        p = &m->p[m->n++];
    } else {
        for (size_t i = 0; i < m->n && p == NULL; i++)
            if (!m->p[i].established && !m->p[i].in_flight) p = &m->p[i];
        if (p == NULL) return NULL;
    }
    *p = *tmpl;
    set_usable(p, usable_until(m, p, now, NULL), now);
    return p;
}

static platform *add_tdx(vt_coll_manager *m, const vt_coll_tdx_want *w, vt_time now)
{
    platform t;
    memset(&t, 0, sizeof t);
    t.w = *w;
    return add(m, &t, now);
}

static platform *add_snp(vt_coll_manager *m, const vt_coll_snp_want *w, vt_time now)
{
    platform t;
    memset(&t, 0, sizeof t);
    t.snp = true;
    t.sw = *w;
    return add(m, &t, now);
}

static vt_coll_pcs upstream_of(const vt_coll_manager *m, bool snp)
{
    vt_coll_pcs u = snp ? m->o.kds : m->o.pcs;
    u.base_url = snp ? m->kds_url : m->base_url;
    u.ca_file = snp ? m->kds_ca_file : m->ca_file;
    u.api_key = snp ? NULL : m->api_key;
    return u;
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Fetch for one platform (no lock held); records the outcome under the lock. */
static void fetch_platform(vt_coll_manager *m, platform *p, vt_time now, bool background, vt_coll_report *rep)
{
    vt_coll_pcs u = upstream_of(m, p->snp);
    vt_error e;
    double t0 = mono();
    vt_err rc = p->snp ? vt_coll_snp_fetch(&u, m->cache_dir, &p->sw, now, m->o.margin, m->o.interval, false, rep, &e)
                       : vt_coll_tdx_fetch(&u, m->cache_dir, &p->w, now, m->o.margin, m->o.interval, false, rep, &e);
    double dt = mono() - t0;
    /* the cache files are read without the lock: the hot path (vt_coll_manager_need) takes it */
    vt_time until = usable_until(m, p, now, NULL);
    pthread_mutex_lock(&m->mu);
    p->last_rc = rc;
    if (rc == VT_OK) {
        p->last_error[0] = 0;
        p->backoff = 0;
        p->next_try = 0;
    } else {
        snprintf(p->last_error, sizeof p->last_error, "%s", e.msg);
        int64_t lo = m->o.retry_min_s > 0 ? m->o.retry_min_s : 60, hi = m->o.retry_max_s > 0 ? m->o.retry_max_s : 3600;
        p->backoff = p->backoff ? (p->backoff * 2 > hi ? hi : p->backoff * 2) : lo;
        if (background || p->next_try < now + p->backoff) p->next_try = now + p->backoff;
    }
    set_usable(p, until, now);
    p->in_flight = false;
    pthread_cond_broadcast(&m->done);
    pthread_mutex_unlock(&m->mu);
    const char *l[2] = {p->snp ? "kds" : "pcs", rc == VT_OK ? "ok" : rc == VT_E_MISSING ? "unavailable" : "refused"};
    vt_metric_inc(m->fetches, l, 1);
    vt_metric_observe(m->fetch_seconds, l, dt);
}

typedef struct job {
    vt_coll_manager *m;
    platform *p;
    vt_time now;
} job;

static void *fetch_thread(void *arg)
{
    job *j = arg;
    vt_coll_report rep;
    fetch_platform(j->m, j->p, j->now, false, &rep);
    pthread_mutex_lock(&j->m->mu);
    j->m->threads--;
    pthread_cond_broadcast(&j->m->done);
    pthread_mutex_unlock(&j->m->mu);
    free(j);
    return NULL;
}

static void learn_snp(vt_coll_manager *m, vt_time now)
{
    vt_coll_snp_want w[MAX_PLATFORMS];
    size_t n = 0;
    if (vt_coll_snp_known(m->cache_dir, w, MAX_PLATFORMS, &n, NULL) != VT_OK) return;
    for (size_t i = 0; i < n; i++) add_snp(m, &w[i], now);
}

vt_err vt_coll_manager_new(const vt_coll_manager_opts *o, vt_time now, vt_coll_manager **out, vt_error *err)
{
    *out = NULL;
    if (o == NULL || o->cache_dir == NULL) return vt_error_set(err, VT_E_ARG, CHECK, "the collateral manager needs a cache directory");
    vt_coll_manager *m = calloc(1, sizeof *m);
    if (m == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    m->o = *o;
    if (m->o.margin <= 0) m->o.margin = VT_COLL_DEFAULT_MARGIN;
    if (m->o.interval <= 0) m->o.interval = VT_COLL_DEFAULT_INTERVAL;
    if (m->o.fetch_wait_ms <= 0) m->o.fetch_wait_ms = 5000;
    m->cache_dir = strdup(o->cache_dir);
    m->base_url = o->pcs.base_url ? strdup(o->pcs.base_url) : NULL;
    m->ca_file = o->pcs.ca_file ? strdup(o->pcs.ca_file) : NULL;
    m->api_key = o->pcs.api_key ? strdup(o->pcs.api_key) : NULL;
    m->kds_url = o->kds.base_url ? strdup(o->kds.base_url) : NULL;
    m->kds_ca_file = o->kds.ca_file ? strdup(o->kds.ca_file) : NULL;
    pthread_mutex_init(&m->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->done, &ca);
    pthread_condattr_destroy(&ca);
    if (m->cache_dir == NULL || (o->pcs.base_url && !m->base_url) || (o->pcs.ca_file && !m->ca_file) ||
        (o->pcs.api_key && !m->api_key) || (o->kds.base_url && !m->kds_url) || (o->kds.ca_file && !m->kds_ca_file)) {
        vt_coll_manager_free(m);
        return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    }
    if (o->metrics != NULL) {
        m->expiry = vt_metrics_gauge(o->metrics, "veritee_collateral_expiry_timestamp_seconds",
                                     "When each cached collateral item expires (nextUpdate / notAfter), Unix time",
                                     "tee,kind,id");
        m->fetches = vt_metrics_counter(o->metrics, "veritee_collateral_fetch_total",
                                        "Collateral fetches by upstream and result (ok, unavailable, refused)",
                                        "upstream,result");
        m->fetch_seconds = vt_metrics_histogram(o->metrics, "veritee_collateral_fetch_duration_seconds",
                                                "Duration of collateral fetches by upstream and result", "upstream,result",
                                                NULL, 0);
        m->platform_ok = vt_metrics_gauge(o->metrics, "veritee_collateral_platform_usable",
                                          "1 when every item a known platform needs is cached and unexpired",
                                          "platform");
    }
    /* learn the platforms the cache holds: its TCB Infos with the PCK CAs whose CRLs it has */
    vt_coll_item *items = NULL;
    size_t n = 0;
    vt_err rc = vt_coll_list(m->cache_dir, &items, &n, err);
    if (rc != VT_OK) {
        vt_coll_manager_free(m);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(items[i].kind, "tcb_info") != 0 || !items[i].readable) continue;
        for (size_t k = 0; k < n; k++) {
            if (strcmp(items[k].kind, "pck_crl") != 0) continue;
            char spec[256];
            vt_coll_tdx_want w;
            snprintf(spec, sizeof spec, "%s:%s:%s", items[i].tee, items[i].id, items[k].id);
            if (vt_coll_tdx_want_parse(spec, &w, NULL) == VT_OK) add_tdx(m, &w, now);
        }
    }
    learn_snp(m, now);
    free(items);
    *out = m;
    return VT_OK;
}

void vt_coll_manager_free(vt_coll_manager *m)
{
    if (m == NULL) return;
    pthread_mutex_lock(&m->mu);
    while (m->threads > 0) pthread_cond_wait(&m->done, &m->mu);
    pthread_mutex_unlock(&m->mu);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->done);
    free(m->cache_dir);
    free(m->base_url);
    free(m->ca_file);
    free(m->api_key);
    free(m->kds_url);
    free(m->kds_ca_file);
    free(m);
}

/* The quote's platform: from the PCK chain digest when this chain was seen before, else from its
 * PCK certificate (and remembered). */
static vt_err platform_of(vt_coll_manager *m, const uint8_t *ev, size_t len, vt_coll_tdx_want *w, vt_error *err)
{
    vt_tdx_quote q;
    uint8_t d[32];
    VT_GUARD(vt_tdx_quote_parse(ev, len, &q, err));
    if (q.pck_chain.len == 0)
        return vt_error_set(err, VT_E_INVALID, CHECK, "the quote carries no PCK certificate chain (certification data type 5)");
    VT_GUARD(vt_hash(VT_SHA256, q.pck_chain.ptr, q.pck_chain.len, d, err));
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n_seen; i++)
        if (memcmp(m->seen[i].chain, d, 32) == 0) {
            *w = m->seen[i].w;
            pthread_mutex_unlock(&m->mu);
            return VT_OK;
        }
    pthread_mutex_unlock(&m->mu);
    VT_GUARD(vt_coll_tdx_want_from_quote(ev, len, w, err));
    pthread_mutex_lock(&m->mu);
    memcpy(m->seen[m->next_seen].chain, d, 32);
    m->seen[m->next_seen].w = *w;
    m->next_seen = (m->next_seen + 1) % MAX_SEEN;
    if (m->n_seen < MAX_SEEN) m->n_seen++;
    pthread_mutex_unlock(&m->mu);
    return VT_OK;
}

/* The hot path for one platform (tmpl): at once when usable, else one fetch shared by every
 * caller, each waiting at most fetch_wait_ms. */
static vt_err need_platform(vt_coll_manager *m, const platform *tmpl, vt_time now, vt_error *err)
{
    char id[180];
    platform_id(tmpl, id);
    pthread_mutex_lock(&m->mu);
    platform *p = add(m, tmpl, now);
    if (p == NULL) {
        pthread_mutex_unlock(&m->mu);
        return vt_error_set(err, VT_E_MISSING, CHECK, "too many platforms (%d) to keep collateral for", MAX_PLATFORMS);
    }
    if (p->usable_until >= now) { /* the hot path: cached and unexpired (through nextUpdate) */
        pthread_mutex_unlock(&m->mu);
        return VT_OK;
    }
    if ((tmpl->snp ? m->kds_url : m->base_url) == NULL) {
        pthread_mutex_unlock(&m->mu);
        return vt_error_set(err, VT_E_MISSING, CHECK, "no collateral for platform %s in the cache, and no upstream to fetch it from", id);
    }
    if (!p->in_flight && p->last_rc != VT_OK && now < p->next_try) {
        /* the upstream failed a moment ago: fail closed at once instead of every guest retrying it */
        char when[21];
        vt_time_format(p->next_try, when);
        vt_err rc = vt_error_set(err, VT_E_MISSING, CHECK, "collateral for platform %s is missing or expired and its "
                                 "upstream is failing (%s); next attempt at %s", id, p->last_error, when);
        pthread_mutex_unlock(&m->mu);
        return rc;
    }
    if (!p->in_flight) {
        job *j = malloc(sizeof *j);
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (j != NULL) *j = (job){m, p, now};
        if (j == NULL || pthread_create(&t, &at, fetch_thread, j) != 0) {
            free(j);
            pthread_attr_destroy(&at);
            pthread_mutex_unlock(&m->mu);
            return vt_error_set(err, VT_E_MISSING, CHECK, "cannot start a collateral fetch for %s", id);
        }
        pthread_attr_destroy(&at);
        p->in_flight = true;
        m->threads++;
    }
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += m->o.fetch_wait_ms / 1000;
    dl.tv_nsec += (m->o.fetch_wait_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) dl.tv_sec++, dl.tv_nsec -= 1000000000L;
    int w8 = 0;
    while (p->in_flight && w8 != ETIMEDOUT) w8 = pthread_cond_timedwait(&m->done, &m->mu, &dl);
    vt_err rc = VT_OK;
    if (!same_platform(p, tmpl)) /* its fetch failed and the slot went to another claim meanwhile */
        rc = vt_error_set(err, VT_E_MISSING, CHECK, "collateral for platform %s could not be fetched", id);
    else if (p->in_flight)
        rc = vt_error_set(err, VT_E_MISSING, CHECK, "collateral for platform %s is being fetched: not ready within %ld ms",
                          id, m->o.fetch_wait_ms);
    else if (p->usable_until < now)
        rc = vt_error_set(err, VT_E_MISSING, CHECK, "collateral for platform %s could not be fetched: %s", id,
                          p->last_error[0] ? p->last_error : "an item is missing or expired");
    pthread_mutex_unlock(&m->mu);
    return rc;
}

vt_err vt_coll_manager_need(vt_coll_manager *m, const char *tee, const uint8_t *ev, size_t len, vt_time now,
                            vt_error *err)
{
    if (tee != NULL && strcmp(tee, "snp") == 0) return vt_coll_manager_need_snp(m, ev, len, NULL, now, err);
    if (tee == NULL || (strcmp(tee, "tdx") != 0 && strcmp(tee, "sgx") != 0)) return VT_OK;
    platform t;
    memset(&t, 0, sizeof t);
    VT_GUARD(platform_of(m, ev, len, &t.w, err));
    return need_platform(m, &t, now, err);
}

vt_err vt_coll_manager_need_snp(vt_coll_manager *m, const uint8_t *ev, size_t len, const char *product, vt_time now,
                                vt_error *err)
{
    if (m->kds_url == NULL) return VT_OK; /* no AMD KDS: the cache and the evidence are all there is */
    platform t;
    memset(&t, 0, sizeof t);
    t.snp = true;
    VT_GUARD(vt_coll_snp_want_from_report(ev, len, product, &t.sw, err));
    return need_platform(m, &t, now, err);
}

vt_err vt_coll_manager_tick(vt_coll_manager *m, vt_time now, vt_coll_tick_report *rep, vt_error *err)
{
    vt_coll_tick_report local;
    if (rep == NULL) rep = &local;
    memset(rep, 0, sizeof *rep);
    pthread_mutex_lock(&m->mu);
    size_t n = m->n;
    rep->platforms = (unsigned)n;
    pthread_mutex_unlock(&m->mu);
    for (size_t i = 0; i < n; i++) {
        platform *p = &m->p[i]; /* entries below n stay; a never-usable one may be given to another platform */
        pthread_mutex_lock(&m->mu);
        platform want = *p;
        pthread_mutex_unlock(&m->mu);
        bool due = false;
        vt_time until = usable_until(m, &want, now, &due); /* file reads outside the hot path's lock */
        pthread_mutex_lock(&m->mu);
        if (!same_platform(p, &want)) { /* the slot changed hands meanwhile: its new platform next pass */
            pthread_mutex_unlock(&m->mu);
            continue;
        }
        set_usable(p, until, now);
        char id[180];
        platform_id(p, id);
        const char *l[1] = {id};
        vt_metric_set(m->platform_ok, l, p->usable_until >= now ? 1 : 0);
        bool go = due && !p->in_flight && (p->snp ? m->kds_url : m->base_url) != NULL;
        if (go && now < p->next_try) {
            rep->deferred++;
            go = false;
        }
        if (go) p->in_flight = true;
        pthread_mutex_unlock(&m->mu);
        if (!go) continue;
        vt_coll_report r;
        fetch_platform(m, p, now, true, &r);
        rep->requests += r.requests;
        if (p->last_rc == VT_OK) rep->refreshed++;
        else rep->failed++;
    }
    (void)err;
    return VT_OK;
}

bool vt_coll_manager_ready(vt_coll_manager *m, vt_time now)
{
    pthread_mutex_lock(&m->mu);
    bool ok = true;
    /* platforms whose collateral was once usable: a claim never verified does not take a node
     * out of its load balancer (one forged report would take them all) */
    for (size_t i = 0; i < m->n && ok; i++) ok = !m->p[i].established || m->p[i].usable_until >= now;
    pthread_mutex_unlock(&m->mu);
    return ok;
}
