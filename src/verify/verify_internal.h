/* Internal interface of the verify layer: the verifier context shared by verifier.c (building
 * and rebuilding every TEE's verifier from the sources) and verify.c (one verification). */
#ifndef VT_VERIFY_INTERNAL_H
#define VT_VERIFY_INTERNAL_H

#include <pthread.h>

#include "veritee/verify.h"

#include "veritee/snp_kds.h"

#define VERIFY_MAX_INFLIGHT 16

struct vt_verifier {
    pthread_mutex_t mu;
    /* online fetches run outside mu; one in flight per object (AMD KDS: per VCEK / chain) */
    pthread_mutex_t fetch_mu;
    pthread_cond_t fetch_cv;
    char inflight[VERIFY_MAX_INFLIGHT][VT_SNP_KDS_PATH_MAX];
    char *trust_dir, *collateral_dir, *certs_dir, *cpak_file, *snp_product, *pcs_url, *kds_url, *cache_dir;
    char *cache_tdx_dir; /* cache_dir/tdx */
    struct vt_coll_manager *collateral; /* borrowed */
    bool allow_missing_crl;
    void (*kds_wait)(void *ctx, long ms);
    void *kds_wait_ctx;
    int64_t stamp; /* newest mtime (ns) of the files the verifiers were built from */
    bool built;
    bool tdx_ready, snp_ready, cca_ready; /* that TEE's verifier was built from these sources */
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

#endif
