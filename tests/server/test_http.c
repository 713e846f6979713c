/* HTTP layer tests over real loopback sockets: routing, 404/405, body limit 413, rate limit
 * 429, malformed requests 400, /healthz, /metrics text format, JSON-lines logs, TLS, and
 * graceful stop with a request in flight; plus the header parsers and metrics rendering. */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/time.h>
#include <time.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"
#include "veritee/http.h"
#include "veritee/metrics.h"

/* ---- a raw HTTP/1.1 client ---- */

typedef struct reply {
    int status;
    char head[4096];
    char body[65536];
    size_t body_len;
} reply;

static void roundtrip(int port, const char *raw, size_t rawlen, reply *r)
{
    memset(r, 0, sizeof *r);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    size_t off = 0;
    while (off < rawlen) {
        ssize_t n = send(fd, raw + off, rawlen - off, MSG_NOSIGNAL);
        if (n <= 0) break; /* the server may close early (413) */
        off += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    static char buf[1 << 17];
    size_t len = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0) break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = 0;
    char *sep = strstr(buf, "\r\n\r\n");
    if (sep == NULL) return;
    size_t hl = (size_t)(sep - buf);
    snprintf(r->head, sizeof r->head, "%.*s", (int)hl, buf);
    sscanf(buf, "HTTP/1.%*d %d", &r->status);
    r->body_len = len - hl - 4;
    memcpy(r->body, sep + 4, r->body_len < sizeof r->body - 1 ? r->body_len : sizeof r->body - 1);
}

static void get(int port, const char *path, reply *r)
{
    char req[1024];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
    roundtrip(port, req, (size_t)n, r);
}

static void post(int port, const char *path, const char *extra, const char *body, size_t blen, reply *r)
{
    size_t cap = blen + 1024;
    char *req = malloc(cap);
    int n = snprintf(req, cap, "POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%sContent-Length: %zu\r\n\r\n",
                     path, extra, blen);
    memcpy(req + n, body, blen);
    roundtrip(port, req, (size_t)n + blen, r);
    free(req);
}

/* ---- handlers ---- */

static void h_hello(void *ud, const vt_http_request *q, vt_http_response *r)
{
    char cookie[64] = "-";
    const char *ch = vt_http_header(q, "Cookie");
    if (ch && vt_http_cookie(ch, strlen(ch), "kbs-session-id", cookie, sizeof cookie, NULL) == VT_E_INVALID) {
        vt_http_respond_problem(r, 400, "BadRequest", "malformed cookie");
        return;
    }
    const char *qa = vt_http_query(q, "a");
    json_t *j = json_pack("{ss ss ss ss ss}", "method", q->method, "route", q->route, "tail", q->tail,
                          "cookie", cookie, "a", qa ? qa : "-");
    vt_http_respond_json(r, 200, j);
    vt_http_response_header(r, "Set-Cookie", "kbs-session-id=abc; Expires=Sat, 22 Aug 2026 12:04:58 GMT");
    json_decref(j);
}

static void h_echo(void *ud, const vt_http_request *q, vt_http_response *r)
{
    json_error_t je;
    json_t *j = json_loadb((const char *)q->body, q->body_len, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL) {
        vt_http_respond_problem(r, 400, "BadRequest", "malformed JSON");
        return;
    }
    vt_std_metrics *m = ud;
    if (m) {
        const char *l[] = {"tdx", "affirming"};
        vt_metric_inc(m->attestation_total, l, 1);
        const char *t[] = {"tdx"};
        vt_metric_observe(m->attestation_duration, t, 0.003);
    }
    vt_http_respond_json(r, 200, j);
    json_decref(j);
}

static atomic_int g_slow_entered;

static void h_slow(void *ud, const vt_http_request *q, vt_http_response *r)
{
    atomic_store(&g_slow_entered, 1);
    usleep(300 * 1000);
    vt_http_respond_text(r, 200, "text/plain", "finished");
}

static double g_clock;
static double fake_clock(void *ud)
{
    return g_clock;
}

typedef struct fixture {
    vt_http_server *srv;
    vt_metrics *m;
    vt_std_metrics std;
    FILE *log;
    char logpath[256];
} fixture;

static void start_with(fixture *f, vt_http_opts *o);

static void start(fixture *f, size_t max_body, double rate, unsigned burst)
{
    vt_http_opts o = {.max_body = max_body, .rate_per_sec = rate, .rate_burst = burst,
                      .clock = rate > 0 ? fake_clock : NULL};
    start_with(f, &o);
}

static void start_with(fixture *f, vt_http_opts *o)
{
    memset(f, 0, sizeof *f);
    f->m = vt_metrics_new();
    vt_error e = {0};
    assert_int_equal(vt_metrics_std(f->m, &f->std, &e), VT_OK);
    char dir[128];
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(f->logpath, sizeof f->logpath, "%s/log.jsonl", dir);
    f->log = fopen(f->logpath, "w");
    vt_http_route routes[] = {
        {"GET", "/hello", h_hello, NULL},
        {"POST", "/echo", h_echo, &f->std},
        {"GET", "/res/*", h_hello, NULL},
        {"GET", "/slow", h_slow, NULL},
    };
    o->listen = "127.0.0.1:0";
    o->metrics = f->m;
    o->log = f->log;
    if (vt_http_server_start(o, routes, 4, &f->srv, &e) != VT_OK) fail_msg("start: %s", e.msg);
    assert_true(vt_http_server_port(f->srv) > 0);
}

static void stop(fixture *f)
{
    vt_http_server_stop(f->srv);
    vt_metrics_free(f->m);
    fclose(f->log);
}

static void test_routing(void **state)
{
    fixture f;
    start(&f, 0, 0, 0);
    int port = vt_http_server_port(f.srv);
    reply r;
    get(port, "/hello?a=1%202", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"route\":\"/hello\""));
    assert_non_null(strstr(r.body, "\"a\":\"1 2\""));
    assert_non_null(strstr(r.head, "Set-Cookie: kbs-session-id=abc"));
    assert_non_null(strstr(r.head, "Content-Type: application/json"));
    get(port, "/res/default/key/disk1", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"tail\":\"default/key/disk1\""));
    assert_non_null(strstr(r.body, "\"route\":\"/res/*\""));
    get(port, "/res/", &r);
    assert_int_equal(r.status, 404);
    get(port, "/nope", &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "InvalidRequestPath"));
    post(port, "/hello", "", "", 0, &r);
    assert_int_equal(r.status, 405);
    /* Cookies reach the handler parsed. */
    const char *req = "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: a=b; kbs-session-id=6f1c2b9e\r\n\r\n";
    roundtrip(port, req, strlen(req), &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"cookie\":\"6f1c2b9e\""));
    post(port, "/echo", "Content-Type: application/json\r\n", "{\"x\":[1,2]}", 11, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"x\":[1,2]}");
    get(port, "/healthz", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"status\":\"ok\"}");
    stop(&f);
}

static void test_body_limit(void **state)
{
    fixture f;
    start(&f, 64, 0, 0);
    int port = vt_http_server_port(f.srv);
    reply r;
    char big[200];
    memset(big, ' ', sizeof big);
    big[0] = '{';
    big[199] = '}';
    post(port, "/echo", "", big, 200, &r);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.body, "PayloadTooLarge"));
    post(port, "/echo", "", big + 136, 64, &r); /* exactly the limit: " ...}" is not JSON -> 400 */
    assert_int_equal(r.status, 400);
    char ok[64];
    memset(ok, ' ', sizeof ok);
    ok[0] = '{';
    ok[63] = '}';
    post(port, "/echo", "", ok, 64, &r);
    assert_int_equal(r.status, 200);
    /* Chunked upload without a length, over the limit. */
    char chunked[512];
    int n = snprintf(chunked, sizeof chunked,
                     "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "50\r\n%080d\r\n50\r\n%080d\r\n0\r\n\r\n", 0, 0);
    roundtrip(port, chunked, (size_t)n, &r);
    assert_int_equal(r.status, 413);
    /* Absurd Content-Length. */
    const char *huge = "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 99999999999999999999999\r\n\r\n";
    roundtrip(port, huge, strlen(huge), &r);
    assert_true(r.status == 413 || r.status == 400);
    stop(&f);
}

static void test_rate_limit(void **state)
{
    fixture f;
    g_clock = 1000;
    start(&f, 0, 0.001, 3);
    int port = vt_http_server_port(f.srv);
    reply r;
    for (int i = 0; i < 3; i++) {
        get(port, "/hello", &r);
        assert_int_equal(r.status, 200);
    }
    get(port, "/hello", &r);
    assert_int_equal(r.status, 429);
    assert_non_null(strstr(r.head, "Retry-After: 1"));
    assert_true(vt_metric_value(f.std.http_rate_limited, NULL) == 1.0);
    g_clock += 2000; /* two tokens back */
    get(port, "/hello", &r);
    assert_int_equal(r.status, 200);
    stop(&f);
}

static void test_malformed(void **state)
{
    fixture f;
    start(&f, 0, 0, 0);
    int port = vt_http_server_port(f.srv);
    reply r;
    const char *bad[] = {
        "GARBAGE\r\n\r\n",
        "GET /hello HTTP/1.1\r\nHost: x\r\nBroken header line\r\n\r\n",
        "GET /res/../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /res/%2e%2e/secret HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /res//x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /res/a%00b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: =; ;;\r\n\r\n",
        "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: kbs-session-id=\"abc\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\n{\"a\":",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        roundtrip(port, bad[i], strlen(bad[i]), &r);
        /* libmicrohttpd closes the connection on a request line it cannot parse at all. */
        if (r.status != 400 && !(i == 0 && r.status == 0)) fail_msg("request %zu: status %d, want 400", i, r.status);
    }
    /* The server is still fine. */
    get(port, "/healthz", &r);
    assert_int_equal(r.status, 200);
    stop(&f);
}

/* Each line of the exposition is a comment (# HELP/# TYPE) or `name{labels} value`. */
static void check_exposition(const char *text)
{
    const char *p = text;
    int samples = 0;
    while (*p) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)(nl - p), p);
        if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
            p = nl + 1;
            continue;
        }
        const char *q = line;
        while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '_' || *q == ':') q++;
        assert_true(q > line);
        if (*q == '{') {
            bool in = false;
            for (q++; *q && (in || *q != '}'); q++) {
                if (*q == '\\' && in) q++;
                else if (*q == '"') in = !in;
            }
            assert_int_equal(*q, '}');
            q++;
        }
        assert_int_equal(*q, ' ');
        char *end = NULL;
        strtod(q + 1, &end);
        if (end == q + 1 && strcmp(q + 1, "+Inf") != 0 && strcmp(q + 1, "NaN") != 0) fail_msg("bad value in '%s'", line);
        samples++;
        p = nl + 1;
    }
    assert_true(samples > 0);
}

static void test_metrics_endpoint(void **state)
{
    fixture f;
    start(&f, 0, 0, 0);
    int port = vt_http_server_port(f.srv);
    reply r;
    post(port, "/echo", "", "{}", 2, &r);
    get(port, "/hello", &r);
    get(port, "/metrics", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "Content-Type: text/plain; version=0.0.4"));
    check_exposition(r.body);
    assert_non_null(strstr(r.body, "# TYPE tee_attestation_duration_seconds histogram\n"));
    assert_non_null(strstr(r.body, "tee_attestation_total{tee=\"tdx\",result=\"affirming\"} 1\n"));
    assert_non_null(strstr(r.body, "tee_attestation_duration_seconds_bucket{tee=\"tdx\",le=\"0.0025\"} 0\n"));
    assert_non_null(strstr(r.body, "tee_attestation_duration_seconds_bucket{tee=\"tdx\",le=\"0.005\"} 1\n"));
    assert_non_null(strstr(r.body, "tee_attestation_duration_seconds_count{tee=\"tdx\"} 1\n"));
    assert_non_null(strstr(r.body, "veritee_http_request_duration_seconds_count{method=\"GET\",route=\"/hello\",code=\"200\"} 1\n"));
    assert_non_null(strstr(r.body, "veritee_http_request_duration_seconds_bucket{method=\"POST\",route=\"/echo\",code=\"200\",le=\"+Inf\"} 1\n"));
    assert_non_null(strstr(r.body, "# TYPE veritee_active_sessions gauge\nveritee_active_sessions 0\n"));
    stop(&f);
    /* Every log line is one JSON object with ts, level, msg. */
    FILE *lf = fopen(f.logpath, "r");
    char line[2048];
    int requests = 0;
    while (fgets(line, sizeof line, lf)) {
        json_t *j = json_loads(line, 0, NULL);
        assert_non_null(j);
        assert_non_null(json_string_value(json_object_get(j, "ts")));
        assert_non_null(json_string_value(json_object_get(j, "level")));
        if (strcmp(json_string_value(json_object_get(j, "msg")), "request") == 0) {
            requests++;
            assert_true(json_is_integer(json_object_get(j, "status")));
            assert_string_equal(json_string_value(json_object_get(j, "client")), "127.0.0.1");
        }
        json_decref(j);
    }
    fclose(lf);
    assert_int_equal(requests, 3);
}

/* Client-chosen methods must not become label values: 600 junk methods used to fill the
 * series cap (512) and later real series were dropped (issue 13 item 5). */
static void test_metrics_method_label(void **state)
{
    fixture f;
    start(&f, 0, 0, 0);
    int port = vt_http_server_port(f.srv);
    reply r;
    for (int i = 0; i < 600; i++) {
        char req[256];
        int n = snprintf(req, sizeof req, "JUNK%d /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", i);
        roundtrip(port, req, (size_t)n, &r);
        assert_int_equal(r.status, 405);
    }
    get(port, "/hello", &r);
    assert_int_equal(r.status, 200);
    const char *other[] = {"other", "unmatched", "405"}, *real[] = {"GET", "/hello", "200"},
               *junk[] = {"JUNK7", "unmatched", "405"};
    assert_true(vt_metric_value(f.std.http_duration, other) == 600.0);
    assert_true(vt_metric_value(f.std.http_duration, real) == 1.0);
    assert_true(vt_metric_value(f.std.http_duration, junk) == 0.0);
    get(port, "/metrics", &r);
    assert_null(strstr(r.body, "JUNK"));
    stop(&f);
}

/* ---- one client against many: slowloris and stalled uploads (issue 13 item 1) ---- */

/* A connection to the server from source address src (127.0.0.x: all of 127/8 is loopback). */
static int connect_from(int port, const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in b = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &b.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&b, sizeof b), 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {.tv_sec = 0, .tv_usec = 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* True once the server has closed fd (end of stream or reset); reads and drops any bytes. */
static bool closed_by_server(int fd)
{
    char buf[512];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0) return true;
        if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
    }
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The status of a GET /healthz sent on the open connection fd, waiting up to 30 s (0: closed
 * without an answer). */
static int status_on(int fd)
{
    struct timeval tv = {.tv_sec = 30};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) return 0;
    char buf[1024];
    size_t len = 0;
    while (len < sizeof buf - 1) {
        ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0) break;
        len += (size_t)n;
    }
    buf[len] = 0;
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) return 0;
    return status;
}

#define SLOW_CONNS 40

/* 40 connections from 127.0.0.2, each sending one header line every 200 ms and never ending
 * its headers, against a server allowing 16 connections, 4 per address, and 2 s for headers:
 * /healthz from 127.0.0.1 keeps answering all along, and every slow connection is closed
 * (the excess at accept, the others at their header deadline). Bounded: at most ~12 s. */
static void test_slowloris_one_address(void **state)
{
    fixture f;
    vt_http_opts o = {.max_connections = 16, .max_connections_per_ip = 4, .header_timeout_seconds = 2,
                      .timeout_seconds = 30};
    start_with(&f, &o);
    int port = vt_http_server_port(f.srv);
    int fd[SLOW_CONNS];
    bool closed[SLOW_CONNS] = {0};
    for (int i = 0; i < SLOW_CONNS; i++) {
        fd[i] = connect_from(port, "127.0.0.2");
        const char *line = "GET /hello HTTP/1.1\r\nHost: x\r\n";
        send(fd[i], line, strlen(line), MSG_NOSIGNAL);
    }
    double t0 = mono();
    int healthy = 0, open_left = SLOW_CONNS;
    while (open_left > 0 && mono() - t0 < 12) {
        for (int i = 0; i < SLOW_CONNS; i++) {
            if (closed[i]) continue;
            send(fd[i], "X-Slow: 1\r\n", 11, MSG_NOSIGNAL);
            if (closed_by_server(fd[i])) {
                closed[i] = true;
                open_left--;
            }
        }
        reply r;
        get(port, "/healthz", &r);
        if (r.status != 200) fail_msg("/healthz answered %d while one address held slow connections", r.status);
        healthy++;
        usleep(200 * 1000);
    }
    if (open_left > 0) fail_msg("%d slow connections still open after 12 s (header deadline 2 s)", open_left);
    assert_true(healthy >= 3);
    const char *l[1] = {"header_timeout"};
    vt_metric *m = vt_metrics_counter(f.m, "veritee_http_slow_clients_total",
                                      "Connections closed for missing the header or body deadline", "reason");
    assert_true(vt_metric_value(m, l) >= 1.0);
    for (int i = 0; i < SLOW_CONNS; i++) close(fd[i]);
    stop(&f);
}

/* The server's body memory in use (veritee_http_body_memory_bytes) reaches want within 30 s;
 * false when it has not. The reservations are made and released by the server's threads, which
 * a loaded machine may run late: a fixed pause before the next request raced them. */
static bool body_memory_reaches(fixture *f, double want)
{
    vt_metric *g = vt_metrics_gauge(f->m, "veritee_http_body_memory_bytes",
                                    "Bytes of the request body memory budget (--max-body-memory) in use", NULL);
    assert_non_null(g);
    double t0 = mono();
    while (vt_metric_value(g, NULL) != want) {
        if (mono() - t0 > 30) return false;
        usleep(10 * 1000);
    }
    return true;
}

/* Stalled uploads hold body memory only up to the budget: with 16 KiB for all bodies, two
 * stalled 6000-byte uploads take 12000 bytes, a third is refused (18000 would not fit), the next
 * upload gets 503 at once, and when the body deadline closes the stalled ones the budget is free
 * again. */
static void test_stalled_uploads_bounded(void **state)
{
    fixture f;
    /* body deadline 4 s: the fourth upload must reach the server while the stalled ones are
     * still held, however late a loaded machine runs its threads */
    vt_http_opts o = {.max_body = 8192, .max_body_memory = 16384, .body_timeout_seconds = 4,
                      .max_connections_per_ip = 8};
    start_with(&f, &o);
    int port = vt_http_server_port(f.srv);
    int fd[3];
    char head[256];
    int hn = snprintf(head, sizeof head, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6000\r\n\r\n{\"a\":");
    for (int i = 0; i < 3; i++) {
        fd[i] = connect_from(port, "127.0.0.3");
        assert_int_equal(send(fd[i], head, (size_t)hn, MSG_NOSIGNAL), hn);
    }
    if (!body_memory_reaches(&f, 12000)) fail_msg("two stalled uploads did not hold 12000 bytes of body memory");
    char body[6000];
    memset(body, ' ', sizeof body);
    body[0] = '{';
    body[5999] = '}';
    reply r;
    post(port, "/echo", "", body, sizeof body, &r);
    assert_int_equal(r.status, 503);
    get(port, "/healthz", &r);
    assert_int_equal(r.status, 200);
    double t0 = mono();
    int open_left = 3;
    bool closed[3] = {0};
    while (open_left > 0 && mono() - t0 < 30) {
        for (int i = 0; i < 3; i++)
            if (!closed[i] && closed_by_server(fd[i])) {
                closed[i] = true;
                open_left--;
            }
        usleep(100 * 1000);
    }
    if (open_left > 0) fail_msg("%d stalled uploads still open after 30 s (body deadline 4 s)", open_left);
    /* the client sees the reaper's shutdown before the server has released the reservation */
    if (!body_memory_reaches(&f, 0)) fail_msg("the stalled uploads' body memory was not released");
    post(port, "/echo", "", body, sizeof body, &r);
    assert_int_equal(r.status, 200);
    for (int i = 0; i < 3; i++) close(fd[i]);
    stop(&f);
}


/* New connections spend the client's budget at accept, before any header: with 0.001 req/s and
 * a burst of 2, a client may open four idle connections (twice the request burst), and of five
 * opened at once exactly one is refused, without a header ever being read; another address is
 * not affected. Which of the five is refused is not fixed: the server's two worker threads both
 * accept, so two connections made back to back reach the accept check in either order (the
 * test used to wait for the fifth; when the fourth was refused instead, the fifth was closed
 * only by its header deadline and the test failed under load). The header deadline is set far
 * beyond the waits here, so a connection the server closes is one refused at accept. */
static void test_rate_limit_connections(void **state)
{
    fixture f;
    g_clock = 5000;
    vt_http_opts o = {.rate_per_sec = 0.001, .rate_burst = 2, .clock = fake_clock, .header_timeout_seconds = 300};
    start_with(&f, &o);
    int port = vt_http_server_port(f.srv);
    int fd[5];
    bool closed[5] = {0};
    int nclosed = 0;
    for (int i = 0; i < 5; i++) fd[i] = connect_from(port, "127.0.0.4");
    double t0 = mono();
    /* bounded at 30 s: on a quiet machine the refusal comes in milliseconds */
    while ((nclosed == 0 || vt_metric_value(f.std.http_rate_limited, NULL) < 1.0) && mono() - t0 < 30) {
        for (int i = 0; i < 5; i++)
            if (!closed[i] && closed_by_server(fd[i])) {
                closed[i] = true;
                nclosed++;
            }
        usleep(20 * 1000);
    }
    if (nclosed == 0) fail_msg("none of five connections from one address was refused within 30 s");
    assert_true(vt_metric_value(f.std.http_rate_limited, NULL) == 1.0);
    for (int i = 0; i < 5; i++)
        if (!closed[i] && closed_by_server(fd[i])) {
            closed[i] = true;
            nclosed++;
        }
    if (nclosed != 1) fail_msg("%d of five connections from one address were closed, want exactly 1 refused", nclosed);
    /* the other four were accepted: each answers a request (200, or 429 from the request limit) */
    for (int i = 0; i < 5; i++)
        if (!closed[i] && status_on(fd[i]) == 0) fail_msg("connection %d of five was not served", i + 1);
    reply r;
    get(port, "/hello", &r); /* 127.0.0.1 has its own budget */
    assert_int_equal(r.status, 200);
    for (int i = 0; i < 5; i++) close(fd[i]);
    stop(&f);
}

static vt_err unhealthy(void *ud, vt_error *err)
{
    return vt_error_set(err, VT_E_IO, "store", "database unreachable");
}

static void test_healthz_failing(void **state)
{
    vt_http_opts o = {.listen = "127.0.0.1:0", .health = unhealthy};
    vt_http_server *s = NULL;
    vt_error e = {0};
    assert_int_equal(vt_http_server_start(&o, NULL, 0, &s, &e), VT_OK);
    reply r;
    get(vt_http_server_port(s), "/healthz", &r);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "database unreachable"));
    get(vt_http_server_port(s), "/metrics", &r); /* no registry: no endpoint */
    assert_int_equal(r.status, 404);
    vt_http_server_stop(s);
    /* Bad options fail cleanly. */
    o.listen = "nonsense";
    assert_int_equal(vt_http_server_start(&o, NULL, 0, &s, &e), VT_E_ARG);
    o.listen = "127.0.0.1:0";
    o.tls_cert_file = "/nonexistent.pem";
    assert_int_not_equal(vt_http_server_start(&o, NULL, 0, &s, &e), VT_OK);
}

static void test_tls(void **state)
{
    if (system("command -v openssl >/dev/null && command -v curl >/dev/null") != 0) {
        printf("SKIP: TLS test needs the openssl and curl commands\n");
        skip();
    }
    char dir[128], cmd[1024], cert[256], key[256];
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost"
             " -keyout %s -out %s >/dev/null 2>&1", key, cert);
    assert_int_equal(system(cmd), 0);
    vt_http_opts o = {.listen = "127.0.0.1:0", .tls_cert_file = cert, .tls_key_file = key};
    vt_http_server *s = NULL;
    vt_error e = {0};
    if (vt_http_server_start(&o, NULL, 0, &s, &e) != VT_OK) fail_msg("%s", e.msg);
    snprintf(cmd, sizeof cmd, "curl -s --cacert %s --resolve localhost:%d:127.0.0.1 https://localhost:%d/healthz",
             cert, vt_http_server_port(s), vt_http_server_port(s));
    FILE *p = popen(cmd, "r");
    char out[256] = {0};
    assert_non_null(fgets(out, sizeof out, p));
    pclose(p);
    assert_string_equal(out, "{\"status\":\"ok\"}");
    /* Plain HTTP to the TLS port gets no HTTP answer. */
    reply r;
    get(vt_http_server_port(s), "/healthz", &r);
    assert_int_not_equal(r.status, 200);
    vt_http_server_stop(s);
}

typedef struct inflight {
    int port;
    reply r;
} inflight;

static void *slow_client(void *arg)
{
    inflight *x = arg;
    get(x->port, "/slow", &x->r);
    return NULL;
}

/* SIGTERM arrives (blocked, then taken by sigwait); the stop lets the request in flight finish. */
static void test_graceful_stop(void **state)
{
    vt_error e = {0};
    sigset_t old;
    pthread_sigmask(SIG_SETMASK, NULL, &old);
    assert_int_equal(vt_http_signals_block(&e), VT_OK);
    fixture f;
    start(&f, 0, 0, 0);
    inflight x = {.port = vt_http_server_port(f.srv)};
    atomic_store(&g_slow_entered, 0);
    pthread_t t;
    pthread_create(&t, NULL, slow_client, &x);
    while (!atomic_load(&g_slow_entered)) usleep(1000);
    kill(getpid(), SIGTERM);
    assert_int_equal(vt_http_wait_signal(), SIGTERM);
    stop(&f);
    pthread_join(t, NULL);
    assert_int_equal(x.r.status, 200);
    assert_string_equal(x.r.body, "finished");
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* ---- parsers and rendering without a server ---- */

static void test_cookie_parse(void **state)
{
    char v[40];
    vt_error e = {0};
    const char *h = "a=1; kbs-session-id=6f1c2b9e0d3a4f5b8c7d9e0a1b2c3d4e; z=\"q\"";
    assert_int_equal(vt_http_cookie(h, strlen(h), "kbs-session-id", v, sizeof v, &e), VT_OK);
    assert_string_equal(v, "6f1c2b9e0d3a4f5b8c7d9e0a1b2c3d4e");
    assert_int_equal(vt_http_cookie(h, strlen(h), "z", v, sizeof v, &e), VT_OK);
    assert_string_equal(v, "q");
    assert_int_equal(vt_http_cookie(h, strlen(h), "kbs", v, sizeof v, &e), VT_E_MISSING);
    assert_int_equal(vt_http_cookie(h, strlen(h), "kbs-session-id", v, 8, &e), VT_E_INVALID);
    const char *bad[] = {"a", "=1", "a=1;; b=2", "a=1 b=2", "a=\"1", "a=x\\y", "a=1,b=2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (vt_http_cookie(bad[i], strlen(bad[i]), "a", v, sizeof v, &e) != VT_E_INVALID) fail_msg("accepted '%s'", bad[i]);
    assert_int_equal(vt_http_cookie("", 0, "a", v, sizeof v, &e), VT_E_MISSING);
    assert_int_equal(vt_http_cookie("a=", 2, "a", v, sizeof v, &e), VT_OK);
    assert_string_equal(v, "");
}

static void test_bearer_and_path(void **state)
{
    const char *t;
    size_t n;
    vt_error e = {0};
    assert_int_equal(vt_http_bearer("Bearer eyJ.a-b_c.d==", &t, &n, &e), VT_OK);
    assert_int_equal(n, 13);
    assert_int_equal(vt_http_bearer("bearer   x  ", &t, &n, &e), VT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(vt_http_bearer("Basic abc", &t, &n, &e), VT_E_INVALID);
    assert_int_equal(vt_http_bearer("Bearer ", &t, &n, &e), VT_E_INVALID);
    assert_int_equal(vt_http_bearer("Bearer a b", &t, &n, &e), VT_E_INVALID);
    assert_int_equal(vt_http_bearer(NULL, &t, &n, &e), VT_E_MISSING);
    const char *good[] = {"/", "/kbs/v0/auth", "/a/b/", "/a/.b/c..", "/a/...%"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (vt_http_path_check(good[i], strlen(good[i]), &e) != VT_OK) fail_msg("refused '%s': %s", good[i], e.msg);
    const char *bad[] = {"", "a", "//", "/a//b", "/..", "/a/../b", "/a/./b", "/a/.", "/a b", "/a\\b", "/\x7f"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (vt_http_path_check(bad[i], strlen(bad[i]), &e) != VT_E_INVALID) fail_msg("accepted '%s'", bad[i]);
}

static void test_metrics_render_exact(void **state)
{
    vt_metrics *m = vt_metrics_new();
    vt_metric *c = vt_metrics_counter(m, "t_total", "A \\ help\nline.", "k");
    const double b[] = {0.5, 1};
    vt_metric *h = vt_metrics_histogram(m, "t_seconds", "H.", NULL, b, 2);
    vt_metric *g = vt_metrics_gauge(m, "t_gauge", "G.", NULL);
    assert_ptr_equal(vt_metrics_counter(m, "t_total", "again", "k"), c);
    assert_null(vt_metrics_gauge(m, "t_total", "other type", "k"));
    assert_null(vt_metrics_counter(m, "bad name", "x", NULL));
    assert_null(vt_metrics_counter(m, "x_total", "x", "le"));
    const char *v1[] = {"a\"b\\c\nd"};
    vt_metric_inc(c, v1, 2);
    vt_metric_inc(c, v1, -1); /* counters never go down */
    vt_metric_observe(h, NULL, 0.25);
    vt_metric_observe(h, NULL, 0.75);
    vt_metric_observe(h, NULL, 3);
    vt_metric_set(g, NULL, 7);
    vt_metric_inc(g, NULL, -2);
    vt_buf out = {0};
    vt_error e = {0};
    assert_int_equal(vt_metrics_render(m, &out, &e), VT_OK);
    const char *want =
        "# HELP t_total A \\\\ help\\nline.\n"
        "# TYPE t_total counter\n"
        "t_total{k=\"a\\\"b\\\\c\\nd\"} 2\n"
        "# HELP t_seconds H.\n"
        "# TYPE t_seconds histogram\n"
        "t_seconds_bucket{le=\"0.5\"} 1\n"
        "t_seconds_bucket{le=\"1.0\"} 2\n"
        "t_seconds_bucket{le=\"+Inf\"} 3\n"
        "t_seconds_sum 4\n"
        "t_seconds_count 3\n"
        "# HELP t_gauge G.\n"
        "# TYPE t_gauge gauge\n"
        "t_gauge 5\n";
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.ptr, want, out.len);
    vt_buf_free(&out);
    vt_metrics_free(m);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cookie_parse),
        cmocka_unit_test(test_bearer_and_path),
        cmocka_unit_test(test_metrics_render_exact),
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_metrics_endpoint),
        cmocka_unit_test(test_metrics_method_label),
        cmocka_unit_test(test_slowloris_one_address),
        cmocka_unit_test(test_stalled_uploads_bounded),
        cmocka_unit_test(test_rate_limit_connections),
        cmocka_unit_test(test_healthz_failing),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_graceful_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
