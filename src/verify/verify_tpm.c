/* The TPM kinds through the one verification entry (include/veritee/verify.h): az-snp-vtpm (the
 * SNP report inside the HCL report on the SNP path: the VCEK from the evidence, AMD KDS cache,
 * certificate directories, CRLs), az-tdx-vtpm (the TD quote on the TDX path with Intel
 * collateral) and tpm (a quote by an attestation key of the trusted set). docs/azure.md. */
#include <stdlib.h>
#include <string.h>

#include "verify_internal.h"

/* The 1184-byte hardware report (SNP) or the TD quote (TDX) of Azure evidence, copied out;
 * VT_E_INVALID when the evidence does not parse (the verification then says why, precisely). */
static vt_err az_inner(const uint8_t *ev, size_t len, vt_az_kind kind, vt_buf *out, vt_error *err)
{
    vt_az_evidence e;
    vt_hcl_report h;
    memset(&e, 0, sizeof e);
    vt_err rc = vt_az_evidence_parse(ev, len, kind, &e, err);
    if (rc == VT_OK && kind == VT_AZ_TDX) rc = vt_buf_set(out, e.td_quote.ptr, e.td_quote.len, err);
    if (rc == VT_OK && kind == VT_AZ_SNP) rc = vt_hcl_report_parse(e.hcl_report.ptr, e.hcl_report.len, &h, err);
    if (rc == VT_OK && kind == VT_AZ_SNP) rc = vt_buf_set(out, h.hw_report.ptr, h.hw_report.len, err);
    vt_az_evidence_free(&e);
    return rc;
}

vt_err verify_az_fetch(vt_verifier *v, vt_tee kind, const uint8_t *ev, size_t len, const vt_verify_opts *o,
                       vt_error *err)
{
    bool snp = kind == VT_TEE_AZ_SNP_VTPM;
    /* as verify_fetch_snp / verify_fetch_tdx decide for the bare hardware evidence */
    if (snp ? v->kds_url == NULL && v->collateral == NULL
            : v->collateral_dir != NULL || (v->pcs_url == NULL && v->collateral == NULL))
        return VT_OK;
    vt_buf inner = {0};
    vt_error ignored;
    if (az_inner(ev, len, snp ? VT_AZ_SNP : VT_AZ_TDX, &inner, &ignored) != VT_OK) return VT_OK;
    vt_err rc = snp ? verify_fetch_snp(v, inner.ptr, inner.len, o, err)
                    : verify_fetch_tdx(v, "tdx", inner.ptr, inner.len, o->at, err);
    vt_buf_free(&inner);
    return rc;
}


/* SNP collateral for the report inside az-snp-vtpm evidence, as for --tee snp: the caller's
 * certificates, the AMD KDS cache's, the directories' (all borrowed by cand). */
static vt_err az_snp_collateral(vt_verifier *v, const uint8_t *ev, size_t len, const vt_verify_opts *o,
                                vt_snp_product product, vt_snp_dir_collateral kds[VERIFY_KDS_DIRS], STACK_OF(X509) *cand,
                                STACK_OF(X509_CRL) *crls, vt_error *err)
{
    if (v->cache_dir != NULL) {
        vt_buf hw = {0};
        vt_error ignored;
        if (az_inner(ev, len, VT_AZ_SNP, &hw, &ignored) == VT_OK) {
            vt_err rc = verify_load_kds(v, hw.ptr, hw.len, product, kds, err);
            vt_buf_free(&hw);
            VT_GUARD(rc);
        }
    }
    return verify_snp_candidates(v, o, kds, cand, crls, err);
}

static vt_err verify_az(vt_verifier *v, vt_tee kind, const uint8_t *ev, size_t len, const vt_verify_opts *o,
                        vt_verify_result *r, vt_error *err)
{
    bool snp = kind == VT_TEE_AZ_SNP_VTPM;
    vt_azure_verify_opts ao = {.at = o->at, .nonce = o->nonce, .nonce_len = o->nonce_len,
                               .init_data_hash = o->init_data, .snp_crl_required = o->crl_required};
    vt_snp_dir_collateral kds[VERIFY_KDS_DIRS];
    memset(kds, 0, sizeof kds);
    STACK_OF(X509) *cand = NULL;
    STACK_OF(X509_CRL) *crls = NULL;
    vt_err rc = VT_OK;
    if (snp) {
        VT_GUARD(verify_snp_product(v, o, &ao.snp_product, err));
        cand = sk_X509_new_null();
        crls = sk_X509_CRL_new_null();
        rc = cand != NULL && crls != NULL ? az_snp_collateral(v, ev, len, o, ao.snp_product, kds, cand, crls, err)
                                          : vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
        ao.snp_certs = cand;
        ao.snp_crls = crls;
    }
    vt_azure_result res;
    memset(&res, 0, sizeof res);
    if (rc == VT_OK) rc = vt_az_vtpm_verify(v->az, snp ? VT_AZ_SNP : VT_AZ_TDX, ev, len, &ao, &res, &r->checks, err);
    r->snp = res.snp;
    r->tdx = res.tdx;
    r->tpm_claims = res.claims;
    if (rc == VT_OK) rc = snp ? vt_claims_from_snp(r->snp, &r->claims, err) : vt_claims_from_tdx(r->tdx, &r->claims, err);
    if (rc == VT_OK) rc = vt_claims_add_tpm(kind, r->tpm_claims, &r->claims, err);
    if (rc == VT_OK && snp) r->claims.revocation_checked = o->crl_required;
    if (rc == VT_OK && !snp) {
        r->claims.has_collateral_issued = v->tdx_issued != 0;
        r->claims.collateral_issued = v->tdx_issued;
    }
    sk_X509_free(cand);
    sk_X509_CRL_free(crls);
    verify_kds_free(kds);
    return rc;
}

static vt_err verify_tpm(vt_verifier *v, const uint8_t *ev, size_t len, const vt_verify_opts *o, vt_verify_result *r,
                         vt_error *err)
{
    vt_tpm_verify_opts to = {.at = o->at, .nonce = o->nonce, .nonce_len = o->nonce_len, .init_data_hash = o->init_data};
    VT_GUARD(vt_tpm_verify(v->tpm, ev, len, &to, &r->tpm_claims, &r->checks, err));
    return vt_claims_add_tpm(VT_TEE_TPM, r->tpm_claims, &r->claims, err);
}

vt_err verify_tpm_prepare(vt_verifier *v, vt_tee kind, vt_error *err)
{
    if (kind == VT_TEE_TPM) {
        verifier_refresh(v, VT_TEE_TPM);
        return verify_built(v->tpm_rc, &v->tpm_err, err);
    }
    bool snp = kind == VT_TEE_AZ_SNP_VTPM;
    verifier_refresh(v, snp ? VT_TEE_SNP : VT_TEE_TDX);
    VT_GUARD(snp ? verify_built(v->snp_rc, &v->snp_err, err) : verify_built(v->tdx_rc, &v->tdx_err, err));
    return verifier_azure(v, err);
}

vt_err verify_tpm_kind(vt_verifier *v, vt_tee kind, const uint8_t *ev, size_t len, const vt_verify_opts *o,
                       vt_verify_result *r, vt_error *err)
{
    return kind == VT_TEE_TPM ? verify_tpm(v, ev, len, o, r, err) : verify_az(v, kind, ev, len, o, r, err);
}
