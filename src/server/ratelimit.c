/* Per-client token buckets in a fixed-size table (memory bounded whatever the number of
 * clients): a client maps to one of a few slots; a new client takes the least recently
 * seen of them. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

#define RL_SLOTS 4096
#define RL_PROBE 8
#define RL_KEY 46 /* INET6_ADDRSTRLEN */

typedef struct bucket {
    char key[RL_KEY];
    double tokens;
    double last;
} bucket;

struct ratelimit {
    pthread_mutex_t mu;
    double rate, burst;
    bucket b[RL_SLOTS];
};

ratelimit *ratelimit_new(double rate, unsigned burst)
{
    ratelimit *r = calloc(1, sizeof *r);
    if (r == NULL) return NULL;
    pthread_mutex_init(&r->mu, NULL);
    r->rate = rate;
    r->burst = burst ? burst : 1;
    return r;
}

void ratelimit_free(ratelimit *r)
{
    if (r == NULL) return;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

bool ratelimit_take(ratelimit *r, const char *client, double now)
{
    char key[RL_KEY];
    snprintf(key, sizeof key, "%s", client ? client : "");
    uint32_t h = fnv1a(key);
    pthread_mutex_lock(&r->mu);
    bucket *hit = NULL, *oldest = NULL;
    for (uint32_t i = 0; i < RL_PROBE && hit == NULL; i++) {
        bucket *b = &r->b[(h + i) % RL_SLOTS];
        if (strcmp(b->key, key) == 0 && (b->key[0] || b->last != 0)) hit = b;
        else if (oldest == NULL || b->last < oldest->last) oldest = b;
    }
    if (hit == NULL) {
        hit = oldest;
        memcpy(hit->key, key, sizeof key);
        hit->tokens = r->burst;
        hit->last = now;
    }
    double refill = (now - hit->last) * r->rate;
    if (refill > 0) hit->tokens = hit->tokens + refill > r->burst ? r->burst : hit->tokens + refill;
    hit->last = now;
    bool ok = hit->tokens >= 1.0;
    if (ok) hit->tokens -= 1.0;
    pthread_mutex_unlock(&r->mu);
    return ok;
}
