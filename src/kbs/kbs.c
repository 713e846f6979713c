/* Key Broker Service context: configuration, replies (kbs-protocol.md §13 problem bodies),
 * randomness, audit records and the periodic session sweep (§9). */
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kbs_internal.h"
#include "veritee/ear.h"
#include "veritee/policy.h"

vt_err vt_kbs_new(const vt_kbs_config *cfg, vt_kbs **out, vt_error *err)
{
    *out = NULL;
    if (cfg == NULL || cfg->store == NULL || cfg->ear_key == NULL)
        return vt_error_set(err, VT_E_ARG, "kbs", "a store and an EAR signing key are required");
    /* A Trustee token binds no request: were it the native admin key, a veritee admin token
     * re-targeted to another request would pass as a Trustee one (docs/coco.md). */
    if ((cfg->nvidia_rim_source != NULL) != (cfg->nvidia_rim_verifier != NULL))
        return vt_error_set(err, VT_E_ARG, "kbs", "a GPU RIM source needs the RIM verifier, and the verifier a source");
    if (cfg->trustee_admin_key != NULL &&
        (!EVP_PKEY_is_a(cfg->trustee_admin_key, "ED25519") ||
         (cfg->admin_key != NULL && EVP_PKEY_eq(cfg->admin_key, cfg->trustee_admin_key) == 1)))
        return vt_error_set(err, VT_E_ARG, "kbs",
                            "the Trustee admin key must be an Ed25519 key other than the admin key");
    vt_kbs *k = calloc(1, sizeof *k);
    if (k == NULL) return vt_error_set(err, VT_E_NOMEM, "kbs", "out of memory");
    k->cfg = *cfg;
    pthread_mutex_init(&k->policy_mu, NULL);
    if (cfg->policy_text != NULL && (k->policy_text = strdup(cfg->policy_text)) == NULL) {
        pthread_mutex_destroy(&k->policy_mu);
        free(k);
        return vt_error_set(err, VT_E_NOMEM, "kbs", "out of memory");
    }
    k->cfg.policy_text = NULL; /* read through configured_policy (docs_cache.c) */
    vt_verify_sources vs = {.trust_dir = cfg->trust_dir, .collateral_dir = cfg->collateral_dir, .tpm_aks = cfg->tpm_aks,
                            .pcs_url = cfg->pcs_url, .kds_url = cfg->kds_url, .cache_dir = cfg->cache_dir,
                            .allow_missing_crl = cfg->allow_missing_crl, .collateral = cfg->collateral,
                            .nvidia_ocsp_dir = cfg->nvidia_ocsp_dir,
                            /* a changed trust or collateral file is seen within a second: not a
                             * stat() of every file at every attestation */
                            .monotonic = cfg->monotonic, .recheck_seconds = 1.0};
    vt_err vrc = vt_verifier_new(&vs, &k->verifiers, err);
    if (vrc != VT_OK) {
        free(k->policy_text);
        pthread_mutex_destroy(&k->policy_mu);
        free(k);
        return vrc;
    }
    if (k->cfg.token_lifetime <= 0) k->cfg.token_lifetime = VT_KBS_DEFAULT_TOKEN_LIFETIME;
    if (k->cfg.session_lifetime <= 0) k->cfg.session_lifetime = VT_KBS_DEFAULT_SESSION_LIFETIME;
    if (k->cfg.token_skew < 0 || k->cfg.token_skew > VT_KBS_MAX_TOKEN_SKEW) {
        vt_verifier_free(k->verifiers);
        free(k->policy_text);
        pthread_mutex_destroy(&k->policy_mu);
        free(k);
        return vt_error_set(err, VT_E_ARG, "kbs", "token skew must be 0..%d seconds", VT_KBS_MAX_TOKEN_SKEW);
    }
    if (k->cfg.issuer == NULL) k->cfg.issuer = "veritee-attestation-service";
    if (cfg->metrics != NULL) {
        vt_err rc = vt_metrics_std(cfg->metrics, &k->m, err);
        if (rc != VT_OK) {
            vt_verifier_free(k->verifiers);
            free(k->policy_text);
            pthread_mutex_destroy(&k->policy_mu);
            free(k);
            return rc;
        }
        k->has_metrics = true;
    }
    vt_err trc = kbs_tokens_init(k, cfg->token_cache_slots, err);
    if (trc == VT_OK && (trc = vt_jose_ctx_new(&k->jose, err)) != VT_OK) kbs_tokens_free(k);
    if (trc == VT_OK && (trc = vt_ear_signer_new(cfg->ear_key, &k->ear_signer, err)) != VT_OK) {
        kbs_tokens_free(k);
        vt_jose_ctx_free(k->jose);
    }
    if (trc != VT_OK) {
        vt_verifier_free(k->verifiers);
        free(k->policy_text);
        pthread_mutex_destroy(&k->policy_mu);
        free(k);
        return trc;
    }
    pthread_mutex_init(&k->unauth_mu, NULL);
    pthread_mutex_init(&k->docs_mu, NULL);
    pthread_mutex_init(&k->audit_mu, NULL);
    *out = k;
    return VT_OK;
}

void vt_kbs_free(vt_kbs *k)
{
    if (k == NULL) return;
    vt_verifier_free(k->verifiers);
    kbs_tokens_free(k);
    vt_jose_ctx_free(k->jose);
    vt_jws_signer_free(k->ear_signer);
    free(k->policy_text);
    kbs_docs_free_all(k);
    pthread_mutex_destroy(&k->docs_mu);
    pthread_mutex_destroy(&k->policy_mu);
    pthread_mutex_destroy(&k->unauth_mu);
    pthread_mutex_destroy(&k->audit_mu);
    free(k);
}

vt_err vt_kbs_reload(vt_kbs *k, const char *policy_text, vt_error *err)
{
    if (k == NULL) return vt_error_set(err, VT_E_ARG, "kbs", "no broker");
    if (policy_text != NULL) {
        vt_policy p;
        VT_GUARD(vt_policy_parse(policy_text, strlen(policy_text), &p, err));
        vt_policy_free(&p);
        char *copy = strdup(policy_text);
        if (copy == NULL) return vt_error_set(err, VT_E_NOMEM, "kbs", "out of memory");
        pthread_mutex_lock(&k->policy_mu);
        char *old = k->policy_text;
        k->policy_text = copy;
        k->policy_epoch++; /* the parsed documents of the old text are not used again */
        pthread_mutex_unlock(&k->policy_mu);
        free(old);
    }
    vt_verifier_invalidate(k->verifiers);
    return VT_OK;
}

void vt_kbs_docs_cache_stats(vt_kbs *k, uint64_t *hits, uint64_t *misses)
{
    pthread_mutex_lock(&k->docs_mu);
    if (hits) *hits = k->docs_hits;
    if (misses) *misses = k->docs_misses;
    pthread_mutex_unlock(&k->docs_mu);
}

void vt_kbs_reply_clear(vt_kbs_reply *r)
{
    if (r == NULL) return;
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

void kbs_fail(vt_kbs_reply *r, int status, const char *variant, const char *fmt, ...)
{
    json_decref(r->json);
    r->json = NULL;
    r->status = status;
    snprintf(r->problem, sizeof r->problem, "%s", variant);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
}

bool kbs_store_down(vt_kbs_reply *r, const char *what, const vt_error *e)
{
    if (e->code != VT_E_IO) return false;
    kbs_fail(r, 503, "PluginInternalError", "store unavailable (%s): %s: retry", what, e->msg);
    return true;
}

bool kbs_collateral_unavailable(vt_kbs_reply *r, const vt_error *e)
{
    if (e->code != VT_E_MISSING || strcmp(e->check, "collateral") != 0) return false;
    kbs_fail(r, 503, "PluginInternalError", "collateral unavailable: %s: retry", e->msg);
    return true;
}

vt_err kbs_random(vt_kbs *k, uint8_t *out, size_t n, vt_error *err)
{
    int ok = k->cfg.rng != NULL ? k->cfg.rng(k->cfg.rng_ud, out, n) == 0 : RAND_bytes(out, (int)n) == 1;
    return ok ? VT_OK : vt_error_set(err, VT_E_INTERNAL, "random", "random source failed");
}

static vt_err audit_append(vt_kbs *k, bool deferred, vt_time now, const char *actor, const char *action,
                           const char *subject, const char *outcome, json_t *details, vt_error *err)
{
    vt_error e = {0};
    if (err == NULL) err = &e;
    vt_err rc;
    if (!deferred) rc = vt_audit_append(k->cfg.store, now, actor, action, subject, outcome, details, NULL, err);
    else if ((rc = vt_store_tx_begin(k->cfg.store, err)) == VT_OK)
        rc = vt_store_tx_end_deferred(
            k->cfg.store, vt_audit_append(k->cfg.store, now, actor, action, subject, outcome, details, NULL, err), err);
    if (rc != VT_OK && k->has_metrics) vt_metric_inc(k->m.audit_failures, NULL, 1);
    json_decref(details);
    return rc;
}

vt_err kbs_audit(vt_kbs *k, vt_time now, const char *actor, const char *action, const char *subject,
                 const char *outcome, json_t *details, vt_error *err)
{
    return audit_append(k, false, now, actor, action, subject, outcome, details, err);
}

vt_err kbs_audit_deferred(vt_kbs *k, vt_time now, const char *actor, const char *action, const char *subject,
                          const char *outcome, json_t *details, vt_error *err)
{
    return audit_append(k, true, now, actor, action, subject, outcome, details, err);
}

void kbs_unauth_flush(vt_kbs *k, vt_time now, bool force)
{
    pthread_mutex_lock(&k->unauth_mu);
    uint64_t a = k->unauth_admin, r = k->unauth_resource, t = k->unauth_attest;
    vt_time since = k->unauth_since;
    if (a + r + t == 0 || (!force && now - since < VT_KBS_UNAUTH_SUMMARY_INTERVAL)) {
        pthread_mutex_unlock(&k->unauth_mu);
        return;
    }
    char from[21], to[21];
    vt_time_format(since, from);
    vt_time_format(now, to);
    json_t *d = json_pack("{sI sI sI ss ss ss ss}", "admin", (json_int_t)a, "resource", (json_int_t)r, "attest",
                          (json_int_t)t, "from", from, "to", to, "last_client", k->unauth_last_client, "last_error",
                          k->unauth_last_error);
    k->unauth_admin = k->unauth_resource = k->unauth_attest = 0;
    k->unauth_last_error[0] = 0;
    pthread_mutex_unlock(&k->unauth_mu);
    kbs_audit(k, now, "anonymous", "unauthenticated.summary", "kbs", "denied", d, NULL);
}

void kbs_unauth(vt_kbs *k, vt_time now, const char *endpoint, const char *client, const char *detail)
{
    if (k->has_metrics) {
        const char *l[1] = {endpoint};
        vt_metric_inc(k->m.unauthenticated, l, 1);
    }
    pthread_mutex_lock(&k->unauth_mu);
    if (k->unauth_admin + k->unauth_resource + k->unauth_attest == 0) k->unauth_since = now;
    if (strcmp(endpoint, "admin") == 0) k->unauth_admin++;
    else if (strcmp(endpoint, "attest") == 0) k->unauth_attest++;
    else k->unauth_resource++;
    if (detail) vt_audit_text(detail, sizeof k->unauth_last_error - 1, k->unauth_last_error, sizeof k->unauth_last_error);
    vt_audit_text(client ? client : "", sizeof k->unauth_last_client - 1, k->unauth_last_client,
                  sizeof k->unauth_last_client);
    pthread_mutex_unlock(&k->unauth_mu);
    kbs_unauth_flush(k, now, false);
}

vt_err vt_kbs_sweep(vt_kbs *k, vt_time now, vt_error *err)
{
    kbs_unauth_flush(k, now, false);
    VT_GUARD(vt_store_sweep(k->cfg.store, now, NULL, err));
    if (!k->has_metrics) return VT_OK; /* the count (every live session) is for the gauge only */
    uint64_t f = vt_store_flushes(k->cfg.store);
    pthread_mutex_lock(&k->unauth_mu);
    if (f > k->flushes_counted) { /* two sweeps at once: the later reading may be the smaller */
        vt_metric_inc(k->m.store_flushes, NULL, (double)(f - k->flushes_counted));
        k->flushes_counted = f;
    }
    pthread_mutex_unlock(&k->unauth_mu);
    uint64_t n = 0;
    VT_GUARD(vt_store_session_count(k->cfg.store, now, &n, err));
    vt_metric_set(k->m.active_sessions, NULL, (double)n);
    int64_t head = 0, base = 0;
    uint8_t h[VT_AUDIT_HASH_LEN];
    VT_GUARD(vt_store_audit_head(k->cfg.store, &head, h, err));
    VT_GUARD(vt_store_audit_base(k->cfg.store, &base, h, err));
    vt_metric_set(k->m.audit_records, NULL, (double)(head - base));
    return VT_OK;
}

void kbs_recent_reject(vt_kbs *k, vt_time now, const char *tee, const char *client, const vt_error *e)
{
    pthread_mutex_lock(&k->unauth_mu);
    struct kbs_reject *r = &k->recent[k->recent_next];
    r->time = now;
    vt_audit_text(tee ? tee : "", sizeof r->tee - 1, r->tee, sizeof r->tee);
    vt_audit_text(client ? client : "", sizeof r->client - 1, r->client, sizeof r->client);
    vt_audit_text(e->check, sizeof r->check - 1, r->check, sizeof r->check);
    vt_audit_text(e->msg, sizeof r->error - 1, r->error, sizeof r->error);
    k->recent_next = (k->recent_next + 1) % KBS_RECENT_REJECTS;
    if (k->recent_n < KBS_RECENT_REJECTS) k->recent_n++;
    pthread_mutex_unlock(&k->unauth_mu);
}

json_t *kbs_recent_json(vt_kbs *k)
{
    json_t *a = json_array();
    pthread_mutex_lock(&k->unauth_mu);
    for (size_t i = 0; a != NULL && i < k->recent_n; i++) {
        const struct kbs_reject *r = &k->recent[(k->recent_next + KBS_RECENT_REJECTS - 1 - i) % KBS_RECENT_REJECTS];
        char t[21];
        vt_time_format(r->time, t);
        json_array_append_new(a, json_pack("{sI ss ss ss ss ss s{ss ss ss} sb}", "seq", (json_int_t)0, "time", t, "actor",
                                           "guest", "action", "attest", "subject", r->tee, "outcome", "rejected",
                                           "details", "client", r->client, "check", r->check, "error", r->error,
                                           "recorded", 0));
    }
    pthread_mutex_unlock(&k->unauth_mu);
    return a;
}
