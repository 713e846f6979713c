/* One verification (include/veritee/verify.h): the evidence kind, the options that apply to
 * it, online collateral when configured, the TEE's verifier, and normalized claims. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify_internal.h"
#include "veritee/fileio.h"
#include "veritee/snp_kds.h"
#include "veritee/collateral.h"

static vt_err built_or(vt_err rc, const vt_error *saved, vt_error *err)
{
    if (rc != VT_OK && err != NULL) *err = *saved;
    return rc;
}

/* Options a kind of evidence cannot use are refused, never ignored. */
static vt_err options_apply(const vt_verify_opts *o, vt_tee tee, vt_error *err)
{
    const char *name = vt_tee_name(tee);
    bool snp = tee == VT_TEE_SNP || tee == VT_TEE_AZ_SNP_VTPM;
    if (o->product != NULL && !snp)
        return vt_error_set(err, VT_E_ARG, "options", "a product name applies to SNP evidence only; this is %s", name);
    if (o->certs != NULL && sk_X509_num(o->certs) > 0 && !snp)
        return vt_error_set(err, VT_E_ARG, "options", "evidence certificates apply to SNP evidence only; this is %s",
                            name);
    if (o->crl_required && (tee == VT_TEE_CCA || tee == VT_TEE_TPM))
        return vt_error_set(err, VT_E_ARG, "options", "%s evidence has no revocation list to require",
                            tee == VT_TEE_CCA ? "CCA" : "tpm");
    if (o->nonce != NULL && (o->nonce_len == 0 || o->nonce_len > 64))
        return vt_error_set(err, VT_E_ARG, "nonce", "the expected nonce has %zu bytes (1..64 allowed)", o->nonce_len);
    if (o->init_data != NULL && (o->init_data_len == 0 || o->init_data_len > 64))
        return vt_error_set(err, VT_E_ARG, "init_data", "the init-data digest has %zu bytes (1..64 allowed)",
                            o->init_data_len);
    /* AA's bind_init_data extends PCR8 with a SHA-256 digest: no other digest can be bound there */
    if (o->init_data != NULL && vt_tee_has_tpm(tee) && o->init_data_len != 32)
        return vt_error_set(err, VT_E_ARG, "init_data",
                            "%s binds init-data in PCR8 as a SHA-256 digest; this digest has %zu bytes "
                            "(the init-data's algorithm must be sha256)", name, o->init_data_len);
    return VT_OK;
}

/* Init-data of the kinds whose verifier does not check it: the claims' field (verify.h). */
static vt_err init_data_check(const vt_verify_opts *o, vt_verify_result *r, vt_error *err)
{
    if (o->init_data == NULL || vt_tee_has_tpm(r->claims.tee)) return VT_OK;
    const vt_claims *c = &r->claims;
    if (vt_claims_init_data_binds(c, o->init_data, o->init_data_len)) {
        vt_check_pass(&r->checks, "init_data", "%s binds the %zu-byte init-data digest", c->init_data_name,
                      o->init_data_len);
        return VT_OK;
    }
    return vt_check_fail(&r->checks, err, "init_data", VT_E_VERIFY, "%s does not bind the %zu-byte init-data digest%s",
                         c->init_data_name, o->init_data_len,
                         c->tee == VT_TEE_CCA && o->init_data_len != c->init_data_len
                             ? " (CCA: the personalization value is the whole 64-byte digest, algorithm sha512)"
                             : "");
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

static vt_err verify_tdx(vt_verifier *v, const uint8_t *ev, size_t len, const vt_verify_opts *o,
                         vt_verify_result *r, vt_error *err)
{
    verifier_refresh(v, VT_TEE_TDX); /* a fetch may have added files */
    VT_GUARD(built_or(v->tdx_rc, &v->tdx_err, err));
    r->tdx = calloc(1, sizeof *r->tdx);
    if (r->tdx == NULL) return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
    vt_tdx_verify_opts to = {.at = o->at, .report_data = o->nonce, .report_data_len = o->nonce_len};
    vt_err rc = vt_tdx_verify_with(v->tdx, ev, len, &to, r->tdx, err);
    r->checks = r->tdx->checks;
    if (rc == VT_OK) rc = vt_claims_from_tdx(r->tdx, &r->claims, err);
    if (rc == VT_OK) {
        r->claims.has_collateral_issued = v->tdx_issued != 0;
        r->claims.collateral_issued = v->tdx_issued;
    }
    return rc;
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

/* AMD KDS (with kds_url): make the cache hold this report's VCEK, chain and CRL. Runs before the
 * verifier lock, one request in flight per object: a second guest of the same chip and TCB
 * waits for the first one's fetch and then finds the cache filled (vt_snp_kds_fetch makes no
 * request for what is cached). */
vt_err verify_fetch_snp(vt_verifier *v, const uint8_t *ev, size_t len, const vt_verify_opts *o, vt_error *err)
{
    if (v->collateral != NULL) /* a server: the manager's single flight, bounded wait and refresh */
        return vt_coll_manager_need_snp(v->collateral, ev, len, o->product != NULL ? o->product : v->snp_product, o->at,
                                        err);
    if (v->kds_url == NULL || v->cache_dir == NULL) return VT_OK;
    vt_snp_product product;
    vt_bytes rep, tab;
    vt_snp_report r;
    vt_snp_kds_plan plan;
    VT_GUARD(verify_snp_product(v, o, &product, err));
    VT_GUARD(vt_snp_evidence_split(ev, len, &rep, &tab, err));
    VT_GUARD(vt_snp_report_parse(rep.ptr, rep.len, &r, err));
    VT_GUARD(vt_snp_kds_plan_for(&r, product, v->cache_dir, &plan, err));
    const char *key = plan.vcek_query[0] ? plan.vcek_query : plan.chain_query;
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
    vt_snp_kds_opts ko = {.base_url = v->kds_url, .cache_dir = v->cache_dir, .product = product, .at = o->at,
                          .sleep_ms = v->kds_wait, .sleep_ctx = v->kds_wait_ctx};
    vt_snp_kds_result res;
    vt_err rc = vt_snp_kds_fetch(&ko, &r, &res, err);
    pthread_mutex_lock(&v->fetch_mu);
    if (slot < VERIFY_MAX_INFLIGHT) v->inflight[slot][0] = 0;
    pthread_cond_broadcast(&v->fetch_cv);
    pthread_mutex_unlock(&v->fetch_mu);
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

static vt_err verify_snp(vt_verifier *v, const uint8_t *ev, size_t len, const vt_verify_opts *o,
                         vt_verify_result *r, vt_error *err)
{
    verifier_refresh(v, VT_TEE_SNP);
    VT_GUARD(built_or(v->snp_rc, &v->snp_err, err));
    vt_snp_verify_opts so = {.at = o->at, .crl_required = o->crl_required, .report_data = o->nonce,
                             .report_data_len = o->nonce_len};
    VT_GUARD(verify_snp_product(v, o, &so.product, err));
    vt_snp_dir_collateral kds[VERIFY_KDS_DIRS];
    memset(kds, 0, sizeof kds);
    STACK_OF(X509) *cand = sk_X509_new_null();
    STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
    vt_err rc = cand != NULL && crls != NULL ? VT_OK : vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
    if (rc == VT_OK) rc = verify_load_kds(v, ev, len, so.product, kds, err);
    if (rc == VT_OK) rc = verify_snp_candidates(v, o, kds, cand, crls, err);
    if (rc == VT_OK) {
        r->snp = calloc(1, sizeof *r->snp);
        if (r->snp == NULL) rc = vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
    }
    if (rc == VT_OK) {
        vt_snp_collateral coll = {.certs = cand, .crls = crls};
        rc = vt_snp_verify(v->snp, ev, len, &coll, &so, r->snp, &r->checks, err);
    }
    if (rc == VT_OK) rc = vt_claims_from_snp(r->snp, &r->claims, err);
    /* With crl_required the verifier has checked the chain against an ARK-issued CRL. */
    if (rc == VT_OK) r->claims.revocation_checked = o->crl_required;
    sk_X509_free(cand);
    sk_X509_CRL_free(crls);
    verify_kds_free(kds);
    return rc;
}

static vt_err verify_cca(vt_verifier *v, const uint8_t *ev, size_t len, const vt_verify_opts *o,
                         vt_verify_result *r, vt_error *err)
{
    r->cca = calloc(1, sizeof *r->cca);
    if (r->cca == NULL) return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
    VT_GUARD(vt_cca_token_parse(ev, len, r->cca, err)); /* a malformed token is reported as such first */
    verifier_refresh(v, VT_TEE_CCA);
    VT_GUARD(built_or(v->cca_rc, &v->cca_err, err));
    vt_cca_verify_opts co = {.trust = &v->cca, .nonce = o->nonce, .nonce_len = o->nonce_len};
    const vt_cca_cpak *used = NULL;
    vt_err rc = vt_cca_verify(r->cca, &co, &r->checks, &used, err);
    if (used != NULL) {
        snprintf(r->cca_cpak, sizeof r->cca_cpak, "%s", used->label);
        r->cca_cpak_emulated = used->emulated;
    }
    if (rc == VT_OK) rc = vt_claims_from_cca(r->cca, used, &r->claims, err);
    return rc;
}

vt_err vt_verify(vt_verifier *v, const uint8_t *ev, size_t len, const vt_verify_opts *o, vt_verify_result *r,
                 vt_error *err)
{
    memset(r, 0, sizeof *r);
    const char *tee = o->tee;
    bool named = tee != NULL && strcmp(tee, "auto") != 0;
    vt_tee want;
    if (named && vt_tee_parse(tee, &want, NULL) != VT_OK)
        return vt_error_set(err, VT_E_ARG, "tee", "unknown TEE '%.16s' (tdx, sgx, snp, cca, az-snp-vtpm, az-tdx-vtpm, tpm)",
                            tee);
    /* detection of the JSON forms parses the JSON: not again when the kind is named (the
     * kind's own parser refuses another kind's keys) */
    const char *detected = named && vt_tee_has_tpm(want) ? NULL : vt_evidence_detect(ev, len);
    if (!named) tee = detected;
    if (tee == NULL) return vt_error_set(err, VT_E_ARG, "tee", "cannot tell the evidence kind");
    if (!named && vt_tee_parse(tee, &want, NULL) != VT_OK)
        return vt_error_set(err, VT_E_ARG, "tee", "unknown TEE '%.16s'", tee);
    /* TDX and SGX quotes share a verifier: which one it is shows after parsing */
    vt_tee kind = want;
    if (detected != NULL && (want == VT_TEE_TDX || want == VT_TEE_SGX) && vt_tee_parse(detected, &kind, NULL) != VT_OK)
        kind = want;
    if (vt_tee_has_tpm(want) && detected != NULL && strcmp(detected, tee) != 0)
        return vt_error_set(err, VT_E_ARG, "tee", "%s evidence expected but it is %s", tee, detected);
    VT_GUARD(options_apply(o, kind, err));
    r->tee = kind;
    if (kind == VT_TEE_TDX || kind == VT_TEE_SGX) VT_GUARD(verify_fetch_tdx(v, vt_tee_name(kind), ev, len, o->at, err));
    if (kind == VT_TEE_SNP) VT_GUARD(verify_fetch_snp(v, ev, len, o, err));
    if (kind == VT_TEE_AZ_SNP_VTPM || kind == VT_TEE_AZ_TDX_VTPM) VT_GUARD(verify_az_fetch(v, kind, ev, len, o, err));
    pthread_mutex_lock(&v->mu); /* the TDX verifier is not thread-safe; the rebuild must be exclusive */
    vt_err rc = want == VT_TEE_TDX || want == VT_TEE_SGX ? verify_tdx(v, ev, len, o, r, err)
                : want == VT_TEE_SNP                     ? verify_snp(v, ev, len, o, r, err)
                : vt_tee_has_tpm(want)                   ? verify_tpm_kind(v, want, ev, len, o, r, err)
                                                         : verify_cca(v, ev, len, o, r, err);
    pthread_mutex_unlock(&v->mu);
    if (rc == VT_E_INVALID && detected == NULL && vt_tee_has_tpm(want)) {
        /* named, and its parser refused it: say so when it is another kind's evidence */
        const char *other = vt_evidence_detect(ev, len);
        if (other != NULL && strcmp(other, tee) != 0)
            return vt_error_set(err, VT_E_ARG, "tee", "%s evidence expected but it is %s", tee, other);
    }
    if (rc == VT_OK) {
        r->tee = r->claims.tee;
        if (r->claims.tee != want)
            return vt_error_set(err, VT_E_ARG, "tee", "%s evidence expected but it is %s", tee,
                                vt_tee_name(r->claims.tee));
        rc = init_data_check(o, r, err);
    }
    return rc;
}

void vt_verify_result_clear(vt_verify_result *r)
{
    if (r == NULL) return;
    free(r->tdx);
    free(r->snp);
    free(r->cca);
    json_decref(r->tpm_claims);
    memset(r, 0, sizeof *r);
}

json_t *vt_verify_result_json(const vt_verify_result *r)
{
    if (r->tpm_claims != NULL) return json_deep_copy(r->tpm_claims);
    if (r->tdx != NULL) return vt_tdx_result_json(r->tdx);
    if (r->snp != NULL) return vt_snp_claims_json(r->snp);
    if (r->cca != NULL) return vt_cca_claims_json(r->cca);
    return NULL;
}

/* The evidence kind from its first bytes (verify.h). */
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
    return vt_az_evidence_detect(p, len); /* a JSON object: az-snp-vtpm, az-tdx-vtpm, tpm */
}

