/* One call from evidence bytes to normalized claims, for any TEE: the verifier of the
 * evidence's kind run with trust anchors and collateral from directories, as `veritee verify`
 * does. Used by `veritee appraise` and the key broker. */
#ifndef VERITEE_VERIFY_ANY_H
#define VERITEE_VERIFY_ANY_H

#include <openssl/x509.h>
#include <stdbool.h>

#include "veritee/api.h"
#include "veritee/checks.h"
#include "veritee/claims.h"
#include "veritee/err.h"
#include "veritee/vtime.h"

VT_BEGIN_DECLS

typedef struct vt_verify_sources {
    const char *trust_dir;      /* TDX roots, SNP ARKs, CCA CPAK stores (NULL: built-in vendor roots) */
    const char *collateral_dir; /* TDX PCS collateral; SNP certificates and CRLs */
    const char *certs_dir;      /* SNP: more certificates (VCEK/VLEK, ASK/ARK) */
    const char *cpak_file;      /* CCA: one CPAK (PEM, JWK or store) */
    const char *snp_product;    /* SNP: milan, genoa, turin when the report does not say */
    STACK_OF(X509) *snp_certs;  /* SNP: certificates that came with the evidence (borrowed) */
    bool allow_missing_crl;     /* TDX: PCK CRL may be absent (reported as skipped) */
    bool snp_crl_required;      /* SNP: an ARK-issued CRL must be given and consulted */
} vt_verify_sources;

/* The evidence kind from its first bytes: "tdx", "sgx", "snp", "cca", or NULL. */
const char *vt_evidence_detect(const uint8_t *p, size_t len);

/* Verify evidence of kind tee ("tdx", "sgx", "snp", "cca"; NULL = detect) at `at` and fill
 * claims; checks (may be NULL) receives the verifier's named checks. Errors as the verifiers'
 * (VT_E_MISSING for absent collateral or trust, VT_E_VERIFY/EXPIRED/REVOKED/NO_TCB ...), and
 * VT_E_ARG when tee is given but the evidence is of another kind. */
vt_err vt_verify_to_claims(const vt_verify_sources *s, const char *tee, const uint8_t *ev, size_t len,
                           vt_time at, vt_claims *out, vt_checks *checks, vt_error *err);

/* A long-lived form for servers: the verifiers of every TEE built once from the sources'
 * directories (collateral signatures, trust stores and verified chains kept) and rebuilt when
 * a file in trust_dir, collateral_dir or certs_dir changes. Thread-safe (one lock). The
 * sources' strings are copied; snp_certs and the per-call options are given per call. */
typedef struct vt_verify_cache vt_verify_cache;

vt_err vt_verify_cache_new(const vt_verify_sources *s, vt_verify_cache **out, vt_error *err);
void vt_verify_cache_free(vt_verify_cache *c); /* accepts NULL */
/* As vt_verify_to_claims, with the cached verifiers. snp_certs (may be NULL) are certificates
 * that came with this evidence; snp_crl_required as in vt_verify_sources. */
vt_err vt_verify_cache_claims(vt_verify_cache *c, const char *tee, const uint8_t *ev, size_t len,
                              STACK_OF(X509) *snp_certs, bool snp_crl_required, vt_time at, vt_claims *out,
                              vt_checks *checks, vt_error *err);

/* Forces a rebuild of every verifier at the next call, whatever the files' times say (an
 * operator's reload: SIGHUP to `veritee serve`). */
void vt_verify_cache_invalidate(vt_verify_cache *c); /* accepts NULL */

/* Earliest issueDate of TCB Infos and QE Identities in a TDX collateral set (0 when none). */
struct vt_tdx_collateral;
vt_time vt_tdx_collateral_issued(const struct vt_tdx_collateral *c);

VT_END_DECLS

#endif
