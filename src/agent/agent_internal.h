/* Internal pieces of the guest agent shared by its files and white-box tests. */
#ifndef VT_AGENT_INTERNAL_H
#define VT_AGENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "veritee/json.h"

/* The /attest answer in the exact shape veritee's and Trustee's KBS send it,
 * {"token":"<chars of a JWS compact serialisation>"} without whitespace: the token's bytes within
 * the body (they need no JSON unescaping). False for any other shape (the caller parses it). */
bool agent_token_fast(const char *body, size_t len, const char **tok, size_t *tok_len);

#endif
