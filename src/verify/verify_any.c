/* Evidence kind detection and the earlier one-call forms of the verification entry
 * (include/veritee/verify_any.h), all over vt_verify (verify.c). */
#include <string.h>

#include "veritee/verify_any.h"

const char *vt_evidence_detect(const uint8_t *p, size_t len)
{
    if (len >= 3 && p[0] == 0xd9 && ((p[1] == 0x01 && p[2] == 0x8f) || (p[1] == 0x03 && p[2] == 0x8b)))
        return "cca";
    if (len >= VT_SNP_REPORT_SIZE && p[0] >= 2 && p[0] <= 5 && p[1] == 0 && p[2] == 0 && p[3] == 0)
        return "snp"; /* u32 version 2..5 */
    if (len >= 8 && p[2] == 2 && p[3] == 0) { /* attestation key type 2 = ECDSA-256 */
        if (p[0] == 3 && p[1] == 0) return "sgx";
        if ((p[0] == 4 || p[0] == 5) && p[1] == 0) return p[4] == 0x81 ? "tdx" : "sgx";
    }
    return NULL;
}

vt_time vt_tdx_collateral_issued(const struct vt_tdx_collateral *c)
{
    vt_time t = 0;
    for (size_t i = 0; i < c->n_tcb_infos; i++)
        if (t == 0 || c->tcb_infos[i].issue_date < t) t = c->tcb_infos[i].issue_date;
    for (size_t i = 0; i < c->n_qe_identities; i++)
        if (t == 0 || c->qe_identities[i].issue_date < t) t = c->qe_identities[i].issue_date;
    return t;
}

vt_err vt_verify_cache_new(const vt_verify_sources *s, vt_verify_cache **out, vt_error *err)
{
    return vt_verifier_new(s, out, err);
}

void vt_verify_cache_free(vt_verify_cache *c) { vt_verifier_free(c); }

vt_err vt_verify_cache_claims(vt_verify_cache *c, const char *tee, const uint8_t *ev, size_t len,
                              STACK_OF(X509) *snp_certs, bool snp_crl_required, vt_time at, vt_claims *out,
                              vt_checks *checks, vt_error *err)
{
    vt_verify_opts o = {.tee = tee, .at = at, .certs = snp_certs, .crl_required = snp_crl_required};
    vt_verify_result r;
    vt_err rc = vt_verify(c, ev, len, &o, &r, err);
    if (rc == VT_OK) *out = r.claims;
    else memset(out, 0, sizeof *out);
    if (checks != NULL) *checks = r.checks;
    vt_verify_result_clear(&r);
    return rc;
}

vt_err vt_verify_to_claims(const vt_verify_sources *s, const char *tee, const uint8_t *ev, size_t len,
                           vt_time at, vt_claims *out, vt_checks *checks, vt_error *err)
{
    vt_verifier *v = NULL;
    VT_GUARD(vt_verifier_new(s, &v, err));
    vt_err rc = vt_verify_cache_claims(v, tee, ev, len, s->snp_certs, s->snp_crl_required, at, out, checks, err);
    vt_verifier_free(v);
    return rc;
}
