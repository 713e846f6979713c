/* veritee appraise: verify one piece of evidence with its TEE's verifier (as `veritee verify`
 * does) and turn the result into normalized claims (vt_verify_to_claims). Nonce/init-data
 * checks are left to the policy, so a mismatch is an appraisal verdict, not a verification
 * failure. */
#include <string.h>

#include "appraise_cli.h"
#include "veritee/verify_any.h"

vt_err appraise_verify(const appraise_args *a, const vt_policy *p, const char *file, const vt_buf *ev,
                       vt_claims *out, vt_checks *checks, vt_error *err)
{
    const char *tee = a->tee && strcmp(a->tee, "auto") != 0 ? a->tee : vt_evidence_detect(ev->ptr, ev->len);
    if (tee == NULL)
        return vt_error_set(err, VT_E_ARG, "tee", "%s: cannot tell the evidence kind; use --tee", file);
    vt_verify_sources s = {.trust_dir = a->trust_dir, .collateral_dir = a->collateral_dir,
                           .certs_dir = a->certs_dir, .cpak_file = a->cpak_file, .snp_product = a->product,
                           .allow_missing_crl = a->allow_missing_crl, .snp_crl_required = p->require_revocation};
    return vt_verify_to_claims(&s, tee, ev->ptr, ev->len, a->at, out, checks, err);
}
