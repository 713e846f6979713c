/* veritee appraise: verify one piece of evidence through the verification entry every command
 * uses (include/veritee/verify.h) into normalized claims. Nonce/init-data checks are left to
 * the policy, so a mismatch is an appraisal verdict, not a verification failure. */
#include <stdlib.h>
#include <string.h>

#include "appraise_cli.h"
#include "veritee/fileio.h"
#include "veritee/verify.h"

vt_err appraise_verify(const appraise_args *a, const vt_policy *p, const char *file, const vt_buf *ev,
                       vt_claims *out, vt_checks *checks, vt_error *err)
{
    const char *tee = a->tee && strcmp(a->tee, "auto") != 0 ? a->tee : vt_evidence_detect(ev->ptr, ev->len);
    if (tee == NULL)
        return vt_error_set(err, VT_E_ARG, "tee", "%s: cannot tell the evidence kind; use --tee", file);
    bool snp = strcmp(tee, "snp") == 0 || strcmp(tee, "az-snp-vtpm") == 0, tpm = strcmp(tee, "tpm") == 0;
    /* tpm: --trust names the trusted attestation keys */
    vt_verify_sources s = {.trust_dir = tpm ? NULL : a->trust_dir, .tpm_aks = tpm ? a->trust_dir : NULL,
                           .collateral_dir = tpm ? NULL : a->collateral_dir,
                           .certs_dir = a->certs_dir, .cpak_file = a->cpak_file, .pcs_url = a->pcs_url,
                           .kds_url = a->kds_url, .cache_dir = a->cache_dir,
                           .allow_missing_crl = a->allow_missing_crl};
    /* several pieces of evidence of different kinds share the options: the SNP ones go to SNP */
    vt_verify_opts o = {.tee = tee, .at = a->at, .product = snp ? a->product : NULL,
                        .crl_required = snp && p->require_revocation};
    vt_verifier *v = NULL;
    VT_GUARD(vt_verifier_new(&s, &v, err));
    vt_verify_result r;
    vt_err rc = vt_verify(v, ev->ptr, ev->len, &o, &r, err);
    if (rc == VT_OK) *out = r.claims;
    if (checks != NULL) *checks = r.checks;
    vt_verify_result_clear(&r);
    vt_verifier_free(v);
    return rc;
}

vt_err appraise_verify_gpus(const appraise_args *a, const char *file, const vt_buf *nonce, vt_claims **gpus,
                            size_t *n, vt_error *err)
{
    *gpus = NULL;
    *n = 0;
    vt_buf ev = {0};
    VT_GUARD(vt_file_read(file, VT_FILE_MAX, &ev, err));
    vt_verify_sources s = {.trust_dir = a->trust_dir, .nvidia_ocsp_dir = a->ocsp};
    vt_verify_opts o = {.tee = "nvidia", .at = a->at, .nonce = nonce->ptr, .nonce_len = nonce->len};
    vt_verifier *v = NULL;
    vt_verify_result r;
    memset(&r, 0, sizeof r);
    /* the revocation and RIM sources exactly as 'veritee verify --tee nvidia' builds them */
    cli_nv_sources nv = a->nv;
    nv.cache_dir = a->cache_dir;
    vt_err rc = cli_nv_load(&nv, true, a->at, &r.checks, err);
    if (rc == VT_OK) {
        o.nvidia_revocation = nv.rev;
        o.rims = nv.rim_ptrs;
        o.n_rims = nv.n_rims;
        if (nv.rim_service || (nv.rim_verifier != NULL && a->cache_dir != NULL)) {
            o.nvidia_rim_verifier = nv.rim_verifier;
            o.nvidia_rim_source = nv.rim_source;
        }
        rc = vt_verifier_new(&s, &v, err);
    }
    if (rc == VT_OK) rc = vt_verify(v, ev.ptr, ev.len, &o, &r, err);
    if (rc == VT_OK) {
        *gpus = r.gpus; /* taken over from the result */
        *n = r.n_gpus;
        r.gpus = NULL;
    }
    vt_verify_result_clear(&r);
    vt_verifier_free(v);
    cli_nv_free(&nv);
    vt_buf_free(&ev);
    return rc;
}
