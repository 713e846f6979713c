/* Sessions awaiting attestation and single-use nonces of a SQLite store, in the process's memory
 * (kbs-protocol.md §9; issue 19). Why, and what a restart loses: the comment block "sessions and
 * nonces" in store.c. Two bounded hash tables, each with a min-heap on expiry (expired entries
 * go in O(log n) each, when touched, when a session is created and at the sweep) and one counter
 * per client address (the per-client limit is a lookup). One mutex, held for a lookup or a few
 * pointer moves; keys are hashed (SipHash, keyed at random per store: client addresses are
 * chosen by whoever connects) before it is taken, and a hit is confirmed with CRYPTO_memcmp. */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "pending.h"
#include "veritee/crypto.h"

typedef struct hnode {
    struct hnode *next;
    uint64_t h;
} hnode;

/* Chained hash set; the bucket array doubles when it holds as many entries as buckets. */
typedef struct hset {
    hnode **b;
    size_t nb, n;
} hset;

typedef struct pclient {
    hnode node; /* first: a pclient is found through its hnode */
    uint64_t n; /* pending sessions of this address */
    char addr[VT_SESSION_CLIENT_MAX + 1];
} pclient;

typedef struct pent {
    hnode node; /* first */
    size_t at;  /* index in its table's heap */
    vt_time created, expires;
    size_t klen;
    char *key;                   /* session id or nonce (in data) */
    char *tee, *nonce, *request; /* sessions (in data) */
    pclient *client;             /* sessions: the counter of their address */
    size_t size;                 /* of the allocation, wiped when freed */
    char data[];
} pent;

typedef struct ptab {
    hset set;
    pent **heap; /* min-heap on expires */
    size_t halloc;
} ptab;

struct store_pending {
    pthread_mutex_t mu;
    EVP_MAC_CTX *mac; /* keyed SipHash, duplicated per hash (a context is one thread's) */
    size_t cap;       /* entries of each table at most */
    ptab sess, nonces;
    hset clients;
};

/* ---- hashing ---- */

static vt_err key_hash(const store_pending *p, const char *k, size_t n, uint64_t *h, vt_error *err)
{
    EVP_MAC_CTX *c = EVP_MAC_CTX_dup(p->mac);
    size_t got = 0;
    uint8_t out[8];
    bool ok = c != NULL && EVP_MAC_update(c, (const uint8_t *)k, n) == 1 &&
              EVP_MAC_final(c, out, &got, sizeof out) == 1 && got == sizeof out;
    EVP_MAC_CTX_free(c);
    if (!ok) return vt_error_set(err, VT_E_INTERNAL, "store", "SipHash of a table key failed");
    memcpy(h, out, sizeof *h);
    return VT_OK;
}

/* ---- hash sets ---- */

static bool hset_room(hset *t)
{
    if (t->n < t->nb) return true;
    size_t nb = t->nb ? t->nb * 2 : 64;
    hnode **b = calloc(nb, sizeof *b);
    if (b == NULL) return t->nb > 0; /* a longer chain still works */
    for (size_t i = 0; i < t->nb; i++)
        for (hnode *x = t->b[i], *next; x != NULL; x = next) {
            next = x->next;
            x->next = b[x->h & (nb - 1)];
            b[x->h & (nb - 1)] = x;
        }
    free(t->b);
    t->b = b;
    t->nb = nb;
    return true;
}

static void hset_add(hset *t, hnode *x)
{
    hnode **slot = &t->b[x->h & (t->nb - 1)];
    x->next = *slot;
    *slot = x;
    t->n++;
}

static void hset_del(hset *t, hnode *x)
{
    for (hnode **at = &t->b[x->h & (t->nb - 1)]; *at != NULL; at = &(*at)->next)
        if (*at == x) {
            *at = x->next;
            t->n--;
            return;
        }
}

static pent *tab_find(const ptab *t, uint64_t h, const char *k, size_t n)
{
    if (t->set.nb == 0) return NULL;
    for (hnode *x = t->set.b[h & (t->set.nb - 1)]; x != NULL; x = x->next) {
        pent *e = (pent *)x;
        if (x->h == h && e->klen == n && CRYPTO_memcmp(e->key, k, n) == 0) return e;
    }
    return NULL;
}

static pclient *client_find(const hset *t, uint64_t h, const char *addr)
{
    if (t->nb == 0) return NULL;
    for (hnode *x = t->b[h & (t->nb - 1)]; x != NULL; x = x->next)
        if (x->h == h && strcmp(((pclient *)x)->addr, addr) == 0) return (pclient *)x;
    return NULL;
}

/* ---- expiry heaps ---- */

static void heap_set(ptab *t, size_t i, pent *e)
{
    t->heap[i] = e;
    e->at = i;
}

static void heap_up(ptab *t, size_t i)
{
    pent *e = t->heap[i];
    while (i > 0 && t->heap[(i - 1) / 2]->expires > e->expires) {
        heap_set(t, i, t->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(t, i, e);
}

static void heap_down(ptab *t, size_t i)
{
    size_t n = t->set.n;
    pent *e = t->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && t->heap[c + 1]->expires < t->heap[c]->expires) c++;
        if (t->heap[c]->expires >= e->expires) break;
        heap_set(t, i, t->heap[c]);
        i = c;
    }
    heap_set(t, i, e);
}

/* Takes e out of its table (set and heap) and its client's count; the caller frees it. */
static void tab_unlink(store_pending *p, ptab *t, pent *e)
{
    size_t i = e->at;
    hset_del(&t->set, &e->node); /* n is now the heap's new size */
    size_t last = t->set.n;
    if (i != last) { /* the last entry fills the hole, then moves down or up to its place */
        pent *m = t->heap[last];
        heap_set(t, i, m);
        heap_down(t, i);
        heap_up(t, m->at);
    }
    if (e->client != NULL && --e->client->n == 0) {
        hset_del(&p->clients, &e->client->node);
        free(e->client);
    }
    e->client = NULL;
}

static void ent_free(pent *e)
{
    if (e == NULL) return;
    OPENSSL_cleanse(e, e->size); /* ids and nonces are bearer secrets */
    free(e);
}

/* Drops up to max entries of t expired at now (the heap's head first); returns how many. */
static uint64_t tab_expire(store_pending *p, ptab *t, vt_time now, uint64_t max)
{
    uint64_t n = 0;
    while (n < max && t->set.n > 0 && t->heap[0]->expires <= now) {
        pent *e = t->heap[0];
        tab_unlink(p, t, e);
        ent_free(e);
        n++;
    }
    return n;
}

/* Room for one more entry in t (the bucket array and the heap), within the store's cap. */
static bool tab_room(store_pending *p, ptab *t)
{
    if (t->set.n >= p->cap) return false;
    if (t->set.n == t->halloc) {
        size_t na = t->halloc ? t->halloc * 2 : 64;
        if (na > p->cap) na = p->cap;
        pent **h = realloc(t->heap, na * sizeof *h);
        if (h == NULL) return false;
        t->heap = h;
        t->halloc = na;
    }
    return hset_room(&t->set);
}

static void tab_insert(ptab *t, pent *e)
{
    hset_add(&t->set, &e->node);
    heap_set(t, t->set.n - 1, e);
    heap_up(t, t->set.n - 1);
}

static void tab_clear(ptab *t)
{
    for (size_t i = 0; i < t->set.n; i++) ent_free(t->heap[i]);
    free(t->heap);
    free(t->set.b);
    memset(t, 0, sizeof *t);
}

/* ---- the store's tables ---- */

vt_err pending_new(size_t cap, store_pending **out, vt_error *err)
{
    *out = NULL;
    store_pending *p = calloc(1, sizeof *p);
    if (p == NULL) return vt_error_set(err, VT_E_NOMEM, "store", "out of memory");
    p->cap = cap;
    uint8_t key[16];
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
    size_t size = 8;
    OSSL_PARAM prm[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size), OSSL_PARAM_construct_end()};
    bool ok = mac != NULL && RAND_bytes(key, sizeof key) == 1 && (p->mac = EVP_MAC_CTX_new(mac)) != NULL &&
              EVP_MAC_init(p->mac, key, sizeof key, prm) == 1;
    OPENSSL_cleanse(key, sizeof key);
    EVP_MAC_free(mac);
    if (!ok) {
        EVP_MAC_CTX_free(p->mac);
        free(p);
        return vt_error_set(err, VT_E_INTERNAL, "store", "cannot key SipHash for the sessions table");
    }
    pthread_mutex_init(&p->mu, NULL);
    *out = p;
    return VT_OK;
}

void pending_free(store_pending *p)
{
    if (p == NULL) return;
    for (size_t i = 0; i < p->sess.set.n; i++) p->sess.heap[i]->client = NULL;
    tab_clear(&p->sess);
    tab_clear(&p->nonces);
    for (size_t i = 0; i < p->clients.nb; i++)
        for (hnode *x = p->clients.b[i], *next; x != NULL; x = next) {
            next = x->next;
            free(x);
        }
    free(p->clients.b);
    EVP_MAC_CTX_free(p->mac);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* A session entry with copies of x's strings, built before the lock is taken. */
static pent *sess_entry(const vt_session *x, uint64_t h)
{
    size_t li = strlen(x->id) + 1, lt = strlen(x->tee) + 1, ln = strlen(x->nonce) + 1;
    const char *req = x->request ? x->request : "{}";
    size_t lr = strlen(req) + 1;
    size_t size = sizeof(pent) + li + lt + ln + lr;
    pent *e = calloc(1, size);
    if (e == NULL) return NULL;
    e->size = size;
    e->node.h = h;
    e->created = x->created;
    e->expires = x->expires;
    e->klen = li - 1;
    char *d = e->data;
    e->key = memcpy(d, x->id, li);
    e->tee = memcpy(d += li, x->tee, lt);
    e->nonce = memcpy(d += lt, x->nonce, ln);
    e->request = memcpy(d + ln, req, lr);
    return e;
}

vt_err pending_session_put(store_pending *p, const vt_session *x, const pending_limits *lim, vt_session_limit *hit,
                           vt_error *err)
{
    if (hit) *hit = VT_SESSION_LIMIT_NONE;
    uint64_t h, hc;
    VT_GUARD(key_hash(p, x->id, strlen(x->id), &h, err));
    VT_GUARD(key_hash(p, x->client, strlen(x->client), &hc, err));
    pent *e = sess_entry(x, h);
    pclient *spare = calloc(1, sizeof *spare);
    if (e == NULL || spare == NULL) {
        free(spare);
        ent_free(e);
        return vt_error_set(err, VT_E_NOMEM, "session", "out of memory");
    }
    vt_err rc = VT_OK;
    pthread_mutex_lock(&p->mu);
    pclient *cl = client_find(&p->clients, hc, x->client);
    if (lim != NULL) {
        tab_expire(p, &p->sess, lim->now, UINT64_MAX);
        tab_expire(p, &p->nonces, lim->now, UINT64_MAX);
        cl = client_find(&p->clients, hc, x->client); /* its last session may just have gone */
        uint64_t mine = cl ? cl->n : 0;
        if ((lim->max_total > 0 && p->sess.set.n >= lim->max_total) || (!lim->check_only && p->sess.set.n >= p->cap))
            *hit = VT_SESSION_LIMIT_TOTAL;
        else if (lim->max_per_client > 0 && mine >= lim->max_per_client) *hit = VT_SESSION_LIMIT_CLIENT;
    }
    if (hit != NULL && *hit != VT_SESSION_LIMIT_NONE) goto out;
    if (tab_find(&p->sess, h, x->id, e->klen) != NULL) {
        rc = vt_error_set(err, VT_E_ARG, "session", "session %s exists already", x->id);
        goto out;
    }
    if (lim != NULL && lim->check_only) goto out;
    if (cl == NULL && !hset_room(&p->clients)) {
        rc = vt_error_set(err, VT_E_NOMEM, "session", "out of memory");
        goto out;
    }
    if (!tab_room(p, &p->sess)) {
        rc = p->sess.set.n >= p->cap
                 ? vt_error_set(err, VT_E_NOMEM, "session", "%zu sessions await attestation, the most this store keeps in memory",
                                p->cap)
                 : vt_error_set(err, VT_E_NOMEM, "session", "out of memory");
        goto out;
    }
    if (cl == NULL) {
        cl = spare;
        spare = NULL;
        cl->node.h = hc;
        snprintf(cl->addr, sizeof cl->addr, "%s", x->client);
        hset_add(&p->clients, &cl->node);
    }
    cl->n++;
    e->client = cl;
    tab_insert(&p->sess, e);
    e = NULL;
out:
    pthread_mutex_unlock(&p->mu);
    free(spare);
    ent_free(e);
    return rc;
}

/* Whether id is in the sessions table (live or not yet dropped); remove: and it leaves it. */
static bool sess_lookup(store_pending *p, const char *id, bool remove)
{
    uint64_t h;
    vt_error ignore;
    if (key_hash(p, id, strlen(id), &h, &ignore) != VT_OK) return false;
    pthread_mutex_lock(&p->mu);
    pent *e = tab_find(&p->sess, h, id, strlen(id));
    bool found = e != NULL;
    if (found && remove) tab_unlink(p, &p->sess, e);
    pthread_mutex_unlock(&p->mu);
    if (remove) ent_free(e);
    return found;
}

bool pending_session_has(store_pending *p, const char *id)
{
    return sess_lookup(p, id, false);
}

/* Copies e into out (its own strings). */
static bool sess_copy(const pent *e, vt_session *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", e->key);
    snprintf(out->client, sizeof out->client, "%s", e->client ? e->client->addr : "");
    out->tee = strdup(e->tee);
    out->nonce = strdup(e->nonce);
    out->request = strdup(e->request);
    out->created = e->created;
    out->expires = e->expires;
    if (out->tee && out->nonce && out->request) return true;
    free(out->tee); /* no token here: nothing to wipe */
    free(out->nonce);
    free(out->request);
    out->tee = out->nonce = out->request = NULL;
    return false;
}

vt_err pending_session_get(store_pending *p, const char *id, vt_time now, bool take, pending_found *found,
                           vt_session *out, vt_error *err)
{
    *found = PENDING_ABSENT;
    uint64_t h;
    VT_GUARD(key_hash(p, id, strlen(id), &h, err));
    vt_err rc = VT_OK;
    pent *gone = NULL;
    pthread_mutex_lock(&p->mu);
    pent *e = tab_find(&p->sess, h, id, strlen(id));
    if (e != NULL && e->expires <= now) { /* lazy expiry (§9): removed when touched */
        *found = PENDING_EXPIRED;
        tab_unlink(p, &p->sess, e);
        gone = e;
    } else if (e != NULL) {
        *found = PENDING_LIVE;
        if (out != NULL && !sess_copy(e, out)) rc = vt_error_set(err, VT_E_NOMEM, "session", "out of memory");
        else if (take) {
            tab_unlink(p, &p->sess, e);
            gone = e;
        }
    }
    pthread_mutex_unlock(&p->mu);
    ent_free(gone);
    return rc;
}

bool pending_session_delete(store_pending *p, const char *id)
{
    return sess_lookup(p, id, true);
}

uint64_t pending_session_count(store_pending *p, vt_time now)
{
    pthread_mutex_lock(&p->mu);
    tab_expire(p, &p->sess, now, UINT64_MAX);
    uint64_t n = p->sess.set.n;
    pthread_mutex_unlock(&p->mu);
    return n;
}

/* Entries dropped per hold of the lock by the sweep: a request waits for one batch at most. */
#define EXPIRE_BATCH 256

uint64_t pending_sweep(store_pending *p, vt_time now)
{
    uint64_t total = 0, n;
    do {
        pthread_mutex_lock(&p->mu);
        n = tab_expire(p, &p->sess, now, EXPIRE_BATCH);
        n += tab_expire(p, &p->nonces, now, EXPIRE_BATCH);
        pthread_mutex_unlock(&p->mu);
        total += n;
    } while (n > 0);
    return total;
}

vt_err pending_nonce_put(store_pending *p, const char *nonce, vt_time expires, vt_error *err)
{
    size_t n = strlen(nonce);
    uint64_t h;
    VT_GUARD(key_hash(p, nonce, n, &h, err));
    pent *e = calloc(1, sizeof *e + n + 1);
    if (e == NULL) return vt_error_set(err, VT_E_NOMEM, "nonce", "out of memory");
    e->size = sizeof *e + n + 1;
    e->node.h = h;
    e->expires = expires;
    e->klen = n;
    e->key = memcpy(e->data, nonce, n + 1);
    vt_err rc = VT_OK;
    pthread_mutex_lock(&p->mu);
    if (tab_find(&p->nonces, h, nonce, n) != NULL) rc = vt_error_set(err, VT_E_ARG, "nonce", "nonce exists already");
    else if (!tab_room(p, &p->nonces))
        rc = p->nonces.set.n >= p->cap
                 ? vt_error_set(err, VT_E_NOMEM, "nonce", "%zu nonces await their use, the most this store keeps in memory",
                                p->cap)
                 : vt_error_set(err, VT_E_NOMEM, "nonce", "out of memory");
    else {
        tab_insert(&p->nonces, e);
        e = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    ent_free(e);
    return rc;
}

vt_err pending_nonce_consume(store_pending *p, const char *nonce, vt_time now, vt_error *err)
{
    size_t n = strlen(nonce);
    uint64_t h;
    VT_GUARD(key_hash(p, nonce, n, &h, err));
    pthread_mutex_lock(&p->mu);
    pent *e = tab_find(&p->nonces, h, nonce, n);
    if (e != NULL) tab_unlink(p, &p->nonces, e);
    pthread_mutex_unlock(&p->mu);
    vt_err rc = VT_OK;
    if (e == NULL) rc = vt_error_set(err, VT_E_VERIFY, "nonce", "nonce unknown or already used (replay)");
    else if (e->expires <= now) rc = vt_error_set(err, VT_E_EXPIRED, "nonce", "nonce expired");
    ent_free(e);
    return rc;
}
