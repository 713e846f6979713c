/* HTTP wiring of the web console (src/server/ui_routes.c, docs/console.md): the built-in
 * files with a strict Content-Security-Policy, POST /api/v1/explore (size- and rate-limited,
 * never stored) and GET /api/v1/info. The dashboard's admin reads are broker routes
 * (kbs_http.h). */
#ifndef VERITEE_UI_HTTP_H
#define VERITEE_UI_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "veritee/api.h"
#include "veritee/http.h"
#include "veritee/verify.h"

VT_BEGIN_DECLS

#define VT_UI_ROUTES 8
#define VT_UI_EXPLORE_RATE 2.0   /* explore requests per second per client ... */
#define VT_UI_EXPLORE_BURST 20u  /* ... with this burst */

typedef struct vt_ui_http_config {
    const vt_verify_sources *sources; /* borrowed: trust and collateral for the explorer */
    bool dashboard;                   /* the server has a broker (`veritee serve`): the UI shows it */
    bool admin_enabled;               /* an admin key is configured */
    double explore_rate;              /* explore requests per second per client; 0: VT_UI_EXPLORE_RATE */
    unsigned explore_burst;           /* their burst; 0: VT_UI_EXPLORE_BURST */
} vt_ui_http_config;

typedef struct vt_ui_http vt_ui_http;

/* The console's state (the explorer's rate limiter); cfg is copied, its pointers borrowed. */
VT_MUST_USE vt_err vt_ui_http_new(const vt_ui_http_config *cfg, vt_ui_http **out, vt_error *err);
void vt_ui_http_free(vt_ui_http *u); /* accepts NULL */
/* Fills routes[VT_UI_ROUTES]; *n receives the count. */
void vt_ui_routes(vt_ui_http *u, vt_http_route *routes, size_t *n);
/* The headers every console response carries (CSP, frame-ancestors/X-Frame-Options, nosniff,
 * no referrer), added to resp. */
void vt_ui_security_headers(vt_http_response *resp);

VT_END_DECLS

#endif
