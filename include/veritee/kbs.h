/* Key Broker Service: the CoCo KBS protocol RCAR 0.4.0 (specs/kbs-protocol.md) as transport-free
 * handlers: /auth, /attest, resource release (JWE to the TEE key), the admin API, resource
 * policies. The protocol pieces both sides share are rcar.h; the HTTP wiring is the server's
 * (kbs_http.h, src/server/kbs_routes.c); tests call the handlers directly. No clock: the time of
 * every call comes in vt_kbs_call.now. */
#ifndef VERITEE_KBS_H
#define VERITEE_KBS_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/claims.h"
#include "veritee/codec.h"
#include "veritee/ear.h"
#include "veritee/err.h"
#include "veritee/metrics.h"
#include "veritee/policy.h"
#include "veritee/rcar.h"
#include "veritee/store.h"
#include "veritee/vtime.h"

VT_BEGIN_DECLS

#define VT_KBS_SESSION_ID_LEN 32          /* UUIDv4 simple form: 32 lower-case hex */
#define VT_KBS_NONCE_LEN 32               /* random bytes; sent as standard base64 (44 chars) */
#define VT_KBS_DEFAULT_TOKEN_LIFETIME 300 /* seconds (Trustee: exp = iat + 300) */
#define VT_KBS_DEFAULT_SESSION_LIFETIME 300
#define VT_KBS_ADMIN_MAX_LIFETIME 300     /* admin JWT: exp - iat at most this */
#define VT_KBS_TRUSTEE_MAX_LIFETIME 7200  /* Trustee admin token: kbs-client signs exp = iat + 2 h */
#define VT_KBS_TRUSTEE_SKEW 60            /* ... and its iat/nbf may be this far ahead of our clock */
#define VT_KBS_MAX_TOKEN_SKEW 300
/* Unauthenticated failures are written to the audit chain as one summary record per this
 * many seconds (and counted in veritee_unauthenticated_total), not one record each. */
#define VT_KBS_UNAUTH_SUMMARY_INTERVAL 60

#define VT_KBS_DEFAULT_TOKEN_CACHE 1024
#define VT_KBS_DEFAULT_AUDIT_WINDOW 200000u /* records: about 0.5 s of checking */
#define VT_KBS_MAX_TOKEN_CACHE 65536
struct vt_nvidia_revocation;
struct vt_nvidia_rim_verifier;
struct vt_nvidia_rim_source;

/* Randomness is a parameter: fill out[n], return 0 on success. */
typedef int (*vt_kbs_rng)(void *ud, uint8_t *out, size_t n);

typedef struct vt_kbs_config {
    vt_store *store;                /* borrowed: sessions, nonces, resources, documents, audit */
    vt_metrics *metrics;            /* borrowed, may be NULL */
    EVP_PKEY *ear_key;              /* borrowed P-256 private key signing EARs (required) */
    EVP_PKEY *admin_key;            /* borrowed admin public key (EC P-256 or Ed25519);
                                       NULL: every admin request is refused */
    EVP_PKEY *trustee_admin_key;    /* borrowed Ed25519 public key: Trustee's kbs-client admin
                                       tokens (compatibility mode, docs/coco.md) may set resources
                                       and policies; NULL (the default): such tokens are refused */
    const char *trust_dir;          /* trust anchors for the verifiers (as `veritee verify --trust`) */
    const char *collateral_dir;     /* collateral (as `veritee verify --collateral`) */
    const char *tpm_aks;            /* a PEM file or directory of trusted TPM attestation keys: the
                                       tee "tpm" is accepted only when given (NULL: refused) */
    const char *pcs_url, *kds_url;  /* online collateral (Intel PCS/PCCS, AMD KDS) fetched into... */
    const char *cache_dir;          /* ... this cache (as `veritee verify --cache`) */
    struct vt_coll_manager *collateral; /* borrowed, may be NULL: TDX/SGX collateral kept fresh by a
                                       collateral manager (collateral.h) in cache_dir, fetched on
                                       demand once per platform, never on the hot path when fresh */
    const char *policy_text;        /* attestation policy used when the store holds none;
                                       NULL: the built-in default ({"id":"default"}) */
    int64_t token_lifetime;         /* seconds; 0: VT_KBS_DEFAULT_TOKEN_LIFETIME */
    int64_t session_lifetime;       /* seconds; 0: VT_KBS_DEFAULT_SESSION_LIFETIME */
    int64_t token_skew;             /* seconds of clock skew allowed when checking a bearer EAR's
                                       iat and exp (a token is refused from exp + skew on);
                                       0: none; at most VT_KBS_MAX_TOKEN_SKEW */
    uint64_t max_sessions;          /* live (unexpired) sessions not yet attested at most; 0: no
                                       limit. Over it, /auth answers 503 so guests retry later */
    uint64_t max_sessions_per_client; /* such sessions opened from one client address at most;
                                       0: no limit. Over it, /auth answers 429 to that client
                                       only, so one address cannot lock every guest out */
    bool allow_missing_crl;         /* TDX: accept a PCK chain without CRL (said in the checks) */
    const char *nvidia_ocsp_dir;    /* NVIDIA GPUs: DER OCSP responses for the device chains */
    bool insecure_sample_tee;       /* accept the `sample` TEE (test only; never by default) */
    const char *issuer;             /* EAR "iss"; NULL: "veritee-attestation-service" */
    vt_kbs_rng rng;                 /* NULL: OpenSSL RAND_bytes */
    void *rng_ud;
    double (*monotonic)(void);      /* seconds on a monotonic clock, for the attestation latency
                                       histogram; NULL: latency not observed (the broker reads
                                       no clock itself) */
    uint32_t token_cache_slots;     /* tokens whose signature this broker checked (or made),
                                       remembered with their exact bytes so a resource
                                       request does not verify them again (the time checks still
                                       run at each request): 0: VT_KBS_DEFAULT_TOKEN_CACHE; rounded
                                       up to a power of two, at most VT_KBS_MAX_TOKEN_CACHE */
    /* NVIDIA GPUs (last, so the members before keep their offsets): the revocation sources of
     * every device chain (online OCSP with its cache and timeout, offline responses and CRLs,
     * allow_unknown; nvidia.h) and the RIMs each report
     * names (a RIM source: cache, RIM service; with the verifier of the pinned RIM root). All
     * borrowed and shared by the request threads, so they must outlive the broker and not be
     * changed while it runs. Each verification uses a copy whose OCSP nonce comes from the
     * broker's rng and which counts nothing (their stats pointers are not used). NULL: offline
     * responses of nvidia_ocsp_dir only, no RIM appraisal (a policy requiring a RIM match then
     * refuses every GPU). The RIM verifier's own revocation settings (its signer chains) are
     * the caller's: vt_nvidia_rim_verifier_set_revocation before vt_kbs_new. */
    const struct vt_nvidia_revocation *nvidia_revocation;
    struct vt_nvidia_rim_verifier *nvidia_rim_verifier;
    const struct vt_nvidia_rim_source *nvidia_rim_source;
    /* The console's audit view (last, likewise): each call checks the chain only after what
     * this broker checked before, joined by hash; the first call, and one that finds more new
     * records than this, checks only the newest this many. 0: VT_KBS_DEFAULT_AUDIT_WINDOW. */
    uint32_t audit_check_window;
} vt_kbs_config;

typedef struct vt_kbs vt_kbs;

/* Creates the broker (copies the configuration; the borrowed objects must outlive it). */
VT_MUST_USE vt_err vt_kbs_new(const vt_kbs_config *cfg, vt_kbs **out, vt_error *err);
void vt_kbs_free(vt_kbs *k); /* accepts NULL */
/* Resource requests whose token was found in the token cache (no signature verification) and
 * those verified in full, since the broker was created. */
void vt_kbs_token_cache_stats(vt_kbs *k, uint64_t *hits, uint64_t *misses);
/* Attestations appraised with the policy and reference values parsed for an earlier one (the
 * store's documents unchanged since, on every node, and no reload), and those that read and
 * parsed them, since the broker was created. */
void vt_kbs_docs_cache_stats(vt_kbs *k, uint64_t *hits, uint64_t *misses);

/* An operator's reload (SIGHUP to `veritee serve`): every verifier is rebuilt from the trust and
 * collateral directories at the next attestation, and, when policy_text is not NULL, it replaces
 * the configured attestation policy (copied; parsed first: on a bad policy err says why and the
 * old one stays). Safe while requests are served. */
VT_MUST_USE vt_err vt_kbs_reload(vt_kbs *k, const char *policy_text, vt_error *err);

/* A transport-free call. Everything borrowed. */
typedef struct vt_kbs_call {
    vt_time now;
    const char *session_id;  /* value of the kbs-session-id cookie, NULL when absent */
    const char *bearer;      /* Authorization: Bearer token, NULL when absent */
    size_t bearer_len;
    const uint8_t *body;
    size_t body_len;
    const char *method;      /* admin API: "GET", "POST", "DELETE" */
    const char *path;        /* admin API: full request path ("/kbs/v0/resource/a/b/c") */
    const char *target;      /* the request target as sent (path and query, not decoded), which
                                an admin token's htu must equal; NULL: path, followed by
                                "?version=<query_version>" when query_version is set */
    const char *query_version; /* ?version=N (resource GET, admin revoke), NULL when absent */
    const char *client;      /* client address, for the audit log; may be NULL */
} vt_kbs_call;

/* What a handler answers. status 200 with json (or raw body) or an RFC 7807-style problem
 * {"type": VT_RCAR_ERROR_NS<Variant>, "detail"} with 401/404/... (kbs-protocol.md §13). */
typedef struct vt_kbs_reply {
    int status;
    json_t *json;             /* owned body, NULL: empty body */
    char problem[40];         /* error variant ("AttestationError", "PolicyDeny", ...) or "" */
    char detail[VT_ERR_MSG_MAX + 64];
    bool set_cookie;          /* send Set-Cookie: kbs-session-id=<session_id>; Expires=... */
    char session_id[VT_KBS_SESSION_ID_LEN + 1];
    vt_time session_expires;
} vt_kbs_reply;

void vt_kbs_reply_clear(vt_kbs_reply *r); /* frees the JSON; accepts NULL */

/* POST /kbs/v0/auth: Request {version, tee, extra-params} -> Challenge {nonce, extra-params: ""}
 * and a new session. */
void vt_kbs_auth(vt_kbs *k, const vt_kbs_call *c, vt_kbs_reply *r);
/* POST /kbs/v0/attest: Attestation {init-data, runtime-data, tee-evidence} -> {"token": EAR}.
 * A second call on an attested session returns the same token. */
void vt_kbs_attest(vt_kbs *k, const vt_kbs_call *c, vt_kbs_reply *r);
/* GET /kbs/v0/resource/<repo>/<type>/<tag> (path = "repo/type/tag"): token from the attested
 * session or the bearer, verified with the broker's EAR key, resource policy, flattened JWE. */
void vt_kbs_resource(vt_kbs *k, const char *path, const vt_kbs_call *c, vt_kbs_reply *r);
/* Admin API (docs/kbs.md): c->method + c->path, authenticated by an admin JWT in c->bearer. */
void vt_kbs_admin(vt_kbs *k, const vt_kbs_call *c, vt_kbs_reply *r);
/* Deletes expired sessions, nonces and admin token ids (SQLite: and returns the space); writes
 * the pending summary of unauthenticated failures when its interval is over; updates the
 * active-sessions gauge. */
VT_MUST_USE vt_err vt_kbs_sweep(vt_kbs *k, vt_time now, vt_error *err);

/* ---- resource policy (docs/kbs.md) ---- */

/* Evaluates the resource policy JSON text (NULL: the default, affirming only) on verified EAR
 * claims for path. VT_OK: allowed; VT_E_VERIFY: denied (err says why); VT_E_INVALID: bad policy. */
VT_MUST_USE vt_err vt_kbs_rpolicy_eval(const char *policy, const json_t *ear, const char *path, vt_error *err);
/* Validates a resource policy document. */
VT_MUST_USE vt_err vt_kbs_rpolicy_check(const char *policy, size_t len, vt_error *err);

/* ---- admin tokens ---- */

/* Signs an admin JWT (ES256 for P-256 keys, EdDSA for Ed25519) binding method, the request
 * target (path and query exactly as sent, "htu") and the body's SHA-256, with a random jti,
 * iat = now, exp = now + ttl (<= 300). *jwt owned. */
VT_MUST_USE vt_err vt_kbs_admin_token(EVP_PKEY *priv, const char *method, const char *target, const uint8_t *body,
                          size_t body_len, vt_time now, int64_t ttl, const char *sub, char **jwt,
                          vt_error *err);
/* Verifies one (signature, iat/exp, lifetime, method/target/body binding); *claims owned. The
 * replay (jti) check is the caller's (vt_store_jti_use). */
VT_MUST_USE vt_err vt_kbs_admin_token_verify(EVP_PKEY *pub, const char *jwt, size_t len, const char *method,
                                 const char *target, const uint8_t *body, size_t body_len, vt_time now,
                                 json_t **claims, vt_error *err);

/* Verifies a Trustee admin token (Trustee's "simple" admin backend, as kbs-client signs it):
 * a compact JWS with header alg "EdDSA" under the Ed25519 key pub, claims iat and exp (integers,
 * 0 < exp - iat <= VT_KBS_TRUSTEE_MAX_LIFETIME), nbf optional; valid at now (iat and nbf at most
 * VT_KBS_TRUSTEE_SKEW ahead, exp after now). It binds no request and carries no jti: see the
 * security trade-off in docs/coco.md. *claims owned. */
VT_MUST_USE vt_err vt_kbs_trustee_token_verify(EVP_PKEY *pub, const char *jwt, size_t len, vt_time now,
                                               json_t **claims, vt_error *err);

VT_END_DECLS

#endif
