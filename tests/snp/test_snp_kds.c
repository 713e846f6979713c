/* What a report needs from AMD KDS (vt_snp_kds_plan_for: the exact URLs and cache paths per
 * product, from the real vectors), and the one-shot `veritee verify --kds-url --cache` path
 * (vt_verify without a collateral manager) against a loopback server that answers like
 * kdsintf.amd.com for an emulated Milan platform: its chain, its VCEK and CRLs its ARK signs.
 * Every answer is checked against the ARK before it is cached: a tampered answer is refused
 * and not cached; 429 is waited out; concurrent guests share one request per object. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "snp_fixtures.h"
#include "veritee/emulate.h"
#include "veritee/fileio.h"
#include "veritee/pki.h"
#include "veritee/snp_kds.h"
#include "veritee/verify.h"
#include "veritee/x509.h"

#define SEEN_MAX 32

typedef struct server {
    int fd;
    int port;
    pthread_mutex_t lock;
    int requests;
    char seen[SEEN_MAX][256];
    vt_buf chain;            /* PEM served for .../cert_chain */
    vt_buf vcek;             /* DER served for any /vcek/v1/<P>/<hwid>?... */
    vt_buf crl;              /* DER served for .../crl */
    int pending429;          /* answer 429 to this many requests first */
    bool always429;
    const char *retry_after; /* Retry-After header of the 429s, or NULL */
    int delay_ms;            /* answer each request this late (concurrency tests) */
} server;

static void reply(int c, int status, const char *extra, const void *body, size_t len)
{
    char head[512];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
                     status, status == 200 ? "OK" : status == 429 ? "Too Many Requests" : "Not Found", len,
                     extra ? extra : "");
    (void)!write(c, head, (size_t)n);
    if (len) (void)!write(c, body, len);
}

/* Called with s->lock held. */
static void respond(server *s, int c, const char *path)
{
    if (s->delay_ms) usleep((useconds_t)s->delay_ms * 1000);
    bool throttle = s->always429 || s->pending429 > 0;
    if (s->pending429 > 0) s->pending429--;
    if (throttle) {
        char h[64] = "";
        if (s->retry_after) snprintf(h, sizeof h, "Retry-After: %s\r\n", s->retry_after);
        reply(c, 429, h, NULL, 0);
    } else if (strstr(path, "/cert_chain") != NULL) {
        reply(c, 200, NULL, s->chain.ptr, s->chain.len);
    } else if (strlen(path) > 4 && strcmp(path + strlen(path) - 4, "/crl") == 0) {
        reply(c, 200, NULL, s->crl.ptr, s->crl.len);
    } else if (strncmp(path, "/vcek/v1/", 9) == 0 && strchr(path, '?') != NULL) {
        reply(c, 200, NULL, s->vcek.ptr, s->vcek.len);
    } else {
        reply(c, 404, NULL, NULL, 0);
    }
}

static void *serve(void *arg)
{
    server *s = arg;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) break;
        char req[4096];
        ssize_t got = read(c, req, sizeof req - 1);
        if (got > 0) {
            req[got] = 0;
            char path[256] = "";
            sscanf(req, "GET %255s", path);
            /* the whole answer under the lock: a test changes what is served under it too
             * (server_quiet), so it never frees a buffer the answer is still being sent from */
            pthread_mutex_lock(&s->lock);
            snprintf(s->seen[s->requests++ % SEEN_MAX], sizeof s->seen[0], "%s", path);
            respond(s, c, path);
            pthread_mutex_unlock(&s->lock);
        }
        close(c);
    }
    return NULL;
}

static pthread_t server_start(server *s)
{
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    getsockname(s->fd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    pthread_mutex_init(&s->lock, NULL);
    pthread_t th;
    pthread_create(&th, NULL, serve, s);
    return th;
}

/* Orders the test's thread and the server's: called before the test changes what is served or
 * reads the counts (the answer in progress, if any, is done) and before each request it makes
 * (what it changed is seen by the server thread). ThreadSanitizer (make tsan) checks it. */
static void server_quiet(server *s)
{
    pthread_mutex_lock(&s->lock);
    pthread_mutex_unlock(&s->lock);
}

static void server_stop(server *s, pthread_t th)
{
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(th, NULL);
    pthread_mutex_destroy(&s->lock);
    vt_buf_free(&s->chain);
    vt_buf_free(&s->vcek);
    vt_buf_free(&s->crl);
}

static int seen(server *s, int i, const char *want)
{
    pthread_mutex_lock(&s->lock);
    int r = strcmp(s->seen[i % SEEN_MAX], want);
    if (r != 0) print_message("request %d: %s\n     want: %s\n", i, s->seen[i % SEEN_MAX], want);
    pthread_mutex_unlock(&s->lock);
    return r;
}

#define DAY 86400

/* An emulated Milan platform (vt_emu_init): AMD KDS answers for it are its ASK/ARK chain, its
 * VCEK and CRLs signed by its ARK (the vectors hold no real AMD CRL, and only an ARK's CRL
 * passes the check before caching). Its ARK is the trust anchor (--trust), not a pinned one. */
static struct {
    char dir[512];
    char trust[700];
    vt_time t0;
    vt_buf report;
    vt_buf chain, vcek;
    X509 *ark;
    EVP_PKEY *ark_key;
} E;

static void emu_file(const char *rel, vt_buf *out)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/emu/%s", E.dir, rel);
    assert_int_equal(vt_file_read(p, 1 << 20, out, NULL), VT_OK);
}

/* A CRL over [this_update, next_update], signed by key (the ARK's, or a stranger's) with the
 * ARK's name as issuer. */
static void make_crl_by(EVP_PKEY *key, vt_time this_update, vt_time next_update, vt_buf *out)
{
    X509_CRL *crl = NULL;
    assert_int_equal(vt_pki_crl(E.ark, key, this_update, next_update, NULL, NULL, 0, &crl, NULL), VT_OK);
    assert_int_equal(vt_pki_crl_der(crl, out, NULL), VT_OK);
    X509_CRL_free(crl);
}

static void make_crl(vt_time this_update, vt_time next_update, vt_buf *out)
{
    make_crl_by(E.ark_key, this_update, next_update, out);
}

/* The server answering for the emulated platform: chain, VCEK, a CRL valid two days. */
static void server_emulated(server *s)
{
    s->chain.ptr = malloc(E.chain.len);
    memcpy(s->chain.ptr, E.chain.ptr, E.chain.len);
    s->chain.len = E.chain.len;
    s->vcek.ptr = malloc(E.vcek.len);
    memcpy(s->vcek.ptr, E.vcek.ptr, E.vcek.len);
    s->vcek.len = E.vcek.len;
    make_crl(E.t0, E.t0 + 2 * DAY, &s->crl);
}

static int setup(void **st)
{
    (void)st;
    vt_test_tmpdir(E.dir, sizeof E.dir);
    assert_int_equal(vt_time_parse_rfc3339("2026-06-01T12:00:00Z", &E.t0, NULL), VT_OK);
    char emu[700];
    snprintf(emu, sizeof emu, "%s/emu", E.dir);
    snprintf(E.trust, sizeof E.trust, "%s/emu/trust", E.dir);
    vt_test_emu_init(emu, "snp", NULL, E.t0);
    vt_error e;
    vt_emu *em = NULL;
    uint8_t rd[64] = {1, 2, 3};
    assert_int_equal(vt_emu_open(emu, &em, &e), VT_OK);
    assert_int_equal(vt_emu_snp_report(em, rd, NULL, &E.report, &e), VT_OK);
    vt_emu_free(em);
    emu_file("collateral/snp_cert_chain.pem", &E.chain);
    emu_file("collateral/snp_vcek.der", &E.vcek);
    STACK_OF(X509) *c = NULL;
    assert_int_equal(vt_pem_certs(E.chain.ptr, E.chain.len, &c, NULL), VT_OK);
    E.ark = sk_X509_value(c, 1);
    X509_up_ref(E.ark);
    sk_X509_pop_free(c, X509_free);
    vt_buf k = {0};
    emu_file("keys/snp_ark.key.pem", &k);
    assert_int_equal(vt_pki_key_load_pem(k.ptr, k.len, true, &E.ark_key, NULL), VT_OK);
    vt_buf_free(&k);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    vt_buf_free(&E.report);
    vt_buf_free(&E.chain);
    vt_buf_free(&E.vcek);
    X509_free(E.ark);
    EVP_PKEY_free(E.ark_key);
    return 0;
}

static void load_report(const char *rel, vt_buf *raw, vt_snp_report *r)
{
    vt_test_load(rel, raw);
    vt_error e;
    if (vt_snp_report_parse(raw->ptr, raw->len, r, &e) != VT_OK) fail_msg("%s: %s", rel, e.msg);
}

/* CHIP_ID (0x1A0..0x1DF) of the raw report as lowercase hex, read here without the parser. */
static void chip_hex(const vt_buf *raw, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", raw->ptr[0x1A0 + i]);
}

/* One product of the real vectors: the exact KDS URLs and cache paths. */
static void plan_product(const char *set, const char *product, size_t idlen, const char *query_tail,
                         const char *spl_dir)
{
    char rel[128], want[1100], hw[129];
    vt_buf raw = {0};
    vt_snp_report r;
    snprintf(rel, sizeof rel, "snp/%s/report.bin", set);
    load_report(rel, &raw, &r);
    vt_snp_kds_plan p;
    vt_error e;
    if (vt_snp_kds_plan_for(&r, VT_SNP_PRODUCT_UNKNOWN, "/c", &p, &e) != VT_OK) fail_msg("plan %s: %s", set, e.msg);
    chip_hex(&raw, idlen, hw);
    snprintf(want, sizeof want, "/vcek/v1/%s/%s?%s", product, hw, query_tail);
    assert_string_equal(p.vcek_query, want);
    snprintf(want, sizeof want, "/vcek/v1/%s/cert_chain", product);
    assert_string_equal(p.chain_query, want);
    snprintf(want, sizeof want, "/vcek/v1/%s/crl", product);
    assert_string_equal(p.crl_query, want);
    snprintf(want, sizeof want, "/c/vcek/%s", product);
    assert_string_equal(p.chain_dir, want);
    snprintf(want, sizeof want, "/c/vcek/%s/%s/%s", product, hw, spl_dir);
    assert_string_equal(p.leaf_dir, want);
    assert_false(p.vlek);
    vt_buf_free(&raw);
}

static void test_milan(void **state)
{
    (void)state;
    plan_product("milan_v3_routex", "Milan", 64, "blSPL=04&teeSPL=00&snpSPL=24&ucodeSPL=219", "bl4-tee0-snp24-ucode219");
}

static void test_genoa(void **state)
{
    (void)state;
    plan_product("genoa_v5_routex", "Genoa", 64, "blSPL=10&teeSPL=00&snpSPL=27&ucodeSPL=88", "bl10-tee0-snp27-ucode88");
}

static void test_turin(void **state)
{
    (void)state;
    /* Turin: hwID = the first 8 bytes of CHIP_ID, fmcSPL first */
    plan_product("turin_v5_routex", "Turin", 8, "fmcSPL=00&blSPL=01&teeSPL=00&snpSPL=02&ucodeSPL=71",
                 "fmc0-bl1-tee0-snp2-ucode71");
    vt_buf raw = {0};
    vt_snp_report r;
    load_report("snp/turin_v5_routex/report.bin", &raw, &r);
    vt_snp_kds_plan p;
    vt_error e;
    assert_int_equal(vt_snp_kds_plan_for(&r, VT_SNP_PRODUCT_UNKNOWN, "/c", &p, &e), VT_OK);
    assert_string_equal(p.vcek_query, "/vcek/v1/Turin/3b42092f69c656d3?fmcSPL=00&blSPL=01&teeSPL=00&snpSPL=02&ucodeSPL=71");
    assert_string_equal(p.leaf_dir, "/c/vcek/Turin/3b42092f69c656d3/fmc0-bl1-tee0-snp2-ucode71");
    r.chip_id[20] = 1; /* a Turin CHIP_ID is 8 bytes and zeros */
    assert_int_equal(vt_snp_kds_plan_for(&r, VT_SNP_PRODUCT_UNKNOWN, "/c", &p, &e), VT_E_INVALID);
    vt_buf_free(&raw);
}

static void test_vlek(void **state)
{
    (void)state;
    vt_buf raw = {0};
    vt_snp_report r;
    load_report("snp/milan_v3_vlek_trustee/report.bin", &raw, &r);
    vt_snp_kds_plan p;
    vt_error e;
    /* no VLEK to ask for (KDS serves VLEKs to cloud providers only): the ASVK chain and its CRL */
    assert_int_equal(vt_snp_kds_plan_for(&r, VT_SNP_PRODUCT_UNKNOWN, "/c", &p, &e), VT_OK);
    assert_true(p.vlek);
    assert_string_equal(p.vcek_query, "");
    assert_string_equal(p.leaf_dir, "");
    assert_string_equal(p.chain_query, "/vlek/v1/Milan/cert_chain");
    assert_string_equal(p.crl_query, "/vlek/v1/Milan/crl");
    assert_string_equal(p.chain_dir, "/c/vlek/Milan");
    vt_buf_free(&raw);
}
static void test_plan_errors(void **state)
{
    (void)state;
    vt_buf raw = {0};
    vt_snp_report r;
    load_report("snp/milan_v2_gosevguest/report.bin", &raw, &r);
    vt_snp_kds_plan p;
    vt_error e;
    /* a v2 report has no CPUID: the product must be given */
    assert_int_equal(vt_snp_kds_plan_for(&r, VT_SNP_PRODUCT_UNKNOWN, "/c", &p, &e), VT_E_ARG);
    assert_non_null(strstr(e.msg, "give the product"));
    assert_int_equal(vt_snp_kds_plan_for(&r, VT_SNP_MILAN, "/c", &p, &e), VT_OK);
    /* the go-sev-guest test URL of this very report (vector README), SPLs two-digit */
    assert_int_equal(strncmp(p.vcek_query, "/vcek/v1/Milan/3ac3fe21e13fb099", 31), 0);
    assert_non_null(strstr(p.vcek_query, "6b5d?blSPL=02&teeSPL=00&snpSPL=05&ucodeSPL=68"));
    assert_int_equal(vt_snp_kds_plan_for(&r, VT_SNP_MILAN, NULL, &p, &e), VT_E_ARG);
    memset(r.chip_id, 0, sizeof r.chip_id); /* MASK_CHIP_ID: no VCEK to ask for, the chain still */
    assert_int_equal(vt_snp_kds_plan_for(&r, VT_SNP_MILAN, "/c", &p, &e), VT_OK);
    assert_true(p.chip_masked);
    assert_string_equal(p.vcek_query, "");
    assert_string_equal(p.leaf_dir, "");
    assert_string_equal(p.chain_query, "/vcek/v1/Milan/cert_chain");
    vt_buf_free(&raw);
    load_report("snp/genoa_v5_routex/report.bin", &raw, &r);
    assert_int_equal(vt_snp_kds_plan_for(&r, VT_SNP_MILAN, "/c", &p, &e), VT_E_ARG);
    assert_int_equal(vt_snp_kds_plan_for(&r, VT_SNP_GENOA, "/c", &p, &e), VT_OK);
    vt_buf_free(&raw);
}

typedef struct waits {
    long ms[16];
    int n;
} waits;

static void record_sleep(void *ctx, long ms)
{
    waits *w = ctx;
    if (w->n < 16) w->ms[w->n++] = ms;
}

static bool cached(const char *dir, const char *rel)
{
    char p[2400];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return vt_file_exists(p);
}

/* The emulated report's VCEK directory in the cache (the plan's leaf_dir). */
static void vcek_rel(char *out, size_t cap)
{
    vt_snp_report r;
    vt_snp_kds_plan p;
    vt_error e;
    vt_bytes rep, tab;
    assert_int_equal(vt_snp_evidence_split(E.report.ptr, E.report.len, &rep, &tab, &e), VT_OK);
    assert_int_equal(vt_snp_report_parse(rep.ptr, rep.len, &r, &e), VT_OK);
    assert_int_equal(vt_snp_kds_plan_for(&r, VT_SNP_PRODUCT_UNKNOWN, ".", &p, &e), VT_OK);
    assert_string_equal(p.chain_dir, "./vcek/Milan");
    snprintf(out, cap, "%s/vcek.der", p.leaf_dir + 2);
}

/* One-shot vt_verify (no collateral manager) with kds_url and a cache, trusting the emulated ARK. */
static vt_err verify_once(const char *url, const char *dir, waits *w, vt_time at, vt_error *e)
{
    vt_verify_sources src = {.kds_url = url, .cache_dir = dir, .trust_dir = E.trust,
                             .kds_wait = w ? record_sleep : NULL, .kds_wait_ctx = w};
    vt_verifier *v = NULL;
    assert_int_equal(vt_verifier_new(&src, &v, e), VT_OK);
    vt_verify_opts o = {.tee = "snp", .at = at, .crl_required = true};
    vt_verify_result r;
    memset(&r, 0, sizeof r);
    vt_err rc = vt_verify(v, E.report.ptr, E.report.len, &o, &r, e);
    vt_verify_result_clear(&r);
    vt_verifier_free(v);
    return rc;
}

/* The exact URLs, the cache layout, reuse without a request; 429 with Retry-After waited out. */
static void test_verify_fetch(void **state)
{
    (void)state;
    server s = {.pending429 = 2, .retry_after = "1"};
    server_emulated(&s);
    pthread_t th = server_start(&s);
    char url[64], dir[256], vrel[1100];
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", s.port); /* the trailing '/' is ignored */
    vcek_rel(vrel, sizeof vrel);
    waits w = {0};
    vt_error e;
    vt_time at = E.t0 + 3600;
    server_quiet(&s);
    if (verify_once(url, dir, &w, at, &e) != VT_OK) fail_msg("verify: %s: %s", e.check, e.msg);
    /* chain first (the VCEK and CRL are checked against it): 429, 429, 200; then VCEK and CRL */
    server_quiet(&s);
    assert_int_equal(s.requests, 5);
    for (int i = 0; i < 3; i++) assert_int_equal(seen(&s, i, "/vcek/v1/Milan/cert_chain"), 0);
    pthread_mutex_lock(&s.lock);
    assert_int_equal(strncmp(s.seen[3], "/vcek/v1/Milan/", 15), 0);
    assert_non_null(strstr(s.seen[3], "?blSPL="));
    pthread_mutex_unlock(&s.lock);
    assert_int_equal(seen(&s, 4, "/vcek/v1/Milan/crl"), 0);
    /* Retry-After: 1 was followed */
    assert_int_equal(w.n, 2);
    assert_int_equal(w.ms[0], 1000);
    assert_int_equal(w.ms[1], 1000);
    /* the cache layout the docs promise */
    assert_true(cached(dir, "vcek/Milan/cert_chain.pem"));
    assert_true(cached(dir, "vcek/Milan/crl.der"));
    assert_true(cached(dir, vrel));
    /* reused: no request the second time */
    server_quiet(&s);
    assert_int_equal(verify_once(url, dir, NULL, at + 60, &e), VT_OK);
    server_quiet(&s);
    assert_int_equal(s.requests, 5);
    /* a day after the fetch the CRL is asked again, and only the CRL */
    server_quiet(&s);
    assert_int_equal(verify_once(url, dir, NULL, at + DAY + 60, &e), VT_OK);
    server_quiet(&s);
    assert_int_equal(s.requests, 6);
    assert_int_equal(seen(&s, 5, "/vcek/v1/Milan/crl"), 0);
    server_stop(&s, th);
}

/* A tampered KDS answer is refused AND not cached, for each object; the previous item stays. */
static void test_tampered_not_cached(void **state)
{
    (void)state;
    server s = {0};
    server_emulated(&s);
    pthread_t th = server_start(&s);
    char url[64], dir[256], vrel[1100];
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s.port);
    vcek_rel(vrel, sizeof vrel);
    vt_error e;
    vt_time at = E.t0 + 3600;

    /* a CRL with the ARK's name but signed by another key */
    EVP_PKEY *stranger = NULL;
    assert_int_equal(vt_pki_ec_key(VT_P384, &stranger, NULL), VT_OK);
    server_quiet(&s);
    vt_buf_free(&s.crl);
    make_crl_by(stranger, E.t0, E.t0 + 2 * DAY, &s.crl);
    server_quiet(&s);
    assert_int_equal(verify_once(url, dir, NULL, at, &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "CRL signature"));
    assert_false(cached(dir, "vcek/Milan/crl.der"));
    /* an expired CRL */
    server_quiet(&s);
    vt_buf_free(&s.crl);
    make_crl(E.t0 - 3 * DAY, E.t0 - DAY, &s.crl);
    server_quiet(&s);
    assert_int_equal(verify_once(url, dir, NULL, at, &e), VT_E_EXPIRED);
    assert_false(cached(dir, "vcek/Milan/crl.der"));

    /* a VCEK of another chip (a real Milan VCEK), then a 200 that is not a certificate */
    server_quiet(&s);
    vt_buf_free(&s.crl);
    make_crl(E.t0, E.t0 + 2 * DAY, &s.crl);
    vt_test_tmpdir(dir, sizeof dir);
    server_quiet(&s);
    vt_buf_free(&s.vcek);
    vt_test_load("snp/milan_v2_trustee/vcek.der", &s.vcek);
    server_quiet(&s);
    assert_int_equal(verify_once(url, dir, NULL, at, &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "another chip"));
    assert_false(cached(dir, vrel));
    server_quiet(&s);
    vt_buf_free(&s.vcek);
    s.vcek.ptr = (uint8_t *)strdup("<html>busy</html>");
    s.vcek.len = strlen((char *)s.vcek.ptr);
    server_quiet(&s);
    assert_int_not_equal(verify_once(url, dir, NULL, at, &e), VT_OK);
    assert_false(cached(dir, vrel));
    assert_false(cached(dir, "vcek/Milan/crl.der"));

    /* a chain whose ARK is not the trusted one (the real, pinned Milan ARK's chain) */
    vt_test_tmpdir(dir, sizeof dir);
    server_quiet(&s);
    vt_buf_free(&s.chain);
    vt_test_load("snp/chains/milan_ask_ark.pem", &s.chain);
    server_quiet(&s);
    assert_int_equal(verify_once(url, dir, NULL, at, &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "ARK"));
    assert_false(cached(dir, "vcek/Milan/cert_chain.pem"));
    assert_false(cached(dir, vrel));

    /* a good cache, then a tampered CRL at the daily refresh: refused, the previous CRL stays */
    server_quiet(&s);
    vt_buf_free(&s.chain);
    vt_buf_free(&s.vcek);
    vt_buf_free(&s.crl);
    server_emulated(&s);
    vt_buf good = {0};
    server_quiet(&s);
    assert_int_equal(verify_once(url, dir, NULL, at, &e), VT_OK);
    char p[1024];
    snprintf(p, sizeof p, "%s/vcek/Milan/crl.der", dir);
    assert_int_equal(vt_file_read(p, 1 << 20, &good, NULL), VT_OK);
    server_quiet(&s);
    vt_buf_free(&s.crl);
    make_crl_by(stranger, E.t0 + DAY, E.t0 + 3 * DAY, &s.crl);
    server_quiet(&s);
    assert_int_equal(verify_once(url, dir, NULL, at + DAY + 60, &e), VT_E_VERIFY);
    vt_buf now = {0};
    assert_int_equal(vt_file_read(p, 1 << 20, &now, NULL), VT_OK);
    assert_int_equal(now.len, good.len);
    assert_memory_equal(now.ptr, good.ptr, good.len);
    vt_buf_free(&now);
    vt_buf_free(&good);

    /* HTTP 404, unreachable */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/nothing", s.port);
    vt_test_tmpdir(dir, sizeof dir);
    server_quiet(&s);
    assert_int_equal(verify_once(url, dir, NULL, at, &e), VT_E_MISSING);
    assert_non_null(strstr(e.msg, "404"));
    server_stop(&s, th);
    assert_int_equal(verify_once("http://127.0.0.1:1", dir, NULL, at, &e), VT_E_MISSING);
    EVP_PKEY_free(stranger);
}

/* veritee verify --tee snp --kds-url URL --cache DIR, end to end. */
static void test_cli(void **state)
{
    (void)state;
    const char *bin = getenv("VERITEE_BIN");
    if (bin == NULL) skip();
    server s = {.pending429 = 1, .retry_after = "0"};
    server_emulated(&s);
    pthread_t th = server_start(&s);
    char dir[256], cmd[4096], rp[700], at[32];
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(rp, sizeof rp, "%s/report.bin", E.dir);
    assert_int_equal(vt_file_write(rp, E.report.ptr, E.report.len, NULL), VT_OK);
    vt_time_format(E.t0 + 3600, at);
    snprintf(cmd, sizeof cmd, "%s verify --tee snp --kds-url http://127.0.0.1:%d --cache %s --trust %s --at %s %s >/dev/null",
             bin, s.port, dir, E.trust, at, rp);
    server_quiet(&s);
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    server_quiet(&s);
    assert_int_equal(s.requests, 4);
    /* from the cache only: --cache without --kds-url makes no request */
    snprintf(cmd, sizeof cmd, "%s verify --tee snp --cache %s --trust %s --at %s %s >/dev/null", bin, dir, E.trust, at, rp);
    server_quiet(&s);
    st = system(cmd);
    assert_int_equal(WEXITSTATUS(st), 0);
    server_quiet(&s);
    assert_int_equal(s.requests, 4);
    /* a tampered CRL: refused (exit 1), nothing cached */
    vt_test_tmpdir(dir, sizeof dir);
    EVP_PKEY *stranger = NULL;
    assert_int_equal(vt_pki_ec_key(VT_P384, &stranger, NULL), VT_OK);
    server_quiet(&s);
    vt_buf_free(&s.crl);
    make_crl_by(stranger, E.t0, E.t0 + 2 * DAY, &s.crl);
    EVP_PKEY_free(stranger);
    snprintf(cmd, sizeof cmd, "%s verify --tee snp --kds-url http://127.0.0.1:%d --cache %s --trust %s --at %s %s >/dev/null 2>&1",
             bin, s.port, dir, E.trust, at, rp);
    server_quiet(&s);
    st = system(cmd);
    assert_int_equal(WEXITSTATUS(st), 1);
    assert_false(cached(dir, "vcek/Milan/crl.der"));
    /* an empty cache and no --kds-url: the VCEK is missing (exit 3) */
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(cmd, sizeof cmd, "%s verify --tee snp --cache %s --trust %s --at %s %s >/dev/null 2>&1", bin, dir, E.trust, at, rp);
    server_quiet(&s);
    st = system(cmd);
    assert_int_equal(WEXITSTATUS(st), 3);
    server_stop(&s, th);
}

typedef struct guest {
    vt_verifier *v;
    vt_err rc;
    char msg[VT_ERR_MSG_MAX];
} guest;

static void *guest_verify(void *arg)
{
    guest *g = arg;
    vt_verify_opts o = {.tee = "snp", .at = E.t0 + 3600, .crl_required = true};
    vt_verify_result r;
    vt_error e = {0};
    memset(&r, 0, sizeof r);
    g->rc = vt_verify(g->v, E.report.ptr, E.report.len, &o, &r, &e);
    snprintf(g->msg, sizeof g->msg, "%s", e.msg);
    vt_verify_result_clear(&r);
    return NULL;
}

/* Six guests of one chip verified at once through the one verification entry: AMD KDS sees one
 * request per object (VCEK, chain, CRL), not six, and every guest verifies. */
static void test_verify_single_flight(void **state)
{
    (void)state;
    char url[64], dir[256];
    server s = {.delay_ms = 150};
    server_emulated(&s);
    pthread_t th = server_start(&s);
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s.port);
    vt_verify_sources src = {.kds_url = url, .cache_dir = dir, .trust_dir = E.trust};
    vt_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_verifier_new(&src, &v, &e), VT_OK);
    pthread_t t[6];
    guest g[6];
    for (int i = 0; i < 6; i++) {
        g[i] = (guest){.v = v, .rc = -1};
        assert_int_equal(pthread_create(&t[i], NULL, guest_verify, &g[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        if (g[i].rc != VT_OK) print_message("guest %d: %d %s\n", i, g[i].rc, g[i].msg);
        assert_int_equal(g[i].rc, VT_OK);
    }
    server_quiet(&s);
    assert_int_equal(s.requests, 3);
    vt_verifier_free(v);
    server_stop(&s, th);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_milan),
        cmocka_unit_test(test_genoa),
        cmocka_unit_test(test_turin),
        cmocka_unit_test(test_vlek),
        cmocka_unit_test(test_plan_errors),
        cmocka_unit_test(test_verify_fetch),
        cmocka_unit_test(test_tampered_not_cached),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_verify_single_flight),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
