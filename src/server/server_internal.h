/* Server internals: the per-client token-bucket rate limiter. Not a public header. */
#ifndef VT_SERVER_INTERNAL_H
#define VT_SERVER_INTERNAL_H

#include <stdbool.h>

#include "veritee/http.h"

typedef struct ratelimit ratelimit;

/* rate tokens per second, burst tokens at most, per client key. */
ratelimit *ratelimit_new(double rate, unsigned burst);
void ratelimit_free(ratelimit *r);
/* Takes one token for client at time now (seconds, monotonic); false when none is left. */
bool ratelimit_take(ratelimit *r, const char *client, double now);

#endif
