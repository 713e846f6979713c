/* The verifier context of the verify layer (include/veritee/verify.h): every TEE's verifier
 * (and the NVIDIA GPU verifier) built from the sources' directories and rebuilt when one of
 * their files changes. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "verify_internal.h"
#include "veritee/certdir.h"
#include "veritee/fileio.h"
#include "veritee/x509.h"

const char *verifier_tdx_dir(const vt_verifier *v)
{
    struct stat st;
    if (v->collateral_dir != NULL) return v->collateral_dir;
    if (v->cache_tdx_dir != NULL && (v->pcs_url != NULL || v->collateral != NULL ||
                                     (stat(v->cache_tdx_dir, &st) == 0 && S_ISDIR(st.st_mode))))
        return v->cache_tdx_dir;
    return v->cache_dir;
}

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

static int64_t sources_stamp(const vt_verifier *v)
{
    const char *all[] = {v->trust_dir, v->collateral_dir, v->certs_dir, v->cpak_file, verifier_tdx_dir(v), v->tpm_aks,
                         v->nvidia_ocsp_dir};
    int64_t m = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        /* a source named twice (the TDX directory is --collateral when given) is looked at
         * once: each look is a stat() of every file in it */
        bool again = false;
        for (size_t j = 0; j < i && !again && all[i] != NULL; j++) again = all[j] != NULL && strcmp(all[i], all[j]) == 0;
        if (again) continue;
        int64_t x = newest_mtime(all[i]);
        if (x > m) m = x;
    }
    return m;
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

static vt_err build_tdx(vt_verifier *v, vt_error *err)
{
    vt_tdx_collateral coll;
    memset(&coll, 0, sizeof coll);
    STACK_OF(X509) *roots = NULL;
    vt_err rc;
    const char *dir = verifier_tdx_dir(v);
    if (v->trust_dir != NULL) VT_GUARD_GOTO(vt_certs_load_path(v->trust_dir, &roots, err));
    /* a cache not yet created is empty, not an error: the fetch fills it */
    if (dir != NULL && ((dir != v->cache_dir && dir != v->cache_tdx_dir) || newest_mtime(dir) != 0))
        VT_GUARD_GOTO(vt_tdx_collateral_load_dir(dir, &coll, err));
    v->tdx_issued = vt_tdx_collateral_issued(&coll);
    vt_tdx_verifier_opts vo = {.roots = roots, .allow_missing_pck_crl = v->allow_missing_crl};
    rc = vt_tdx_verifier_new(&vo, &coll, &v->tdx, err);
out:
    vt_tdx_collateral_clear(&coll);
    sk_X509_pop_free(roots, X509_free);
    return rc;
}

/* SNP certificates and CRLs of a directory: trusted ARKs (trust), else chain candidates kept
 * in pool (the leaf is looked up there per call). */
static vt_err snp_dir(vt_snp_verifier *s, const char *dir, bool trust, STACK_OF(X509) *pool, vt_error *err)
{
    vt_snp_dir_collateral d = {0};
    vt_err rc = vt_snp_dir_collateral_load(dir, &d, err);
    for (int i = 0; rc == VT_OK && i < sk_X509_CRL_num(d.crls); i++)
        rc = vt_snp_verifier_add_crl(s, sk_X509_CRL_value(d.crls, i), err);
    for (int i = 0; rc == VT_OK && i < sk_X509_num(d.certs); i++) {
        X509 *x = sk_X509_value(d.certs, i);
        if (trust) {
            rc = vt_snp_verifier_add_trust_cert(s, x, err);
            continue;
        }
        vt_x509_settle(x); /* the pool is shared by concurrent verifications */
        if (X509_up_ref(x) != 1 || sk_X509_push(pool, x) <= 0) {
            X509_free(x);
            rc = vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
        }
    }
    vt_snp_dir_collateral_free(&d);
    return rc;
}

static vt_err build_snp(vt_verifier *v, vt_error *err)
{
    v->snp_pool = sk_X509_new_null();
    if (v->snp_pool == NULL) return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
    VT_GUARD(vt_snp_verifier_new(&v->snp, err));
    if (v->trust_dir) VT_GUARD(snp_dir(v->snp, v->trust_dir, true, v->snp_pool, err));
    if (v->certs_dir) VT_GUARD(snp_dir(v->snp, v->certs_dir, false, v->snp_pool, err));
    if (v->collateral_dir) VT_GUARD(snp_dir(v->snp, v->collateral_dir, false, v->snp_pool, err));
    return VT_OK;
}

static vt_err build_cca(vt_verifier *v, vt_error *err)
{
    if (v->cpak_file) VT_GUARD(vt_cca_trust_load_file(&v->cca, v->cpak_file, err));
    if (v->trust_dir) VT_GUARD(vt_cca_trust_load_dir(&v->cca, v->trust_dir, err));
    return VT_OK;
}

/* The pinned NVIDIA device root: trust_dir itself when it is a file, else
 * nvidia_device_root.pem in it or in its nvidia/ directory; none of them: the built-in pin. */
static vt_err nvidia_root(const vt_verifier *v, vt_buf *pem, vt_error *err)
{
    struct stat st;
    char p[4096];
    if (v->trust_dir == NULL) return VT_OK;
    if (stat(v->trust_dir, &st) != 0)
        return vt_error_set(err, VT_E_MISSING, "trust", "the trust anchor %s does not exist", v->trust_dir);
    if (S_ISREG(st.st_mode)) return vt_file_read(v->trust_dir, VT_FILE_MAX, pem, err);
    static const char *const names[] = {"nvidia_device_root.pem", "nvidia/nvidia_device_root.pem"};
    for (size_t i = 0; i < 2; i++) {
        if (snprintf(p, sizeof p, "%s/%s", v->trust_dir, names[i]) >= (int)sizeof p) continue;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) return vt_file_read(p, VT_FILE_MAX, pem, err);
    }
    return VT_OK;
}

static void free_ocsp(vt_verifier *v)
{
    for (size_t i = 0; i < v->n_nv_ocsp; i++) free((void *)v->nv_ocsp[i].ptr);
    free(v->nv_ocsp);
    v->nv_ocsp = NULL;
    v->n_nv_ocsp = 0;
}

/* The OCSP source: one DER response file, or a directory whose every regular file is one (at
 * most 32: the nvidia layer's bound), in name order. */
static vt_err load_ocsp(vt_verifier *v, vt_error *err)
{
    struct stat fst;
    if (stat(v->nvidia_ocsp_dir, &fst) == 0 && S_ISREG(fst.st_mode)) { /* one response file */
        vt_buf b = {0};
        VT_GUARD(vt_file_read(v->nvidia_ocsp_dir, 1u << 20, &b, err));
        v->nv_ocsp = calloc(1, sizeof *v->nv_ocsp);
        if (v->nv_ocsp == NULL) {
            vt_buf_free(&b);
            return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
        }
        v->nv_ocsp[0] = (vt_bytes){b.ptr, b.len};
        v->n_nv_ocsp = 1;
        return VT_OK;
    }
    struct dirent **names = NULL;
    int n = scandir(v->nvidia_ocsp_dir, &names, NULL, alphasort);
    if (n < 0) return vt_error_set(err, VT_E_MISSING, "revocation", "cannot read the OCSP directory %s", v->nvidia_ocsp_dir);
    vt_err rc = VT_OK;
    v->nv_ocsp = calloc((size_t)n + 1, sizeof *v->nv_ocsp);
    if (v->nv_ocsp == NULL) rc = vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
    for (int i = 0; i < n; i++) {
        char p[4096];
        struct stat st;
        if (rc == VT_OK && names[i]->d_name[0] != '.' &&
            snprintf(p, sizeof p, "%s/%s", v->nvidia_ocsp_dir, names[i]->d_name) < (int)sizeof p &&
            stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            vt_buf b = {0};
            rc = vt_file_read(p, 1u << 20, &b, err);
            if (rc == VT_OK) v->nv_ocsp[v->n_nv_ocsp++] = (vt_bytes){b.ptr, b.len};
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

static vt_err build_nvidia(vt_verifier *v, vt_error *err)
{
    vt_buf root = {0};
    VT_GUARD(nvidia_root(v, &root, err));
    vt_nvidia_trust t = {.device_roots_pem = root.ptr, .device_roots_len = root.len};
    vt_err rc = vt_nvidia_verifier_new(root.ptr != NULL ? &t : NULL, &v->nv, err);
    vt_buf_free(&root);
    if (rc == VT_OK && v->nvidia_ocsp_dir != NULL) rc = load_ocsp(v, err);
    return rc;
}

/* --trust for tpm: one PEM file, or every *.pem of a directory. */
static vt_err tpm_add_file(vt_tpm_verifier *t, const char *path, vt_error *err)
{
    vt_buf b = {0};
    vt_err rc = vt_file_read(path, 1u << 20, &b, err);
    if (rc == VT_OK) rc = vt_tpm_verifier_add_pem(t, b.ptr, b.len, err);
    if (rc != VT_OK) vt_error_wrap(err, "%s", path);
    vt_buf_free(&b);
    return rc;
}

static vt_err build_tpm(vt_verifier *v, vt_error *err)
{
    VT_GUARD(vt_tpm_verifier_new(NULL, 0, &v->tpm, err));
    if (v->tpm_aks == NULL) return VT_OK;
    DIR *d = opendir(v->tpm_aks);
    if (d == NULL) return tpm_add_file(v->tpm, v->tpm_aks, err);
    vt_err rc = VT_OK;
    struct dirent *de;
    while (rc == VT_OK && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        char p[4096];
        if (n < 5 || strcmp(de->d_name + n - 4, ".pem") != 0) continue;
        rc = vt_path_join(p, sizeof p, v->tpm_aks, de->d_name, err);
        if (rc == VT_OK) rc = tpm_add_file(v->tpm, p, err);
    }
    closedir(d);
    return rc;
}

vt_err verifier_azure(vt_verifier *v, vt_error *err)
{
    if (v->az != NULL && v->az_snp == v->snp && v->az_tdx == v->tdx) return VT_OK;
    if (v->az != NULL) {
        /* built before the other TEE's verifier was: verifications using it (outside mu,
         * holding rw for reading) finish first */
        pthread_rwlock_wrlock(&v->rw);
        vt_azure_verifier_free(v->az);
        v->az = NULL;
        pthread_rwlock_unlock(&v->rw);
    }
    vt_azure_trust t = {.snp = v->snp, .tdx = v->tdx};
    VT_GUARD(vt_azure_verifier_new(&t, &v->az, err));
    v->az_snp = v->snp;
    v->az_tdx = v->tdx;
    return VT_OK;
}

static void drop(vt_verifier *v)
{
    pthread_rwlock_wrlock(&v->rw); /* verifications in flight outside mu finish first */
    vt_azure_verifier_free(v->az); /* it borrows the SNP and TDX verifiers */
    v->az = NULL;
    v->az_snp = NULL;
    v->az_tdx = NULL;
    vt_tpm_verifier_free(v->tpm);
    v->tpm = NULL;
    vt_nvidia_verifier_free(v->nv);
    v->nv = NULL;
    free_ocsp(v);
    vt_tdx_verifier_free(v->tdx);
    vt_snp_verifier_free(v->snp);
    sk_X509_pop_free(v->snp_pool, X509_free);
    vt_cca_trust_free(&v->cca);
    v->tdx = NULL;
    v->snp = NULL;
    v->snp_pool = NULL;
    vt_cca_trust_init(&v->cca);
    pthread_rwlock_unlock(&v->rw);
    v->built = false;
}

/* A TEE whose inputs do not load reports its error when its evidence comes, so one bad
 * directory does not stop the others. */
/* Whether to look at the sources' files now: always before the first build, after an
 * invalidation, without a clock or interval, and for sources a fetch writes into; else once
 * the interval has passed since the last look (a clock going back counts as passed). */
static bool recheck_due(vt_verifier *v, double *now)
{
    if (v->monotonic == NULL || v->recheck <= 0 || v->online) return true;
    *now = v->monotonic();
    if (!v->built) return true;
    double since = *now - v->checked_at;
    return since < 0 || since >= v->recheck;
}

static void restamp(vt_verifier *v, double now)
{
    int64_t stamp = sources_stamp(v);
    v->checked_at = now;
    if (!v->built || stamp != v->stamp) {
        drop(v);
        vt_error_clear(&v->tdx_err);
        vt_error_clear(&v->snp_err);
        vt_error_clear(&v->cca_err);
        vt_error_clear(&v->tpm_err);
        vt_error_clear(&v->nv_err);
        v->tdx_ready = v->snp_ready = v->cca_ready = v->tpm_ready = v->nv_ready = false;
        v->stamp = stamp;
        v->built = true;
    }
}

void verifier_refresh(vt_verifier *v, vt_tee tee)
{
    double now = 0;
    if (recheck_due(v, &now)) restamp(v, now);
    /* each TEE's verifier is built when its evidence first comes: a TDX verification does not
     * pay for loading SNP certificates and CCA keys (a cold `veritee verify` spent a sixth of
     * its instructions on them) */
    if ((tee == VT_TEE_TDX || tee == VT_TEE_SGX) && !v->tdx_ready) {
        v->tdx_rc = build_tdx(v, &v->tdx_err);
        v->tdx_ready = true;
    } else if (tee == VT_TEE_SNP && !v->snp_ready) {
        v->snp_rc = build_snp(v, &v->snp_err);
        v->snp_ready = true;
    } else if (tee == VT_TEE_CCA && !v->cca_ready) {
        v->cca_rc = build_cca(v, &v->cca_err);
        v->cca_ready = true;
    } else if (tee == VT_TEE_TPM && !v->tpm_ready) {
        v->tpm_rc = build_tpm(v, &v->tpm_err);
        v->tpm_ready = true;
    } else if (tee == VT_TEE_NVIDIA && !v->nv_ready) {
        v->nv_rc = build_nvidia(v, &v->nv_err);
        v->nv_ready = true;
    }
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

const char *vt_verifier_cca_skipped(vt_verifier *v)
{
    pthread_mutex_lock(&v->mu);
    const char *s = v->cca.nskipped > 0 ? v->cca.skipped : NULL;
    pthread_mutex_unlock(&v->mu);
    return s;
}

vt_err vt_verifier_new(const vt_verify_sources *s, vt_verifier **out, vt_error *err)
{
    vt_verifier *v = calloc(1, sizeof *v);
    if (v == NULL) return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
    pthread_mutex_init(&v->mu, NULL);
    pthread_mutex_init(&v->fetch_mu, NULL);
    pthread_rwlock_init(&v->rw, NULL);
    pthread_cond_init(&v->fetch_cv, NULL);
    vt_cca_trust_init(&v->cca);
    v->trust_dir = dup_or_null(s->trust_dir);
    v->collateral_dir = dup_or_null(s->collateral_dir);
    v->certs_dir = dup_or_null(s->certs_dir);
    v->cpak_file = dup_or_null(s->cpak_file);
    v->snp_product = dup_or_null(s->snp_product);
    v->pcs_url = dup_or_null(s->pcs_url);
    v->kds_url = dup_or_null(s->kds_url);
    v->cache_dir = dup_or_null(s->cache_dir);
    v->tpm_aks = dup_or_null(s->tpm_aks);
    v->nvidia_ocsp_dir = dup_or_null(s->nvidia_ocsp_dir);
    v->nvidia_require_ocsp = s->nvidia_require_ocsp;
    v->monotonic = s->monotonic;
    v->recheck = s->recheck_seconds;
    v->online = s->pcs_url != NULL || s->kds_url != NULL || s->collateral != NULL;
    v->collateral = s->collateral;
    if (s->cache_dir != NULL) {
        size_t n = strlen(s->cache_dir) + sizeof "/tdx";
        v->cache_tdx_dir = malloc(n);
        if (v->cache_tdx_dir == NULL) {
            vt_verifier_free(v);
            return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
        }
        snprintf(v->cache_tdx_dir, n, "%s/tdx", s->cache_dir);
    }
    v->allow_missing_crl = s->allow_missing_crl;
    v->kds_wait = s->kds_wait;
    v->kds_wait_ctx = s->kds_wait_ctx;
    if ((s->pcs_url != NULL || s->kds_url != NULL) && s->cache_dir == NULL) {
        vt_verifier_free(v);
        return vt_error_set(err, VT_E_ARG, "verify", "fetching collateral online needs a cache directory");
    }
    *out = v;
    return VT_OK;
}

void vt_verifier_invalidate(vt_verifier *v)
{
    if (v == NULL) return;
    pthread_mutex_lock(&v->mu);
    v->built = false;
    pthread_mutex_unlock(&v->mu);
}

void vt_verifier_free(vt_verifier *v)
{
    if (v == NULL) return;
    drop(v);
    vt_cca_trust_free(&v->cca);
    pthread_mutex_destroy(&v->mu);
    pthread_mutex_destroy(&v->fetch_mu);
    pthread_rwlock_destroy(&v->rw);
    pthread_cond_destroy(&v->fetch_cv);
    free(v->trust_dir);
    free(v->collateral_dir);
    free(v->certs_dir);
    free(v->cpak_file);
    free(v->snp_product);
    free(v->pcs_url);
    free(v->kds_url);
    free(v->cache_dir);
    free(v->cache_tdx_dir);
    free(v->tpm_aks);
    free(v->nvidia_ocsp_dir);
    free(v);
}
