/* HTTP server over libmicrohttpd, loaded with dlopen() when a server starts (linking it
 * pulls GnuTLS and 9 more libraries into every `veritee` process: ~1.5 ms at start).
 * Requests are collected into vt_http_request and dispatched to the routing table. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server_internal.h"
#include "veritee/crypto.h"
#include "veritee/fileio.h"
#include "veritee/json.h"
#include "veritee/vtime.h"
#include "veritee/writer.h"

typedef struct mhd_api {
    void *lib;
    struct MHD_Daemon *(*start)(unsigned int, uint16_t, MHD_AcceptPolicyCallback, void *,
                                MHD_AccessHandlerCallback, void *, ...);
    void (*stop)(struct MHD_Daemon *);
    MHD_socket (*quiesce)(struct MHD_Daemon *);
    int (*get_values)(struct MHD_Connection *, enum MHD_ValueKind, MHD_KeyValueIterator, void *);
    const union MHD_ConnectionInfo *(*conn_info)(struct MHD_Connection *, enum MHD_ConnectionInfoType, ...);
    struct MHD_Response *(*resp_from_buffer)(size_t, void *, enum MHD_ResponseMemoryMode);
    enum MHD_Result (*add_header)(struct MHD_Response *, const char *, const char *);
    enum MHD_Result (*queue)(struct MHD_Connection *, unsigned int, struct MHD_Response *);
    void (*destroy)(struct MHD_Response *);
} mhd_api;

/* One accepted connection, for the header and body deadlines: the reaper shuts down the socket
 * of a connection past its deadline (libmicrohttpd's own timeout is an idle timeout, which a
 * client sending a header line every few seconds never hits). */
typedef struct conn_slot {
    bool used, reaped;
    int fd;
    double deadline;
    bool in_body; /* headers received: the deadline is the body's */
} conn_slot;

struct vt_http_server {
    mhd_api api;
    struct MHD_Daemon *d;
    int listen_fd;
    int port;
    vt_http_opts o;
    vt_http_route *routes;
    size_t nroutes;
    vt_metric *http_duration, *rate_limited;
    ratelimit *rl;
    ratelimit *rl_conn; /* new connections per client: twice the request rate and burst */
    pthread_mutex_t log_mu;
    char *cert_pem, *key_pem;
    atomic_int in_flight; /* requests begun and not yet completed */
    atomic_size_t body_mem; /* bytes reserved for request bodies, all connections */
    vt_metric *closed_slow;  /* veritee_http_slow_clients_total{reason} */
    vt_metric *body_mem_gauge; /* veritee_http_body_memory_bytes: body_mem as operators see it */
    pthread_mutex_t slot_mu;
    conn_slot *slots;
    size_t nslots;
    pthread_t reaper;
    bool reaper_on, reaper_stop;
    pthread_cond_t reaper_cv;
};

static vt_err mhd_load(mhd_api *a, vt_error *err)
{
    /* NODELETE: GnuTLS (loaded with it) keeps global state that is not freed on unload. */
    a->lib = dlopen("libmicrohttpd.so.12", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (a->lib == NULL)
        return vt_error_set(err, VT_E_MISSING, "http", "libmicrohttpd.so.12 not available (install libmicrohttpd12)");
    struct { void **fn; const char *name; } t[] = {
        {(void **)&a->start, "MHD_start_daemon"},
        {(void **)&a->stop, "MHD_stop_daemon"},
        {(void **)&a->quiesce, "MHD_quiesce_daemon"},
        {(void **)&a->get_values, "MHD_get_connection_values"},
        {(void **)&a->conn_info, "MHD_get_connection_info"},
        {(void **)&a->resp_from_buffer, "MHD_create_response_from_buffer"},
        {(void **)&a->add_header, "MHD_add_response_header"},
        {(void **)&a->queue, "MHD_queue_response"},
        {(void **)&a->destroy, "MHD_destroy_response"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if ((*t[i].fn = dlsym(a->lib, t[i].name)) == NULL) {
            dlclose(a->lib);
            return vt_error_set(err, VT_E_MISSING, "http", "libmicrohttpd.so.12 lacks %s", t[i].name);
        }
    return VT_OK;
}

static double mono_now(void *ud)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(const vt_http_server *s)
{
    return s->o.clock ? s->o.clock(s->o.clock_ud) : mono_now(NULL);
}

/* ---- logging ---- */

void vt_http_log(vt_http_server *s, const char *level, const char *msg, const json_t *fields)
{
    if (s == NULL || s->o.log == NULL) return;
    json_t *j = fields ? json_deep_copy(fields) : json_object();
    if (j == NULL) return;
    char ts[21];
    vt_time_format((vt_time)time(NULL), ts);
    json_object_set_new(j, "ts", json_string(ts));
    json_object_set_new(j, "level", json_string(level));
    json_object_set_new(j, "msg", json_string(msg));
    char *line = vt_json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    json_decref(j);
    if (line == NULL) return;
    pthread_mutex_lock(&s->log_mu);
    fprintf(s->o.log, "%s\n", line);
    fflush(s->o.log);
    pthread_mutex_unlock(&s->log_mu);
    free(line);
}

__attribute__((format(printf, 2, 0))) static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    buf[strcspn(buf, "\n")] = 0;
    json_t *f = json_pack("{ss}", "detail", buf);
    vt_http_log(cls, "warn", "http", f);
    json_decref(f);
}

/* ---- per-request state ---- */

typedef struct conn_state {
    bool started; /* the access handler has seen the request */
    double start;
    vt_buf body;
    size_t cap;
    size_t reserved; /* bytes of the body memory budget held by this request */
    bool too_big;
    bool no_memory;  /* the body memory budget is exhausted: 503 */
    bool bad_target;
    bool answered;
    char client[INET6_ADDRSTRLEN];
    char target[VT_HTTP_MAX_TARGET + 1]; /* last: on_uri zeroes the members before it */
} conn_state;

/* ---- body memory budget ---- */

/* Raises this request's reservation to total bytes; false when the budget cannot hold it. */
static bool body_reserve(vt_http_server *s, conn_state *st, size_t total)
{
    if (total <= st->reserved) return true;
    size_t delta = total - st->reserved;
    size_t now = atomic_fetch_add(&s->body_mem, delta) + delta;
    if (now > s->o.max_body_memory) {
        atomic_fetch_sub(&s->body_mem, delta);
        return false;
    }
    st->reserved = total;
    vt_metric_inc(s->body_mem_gauge, NULL, (double)delta);
    return true;
}

static void body_release(vt_http_server *s, conn_state *st)
{
    vt_buf_free_secret(&st->body); /* bodies may carry secrets (admin resource uploads) */
    st->cap = 0;
    if (st->reserved) {
        atomic_fetch_sub(&s->body_mem, st->reserved);
        vt_metric_inc(s->body_mem_gauge, NULL, -(double)st->reserved);
    }
    st->reserved = 0;
}

/* ---- connection deadlines ---- */

static conn_slot *slot_of(vt_http_server *s, struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = s->api.conn_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void slot_deadline(vt_http_server *s, struct MHD_Connection *c, bool in_body)
{
    conn_slot *k = slot_of(s, c);
    if (k == NULL) return;
    pthread_mutex_lock(&s->slot_mu);
    k->in_body = in_body;
    k->deadline = mono_now(NULL) + (in_body ? s->o.body_timeout_seconds : s->o.header_timeout_seconds);
    pthread_mutex_unlock(&s->slot_mu);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    vt_http_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = s->api.conn_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = NULL;
        if (ci == NULL) return;
        pthread_mutex_lock(&s->slot_mu);
        for (size_t i = 0; i < s->nslots; i++)
            if (!s->slots[i].used) {
                s->slots[i] = (conn_slot){.used = true, .fd = ci->connect_fd,
                                          .deadline = mono_now(NULL) + s->o.header_timeout_seconds};
                *socket_context = &s->slots[i];
                break;
            }
        pthread_mutex_unlock(&s->slot_mu);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context != NULL) {
        /* Called before libmicrohttpd closes the socket: the reaper never touches a reused fd. */
        pthread_mutex_lock(&s->slot_mu);
        ((conn_slot *)*socket_context)->used = false;
        pthread_mutex_unlock(&s->slot_mu);
        *socket_context = NULL;
    }
}

static void *reaper_main(void *arg)
{
    vt_http_server *s = arg;
    pthread_mutex_lock(&s->slot_mu);
    while (!s->reaper_stop) {
        double now = mono_now(NULL);
        for (size_t i = 0; i < s->nslots; i++) {
            conn_slot *k = &s->slots[i];
            if (!k->used || k->reaped || k->deadline > now) continue;
            k->reaped = true;
            shutdown(k->fd, SHUT_RDWR); /* the server sees the end of the stream and closes it */
            const char *l[1] = {k->in_body ? "body_timeout" : "header_timeout"};
            vt_metric_inc(s->closed_slow, l, 1);
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 250 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&s->reaper_cv, &s->slot_mu, &ts);
    }
    pthread_mutex_unlock(&s->slot_mu);
    return NULL;
}

/* At accept, before any byte is read: the client's new connections are rate limited too (at
 * twice its request rate and burst: with keep-alive a client never needs more connections than
 * requests), so connections that never finish their headers still spend the client's budget. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *sa, socklen_t len)
{
    vt_http_server *s = cls;
    if (s->rl_conn == NULL || sa == NULL) return MHD_YES;
    char client[INET6_ADDRSTRLEN] = "";
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in))
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, client, sizeof client);
    else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6))
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, client, sizeof client);
    if (ratelimit_take(s->rl_conn, client, now_s(s))) return MHD_YES;
    vt_metric_inc(s->rate_limited, NULL, 1);
    return MHD_NO;
}

/* Called with the request line's target before it is decoded: becomes the request's state. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    /* all but the target buffer zeroed (6 KiB a request); the target is a string */
    conn_state *st = malloc(sizeof *st);
    if (st == NULL) return NULL;
    memset(st, 0, offsetof(conn_state, target));
    size_t n = uri ? strlen(uri) : 0;
    if (n > VT_HTTP_MAX_TARGET) st->bad_target = true;
    else if (n) memcpy(st->target, uri, n);
    st->target[st->bad_target ? 0 : n] = '\0';
    return st;
}

typedef struct collect {
    vt_http_kv kv[VT_HTTP_MAX_HEADERS];
    size_t n;
    bool overflow;
} collect;

static enum MHD_Result on_kv(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    collect *c = cls;
    if (c->n == VT_HTTP_MAX_HEADERS) {
        c->overflow = true;
        return MHD_NO;
    }
    c->kv[c->n].name = key;
    c->kv[c->n++].value = value ? value : "";
    return MHD_YES;
}

/* The method as a metrics label: the raw method is client-chosen text, and 512 junk methods
 * would fill the family's series cap so that later real series are dropped. */
static const char *method_label(const char *m)
{
    static const char *const known[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (m != NULL && strcmp(m, known[i]) == 0) return known[i];
    return "other";
}

static enum MHD_Result send_resp(vt_http_server *s, struct MHD_Connection *c, conn_state *st,
                                 const char *method, const char *path, const char *route,
                                 vt_http_response *r)
{
    int status = r->status ? r->status : 200;
    struct MHD_Response *mr = s->api.resp_from_buffer(r->body.len, r->body.ptr, MHD_RESPMEM_MUST_COPY);
    if (mr == NULL) return MHD_NO;
    s->api.add_header(mr, "Content-Type", r->content_type[0] ? r->content_type : "application/json");
    s->api.add_header(mr, "Cache-Control", "no-store");
    s->api.add_header(mr, "X-Content-Type-Options", "nosniff");
    for (size_t i = 0; i < r->nheaders; i++) s->api.add_header(mr, r->header_names[i], r->header_values[i]);
    if (status == 429) s->api.add_header(mr, "Retry-After", "1");
    enum MHD_Result q = s->api.queue(c, (unsigned)status, mr);
    s->api.destroy(mr);
    st->answered = true;
    double dur = now_s(s) - st->start;
    char code[8];
    snprintf(code, sizeof code, "%d", status);
    const char *labels[] = {method_label(method), route, code};
    vt_metric_observe(s->http_duration, labels, dur < 0 ? 0 : dur);
    if (s->o.log) {
        json_t *f = json_pack("{ss ss si sf ss sI sI}", "method", method, "path", path, "status", status,
                              "duration_ms", dur * 1000.0, "client", st->client, "bytes_in",
                              (json_int_t)st->body.len, "bytes_out", (json_int_t)r->body.len);
        vt_http_log(s, status >= 500 ? "error" : "info", "request", f);
        json_decref(f);
    }
    return q;
}

static enum MHD_Result send_problem(vt_http_server *s, struct MHD_Connection *c, conn_state *st,
                                    const char *method, const char *path, int status, const char *type,
                                    const char *detail)
{
    vt_http_response r = {0};
    vt_http_respond_problem(&r, status, type, detail);
    enum MHD_Result q = send_resp(s, c, st, method, path, "unmatched", &r);
    vt_http_response_clear(&r);
    return q;
}

/* 200 {"status": ok} when healthy, else 503 {"status": bad, "detail": why}. */
static void health_reply(vt_http_response *resp, bool healthy, const char *ok, const char *bad, const vt_error *e)
{
    if (healthy) {
        char body[64];
        snprintf(body, sizeof body, "{\"status\":\"%s\"}", ok);
        vt_http_respond_text(resp, 200, "application/json", body);
        return;
    }
    json_t *j = json_pack("{ss ss}", "status", bad, "detail", e->msg);
    vt_http_respond_json(resp, 503, j);
    json_decref(j);
}

static void builtin_healthz(void *ud, const vt_http_request *req, vt_http_response *resp)
{
    vt_http_server *s = ud;
    vt_error e = {0};
    bool healthy = !s->o.health || s->o.health(s->o.health_ud, &e) == VT_OK;
    health_reply(resp, healthy, "ok", "unavailable", &e);
}

static void builtin_readyz(void *ud, const vt_http_request *req, vt_http_response *resp)
{
    vt_http_server *s = ud;
    vt_error e = {0};
    bool ready = (!s->o.health || s->o.health(s->o.health_ud, &e) == VT_OK) &&
                 (!s->o.ready || s->o.ready(s->o.ready_ud, &e) == VT_OK);
    health_reply(resp, ready, "ready", "not ready", &e);
}

static void builtin_metrics(void *ud, const vt_http_request *req, vt_http_response *resp)
{
    vt_http_server *s = ud;
    vt_buf b = {0};
    if (vt_metrics_render(s->o.metrics, &b, NULL) != VT_OK) {
        vt_http_respond_problem(resp, 500, "InternalError", "cannot render metrics");
        return;
    }
    resp->status = 200;
    snprintf(resp->content_type, sizeof resp->content_type, "text/plain; version=0.0.4; charset=utf-8");
    resp->body = b;
}

static enum MHD_Result dispatch(vt_http_server *s, struct MHD_Connection *c, conn_state *st,
                                const char *method, const char *url)
{
    vt_error e = {0};
    if (vt_http_path_check(url, strlen(url), &e) != VT_OK)
        return send_problem(s, c, st, method, "(invalid)", 400, "InvalidRequestPath", e.msg);
    collect h = {0}, q = {0};
    s->api.get_values(c, MHD_HEADER_KIND, on_kv, &h);
    s->api.get_values(c, MHD_GET_ARGUMENT_KIND, on_kv, &q);
    if (h.overflow || q.overflow)
        return send_problem(s, c, st, method, url, 400, "BadRequest", "too many headers or query arguments");
    const vt_http_route *route = NULL;
    const char *tail = "";
    int miss = vt_http_route_find(s->routes, s->nroutes, method, url, &route, &tail);
    if (miss)
        return send_problem(s, c, st, method, url, miss, miss == 404 ? "InvalidRequestPath" : "MethodNotAllowed",
                            miss == 404 ? "no such endpoint" : "method not allowed on this endpoint");
    vt_http_request req = {.method = method,
                           .path = url,
                           .target = st->target,
                           .route = route->path,
                           .tail = tail,
                           .client = st->client,
                           .headers = h.kv,
                           .nheaders = h.n,
                           .query = q.kv,
                           .nquery = q.n,
                           .body = st->body.ptr ? st->body.ptr : (const uint8_t *)"",
                           .body_len = st->body.len};
    vt_http_response r = {0};
    route->fn(route->ud, &req, &r);
    enum MHD_Result res = send_resp(s, c, st, method, url, route->path, &r);
    vt_http_response_clear(&r);
    return res;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    vt_http_server *s = cls;
    conn_state *st = *con_cls;
    if (st == NULL) return MHD_NO; /* out of memory in on_uri */
    if (!st->started) {
        st->started = true;
        atomic_fetch_add(&s->in_flight, 1);
        slot_deadline(s, c, true); /* headers are in: from now on the body's deadline */
        st->start = now_s(s);
        const union MHD_ConnectionInfo *ci = s->api.conn_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr) {
            const struct sockaddr *sa = ci->client_addr;
            if (sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, st->client, sizeof st->client);
            else if (sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, st->client,
                          sizeof st->client);
        }
        if (st->bad_target)
            return send_problem(s, c, st, method, "(invalid)", 414, "InvalidRequestPath", "request target too long");
        if (s->rl && !ratelimit_take(s->rl, st->client, now_s(s))) {
            vt_metric_inc(s->rate_limited, NULL, 1);
            return send_problem(s, c, st, method, url, 429, "TooManyRequests", "per-client rate limit exceeded");
        }
        const char *cl = NULL;
        collect h = {0};
        s->api.get_values(c, MHD_HEADER_KIND, on_kv, &h);
        for (size_t i = 0; i < h.n; i++)
            if (strcasecmp(h.kv[i].name, "Content-Length") == 0) cl = h.kv[i].value;
        if (cl) {
            char *end = NULL;
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno || end == cl || *end || n > s->o.max_body) st->too_big = true;
        }
        if (st->too_big)
            return send_problem(s, c, st, method, url, 413, "PayloadTooLarge", "request body exceeds the limit");
        if (cl && !body_reserve(s, st, (size_t)strtoull(cl, NULL, 10))) {
            st->no_memory = true;
            return send_problem(s, c, st, method, url, 503, "ServiceUnavailable",
                                "the server's request body memory is in use: retry later");
        }
        return MHD_YES;
    }
    if (st->answered) {
        *upload_size = 0; /* discard the rest of a refused upload */
        return MHD_YES;
    }
    if (*upload_size > 0) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (st->too_big || st->no_memory || st->body.len + n > s->o.max_body) {
            /* Over the limit: drop what came and what comes; 413 once the upload ends. */
            if (!st->no_memory) st->too_big = true;
            body_release(s, st);
            return MHD_YES;
        }
        if (st->body.len + n > st->cap) {
            size_t cap = st->cap ? st->cap : 4096;
            while (cap < st->body.len + n) cap *= 2;
            if (cap > s->o.max_body) cap = s->o.max_body;
            if (!body_reserve(s, st, cap)) { /* chunked: the budget is taken as the body grows */
                st->no_memory = true;
                body_release(s, st);
                return MHD_YES;
            }
            uint8_t *p = realloc(st->body.ptr, cap);
            if (p == NULL) return MHD_NO;
            st->body.ptr = p;
            st->cap = cap;
        }
        memcpy(st->body.ptr + st->body.len, upload, n);
        st->body.len += n;
        return MHD_YES;
    }
    if (st->too_big)
        return send_problem(s, c, st, method, url, 413, "PayloadTooLarge", "request body exceeds the limit");
    if (st->no_memory)
        return send_problem(s, c, st, method, url, 503, "ServiceUnavailable",
                            "the server's request body memory is in use: retry later");
    return dispatch(s, c, st, method, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode tc)
{
    vt_http_server *s = cls;
    conn_state *st = *con_cls;
    if (st == NULL) return;
    if (st->started) {
        atomic_fetch_sub(&s->in_flight, 1);
        slot_deadline(s, c, false); /* keep-alive: the next request's headers have their deadline */
    }
    body_release(s, st);
    free(st);
    *con_cls = NULL;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decoding of paths and query arguments. A %00 would silently cut the C string
 * ("/res/a%00b" read as "/res/a"): it decodes to DEL instead, which the path check refuses. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *uri)
{
    char *w = uri;
    for (const char *r = uri; *r; r++) {
        int hi, lo;
        if (r[0] == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0) {
            int v = hi * 16 + lo;
            *w++ = (char)(v == 0 ? 0x7f : v);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = 0;
    return (size_t)(w - uri);
}

/* "HOST:PORT", "[V6]:PORT", ":PORT". */
static vt_err bind_listen(const char *addr, int *fd_out, int *port_out, vt_error *err)
{
    char host[128];
    const char *colon = strrchr(addr ? addr : "", ':');
    if (colon == NULL) return vt_error_set(err, VT_E_ARG, "http", "listen address must be HOST:PORT, got '%s'", addr ? addr : "");
    size_t hl = (size_t)(colon - addr);
    if (hl >= sizeof host) return vt_error_set(err, VT_E_ARG, "http", "listen host too long");
    memcpy(host, addr, hl);
    host[hl] = 0;
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || port < 0 || port > 65535)
        return vt_error_set(err, VT_E_ARG, "http", "bad port in listen address '%s'", addr);
    struct sockaddr_storage ss = {0};
    socklen_t sl;
    bool v6 = hl >= 2 && host[0] == '[' && host[hl - 1] == ']';
    if (v6) {
        host[hl - 1] = 0;
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
            return vt_error_set(err, VT_E_ARG, "http", "bad IPv6 address in '%s'", addr);
        sl = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (hl == 0) a->sin_addr.s_addr = htonl(INADDR_ANY);
        else if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            return vt_error_set(err, VT_E_ARG, "http", "bad IPv4 address in '%s' (use a numeric address)", addr);
        sl = sizeof *a;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return vt_error_set(err, VT_E_IO, "http", "socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 128) != 0) {
        int e = errno;
        close(fd);
        return vt_error_set(err, VT_E_IO, "http", "cannot listen on %s: %s", addr, strerror(e));
    }
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    getsockname(fd, (struct sockaddr *)&got, &gl);
    *port_out = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                                 : ((struct sockaddr_in *)&got)->sin_port);
    *fd_out = fd;
    return VT_OK;
}

static vt_err load_pem(const char *path, char **out, vt_error *err)
{
    vt_buf b = {0};
    VT_GUARD(vt_file_read(path, 1u << 20, &b, err));
    *out = calloc(1, b.len + 1);
    if (*out == NULL) {
        vt_buf_free_secret(&b);
        return vt_error_set(err, VT_E_NOMEM, "http", "out of memory");
    }
    if (b.len) memcpy(*out, b.ptr, b.len);
    vt_buf_free_secret(&b);
    return VT_OK;
}

static void server_free(vt_http_server *s)
{
    if (s->key_pem) vt_wipe(s->key_pem, strlen(s->key_pem));
    free(s->key_pem);
    free(s->cert_pem);
    ratelimit_free(s->rl);
    ratelimit_free(s->rl_conn);
    free(s->routes);
    free(s->slots);
    pthread_mutex_destroy(&s->log_mu);
    pthread_mutex_destroy(&s->slot_mu);
    pthread_cond_destroy(&s->reaper_cv);
    if (s->api.lib) dlclose(s->api.lib);
    free(s);
}

vt_err vt_http_server_start(const vt_http_opts *o, const vt_http_route *routes, size_t n,
                            vt_http_server **out, vt_error *err)
{
    *out = NULL;
    vt_http_server *s = calloc(1, sizeof *s);
    if (s == NULL) return vt_error_set(err, VT_E_NOMEM, "http", "out of memory");
    pthread_mutex_init(&s->log_mu, NULL);
    pthread_mutex_init(&s->slot_mu, NULL);
    pthread_cond_init(&s->reaper_cv, NULL);
    s->o = *o;
    s->listen_fd = -1;
    if (!s->o.max_body) s->o.max_body = VT_HTTP_DEFAULT_MAX_BODY;
    if (!s->o.threads) s->o.threads = 2;
    if (!s->o.max_connections) s->o.max_connections = 256;
    if (!s->o.timeout_seconds) s->o.timeout_seconds = 30;
    if (!s->o.max_connections_per_ip) s->o.max_connections_per_ip = 16;
    if (!s->o.header_timeout_seconds) s->o.header_timeout_seconds = 10;
    if (!s->o.body_timeout_seconds) s->o.body_timeout_seconds = 30;
    if (!s->o.max_body_memory) s->o.max_body_memory = VT_HTTP_DEFAULT_MAX_BODY_MEMORY;
    if (!s->o.connection_memory) s->o.connection_memory = 32u << 10;
    /* libmicrohttpd may accept a few more than its limit per worker thread: room for them. */
    s->nslots = (size_t)s->o.max_connections + s->o.threads + 8;
    s->slots = calloc(s->nslots, sizeof *s->slots);
    if (s->slots == NULL) {
        server_free(s);
        return vt_error_set(err, VT_E_NOMEM, "http", "out of memory");
    }
    vt_err rc = VT_OK;
    /* Routes: the caller's, then the built-ins. */
    s->routes = calloc(n + 3, sizeof *s->routes); /* + /healthz, /readyz, /metrics */
    if (s->routes == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "http", "out of memory");
        goto out;
    }
    if (n) memcpy(s->routes, routes, n * sizeof *routes);
    s->nroutes = n;
    s->routes[s->nroutes++] = (vt_http_route){"GET", "/healthz", builtin_healthz, s};
    s->routes[s->nroutes++] = (vt_http_route){"GET", "/readyz", builtin_readyz, s};
    if (o->metrics) {
        s->routes[s->nroutes++] = (vt_http_route){"GET", "/metrics", builtin_metrics, s};
        vt_std_metrics std;
        VT_GUARD_GOTO(vt_metrics_std(o->metrics, &std, err));
        s->http_duration = std.http_duration;
        s->rate_limited = std.http_rate_limited;
        s->closed_slow = vt_metrics_counter(o->metrics, "veritee_http_slow_clients_total",
                                            "Connections closed for missing the header or body deadline", "reason");
        s->body_mem_gauge = vt_metrics_gauge(o->metrics, "veritee_http_body_memory_bytes",
                                             "Bytes of the request body memory budget (--max-body-memory) in use", NULL);
    }
    if (o->rate_per_sec > 0) {
        unsigned burst = o->rate_burst ? o->rate_burst : (o->rate_per_sec < 1 ? 1 : (unsigned)o->rate_per_sec);
        s->rl = ratelimit_new(o->rate_per_sec, burst);
        s->rl_conn = ratelimit_new(2 * o->rate_per_sec, 2 * burst);
        if (s->rl == NULL || s->rl_conn == NULL) {
            rc = vt_error_set(err, VT_E_NOMEM, "http", "out of memory");
            goto out;
        }
    }
    bool tls = o->tls_cert_file && o->tls_key_file;
    if ((o->tls_cert_file != NULL) != (o->tls_key_file != NULL)) {
        rc = vt_error_set(err, VT_E_ARG, "http", "TLS needs both a certificate and a key file");
        goto out;
    }
    if (tls) {
        VT_GUARD_GOTO(load_pem(o->tls_cert_file, &s->cert_pem, err));
        VT_GUARD_GOTO(load_pem(o->tls_key_file, &s->key_pem, err));
    }
    VT_GUARD_GOTO(mhd_load(&s->api, err));
    VT_GUARD_GOTO(bind_listen(o->listen, &s->listen_fd, &s->port, err));
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC | (tls ? MHD_USE_TLS : 0) |
                     (o->log ? MHD_USE_ERROR_LOG : 0) | (o->thread_per_connection ? MHD_USE_THREAD_PER_CONNECTION : 0);
    /* a pool size of 0 is no pool (libmicrohttpd refuses a pool with a thread per connection,
     * and says so on stderr for a size of 1); the logger first, so that nothing libmicrohttpd
     * says while it reads the options goes to its own stderr logger */
    unsigned pool = o->thread_per_connection ? 0 : s->o.threads;
#define COMMON_OPTS                                                                                     \
    MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, s, MHD_OPTION_LISTEN_SOCKET, s->listen_fd,                    \
        MHD_OPTION_THREAD_POOL_SIZE, pool, MHD_OPTION_CONNECTION_LIMIT, s->o.max_connections,             \
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, s->o.max_connections_per_ip, MHD_OPTION_CONNECTION_TIMEOUT,   \
        s->o.timeout_seconds, MHD_OPTION_CONNECTION_MEMORY_LIMIT, s->o.connection_memory,                 \
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,     \
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL
    if (tls)
        s->d = s->api.start(flags, 0, on_accept, s, on_request, s, COMMON_OPTS, MHD_OPTION_HTTPS_MEM_CERT, s->cert_pem,
                            MHD_OPTION_HTTPS_MEM_KEY, s->key_pem, MHD_OPTION_END);
    else
        s->d = s->api.start(flags, 0, on_accept, s, on_request, s, COMMON_OPTS, MHD_OPTION_END);
#undef COMMON_OPTS
    if (s->d == NULL) {
        rc = vt_error_set(err, VT_E_IO, "http", "cannot start the HTTP server on %s%s", o->listen,
                          tls ? " (check the TLS certificate and key)" : "");
        goto out;
    }
    if (pthread_create(&s->reaper, NULL, reaper_main, s) != 0) {
        s->api.stop(s->d);
        rc = vt_error_set(err, VT_E_INTERNAL, "http", "cannot start the deadline thread");
        goto out;
    }
    s->reaper_on = true;
    {
        json_t *f = json_pack("{ss si sb}", "listen", o->listen, "port", s->port, "tls", tls);
        vt_http_log(s, "info", "listening", f);
        json_decref(f);
    }
    *out = s;
    return VT_OK;
out:
    if (s->listen_fd >= 0) close(s->listen_fd);
    server_free(s);
    return rc;
}

int vt_http_server_port(const vt_http_server *s)
{
    return s->port;
}

void vt_http_server_stop(vt_http_server *s)
{
    if (s == NULL) return;
    /* Stop accepting, let the requests in progress be answered (at most 10 s), then stop
     * the workers (which closes idle keep-alive connections). */
    MHD_socket fd = s->api.quiesce(s->d);
    if (fd != MHD_INVALID_SOCKET) close(fd);
    double deadline = mono_now(NULL) + 10;
    while (atomic_load(&s->in_flight) > 0 && mono_now(NULL) < deadline) usleep(5000);
    s->api.stop(s->d);
    if (s->reaper_on) {
        pthread_mutex_lock(&s->slot_mu);
        s->reaper_stop = true;
        pthread_cond_signal(&s->reaper_cv);
        pthread_mutex_unlock(&s->slot_mu);
        pthread_join(s->reaper, NULL);
    }
    vt_http_log(s, "info", "stopped", NULL);
    server_free(s);
}

vt_err vt_http_signals_block(vt_error *err)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    signal(SIGPIPE, SIG_IGN); /* a client hanging up must not kill the server */
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return vt_error_set(err, VT_E_INTERNAL, "http", "cannot block SIGTERM/SIGINT/SIGHUP");
    return VT_OK;
}

int vt_http_wait_signal(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {
    }
    return sig;
}
