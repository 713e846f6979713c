/* A small HTTP(S) client: GET for collateral services (Intel PCS/PCCS, AMD KDS), and requests
 * with a method, a body and headers for the KBS guest client (RCAR over HTTP). libcurl is
 * loaded with dlopen() when a request is made, never linked: verification never needs it, and
 * linking it costs every veritee process ~2 ms of dynamic loading. */
#ifndef VERITEE_HTTP_GET_H
#define VERITEE_HTTP_GET_H

#include <stdbool.h>
#include <stddef.h>

#include "veritee/api.h"
#include "veritee/codec.h"
#include "veritee/err.h"

VT_BEGIN_DECLS

#define VT_HTTP_BODY_MAX (8u << 20)

typedef struct vt_http_get_opts {
    const char *check;       /* names the failing step in errors; NULL = "http" */
    long timeout_seconds;    /* whole transfer; 0 = 20 s */
    size_t max_body;         /* larger bodies fail the transfer; 0 = VT_HTTP_BODY_MAX */
    const char *want_header; /* capture this response header's value (first one), or NULL */
    int fail_code;           /* code of transport failures; 0 = VT_E_MISSING (collateral) */
    const char *ca_file;     /* HTTPS: trust only the CA certificate(s) in this PEM file; NULL =
                                the system's trust store. Peers are verified unless insecure. */
    const char *want_header_alt; /* a second name for want_header (older/newer API spelling) */
    bool insecure;           /* HTTPS: accept any peer certificate and name. Only for a
                                self-signed collateral cache whose answers are verified anyway. */
    bool *transient;         /* when not NULL: set true when the transfer failed in a way that may
                                pass on a later try (connection refused or reset, timeout, empty or
                                cut answer), false otherwise (TLS verification, bad URL, too big) */
} vt_http_get_opts;

typedef struct vt_http_reply {
    long status;             /* HTTP status code */
    vt_buf body;             /* NUL-terminated (len excludes the NUL) */
    char *header_value;      /* the want_header value (malloc'd), NULL when absent */
    long retry_after;        /* Retry-After in seconds (delta-seconds form), -1 when absent */
} vt_http_reply;

/* GET url over http or https (no redirects followed). VT_OK when a response arrived, whatever
 * its status: the caller judges out->status. Errors: VT_E_MISSING (libcurl.so.4 cannot be
 * loaded; the transfer failed, timed out, or the body exceeded max_body; the message names the
 * URL), VT_E_INTERNAL. out is always initialised; free it with vt_http_reply_free. */
VT_MUST_USE vt_err vt_http_get(const char *url, const vt_http_get_opts *o, vt_http_reply *out,
                   vt_error *err);
void vt_http_reply_free(vt_http_reply *r);

/* A request other than a bare GET. */
typedef struct vt_http_client_req {
    const char *method;          /* NULL or "GET", "POST", "PUT", "DELETE" */
    const char *content_type;    /* Content-Type of the body, or NULL */
    const uint8_t *body;         /* request body (POST/PUT), body_len bytes; may be NULL */
    size_t body_len;
    const char *const *headers;  /* extra "Name: value" lines, NULL-terminated; or NULL */
} vt_http_client_req;

/* One request (req NULL = GET), with the same response handling and errors as vt_http_get
 * (transport failures carry o->fail_code). libcurl is loaded and unloaded around the call. */
VT_MUST_USE vt_err vt_http_do(const char *url, const vt_http_client_req *req, const vt_http_get_opts *o,
                  vt_http_reply *out, vt_error *err);

/* A client that keeps libcurl loaded and one connection cache across requests (the KBS guest
 * client, load tests). Not thread-safe: one per thread. */
typedef struct vt_http_client vt_http_client;
/* Errors: VT_E_MISSING (libcurl.so.4 cannot be loaded), VT_E_INTERNAL. */
VT_MUST_USE vt_err vt_http_client_new(vt_http_client **out, vt_error *err);
void vt_http_client_free(vt_http_client *c); /* accepts NULL */
VT_MUST_USE vt_err vt_http_client_do(vt_http_client *c, const char *url, const vt_http_client_req *req,
                         const vt_http_get_opts *o, vt_http_reply *out, vt_error *err);

VT_END_DECLS

#endif
