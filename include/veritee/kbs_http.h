/* HTTP wiring of the Key Broker Service (src/server/kbs_routes.c): the routing table for
 * vt_http_server_start and the mapping of handler replies onto HTTP responses. Kept apart from
 * kbs.h so that clients using http_get.h can include kbs.h. */
#ifndef VERITEE_KBS_HTTP_H
#define VERITEE_KBS_HTTP_H

#include <stddef.h>

#include "veritee/api.h"
#include "veritee/http.h"
#include "veritee/kbs.h"

VT_BEGIN_DECLS

#define VT_KBS_ROUTES 14
/* Fills routes[VT_KBS_ROUTES]; each call is stamped with the wall clock. *n receives the count. */
void vt_kbs_routes(vt_kbs *k, vt_http_route *routes, size_t *n);
/* A reply as an HTTP response: RFC 7807-style problem with the Trustee error namespace, or the
 * JSON body; Set-Cookie: kbs-session-id=<id>; Expires=<HTTP-date> (no other attributes). */
/* CLOCK_MONOTONIC in seconds: what a server passes as vt_kbs_config.monotonic. */
double vt_kbs_monotonic(void);
void vt_kbs_reply_to_http(const vt_kbs_reply *r, vt_http_response *resp);

VT_END_DECLS

#endif
