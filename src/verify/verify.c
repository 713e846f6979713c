/* One verification (include/veritee/verify.h): the evidence kind, the options that apply to
 * it, online collateral when configured, the TEE's (or the GPU's) verifier, and normalized claims. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify_internal.h"
#include "veritee/fileio.h"
#include "veritee/certdir.h"
#include "veritee/collateral.h"
#include "veritee/snp_kds.h"

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
    if (o->crl_required && tee == VT_TEE_NVIDIA)
        return vt_error_set(err, VT_E_ARG, "options", "NVIDIA device chains are checked with OCSP responses, not a CRL");
    if (o->n_ocsp > 0 && tee != VT_TEE_NVIDIA)
        return vt_error_set(err, VT_E_ARG, "options", "OCSP responses apply to NVIDIA GPU evidence only; this is %s", name);
    if ((o->nvidia_revocation != NULL || o->nvidia_rim_source != NULL || o->nvidia_rim_verifier != NULL) &&
        tee != VT_TEE_NVIDIA)
        return vt_error_set(err, VT_E_ARG, "options", "GPU revocation and RIM sources apply to NVIDIA GPU evidence only; this is %s",
                            name);
    if (o->n_rims > 0 && tee != VT_TEE_NVIDIA)
        return vt_error_set(err, VT_E_ARG, "options", "GPU RIMs apply to NVIDIA GPU evidence only; this is %s", name);
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

/* The outcome of building a TEE's verifier (rc, and the error saved when it failed). */
static vt_err built_for(const vt_verifier *v, vt_tee tee, vt_error *err)
{
    switch (tee) {
    case VT_TEE_TDX:
    case VT_TEE_SGX: return verify_built(v->tdx_rc, &v->tdx_err, err);
    case VT_TEE_SNP: return verify_built(v->snp_rc, &v->snp_err, err);
    case VT_TEE_CCA: return verify_built(v->cca_rc, &v->cca_err, err);
    case VT_TEE_NVIDIA: return verify_built(v->nv_rc, &v->nv_err, err);
    default: return vt_error_set(err, VT_E_INTERNAL, "verify", "no verifier of its own for %s", vt_tee_name(tee));
    }
}

/* Under mu: look at the sources and build `tee`'s verifier; when it is built, hold v->rw for
 * reading (verify_leave releases it), so the verification runs outside mu, at once with
 * others, and a rebuild waits until it is done (verify_internal.h). */
static vt_err verify_enter(vt_verifier *v, vt_tee tee, vt_error *err)
{
    pthread_mutex_lock(&v->mu);
    verifier_refresh(v, tee); /* a fetch may have added files */
    vt_err rc = built_for(v, tee, err);
    if (rc == VT_OK) pthread_rwlock_rdlock(&v->rw);
    pthread_mutex_unlock(&v->mu);
    return rc;
}

static void verify_leave(vt_verifier *v) { pthread_rwlock_unlock(&v->rw); }

/* Holds v->rw (read). */
static vt_err verify_tdx(vt_verifier *v, const uint8_t *ev, size_t len, const vt_verify_opts *o,
                         vt_verify_result *r, vt_error *err)
{
    r->tdx = calloc(1, sizeof *r->tdx);
    if (r->tdx == NULL) return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
    vt_tdx_verify_opts to = {.at = o->at, .report_data = o->nonce, .report_data_len = o->nonce_len};
    vt_err rc = vt_tdx_verify_with(v->tdx, ev, len, &to, r->tdx, err);
    r->checks.n = r->tdx->checks.n; /* the entries in use, not all 11 KiB */
    memcpy(r->checks.items, r->tdx->checks.items, r->checks.n * sizeof r->checks.items[0]);
    if (rc == VT_OK) rc = vt_claims_from_tdx(r->tdx, &r->claims, err);
    if (rc == VT_OK) {
        r->claims.has_collateral_issued = v->tdx_issued != 0;
        r->claims.collateral_issued = v->tdx_issued;
    }
    return rc;
}

/* Holds v->rw (read). */
static vt_err verify_snp(vt_verifier *v, const uint8_t *ev, size_t len, const vt_verify_opts *o,
                         vt_verify_result *r, vt_error *err)
{
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

/* Holds v->rw (read); the token was parsed into r->cca. */
static vt_err verify_cca(vt_verifier *v, const vt_verify_opts *o, vt_verify_result *r, vt_error *err)
{
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

/* Whether the device chains' revocation was checked (passed), not skipped or allowed unknown. */
static bool revocation_checked(const vt_checks *c)
{
    const vt_check *k = vt_checks_find(c, "revocation");
    return k != NULL && k->status == VT_CHECK_PASS;
}

/* The devices of GPU evidence through the nvidia layer; the caller holds v->rw (read). */
static vt_err verify_nvidia_devices(vt_verifier *v, const uint8_t *ev, size_t len, const vt_verify_opts *o,
                                    vt_verify_result *r, vt_error *err)
{
    size_t n_ocsp = v->n_nv_ocsp + o->n_ocsp;
    vt_bytes *ocsp = n_ocsp > 0 ? calloc(n_ocsp, sizeof *ocsp) : NULL;
    if (n_ocsp > 0 && ocsp == NULL) return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
    for (size_t i = 0; i < o->n_ocsp; i++) ocsp[i] = o->ocsp[i];
    for (size_t i = 0; i < v->n_nv_ocsp; i++) ocsp[o->n_ocsp + i] = v->nv_ocsp[i];
    vt_nvidia_verify_opts no = {.at = o->at, .nonce = o->nonce, .nonce_len = o->nonce_len, .ocsp = ocsp,
                                .n_ocsp = n_ocsp, .require_ocsp = v->nvidia_require_ocsp, .rims = o->rims,
                                .n_rims = o->n_rims, .rim_verifier = o->nvidia_rim_verifier,
                                .rim_source = o->nvidia_rim_source};
    /* the caller's revocation sources, with every offline response (its own, the call's and
     * the directory's) in one list */
    vt_nvidia_revocation rev;
    vt_bytes *all = NULL;
    if (o->nvidia_revocation != NULL) {
        rev = *o->nvidia_revocation;
        size_t n_all = rev.n_responses + n_ocsp;
        all = n_all > 0 ? calloc(n_all, sizeof *all) : NULL;
        if (n_all > 0 && all == NULL) {
            free(ocsp);
            return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
        }
        for (size_t i = 0; i < rev.n_responses; i++) all[i] = rev.responses[i];
        for (size_t i = 0; i < n_ocsp; i++) all[rev.n_responses + i] = ocsp[i];
        rev.responses = all;
        rev.n_responses = n_all;
        rev.require = rev.require || v->nvidia_require_ocsp;
        no.revocation = &rev;
    }
    vt_err rc = vt_nvidia_verify(v->nv, ev, len, &no, &r->nvidia, &r->checks, err);
    free(all);
    free(ocsp);
    VT_GUARD(rc);
    const json_t *devs = json_object_get(r->nvidia, "devices");
    size_t n = json_array_size(devs);
    r->gpus = calloc(n > 0 ? n : 1, sizeof *r->gpus);
    if (r->gpus == NULL) return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
    for (size_t i = 0; i < n; i++) {
        VT_GUARD(vt_claims_from_gpu(json_array_get(devs, i), revocation_checked(&r->checks), &r->gpus[i], err));
        r->n_gpus++;
    }
    if (n == 0) return vt_error_set(err, VT_E_INVALID, "evidence_format", "no GPU device verified");
    r->claims = r->gpus[0];
    return VT_OK;
}

/* NVIDIA GPUs (Trustee's device_evidence_list JSON): every device verified by the nvidia layer
 * (chain, FWID, signature, nonce, OCSP, RIMs; one UEID per device), then one normalized claims
 * per device. Outside v->mu like the TEEs' verifications (verify_enter): the OCSP and RIM
 * fetches must not hold up every other verification. */
static vt_err verify_nvidia(vt_verifier *v, const uint8_t *ev, size_t len, const vt_verify_opts *o,
                            vt_verify_result *r, vt_error *err)
{
    VT_GUARD(verify_enter(v, VT_TEE_NVIDIA, err));
    vt_err rc = verify_nvidia_devices(v, ev, len, o, r, err);
    verify_leave(v);
    return rc;
}

/* Every kind's verification runs outside v->mu, holding v->rw for reading: several at once,
 * and a rebuild of the verifiers waits for them (verify_enter, verify_tpm_prepare). */
static vt_err verify_kind(vt_verifier *v, vt_tee want, const uint8_t *ev, size_t len, const vt_verify_opts *o,
                          vt_verify_result *r, vt_error *err)
{
    vt_err rc;
    if (want == VT_TEE_NVIDIA) return verify_nvidia(v, ev, len, o, r, err);
    if (vt_tee_has_tpm(want)) {
        pthread_mutex_lock(&v->mu);
        rc = verify_tpm_prepare(v, want, err);
        if (rc == VT_OK) pthread_rwlock_rdlock(&v->rw);
        pthread_mutex_unlock(&v->mu);
        if (rc != VT_OK) return rc;
        rc = verify_tpm_kind(v, want, ev, len, o, r, err);
        verify_leave(v);
        return rc;
    }
    if (want == VT_TEE_CCA) {
        r->cca = calloc(1, sizeof *r->cca);
        if (r->cca == NULL) return vt_error_set(err, VT_E_NOMEM, "verify", "out of memory");
        /* a malformed token is reported as such first, whatever the trust */
        VT_GUARD(vt_cca_token_parse(ev, len, r->cca, err));
    }
    VT_GUARD(verify_enter(v, want, err));
    rc = want == VT_TEE_TDX || want == VT_TEE_SGX ? verify_tdx(v, ev, len, o, r, err)
         : want == VT_TEE_SNP                     ? verify_snp(v, ev, len, o, r, err)
                                                  : verify_cca(v, o, r, err);
    verify_leave(v);
    return rc;
}

vt_err vt_verify(vt_verifier *v, const uint8_t *ev, size_t len, const vt_verify_opts *o, vt_verify_result *r,
                 vt_error *err)
{
    vt_verify_result_init(r);
    const char *tee = o->tee;
    bool named = tee != NULL && strcmp(tee, "auto") != 0;
    vt_tee want;
    if (named && vt_tee_parse(tee, &want, NULL) != VT_OK)
        return vt_error_set(err, VT_E_ARG, "tee", "unknown TEE '%.16s' (tdx, sgx, snp, cca, az-snp-vtpm, az-tdx-vtpm, tpm, nvidia)",
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
    vt_err rc = verify_kind(v, want, ev, len, o, r, err);
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
    free(r->gpus);
    json_decref(r->nvidia);
    json_decref(r->tpm_claims);
    vt_verify_result_init(r);
}

/* The spans vt_verify_result_init zeroes leave out only the check entries and what claims_reset
 * leaves out: no member may sit between claims and checks. */
_Static_assert(offsetof(vt_verify_result, checks) - offsetof(vt_verify_result, claims) - sizeof(vt_claims) <
                   _Alignof(vt_checks),
               "a member between claims and checks would not be reset");

void vt_verify_result_init(vt_verify_result *r)
{
    if (r == NULL) return;
    /* all but the check entries and the claims' big arrays: every member added after checks
     * (owned pointers) is zeroed too */
    memset(r, 0, offsetof(vt_verify_result, claims));
    claims_reset(&r->claims);
    memset(&r->checks.n, 0, sizeof *r - offsetof(vt_verify_result, checks.n));
}

json_t *vt_verify_result_json(const vt_verify_result *r)
{
    if (r->tpm_claims != NULL) return json_deep_copy(r->tpm_claims);
    if (r->tdx != NULL) return vt_tdx_result_json(r->tdx);
    if (r->snp != NULL) return vt_snp_claims_json(r->snp);
    if (r->cca != NULL) return vt_cca_claims_json(r->cca);
    if (r->nvidia != NULL) return json_deep_copy(r->nvidia);
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

