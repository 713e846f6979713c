/* HTTP GET over a dlopen()ed libcurl (easy interface), with a bounded body and the capture of
 * one named response header and of Retry-After (RFC 9110 section 10.2.3, delta-seconds form). */
#include <curl/curl.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "veritee/http_get.h"

typedef struct fetch {
    vt_http_response *r;
    size_t cap;
    size_t max;
    const char *want_header;
    bool too_big;
} fetch;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    fetch *f = ud;
    vt_buf *b = &f->r->body;
    size_t len = sz * n;
    if (len > f->max || b->len > f->max - len) {
        f->too_big = true;
        return 0;
    }
    if (b->len + len + 1 > f->cap) {
        size_t cap = (b->len + len + 1) * 2;
        uint8_t *q = realloc(b->ptr, cap);
        if (q == NULL) return 0;
        b->ptr = q;
        f->cap = cap;
    }
    memcpy(b->ptr + b->len, p, len);
    b->len += len;
    b->ptr[b->len] = 0;
    return len;
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
    if (f->want_header && f->r->header_value == NULL && header_is(p, len, f->want_header, &v, &vl))
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
    const char *(*strerror)(CURLcode);
} curl_api;

static vt_err curl_load(curl_api *a, const char *check, vt_error *err)
{
    a->lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (a->lib == NULL)
        return vt_error_set(err, VT_E_MISSING, check, "libcurl.so.4 not available: cannot fetch collateral");
    *(void **)&a->init = dlsym(a->lib, "curl_easy_init");
    *(void **)&a->setopt = dlsym(a->lib, "curl_easy_setopt");
    *(void **)&a->perform = dlsym(a->lib, "curl_easy_perform");
    *(void **)&a->getinfo = dlsym(a->lib, "curl_easy_getinfo");
    *(void **)&a->cleanup = dlsym(a->lib, "curl_easy_cleanup");
    *(void **)&a->strerror = dlsym(a->lib, "curl_easy_strerror");
    if (!a->init || !a->setopt || !a->perform || !a->getinfo || !a->cleanup || !a->strerror) {
        dlclose(a->lib);
        return vt_error_set(err, VT_E_MISSING, check, "libcurl.so.4 lacks the easy interface");
    }
    return VT_OK;
}

vt_err vt_http_get(const char *url, const vt_http_get_opts *o, vt_http_response *out,
                   vt_error *err)
{
    static const vt_http_get_opts none = {0};
    if (o == NULL) o = &none;
    const char *check = o->check ? o->check : "http";
    memset(out, 0, sizeof *out);
    out->retry_after = -1;
    curl_api api = {0};
    VT_GUARD(curl_load(&api, check, err));
    CURL *c = api.init();
    if (c == NULL) {
        dlclose(api.lib);
        return vt_error_set(err, VT_E_INTERNAL, check, "cannot initialise libcurl");
    }
    fetch f = {.r = out, .max = o->max_body ? o->max_body : VT_HTTP_BODY_MAX, .want_header = o->want_header};
    api.setopt(c, CURLOPT_URL, url);
    api.setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    api.setopt(c, CURLOPT_WRITEDATA, &f);
    api.setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    api.setopt(c, CURLOPT_HEADERDATA, &f);
    api.setopt(c, CURLOPT_TIMEOUT, o->timeout_seconds > 0 ? o->timeout_seconds : 20L);
    api.setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    api.setopt(c, CURLOPT_NOSIGNAL, 1L);
    api.setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode cc = api.perform(c);
    api.getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    api.cleanup(c);
    vt_err rc = VT_OK;
    if (cc != CURLE_OK)
        rc = vt_error_set(err, VT_E_MISSING, check, "fetching %s failed: %s%s", url, api.strerror(cc),
                          f.too_big ? " (response too large)" : "");
    dlclose(api.lib);
    if (rc != VT_OK) vt_http_response_free(out);
    return rc;
}

void vt_http_response_free(vt_http_response *r)
{
    if (r == NULL) return;
    vt_buf_free(&r->body);
    free(r->header_value);
    r->header_value = NULL;
}
