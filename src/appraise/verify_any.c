/* Evidence bytes -> verifier of its kind -> normalized claims (include/veritee/verify_any.h). */
#include <stdlib.h>
#include <string.h>

#include "veritee/cca.h"
#include "veritee/certdir.h"
#include "veritee/snp.h"
#include "veritee/tdx.h"
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

static vt_err verify_tdx(const vt_verify_sources *s, const uint8_t *ev, size_t len, vt_time at, vt_claims *out,
                         vt_checks *checks, vt_error *err)
{
    vt_tdx_collateral coll;
    memset(&coll, 0, sizeof coll);
    STACK_OF(X509) *roots = NULL;
    vt_tdx_verifier *v = NULL;
    vt_tdx_result *r = calloc(1, sizeof *r);
    vt_err rc;
    if (r == NULL) return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
    if (s->trust_dir != NULL) VT_GUARD_GOTO(vt_certs_load_path(s->trust_dir, &roots, err));
    if (s->collateral_dir != NULL) VT_GUARD_GOTO(vt_tdx_collateral_load_dir(s->collateral_dir, &coll, err));
    vt_time issued = vt_tdx_collateral_issued(&coll);
    vt_tdx_verifier_opts vo = {.roots = roots, .allow_missing_pck_crl = s->allow_missing_crl};
    VT_GUARD_GOTO(vt_tdx_verifier_new(&vo, &coll, &v, err));
    rc = vt_tdx_verify(v, ev, len, at, r, err);
    if (checks != NULL) *checks = r->checks;
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

/* SNP certificates and CRLs of a directory: trusted ARKs (trust) or candidates for the chain. */
static vt_err snp_dir(vt_snp_verifier *v, const char *dir, bool trust, vt_snp_dir_collateral *keep,
                      STACK_OF(X509) *pool, vt_error *err)
{
    VT_GUARD(vt_snp_dir_collateral_load(dir, keep, err));
    for (int i = 0; i < sk_X509_CRL_num(keep->crls); i++)
        VT_GUARD(vt_snp_verifier_add_crl(v, sk_X509_CRL_value(keep->crls, i), err));
    for (int i = 0; i < sk_X509_num(keep->certs); i++) {
        X509 *x = sk_X509_value(keep->certs, i);
        if (trust) VT_GUARD(vt_snp_verifier_add_trust_cert(v, x, err));
        else if (X509_up_ref(x) != 1 || sk_X509_push(pool, x) <= 0) {
            X509_free(x);
            return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
        }
    }
    return VT_OK;
}

static vt_err verify_snp(const vt_verify_sources *s, const uint8_t *ev, size_t len, vt_time at, vt_claims *out,
                         vt_checks *checks, vt_error *err)
{
    vt_snp_dir_collateral trust = {0}, certs = {0}, coll = {0};
    vt_snp_verifier *v = NULL;
    vt_snp_claims *c = calloc(1, sizeof *c);
    STACK_OF(X509) *pool = sk_X509_new_null();
    vt_snp_verify_opts o = {.at = at, .crl_required = s->snp_crl_required};
    vt_err rc;
    if (c == NULL || pool == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
        goto out;
    }
    for (int i = 0; s->snp_certs != NULL && i < sk_X509_num(s->snp_certs); i++) {
        X509 *x = sk_X509_value(s->snp_certs, i);
        if (X509_up_ref(x) != 1 || sk_X509_push(pool, x) <= 0) {
            X509_free(x);
            rc = vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
            goto out;
        }
    }
    if (s->snp_product != NULL) VT_GUARD_GOTO(vt_snp_product_parse(s->snp_product, &o.product, err));
    VT_GUARD_GOTO(vt_snp_verifier_new(&v, err));
    if (s->trust_dir) VT_GUARD_GOTO(snp_dir(v, s->trust_dir, true, &trust, pool, err));
    if (s->certs_dir) VT_GUARD_GOTO(snp_dir(v, s->certs_dir, false, &certs, pool, err));
    if (s->collateral_dir) VT_GUARD_GOTO(snp_dir(v, s->collateral_dir, false, &coll, pool, err));
    vt_snp_collateral sc = {.certs = pool};
    VT_GUARD_GOTO(vt_snp_verify(v, ev, len, &sc, &o, c, checks, err));
    VT_GUARD_GOTO(vt_claims_from_snp(c, out, err));
    /* With crl_required the verifier has checked the chain against an ARK-issued CRL. */
    out->revocation_checked = o.crl_required;
out:
    sk_X509_pop_free(pool, X509_free);
    vt_snp_verifier_free(v);
    vt_snp_dir_collateral_free(&trust);
    vt_snp_dir_collateral_free(&certs);
    vt_snp_dir_collateral_free(&coll);
    free(c);
    return rc;
}

static vt_err verify_cca(const vt_verify_sources *s, const uint8_t *ev, size_t len, vt_claims *out,
                         vt_checks *checks, vt_error *err)
{
    vt_cca_trust trust;
    vt_cca_trust_init(&trust);
    vt_cca_token *t = calloc(1, sizeof *t);
    vt_err rc;
    if (t == NULL) return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
    VT_GUARD_GOTO(vt_cca_token_parse(ev, len, t, err));
    if (s->cpak_file) VT_GUARD_GOTO(vt_cca_trust_load_file(&trust, s->cpak_file, err));
    if (s->trust_dir) VT_GUARD_GOTO(vt_cca_trust_load_dir(&trust, s->trust_dir, err));
    vt_cca_verify_opts vo = {.trust = &trust};
    const vt_cca_cpak *used = NULL;
    VT_GUARD_GOTO(vt_cca_verify(t, &vo, checks, &used, err));
    VT_GUARD_GOTO(vt_claims_from_cca(t, used, out, err));
out:
    vt_cca_trust_free(&trust);
    free(t);
    return rc;
}

vt_err vt_verify_to_claims(const vt_verify_sources *s, const char *tee, const uint8_t *ev, size_t len,
                           vt_time at, vt_claims *out, vt_checks *checks, vt_error *err)
{
    if (tee == NULL || strcmp(tee, "auto") == 0) tee = vt_evidence_detect(ev, len);
    if (tee == NULL) return vt_error_set(err, VT_E_ARG, "tee", "cannot tell the evidence kind");
    memset(out, 0, sizeof *out);
    vt_err rc;
    if (strcmp(tee, "tdx") == 0 || strcmp(tee, "sgx") == 0) rc = verify_tdx(s, ev, len, at, out, checks, err);
    else if (strcmp(tee, "snp") == 0) rc = verify_snp(s, ev, len, at, out, checks, err);
    else if (strcmp(tee, "cca") == 0) rc = verify_cca(s, ev, len, out, checks, err);
    else return vt_error_set(err, VT_E_ARG, "tee", "unknown TEE '%.16s' (tdx, sgx, snp, cca)", tee);
    if (rc == VT_OK && strcmp(tee, vt_tee_name(out->tee)) != 0)
        return vt_error_set(err, VT_E_ARG, "tee", "%s evidence expected but it is %s", tee, vt_tee_name(out->tee));
    return rc;
}
