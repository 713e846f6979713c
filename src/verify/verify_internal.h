/* Internal interface of the verify layer: the verifier context shared by verifier.c (building
 * and rebuilding every TEE's verifier from the sources) and verify.c (one verification). */
#ifndef VT_VERIFY_INTERNAL_H
#define VT_VERIFY_INTERNAL_H

#include <pthread.h>

#include "veritee/verify.h"

#include "veritee/snp_kds.h"
#include "veritee/azure.h"
#include "veritee/tpm.h"

#define VERIFY_MAX_INFLIGHT 16
#define VERIFY_KDS_DIRS 6 /* AMD KDS cache directories one report may use: chain and leaf, x3 products */

struct vt_verifier {
    /* mu guards looking at the sources and (re)building the verifiers. TDX/SGX, SNP, CCA and
     * GPU verifications run outside it, at once (their verifiers are thread-safe; a GPU's OCSP
     * and RIM fetches may take up to their timeouts): each takes rw for reading under mu and
     * uses its verifier without mu; dropping the verifiers (under mu) takes rw for writing, so
     * it waits for those in flight, and no new one starts meanwhile (they need mu to start).
     * The TPM kinds run under mu (the Azure verifier is rebuilt over the current SNP and TDX
     * verifiers when they change). */
    pthread_mutex_t mu;
    pthread_rwlock_t rw;
    /* online fetches run outside mu; one in flight per object (AMD KDS: per VCEK / chain) */
    pthread_mutex_t fetch_mu;
    pthread_cond_t fetch_cv;
    char inflight[VERIFY_MAX_INFLIGHT][VT_SNP_KDS_PATH_MAX];
    char *trust_dir, *collateral_dir, *certs_dir, *cpak_file, *snp_product, *pcs_url, *kds_url, *cache_dir, *tpm_aks;
    char *cache_tdx_dir; /* cache_dir/tdx */
    struct vt_coll_manager *collateral; /* borrowed */
    bool allow_missing_crl;
    void (*kds_wait)(void *ctx, long ms);
    void *kds_wait_ctx;
    int64_t stamp; /* newest mtime (ns) of the files the verifiers were built from */
    double (*monotonic)(void);
    double recheck;     /* seconds between looks at the sources' files; 0: every verification */
    double checked_at;  /* monotonic instant of the last look (valid when built) */
    bool online;        /* a fetch may write into the sources: look every time */
    bool built;
    bool tdx_ready, snp_ready, cca_ready, tpm_ready; /* that TEE's verifier was built from these sources */
    vt_tdx_verifier *tdx;
    vt_err tdx_rc; /* building the TDX verifier failed (reported when TDX evidence comes) */
    vt_error tdx_err;
    vt_time tdx_issued;
    vt_snp_verifier *snp;
    STACK_OF(X509) *snp_pool; /* certificates of certs_dir / collateral_dir: VCEK/VLEK, ASK, ... */
    vt_err snp_rc;
    vt_error snp_err;
    vt_cca_trust cca;
    vt_err cca_rc;
    vt_error cca_err;
    vt_tpm_verifier *tpm; /* trusted AKs of tpm_aks */
    vt_err tpm_rc;
    vt_error tpm_err;
    vt_azure_verifier *az; /* over the SNP and TDX verifiers it was built with (az_snp, az_tdx) */
    vt_snp_verifier *az_snp;
    vt_tdx_verifier *az_tdx;
    /* NVIDIA GPUs */
    char *nvidia_ocsp_dir;
    bool nvidia_require_ocsp;
    bool nv_ready;
    vt_nvidia_verifier *nv;
    vt_bytes *nv_ocsp;   /* the OCSP responses of nvidia_ocsp_dir (owned) */
    size_t n_nv_ocsp;
    vt_err nv_rc;
    vt_error nv_err;
};

/* The TDX collateral directory: collateral_dir, else the cache's tdx/ directory (where PCS
 * fetches go), else the cache directory itself (a collateral directory given as a cache). */
const char *verifier_tdx_dir(const vt_verifier *v);
/* Drop every verifier when the sources changed, and build the one of `tee` if it is not built
 * yet. Caller holds v->mu. */
void verifier_refresh(vt_verifier *v, vt_tee tee);
/* The Azure verifier over the current SNP and TDX verifiers (rebuilt when they were). Caller
 * holds v->mu. */
vt_err verifier_azure(vt_verifier *v, vt_error *err);
/* az-snp-vtpm, az-tdx-vtpm and tpm evidence (verify_tpm.c): verify_tpm_prepare under v->mu
 * builds what the kind needs (the sources looked at, the Azure verifier over the SNP or TDX
 * one); verify_tpm_kind then runs outside mu, holding v->rw for reading, as the TEEs' own
 * verifications do (the Azure verifier's VCEK cache has its own lock; the TPM verifier's
 * trusted keys are only read). */
vt_err verify_tpm_prepare(vt_verifier *v, vt_tee kind, vt_error *err);
vt_err verify_tpm_kind(vt_verifier *v, vt_tee kind, const uint8_t *ev, size_t len, const vt_verify_opts *o,
                       vt_verify_result *r, vt_error *err);
/* Before the lock: fetch online collateral for the hardware report inside Azure evidence. */
vt_err verify_az_fetch(vt_verifier *v, vt_tee kind, const uint8_t *ev, size_t len, const vt_verify_opts *o,
                       vt_error *err);
/* verify_sources.c, for verify.c and verify_tpm.c: a verifier's build outcome (rc, and the error
 * saved when it failed), online collateral (fetched before the lock), the AMD KDS cache (loaded
 * under it) and the SNP product. */
vt_err verify_built(vt_err rc, const vt_error *saved, vt_error *err);
vt_err verify_fetch_snp(vt_verifier *v, const uint8_t *ev, size_t len, const vt_verify_opts *o, vt_error *err);
vt_err verify_fetch_tdx(const vt_verifier *v, const char *tee, const uint8_t *ev, size_t len, vt_time at, vt_error *err);
/* Directories of the KDS cache one report may use: chain and leaf for each of Milan, Genoa,
 * Turin (a version-2 report with no product named); kds[0..1] when the product is known. */
#define VERIFY_KDS_DIRS 6
vt_err verify_load_kds(const vt_verifier *v, const uint8_t *ev, size_t len, vt_snp_product product,
                       vt_snp_dir_collateral kds[VERIFY_KDS_DIRS], vt_error *err);
/* cand: the call's certificates, then the cache's, then the trust directories' (borrowed, not
 * owned by cand); crls: the cache's CRLs (borrowed). */
vt_err verify_snp_candidates(const vt_verifier *v, const vt_verify_opts *o, vt_snp_dir_collateral kds[VERIFY_KDS_DIRS],
                             STACK_OF(X509) *cand, STACK_OF(X509_CRL) *crls, vt_error *err);
/* Reset claims for a builder (claims.c): every field reads as zero except the TPM PCR and event
 * entries past their counts and the CCA and GPU members of the per-TEE union, which the code that
 * fills them zeroes first. Zeroing all 54 KiB of a vt_claims three times was most of the memory a
 * key-broker round wrote. */
void claims_reset(vt_claims *c);
void verify_kds_free(vt_snp_dir_collateral kds[VERIFY_KDS_DIRS]);
vt_err verify_snp_product(const vt_verifier *v, const vt_verify_opts *o, vt_snp_product *out, vt_error *err);

#endif
