/* libFuzzer target for the request parsers of the HTTP layer: Cookie header, Bearer
 * header, path check and routing (src/server/http_parse.c). Input: selector byte + text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/http.h"

static void noop(void *ud, const vt_http_request *q, vt_http_response *r)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    char *s = malloc(size);
    if (s == NULL) return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = 0;
    size_t n = strlen(s);
    vt_error e;
    char out[64];
    const char *t;
    size_t tl;
    switch (data[0] % 4) {
    case 0:
        /* Not NUL-terminated on purpose: the parser must stay within n bytes. */
        (void)vt_http_cookie((const char *)data + 1, size - 1, "kbs-session-id", out, sizeof out, &e);
        (void)vt_http_cookie(s, n, "a", out, 4, &e);
        break;
    case 1:
        if (vt_http_bearer(s, &t, &tl, &e) == VT_OK && (tl == 0 || t + tl > s + n)) abort();
        break;
    case 2:
        if (vt_http_path_check(s, n, &e) == VT_OK && (strstr(s, "/../") || strstr(s, "//"))) abort();
        break;
    default: {
        static const vt_http_route routes[] = {
            {"POST", "/kbs/v0/auth", noop, NULL},
            {"GET", "/kbs/v0/resource/*", noop, NULL},
            {NULL, "/kbs/v0/admin/*", noop, NULL},
        };
        const vt_http_route *r;
        const char *tail;
        if (vt_http_path_check(s, n, &e) == VT_OK &&
            vt_http_route_find(routes, 3, "GET", s, &r, &tail) == 0 && (tail < s || tail > s + n))
            abort();
        break;
    }
    }
    free(s);
    return 0;
}
