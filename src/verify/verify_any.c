/* Evidence bytes -> verifier of its kind -> normalized claims (include/veritee/verify_any.h).
 * One code path: the one-shot vt_verify_to_claims builds a cache, uses it once and drops it. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

struct vt_verify_cache {
    pthread_mutex_t mu;
    char *trust_dir, *collateral_dir, *certs_dir, *cpak_file, *snp_product;
    bool allow_missing_crl;
    int64_t stamp; /* newest mtime (ns) of the files the verifiers were built from */
    bool built;
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
};

/* Newest modification time (ns) of a file, or of a directory and the files in it. */
static int64_t newest_mtime(const char *path)
{
    struct stat st;
    if (path == NULL || stat(path, &st) != 0) return 0;
    int64_t m = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (!S_ISDIR(st.st_mode)) return m;
    DIR *d = opendir(path);
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        char p[4096];
        if (de->d_name[0] == '.' || snprintf(p, sizeof p, "%s/%s", path, de->d_name) >= (int)sizeof p) continue;
        if (stat(p, &st) == 0) {
            int64_t f = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
            if (f > m) m = f;
        }
    }
    if (d != NULL) closedir(d);
    return m;
}

static int64_t sources_stamp(const vt_verify_cache *c)
{
    int64_t m = newest_mtime(c->trust_dir);
    const char *more[] = {c->collateral_dir, c->certs_dir, c->cpak_file};
    for (size_t i = 0; i < 3; i++) {
        int64_t x = newest_mtime(more[i]);
        if (x > m) m = x;
    }
    return m;
}

static vt_err build_tdx(vt_verify_cache *c, vt_error *err)
{
    vt_tdx_collateral coll;
    memset(&coll, 0, sizeof coll);
    STACK_OF(X509) *roots = NULL;
    vt_err rc;
    if (c->trust_dir != NULL) VT_GUARD_GOTO(vt_certs_load_path(c->trust_dir, &roots, err));
    if (c->collateral_dir != NULL) VT_GUARD_GOTO(vt_tdx_collateral_load_dir(c->collateral_dir, &coll, err));
    c->tdx_issued = vt_tdx_collateral_issued(&coll);
    vt_tdx_verifier_opts vo = {.roots = roots, .allow_missing_pck_crl = c->allow_missing_crl};
    rc = vt_tdx_verifier_new(&vo, &coll, &c->tdx, err);
out:
    vt_tdx_collateral_clear(&coll);
    sk_X509_pop_free(roots, X509_free);
    return rc;
}

/* SNP certificates and CRLs of a directory: trusted ARKs (trust), else chain candidates kept
 * in pool (the leaf is looked up there per call). */
static vt_err snp_dir(vt_snp_verifier *v, const char *dir, bool trust, STACK_OF(X509) *pool, vt_error *err)
{
    vt_snp_dir_collateral d = {0};
    vt_err rc = vt_snp_dir_collateral_load(dir, &d, err);
    for (int i = 0; rc == VT_OK && i < sk_X509_CRL_num(d.crls); i++)
        rc = vt_snp_verifier_add_crl(v, sk_X509_CRL_value(d.crls, i), err);
    for (int i = 0; rc == VT_OK && i < sk_X509_num(d.certs); i++) {
        X509 *x = sk_X509_value(d.certs, i);
        if (trust) rc = vt_snp_verifier_add_trust_cert(v, x, err);
        else if (X509_up_ref(x) != 1 || sk_X509_push(pool, x) <= 0) {
            X509_free(x);
            rc = vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
        }
    }
    vt_snp_dir_collateral_free(&d);
    return rc;
}

static vt_err build_snp(vt_verify_cache *c, vt_error *err)
{
    c->snp_pool = sk_X509_new_null();
    if (c->snp_pool == NULL) return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
    VT_GUARD(vt_snp_verifier_new(&c->snp, err));
    if (c->trust_dir) VT_GUARD(snp_dir(c->snp, c->trust_dir, true, c->snp_pool, err));
    if (c->certs_dir) VT_GUARD(snp_dir(c->snp, c->certs_dir, false, c->snp_pool, err));
    if (c->collateral_dir) VT_GUARD(snp_dir(c->snp, c->collateral_dir, false, c->snp_pool, err));
    return VT_OK;
}

static vt_err build_cca(vt_verify_cache *c, vt_error *err)
{
    if (c->cpak_file) VT_GUARD(vt_cca_trust_load_file(&c->cca, c->cpak_file, err));
    if (c->trust_dir) VT_GUARD(vt_cca_trust_load_dir(&c->cca, c->trust_dir, err));
    return VT_OK;
}

static void drop(vt_verify_cache *c)
{
    vt_tdx_verifier_free(c->tdx);
    vt_snp_verifier_free(c->snp);
    sk_X509_pop_free(c->snp_pool, X509_free);
    vt_cca_trust_free(&c->cca);
    c->tdx = NULL;
    c->snp = NULL;
    c->snp_pool = NULL;
    vt_cca_trust_init(&c->cca);
    c->built = false;
}

/* (Re)build every verifier when the sources changed; a TEE whose inputs do not load reports
 * its error when its evidence comes, so one bad directory does not stop the others. */
static void refresh(vt_verify_cache *c)
{
    int64_t stamp = sources_stamp(c);
    if (c->built && stamp == c->stamp) return;
    drop(c);
    vt_error_clear(&c->tdx_err);
    vt_error_clear(&c->snp_err);
    vt_error_clear(&c->cca_err);
    c->tdx_rc = build_tdx(c, &c->tdx_err);
    c->snp_rc = build_snp(c, &c->snp_err);
    c->cca_rc = build_cca(c, &c->cca_err);
    c->stamp = stamp;
    c->built = true;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

vt_err vt_verify_cache_new(const vt_verify_sources *s, vt_verify_cache **out, vt_error *err)
{
    vt_verify_cache *c = calloc(1, sizeof *c);
    if (c == NULL) return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
    pthread_mutex_init(&c->mu, NULL);
    vt_cca_trust_init(&c->cca);
    c->trust_dir = dup_or_null(s->trust_dir);
    c->collateral_dir = dup_or_null(s->collateral_dir);
    c->certs_dir = dup_or_null(s->certs_dir);
    c->cpak_file = dup_or_null(s->cpak_file);
    c->snp_product = dup_or_null(s->snp_product);
    c->allow_missing_crl = s->allow_missing_crl;
    *out = c;
    return VT_OK;
}

void vt_verify_cache_free(vt_verify_cache *c)
{
    if (c == NULL) return;
    drop(c);
    vt_cca_trust_free(&c->cca);
    pthread_mutex_destroy(&c->mu);
    free(c->trust_dir);
    free(c->collateral_dir);
    free(c->certs_dir);
    free(c->cpak_file);
    free(c->snp_product);
    free(c);
}

void vt_verify_cache_invalidate(vt_verify_cache *c)
{
    if (c == NULL) return;
    pthread_mutex_lock(&c->mu);
    c->built = false;
    pthread_mutex_unlock(&c->mu);
}

static vt_err built_or(vt_err rc, const vt_error *saved, vt_error *err)
{
    if (rc != VT_OK && err != NULL) *err = *saved;
    return rc;
}

static vt_err verify_tdx(vt_verify_cache *c, const uint8_t *ev, size_t len, vt_time at, vt_claims *out,
                         vt_checks *checks, vt_error *err)
{
    VT_GUARD(built_or(c->tdx_rc, &c->tdx_err, err));
    vt_tdx_result *r = calloc(1, sizeof *r);
    if (r == NULL) return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
    vt_err rc = vt_tdx_verify(c->tdx, ev, len, at, r, err);
    if (checks != NULL) *checks = r->checks;
    if (rc == VT_OK) rc = vt_claims_from_tdx(r, out, err);
    if (rc == VT_OK) {
        out->has_collateral_issued = c->tdx_issued != 0;
        out->collateral_issued = c->tdx_issued;
    }
    free(r);
    return rc;
}

static vt_err verify_snp(vt_verify_cache *c, const uint8_t *ev, size_t len, STACK_OF(X509) *certs, bool crl_required,
                         vt_time at, vt_claims *out, vt_checks *checks, vt_error *err)
{
    VT_GUARD(built_or(c->snp_rc, &c->snp_err, err));
    vt_snp_verify_opts o = {.at = at, .crl_required = crl_required};
    if (c->snp_product != NULL) VT_GUARD(vt_snp_product_parse(c->snp_product, &o.product, err));
    vt_snp_claims *sc = calloc(1, sizeof *sc);
    if (sc == NULL) return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
    /* this evidence's certificates first, then the directories' (borrowed: no references) */
    STACK_OF(X509) *cand = certs != NULL ? sk_X509_dup(certs) : sk_X509_new_null();
    for (int i = 0; cand != NULL && i < sk_X509_num(c->snp_pool); i++)
        if (sk_X509_push(cand, sk_X509_value(c->snp_pool, i)) <= 0) {
            sk_X509_free(cand);
            cand = NULL;
        }
    if (cand == NULL) {
        free(sc);
        return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
    }
    vt_snp_collateral coll = {.certs = cand};
    vt_err rc = vt_snp_verify(c->snp, ev, len, &coll, &o, sc, checks, err);
    sk_X509_free(cand);
    if (rc == VT_OK) rc = vt_claims_from_snp(sc, out, err);
    /* With crl_required the verifier has checked the chain against an ARK-issued CRL. */
    if (rc == VT_OK) out->revocation_checked = crl_required;
    free(sc);
    return rc;
}

static vt_err verify_cca(vt_verify_cache *c, const uint8_t *ev, size_t len, vt_claims *out, vt_checks *checks,
                         vt_error *err)
{
    vt_cca_token *t = calloc(1, sizeof *t);
    if (t == NULL) return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
    vt_cca_verify_opts vo = {.trust = &c->cca};
    const vt_cca_cpak *used = NULL;
    vt_err rc = vt_cca_token_parse(ev, len, t, err); /* a malformed token is reported as such first */
    if (rc == VT_OK) rc = built_or(c->cca_rc, &c->cca_err, err);
    if (rc == VT_OK) rc = vt_cca_verify(t, &vo, checks, &used, err);
    if (rc == VT_OK) rc = vt_claims_from_cca(t, used, out, err);
    free(t);
    return rc;
}

vt_err vt_verify_cache_claims(vt_verify_cache *c, const char *tee, const uint8_t *ev, size_t len,
                              STACK_OF(X509) *snp_certs, bool snp_crl_required, vt_time at, vt_claims *out,
                              vt_checks *checks, vt_error *err)
{
    if (tee == NULL || strcmp(tee, "auto") == 0) tee = vt_evidence_detect(ev, len);
    if (tee == NULL) return vt_error_set(err, VT_E_ARG, "tee", "cannot tell the evidence kind");
    bool tdx = strcmp(tee, "tdx") == 0 || strcmp(tee, "sgx") == 0, snp = strcmp(tee, "snp") == 0,
         cca = strcmp(tee, "cca") == 0;
    if (!tdx && !snp && !cca) return vt_error_set(err, VT_E_ARG, "tee", "unknown TEE '%.16s' (tdx, sgx, snp, cca)", tee);
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&c->mu); /* the TDX verifier is not thread-safe; the rebuild must be exclusive */
    refresh(c);
    vt_err rc = tdx ? verify_tdx(c, ev, len, at, out, checks, err)
                : snp ? verify_snp(c, ev, len, snp_certs, snp_crl_required, at, out, checks, err)
                      : verify_cca(c, ev, len, out, checks, err);
    pthread_mutex_unlock(&c->mu);
    if (rc == VT_OK && strcmp(tee, vt_tee_name(out->tee)) != 0)
        return vt_error_set(err, VT_E_ARG, "tee", "%s evidence expected but it is %s", tee, vt_tee_name(out->tee));
    return rc;
}

vt_err vt_verify_to_claims(const vt_verify_sources *s, const char *tee, const uint8_t *ev, size_t len,
                           vt_time at, vt_claims *out, vt_checks *checks, vt_error *err)
{
    vt_verify_cache *c = NULL;
    VT_GUARD(vt_verify_cache_new(s, &c, err));
    vt_err rc = vt_verify_cache_claims(c, tee, ev, len, s->snp_certs, s->snp_crl_required, at, out, checks, err);
    vt_verify_cache_free(c);
    return rc;
}
