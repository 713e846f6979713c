/* HTTP wiring of the web console (docs/console.md): the built-in files, the explorer's
 * POST /api/v1/explore and GET /api/v1/info. The wall clock is read here, once per request. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server_internal.h"
#include "veritee/kbs_http.h"
#include "veritee/ui.h"
#include "veritee/ui_http.h"

struct vt_ui_http {
    vt_ui_http_config cfg;
    ratelimit *rl;
};

vt_err vt_ui_http_new(const vt_ui_http_config *cfg, vt_ui_http **out, vt_error *err)
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL) return vt_error_set(err, VT_E_NOMEM, "ui", "out of memory");
    (*out)->cfg = *cfg;
    (*out)->rl = ratelimit_new(cfg->explore_rate > 0 ? cfg->explore_rate : VT_UI_EXPLORE_RATE,
                               cfg->explore_burst > 0 ? cfg->explore_burst : VT_UI_EXPLORE_BURST);
    if ((*out)->rl == NULL) {
        free(*out);
        *out = NULL;
        return vt_error_set(err, VT_E_NOMEM, "ui", "out of memory");
    }
    return VT_OK;
}

void vt_ui_http_free(vt_ui_http *u)
{
    if (u == NULL) return;
    ratelimit_free(u->rl);
    free(u);
}

void vt_ui_security_headers(vt_http_response *resp)
{
    vt_http_response_header(resp, "Content-Security-Policy", vt_ui_csp());
    vt_http_response_header(resp, "X-Frame-Options", "DENY");
    vt_http_response_header(resp, "Referrer-Policy", "no-referrer");
    vt_http_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    vt_http_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
}

static void on_asset(void *ud, const vt_http_request *req, vt_http_response *resp)
{
    (void)ud;
    const vt_ui_asset *a = vt_ui_asset_find(req->path);
    if (a == NULL || (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)) {
        vt_http_respond_problem(resp, a ? 405 : 404, a ? "MethodNotAllowed" : "NotFound", "no such console file");
    } else {
        resp->status = 200;
        snprintf(resp->content_type, sizeof resp->content_type, "%s", a->content_type);
        if (vt_buf_set(&resp->body, a->data, a->len, &(vt_error){0}) != VT_OK) resp->status = 500;
    }
    vt_ui_security_headers(resp);
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_explore(void *ud, const vt_http_request *req, vt_http_response *resp)
{
    vt_ui_http *u = ud;
    vt_ui_security_headers(resp);
    if (!ratelimit_take(u->rl, req->client ? req->client : "", mono())) {
        vt_http_respond_problem(resp, 429, "TooManyRequests", "explore: per-client rate limit exceeded");
        return;
    }
    vt_verify_sources none = {0};
    json_t *out = NULL;
    int status = 400;
    vt_error e = {0};
    vt_ui_explore(u->cfg.sources ? u->cfg.sources : &none, req->body, req->body_len, (vt_time)time(NULL), &status,
                  &out, &e);
    if (out) vt_http_respond_json(resp, status, out);
    else vt_http_respond_problem(resp, 500, "InternalError", "explore failed");
    json_decref(out);
}

static void on_info(void *ud, const vt_http_request *req, vt_http_response *resp)
{
    vt_ui_http *u = ud;
    (void)req;
    json_t *j = json_pack("{ss sb sb sI sI}", "mode", u->cfg.dashboard ? "server" : "explorer", "dashboard",
                          u->cfg.dashboard, "admin", u->cfg.admin_enabled, "explore_max_body",
                          (json_int_t)VT_UI_EXPLORE_MAX_BODY, "evidence_max", (json_int_t)VT_UI_EVIDENCE_MAX);
    vt_http_respond_json(resp, 200, j);
    json_decref(j);
    vt_ui_security_headers(resp);
}

void vt_ui_routes(vt_ui_http *u, vt_http_route *routes, size_t *n)
{
    const vt_http_route r[] = {
        {"GET", "/", on_asset, u},
        {"GET", "/index.html", on_asset, u},
        {"GET", "/css/*", on_asset, u},
        {"GET", "/js/*", on_asset, u},
        {"GET", "/img/*", on_asset, u},
        {"POST", "/api/v1/explore", on_explore, u},
        {"GET", "/api/v1/info", on_info, u},
    };
    memcpy(routes, r, sizeof r);
    *n = sizeof r / sizeof r[0];
}
