/* One verification entry for every TEE (layer `verify`, above tdx/snp/cca, below appraise).
 *
 *   vt_verifier_new(sources)            trust anchors + a collateral source: directories, an
 *                                       on-disk cache, and optionally Intel PCS/PCCS or AMD KDS
 *   vt_verify(verifier, evidence, opts) -> normalized claims + named checks (+ the TEE's own
 *                                       result, for printing its native fields)
 *
 * The same shape for Intel TDX, SGX, AMD SEV-SNP and Arm CCA; a new kind of evidence (TPM,
 * NVIDIA GPU) is one more case of vt_tee and one more builder. `veritee verify`,
 * `veritee appraise` and the key broker all verify through it. Messages speak of the inputs
 * ("the expected nonce"), never of command-line flags. */
#ifndef VERITEE_VERIFY_H
#define VERITEE_VERIFY_H

#include <openssl/x509.h>
#include <stdbool.h>

#include "veritee/api.h"
#include "veritee/cca.h"
#include "veritee/checks.h"
#include "veritee/claims.h"
#include "veritee/err.h"
#include "veritee/nvidia.h"
#include "veritee/snp.h"
#include "veritee/tdx.h"
#include "veritee/vtime.h"

VT_BEGIN_DECLS

/* Where trust and collateral come from. Strings are copied by vt_verifier_new. */
typedef struct vt_verify_sources {
    const char *trust_dir;      /* TDX roots, SNP ARKs, CCA CPAK stores (NULL: built-in vendor roots);
                                   NVIDIA: nvidia_device_root.pem in it or in its nvidia/ directory
                                   (or the file itself) pins the device root instead of the
                                   built-in NVIDIA Device Identity CA */
    const char *collateral_dir; /* TDX PCS collateral; SNP certificates and CRLs */
    const char *certs_dir;      /* SNP: more certificates (VCEK/VLEK, ASK/ARK) */
    const char *cpak_file;      /* CCA: one CPAK (PEM, JWK or store) */
    const char *snp_product;    /* SNP: milan, genoa, turin when the report does not say */
    const char *pcs_url;        /* TDX/SGX, when collateral_dir is not given: fetch the quote's
                                   collateral from Intel PCS or a PCCS (v4 API) into cache_dir/tdx,
                                   each item checked before it is cached (collateral.h); fresh
                                   items are not fetched again */
    const char *kds_url;        /* SNP: fetch the VCEK, ASK/ARK chain and CRL from AMD KDS into
                                   cache_dir, each checked against the ARK (trust_dir, else the
                                   pinned one) before it is cached (vt_coll_snp_fetch); one fetch
                                   in flight per chip and TCB */
    const char *cache_dir;      /* on-disk cache of fetched collateral (docs/collateral.md); read
                                   even without a URL. TDX: its tdx/ directory, or the directory
                                   itself when it has none, is the collateral directory when none
                                   is given */
    bool allow_missing_crl;     /* TDX: PCK CRL may be absent (reported as skipped) */
    /* SNP with kds_url: waits out an AMD KDS 429/503 (NULL: sleeps silently); a caller may say
     * that it waits. */
    void (*kds_wait)(void *ctx, long ms);
    void *kds_wait_ctx;
    struct vt_coll_manager *collateral; /* servers (borrowed): TDX/SGX collateral comes through this
                                   manager (collateral.h: single flight, bounded wait, background
                                   refresh) into cache_dir, instead of a fetch per verification */
    /* Per-call inputs some callers carry along with the sources (the explorer, src/ui): */
    STACK_OF(X509) *snp_certs;  /* SNP: certificates that came with the evidence (borrowed) */
    bool snp_crl_required;      /* SNP: an ARK-issued CRL must be given and consulted */
    const char *tpm_aks;        /* tpm: a PEM file, or a directory of *.pem files, holding the
                                   attestation keys (PUBLIC KEY or CERTIFICATE blocks) trusted to
                                   sign quotes (NULL: none, tpm evidence is VT_E_MISSING) */
    const char *nvidia_ocsp_dir; /* NVIDIA: DER OCSP responses for the device chains: one file, or every
                                    regular file of a directory; checked at each verification's
                                    instant (docs/nvidia.md) */
    bool nvidia_require_ocsp;   /* NVIDIA: a chain no response covers is rejected (VT_E_MISSING) */
    /* Servers: how often the files of the sources are looked at for a change (a stat() of each
     * file of each directory). With a monotonic clock (seconds) and recheck_seconds > 0, at most
     * once per recheck_seconds, so a changed file takes effect within that time rather than at
     * the next verification; vt_verifier_invalidate still takes effect at once. NULL clock or
     * 0: at every verification. Sources with an online fetch (pcs_url, kds_url, collateral)
     * are looked at every time: a fetch may just have written what this verification needs. */
    double (*monotonic)(void);
    double recheck_seconds;
} vt_verify_sources;

/* The evidence kind from its first bytes: "tdx", "sgx", "snp", "cca", or NULL; a JSON object
 * by its keys: "az-snp-vtpm", "az-tdx-vtpm", "tpm". NVIDIA GPU evidence (JSON) is never
 * guessed: it is named ("nvidia"). */
const char *vt_evidence_detect(const uint8_t *p, size_t len);

/* Every TEE's verifier, built lazily from the sources (collateral signatures, trust stores and
 * verified chains kept) and rebuilt when a file in trust_dir, collateral_dir, certs_dir or the
 * TDX cache changes (noticed within recheck_seconds when a clock is given). Thread-safe: one
 * lock for building; the verifications of every kind run outside it, at once; one per process
 * is enough. */
typedef struct vt_verifier vt_verifier;

VT_MUST_USE vt_err vt_verifier_new(const vt_verify_sources *s, vt_verifier **out, vt_error *err);
void vt_verifier_free(vt_verifier *v); /* accepts NULL */
/* Files of the CCA trust directory that could not be loaded and were skipped ("name: reason;
 * ..."), after a CCA verification; NULL when none. Borrowed, valid until the next vt_verify. */
const char *vt_verifier_cca_skipped(vt_verifier *v);
/* Forces a rebuild of every TEE's verifier at the next call, whatever the files' times say (an
 * operator's reload: SIGHUP to `veritee serve`, e.g. after files were replaced with their
 * times kept). Thread-safe. */
void vt_verifier_invalidate(vt_verifier *v); /* accepts NULL */

/* Per-call options. Every option is enforced for every kind of evidence it applies to, and an
 * option that cannot apply to this evidence is refused (VT_E_ARG), never ignored. */
typedef struct vt_verify_opts {
    const char *tee;            /* "tdx", "sgx", "snp", "cca", "az-snp-vtpm", "az-tdx-vtpm", "tpm",
                                   "nvidia" (Trustee's device_evidence_list JSON); NULL or "auto":
                                   detected (never nvidia) */
    vt_time at;                 /* verification instant */
    const uint8_t *nonce;       /* expected REPORTDATA (TDX, SGX, SNP) or realm challenge (CCA):
                                   1..64 bytes, the rest zero; the TPM quote's qualifyingData
                                   (az-*: exactly; tpm: or zero-padded to 32/64 bytes); NULL:
                                   not checked (said so) */
    size_t nonce_len;
    const uint8_t *init_data;   /* expected init-data digest (the TOML's algorithm, CoCo): in
                                   MRCONFIGID (TDX), HOSTDATA (SNP), CONFIGID (SGX), the realm
                                   personalization value (CCA, exactly 64 bytes), PCR8 extended
                                   once from zero (az-*, tpm: a SHA-256 digest); check
                                   "init_data". NULL: not checked */
    size_t init_data_len;
    const char *product;        /* SNP product (milan, genoa, turin); overrides the sources' */
    STACK_OF(X509) *certs;      /* SNP: certificates that came with the evidence (borrowed) */
    bool crl_required;          /* SNP: an ARK-issued CRL must be consulted (TDX always requires
                                   its CRLs unless allow_missing_crl) */
    /* NVIDIA (nonce: the first 32 bytes are the GPU request nonce, shorter is zero-padded): */
    const vt_bytes *ocsp;       /* DER OCSP responses for this call (besides the sources' directory) */
    size_t n_ocsp;
    const struct vt_nvidia_rim *const *rims; /* verified RIMs: each GPU's measurements must match */
    size_t n_rims;
    /* Revocation sources for the device chains (online OCSP, cache, offline responses and CRLs;
     * nvidia.h): NULL: the OCSP responses above and the sources' directory only. Given, those
     * responses are added to its offline ones. */
    const vt_nvidia_revocation *nvidia_revocation;
    /* RIMs by the ids each report names, from a cache or the RIM service, verified with
     * nvidia_rim_verifier (both or neither; nvidia.h, vt_nvidia_rim_get). */
    struct vt_nvidia_rim_verifier *nvidia_rim_verifier;
    const struct vt_nvidia_rim_source *nvidia_rim_source;
} vt_verify_opts;

/* What a verification yields. The TEE's own result is kept for callers that print its native
 * fields; exactly the one of `tee` is set. Views in it point into the evidence buffer, which
 * must outlive the result. Free with vt_verify_result_clear. */
typedef struct vt_verify_result {
    vt_tee tee;
    vt_claims claims;           /* normalized claims (valid when vt_verify returned VT_OK) */
    vt_checks checks;           /* every check run; on failure the failing one last */
    vt_tdx_result *tdx;         /* TDX and SGX; az-tdx-vtpm: its TD quote */
    vt_snp_claims *snp;         /* SNP; az-snp-vtpm: its SNP report */
    vt_cca_token *cca;
    json_t *tpm_claims;         /* az-snp-vtpm, az-tdx-vtpm, tpm: the layer's claims JSON (docs/azure.md) */
    char cca_cpak[128];         /* label of the CPAK that verified the CCA platform token */
    bool cca_cpak_emulated;
    /* NVIDIA: the nvidia layer's claims {"devices":[...]} and one normalized claims per device
     * (claims above is the first device's) */
    json_t *nvidia;
    vt_claims *gpus;
    size_t n_gpus;
} vt_verify_result;

/* Verify evidence. Errors: VT_E_ARG (unknown or mismatched tee, an option that does not apply),
 * VT_E_INVALID/UNSUPPORTED (not evidence of that kind), VT_E_MISSING (collateral or trust
 * absent: fetch and retry), VT_E_VERIFY/EXPIRED/REVOKED/NO_TCB (rejected). out is filled as
 * far as verification got, also on failure (checks). */
VT_MUST_USE vt_err vt_verify(vt_verifier *v, const uint8_t *ev, size_t len, const vt_verify_opts *o, vt_verify_result *out,
                 vt_error *err);
/* Frees what r owns and leaves it empty, as vt_verify_result_init does. */
void vt_verify_result_clear(vt_verify_result *r);
/* Makes r empty (tee unknown, no claims, no checks, nothing owned) without writing all of its
 * 65 KiB: the check entries past checks.n and the claim entries no reader looks at (claims.h,
 * the builders) are left as they were. For a result that may reach vt_verify_result_clear
 * without passing vt_verify, which starts with it. */
void vt_verify_result_init(vt_verify_result *r);
/* The TEE's native claims as JSON (what `veritee verify --json` prints besides file/checks):
 * vt_tdx_result_json, vt_snp_claims_json or vt_cca_claims_json; for the TPM kinds the claims of
 * docs/azure.md; for NVIDIA a copy of the {"devices":[...]} claims. NULL when none. Caller decrefs. */
json_t *vt_verify_result_json(const vt_verify_result *r);

/* Earliest issueDate of TCB Infos and QE Identities in a TDX collateral set (0 when none). */
struct vt_tdx_collateral;
vt_time vt_tdx_collateral_issued(const struct vt_tdx_collateral *c);

VT_END_DECLS

#endif
