/* HTTP requests over a dlopen()ed libcurl (easy interface), with a bounded body and the capture
 * of one named response header and of Retry-After (RFC 9110 section 10.2.3, delta-seconds form):
 * one-shot GETs for collateral, and a client keeping one handle for the KBS guest. */
#include <curl/curl.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "veritee/http_get.h"
#include "veritee/writer.h"

typedef struct fetch {
    vt_http_reply *r;
    vt_writer body; /* the response body (NUL-terminated) */
    size_t max;
    const char *want_header, *want_header_alt;
    bool too_big;
} fetch;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    fetch *f = ud;
    size_t len = sz * n;
    if (len > f->max || vt_writer_len(&f->body) > f->max - len) {
        f->too_big = true;
        return 0;
    }
    return vt_write_bytes(&f->body, "response body", p, len) == VT_OK ? len : 0;
}

/* The value of header line p[0..len) when its name is key (case-insensitive), trimmed. */
static bool header_is(const char *p, size_t len, const char *key, const char **v, size_t *vl)
{
    size_t kl = strlen(key);
    if (len <= kl + 1 || strncasecmp(p, key, kl) != 0 || p[kl] != ':') return false;
    *v = p + kl + 1;
    *vl = len - kl - 1;
    while (*vl && (**v == ' ' || **v == '\t')) (*v)++, (*vl)--;
    while (*vl && ((*v)[*vl - 1] == '\r' || (*v)[*vl - 1] == '\n' || (*v)[*vl - 1] == ' ')) (*vl)--;
    return true;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    fetch *f = ud;
    size_t len = sz * n, vl;
    const char *v;
    /* A new status line (after a 100 Continue) starts a new header block. */
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) f->r->retry_after = -1;
    if (f->want_header && f->r->header_value == NULL &&
        (header_is(p, len, f->want_header, &v, &vl) ||
         (f->want_header_alt && header_is(p, len, f->want_header_alt, &v, &vl))))
        f->r->header_value = strndup(v, vl);
    if (header_is(p, len, "Retry-After", &v, &vl) && vl > 0 && vl <= 9) {
        long s = 0;
        size_t i = 0;
        while (i < vl && v[i] >= '0' && v[i] <= '9') s = s * 10 + (v[i++] - '0');
        if (i == vl) f->r->retry_after = s; /* an HTTP-date is not followed: stays -1 */
    }
    return len;
}

typedef struct curl_api {
    void *lib;
    CURL *(*init)(void);
    CURLcode (*setopt)(CURL *, CURLoption, ...);
    CURLcode (*perform)(CURL *);
    CURLcode (*getinfo)(CURL *, CURLINFO, ...);
    void (*cleanup)(CURL *);
    void (*reset)(CURL *);
    const char *(*strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} curl_api;

struct vt_http_client {
    curl_api api;
    CURL *c;
};

static vt_err curl_load(curl_api *a, const char *check, vt_error *err)
{
    /* NODELETE: libcurl's TLS stack keeps thread-local state and exit handlers; unloading it
     * mid-process crashes the exit-time leak checker and gains nothing */
    a->lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (a->lib == NULL)
        return vt_error_set(err, VT_E_MISSING, check, "libcurl.so.4 not available: cannot make HTTP requests");
    *(void **)&a->init = dlsym(a->lib, "curl_easy_init");
    *(void **)&a->setopt = dlsym(a->lib, "curl_easy_setopt");
    *(void **)&a->perform = dlsym(a->lib, "curl_easy_perform");
    *(void **)&a->getinfo = dlsym(a->lib, "curl_easy_getinfo");
    *(void **)&a->cleanup = dlsym(a->lib, "curl_easy_cleanup");
    *(void **)&a->reset = dlsym(a->lib, "curl_easy_reset");
    *(void **)&a->strerror = dlsym(a->lib, "curl_easy_strerror");
    *(void **)&a->slist_append = dlsym(a->lib, "curl_slist_append");
    *(void **)&a->slist_free_all = dlsym(a->lib, "curl_slist_free_all");
    if (!a->init || !a->setopt || !a->perform || !a->getinfo || !a->cleanup || !a->reset || !a->strerror ||
        !a->slist_append || !a->slist_free_all) {
        dlclose(a->lib);
        return vt_error_set(err, VT_E_MISSING, check, "libcurl.so.4 lacks the easy interface");
    }
    return VT_OK;
}

vt_err vt_http_client_new(vt_http_client **out, vt_error *err)
{
    *out = NULL;
    vt_http_client *h = calloc(1, sizeof *h);
    if (h == NULL) return vt_error_set(err, VT_E_NOMEM, "http", "out of memory");
    vt_err rc = curl_load(&h->api, "http", err);
    if (rc != VT_OK) {
        free(h);
        return rc;
    }
    h->c = h->api.init();
    if (h->c == NULL) {
        dlclose(h->api.lib);
        free(h);
        return vt_error_set(err, VT_E_INTERNAL, "http", "cannot initialise libcurl");
    }
    *out = h;
    return VT_OK;
}

void vt_http_client_free(vt_http_client *h)
{
    if (h == NULL) return;
    h->api.cleanup(h->c);
    dlclose(h->api.lib);
    free(h);
}

static bool method_ok(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "DELETE") == 0;
}

/* Request headers: Content-Type, the caller's lines, and an empty Expect (no 100-continue
 * round trip for bodies over 1 KiB). */
static vt_err build_headers(const curl_api *a, const vt_http_client_req *req, struct curl_slist **out,
                            const char *check, vt_error *err)
{
    char ct[160];
    struct curl_slist *l = NULL, *n;
    *out = NULL;
    if (req->content_type != NULL) {
        if (strlen(req->content_type) > sizeof ct - 16 || strpbrk(req->content_type, "\r\n"))
            return vt_error_set(err, VT_E_ARG, check, "content type too long or not one line");
        snprintf(ct, sizeof ct, "Content-Type: %s", req->content_type);
        if ((n = a->slist_append(l, ct)) == NULL) goto nomem;
        l = n;
    }
    for (const char *const *h = req->headers; h != NULL && *h != NULL; h++) {
        if (strpbrk(*h, "\r\n") != NULL || strchr(*h, ':') == NULL) {
            a->slist_free_all(l);
            return vt_error_set(err, VT_E_ARG, check, "request header is not one \"Name: value\" line");
        }
        if ((n = a->slist_append(l, *h)) == NULL) goto nomem;
        l = n;
    }
    if ((n = a->slist_append(l, "Expect:")) == NULL) goto nomem;
    *out = n;
    return VT_OK;
nomem:
    a->slist_free_all(l);
    return vt_error_set(err, VT_E_NOMEM, check, "out of memory");
}

vt_err vt_http_client_do(vt_http_client *h, const char *url, const vt_http_client_req *req,
                         const vt_http_get_opts *o, vt_http_reply *out, vt_error *err)
{
    static const vt_http_get_opts none = {0};
    static const vt_http_client_req get = {0};
    if (o == NULL) o = &none;
    if (req == NULL) req = &get;
    const char *check = o->check ? o->check : "http";
    const char *method = req->method ? req->method : "GET";
    memset(out, 0, sizeof *out);
    out->retry_after = -1;
    if (!method_ok(method)) return vt_error_set(err, VT_E_ARG, check, "HTTP method %s not supported", method);
    const curl_api *a = &h->api;
    CURL *c = h->c;
    struct curl_slist *hdrs = NULL;
    VT_GUARD(build_headers(a, req, &hdrs, check, err));
    fetch f = {.r = out, .max = o->max_body ? o->max_body : VT_HTTP_BODY_MAX, .want_header = o->want_header, .want_header_alt = o->want_header_alt};
    vt_writer_init(&f.body, "response body", NULL);
    a->reset(c); /* options from the previous request go; the connection cache stays */
    a->setopt(c, CURLOPT_URL, url);
    a->setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    a->setopt(c, CURLOPT_WRITEDATA, &f);
    a->setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    a->setopt(c, CURLOPT_HEADERDATA, &f);
    a->setopt(c, CURLOPT_TIMEOUT, o->timeout_seconds > 0 ? o->timeout_seconds : 20L);
    a->setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    a->setopt(c, CURLOPT_NOSIGNAL, 1L);
    a->setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    a->setopt(c, CURLOPT_SSL_VERIFYPEER, o->insecure ? 0L : 1L);
    a->setopt(c, CURLOPT_SSL_VERIFYHOST, o->insecure ? 0L : 2L);
    if (o->ca_file != NULL) a->setopt(c, CURLOPT_CAINFO, o->ca_file);
    a->setopt(c, CURLOPT_HTTPHEADER, hdrs);
    if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        a->setopt(c, CURLOPT_POST, 1L);
        a->setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        a->setopt(c, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        if (strcmp(method, "PUT") == 0) a->setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
    } else if (strcmp(method, "DELETE") == 0) {
        a->setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    CURLcode cc = a->perform(c);
    if (o->transient != NULL)
        *o->transient = cc == CURLE_COULDNT_CONNECT || cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_RECV_ERROR ||
                        cc == CURLE_SEND_ERROR || cc == CURLE_GOT_NOTHING || cc == CURLE_PARTIAL_FILE;
    a->getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    a->setopt(c, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    a->slist_free_all(hdrs);
    if (cc != CURLE_OK) {
        vt_err rc = vt_error_set(err, o->fail_code ? o->fail_code : VT_E_MISSING, check, "%s %s failed: %s%s",
                                 strcmp(method, "GET") == 0 ? "fetching" : method, url, a->strerror(cc),
                                 f.too_big ? " (response too large)" : "");
        vt_writer_free(&f.body);
        vt_http_reply_free(out);
        return rc;
    }
    vt_buf_free(&out->body);
    if (vt_writer_take(&f.body, &out->body.ptr, &out->body.len) != VT_OK) {
        vt_http_reply_free(out);
        return vt_error_set(err, VT_E_NOMEM, check, "out of memory for the response body");
    }
    return VT_OK;
}

vt_err vt_http_do(const char *url, const vt_http_client_req *req, const vt_http_get_opts *o,
                  vt_http_reply *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    out->retry_after = -1;
    vt_http_client *h = NULL;
    vt_error e2;
    vt_err rc = vt_http_client_new(&h, &e2);
    if (rc != VT_OK) {
        const char *check = o && o->check ? o->check : "http";
        return vt_error_set(err, rc, check, "%s", rc == VT_E_MISSING && (req == NULL || req->method == NULL)
                                                      ? "libcurl.so.4 not available: cannot fetch collateral"
                                                      : e2.msg);
    }
    rc = vt_http_client_do(h, url, req, o, out, err);
    vt_http_client_free(h);
    return rc;
}

vt_err vt_http_get(const char *url, const vt_http_get_opts *o, vt_http_reply *out,
                   vt_error *err)
{
    return vt_http_do(url, NULL, o, out, err);
}

void vt_http_reply_free(vt_http_reply *r)
{
    if (r == NULL) return;
    vt_buf_free(&r->body);
    free(r->header_value);
    r->header_value = NULL;
}
