/* The broker's token cache: a resource request presents the EAR token this broker issued
 * moments earlier (the session's, or as bearer); its signature was made here, so checking it
 * again proves nothing new. Tokens are remembered with their exact bytes, in a bounded
 * direct-mapped table (a collision replaces the older entry: a miss only costs a full
 * verification); a lookup compares the whole token in constant time (CRYPTO_memcmp; cheaper
 * than hashing it). Only the signature and the
 * parse are spared: the caller applies the time checks (iat, exp with skew) at the request
 * instant, so an entry never outlives what it proves. Anything not found (a token of another
 * broker, altered bytes, an evicted entry) takes the full vt_ear_verify path. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "kbs_internal.h"

vt_err kbs_tokens_init(vt_kbs *k, uint32_t slots, vt_error *err)
{
    if (slots == 0) slots = VT_KBS_DEFAULT_TOKEN_CACHE;
    if (slots > VT_KBS_MAX_TOKEN_CACHE)
        return vt_error_set(err, VT_E_ARG, "kbs", "token cache of %u slots is over %d", slots, VT_KBS_MAX_TOKEN_CACHE);
    size_t n = 1;
    while (n < slots) n <<= 1;
    k->tok = calloc(n, sizeof *k->tok);
    if (k->tok == NULL) return vt_error_set(err, VT_E_NOMEM, "kbs", "out of memory");
    k->tok_n = n;
    pthread_mutex_init(&k->tok_mu, NULL);
    return VT_OK;
}

void kbs_tokens_free(vt_kbs *k)
{
    if (k->tok == NULL) return;
    for (size_t i = 0; i < k->tok_n; i++) {
        json_decref(k->tok[i].claims);
        EVP_PKEY_free(k->tok[i].tee_key);
        free(k->tok[i].tok);
    }
    free(k->tok);
    k->tok = NULL;
    pthread_mutex_destroy(&k->tok_mu);
}

/* The slot of a token: FNV-1a over its last 64 bytes (the signature, for a JWS); which slot is
 * looked at decides nothing, the full comparison does. */
static size_t slot_of(const char *jwt, size_t len, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = len > 64 ? len - 64 : 0; i < len; i++) h = (h ^ (uint8_t)jwt[i]) * 0x100000001b3u;
    return (size_t)(h ^ (h >> 32)) & (n - 1);
}

void kbs_tokens_remember(vt_kbs *k, const char *jwt, size_t len, json_t *c, EVP_PKEY *tee_key)
{
    char *copy = c != NULL && k->tok != NULL && jwt != NULL && len > 0 ? malloc(len) : NULL;
    if (copy == NULL) {
        json_decref(c);
        EVP_PKEY_free(tee_key);
        return;
    }
    memcpy(copy, jwt, len);
    size_t i = slot_of(jwt, len, k->tok_n);
    pthread_mutex_lock(&k->tok_mu);
    json_t *old = k->tok[i].claims;
    char *old_tok = k->tok[i].tok;
    EVP_PKEY *old_key = k->tok[i].tee_key;
    k->tok[i].tok = copy;
    k->tok[i].len = len;
    k->tok[i].claims = c;
    k->tok[i].tee_key = tee_key;
    json_decref(old); /* under the lock: see kbs_tokens_release */
    pthread_mutex_unlock(&k->tok_mu);
    EVP_PKEY_free(old_key);
    free(old_tok);
}

/* jansson's reference count is decremented with release order only, and the thread that takes
 * it to zero frees the object without an acquire: a reader's last accesses are then not
 * ordered before the free (ThreadSanitizer reports it). Every reference to a shared claims
 * object is therefore dropped under the cache's lock, which orders them. */
void kbs_tokens_release(vt_kbs *k, json_t *claims)
{
    if (claims == NULL) return;
    pthread_mutex_lock(&k->tok_mu);
    json_decref(claims);
    pthread_mutex_unlock(&k->tok_mu);
}

json_t *kbs_tokens_recall(vt_kbs *k, const char *jwt, size_t len, EVP_PKEY **tee_key)
{
    if (tee_key != NULL) *tee_key = NULL;
    if (k->tok == NULL || jwt == NULL || len == 0) return NULL;
    size_t i = slot_of(jwt, len, k->tok_n);
    json_t *c = NULL;
    pthread_mutex_lock(&k->tok_mu);
    const struct kbs_tok_slot *t = &k->tok[i];
    if (t->claims != NULL && t->len == len && CRYPTO_memcmp(t->tok, jwt, len) == 0) c = json_incref(t->claims);
    if (c != NULL && tee_key != NULL && t->tee_key != NULL && EVP_PKEY_up_ref(t->tee_key) == 1) *tee_key = t->tee_key;
    if (c != NULL) k->tok_hits++;
    else k->tok_misses++;
    pthread_mutex_unlock(&k->tok_mu);
    return c;
}

void vt_kbs_token_cache_stats(vt_kbs *k, uint64_t *hits, uint64_t *misses)
{
    pthread_mutex_lock(&k->tok_mu);
    if (hits) *hits = k->tok_hits;
    if (misses) *misses = k->tok_misses;
    pthread_mutex_unlock(&k->tok_mu);
}
