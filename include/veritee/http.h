/* A thin HTTP server layer over libmicrohttpd (dlopen()ed when a server starts): a routing
 * table of handlers that take and return plain structs, so the KBS logic stays
 * transport-free. Per-client rate limit and connection limit, header and body deadlines, body
 * size limit and a total body memory budget, optional TLS, JSON-lines logs, built-in /healthz
 * and /metrics (Prometheus text), graceful stop. Memory for requests is bounded by
 * max_connections x connection_memory + max_body_memory. */
#ifndef VERITEE_HTTP_H
#define VERITEE_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "veritee/api.h"
#include "veritee/codec.h"
#include "veritee/err.h"
#include "veritee/metrics.h"

VT_BEGIN_DECLS

#define VT_HTTP_MAX_HEADERS 64
#define VT_HTTP_MAX_PATH 2048
#define VT_HTTP_MAX_RESP_HEADERS 8
#define VT_HTTP_DEFAULT_MAX_BODY (1u << 20)
#define VT_HTTP_DEFAULT_MAX_BODY_MEMORY (64u << 20)
#define VT_HTTP_MAX_TARGET 4096 /* request line target (path + query) as sent */

typedef struct vt_http_kv {
    const char *name;
    const char *value;
} vt_http_kv;

/* A request as handlers see it: everything borrowed, valid during the handler call. */
typedef struct vt_http_request {
    const char *method;
    const char *path;  /* decoded, checked by vt_http_path_check */
    const char *target; /* the request target as sent (path and query, not decoded) */
    const char *route; /* the matched route pattern ("/kbs/v0/resource/" for a prefix route) */
    const char *tail;  /* for a prefix route: the rest of the path after the prefix; else "" */
    const char *client; /* client IP address */
    const vt_http_kv *headers;
    size_t nheaders;
    const vt_http_kv *query; /* decoded query arguments */
    size_t nquery;
    const uint8_t *body;
    size_t body_len;
} vt_http_request;

/* Header value by case-insensitive name, NULL when absent (first occurrence). */
const char *vt_http_header(const vt_http_request *r, const char *name);
/* Query argument value, NULL when absent. */
const char *vt_http_query(const vt_http_request *r, const char *name);

/* Cookie header (RFC 6265 §4.2.1 cookie-string: "a=1; b=2"): copies the value of cookie
 * name into out (cap bytes incl. NUL). VT_E_MISSING when absent, VT_E_INVALID when the
 * header is malformed or the value does not fit. Surrounding double quotes are removed. */
VT_MUST_USE vt_err vt_http_cookie(const char *header, size_t header_len, const char *name, char *out, size_t cap,
                      vt_error *err);
/* "Bearer <token>" (RFC 6750 §2.1, scheme case-insensitive): *token points into header. */
VT_MUST_USE vt_err vt_http_bearer(const char *header, const char **token, size_t *len, vt_error *err);
/* A request path we route: starts with '/', at most VT_HTTP_MAX_PATH bytes, printable
 * ASCII, no empty, "." or ".." segments, no backslash. VT_E_INVALID names the problem. */
VT_MUST_USE vt_err vt_http_path_check(const char *path, size_t len, vt_error *err);

/* A response a handler fills. Owned buffers; the server frees them. */
typedef struct vt_http_response {
    int status;              /* 200 when left 0 */
    char content_type[80];   /* "application/json" when left empty */
    vt_buf body;
    char *header_names[VT_HTTP_MAX_RESP_HEADERS];
    char *header_values[VT_HTTP_MAX_RESP_HEADERS];
    size_t nheaders;
} vt_http_response;

/* Serializes j (compact) as the body with status. */
vt_err vt_http_respond_json(vt_http_response *r, int status, const json_t *j);
/* Plain body with a content type. */
vt_err vt_http_respond_text(vt_http_response *r, int status, const char *content_type, const char *text);
/* {"type": "...", "detail": "..."} problem body (RFC 7807 style, as the KBS uses). */
vt_err vt_http_respond_problem(vt_http_response *r, int status, const char *type, const char *detail);
/* Adds a response header (e.g. Set-Cookie). Names/values with CR/LF are refused. */
vt_err vt_http_response_header(vt_http_response *r, const char *name, const char *value);
void vt_http_response_clear(vt_http_response *r);

typedef void (*vt_http_handler)(void *ud, const vt_http_request *req, vt_http_response *resp);

/* path: exact ("/kbs/v0/auth") or a prefix ending in '/' followed by '*'
 * ("/kbs/v0/resource/" followed by "*": matches "/kbs/v0/resource/<anything non-empty>"). method NULL: any. */
typedef struct vt_http_route {
    const char *method;
    const char *path;
    vt_http_handler fn;
    void *ud;
} vt_http_route;

/* Finds the route for method+path: 0 when found (*route, *tail set), 404 when no path
 * matches, 405 when the path matches only with other methods. */
int vt_http_route_find(const vt_http_route *routes, size_t n, const char *method, const char *path,
                       const vt_http_route **route, const char **tail);

typedef struct vt_http_opts {
    const char *listen;        /* "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:443"; port 0: ephemeral */
    const char *tls_cert_file; /* PEM; both set: HTTPS */
    const char *tls_key_file;
    size_t max_body;           /* 0: VT_HTTP_DEFAULT_MAX_BODY; larger bodies get 413 */
    double rate_per_sec;       /* requests per client IP; 0: no limit; over it: 429. New
                                  connections are limited per IP too, at twice this rate and
                                  burst (refused at accept, before any header is read) */
    unsigned rate_burst;       /* bucket size; 0: max(1, rate_per_sec) */
    unsigned threads;          /* worker threads, 0: 2; 0 with thread_per_connection */
    unsigned max_connections;  /* 0: 256 */
    unsigned max_connections_per_ip; /* open connections from one client address, 0: 16; more
                                        are closed at accept, so one client cannot hold them all */
    unsigned timeout_seconds;  /* idle connection timeout, 0: 30 */
    unsigned header_timeout_seconds; /* request line and headers complete within this many seconds
                                        of the connection (or of the previous request on it), 0: 10;
                                        else the connection is closed (slowloris) */
    unsigned body_timeout_seconds;   /* the whole body within this many seconds of the headers,
                                        0: 30 */
    size_t max_body_memory;    /* request bodies held in memory by all connections together,
                                  0: 64 MiB; a request whose body does not fit gets 503 */
    size_t connection_memory;  /* per-connection buffer for the request line and headers,
                                  0: 32 KiB; larger requests are refused by libmicrohttpd */
    vt_metrics *metrics;       /* serves /metrics and records request latency; NULL: neither */
    FILE *log;                 /* JSON-lines access and error log; NULL: none */
    /* /healthz: 200 {"status":"ok"} when health is NULL or returns VT_OK, else 503. */
    vt_err (*health)(void *ud, vt_error *err);
    void *health_ud;
    /* /readyz: 200 {"status":"ready"} when ready is NULL or returns VT_OK, else 503 with the
       reason: liveness (/healthz) says the process works, readiness that it can serve guests
       (trust and collateral loaded). Load balancers route on /readyz. */
    vt_err (*ready)(void *ud, vt_error *err);
    void *ready_ud;
    /* Monotonic seconds for the rate limiter; NULL: CLOCK_MONOTONIC. */
    double (*clock)(void *ud);
    void *clock_ud;
    /* A thread for each connection instead of `threads` workers: a worker serves its connections
     * one request at a time, so a request that waits (the disk, a lock) held up every other
     * connection the worker had (measured: a broker with 4 workers and 4 keep-alive guests idled
     * half the time). At most max_connections threads. */
    bool thread_per_connection;
} vt_http_opts;

typedef struct vt_http_server vt_http_server;

/* Starts serving in background threads. routes are copied. */
VT_MUST_USE vt_err vt_http_server_start(const vt_http_opts *o, const vt_http_route *routes, size_t n,
                            vt_http_server **out, vt_error *err);
/* The bound port (useful with port 0). */
int vt_http_server_port(const vt_http_server *s);
/* Graceful stop: stops accepting, lets requests in progress finish, frees. Accepts NULL. */
void vt_http_server_stop(vt_http_server *s);
/* Writes one JSON-lines record {"ts","level","msg",...fields} to the server's log. */
void vt_http_log(vt_http_server *s, const char *level, const char *msg, const json_t *fields);

/* SIGTERM/SIGINT/SIGHUP handling for a server process: block them in the calling thread before
 * vt_http_server_start (worker threads inherit the mask), then vt_http_wait_signal()
 * returns the signal number when one arrives: SIGHUP asks for a reload (wait again after it),
 * the others for vt_http_server_stop. */
VT_MUST_USE vt_err vt_http_signals_block(vt_error *err);
int vt_http_wait_signal(void);

VT_END_DECLS

#endif
