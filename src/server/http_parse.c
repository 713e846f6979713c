/* Transport-free HTTP pieces: Cookie (RFC 6265 §4.2.1) and Bearer (RFC 6750 §2.1) header
 * parsing, path checks, routing, response building. No libmicrohttpd here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "veritee/http.h"
#include "veritee/json.h"

const char *vt_http_header(const vt_http_request *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0) return r->headers[i].value;
    return NULL;
}

const char *vt_http_query(const vt_http_request *r, const char *name)
{
    for (size_t i = 0; i < r->nquery; i++)
        if (strcmp(r->query[i].name, name) == 0) return r->query[i].value;
    return NULL;
}

/* RFC 6265 cookie-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E; token for names. */
static bool cookie_octet(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
           (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

static bool token_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?={}", c) == NULL;
}

vt_err vt_http_cookie(const char *h, size_t n, const char *name, char *out, size_t cap, vt_error *err)
{
    size_t nl = strlen(name), i = 0;
    bool found = false;
    while (i < n) {
        while (i < n && (h[i] == ' ' || h[i] == '\t')) i++;
        if (i == n) break;
        size_t ns = i;
        while (i < n && token_char((unsigned char)h[i])) i++;
        size_t ne = i;
        if (ne == ns || i == n || h[i] != '=')
            return vt_error_set(err, VT_E_INVALID, "cookie", "malformed Cookie header at byte %zu", ns);
        i++;
        size_t vs = i;
        bool quoted = i < n && h[i] == '"';
        if (quoted) vs = ++i;
        while (i < n && cookie_octet((unsigned char)h[i])) i++;
        size_t ve = i;
        if (quoted) {
            if (i == n || h[i] != '"')
                return vt_error_set(err, VT_E_INVALID, "cookie", "unterminated quoted cookie value");
            i++;
        }
        if (i < n && h[i] != ';')
            return vt_error_set(err, VT_E_INVALID, "cookie", "malformed Cookie header at byte %zu", i);
        if (i < n) i++; /* ';' */
        if (!found && ne - ns == nl && memcmp(h + ns, name, nl) == 0) {
            if (ve - vs + 1 > cap)
                return vt_error_set(err, VT_E_INVALID, "cookie", "cookie %s is longer than %zu bytes", name,
                                    cap ? cap - 1 : 0);
            memcpy(out, h + vs, ve - vs);
            out[ve - vs] = 0;
            found = true; /* keep going: the whole header must be well formed */
        }
    }
    return found ? VT_OK : vt_error_set(err, VT_E_MISSING, "cookie", "no cookie %s", name);
}

vt_err vt_http_bearer(const char *h, const char **token, size_t *len, vt_error *err)
{
    if (h == NULL) return vt_error_set(err, VT_E_MISSING, "bearer", "no Authorization header");
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return vt_error_set(err, VT_E_INVALID, "bearer", "Authorization scheme is not Bearer");
    const char *t = h + 7;
    while (*t == ' ') t++;
    size_t n = strlen(t);
    while (n && t[n - 1] == ' ') n--;
    if (n == 0) return vt_error_set(err, VT_E_INVALID, "bearer", "empty bearer token");
    /* b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
    size_t i = 0;
    while (i < n && ((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= '0' && t[i] <= '9') ||
                     strchr("-._~+/", t[i]) != NULL))
        i++;
    while (i < n && t[i] == '=') i++;
    if (i != n) return vt_error_set(err, VT_E_INVALID, "bearer", "bearer token has a character outside b64token");
    *token = t;
    *len = n;
    return VT_OK;
}

vt_err vt_http_path_check(const char *p, size_t n, vt_error *err)
{
    if (n == 0 || p[0] != '/') return vt_error_set(err, VT_E_INVALID, "path", "path must start with '/'");
    if (n > VT_HTTP_MAX_PATH) return vt_error_set(err, VT_E_INVALID, "path", "path longer than %d bytes", VT_HTTP_MAX_PATH);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= 0x20 || c >= 0x7f || c == '\\')
            return vt_error_set(err, VT_E_INVALID, "path", "path has a forbidden byte 0x%02x at %zu", c, i);
    }
    /* Segments between slashes: none empty (except a trailing slash), none "." or "..". */
    size_t i = 1;
    while (i <= n) {
        size_t s = i;
        while (i < n && p[i] != '/') i++;
        size_t len = i - s;
        if (len == 0 && i < n) return vt_error_set(err, VT_E_INVALID, "path", "path has an empty segment");
        if ((len == 1 && p[s] == '.') || (len == 2 && p[s] == '.' && p[s + 1] == '.'))
            return vt_error_set(err, VT_E_INVALID, "path", "path has a '.' or '..' segment");
        i++;
    }
    return VT_OK;
}

int vt_http_route_find(const vt_http_route *routes, size_t n, const char *method, const char *path,
                       const vt_http_route **route, const char **tail)
{
    bool path_seen = false;
    for (size_t i = 0; i < n; i++) {
        const char *pat = routes[i].path;
        size_t pl = strlen(pat);
        const char *t = "";
        bool match;
        if (pl >= 2 && pat[pl - 1] == '*' && pat[pl - 2] == '/') {
            match = strncmp(path, pat, pl - 1) == 0 && path[pl - 1] != 0;
            t = path + pl - 1;
        } else {
            match = strcmp(path, pat) == 0;
        }
        if (!match) continue;
        path_seen = true;
        if (routes[i].method == NULL || strcmp(routes[i].method, method) == 0) {
            *route = &routes[i];
            *tail = t;
            return 0;
        }
    }
    return path_seen ? 405 : 404;
}

/* ---- responses ---- */

static vt_err set_body(vt_http_response *r, int status, const char *ctype, const char *p, size_t n, vt_error *err)
{
    vt_buf_free(&r->body);
    r->status = status;
    snprintf(r->content_type, sizeof r->content_type, "%s", ctype);
    r->body.ptr = malloc(n ? n : 1);
    if (r->body.ptr == NULL) return vt_error_set(err, VT_E_NOMEM, "http", "out of memory");
    if (n) memcpy(r->body.ptr, p, n);
    r->body.len = n;
    return VT_OK;
}

vt_err vt_http_respond_json(vt_http_response *r, int status, const json_t *j)
{
    char *s = vt_json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s == NULL) return VT_E_NOMEM;
    vt_err rc = set_body(r, status, "application/json", s, strlen(s), NULL);
    free(s);
    return rc;
}

vt_err vt_http_respond_text(vt_http_response *r, int status, const char *ctype, const char *text)
{
    return set_body(r, status, ctype, text, strlen(text), NULL);
}

vt_err vt_http_respond_problem(vt_http_response *r, int status, const char *type, const char *detail)
{
    json_t *j = json_pack("{ss ss}", "type", type, "detail", detail);
    if (j == NULL) return VT_E_NOMEM;
    vt_err rc = vt_http_respond_json(r, status, j);
    json_decref(j);
    return rc;
}

vt_err vt_http_response_header(vt_http_response *r, const char *name, const char *value)
{
    if (r->nheaders == VT_HTTP_MAX_RESP_HEADERS || strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return VT_E_ARG;
    char *n = strdup(name), *v = strdup(value);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        return VT_E_NOMEM;
    }
    r->header_names[r->nheaders] = n;
    r->header_values[r->nheaders++] = v;
    return VT_OK;
}

void vt_http_response_clear(vt_http_response *r)
{
    if (r == NULL) return;
    vt_buf_free(&r->body);
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->header_names[i]);
        free(r->header_values[i]);
    }
    memset(r, 0, sizeof *r);
}
