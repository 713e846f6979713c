/* The TDX/SGX verifier context: trust anchors, collateral and chain caches (docs/tdx.md).
 * Collateral signatures are checked once when the verifier is built; certificate chains are
 * verified with OpenSSL at the requested instant and cached with the window in which that
 * result holds, so a warm verification costs two ECDSA verifies. */
#include <stdlib.h>
#include <string.h>

#include "tdx_internal.h"
#include "veritee/crypto.h"
#include "veritee/x509.h"
#include <openssl/err.h>
#include <openssl/x509v3.h>

/* SHA-256 of the DER of the Intel SGX Root CA (subject CN=Intel SGX Root CA, serial
 * 22650cd6...; valid 2018-05-21 .. 2049-12-31). */
const uint8_t VT_TDX_INTEL_ROOT_SHA256[32] = {
    0x44, 0xa0, 0x19, 0x6b, 0x2b, 0x99, 0xf8, 0x89, 0xb8, 0xe1, 0x49, 0xe9, 0x5b, 0x80, 0x7a, 0x35,
    0x0e, 0x74, 0x24, 0x96, 0x43, 0x99, 0xe8, 0x85, 0xa7, 0xcb, 0xb8, 0xcc, 0xfa, 0xb6, 0x74, 0xd3};

void tdx_chain_entry_clear(chain_entry *e)
{
    EVP_PKEY_free(e->leaf_key);
    free(e->chain);
    memset(e, 0, sizeof *e);
}

void vt_tdx_verifier_free(vt_tdx_verifier *v)
{
    if (v == NULL) return;
    for (size_t i = 0; i < PCK_CACHE; i++) tdx_chain_entry_clear(&v->pck[i]);
    EVP_PKEY_free(v->tcb_signing_key);
    vt_ec_params_free(v->ec);
    vt_crl_memo_free(v->crl_memo);
    sk_X509_pop_free(v->roots, X509_free);
    vt_tdx_collateral_clear(&v->coll);
    pthread_mutex_destroy(&v->mu);
    free(v);
}

/* With the built-in pin: adopt the self-signed certificate of `chain` whose fingerprint is
 * Intel's root, once. */
static void adopt_pinned_root(vt_tdx_verifier *v, STACK_OF(X509) *chain)
{
    if (!v->pinned || chain == NULL || sk_X509_num(v->roots) > 0) return;
    for (int i = 0; i < sk_X509_num(chain); i++) {
        X509 *c = sk_X509_value(chain, i);
        uint8_t fp[32];
        if (vt_x509_sha256(c, fp, NULL) == VT_OK && vt_ct_eq(fp, VT_TDX_INTEL_ROOT_SHA256, 32) &&
            X509_up_ref(c) == 1 && sk_X509_push(v->roots, c) <= 0)
            X509_free(c);
    }
}

static void check_collateral_signatures(vt_tdx_verifier *v)
{
    if (v->tcb_signing_key == NULL) return;
    for (size_t i = 0; i < v->coll.n_tcb_infos; i++) {
        vt_tcb_info *t = &v->coll.tcb_infos[i];
        t->signature_ok = vt_ecdsa_verify_raw(v->tcb_signing_key, VT_SHA256, t->signed_body.ptr,
                                              t->signed_body.len, t->signature, 64, "TCB Info", NULL) == VT_OK;
    }
    for (size_t i = 0; i < v->coll.n_qe_identities; i++) {
        vt_qe_identity *q = &v->coll.qe_identities[i];
        q->signature_ok = vt_ecdsa_verify_raw(v->tcb_signing_key, VT_SHA256, q->signed_body.ptr,
                                              q->signed_body.len, q->signature, 64, "QE Identity", NULL) == VT_OK;
    }
}

vt_err vt_tdx_verifier_new(const vt_tdx_verifier_opts *opts, vt_tdx_collateral *coll,
                           vt_tdx_verifier **out, vt_error *err)
{
    vt_tdx_verifier *v = calloc(1, sizeof *v);
    if (v == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    v->roots = sk_X509_new_null();
    if (v->roots == NULL || pthread_mutex_init(&v->mu, NULL) != 0) {
        sk_X509_free(v->roots);
        free(v);
        return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    }
    vt_err prc = vt_ec_params_new_curve(VT_P256, &v->ec, err); /* attestation keys are P-256 */
    if (prc == VT_OK) prc = vt_crl_memo_new(&v->crl_memo, err);
    if (prc != VT_OK) {
        vt_ec_params_free(v->ec);
        pthread_mutex_destroy(&v->mu);
        sk_X509_free(v->roots);
        free(v);
        return prc;
    }
    v->allow_missing_pck_crl = opts != NULL && opts->allow_missing_pck_crl;
    if (opts != NULL && opts->roots != NULL && sk_X509_num(opts->roots) > 0) {
        for (int i = 0; i < sk_X509_num(opts->roots); i++) {
            X509 *c = sk_X509_value(opts->roots, i);
            if (X509_up_ref(c) == 1 && sk_X509_push(v->roots, c) <= 0) X509_free(c);
        }
    } else {
        v->pinned = true;
    }
    if (coll != NULL) {
        v->coll = *coll;
        memset(coll, 0, sizeof *coll);
    }
    if (v->coll.tcb_signing_chain != NULL && sk_X509_num(v->coll.tcb_signing_chain) > 0) {
        adopt_pinned_root(v, v->coll.tcb_signing_chain);
        X509 *leaf = sk_X509_value(v->coll.tcb_signing_chain, 0);
        v->tcb_signing_key = X509_get_pubkey(leaf);
        check_collateral_signatures(v);
    }
    *out = v;
    return VT_OK;
}

vt_time tmin_time(vt_time a, vt_time b);
static vt_time tmin(vt_time a, vt_time b) { return a < b ? a : b; }
static vt_time tmax(vt_time a, vt_time b) { return a > b ? a : b; }

/* The window in which a successful chain verification stays valid: certificate validity and
 * the thisUpdate/nextUpdate of every CRL consulted. */
static vt_err chain_window(STACK_OF(X509) *chain, STACK_OF(X509) *roots, STACK_OF(X509_CRL) *crls,
                           vt_time *lo, vt_time *hi, vt_error *err)
{
    *lo = INT64_MIN;
    *hi = INT64_MAX;
    STACK_OF(X509) *sets[2] = {chain, roots};
    for (int s = 0; s < 2; s++)
        for (int i = 0; sets[s] != NULL && i < sk_X509_num(sets[s]); i++) {
            vt_time nb, na;
            VT_GUARD(vt_x509_validity(sk_X509_value(sets[s], i), &nb, &na, err));
            *lo = tmax(*lo, nb);
            *hi = tmin(*hi, na);
        }
    for (int i = 0; crls != NULL && i < sk_X509_CRL_num(crls); i++) {
        vt_time tu, nu;
        VT_GUARD(vt_crl_times(sk_X509_CRL_value(crls, i), &tu, &nu, err));
        *lo = tmax(*lo, tu);
        *hi = tmin(*hi, nu);
    }
    return VT_OK;
}

static bool is_trusted_root(const vt_tdx_verifier *v, X509 *c)
{
    for (int i = 0; i < sk_X509_num(v->roots); i++)
        if (X509_cmp(c, sk_X509_value(v->roots, i)) == 0) return true;
    return false;
}

static X509_CRL *pck_crl_for(const vt_tdx_verifier *v, const X509 *pck)
{
    for (int i = 0; v->coll.pck_crls != NULL && i < sk_X509_CRL_num(v->coll.pck_crls); i++) {
        X509_CRL *c = sk_X509_CRL_value(v->coll.pck_crls, i);
        if (X509_NAME_cmp(X509_CRL_get_issuer(c), X509_get_issuer_name(pck)) == 0) return c;
    }
    return NULL;
}

static vt_err verify_pck_chain(vt_tdx_verifier *v, const vt_tdx_quote *q, vt_time at, chain_entry *e, vt_error *err)
{
    STACK_OF(X509) *chain = NULL;
    STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
    vt_err rc = VT_OK;
    if (crls == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    VT_GUARD_GOTO(vt_pem_certs_known(q->pck_chain.ptr, q->pck_chain.len, v->roots, &chain, err));
    X509 *leaf = sk_X509_value(chain, 0);
    adopt_pinned_root(v, chain);
    if (sk_X509_num(v->roots) == 0) {
        rc = vt_error_set(err, VT_E_VERIFY, "pck_chain", "PCK certificate chain does not lead to a trusted root "
                                                  "(no Intel SGX Root CA with the pinned fingerprint)");
        goto out;
    }
    /* The quote carries the whole chain; its last certificate must be byte-identical to a
     * trusted root (QVL compares it too). OpenSSL alone would use the trusted copy and ignore
     * a tampered one. */
    X509 *last = sk_X509_value(chain, sk_X509_num(chain) - 1);
    if (sk_X509_num(chain) > 1) {
        if (!is_trusted_root(v, last)) {
            rc = vt_error_set(err, VT_E_VERIFY, "pck_chain",
                              "PCK certificate chain does not lead to a trusted root: its root certificate differs "
                              "from the trusted Intel SGX Root CA");
            goto out;
        }
    }
    vt_x509_issuer_cn(leaf, e->issuer, sizeof e->issuer);
    X509_CRL *pck_crl = pck_crl_for(v, leaf);
    vt_chain_opts plain = {.at = at};
    if (v->coll.root_ca_crl == NULL || (pck_crl == NULL && !v->allow_missing_pck_crl)) {
        /* The evidence's own chain first (signatures, names, validity): a PCK certificate
         * whose issuer is not in its chain is a rejection, not a CRL to fetch. */
        VT_GUARD_GOTO(vt_chain_verify(leaf, chain, v->roots, &plain, "PCK certificate chain", err));
        if (v->coll.root_ca_crl == NULL)
            rc = vt_error_set(err, VT_E_MISSING, "pck_chain",
                              "Intel SGX Root CA CRL missing from the collateral (root_ca_crl.der)");
        else
            rc = vt_error_set(err, VT_E_MISSING, "pck_chain", "PCK CRL of \"%s\" missing from the collateral (pck_crl.der)",
                              e->issuer);
        goto out;
    }
    sk_X509_CRL_push(crls, v->coll.root_ca_crl);
    if (pck_crl != NULL) sk_X509_CRL_push(crls, pck_crl);
    vt_chain_opts co = {.at = at, .crls = crls, .crl_required = true, .allow_missing_leaf_crl = pck_crl == NULL,
                       .crl_memo = v->crl_memo};
    /* One verification with the CRLs is the whole check when it passes (it is the chain check
     * plus revocation). When it fails, the chain alone says which error is reported: a broken
     * chain before anything a CRL says, as when they were checked in that order. */
    if (vt_chain_verify(leaf, chain, v->roots, &co, "PCK certificate chain", NULL) != VT_OK) {
        VT_GUARD_GOTO(vt_chain_verify(leaf, chain, v->roots, &plain, "PCK certificate chain", err));
        VT_GUARD_GOTO(vt_chain_verify(leaf, chain, v->roots, &co, "PCK certificate chain", err));
    }
    VT_GUARD_GOTO(vt_sgx_pck_ext_parse(leaf, &e->ext, err));
    VT_GUARD_GOTO(chain_window(chain, v->roots, crls, &e->lo, &e->hi, err));
    e->leaf_key = X509_get_pubkey(leaf);
    if (e->leaf_key == NULL) {
        rc = vt_error_set(err, VT_E_INVALID, "pck_chain", "PCK certificate public key does not decode");
        goto out;
    }
    if ((e->chain = malloc(q->pck_chain.len ? q->pck_chain.len : 1)) == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        goto out;
    }
    memcpy(e->chain, q->pck_chain.ptr, q->pck_chain.len);
    e->chain_len = q->pck_chain.len;
    e->revocation_checked = pck_crl != NULL;
    e->emulated = vt_x509_is_emulated(last);
    e->used = true;
out:
    sk_X509_CRL_free(crls); /* the CRLs are owned by the collateral */
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

/* The caller's copy of a cached entry: the same facts, and a key of its own (a duplicate, made
 * under the cache's lock). Not a second reference to the cached key: OpenSSL 3.0 drops
 * references with a relaxed decrement, so a verification's reads of a shared key are not
 * ordered before another thread's eviction frees it (TSan reported exactly that in
 * test_pck_cache_concurrent; on weakly ordered CPUs it is more than a report). A copy costs
 * about a microsecond. */
static vt_err entry_copy(const chain_entry *e, chain_entry *out, vt_error *err)
{
    *out = *e;
    out->chain = NULL;
    out->chain_len = 0;
    if ((out->leaf_key = EVP_PKEY_dup(e->leaf_key)) == NULL) {
        ERR_clear_error();
        memset(out, 0, sizeof *out);
        return vt_error_set(err, VT_E_NOMEM, "pck_chain", "cannot copy the PCK key");
    }
    return VT_OK;
}

/* The cached verification of this quote's PCK chain valid at `at`, or a fresh one. */
static vt_err pck_chain_locked(vt_tdx_verifier *v, const vt_tdx_quote *q, vt_time at, chain_entry *out, vt_error *err)
{
    /* keyed by the exact chain bytes (public data: a plain comparison, cheaper than hashing
     * them), and only within the window the verification holds for (certificates and CRLs) */
    for (size_t i = 0; i < PCK_CACHE; i++) {
        chain_entry *e = &v->pck[i];
        if (e->used && e->chain_len == q->pck_chain.len && memcmp(e->chain, q->pck_chain.ptr, e->chain_len) == 0 &&
            vt_valid_at(at, e->lo, e->hi))
            return entry_copy(e, out, err);
    }
    chain_entry fresh = {0};
    vt_err rc = verify_pck_chain(v, q, at, &fresh, err);
    if (rc != VT_OK) {
        tdx_chain_entry_clear(&fresh);
        return rc;
    }
    chain_entry *slot = &v->pck[v->next_slot];
    v->next_slot = (v->next_slot + 1) % PCK_CACHE;
    tdx_chain_entry_clear(slot);
    *slot = fresh;
    return entry_copy(slot, out, err);
}

vt_err tdx_pck_chain(vt_tdx_verifier *v, const vt_tdx_quote *q, vt_time at, chain_entry *out, vt_error *err)
{
    pthread_mutex_lock(&v->mu);
    vt_err rc = pck_chain_locked(v, q, at, out, err);
    pthread_mutex_unlock(&v->mu);
    return rc;
}

/* The issuer of TCB Info and QE Identity must hold that role, as Intel's QVL requires: the
 * chain is exactly [Intel SGX TCB Signing, Intel SGX Root CA], the root is a trusted one, and
 * the signer is an end-entity certificate named "Intel SGX TCB Signing" whose key usage allows
 * signatures. A PCK Platform/Processor CA, or the root itself, does not sign collateral. */
static vt_err tcb_signer_role(const vt_tdx_verifier *v, STACK_OF(X509) *chain, vt_error *err)
{
    char cn[128];
    int n = sk_X509_num(chain);
    if (n != 2)
        return vt_error_set(err, VT_E_VERIFY, "tcb_signing_chain",
                            "TCB signing chain has %d certificate%s; Intel's is exactly [Intel SGX TCB Signing, "
                            "Intel SGX Root CA]", n, n == 1 ? "" : "s");
    X509 *signer = sk_X509_value(chain, 0), *root = sk_X509_value(chain, 1);
    vt_x509_subject_cn(signer, cn, sizeof cn);
    if (strcmp(cn, "Intel SGX TCB Signing") != 0)
        return vt_error_set(err, VT_E_VERIFY, "tcb_signing_chain",
                            "collateral signer \"%s\" is not the Intel SGX TCB Signing certificate", cn);
    /* Intel's subject is CN=Intel SGX TCB Signing, O=Intel Corporation; under veritee's
     * emulated root the organisation says it is emulated (and the claims will say so too) */
    char org[128] = "";
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(signer), NID_organizationName, org, sizeof org) < 0) org[0] = '\0';
    const char *want_org = vt_x509_is_emulated(root) ? VT_EMULATED_ORGANIZATION : "Intel Corporation";
    if (strcmp(org, want_org) != 0)
        return vt_error_set(err, VT_E_VERIFY, "tcb_signing_chain",
                            "collateral signer \"%s\" is of organisation \"%s\", not \"%s\"", cn, org, want_org);
    uint32_t ku = X509_get_key_usage(signer);
    if (X509_check_ca(signer) != 0 || ku == UINT32_MAX || !(ku & KU_DIGITAL_SIGNATURE) ||
        (ku & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)))
        return vt_error_set(err, VT_E_VERIFY, "tcb_signing_chain",
                            "Intel SGX TCB Signing certificate is not an end-entity signing certificate "
                            "(basic constraints / key usage digitalSignature)");
    if (!is_trusted_root(v, root))
        return vt_error_set(err, VT_E_VERIFY, "tcb_signing_chain",
                            "TCB signing chain does not lead to a trusted root: its root certificate differs from "
                            "the trusted Intel SGX Root CA");
    return VT_OK;
}

static vt_err tcb_signing_chain_locked(vt_tdx_verifier *v, vt_time at, vt_error *err)
{
    if (v->tcb_chain_ok && vt_valid_at(at, v->tcb_lo, v->tcb_hi)) return VT_OK;
    v->tcb_chain_ok = false;
    STACK_OF(X509) *chain = v->coll.tcb_signing_chain;
    if (chain == NULL || sk_X509_num(chain) == 0)
        return vt_error_set(err, VT_E_MISSING, "tcb_signing_chain", "TCB signing chain missing from the collateral (tcb_signing_chain.pem)");
    if (sk_X509_num(v->roots) == 0)
        return vt_error_set(err, VT_E_VERIFY, "tcb_signing_chain", "TCB signing chain does not lead to a trusted root");
    VT_GUARD(tcb_signer_role(v, chain, err));
    /* the chain itself first: an inconsistent one is rejected before any CRL is asked for */
    vt_chain_opts plain = {.at = at};
    if (v->coll.root_ca_crl == NULL) {
        VT_GUARD(vt_chain_verify(sk_X509_value(chain, 0), chain, v->roots, &plain, "TCB signing chain", err));
        return vt_error_set(err, VT_E_MISSING, "tcb_signing_chain",
                            "Intel SGX Root CA CRL missing from the collateral (root_ca_crl.der)");
    }
    STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
    if (crls == NULL || sk_X509_CRL_push(crls, v->coll.root_ca_crl) <= 0) {
        sk_X509_CRL_free(crls);
        return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    }
    vt_chain_opts co = {.at = at, .crls = crls, .crl_required = true, .crl_memo = v->crl_memo};
    /* with the CRL once; only a failure is checked again without it, to report a broken chain
     * before what the CRL says (see verify_pck_chain) */
    vt_err rc = vt_chain_verify(sk_X509_value(chain, 0), chain, v->roots, &co, "TCB signing chain", NULL);
    if (rc != VT_OK) {
        rc = vt_chain_verify(sk_X509_value(chain, 0), chain, v->roots, &plain, "TCB signing chain", err);
        if (rc == VT_OK) rc = vt_chain_verify(sk_X509_value(chain, 0), chain, v->roots, &co, "TCB signing chain", err);
    }
    if (rc == VT_OK) rc = chain_window(chain, v->roots, crls, &v->tcb_lo, &v->tcb_hi, err);
    sk_X509_CRL_free(crls);
    v->tcb_chain_ok = rc == VT_OK;
    return rc;
}

vt_err tdx_tcb_signing_chain(vt_tdx_verifier *v, vt_time at, vt_time *hi, vt_error *err)
{
    pthread_mutex_lock(&v->mu);
    vt_err rc = tcb_signing_chain_locked(v, at, err);
    *hi = v->tcb_hi;
    pthread_mutex_unlock(&v->mu);
    return rc;
}

vt_time tmin_time(vt_time a, vt_time b) { return a < b ? a : b; }
