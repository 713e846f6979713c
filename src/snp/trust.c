/* The SEV-SNP verifier context: trusted ARKs (pinned fingerprints or explicit anchors), candidate
 * certificates, CRLs and a cache of verified chains ARK -> ASK|ASVK -> VCEK|VLEK (AMD VCEK spec
 * 57230, "Certificate Chain"; AMD KDS serves ASK/ARK as cert_chain and the ARK-signed CRL). */
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "snp_internal.h"
#include "veritee/codec.h"
#include "veritee/crypto.h"
#include "veritee/x509.h"

#define CACHE_MAX 32
#define PINS_MAX 32

struct vt_snp_verifier {
    pthread_mutex_t lock;      /* guards the cache */
    bool explicit_trust;       /* pins are the anchors given, not the built-in ones */
    vt_snp_ark_pin pins[PINS_MAX];
    size_t npins;
    STACK_OF(X509) *pool;      /* ASK, ASVK, ARK candidates (anchors included) */
    STACK_OF(X509_CRL) *crls;
    snp_chain cache[CACHE_MAX];
    size_t ncache;
    size_t next;               /* round-robin eviction */
};

vt_err vt_snp_verifier_new(vt_snp_verifier **out, vt_error *err)
{
    vt_snp_verifier *v = calloc(1, sizeof *v);
    if (v == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    v->pool = sk_X509_new_null();
    v->crls = sk_X509_CRL_new_null();
    if (v->pool == NULL || v->crls == NULL || pthread_mutex_init(&v->lock, NULL) != 0) {
        sk_X509_free(v->pool);
        sk_X509_CRL_free(v->crls);
        free(v);
        return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    }
    size_t n;
    const vt_snp_ark_pin *b = vt_snp_builtin_ark_pins(&n);
    memcpy(v->pins, b, n * sizeof *b);
    v->npins = n;
    *out = v;
    return VT_OK;
}

void snp_chain_clear(snp_chain *c)
{
    X509_free(c->leaf);
    X509_free(c->ask);
    X509_free(c->ark);
    memset(c, 0, sizeof *c);
}

void snp_chain_copy(snp_chain *dst, const snp_chain *src)
{
    *dst = *src;
    X509_up_ref(dst->leaf);
    X509_up_ref(dst->ask);
    X509_up_ref(dst->ark);
}

void vt_snp_verifier_flush(vt_snp_verifier *v)
{
    if (v == NULL) return;
    pthread_mutex_lock(&v->lock);
    for (size_t i = 0; i < v->ncache; i++) snp_chain_clear(&v->cache[i]);
    v->ncache = 0;
    v->next = 0;
    pthread_mutex_unlock(&v->lock);
}

size_t vt_snp_verifier_cached(vt_snp_verifier *v)
{
    if (v == NULL) return 0;
    pthread_mutex_lock(&v->lock);
    size_t n = v->ncache;
    pthread_mutex_unlock(&v->lock);
    return n;
}

void vt_snp_verifier_free(vt_snp_verifier *v)
{
    if (v == NULL) return;
    vt_snp_verifier_flush(v);
    pthread_mutex_destroy(&v->lock);
    sk_X509_pop_free(v->pool, X509_free);
    sk_X509_CRL_pop_free(v->crls, X509_CRL_free);
    free(v);
}

vt_err vt_snp_verifier_add_cert(vt_snp_verifier *v, X509 *cert, vt_error *err)
{
    if (v == NULL || cert == NULL) return vt_error_set(err, VT_E_ARG, "trust", "no certificate");
    vt_x509_settle(cert); /* the pool is shared by concurrent verifications */
    if (sk_X509_push(v->pool, cert) <= 0) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    X509_up_ref(cert);
    return VT_OK;
}

vt_err vt_snp_verifier_add_crl(vt_snp_verifier *v, X509_CRL *crl, vt_error *err)
{
    if (v == NULL || crl == NULL) return vt_error_set(err, VT_E_ARG, "revocation", "no CRL");
    if (sk_X509_CRL_push(v->crls, crl) <= 0)
        return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    X509_CRL_up_ref(crl);
    return VT_OK;
}

static bool signed_by(X509 *child, X509 *issuer)
{
    EVP_PKEY *k = X509_get0_pubkey(issuer);
    bool ok = k != NULL && X509_verify(child, k) == 1;
    ERR_clear_error();
    return ok;
}

static bool self_signed(X509 *c)
{
    bool ok = X509_check_issued(c, c) == X509_V_OK && signed_by(c, c);
    ERR_clear_error();
    return ok;
}

vt_err vt_snp_verifier_add_trust_cert(vt_snp_verifier *v, X509 *c, vt_error *err)
{
    if (v == NULL || c == NULL) return vt_error_set(err, VT_E_ARG, "trust", "no certificate");
    if (!v->explicit_trust) {
        v->explicit_trust = true;
        v->npins = 0;
    }
    snp_class k;
    snp_cert_classify(c, &k);
    if (k.role == SNP_ROLE_ARK && self_signed(c)) {
        if (v->npins == PINS_MAX)
            return vt_error_set(err, VT_E_INVALID, "trust", "more than %d trusted ARKs", PINS_MAX);
        VT_GUARD(vt_x509_sha256(c, v->pins[v->npins].sha256, err));
        v->pins[v->npins++].product = k.product;
    }
    VT_GUARD(vt_snp_verifier_add_cert(v, c, err));
    vt_snp_verifier_flush(v);
    return VT_OK;
}

vt_err vt_snp_verifier_add_trust_pem(vt_snp_verifier *v, const void *pem, size_t len, vt_error *err)
{
    if (v == NULL) return vt_error_set(err, VT_E_ARG, "trust", "no verifier");
    STACK_OF(X509) *sk = NULL;
    VT_GUARD(vt_pem_certs(pem, len, &sk, err));
    vt_err rc = VT_OK;
    for (int i = 0; i < sk_X509_num(sk) && rc == VT_OK; i++)
        rc = vt_snp_verifier_add_trust_cert(v, sk_X509_value(sk, i), err);
    sk_X509_pop_free(sk, X509_free);
    return rc;
}

static bool pinned(const vt_snp_verifier *v, const uint8_t fp[32], vt_snp_product p)
{
    for (size_t i = 0; i < v->npins; i++)
        if (v->pins[i].product == p && memcmp(v->pins[i].sha256, fp, 32) == 0) return true;
    return false;
}

static bool is_pss(const X509 *c) { return X509_get_signature_nid(c) == NID_rsassaPss; }

/* Visit the candidates: the per-call ones first, then the pool. */
static X509 *candidate(const vt_snp_verifier *v, STACK_OF(X509) *extra, int i)
{
    int ne = extra ? sk_X509_num(extra) : 0;
    if (i < ne) return sk_X509_value(extra, i);
    i -= ne;
    return i < sk_X509_num(v->pool) ? sk_X509_value(v->pool, i) : NULL;
}

/* The certificate of role `role` and product p that issued and signed `child`. */
static vt_err find_issuer(const vt_snp_verifier *v, STACK_OF(X509) *extra, X509 *child,
                          snp_role role, vt_snp_product p, const char *check, X509 **out,
                          vt_checks *checks, vt_error *err)
{
    bool name_match = false;
    char cn[96];
    vt_x509_issuer_cn(child, cn, sizeof cn);
    for (int i = 0;; i++) {
        X509 *c = candidate(v, extra, i);
        if (c == NULL) break;
        snp_class k;
        snp_cert_classify(c, &k);
        if (k.role != role || k.product != p ||
            X509_NAME_cmp(X509_get_subject_name(c), X509_get_issuer_name(child)) != 0)
            continue;
        /* Named as the issuer: from here a mismatch (authority key identifier naming another
         * key, a signature that does not verify) is an inconsistent chain, not a missing one. */
        name_match = true;
        if (X509_check_issued(c, child) == X509_V_OK && signed_by(child, c)) {
            *out = c;
            return VT_OK;
        }
    }
    ERR_clear_error();
    char sub[96];
    vt_x509_subject_cn(child, sub, sizeof sub);
    if (name_match) {
        return vt_check_fail(checks, err, check, VT_E_VERIFY,
                             "certificate \"%s\" does not verify under its issuer \"%s\"", sub, cn);
    }
    return vt_check_fail(checks, err, check, VT_E_MISSING,
                         "no %s certificate \"%s\" to verify \"%s\" (the %s chain is needed)", snp_role_name(role),
                         cn, sub, vt_snp_product_name(p));
}

static vt_err window(X509 *c, vt_time *nb, vt_time *na, vt_error *err)
{
    vt_time b, a;
    VT_GUARD(vt_x509_validity(c, &b, &a, err));
    if (b > *nb) *nb = b;
    if (a < *na) *na = a;
    return VT_OK;
}

static vt_err check_ark(const vt_snp_verifier *v, X509 *ark, snp_chain *ch, vt_checks *checks,
                        vt_error *err)
{
    char cn[96], hex[65];
    vt_x509_subject_cn(ark, cn, sizeof cn);
    if (!is_pss(ark) || !self_signed(ark) || X509_check_ca(ark) < 1) {
        return vt_check_fail(checks, err, "ark_trusted", VT_E_VERIFY,
                             "root \"%s\" is not a self-signed RSA-PSS CA certificate", cn);
    }
    VT_GUARD(vt_x509_sha256(ark, ch->ark_sha256, err));
    if (!pinned(v, ch->ark_sha256, ch->product)) {
        vt_hex_encode(ch->ark_sha256, 32, hex);
        return vt_check_fail(checks, err, "ark_trusted", VT_E_VERIFY,
                             "certificate chain does not lead to a trusted root: \"%s\" (sha256 %s) "
                             "is not %s", cn, hex,
                             v->explicit_trust ? "among the given trust anchors" : "a pinned AMD ARK");
    }
    return VT_OK;
}

/* An ARK that came with the evidence may be another issue (serial, validity) of a trusted ARK:
 * the same subject and key. The trusted anchor then stands in for the copy, so the pin holds. */
static X509 *trusted_issue_of(const vt_snp_verifier *v, X509 *ark, vt_snp_product p)
{
    uint8_t fp[32];
    if (vt_x509_sha256(ark, fp, NULL) == VT_OK && pinned(v, fp, p)) return ark;
    for (int i = 0; i < sk_X509_num(v->pool); i++) {
        X509 *c = sk_X509_value(v->pool, i);
        if (c == ark || X509_NAME_cmp(X509_get_subject_name(c), X509_get_subject_name(ark)) != 0) continue;
        EVP_PKEY *a = X509_get0_pubkey(c), *b = X509_get0_pubkey(ark);
        if (a != NULL && b != NULL && EVP_PKEY_eq(a, b) == 1 && vt_x509_sha256(c, fp, NULL) == VT_OK &&
            pinned(v, fp, p) && self_signed(c)) {
            ERR_clear_error();
            return c;
        }
    }
    ERR_clear_error();
    return ark;
}

static vt_err build(const vt_snp_verifier *v, X509 *leaf, STACK_OF(X509) *extra, snp_chain *ch,
                    vt_checks *checks, vt_error *err)
{
    snp_class k;
    snp_cert_classify(leaf, &k);
    char cn[96];
    vt_x509_subject_cn(leaf, cn, sizeof cn);
    vt_curve curve;
    vt_error e2;
    EVP_PKEY *key = X509_get0_pubkey(leaf); /* NULL when the key does not decode */
    ERR_clear_error();
    if ((k.role != SNP_ROLE_VCEK && k.role != SNP_ROLE_VLEK) || !is_pss(leaf) || key == NULL ||
        vt_ec_curve_of(key, &curve, &e2) != VT_OK || curve != VT_P384) {
        return vt_check_fail(checks, err, "leaf_signed_by_ask", VT_E_VERIFY,
                             "certificate \"%s\" is not an AMD VCEK or VLEK with a P-384 key", cn);
    }
    ch->leaf_role = k.role;
    ch->product = k.product;
    X509 *ask = NULL, *ark = NULL;
    snp_role ask_role = k.role == SNP_ROLE_VLEK ? SNP_ROLE_ASVK : SNP_ROLE_ASK;
    VT_GUARD(find_issuer(v, extra, leaf, ask_role, k.product, "leaf_signed_by_ask", &ask, checks, err));
    if (!is_pss(ask) || X509_check_ca(ask) < 1) {
        return vt_check_fail(checks, err, "ask_signed_by_ark", VT_E_VERIFY,
                             "the %s is not an RSA-PSS CA certificate", snp_role_name(ask_role));
    }
    VT_GUARD(find_issuer(v, extra, ask, SNP_ROLE_ARK, k.product, "ask_signed_by_ark", &ark, checks, err));
    ark = trusted_issue_of(v, ark, k.product);
    VT_GUARD(check_ark(v, ark, ch, checks, err));
    ch->not_before = INT64_MIN;
    ch->not_after = INT64_MAX;
    VT_GUARD(window(leaf, &ch->not_before, &ch->not_after, err));
    VT_GUARD(window(ask, &ch->not_before, &ch->not_after, err));
    VT_GUARD(window(ark, &ch->not_before, &ch->not_after, err));
    vt_err rc = vt_snp_cert_ext_parse(leaf, &ch->ext, err);
    if (rc != VT_OK) return vt_check_step(checks, err, "vcek_extensions", rc, "%s", "");
    ch->leaf_key = X509_get0_pubkey(leaf);
    ch->leaf = leaf;
    ch->ask = ask;
    ch->ark = ark;
    X509_up_ref(leaf);
    X509_up_ref(ask);
    X509_up_ref(ark);
    return VT_OK;
}

vt_err snp_chain_get(vt_snp_verifier *v, X509 *leaf, STACK_OF(X509) *extra, snp_chain *out,
                     vt_checks *checks, vt_error *err)
{
    uint8_t fp[32];
    VT_GUARD(vt_x509_sha256(leaf, fp, err));
    pthread_mutex_lock(&v->lock);
    for (size_t i = 0; i < v->ncache; i++) {
        if (memcmp(v->cache[i].leaf_sha256, fp, 32) == 0) {
            snp_chain_copy(out, &v->cache[i]);
            pthread_mutex_unlock(&v->lock);
            return VT_OK;
        }
    }
    pthread_mutex_unlock(&v->lock);
    snp_chain ch;
    memset(&ch, 0, sizeof ch);
    memcpy(ch.leaf_sha256, fp, 32);
    vt_err rc = build(v, leaf, extra, &ch, checks, err);
    if (rc != VT_OK) {
        snp_chain_clear(&ch);
        return rc;
    }
    pthread_mutex_lock(&v->lock);
    size_t slot = v->ncache < CACHE_MAX ? v->ncache++ : v->next++ % CACHE_MAX;
    snp_chain_clear(&v->cache[slot]);
    snp_chain_copy(&v->cache[slot], &ch);
    pthread_mutex_unlock(&v->lock);
    *out = ch;
    return VT_OK;
}

/* One CRL issued by the ARK: signature, validity at `at`, and the ASK/ASVK serial. */
static vt_err crl_check(const snp_chain *c, X509_CRL *crl, vt_time at, vt_checks *checks,
                        vt_error *err)
{
    char ask[96], t1[21], t2[21];
    vt_x509_subject_cn(c->ask, ask, sizeof ask);
    if (X509_CRL_verify(crl, X509_get0_pubkey(c->ark)) != 1) {
        ERR_clear_error();
        return vt_check_fail(checks, err, "revocation", VT_E_VERIFY,
                             "the CRL naming the ARK as issuer is not signed by it");
    }
    vt_time tu, nu;
    VT_GUARD(vt_crl_times(crl, &tu, &nu, err));
    if (!vt_valid_at(at, tu, nu)) {
        vt_time_format(tu, t1);
        vt_time_format(nu, t2);
        return vt_check_fail(checks, err, "revocation", VT_E_EXPIRED,
                             "AMD CRL is valid from %s to %s, outside the verification time", t1, t2);
    }
    X509_REVOKED *rev = NULL;
    if (X509_CRL_get0_by_cert(crl, &rev, c->ask) == 1) {
        return vt_check_fail(checks, err, "revocation", VT_E_REVOKED,
                             "certificate \"%s\" is revoked by the AMD CRL", ask);
    }
    return VT_OK;
}

vt_err snp_chain_revocation(vt_snp_verifier *v, const snp_chain *c, STACK_OF(X509_CRL) *extra,
                            vt_time at, bool required, vt_checks *checks, vt_error *err)
{
    int used = 0;
    STACK_OF(X509_CRL) *lists[2] = {v->crls, extra};
    for (int l = 0; l < 2; l++) {
        for (int i = 0; lists[l] != NULL && i < sk_X509_CRL_num(lists[l]); i++) {
            X509_CRL *crl = sk_X509_CRL_value(lists[l], i);
            if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(c->ark)) != 0)
                continue;
            VT_GUARD(crl_check(c, crl, at, checks, err));
            used++;
        }
    }
    char ark[96];
    vt_x509_subject_cn(c->ark, ark, sizeof ark);
    if (used > 0) {
        vt_check_pass(checks, "revocation", "%d CRL(s) from %s: not revoked", used, ark);
        return VT_OK;
    }
    if (required) {
        return vt_check_fail(checks, err, "revocation", VT_E_MISSING,
                             "revocation list missing: no CRL issued by %s was given", ark);
    }
    vt_check_skip(checks, "revocation", "no CRL from %s given: revocation not checked",
                  ark);
    return VT_OK;
}
