/* The agent's JSON hot path: the /attest answer's token (agent_internal.h); its requests are
 * written by vt_json_dumps (core). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_internal.h"

/* Byte classes (constant): JWS is a character of a JWS compact serialisation (base64url and
 * '.'). One table lookup per byte: a token is kilobytes of base64. */
enum { JWS = 2 };
static const unsigned char CLASS[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0,
    0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 2,
    0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static bool all_in(const char *s, size_t n, unsigned char c)
{
    for (size_t i = 0; i < n; i++)
        if (!(CLASS[(unsigned char)s[i]] & c)) return false;
    return true;
}

bool agent_token_fast(const char *body, size_t len, const char **tok, size_t *tok_len)
{
    static const char pre[] = "{\"token\":\"";
    const size_t pl = sizeof pre - 1;
    if (body == NULL || len < pl + 3 || memcmp(body, pre, pl) != 0 || body[len - 2] != '"' || body[len - 1] != '}')
        return false;
    if (!all_in(body + pl, len - pl - 2, JWS)) return false;
    *tok = body + pl;
    *tok_len = len - pl - 2;
    return true;
}
