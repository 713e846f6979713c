/* AMD KDS fetch against a loopback server that answers like kdsintf.amd.com (the vector sets'
 * VCEKs as DER, the products' cert_chain PEMs, a CRL made here), including 429 rate limiting;
 * the URLs asked for are checked per product, then the report is verified from the cache. */
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
#include "veritee/fileio.h"
#include "veritee/snp_kds.h"
#include "veritee/verify.h"

#define SEEN_MAX 32

typedef struct server {
    int fd;
    int port;
    pthread_mutex_t lock;
    int requests;
    char seen[SEEN_MAX][256];
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

/* /{vcek,vlek}/v1/<Product>/cert_chain -> chains/<product>_{ask,asvk}_ark.pem */
static void serve_chain(int c, const char *path)
{
    char kind[8] = "", prod[16] = "";
    if (sscanf(path, "/%4[a-z]/v1/%15[A-Za-z]/cert_chain", kind, prod) != 2) {
        reply(c, 404, NULL, NULL, 0);
        return;
    }
    for (char *p = prod; *p; p++) *p = (char)(*p | 0x20);
    char rel[128];
    snprintf(rel, sizeof rel, "snp/chains/%s_%s_ark.pem", prod, strcmp(kind, "vlek") == 0 ? "asvk" : "ask");
    vt_buf b = {0};
    vt_test_load(rel, &b);
    reply(c, 200, NULL, b.ptr, b.len);
    vt_buf_free(&b);
}

static void respond(server *s, int c, const char *path)
{
    if (s->delay_ms) usleep((useconds_t)s->delay_ms * 1000);
    pthread_mutex_lock(&s->lock);
    bool throttle = s->always429 || s->pending429 > 0;
    if (s->pending429 > 0) s->pending429--;
    pthread_mutex_unlock(&s->lock);
    if (throttle) {
        char h[64] = "";
        if (s->retry_after) snprintf(h, sizeof h, "Retry-After: %s\r\n", s->retry_after);
        reply(c, 429, h, NULL, 0);
    } else if (strstr(path, "/cert_chain") != NULL) {
        serve_chain(c, path);
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
            pthread_mutex_lock(&s->lock);
            snprintf(s->seen[s->requests++ % SEEN_MAX], sizeof s->seen[0], "%s", path);
            pthread_mutex_unlock(&s->lock);
            respond(s, c, path);
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

static void server_stop(server *s, pthread_t th)
{
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(th, NULL);
    pthread_mutex_destroy(&s->lock);
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

/* The leaf of a vector file as DER, the way KDS serves a VCEK. */
static void leaf_der(const char *rel, vt_buf *out)
{
    STACK_OF(X509) *sk = snp_load_certs(rel);
    unsigned char *p = NULL;
    int n = i2d_X509(sk_X509_value(sk, 0), &p);
    assert_true(n > 0);
    out->ptr = malloc((size_t)n);
    memcpy(out->ptr, p, (size_t)n);
    out->len = (size_t)n;
    OPENSSL_free(p);
    sk_X509_pop_free(sk, X509_free);
}

/* A CRL issued by a test name (the verifier uses only CRLs issued by the ARK, so this one is
 * fetched, checked and cached but leaves revocation "skipped"). */
static void make_crl(vt_time this_update, vt_time next_update, vt_buf *out)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509_CRL *c = X509_CRL_new();
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"veritee-test-crl", -1, -1, 0);
    X509_CRL_set_version(c, 1);
    X509_CRL_set_issuer_name(c, n);
    ASN1_TIME *t1 = ASN1_TIME_set(NULL, (time_t)this_update), *t2 = ASN1_TIME_set(NULL, (time_t)next_update);
    X509_CRL_set1_lastUpdate(c, t1);
    X509_CRL_set1_nextUpdate(c, t2);
    assert_true(X509_CRL_sign(c, k, EVP_sha256()) > 0);
    unsigned char *p = NULL;
    int len = i2d_X509_CRL(c, &p);
    assert_true(len > 0);
    out->ptr = malloc((size_t)len);
    memcpy(out->ptr, p, (size_t)len);
    out->len = (size_t)len;
    OPENSSL_free(p);
    ASN1_TIME_free(t1);
    ASN1_TIME_free(t2);
    X509_NAME_free(n);
    X509_CRL_free(c);
    EVP_PKEY_free(k);
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

typedef struct waits {
    long ms[16];
    int n;
} waits;

static void record_sleep(void *ctx, long ms)
{
    waits *w = ctx;
    if (w->n < 16) w->ms[w->n++] = ms;
}

static vt_snp_kds_opts opts_for(const server *s, char *url, size_t cap, const char *dir, waits *w)
{
    snprintf(url, cap, "http://127.0.0.1:%d/", s->port); /* the trailing '/' is ignored */
    vt_snp_kds_opts o = {.base_url = url, .cache_dir = dir, .timeout_seconds = 5, .backoff_ms = 10,
                         .max_wait_ms = 1000, .sleep_ms = record_sleep, .sleep_ctx = w};
    return o;
}

/* Verify a report with the two cache directories of a fetch. */
static vt_err verify_from_cache(const vt_buf *raw, const vt_snp_kds_plan *p, vt_checks *ck, vt_error *e)
{
    vt_snp_dir_collateral chain = {0}, leaf = {0};
    vt_snp_verifier *v = NULL;
    assert_int_equal(vt_snp_dir_collateral_load(p->chain_dir, &chain, e), VT_OK);
    if (p->leaf_dir[0]) assert_int_equal(vt_snp_dir_collateral_load(p->leaf_dir, &leaf, e), VT_OK);
    assert_int_equal(sk_X509_CRL_num(chain.crls), 1);
    STACK_OF(X509) *all = sk_X509_new_null();
    for (int i = 0; i < sk_X509_num(chain.certs); i++) sk_X509_push(all, sk_X509_value(chain.certs, i));
    for (int i = 0; leaf.certs && i < sk_X509_num(leaf.certs); i++) sk_X509_push(all, sk_X509_value(leaf.certs, i));
    vt_snp_collateral c = {.certs = all, .crls = chain.crls};
    vt_snp_verify_opts o = {.at = SNP_REF_TIME};
    assert_int_equal(vt_snp_verifier_new(&v, e), VT_OK);
    vt_snp_claims cl;
    vt_err rc = vt_snp_verify(v, raw->ptr, raw->len, &c, &o, &cl, ck, e);
    sk_X509_free(all);
    vt_snp_verifier_free(v);
    vt_snp_dir_collateral_free(&chain);
    vt_snp_dir_collateral_free(&leaf);
    return rc;
}

/* One product: the exact URLs, verification from the cache, then a second fetch from the cache. */
static void fetch_product(const char *set, const char *chain_file, const char *product, size_t idlen,
                          const char *query_fmt_tail)
{
    char rel[128], url[64], dir[256], want[1100], hw[129];
    vt_buf raw = {0};
    vt_snp_report r;
    snprintf(rel, sizeof rel, "snp/%s/report.bin", set);
    load_report(rel, &raw, &r);
    server s = {0};
    snprintf(rel, sizeof rel, "snp/%s/%s", set, chain_file);
    leaf_der(rel, &s.vcek);
    make_crl(SNP_REF_TIME - 86400, SNP_REF_TIME + 86400, &s.crl);
    pthread_t th = server_start(&s);
    vt_test_tmpdir(dir, sizeof dir);
    waits w = {0};
    vt_snp_kds_opts o = opts_for(&s, url, sizeof url, dir, &w);
    o.at = SNP_REF_TIME;
    vt_snp_kds_result res;
    vt_error e;
    if (vt_snp_kds_fetch(&o, &r, &res, &e) != VT_OK) fail_msg("fetch %s: %s", set, e.msg);
    assert_int_equal(s.requests, 3);
    chip_hex(&raw, idlen, hw);
    snprintf(want, sizeof want, "/vcek/v1/%s/%s?%s", product, hw, query_fmt_tail);
    assert_int_equal(seen(&s, 0, want), 0);
    snprintf(want, sizeof want, "/vcek/v1/%s/cert_chain", product);
    assert_int_equal(seen(&s, 1, want), 0);
    snprintf(want, sizeof want, "/vcek/v1/%s/crl", product);
    assert_int_equal(seen(&s, 2, want), 0);
    assert_int_equal(res.requests, 3);
    assert_int_equal(res.rate_limited, 0);
    assert_int_equal(w.n, 0);
    /* the cache layout the docs promise */
    snprintf(want, sizeof want, "%s/vcek/%s/cert_chain.pem", dir, product);
    assert_true(vt_file_exists(want));
    snprintf(want, sizeof want, "%s/vcek/%s/crl.der", dir, product);
    assert_true(vt_file_exists(want));
    snprintf(want, sizeof want, "%s/vcek.der", res.plan.leaf_dir);
    assert_true(vt_file_exists(want));
    /* reused: no request the second time */
    assert_int_equal(vt_snp_kds_fetch(&o, &r, &res, &e), VT_OK);
    assert_int_equal(s.requests, 3);
    assert_int_equal(res.requests, 0);
    server_stop(&s, th);

    vt_checks ck = {0};
    vt_err rc = verify_from_cache(&raw, &res.plan, &ck, &e);
    if (rc != VT_OK) fail_msg("verify %s from the cache: %s: %s", set, e.check, e.msg);
    vt_buf_free(&raw);
}

static void test_milan(void **state)
{
    (void)state;
    fetch_product("milan_v3_routex", "vcek_chain.pem", "Milan", 64, "blSPL=04&teeSPL=00&snpSPL=24&ucodeSPL=219");
}

static void test_genoa(void **state)
{
    (void)state;
    fetch_product("genoa_v5_routex", "vcek_chain.pem", "Genoa", 64, "blSPL=10&teeSPL=00&snpSPL=27&ucodeSPL=88");
}

static void test_turin(void **state)
{
    (void)state;
    /* Turin: hwID = the first 8 bytes of CHIP_ID, fmcSPL first */
    fetch_product("turin_v5_routex", "vcek_chain.pem", "Turin", 8,
                  "fmcSPL=00&blSPL=01&teeSPL=00&snpSPL=02&ucodeSPL=71");
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
    server s = {0};
    make_crl(SNP_REF_TIME - 86400, SNP_REF_TIME + 86400, &s.crl);
    pthread_t th = server_start(&s);
    char url[64], dir[256];
    vt_test_tmpdir(dir, sizeof dir);
    waits w = {0};
    vt_snp_kds_opts o = opts_for(&s, url, sizeof url, dir, &w);
    vt_snp_kds_result res;
    vt_error e;
    if (vt_snp_kds_fetch(&o, &r, &res, &e) != VT_OK) fail_msg("fetch: %s", e.msg);
    /* no VLEK request (KDS serves VLEKs to cloud providers only): the ASVK chain and its CRL */
    assert_int_equal(s.requests, 2);
    assert_int_equal(seen(&s, 0, "/vlek/v1/Milan/cert_chain"), 0);
    assert_int_equal(seen(&s, 1, "/vlek/v1/Milan/crl"), 0);
    assert_true(res.plan.vlek);
    assert_string_equal(res.plan.leaf_dir, "");
    server_stop(&s, th);

    /* the VLEK itself comes from elsewhere (--certs); the ASVK and ARK from the cache */
    vt_snp_dir_collateral chain = {0};
    assert_int_equal(vt_snp_dir_collateral_load(res.plan.chain_dir, &chain, &e), VT_OK);
    STACK_OF(X509) *all = snp_load_certs("snp/milan_v3_vlek_trustee/vlek.der");
    for (int i = 0; i < sk_X509_num(chain.certs); i++) {
        X509_up_ref(sk_X509_value(chain.certs, i));
        sk_X509_push(all, sk_X509_value(chain.certs, i));
    }
    vt_snp_collateral c = {.certs = all};
    vt_snp_verify_opts vo = {.at = SNP_REF_TIME};
    vt_snp_verifier *v;
    vt_snp_claims cl;
    assert_int_equal(vt_snp_verifier_new(&v, &e), VT_OK);
    vt_err rc = vt_snp_verify(v, raw.ptr, raw.len, &c, &vo, &cl, NULL, &e);
    if (rc != VT_OK) fail_msg("verify VLEK report: %s", e.msg);
    assert_int_equal(cl.signer, VT_SNP_KEY_VLEK);
    vt_snp_verifier_free(v);
    sk_X509_pop_free(all, X509_free);
    vt_snp_dir_collateral_free(&chain);
    vt_buf_free(&raw);
}

static void test_429_then_200(void **state)
{
    (void)state;
    vt_buf raw = {0};
    vt_snp_report r;
    load_report("snp/milan_v3_routex/report.bin", &raw, &r);
    server s = {.pending429 = 2, .retry_after = "1"};
    leaf_der("snp/milan_v3_routex/vcek_chain.pem", &s.vcek);
    make_crl(SNP_REF_TIME - 86400, SNP_REF_TIME + 86400, &s.crl);
    pthread_t th = server_start(&s);
    char url[64], dir[256];
    vt_test_tmpdir(dir, sizeof dir);
    waits w = {0};
    vt_snp_kds_opts o = opts_for(&s, url, sizeof url, dir, &w);
    o.max_wait_ms = 5000;
    vt_snp_kds_result res;
    vt_error e;
    if (vt_snp_kds_fetch(&o, &r, &res, &e) != VT_OK) fail_msg("fetch: %s", e.msg);
    /* the VCEK was asked three times (429, 429, 200), then chain and CRL once each */
    assert_int_equal(s.requests, 5);
    assert_int_equal(seen(&s, 0, res.plan.vcek_query), 0);
    assert_int_equal(seen(&s, 1, res.plan.vcek_query), 0);
    assert_int_equal(seen(&s, 2, res.plan.vcek_query), 0);
    assert_int_equal(res.rate_limited, 2);
    /* Retry-After: 1 was followed */
    assert_int_equal(w.n, 2);
    assert_int_equal(w.ms[0], 1000);
    assert_int_equal(w.ms[1], 1000);
    assert_int_equal(res.waited_ms, 2000);
    server_stop(&s, th);
    vt_checks ck = {0};
    assert_int_equal(verify_from_cache(&raw, &res.plan, &ck, &e), VT_OK);
    vt_buf_free(&raw);
}

static void test_persistent_429(void **state)
{
    (void)state;
    vt_buf raw = {0};
    vt_snp_report r;
    load_report("snp/genoa_v5_routex/report.bin", &raw, &r);
    server s = {.always429 = true};
    pthread_t th = server_start(&s);
    char url[64], dir[256], path[1100];
    vt_test_tmpdir(dir, sizeof dir);
    waits w = {0};
    vt_snp_kds_opts o = opts_for(&s, url, sizeof url, dir, &w);
    o.max_attempts = 4;
    vt_snp_kds_result res;
    vt_error e;
    /* no Retry-After: 10, 20, 40 ms of back-off, then the 4th answer ends it */
    assert_int_equal(vt_snp_kds_fetch(&o, &r, &res, &e), VT_E_MISSING);
    assert_non_null(strstr(e.msg, "rate-limits"));
    assert_int_equal(s.requests, 4);
    assert_int_equal(w.n, 3);
    assert_int_equal(w.ms[0], 10);
    assert_int_equal(w.ms[1], 20);
    assert_int_equal(w.ms[2], 40);
    assert_int_equal(res.waited_ms, 70);
    snprintf(path, sizeof path, "%s/vcek.der", res.plan.leaf_dir);
    assert_false(vt_file_exists(path));

    /* the time bound ends it before the attempt bound: 10 + 20 > 25 */
    w.n = 0;
    o.max_attempts = 10;
    o.max_wait_ms = 25;
    assert_int_equal(vt_snp_kds_fetch(&o, &r, &res, &e), VT_E_MISSING);
    assert_int_equal(s.requests, 4 + 2);
    assert_int_equal(w.n, 1);
    assert_true(res.waited_ms <= 25);

    /* a Retry-After beyond the bound: give up at once, without waiting */
    w.n = 0;
    s.retry_after = "3600";
    o.max_wait_ms = 60000;
    assert_int_equal(vt_snp_kds_fetch(&o, &r, &res, &e), VT_E_MISSING);
    assert_int_equal(s.requests, 6 + 1);
    assert_int_equal(w.n, 0);

    /* the real sleeper, a few milliseconds */
    s.retry_after = NULL;
    o.sleep_ms = NULL;
    o.backoff_ms = 2;
    o.max_attempts = 3;
    assert_int_equal(vt_snp_kds_fetch(&o, &r, &res, &e), VT_E_MISSING);
    assert_int_equal(res.requests, 3);
    assert_int_equal(res.waited_ms, 6);
    server_stop(&s, th);
    vt_buf_free(&raw);
}

static void test_wrong_answers_not_cached(void **state)
{
    (void)state;
    vt_buf raw = {0};
    vt_snp_report r;
    load_report("snp/milan_v3_routex/report.bin", &raw, &r);
    server s = {0};
    leaf_der("snp/milan_v2_trustee/vcek.der", &s.vcek); /* another Milan chip */
    make_crl(SNP_REF_TIME - 86400, SNP_REF_TIME + 86400, &s.crl);
    pthread_t th = server_start(&s);
    char url[64], dir[256], path[1100];
    vt_test_tmpdir(dir, sizeof dir);
    waits w = {0};
    vt_snp_kds_opts o = opts_for(&s, url, sizeof url, dir, &w);
    vt_snp_kds_result res;
    vt_error e;
    assert_int_equal(vt_snp_kds_fetch(&o, &r, &res, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "another chip"));
    snprintf(path, sizeof path, "%s/vcek.der", res.plan.leaf_dir);
    assert_false(vt_file_exists(path));

    /* a 200 that is not a certificate (an HTML error page, say) */
    vt_buf_free(&s.vcek);
    s.vcek.ptr = (uint8_t *)strdup("<html>busy</html>");
    s.vcek.len = strlen((char *)s.vcek.ptr);
    assert_int_equal(vt_snp_kds_fetch(&o, &r, &res, &e), VT_E_INVALID);
    assert_false(vt_file_exists(path));

    /* HTTP 404 (KDS does not know the chip or TCB) */
    o.base_url = url;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/nothing", s.port);
    assert_int_equal(vt_snp_kds_fetch(&o, &r, &res, &e), VT_E_MISSING);
    assert_non_null(strstr(e.msg, "HTTP 404"));
    server_stop(&s, th);

    /* unreachable */
    o.base_url = "http://127.0.0.1:1";
    o.timeout_seconds = 2;
    assert_int_equal(vt_snp_kds_fetch(&o, &r, &res, &e), VT_E_MISSING);
    assert_non_null(strstr(e.msg, "127.0.0.1:1"));
    o.base_url = "ftp://example";
    assert_int_equal(vt_snp_kds_fetch(&o, &r, &res, &e), VT_E_ARG);
    vt_buf_free(&raw);
}

static void test_stale_crl_refetched(void **state)
{
    (void)state;
    vt_buf raw = {0};
    vt_snp_report r;
    load_report("snp/genoa_v5_routex/report.bin", &raw, &r);
    server s = {0};
    leaf_der("snp/genoa_v5_routex/vcek_chain.pem", &s.vcek);
    make_crl(SNP_REF_TIME - 86400, SNP_REF_TIME + 86400, &s.crl);
    pthread_t th = server_start(&s);
    char url[64], dir[256];
    vt_test_tmpdir(dir, sizeof dir);
    waits w = {0};
    vt_snp_kds_opts o = opts_for(&s, url, sizeof url, dir, &w);
    o.at = SNP_REF_TIME;
    vt_snp_kds_result res;
    vt_error e;
    assert_int_equal(vt_snp_kds_fetch(&o, &r, &res, &e), VT_OK);
    assert_int_equal(s.requests, 3);
    /* two days later the cached CRL is past its nextUpdate: only the CRL is asked again */
    o.at = SNP_REF_TIME + 2 * 86400;
    assert_int_equal(vt_snp_kds_fetch(&o, &r, &res, &e), VT_OK);
    assert_int_equal(s.requests, 4);
    assert_int_equal(seen(&s, 3, "/vcek/v1/Genoa/crl"), 0);
    /* refresh asks for everything */
    o.refresh = true;
    assert_int_equal(vt_snp_kds_fetch(&o, &r, &res, &e), VT_OK);
    assert_int_equal(s.requests, 7);
    server_stop(&s, th);
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

/* veritee verify --tee snp --kds-url URL --cache DIR, end to end. */
static void test_cli(void **state)
{
    (void)state;
    const char *bin = getenv("VERITEE_BIN");
    char rp[512];
    if (bin == NULL || !vt_test_vector_path("snp/turin_v5_routex/report.bin", rp, sizeof rp)) skip();
    server s = {.pending429 = 1, .retry_after = "0"};
    leaf_der("snp/turin_v5_routex/vcek_chain.pem", &s.vcek);
    make_crl(SNP_REF_TIME - 86400, SNP_REF_TIME + 86400, &s.crl);
    pthread_t th = server_start(&s);
    char dir[256], cmd[2048];
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(cmd, sizeof cmd, "%s verify --tee snp --kds-url http://127.0.0.1:%d --cache %s --at 2025-12-08T00:00:00Z %s >/dev/null",
             bin, s.port, dir, rp);
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(s.requests, 4);
    /* from the cache only: --cache without --kds-url makes no request */
    snprintf(cmd, sizeof cmd, "%s verify --tee snp --cache %s --at 2025-12-08T00:00:00Z %s >/dev/null", bin, dir, rp);
    st = system(cmd);
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(s.requests, 4);
    /* an empty cache and no --kds-url: the VCEK is missing (exit 3) */
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(cmd, sizeof cmd, "%s verify --tee snp --cache %s --at 2025-12-08T00:00:00Z %s >/dev/null 2>&1", bin, dir, rp);
    st = system(cmd);
    assert_int_equal(WEXITSTATUS(st), 3);
    server_stop(&s, th);
}

typedef struct guest {
    vt_verifier *v;
    const vt_buf *raw;
    vt_err rc;
    char msg[VT_ERR_MSG_MAX];
} guest;

static void *guest_verify(void *arg)
{
    guest *g = arg;
    vt_verify_opts o = {.tee = "snp", .at = SNP_REF_TIME};
    vt_verify_result r;
    vt_error e = {0};
    memset(&r, 0, sizeof r);
    g->rc = vt_verify(g->v, g->raw->ptr, g->raw->len, &o, &r, &e);
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
    vt_buf raw = {0};
    vt_snp_report r;
    load_report("snp/milan_v3_routex/report.bin", &raw, &r);
    server s = {.delay_ms = 150};
    leaf_der("snp/milan_v3_routex/vcek_chain.pem", &s.vcek);
    make_crl(SNP_REF_TIME - 86400, SNP_REF_TIME + 86400, &s.crl);
    pthread_t th = server_start(&s);
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s.port);
    vt_verify_sources src = {.kds_url = url, .cache_dir = dir};
    vt_verifier *v = NULL;
    vt_error e;
    assert_int_equal(vt_verifier_new(&src, &v, &e), VT_OK);
    pthread_t t[6];
    guest g[6];
    for (int i = 0; i < 6; i++) {
        g[i] = (guest){.v = v, .raw = &raw, .rc = -1};
        assert_int_equal(pthread_create(&t[i], NULL, guest_verify, &g[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        if (g[i].rc != VT_OK) print_message("guest %d: %d %s\n", i, g[i].rc, g[i].msg);
        assert_int_equal(g[i].rc, VT_OK);
    }
    assert_int_equal(s.requests, 3);
    vt_verifier_free(v);
    server_stop(&s, th);
    vt_buf_free(&raw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_milan),
        cmocka_unit_test(test_genoa),
        cmocka_unit_test(test_turin),
        cmocka_unit_test(test_vlek),
        cmocka_unit_test(test_429_then_200),
        cmocka_unit_test(test_persistent_429),
        cmocka_unit_test(test_wrong_answers_not_cached),
        cmocka_unit_test(test_stale_crl_refetched),
        cmocka_unit_test(test_plan_errors),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_verify_single_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
