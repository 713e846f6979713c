/* Key Broker Service internals shared by the handler files of src/kbs. */
#ifndef VT_KBS_INTERNAL_H
#define VT_KBS_INTERNAL_H

#include <pthread.h>

#include "veritee/audit.h"
#include "veritee/claims.h"
#include "veritee/jose.h"
#include "veritee/kbs.h"
#include "veritee/metrics.h"
#include "veritee/policy.h"
#include "veritee/refvals.h"
#include "veritee/verify.h"

#define KBS_RECENT_REJECTS 32
#define KBS_DOCS_SLOTS 8 /* TEE kinds whose parsed documents are kept */

/* What an attestation is appraised with, parsed from the store's documents at generation gen
 * and the configured policy at epoch (docs_cache.c). Shared read-only; refs under docs_mu. */
typedef struct kbs_docs {
    int refs;
    int64_t gen;
    uint64_t epoch;
    char tee[24];
    vt_policy pol;
    vt_refvals rv;
} kbs_docs;

struct vt_kbs {
    vt_kbs_config cfg;
    vt_std_metrics m;
    bool has_metrics;
    vt_verifier *verifiers; /* every TEE's verifier (the verify layer), rebuilt when trust/collateral change */
    vt_jws_signer *ear_signer; /* cfg.ear_key with the EAR header serialised once */
    vt_jose_ctx *jose;      /* curves, ciphers and KDF fetched once: TEE key import, the JWE of a release */
    pthread_mutex_t policy_mu;  /* guards policy_text (replaced by vt_kbs_reload) and its epoch */
    char *policy_text;          /* owned copy of cfg.policy_text; NULL: the built-in default */
    uint64_t policy_epoch;      /* changed with policy_text */
    /* The parsed attestation policy and reference values of each TEE (docs_cache.c) */
    pthread_mutex_t docs_mu;
    struct kbs_docs *docs[KBS_DOCS_SLOTS];
    size_t docs_next;
    uint64_t docs_hits, docs_misses;
    /* Unauthenticated failures (admin calls without a valid token, resource requests without a
     * valid token): counted, and written to the audit chain as one summary per interval. */
    pthread_mutex_t unauth_mu;
    uint64_t unauth_admin, unauth_resource, unauth_attest;
    vt_time unauth_since;
    uint64_t flushes_counted; /* the store's flushes already added to veritee_store_flushes_total (under unauth_mu) */
    char unauth_last_client[48];
    char unauth_last_error[160];
    /* the last rejected attestations, in memory only (bounded, lost at restart): what the
     * console's denials show without writing unauthenticated failures to the chain one by one */
    struct kbs_reject {
        vt_time time;
        char tee[24], client[48], check[40], error[200];
    } recent[KBS_RECENT_REJECTS];
    size_t recent_n, recent_next;
    /* Tokens whose signature was checked (or made) here, with their exact bytes, direct-mapped
     * (token_cache.c); bounded, a collision replaces the older entry. */
    pthread_mutex_t tok_mu;
    struct kbs_tok_slot {
        char *tok; /* the token's bytes (len) */
        size_t len;
        json_t *claims; /* NULL: empty; shared read-only once stored */
        EVP_PKEY *tee_key; /* the claims' tee-pubkey as a key, checked when it was made; may be NULL */
    } *tok;
    size_t tok_n; /* a power of two */
    uint64_t tok_hits, tok_misses;
    /* The console's audit check (admin.c): records audit_from..audit_seq were checked, as one
     * unbroken run ending at audit_hash, by this broker; the next check continues from there. */
    pthread_mutex_t audit_mu;
    bool audit_marked;
    int64_t audit_from, audit_seq;
    uint8_t audit_hash[VT_AUDIT_HASH_LEN];
};

/* The documents to appraise tee's evidence with, current at this call: shared (the caller
 * must not change them; release with kbs_docs_put). Errors as reading them from the store. */
vt_err kbs_docs_get(vt_kbs *k, const char *tee, kbs_docs **out, vt_error *err);
void kbs_docs_put(vt_kbs *k, kbs_docs *d); /* accepts NULL */
void kbs_docs_free_all(vt_kbs *k);

/* The token cache (token_cache.c). init: 0 or a slot count (rounded up to a power of two). */
vt_err kbs_tokens_init(vt_kbs *k, uint32_t slots, vt_error *err);
void kbs_tokens_free(vt_kbs *k);
/* Remembers that the token jwt[len], whose signature was made or verified with the broker's
 * EAR key, carries claims (a reference, stolen; NULL: nothing). From then on the claims object
 * is shared read-only: nobody may modify it. tee_key (stolen; may be NULL) is the claims'
 * runtime_data_claims.tee-pubkey as vt_jwk_to_pkey_cx made it: a release encrypts to it without
 * decoding the JWK again. */
void kbs_tokens_remember(vt_kbs *k, const char *jwt, size_t len, json_t *claims, EVP_PKEY *tee_key);
/* The claims of a remembered token with exactly these bytes (a new reference, to read only), or
 * NULL. The caller still applies the instant-dependent checks (vt_ear_check_claims). tee_key
 * (may be NULL) gets the remembered key, a new reference, or NULL. */
json_t *kbs_tokens_recall(vt_kbs *k, const char *jwt, size_t len, EVP_PKEY **tee_key);
/* Drops a reference to claims that are, or may be, shared through the cache (recalled, or
 * remembered by this caller): never with a bare json_decref. Accepts NULL. */
void kbs_tokens_release(vt_kbs *k, json_t *claims);


/* Fills a problem reply (status, variant, formatted detail). */
void kbs_fail(vt_kbs_reply *r, int status, const char *variant, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* When e says the store could not be reached (VT_E_IO: a database restarting, a network
 * partition), fills a 503 reply the guest may retry (a new round from /auth) and returns true;
 * a store that answered (a missing or expired session, a used nonce) is not "down". */
bool kbs_store_down(vt_kbs_reply *r, const char *what, const vt_error *e);
/* The same for the collateral the evidence needs (VT_E_MISSING from the check "collateral": its
 * platform's items not cached yet and still being fetched, their upstream failing, none given):
 * the evidence was not judged, so 503 "collateral unavailable ... retry" in r and true. */
bool kbs_collateral_unavailable(vt_kbs_reply *r, const vt_error *e);
/* Random bytes from the configured source. */
vt_err kbs_random(vt_kbs *k, uint8_t *out, size_t n, vt_error *err);
/* Audit record; a failure is counted in veritee_audit_append_failures_total and returned. */
vt_err kbs_audit(vt_kbs *k, vt_time now, const char *actor, const char *action, const char *subject,
                 const char *outcome, json_t *details /* stolen, may be NULL */, vt_error *err);
/* The same, committed without waiting for the disk (vt_store_tx_end_deferred): for an
 * attestation's record, made durable by the release it leads to (whose own record is durable
 * before the secret leaves, and flushes every commit before it). */
vt_err kbs_audit_deferred(vt_kbs *k, vt_time now, const char *actor, const char *action, const char *subject,
                          const char *outcome, json_t *details /* stolen, may be NULL */, vt_error *err);
/* An unauthenticated failure (endpoint "admin", "resource" or "attest"; detail may be NULL):
 * counted in veritee_unauthenticated_total{endpoint}; summarized in the audit chain once per
 * VT_KBS_UNAUTH_SUMMARY_INTERVAL rather than one record each. */
void kbs_unauth(vt_kbs *k, vt_time now, const char *endpoint, const char *client, const char *detail);
/* Writes the pending summary when its interval is over (force: whenever one is pending). */
void kbs_unauth_flush(vt_kbs *k, vt_time now, bool force);
/* Remembers a rejected attestation in the bounded in-memory list (kbs_recent_json). */
void kbs_recent_reject(vt_kbs *k, vt_time now, const char *tee, const char *client, const vt_error *e);
/* The remembered rejections, newest first, in the audit record JSON shape (seq 0, "recorded": false). */
json_t *kbs_recent_json(vt_kbs *k);

/* Evidence: decode the TEE's JSON shape, verify with the broker's trust/collateral, fill
 * claims. report_data (64 bytes) is the expected binding. */
/* GPUs attested beside the CPU TEE (attest_gpu.c): one verdict, claims and appraisal each. */
typedef struct kbs_gpu {
    char label[16]; /* "gpu0" ... the EAR submod */
    bool verified;
    vt_error err;   /* why not, when !verified */
    vt_claims claims;
    vt_appraisal ap;
} kbs_gpu;

typedef struct kbs_gpus {
    kbs_gpu *dev;
    size_t n, n_verified;
} kbs_gpus;

/* Every device of additional_evidence.nvidia (NULL or no "nvidia": none) verified alone with the
 * device nonce rd (vt_rcar_device_binding); a device failing, or repeating an earlier one's UEID,
 * is recorded as not verified. Errors only for a malformed list. Free with kbs_gpus_free. */
vt_err kbs_gpus_verify(vt_kbs *k, const json_t *additional, const uint8_t rd[64], vt_time now, kbs_gpus *out,
                       vt_error *err);
/* Each device appraised by the policy (a device not verified: the rejected appraisal with its reason). */
void kbs_gpus_appraise(kbs_gpus *g, const vt_policy *pol, vt_time now, const vt_refvals *rv, const uint8_t rd[64]);
void kbs_gpus_free(kbs_gpus *g);

/* What the broker expects the TPM kinds' verifiers to check themselves (verify.h): the nonce
 * (the runtime-data digest) and the init-data digest; NULL: none. */
typedef struct kbs_expect {
    const uint8_t *nonce;
    size_t nonce_len;
    const uint8_t *init_data;
    size_t init_data_len;
} kbs_expect;

/* The evidence of the session's TEE verified with the broker's verifiers into *out (its claims
 * in out->claims on success), a zeroed or cleared result the caller owns and clears with
 * vt_verify_result_clear: the caller's own (a request's stack), never a heap copy per request
 * (a 65 KiB result freed per request made glibc consolidate its heap every time). */
vt_err kbs_verify_evidence(vt_kbs *k, const char *tee, const json_t *ev, vt_time now, const vt_policy *pol,
                           const kbs_expect *want, vt_verify_result *out, vt_error *err);

/* TDX cc_eventlog (base64 string or null): replayed into RTMR0..3; each register it extends
 * must equal the claims' rtmrN. VT_E_VERIFY (check "event_log") otherwise. */
vt_err kbs_check_event_log(const json_t *el, const vt_claims *claims, vt_error *err);

#endif
