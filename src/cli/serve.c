/* veritee serve: the Key Broker Service (CoCo KBS protocol RCAR 0.4.0) and attestation service
 * over HTTP(S), on SQLite or PostgreSQL (docs/kbs.md). Thin: options and config file, keys,
 * store, the routes of src/server/kbs_routes.c, a periodic session sweep, graceful stop on SIGTERM. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdarg.h>
#include <signal.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "sd_notify.h"
#include "veritee/certdir.h"
#include "veritee/collateral.h"
#include "veritee/ear.h"
#include "veritee/fileio.h"
#include "veritee/json.h"
#include "veritee/jws.h"
#include "veritee/crypto.h"
#include "veritee/kbs.h"
#include "veritee/kbs_http.h"
#include "veritee/ui_http.h"

typedef struct serve_opts {
    const char *listen, *db, *trust, *collateral, *admin_key, *kek_file, *ear_key, *policy, *tls_cert, *tls_key,
        *log, *pcs_url, *kds_url, *cache, *pccs_url, *pccs_cacert, *pcs_api_key, *tpm_ak, *nvidia_ocsp, *trustee_admin_compat;
    /* NVIDIA GPU sources (docs/kbs.md, "GPU revocation and RIMs") */
    const char *nvidia_ocsp_url, *nvidia_rim_url, *nvidia_rim_trust, *nvidia_cache;
    int64_t nvidia_timeout;
    bool nvidia_allow_unknown;
    int64_t token_lifetime, session_lifetime, max_body, sweep, max_sessions, collateral_refresh, collateral_retry;
    bool pccs_insecure;
    int64_t max_sessions_per_client, token_skew, max_connections, max_connections_per_ip, idle_timeout, http_threads,
        header_timeout, body_timeout, max_body_memory, db_pool, audit_check_window;
    bool token_skew_set;
    double rate;
    int64_t burst;
    bool insecure_sample, allow_missing_crl;
    int ui; /* --ui / --no-ui; 0: on when listening on loopback */
    double explore_rate;
    int64_t explore_burst;
} serve_opts;

static void usage(FILE *f)
{
    cli_usage(f, "serve");
}

/* A config string fills the option when no flag gave it (leaked on purpose: process lifetime). */
static vt_err cfg_str(const vt_json_in *c, const char *key, const char **field)
{
    const char *v = NULL;
    VT_GUARD(vt_json_get_str(c, key, VT_JSON_OPTIONAL, &v, NULL));
    if (*field == NULL && v != NULL && (*field = strdup(v)) == NULL)
        return vt_error_set(c->err, VT_E_NOMEM, "config", "out of memory");
    return VT_OK;
}

static vt_err cfg_int(const vt_json_in *c, const char *key, int64_t *field)
{
    int64_t v = 0;
    bool given;
    VT_GUARD(vt_json_get_int(c, key, VT_JSON_OPTIONAL, 0, INT64_MAX, &v, &given));
    if (*field == 0 && given) *field = v;
    return VT_OK;
}

static vt_err apply_config_json(const json_t *cj, serve_opts *o, vt_error *e)
{
    static const char *const known[] = {"listen", "db", "trust", "collateral", "admin_key", "kek_file", "ear_key",
                                        "policy", "tls_cert", "tls_key", "log", "token_lifetime", "session_lifetime",
                                        "max_body", "rate", "burst", "sweep", "allow_missing_crl", "max_sessions",
                                        "pcs_url", "kds_url", "cache", "pccs_url", "pccs_cacert", "pccs_insecure",
                                        "pcs_api_key", "collateral_refresh", "collateral_retry",
                                        "max_sessions_per_client", "token_skew", "max_connections", "http_threads", "db_pool",
                                        "max_connections_per_ip", "idle_timeout", "header_timeout", "body_timeout",
                                        "max_body_memory", "tpm_ak", "nvidia_ocsp", "trustee_admin_compat",
                                        "nvidia_ocsp_url", "nvidia_rim_url", "nvidia_rim_trust", "nvidia_cache",
                                        "nvidia_timeout", "nvidia_allow_revocation_unknown", "audit_check_window", NULL};
    vt_json_in c;
    VT_GUARD(vt_json_in_init(&c, cj, "", "config", e));
    VT_GUARD(vt_json_keys(&c, known));
    const char **strs[] = {&o->listen, &o->db, &o->trust, &o->collateral, &o->admin_key, &o->kek_file,
                           &o->ear_key, &o->policy, &o->tls_cert, &o->tls_key, &o->log};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) VT_GUARD(cfg_str(&c, known[i], strs[i]));
    VT_GUARD(cfg_str(&c, "pcs_url", &o->pcs_url));
    VT_GUARD(cfg_str(&c, "kds_url", &o->kds_url));
    VT_GUARD(cfg_str(&c, "cache", &o->cache));
    VT_GUARD(cfg_str(&c, "pccs_url", &o->pccs_url));
    VT_GUARD(cfg_str(&c, "pccs_cacert", &o->pccs_cacert));
    VT_GUARD(cfg_str(&c, "pcs_api_key", &o->pcs_api_key));
    VT_GUARD(cfg_str(&c, "tpm_ak", &o->tpm_ak));
    VT_GUARD(cfg_str(&c, "nvidia_ocsp", &o->nvidia_ocsp));
    VT_GUARD(cfg_str(&c, "trustee_admin_compat", &o->trustee_admin_compat));
    VT_GUARD(cfg_str(&c, "nvidia_ocsp_url", &o->nvidia_ocsp_url));
    VT_GUARD(cfg_str(&c, "nvidia_rim_url", &o->nvidia_rim_url));
    VT_GUARD(cfg_str(&c, "nvidia_rim_trust", &o->nvidia_rim_trust));
    VT_GUARD(cfg_str(&c, "nvidia_cache", &o->nvidia_cache));
    VT_GUARD(cfg_int(&c, "nvidia_timeout", &o->nvidia_timeout));
    VT_GUARD(cfg_int(&c, "collateral_refresh", &o->collateral_refresh));
    VT_GUARD(cfg_int(&c, "collateral_retry", &o->collateral_retry));
    VT_GUARD(cfg_int(&c, "token_lifetime", &o->token_lifetime));
    VT_GUARD(cfg_int(&c, "session_lifetime", &o->session_lifetime));
    VT_GUARD(cfg_int(&c, "max_body", &o->max_body));
    VT_GUARD(cfg_int(&c, "burst", &o->burst));
    VT_GUARD(cfg_int(&c, "sweep", &o->sweep));
    VT_GUARD(cfg_int(&c, "max_sessions", &o->max_sessions));
    VT_GUARD(cfg_int(&c, "max_sessions_per_client", &o->max_sessions_per_client));
    VT_GUARD(cfg_int(&c, "max_connections", &o->max_connections));
    VT_GUARD(cfg_int(&c, "http_threads", &o->http_threads));
    VT_GUARD(cfg_int(&c, "db_pool", &o->db_pool));
    VT_GUARD(cfg_int(&c, "max_connections_per_ip", &o->max_connections_per_ip));
    VT_GUARD(cfg_int(&c, "idle_timeout", &o->idle_timeout));
    VT_GUARD(cfg_int(&c, "header_timeout", &o->header_timeout));
    VT_GUARD(cfg_int(&c, "body_timeout", &o->body_timeout));
    VT_GUARD(cfg_int(&c, "max_body_memory", &o->max_body_memory));
    VT_GUARD(cfg_int(&c, "audit_check_window", &o->audit_check_window));
    if (!o->token_skew_set && json_object_get(cj, "token_skew") != NULL) {
        int64_t skew = 0;
        VT_GUARD(vt_json_get_int(&c, "token_skew", VT_JSON_OPTIONAL, 0, 300, &skew, NULL));
        o->token_skew = skew;
        o->token_skew_set = true;
    }
    const json_t *rate = json_object_get(cj, "rate"); /* requests per second: any non-negative number */
    if (rate != NULL && (!json_is_number(rate) || json_number_value(rate) < 0))
        return vt_json_fail(&c, "rate", "expected a non-negative number");
    if (o->rate == 0 && rate != NULL) o->rate = json_number_value(rate);
    bool allow = false;
    VT_GUARD(vt_json_get_bool(&c, "allow_missing_crl", VT_JSON_OPTIONAL, &allow, NULL));
    if (allow) o->allow_missing_crl = true;
    bool insecure = false;
    VT_GUARD(vt_json_get_bool(&c, "pccs_insecure", VT_JSON_OPTIONAL, &insecure, NULL));
    if (insecure) o->pccs_insecure = true;
    bool unknown = false;
    VT_GUARD(vt_json_get_bool(&c, "nvidia_allow_revocation_unknown", VT_JSON_OPTIONAL, &unknown, NULL));
    if (unknown) o->nvidia_allow_unknown = true;
    return VT_OK;
}

/* Config file keys fill the options not given as flags. */
static int apply_config(const char *path, serve_opts *o)
{
    vt_buf b = {0};
    vt_error e = {0};
    json_t *c = NULL;
    vt_err rc = vt_file_read(path, 1u << 20, &b, &e);
    if (rc == VT_OK) rc = vt_json_parse((const char *)b.ptr, b.len, &c, &e);
    if (rc == VT_OK) rc = apply_config_json(c, o, &e);
    vt_buf_free(&b);
    json_decref(c);
    if (rc != VT_OK) {
        fprintf(stderr, "veritee serve: config %s: %s\n", path, e.msg);
        return -1;
    }
    return 0;
}

static EVP_PKEY *load_admin_key(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) return NULL;
    EVP_PKEY *k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    if (k == NULL) {
        rewind(f);
        k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    }
    fclose(f);
    if (k != NULL && !EVP_PKEY_is_a(k, "ED25519") &&
        !(EVP_PKEY_is_a(k, "EC") && vt_jws_alg_for_key(k) && strcmp(vt_jws_alg_for_key(k), "ES256") == 0)) {
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

typedef struct sweeper {
    vt_kbs *kbs;
    int64_t period;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
} sweeper;

static void *sweep_main(void *arg)
{
    sweeper *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        pthread_mutex_unlock(&s->mu);
        vt_error e = {0};
        if (vt_kbs_sweep(s->kbs, (vt_time)time(NULL), &e) != VT_OK) {
            /* the store did not answer: the next period sweeps again (its rows only grow meanwhile) */
        }
        pthread_mutex_lock(&s->mu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += s->period;
        while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &ts) == 0) {
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* The collateral manager's background pass, every period seconds (docs/collateral.md). */
typedef struct refresher {
    vt_coll_manager *mgr;
    vt_http_server *srv;
    int64_t period;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
} refresher;

static void *refresh_main(void *arg)
{
    refresher *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        pthread_mutex_unlock(&r->mu);
        vt_error e = {0};
        vt_coll_tick_report t;
        if (vt_coll_manager_tick(r->mgr, (vt_time)time(NULL), &t, &e) == VT_OK && (t.refreshed || t.failed)) {
            json_t *f = json_pack("{si si si si}", "platforms", t.platforms, "refreshed", t.refreshed, "failed",
                                  t.failed, "requests", t.requests);
            vt_http_log(r->srv, t.failed ? "warn" : "info", "collateral refresh", f);
            json_decref(f);
        }
        pthread_mutex_lock(&r->mu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += r->period;
        while (!r->stop && pthread_cond_timedwait(&r->cv, &r->mu, &ts) == 0) {
        }
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* /readyz: the store answers and every known platform's collateral is usable now. */
typedef struct ready_ctx {
    vt_store *store;
    vt_coll_manager *coll;
} ready_ctx;

/* /readyz: the store answers (a balancer takes a node whose database is gone out of the pool)
 * and the collateral of every known platform is usable. */
static vt_err serve_ready(void *ud, vt_error *err)
{
    ready_ctx *r = ud;
    if (r->store != NULL && vt_store_ping(r->store, err) != VT_OK) return vt_error_wrap(err, "store");
    vt_coll_manager *m = r->coll;
    if (m != NULL && !vt_coll_manager_ready(m, (vt_time)time(NULL)))
        return vt_error_set(err, VT_E_MISSING, "collateral", "the collateral of a known platform is missing or expired");
    return VT_OK;
}

static int parse_args(int argc, char **argv, serve_opts *o, const char **config)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define STR(flag, field) if (strcmp(a, flag) == 0 && v) { o->field = v; i++; continue; }
#define NUM(flag, field) if (strcmp(a, flag) == 0 && v) { o->field = strtoll(v, NULL, 10); i++; continue; }
        STR("--listen", listen) STR("--db", db) STR("--trust", trust) STR("--collateral", collateral)
        STR("--admin-key", admin_key) STR("--kek-file", kek_file) STR("--ear-key", ear_key) STR("--policy", policy)
        STR("--tls-cert", tls_cert) STR("--tls-key", tls_key) STR("--log", log)
        STR("--pcs-url", pcs_url) STR("--kds-url", kds_url) STR("--cache", cache) STR("--pccs-url", pccs_url)
        STR("--pccs-cacert", pccs_cacert) STR("--pcs-api-key", pcs_api_key) STR("--tpm-ak", tpm_ak)
        STR("--nvidia-ocsp", nvidia_ocsp) STR("--nvidia-ocsp-url", nvidia_ocsp_url)
        STR("--nvidia-rim-url", nvidia_rim_url) STR("--nvidia-rim-trust", nvidia_rim_trust)
        STR("--nvidia-cache", nvidia_cache) NUM("--nvidia-timeout", nvidia_timeout)
        STR("--trustee-admin-compat", trustee_admin_compat)
        NUM("--collateral-refresh", collateral_refresh) NUM("--collateral-retry", collateral_retry)
        NUM("--token-lifetime", token_lifetime) NUM("--session-lifetime", session_lifetime)
        NUM("--max-body", max_body) NUM("--burst", burst) NUM("--sweep", sweep) NUM("--max-sessions", max_sessions)
        NUM("--max-sessions-per-client", max_sessions_per_client) NUM("--max-connections", max_connections) NUM("--http-threads", http_threads)
        NUM("--db-pool", db_pool)
        NUM("--max-connections-per-ip", max_connections_per_ip) NUM("--idle-timeout", idle_timeout)
        NUM("--header-timeout", header_timeout) NUM("--body-timeout", body_timeout)
        NUM("--max-body-memory", max_body_memory) NUM("--explore-burst", explore_burst)
        NUM("--audit-check-window", audit_check_window)
#undef STR
#undef NUM
        if (strcmp(a, "--config") == 0 && v) { *config = v; i++; continue; }
        if (strcmp(a, "--rate") == 0 && v) { o->rate = strtod(v, NULL); i++; continue; }
        if (strcmp(a, "--explore-rate") == 0 && v) { o->explore_rate = strtod(v, NULL); i++; continue; }
        if (strcmp(a, "--token-skew") == 0 && v) { o->token_skew = strtoll(v, NULL, 10); o->token_skew_set = true; i++; continue; }
        if (strcmp(a, "--insecure-sample-tee") == 0) { o->insecure_sample = true; continue; }
        if (strcmp(a, "--allow-missing-crl") == 0) { o->allow_missing_crl = true; continue; }
        if (strcmp(a, "--nvidia-allow-revocation-unknown") == 0) { o->nvidia_allow_unknown = true; continue; }
        if (strcmp(a, "--ui") == 0) { o->ui = 1; continue; }
        if (strcmp(a, "--no-ui") == 0) { o->ui = -1; continue; }
        if (strcmp(a, "--pccs-insecure") == 0) { o->pccs_insecure = true; continue; }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { usage(stdout); return 1; }
        cli_bad_arg("serve", a);
        return -1;
    }
    return 0;
}

/* The policy file as a NUL-terminated text, checked to parse. */
static vt_err read_policy(const char *path, vt_buf *out, vt_error *e)
{
    vt_buf b = {0};
    VT_GUARD(vt_file_read(path, VT_POLICY_MAX_BYTES, &b, e));
    uint8_t *z = realloc(b.ptr, b.len + 1);
    if (z == NULL) {
        vt_buf_free(&b);
        return vt_error_set(e, VT_E_NOMEM, "policy", "out of memory");
    }
    z[b.len] = 0;
    b.ptr = z;
    vt_policy p;
    vt_err rc = vt_policy_parse((const char *)b.ptr, b.len, &p, e);
    if (rc != VT_OK) {
        vt_buf_free(&b);
        return rc;
    }
    vt_policy_free(&p);
    *out = b;
    return VT_OK;
}

/* SIGHUP: the verifiers are rebuilt from --trust/--collateral at the next attestation and the
 * --policy file is read again (a bad file keeps the running policy). systemd hears RELOADING=1
 * then READY=1 (ExecReload=kill -HUP $MAINPID). */
static void reload(vt_kbs *kbs, const char *policy_path)
{
    cli_sd_notify("RELOADING=1\nSTATUS=reloading trust, collateral and policy");
    vt_error e = {0};
    vt_buf text = {0};
    vt_err rc = VT_OK;
    if (policy_path != NULL) rc = read_policy(policy_path, &text, &e);
    if (rc == VT_OK) rc = vt_kbs_reload(kbs, (const char *)text.ptr, &e);
    vt_buf_free(&text);
    if (rc == VT_OK) {
        fprintf(stderr, "veritee serve: reloaded (verifiers rebuilt at the next attestation%s)\n",
                policy_path ? ", --policy read again" : "");
        cli_sd_notify("READY=1\nSTATUS=reloaded");
    } else {
        fprintf(stderr, "veritee serve: reload: --policy %s: %s (the running policy stays)\n", policy_path, e.msg);
        cli_sd_notify("READY=1\nSTATUS=reload failed: the policy file does not parse; running policy kept");
    }
}

/* A server message: with --log - (stderr) a JSON-lines record like the request log, so the stream
 * stays one JSON object per line; otherwise a plain line on stderr. */
__attribute__((format(printf, 3, 4))) static void say(const serve_opts *o, const char *level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (o->log == NULL || strcmp(o->log, "-") != 0) {
        fprintf(stderr, "veritee serve: %s\n", msg);
        return;
    }
    char ts[21];
    vt_time_format((vt_time)time(NULL), ts);
    json_t *j = json_pack("{ss ss ss ss}", "ts", ts, "level", level, "msg", "serve", "detail", msg);
    char *line = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII) : NULL;
    if (line) fprintf(stderr, "%s\n", line);
    free(line);
    json_decref(j);
}

static int fail(const serve_opts *o, const char *what, const vt_error *e)
{
    say(o, "error", "%s: %s", what, e->msg);
    return cli_exit_for(e->code);
}

/* The GPU revocation and RIM sources, built once at start by the code 'veritee verify --tee
 * nvidia' uses (nvidia_sources.c): the RIM verifier (libxmlsec1 loaded and initialised here,
 * once, not in a request), online OCSP with its cache, the RIM service or cache. Shared by the
 * request threads: no counters, and every fetch bounded by --nvidia-timeout. */
static vt_err gpu_sources(const serve_opts *o, cli_nv_sources *nv, vt_error *e)
{
    const char *cache = o->nvidia_cache != NULL ? o->nvidia_cache : o->cache;
    if (o->nvidia_timeout < 0 || o->nvidia_timeout > 60)
        return vt_error_set(e, VT_E_ARG, "options", "--nvidia-timeout must be 1..60 seconds");
    if (o->nvidia_rim_trust == NULL && o->nvidia_rim_url != NULL)
        return vt_error_set(e, VT_E_ARG, "options", "--nvidia-rim-url needs --nvidia-rim-trust ROOT.pem (the RIM root)");
    if (o->nvidia_rim_trust != NULL && o->nvidia_rim_url == NULL && cache == NULL)
        return vt_error_set(e, VT_E_ARG, "options",
                            "--nvidia-rim-trust needs RIMs: --nvidia-rim-url, or a cache holding them (--nvidia-cache)");
    bool nvidia = strcmp(o->nvidia_ocsp_url != NULL ? o->nvidia_ocsp_url : "", "nvidia") == 0;
    nv->ocsp = o->nvidia_ocsp_url != NULL;
    nv->ocsp_url = nvidia ? NULL : o->nvidia_ocsp_url; /* NULL: NVIDIA's responder */
    nv->allow_unknown = o->nvidia_allow_unknown;
    nv->rim_service = o->nvidia_rim_url != NULL;
    nv->rim_service_url = o->nvidia_rim_url != NULL && strcmp(o->nvidia_rim_url, "nvidia") == 0 ? NULL : o->nvidia_rim_url;
    nv->rim_trust = o->nvidia_rim_trust;
    nv->cache_dir = cache;
    nv->clock_skew = CLI_NV_CLOCK_SKEW; /* the instant is each request's "now" */
    vt_checks *scratch = calloc(1, sizeof *scratch); /* no RIM files are verified at start */
    if (scratch == NULL) return vt_error_set(e, VT_E_NOMEM, "alloc", "out of memory");
    vt_err rc = cli_nv_load(nv, true, (vt_time)time(NULL), scratch, e);
    free(scratch);
    VT_GUARD(rc);
    long timeout = o->nvidia_timeout > 0 ? (long)o->nvidia_timeout : 5;
    nv->rev->stats = NULL, nv->rev->timeout_seconds = timeout;
    nv->rim_source->stats = NULL, nv->rim_source->timeout_seconds = timeout;
    return VT_OK;
}

int cmd_serve(int argc, char **argv)
{
    serve_opts o;
    memset(&o, 0, sizeof o);
    const char *config = NULL;
    int pr = parse_args(argc, argv, &o, &config);
    if (pr != 0) return pr > 0 ? VT_EXIT_OK : VT_EXIT_USAGE;
    if (config && apply_config(config, &o) != 0) return VT_EXIT_USAGE;
    if (o.listen == NULL) o.listen = "127.0.0.1:8080";
    if (o.db == NULL) {
        fprintf(stderr, "veritee serve: --db sqlite:PATH or postgres://... is required\n");
        return VT_EXIT_USAGE;
    }
    if (o.sweep <= 0) o.sweep = 60;
    if (o.max_sessions <= 0) o.max_sessions = 10000;
    if (o.max_sessions_per_client <= 0) o.max_sessions_per_client = 256;
    if (!o.token_skew_set) o.token_skew = 5;
    if (o.token_skew < 0 || o.token_skew > VT_KBS_MAX_TOKEN_SKEW) {
        fprintf(stderr, "veritee serve: --token-skew must be 0..%d seconds\n", VT_KBS_MAX_TOKEN_SKEW);
        return VT_EXIT_USAGE;
    }
    if (o.audit_check_window < 0 || o.audit_check_window > UINT32_MAX) {
        fprintf(stderr, "veritee serve: --audit-check-window must be 1..%u records\n", (unsigned)UINT32_MAX);
        return VT_EXIT_USAGE;
    }
    if (o.db_pool < 0 || o.db_pool > 64) {
        fprintf(stderr, "veritee serve: --db-pool must be 1..64 connections\n");
        return VT_EXIT_USAGE;
    }
    if (o.max_connections < 0 || o.max_connections > 65536 || o.http_threads < 0 || o.http_threads > 1024 ||
        o.max_connections_per_ip < 0 ||
        o.max_connections_per_ip > 65536 || o.idle_timeout < 0 || o.idle_timeout > 86400 || o.header_timeout < 0 ||
        o.header_timeout > 3600 || o.body_timeout < 0 || o.body_timeout > 3600 || o.max_body_memory < 0) {
        fprintf(stderr, "veritee serve: connection limits and timeouts out of range\n");
        return VT_EXIT_USAGE;
    }
    int rc = VT_EXIT_USAGE;
    vt_error e = {0};
    vt_kek *kek = NULL;
    vt_store *store = NULL;
    EVP_PKEY *ear = NULL, *admin = NULL, *trustee = NULL;
    vt_metrics *metrics = vt_metrics_new();
    vt_kbs *kbs = NULL;
    vt_http_server *srv = NULL;
    vt_ui_http *ui = NULL;
    vt_buf policy = {0};
    FILE *log = NULL;
    vt_coll_manager *coll = NULL;
    STACK_OF(X509) *tdx_roots = NULL;
    cli_nv_sources nv;
    memset(&nv, 0, sizeof nv);
    if (o.kek_file) {
        if (vt_kek_load_file(o.kek_file, &kek, &e) != VT_OK) { rc = fail(&o, "--kek-file", &e); goto out; }
    } else if (getenv(VT_KEK_ENV)) {
        if (vt_kek_load_env(NULL, &kek, &e) != VT_OK) { rc = fail(&o, VT_KEK_ENV, &e); goto out; }
    } else {
        uint8_t k[VT_KEK_LEN];
        if (RAND_bytes(k, sizeof k) != 1 || vt_kek_from_bytes(k, sizeof k, &kek, &e) != VT_OK) { rc = fail(&o, "kek", &e); goto out; }
        vt_wipe(k, sizeof k);
        say(&o, "warn", "no --kek-file or %s: secrets are sealed with an ephemeral key (lost at exit)", VT_KEK_ENV);
    }
    /* SQLite: the pending sessions and nonces in memory, bounded as the broker bounds them */
    vt_store_opts so = {.kek = kek, .pool = (unsigned)o.db_pool, .pending_max = (size_t)o.max_sessions};
    if (vt_store_open(o.db, &so, &store, &e) != VT_OK) { rc = fail(&o, "--db", &e); goto out; }
    if (o.ear_key) {
        bool created = false;
        if (vt_ear_key_load_or_create(o.ear_key, VT_EAR_ES256, &ear, &created, &e) != VT_OK) { rc = fail(&o, "--ear-key", &e); goto out; }
        if (created) say(&o, "info", "generated a new EAR signing key in %s", o.ear_key);
    } else {
        ear = EVP_EC_gen("P-256");
        if (ear == NULL) { vt_error_set(&e, VT_E_INTERNAL, "ear", "cannot generate a key"); rc = fail(&o, "ear key", &e); goto out; }
        say(&o, "warn", "no --ear-key: tokens are signed with an ephemeral key");
    }
    if (vt_jws_alg_for_key(ear) == NULL || strcmp(vt_jws_alg_for_key(ear), "ES256") != 0) {
        say(&o, "error", "--ear-key must be a P-256 key (ES256)");
        goto out;
    }
    if (o.admin_key) {
        admin = load_admin_key(o.admin_key);
        if (admin == NULL) {
            say(&o, "error", "--admin-key %s: not a PEM EC P-256 or Ed25519 key", o.admin_key);
            goto out;
        }
    } else if (o.trustee_admin_compat == NULL) {
        say(&o, "warn", "no --admin-key: the admin API refuses every request");
    }
    if (o.trustee_admin_compat) {
        trustee = load_admin_key(o.trustee_admin_compat);
        if (trustee == NULL || !EVP_PKEY_is_a(trustee, "ED25519")) {
            say(&o, "error", "--trustee-admin-compat %s: not a PEM Ed25519 public key (Trustee admin keys are Ed25519)",
                o.trustee_admin_compat);
            goto out;
        }
        say(&o, "warn", "--trustee-admin-compat: Trustee kbs-client tokens may set resources and policies; they bind "
                        "no request and can be replayed for their lifetime (docs/coco.md)");
    }
    if (o.policy && read_policy(o.policy, &policy, &e) != VT_OK) { rc = fail(&o, "--policy", &e); goto out; }
    if (o.pcs_url && o.pccs_url) {
        say(&o, "error", "give --pcs-url or --pccs-url, not both");
        goto out;
    }
    const char *upstream = o.pccs_url ? o.pccs_url : o.pcs_url;
    if (o.cache != NULL && o.collateral == NULL) {
        vt_coll_manager_opts mo = {.cache_dir = o.cache, .metrics = metrics, .retry_min_s = o.collateral_retry,
                                   .pcs = {.base_url = upstream, .ca_file = o.pccs_cacert, .insecure = o.pccs_insecure,
                                           .api_key = o.pcs_api_key,
                                           .pccs = o.pccs_url != NULL ||
                                                   (o.pcs_url && !vt_coll_is_intel_pcs(o.pcs_url))}};
        if (o.trust != NULL && vt_certs_load_path(o.trust, &tdx_roots, &e) != VT_OK) { rc = fail(&o, "--trust", &e); goto out; }
        mo.pcs.roots = tdx_roots;
        mo.kds = (vt_coll_pcs){.base_url = o.kds_url, .roots = tdx_roots}; /* --trust: the ARKs too */
        if (vt_coll_manager_new(&mo, (vt_time)time(NULL), &coll, &e) != VT_OK) { rc = fail(&o, "--cache", &e); goto out; }
    } else if (o.pccs_url || o.pccs_cacert || o.pccs_insecure || o.pcs_api_key) {
        say(&o, "error", "the PCCS options need --cache DIR (and no --collateral)");
        goto out;
    }
    if (gpu_sources(&o, &nv, &e) != VT_OK) { rc = fail(&o, "NVIDIA GPU sources", &e); goto out; }
    vt_kbs_config kc = {.store = store, .metrics = metrics, .monotonic = vt_kbs_monotonic, .ear_key = ear, .admin_key = admin,
                        .trustee_admin_key = trustee,
                        .trust_dir = o.trust, .collateral_dir = o.collateral, .collateral = coll, .tpm_aks = o.tpm_ak,
                        .pcs_url = upstream, .kds_url = o.kds_url, .cache_dir = o.cache,
                        .policy_text = policy.ptr ? (const char *)policy.ptr : NULL,
                        .token_lifetime = o.token_lifetime, .session_lifetime = o.session_lifetime,
                        .allow_missing_crl = o.allow_missing_crl, .insecure_sample_tee = o.insecure_sample,
                        .nvidia_ocsp_dir = o.nvidia_ocsp,
                        .nvidia_revocation = cli_nv_revocation_given(&nv) ? nv.rev : NULL,
                        .nvidia_rim_verifier = nv.rim_verifier,
                        .nvidia_rim_source = nv.rim_verifier != NULL ? nv.rim_source : NULL,
                        .max_sessions = (uint64_t)o.max_sessions,
                        .max_sessions_per_client = (uint64_t)o.max_sessions_per_client, .token_skew = o.token_skew,
                        .audit_check_window = (uint32_t)o.audit_check_window};
    if (vt_kbs_new(&kc, &kbs, &e) != VT_OK) { rc = fail(&o, "kbs", &e); goto out; }
    if (o.insecure_sample) say(&o, "warn", "WARNING: --insecure-sample-tee accepts unverifiable evidence");
    if (o.log) log = strcmp(o.log, "-") == 0 ? stderr : fopen(o.log, "a");
    if (o.log && log == NULL) {
        vt_error_set(&e, VT_E_IO, "log", "cannot open %s for appending", o.log);
        rc = fail(&o, "--log", &e);
        goto out;
    }
    vt_http_route routes[VT_KBS_ROUTES + VT_UI_ROUTES];
    size_t nr = 0;
    vt_kbs_routes(kbs, routes, &nr);
    bool loopback = strncmp(o.listen, "127.", 4) == 0 || strncmp(o.listen, "[::1]:", 6) == 0 ||
                    strncmp(o.listen, "localhost:", 10) == 0;
    /* the explorer reads the collateral cache but never fetches: an unauthenticated page must not
     * make the server call Intel or AMD */
    vt_verify_sources ui_src = {.trust_dir = o.trust, .collateral_dir = o.collateral, .cache_dir = o.cache,
                                .allow_missing_crl = o.allow_missing_crl};
    if (o.ui > 0 || (o.ui == 0 && loopback)) {
        vt_ui_http_config uc = {.sources = &ui_src, .dashboard = true, .admin_enabled = admin != NULL,
                                .explore_rate = o.explore_rate > 0 ? o.explore_rate : 0,
                                .explore_burst = o.explore_burst > 0 && o.explore_burst < 1000000 ? (unsigned)o.explore_burst : 0};
        size_t nu = 0;
        if (vt_ui_http_new(&uc, &ui, &e) != VT_OK) { rc = fail(&o, "ui", &e); goto out; }
        vt_ui_routes(ui, routes + nr, &nu);
        nr += nu;
    }
    ready_ctx rctx = {.store = store, .coll = coll};
    vt_http_opts ho = {.listen = o.listen, .tls_cert_file = o.tls_cert, .tls_key_file = o.tls_key,
                       .max_body = o.max_body > 0 ? (size_t)o.max_body : (2u << 20), .rate_per_sec = o.rate,
                       .rate_burst = (unsigned)o.burst, .metrics = metrics, .log = log, .ready = serve_ready,
                       .ready_ud = &rctx, .max_connections = (unsigned)o.max_connections,
                       .max_connections_per_ip = (unsigned)o.max_connections_per_ip,
                       .timeout_seconds = (unsigned)o.idle_timeout, .header_timeout_seconds = (unsigned)o.header_timeout,
                       .body_timeout_seconds = (unsigned)o.body_timeout, .max_body_memory = (size_t)o.max_body_memory};
    /* --http-threads 0 (the default): a thread per connection (at most --max-connections); a
     * pool of workers serves its connections one request at a time, so a request waiting for the
     * disk or a lock held up every other connection of its worker. N: a pool of N workers. */
    ho.thread_per_connection = o.http_threads == 0;
    ho.threads = (unsigned)o.http_threads;
    if (vt_http_signals_block(&e) != VT_OK || vt_http_server_start(&ho, routes, nr, &srv, &e) != VT_OK) {
        rc = fail(&o, "listen", &e);
        goto out;
    }
    sweeper sw = {.kbs = kbs, .period = o.sweep};
    pthread_mutex_init(&sw.mu, NULL);
    pthread_cond_init(&sw.cv, NULL);
    pthread_t th;
    bool th_ok = pthread_create(&th, NULL, sweep_main, &sw) == 0;
    refresher rf = {.mgr = coll, .srv = srv, .period = o.collateral_refresh > 0 ? o.collateral_refresh : 300};
    pthread_mutex_init(&rf.mu, NULL);
    pthread_cond_init(&rf.cv, NULL);
    pthread_t rth;
    bool rth_ok = coll != NULL && (upstream != NULL || o.kds_url != NULL) && pthread_create(&rth, NULL, refresh_main, &rf) == 0;
    char host[256];
    snprintf(host, sizeof host, "%s", o.listen);
    char *colon = strrchr(host, ':');
    if (colon) *colon = 0;
    printf("listening on %s://%s:%d\n", o.tls_cert ? "https" : "http", host, vt_http_server_port(srv));
    fflush(stdout);
    char ready[384];
    snprintf(ready, sizeof ready, "READY=1\nMAINPID=%ld\nSTATUS=listening on %s://%s:%d", (long)getpid(),
             o.tls_cert ? "https" : "http", host, vt_http_server_port(srv));
    if (cli_sd_notify(ready) < 0) perror("veritee serve: NOTIFY_SOCKET");
    int sig;
    while ((sig = vt_http_wait_signal()) == SIGHUP) reload(kbs, o.policy);
    cli_sd_notify("STOPPING=1\nSTATUS=stopping");
    say(&o, "info", "signal %d, stopping", sig);
    pthread_mutex_lock(&sw.mu);
    sw.stop = true;
    pthread_cond_signal(&sw.cv);
    pthread_mutex_unlock(&sw.mu);
    if (th_ok) pthread_join(th, NULL);
    pthread_mutex_lock(&rf.mu);
    rf.stop = true;
    pthread_cond_signal(&rf.cv);
    pthread_mutex_unlock(&rf.mu);
    if (rth_ok) pthread_join(rth, NULL);
    pthread_cond_destroy(&rf.cv);
    pthread_mutex_destroy(&rf.mu);
    vt_http_server_stop(srv);
    pthread_cond_destroy(&sw.cv);
    pthread_mutex_destroy(&sw.mu);
    rc = VT_EXIT_OK;
out:
    if (log && log != stderr) fclose(log);
    vt_ui_http_free(ui);
    vt_kbs_free(kbs);
    cli_nv_free(&nv); /* after the broker, which borrows them */
    vt_coll_manager_free(coll);
    sk_X509_pop_free(tdx_roots, X509_free);
    vt_buf_free(&policy);
    EVP_PKEY_free(admin);
    EVP_PKEY_free(trustee);
    EVP_PKEY_free(ear);
    vt_store_close(store);
    vt_kek_free(kek);
    vt_metrics_free(metrics);
    return rc;
}
