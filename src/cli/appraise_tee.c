/* veritee appraise: verify one piece of evidence with its TEE's verifier (as `veritee verify`
 * does) and turn the result into normalized claims. Nonce/init-data checks are left to the
 * policy, so a mismatch is an appraisal verdict, not a verification failure. */
#include <stdlib.h>
#include <string.h>

#include "appraise_cli.h"
#include "veritee/cca.h"
#include "veritee/certdir.h"
#include "veritee/snp.h"
#include "veritee/tdx.h"

/* Evidence kind from its first bytes (the rule `veritee verify --tee auto` applies). */
static const char *detect(const vt_buf *b)
{
    const uint8_t *p = b->ptr;
    if (b->len >= 3 && p[0] == 0xd9 && ((p[1] == 0x01 && p[2] == 0x8f) || (p[1] == 0x03 && p[2] == 0x8b)))
        return "cca";
    if (b->len >= VT_SNP_REPORT_SIZE && p[0] >= 2 && p[0] <= 5 && p[1] == 0 && p[2] == 0 && p[3] == 0)
        return "snp";
    if (b->len >= 8 && p[2] == 2 && p[3] == 0) {
        if (p[0] == 3 && p[1] == 0) return "sgx";
        if ((p[0] == 4 || p[0] == 5) && p[1] == 0) return p[4] == 0x81 ? "tdx" : "sgx";
    }
    return NULL;
}

/* Earliest issue date of the TCB Infos and QE Identities (the collateral's age). */
static void collateral_issued(const vt_tdx_collateral *c, vt_claims *out)
{
    vt_time t = 0;
    for (size_t i = 0; i < c->n_tcb_infos; i++)
        if (t == 0 || c->tcb_infos[i].issue_date < t) t = c->tcb_infos[i].issue_date;
    for (size_t i = 0; i < c->n_qe_identities; i++)
        if (t == 0 || c->qe_identities[i].issue_date < t) t = c->qe_identities[i].issue_date;
    out->has_collateral_issued = t != 0;
    out->collateral_issued = t;
}

static vt_err verify_tdx(const appraise_args *a, const vt_buf *ev, vt_claims *out, vt_checks *checks,
                         vt_error *err)
{
    vt_tdx_collateral coll;
    memset(&coll, 0, sizeof coll);
    STACK_OF(X509) *roots = NULL;
    vt_tdx_verifier *v = NULL;
    vt_tdx_result *r = calloc(1, sizeof *r);
    vt_time issued = 0;
    vt_err rc;
    if (r == NULL) return vt_error_set(err, VT_E_NOMEM, "appraise", "out of memory");
    if (a->trust_dir != NULL) VT_GUARD_GOTO(vt_certs_load_path(a->trust_dir, &roots, err));
    if (a->collateral_dir != NULL) VT_GUARD_GOTO(vt_tdx_collateral_load_dir(a->collateral_dir, &coll, err));
    vt_claims tmp;
    collateral_issued(&coll, &tmp);
    issued = tmp.has_collateral_issued ? tmp.collateral_issued : 0;
    vt_tdx_verifier_opts vo = {.roots = roots, .allow_missing_pck_crl = a->allow_missing_crl};
    VT_GUARD_GOTO(vt_tdx_verifier_new(&vo, &coll, &v, err));
    rc = vt_tdx_verify(v, ev->ptr, ev->len, a->at, r, err);
    if (checks) *checks = r->checks;
    if (rc != VT_OK) goto out;
    VT_GUARD_GOTO(vt_claims_from_tdx(r, out, err));
    out->has_collateral_issued = issued != 0;
    out->collateral_issued = issued;
out:
    vt_tdx_verifier_free(v);
    vt_tdx_collateral_clear(&coll);
    sk_X509_pop_free(roots, X509_free);
    free(r);
    return rc;
}

static vt_err snp_dir(vt_snp_verifier *v, const char *dir, bool trust, vt_snp_dir_collateral *keep,
                      STACK_OF(X509) *pool, vt_error *err)
{
    VT_GUARD(vt_snp_dir_collateral_load(dir, keep, err));
    for (int i = 0; i < sk_X509_CRL_num(keep->crls); i++)
        VT_GUARD(vt_snp_verifier_add_crl(v, sk_X509_CRL_value(keep->crls, i), err));
    for (int i = 0; i < sk_X509_num(keep->certs); i++) {
        X509 *x = sk_X509_value(keep->certs, i);
        if (trust) VT_GUARD(vt_snp_verifier_add_trust_cert(v, x, err));
        else if (sk_X509_push(pool, x) <= 0) return vt_error_set(err, VT_E_NOMEM, "appraise", "out of memory");
    }
    return VT_OK;
}

static vt_err verify_snp(const appraise_args *a, const vt_policy *p, const vt_buf *ev, vt_claims *out,
                         vt_checks *checks, vt_error *err)
{
    vt_snp_dir_collateral trust = {0}, certs = {0}, coll = {0};
    vt_snp_verifier *v = NULL;
    vt_snp_claims *c = calloc(1, sizeof *c);
    STACK_OF(X509) *pool = sk_X509_new_null();
    vt_snp_verify_opts o = {.at = a->at, .crl_required = p->require_revocation};
    vt_err rc;
    if (c == NULL || pool == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "appraise", "out of memory");
        goto out;
    }
    if (a->product != NULL) VT_GUARD_GOTO(vt_snp_product_parse(a->product, &o.product, err));
    VT_GUARD_GOTO(vt_snp_verifier_new(&v, err));
    if (a->trust_dir) VT_GUARD_GOTO(snp_dir(v, a->trust_dir, true, &trust, pool, err));
    if (a->certs_dir) VT_GUARD_GOTO(snp_dir(v, a->certs_dir, false, &certs, pool, err));
    if (a->collateral_dir) VT_GUARD_GOTO(snp_dir(v, a->collateral_dir, false, &coll, pool, err));
    vt_snp_collateral sc = {.certs = pool};
    VT_GUARD_GOTO(vt_snp_verify(v, ev->ptr, ev->len, &sc, &o, c, checks, err));
    VT_GUARD_GOTO(vt_claims_from_snp(c, out, err));
    /* With crl_required the verifier has checked the chain against an ARK-issued CRL. */
    out->revocation_checked = o.crl_required;
out:
    sk_X509_free(pool);
    vt_snp_verifier_free(v);
    vt_snp_dir_collateral_free(&trust);
    vt_snp_dir_collateral_free(&certs);
    vt_snp_dir_collateral_free(&coll);
    free(c);
    return rc;
}

static vt_err verify_cca(const appraise_args *a, const vt_buf *ev, vt_claims *out, vt_checks *checks,
                         vt_error *err)
{
    vt_cca_trust trust;
    vt_cca_trust_init(&trust);
    vt_cca_token *t = calloc(1, sizeof *t);
    vt_err rc;
    if (t == NULL) return vt_error_set(err, VT_E_NOMEM, "appraise", "out of memory");
    VT_GUARD_GOTO(vt_cca_token_parse(ev->ptr, ev->len, t, err));
    if (a->cpak_file) VT_GUARD_GOTO(vt_cca_trust_load_file(&trust, a->cpak_file, err));
    if (a->trust_dir) VT_GUARD_GOTO(vt_cca_trust_load_dir(&trust, a->trust_dir, err));
    vt_cca_verify_opts vo = {.trust = &trust};
    const vt_cca_cpak *used = NULL;
    VT_GUARD_GOTO(vt_cca_verify(t, &vo, checks, &used, err));
    VT_GUARD_GOTO(vt_claims_from_cca(t, used, out, err));
out:
    vt_cca_trust_free(&trust);
    free(t);
    return rc;
}

vt_err appraise_verify(const appraise_args *a, const vt_policy *p, const char *file, const vt_buf *ev,
                       vt_claims *out, vt_checks *checks, vt_error *err)
{
    const char *tee = a->tee && strcmp(a->tee, "auto") != 0 ? a->tee : detect(ev);
    if (tee == NULL)
        return vt_error_set(err, VT_E_ARG, "tee", "%s: cannot tell the evidence kind; use --tee", file);
    vt_err rc;
    if (strcmp(tee, "tdx") == 0 || strcmp(tee, "sgx") == 0) rc = verify_tdx(a, ev, out, checks, err);
    else if (strcmp(tee, "snp") == 0) rc = verify_snp(a, p, ev, out, checks, err);
    else if (strcmp(tee, "cca") == 0) rc = verify_cca(a, ev, out, checks, err);
    else return vt_error_set(err, VT_E_ARG, "tee", "unknown --tee '%.16s' (auto, tdx, sgx, snp, cca)", tee);
    if (rc == VT_OK && strcmp(tee, vt_tee_name(out->tee)) != 0)
        return vt_error_set(err, VT_E_ARG, "tee", "--tee %s given but the evidence is %s", tee, vt_tee_name(out->tee));
    return rc;
}
