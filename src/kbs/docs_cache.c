/* The attestation policy and reference values an attestation is appraised with, parsed once
 * per change instead of once per attestation. Each attestation reads the store's documents'
 * generation (one row, vt_store_docs_generation) and the configured policy's epoch first; a set
 * parsed for its TEE at that same generation and epoch is shared read-only; otherwise the
 * documents are read and parsed as before and the new set replaces the older one. A set read
 * after generation G was current holds every write up to G, and is only used while the
 * generation still reads G (no document written since, on any node): never a stale one. */
#include <stdlib.h>
#include <string.h>

#include "kbs_internal.h"
#include "veritee/store.h"

/* A copy of the configured attestation policy text (NULL when none is configured). */
static char *configured_policy(vt_kbs *k)
{
    pthread_mutex_lock(&k->policy_mu);
    char *t = k->policy_text ? strdup(k->policy_text) : NULL;
    pthread_mutex_unlock(&k->policy_mu);
    return t;
}

/* The attestation policy: stored default_<tee>, default_cpu, default (one query); else the
 * configured text; else the built-in default. */
static vt_err load_policy(vt_kbs *k, const char *tee, vt_policy *p, vt_error *err)
{
    char name[64], *text = NULL;
    const char *names[3] = {name, "default_cpu", "default"};
    snprintf(name, sizeof name, "default_%s", tee);
    size_t which = 0;
    vt_error e2 = {0};
    vt_err rc = vt_store_doc_get_first(k->cfg.store, VT_DOC_ATTESTATION_POLICY, names, 3, &which, &text, &e2);
    if (rc != VT_OK && rc != VT_E_MISSING) return vt_error_set(err, rc, "policy", "%s", e2.msg);
    if (text == NULL) text = configured_policy(k);
    const char *t = text ? text : "{\"id\":\"default\",\"version\":1}";
    rc = vt_policy_parse(t, strlen(t), p, err);
    free(text);
    return rc;
}

/* Every stored reference-value document, in one query. */
static vt_err load_refvals(vt_kbs *k, vt_refvals *rv, vt_error *err)
{
    char **names = NULL, **texts = NULL;
    size_t n = 0;
    VT_GUARD(vt_store_doc_get_all(k->cfg.store, VT_DOC_REFERENCE_VALUE, &names, &texts, &n, err));
    vt_err rc = VT_OK;
    for (size_t i = 0; i < n && rc == VT_OK; i++) rc = vt_refvals_load_mem(rv, texts[i], strlen(texts[i]), names[i], err);
    vt_store_strv_free(names, n);
    vt_store_strv_free(texts, n);
    return rc;
}

static void docs_free(kbs_docs *d)
{
    if (d == NULL) return;
    vt_policy_free(&d->pol);
    vt_refvals_free(&d->rv);
    free(d);
}

static uint64_t policy_epoch(vt_kbs *k)
{
    pthread_mutex_lock(&k->policy_mu);
    uint64_t e = k->policy_epoch;
    pthread_mutex_unlock(&k->policy_mu);
    return e;
}

vt_err kbs_docs_get(vt_kbs *k, const char *tee, kbs_docs **out, vt_error *err)
{
    *out = NULL;
    /* the epoch and the generation before the documents (see above) */
    uint64_t epoch = policy_epoch(k);
    int64_t gen = 0;
    vt_error e2 = {0};
    if (vt_store_docs_generation(k->cfg.store, &gen, &e2) != VT_OK)
        return vt_error_set(err, e2.code, "policy", "%s", e2.msg);
    bool cacheable = strlen(tee) < sizeof((kbs_docs *)0)->tee;
    pthread_mutex_lock(&k->docs_mu);
    for (size_t i = 0; cacheable && i < KBS_DOCS_SLOTS; i++) {
        kbs_docs *d = k->docs[i];
        if (d != NULL && d->gen == gen && d->epoch == epoch && strcmp(d->tee, tee) == 0) {
            d->refs++;
            k->docs_hits++;
            pthread_mutex_unlock(&k->docs_mu);
            *out = d;
            return VT_OK;
        }
    }
    k->docs_misses++;
    pthread_mutex_unlock(&k->docs_mu);

    kbs_docs *d = calloc(1, sizeof *d);
    if (d == NULL) return vt_error_set(err, VT_E_NOMEM, "policy", "out of memory");
    vt_refvals_init(&d->rv);
    d->gen = gen;
    d->epoch = epoch;
    d->refs = 1;
    vt_err rc = load_policy(k, tee, &d->pol, err);
    if (rc != VT_OK) { /* a document that does not load is reported each time, never kept */
        vt_refvals_free(&d->rv);
        free(d); /* a policy that did not parse holds nothing */
        return rc;
    }
    if ((rc = load_refvals(k, &d->rv, err)) != VT_OK) {
        docs_free(d);
        return rc;
    }
    if (cacheable) {
        snprintf(d->tee, sizeof d->tee, "%s", tee);
        pthread_mutex_lock(&k->docs_mu);
        size_t slot = KBS_DOCS_SLOTS;
        for (size_t i = 0; i < KBS_DOCS_SLOTS && slot == KBS_DOCS_SLOTS; i++)
            if (k->docs[i] != NULL && strcmp(k->docs[i]->tee, tee) == 0) slot = i;
        for (size_t i = 0; i < KBS_DOCS_SLOTS && slot == KBS_DOCS_SLOTS; i++)
            if (k->docs[i] == NULL) slot = i;
        if (slot == KBS_DOCS_SLOTS) slot = k->docs_next++ % KBS_DOCS_SLOTS;
        kbs_docs *old = k->docs[slot];
        k->docs[slot] = d;
        d->refs++; /* the cache's */
        bool last = old != NULL && --old->refs == 0;
        pthread_mutex_unlock(&k->docs_mu);
        if (last) docs_free(old);
    }
    *out = d;
    return VT_OK;
}

void kbs_docs_put(vt_kbs *k, kbs_docs *d)
{
    if (d == NULL) return;
    pthread_mutex_lock(&k->docs_mu);
    bool last = --d->refs == 0;
    pthread_mutex_unlock(&k->docs_mu);
    if (last) docs_free(d);
}

void kbs_docs_free_all(vt_kbs *k)
{
    for (size_t i = 0; i < KBS_DOCS_SLOTS; i++) {
        kbs_docs_put(k, k->docs[i]);
        k->docs[i] = NULL;
    }
}
