/* What a verification fetches or loads before its TEE's verifier runs, shared by every path that
 * reaches the TDX and SNP verifiers (verify.c, and the Azure vTPM kinds in verify_tpm.c): online
 * collateral into the cache (Intel PCS/PCCS, AMD KDS), the KDS cache's certificates and CRLs for
 * one report, the SNP product, and a verifier's build outcome. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify_internal.h"
#include "veritee/fileio.h"
#include "veritee/certdir.h"
#include "veritee/collateral.h"
#include "veritee/snp_kds.h"

vt_err verify_built(vt_err rc, const vt_error *saved, vt_error *err)
{
    if (rc != VT_OK && err != NULL) *err = *saved;
    return rc;
}

/* Intel PCS/PCCS (docs/collateral.md): make the cache hold what this quote needs at `at`,
 * through the server's collateral manager (single flight, bounded wait) or, for one-shot
 * verifications, a direct fetch of the missing or stale items, each checked before it is
 * cached. Runs before the verifier lock is taken: a fetch never holds up other verifications. */
vt_err verify_fetch_tdx(const vt_verifier *v, const char *tee, const uint8_t *ev, size_t len, vt_time at,
                        vt_error *err)
{
    if (v->collateral_dir != NULL) return VT_OK;
    if (v->collateral != NULL) return vt_coll_manager_need(v->collateral, tee, ev, len, at, err);
    if (v->pcs_url == NULL) return VT_OK;
    vt_coll_tdx_want w;
    VT_GUARD(vt_coll_tdx_want_from_quote(ev, len, &w, err));
    vt_coll_pcs up = {.base_url = v->pcs_url, .pccs = !vt_coll_is_intel_pcs(v->pcs_url)};
    return vt_coll_tdx_fetch(&up, v->cache_dir, &w, at, 0, VT_COLL_DEFAULT_INTERVAL, false, NULL, err);
}

static vt_err push_all(STACK_OF(X509) *dst, STACK_OF(X509) *src)
{
    for (int i = 0; src != NULL && i < sk_X509_num(src); i++)
        if (sk_X509_push(dst, sk_X509_value(src, i)) <= 0) return VT_E_NOMEM;
    return VT_OK;
}

vt_err verify_snp_product(const vt_verifier *v, const vt_verify_opts *o, vt_snp_product *out, vt_error *err)
{
    const char *product = o->product != NULL ? o->product : v->snp_product;
    *out = VT_SNP_PRODUCT_UNKNOWN;
    return product != NULL ? vt_snp_product_parse(product, out, err) : VT_OK;
}

/* AMD KDS (with kds_url): make the cache hold this report's VCEK, chain and CRL, each checked
 * against the trusted ARK (--trust, else the pinned ARK of the product) before it is cached
 * (vt_coll_snp_fetch, as `veritee collateral fetch`): a tampered or foreign answer is refused
 * and never written. Runs before the verifier lock, one request in flight per platform: a
 * second guest of the same chip and TCB waits for the first one's fetch and then finds the
 * cache fresh (no request for what is cached and fresh). */
vt_err verify_fetch_snp(vt_verifier *v, const uint8_t *ev, size_t len, const vt_verify_opts *o, vt_error *err)
{
    const char *product = o->product != NULL ? o->product : v->snp_product;
    if (v->collateral != NULL) /* a server: the manager's single flight, bounded wait and refresh */
        return vt_coll_manager_need_snp(v->collateral, ev, len, product, o->at, err);
    if (v->kds_url == NULL || v->cache_dir == NULL) return VT_OK;
    vt_coll_snp_want w;
    char key[180];
    VT_GUARD(vt_coll_snp_want_from_report(ev, len, product, &w, err));
    vt_coll_snp_want_id(&w, key);
    STACK_OF(X509) *roots = NULL;
    if (v->trust_dir != NULL) VT_GUARD(vt_certs_load_path(v->trust_dir, &roots, err));
    pthread_mutex_lock(&v->fetch_mu);
    for (;;) {
        bool busy = false;
        for (size_t i = 0; i < VERIFY_MAX_INFLIGHT; i++) busy |= strcmp(v->inflight[i], key) == 0;
        if (!busy) break;
        pthread_cond_wait(&v->fetch_cv, &v->fetch_mu);
    }
    size_t slot = VERIFY_MAX_INFLIGHT;
    for (size_t i = 0; i < VERIFY_MAX_INFLIGHT && slot == VERIFY_MAX_INFLIGHT; i++)
        if (v->inflight[i][0] == 0) slot = i;
    if (slot < VERIFY_MAX_INFLIGHT) snprintf(v->inflight[slot], sizeof v->inflight[slot], "%s", key);
    pthread_mutex_unlock(&v->fetch_mu);
    vt_coll_pcs up = {.base_url = v->kds_url, .roots = roots, .sleep_ms = v->kds_wait, .sleep_ctx = v->kds_wait_ctx};
    /* as the TDX one-shot path: certificates until their notAfter, the CRL until its nextUpdate
     * and for a day after it was fetched */
    vt_err rc = vt_coll_snp_fetch(&up, v->cache_dir, &w, o->at, 0, VT_COLL_DEFAULT_INTERVAL, false, NULL, err);
    pthread_mutex_lock(&v->fetch_mu);
    if (slot < VERIFY_MAX_INFLIGHT) v->inflight[slot][0] = 0;
    pthread_cond_broadcast(&v->fetch_cv);
    pthread_mutex_unlock(&v->fetch_mu);
    sk_X509_pop_free(roots, X509_free);
    return rc;
}

/* The AMD KDS cache: the chain, CRL and leaf for this report, loaded into kds[] (owned by the
 * caller; even index a chain directory, odd its leaf directory). A report that does not name its
 * product (version 2) with none given: what the cache holds for its chip under every product
 * (the chain is built by issuer names). */
vt_err verify_load_kds(const vt_verifier *v, const uint8_t *ev, size_t len, vt_snp_product product,
                       vt_snp_dir_collateral kds[VERIFY_KDS_DIRS], vt_error *err)
{
    if (v->cache_dir == NULL) return VT_OK;
    vt_bytes rep, tab;
    vt_snp_report r;
    vt_snp_kds_plan plan;
    char dirs[VERIFY_KDS_DIRS][VT_SNP_KDS_PATH_MAX];
    memset(dirs, 0, sizeof dirs);
    VT_GUARD(vt_snp_evidence_split(ev, len, &rep, &tab, err));
    VT_GUARD(vt_snp_report_parse(rep.ptr, rep.len, &r, err));
    bool named = product != VT_SNP_PRODUCT_UNKNOWN || r.has_cpuid;
    if (named) {
        VT_GUARD(vt_snp_kds_plan_for(&r, product, v->cache_dir, &plan, err));
        snprintf(dirs[0], sizeof dirs[0], "%s", plan.chain_dir);
        snprintf(dirs[1], sizeof dirs[1], "%s", plan.leaf_dir);
    } else {
        static const vt_snp_product all[3] = {VT_SNP_MILAN, VT_SNP_GENOA, VT_SNP_TURIN};
        for (int i = 0; i < 3; i++) {
            if (vt_snp_kds_plan_for(&r, all[i], v->cache_dir, &plan, NULL) != VT_OK) continue;
            snprintf(dirs[i * 2], sizeof dirs[0], "%s", plan.chain_dir);
            snprintf(dirs[i * 2 + 1], sizeof dirs[0], "%s", plan.leaf_dir);
        }
    }
    for (int i = 0; i < VERIFY_KDS_DIRS; i++) {
        if (dirs[i][0] == '\0' || !vt_file_exists(dirs[i])) continue;
        vt_error e;
        vt_err rc = vt_snp_dir_collateral_load(dirs[i], &kds[i], &e);
        if (rc != VT_OK && rc != VT_E_MISSING) return err ? (*err = e, rc) : rc; /* MISSING: nothing cached there yet */
    }
    return VT_OK;
}

vt_err verify_snp_candidates(const vt_verifier *v, const vt_verify_opts *o, vt_snp_dir_collateral kds[VERIFY_KDS_DIRS],
                             STACK_OF(X509) *cand, STACK_OF(X509_CRL) *crls, vt_error *err)
{
    /* this evidence's certificates first, then the cache's (leaf before chain), then the
     * directories' (borrowed) */
    if (push_all(cand, o->certs) != VT_OK) return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
    for (int k = 0; k < VERIFY_KDS_DIRS; k++)
        if (push_all(cand, kds[k ^ 1].certs) != VT_OK) return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
    if (push_all(cand, v->snp_pool) != VT_OK) return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
    for (int k = 0; k < VERIFY_KDS_DIRS; k++)
        for (int i = 0; kds[k].crls != NULL && i < sk_X509_CRL_num(kds[k].crls); i++)
            if (sk_X509_CRL_push(crls, sk_X509_CRL_value(kds[k].crls, i)) <= 0)
                return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
    return VT_OK;
}

void verify_kds_free(vt_snp_dir_collateral kds[VERIFY_KDS_DIRS])
{
    for (int k = 0; k < VERIFY_KDS_DIRS; k++) vt_snp_dir_collateral_free(&kds[k]);
}
