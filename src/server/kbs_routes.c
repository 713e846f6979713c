/* HTTP wiring of the Key Broker Service (kbs-protocol.md §3, §9, §13): routes to the
 * transport-free handlers, cookie and bearer extraction, Set-Cookie with Expires only, problem
 * bodies with the Trustee error namespace. The wall clock is read here, once per request, and
 * handed to the broker in the call. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "veritee/kbs_http.h"

static void http_date(vt_time t, char out[40])
{
    static const char *const D[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const M[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d GMT", D[tm.tm_wday % 7], tm.tm_mday, M[tm.tm_mon % 12],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void vt_kbs_reply_to_http(const vt_kbs_reply *r, vt_http_response *resp)
{
    if (r->status != 200 && r->problem[0]) {
        char type[128];
        snprintf(type, sizeof type, "%s%s", VT_RCAR_ERROR_NS, r->problem);
        vt_http_respond_problem(resp, r->status, type, r->detail);
    } else if (r->json != NULL) {
        vt_http_respond_json(resp, r->status ? r->status : 200, r->json);
    } else {
        vt_http_respond_text(resp, r->status ? r->status : 200, "application/json", "");
    }
    if (r->set_cookie) {
        char date[40], v[160];
        http_date(r->session_expires, date);
        snprintf(v, sizeof v, "%s=%s; Expires=%s", VT_RCAR_COOKIE, r->session_id, date);
        vt_http_response_header(resp, "Set-Cookie", v);
    }
}

typedef struct call_buf {
    vt_kbs_call c;
    char sid[VT_SESSION_ID_MAX + 1];
} call_buf;

static void make_call(const vt_http_request *req, call_buf *b)
{
    memset(b, 0, sizeof *b);
    b->c.now = (vt_time)time(NULL);
    b->c.method = req->method;
    b->c.path = req->path;
    b->c.target = req->target;
    b->c.body = req->body;
    b->c.body_len = req->body_len;
    b->c.client = req->client;
    b->c.query_version = vt_http_query(req, "version");
    const char *ck = vt_http_header(req, "Cookie");
    vt_error e;
    if (ck != NULL && vt_http_cookie(ck, strlen(ck), VT_RCAR_COOKIE, b->sid, sizeof b->sid, &e) == VT_OK)
        b->c.session_id = b->sid;
    const char *au = vt_http_header(req, "Authorization");
    if (au != NULL && vt_http_bearer(au, &b->c.bearer, &b->c.bearer_len, &e) != VT_OK) b->c.bearer = NULL;
}

/* Every route: HTTP request -> transport-free call -> handler -> HTTP reply. */
typedef void (*kbs_handler)(vt_kbs *k, const vt_http_request *req, const vt_kbs_call *c, vt_kbs_reply *r);

static void serve_with(kbs_handler h, void *ud, const vt_http_request *req, vt_http_response *resp)
{
    call_buf b;
    vt_kbs_reply r;
    make_call(req, &b);
    h(ud, req, &b.c, &r);
    vt_kbs_reply_to_http(&r, resp);
    vt_kbs_reply_clear(&r);
}

static void h_auth(vt_kbs *k, const vt_http_request *req, const vt_kbs_call *c, vt_kbs_reply *r)
{
    (void)req;
    vt_kbs_auth(k, c, r);
}

static void h_attest(vt_kbs *k, const vt_http_request *req, const vt_kbs_call *c, vt_kbs_reply *r)
{
    (void)req;
    vt_kbs_attest(k, c, r);
}

/* GET reads a resource as a guest; other methods on /resource/... are admin writes. */
static void h_resource(vt_kbs *k, const vt_http_request *req, const vt_kbs_call *c, vt_kbs_reply *r)
{
    if (strcmp(req->method, "GET") == 0) vt_kbs_resource(k, req->tail, c, r);
    else vt_kbs_admin(k, c, r);
}

static void h_admin(vt_kbs *k, const vt_http_request *req, const vt_kbs_call *c, vt_kbs_reply *r)
{
    (void)req;
    vt_kbs_admin(k, c, r);
}

static void on_auth(void *ud, const vt_http_request *req, vt_http_response *resp) { serve_with(h_auth, ud, req, resp); }
static void on_attest(void *ud, const vt_http_request *req, vt_http_response *resp) { serve_with(h_attest, ud, req, resp); }
static void on_resource(void *ud, const vt_http_request *req, vt_http_response *resp)
{
    serve_with(h_resource, ud, req, resp);
}
static void on_admin(void *ud, const vt_http_request *req, vt_http_response *resp) { serve_with(h_admin, ud, req, resp); }

double vt_kbs_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void vt_kbs_routes(vt_kbs *k, vt_http_route *routes, size_t *n)
{
    const vt_http_route r[] = {
        {"POST", "/kbs/v0/auth", on_auth, k},
        {"POST", "/kbs/v0/attest", on_attest, k},
        {NULL, "/kbs/v0/resource/*", on_resource, k},
        {NULL, "/kbs/v0/attestation-policy", on_admin, k},
        {NULL, "/kbs/v0/resource-policy", on_admin, k},
        {NULL, "/kbs/v0/reference-value", on_admin, k},
        {NULL, "/kbs/v0/reference-value/*", on_admin, k},
        {NULL, "/kbs/v0/admin/*", on_admin, k},
        /* the web console's dashboard reads (docs/console.md), admin-authenticated */
        {"GET", "/api/v1/stats", on_admin, k},
        {"GET", "/api/v1/audit", on_admin, k},
        {"GET", "/api/v1/audit/*", on_admin, k},
        {"GET", "/api/v1/policies/*", on_admin, k},
        {NULL, "/api/v1/reference-values", on_admin, k},
        {NULL, "/api/v1/reference-values/*", on_admin, k},
    };
    size_t m = sizeof r / sizeof r[0];
    memcpy(routes, r, sizeof r);
    *n = m;
}
