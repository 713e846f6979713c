/* NVIDIA GPU report verification: the device certificate chain to the pinned NVIDIA Device
 * Identity CA at an explicit instant, the leaf's FWID against the report's, the leaf's ECDSA
 * P-384 signature over request || response, the verifier's nonce, and the claims. Verified
 * chains are cached per verifier with the window in which the result holds, so the warm path
 * is one signature verification. docs/nvidia.md says what is checked and why. */
#include <openssl/bn.h>
#include <openssl/x509v3.h>
#include <limits.h>
#include <openssl/err.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "veritee/codec.h"
#include "veritee/crypto.h"
#include "veritee/der.h"
#include "veritee/json.h"
#include "veritee/nvidia.h"
#include "veritee/x509.h"
#include "nvidia_int.h"

/* SHA-256 of the DER of "NVIDIA Device Identity CA" (O=NVIDIA, self-signed, P-384), the root
 * both trustee and nvtrust pin. */
static const uint8_t NVIDIA_DEVICE_ROOT_SHA256[32] = {
    0x10, 0x2b, 0xf6, 0x59, 0xd5, 0x41, 0x96, 0x14, 0xc9, 0xd8, 0xe6, 0xae, 0xce, 0xbc, 0x80, 0x45,
    0x4e, 0xb2, 0x6b, 0x1d, 0xf6, 0xa7, 0x69, 0xac, 0x72, 0x0b, 0x9a, 0x69, 0x0b, 0x16, 0x7b, 0x48};

#define OID_DICE_TCB_INFO "2.23.133.5.4.1"         /* Hopper: FWID = last 48 bytes */
#define OID_DICE_TCB_INFO_ALIAS "2.23.133.5.4.1.1" /* Blackwell: DiceTcbInfo fwids[0] */
#define OID_SHA384 "2.16.840.1.101.3.4.2.2"
#define CACHE_SLOTS 16

typedef struct chain_result {
    bool used;
    uint8_t key[32]; /* SHA-256 of arch || chain PEM bytes */
    vt_time not_before, not_after;
    EVP_PKEY *leaf_key;
    uint8_t fwid[VT_NVIDIA_FWID_LEN];
    char ueid[64];
    json_t *chain; /* subject CNs, leaf first */
    STACK_OF(X509) *certs; /* the verified chain, leaf first, root last (for revocation) */
    bool emulated;         /* the root is veritee's emulated-TEE test root */
} chain_result;

struct vt_nvidia_verifier {
    STACK_OF(X509) *roots; /* pinned roots given by the caller; empty: the built-in pin */
    pthread_mutex_t mu;    /* guards the cache: a verification works on its own copy of a result */
    chain_result cache[CACHE_SLOTS];
    size_t cache_next;
};

vt_err vt_nvidia_verifier_new(const vt_nvidia_trust *trust, vt_nvidia_verifier **out, vt_error *err)
{
    *out = NULL;
    vt_nvidia_verifier *v = calloc(1, sizeof *v);
    if (v == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    if (trust != NULL && trust->device_roots_pem != NULL) {
        vt_err rc = vt_pem_certs(trust->device_roots_pem, trust->device_roots_len, &v->roots, err);
        if (rc != VT_OK) {
            free(v);
            return vt_error_wrap(err, "NVIDIA device root");
        }
    } else {
        v->roots = sk_X509_new_null();
        if (v->roots == NULL) {
            free(v);
            return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        }
    }
    pthread_mutex_init(&v->mu, NULL);
    *out = v;
    return VT_OK;
}

static void cache_clear(chain_result *c)
{
    EVP_PKEY_free(c->leaf_key);
    json_decref(c->chain);
    sk_X509_pop_free(c->certs, X509_free);
    memset(c, 0, sizeof *c);
}

void vt_nvidia_verifier_free(vt_nvidia_verifier *v)
{
    if (v == NULL) return;
    for (size_t i = 0; i < CACHE_SLOTS; i++) cache_clear(&v->cache[i]);
    pthread_mutex_destroy(&v->mu);
    sk_X509_pop_free(v->roots, X509_free);
    free(v);
}

/* The DER contents of the extension `oid`; *count says how often it occurs (0: absent). */
static vt_err ext_find(X509 *c, const char *oid, vt_bytes *val, int *count, vt_error *err)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    if (obj == NULL) return vt_error_set(err, VT_E_INTERNAL, "fwid", "bad OID %s", oid);
    *count = 0;
    int idx = -1;
    while ((idx = X509_get_ext_by_OBJ(c, obj, idx)) >= 0) {
        if ((*count)++ == 0) {
            ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(X509_get_ext(c, idx));
            val->ptr = ASN1_STRING_get0_data(os);
            val->len = (size_t)ASN1_STRING_length(os);
        }
    }
    ASN1_OBJECT_free(obj);
    return VT_OK;
}

/* Blackwell: DiceTcbInfo ::= SEQUENCE { ..., fwids [6] IMPLICIT SEQUENCE OF FWID, ... },
 * FWID ::= SEQUENCE { hashAlg OID, digest OCTET STRING }; fwids[0] must be SHA-384. */
static vt_err fwid_blackwell(vt_bytes ext, uint8_t out[VT_NVIDIA_FWID_LEN], vt_error *err)
{
    vt_reader r, seq;
    vt_bytes body, list = {0};
    vt_reader_init(&r, ext.ptr, ext.len, "DiceTcbInfo", err);
    VT_GUARD(vt_der_expect(&r, VT_DER_SEQUENCE, "DiceTcbInfo", &body));
    if (vt_reader_remaining(&r) != 0)
        return vt_error_set(err, VT_E_INVALID, "fwid", "DiceTcbInfo: %zu trailing bytes",
                            vt_reader_remaining(&r));
    vt_reader_init(&seq, body.ptr, body.len, "DiceTcbInfo", err);
    int n6 = 0;
    while (vt_reader_remaining(&seq) > 0) {
        uint8_t tag;
        vt_bytes v;
        VT_GUARD(vt_der_read(&seq, &tag, &v));
        if (tag == 0xA6) {
            n6++;
            list = v;
        }
    }
    if (n6 != 1)
        return vt_error_set(err, VT_E_VERIFY, "fwid", "DiceTcbInfo has %d fwids fields (want 1)", n6);
    vt_reader l, f;
    vt_bytes fw, oid, digest;
    vt_reader_init(&l, list.ptr, list.len, "DiceTcbInfo fwids", err);
    VT_GUARD(vt_der_expect(&l, VT_DER_SEQUENCE, "fwids[0]", &fw));
    while (vt_reader_remaining(&l) > 0) { /* the rest of the list must be well-formed too */
        vt_bytes more;
        VT_GUARD(vt_der_expect(&l, VT_DER_SEQUENCE, "fwids[i]", &more));
    }
    vt_reader_init(&f, fw.ptr, fw.len, "fwids[0]", err);
    VT_GUARD(vt_der_expect(&f, VT_DER_OID, "fwids[0].hashAlg", &oid));
    VT_GUARD(vt_der_expect(&f, VT_DER_OCTET_STRING, "fwids[0].digest", &digest));
    if (vt_reader_remaining(&f) != 0)
        return vt_error_set(err, VT_E_INVALID, "fwid", "fwids[0]: %zu trailing bytes",
                            vt_reader_remaining(&f));
    char txt[64];
    VT_GUARD(vt_der_oid_text(oid, txt, sizeof txt, err));
    if (strcmp(txt, OID_SHA384) != 0)
        return vt_error_set(err, VT_E_VERIFY, "fwid", "fwids[0] hash algorithm %s (want SHA-384 %s)",
                            txt, OID_SHA384);
    if (digest.len != VT_NVIDIA_FWID_LEN)
        return vt_error_set(err, VT_E_VERIFY, "fwid", "fwids[0] digest is %zu bytes (want 48)",
                            digest.len);
    memcpy(out, digest.ptr, VT_NVIDIA_FWID_LEN);
    return VT_OK;
}

/* The leaf's FWID by the rule of the claimed architecture; a leaf that carries the other
 * architecture's extension is rejected. */
static vt_err leaf_fwid(X509 *leaf, vt_nvidia_arch arch, uint8_t out[VT_NVIDIA_FWID_LEN], vt_error *err)
{
    vt_bytes hop = {0}, bw = {0};
    int nh, nb;
    VT_GUARD(ext_find(leaf, OID_DICE_TCB_INFO, &hop, &nh, err));
    VT_GUARD(ext_find(leaf, OID_DICE_TCB_INFO_ALIAS, &bw, &nb, err));
    const char *want = arch == VT_NVIDIA_HOPPER ? OID_DICE_TCB_INFO : OID_DICE_TCB_INFO_ALIAS;
    int nwant = arch == VT_NVIDIA_HOPPER ? nh : nb, nother = arch == VT_NVIDIA_HOPPER ? nb : nh;
    if (nwant != 1)
        return vt_error_set(err, VT_E_VERIFY, "fwid",
                            "%s leaf certificate carries extension %s %d times (want once)",
                            vt_nvidia_arch_name(arch), want, nwant);
    if (nother != 0)
        return vt_error_set(err, VT_E_VERIFY, "fwid",
                            "%s leaf certificate also carries the other architecture's FWID extension %s",
                            vt_nvidia_arch_name(arch),
                            arch == VT_NVIDIA_HOPPER ? OID_DICE_TCB_INFO_ALIAS : OID_DICE_TCB_INFO);
    if (arch == VT_NVIDIA_HOPPER) {
        if (hop.len < VT_NVIDIA_FWID_LEN)
            return vt_error_set(err, VT_E_VERIFY, "fwid", "extension %s is %zu bytes (< 48)",
                                OID_DICE_TCB_INFO, hop.len);
        memcpy(out, hop.ptr + hop.len - VT_NVIDIA_FWID_LEN, VT_NVIDIA_FWID_LEN);
        return VT_OK;
    }
    vt_err rc = fwid_blackwell(bw, out, err);
    if (rc == VT_E_INVALID) err->code = rc = VT_E_VERIFY; /* malformed certificate content */
    if (rc != VT_OK) vt_error_name(err, "fwid");
    return rc;
}

static vt_err leaf_ueid(X509 *leaf, char *out, size_t cap, vt_error *err)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), NULL);
    char *dec = bn != NULL ? BN_bn2dec(bn) : NULL;
    BN_free(bn);
    if (dec == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    vt_err rc = VT_OK;
    if (strlen(dec) >= cap) rc = vt_error_set(err, VT_E_VERIFY, "cert_chain", "leaf serial number too long");
    else snprintf(out, cap, "%s", dec);
    OPENSSL_free(dec);
    return rc;
}

/* Root pinning, path validation at `at`, leaf key and FWID: the part of a verification that
 * depends only on the chain and the instant, computed once per window. */
static vt_err check_chain(vt_nvidia_verifier *v, vt_nvidia_arch arch, const void *pem, size_t len,
                          vt_time at, chain_result *res, const char *dev, vt_checks *checks,
                          vt_error *err)
{
    STACK_OF(X509) *certs = NULL, *mid = NULL, *anchor = NULL;
    vt_err rc = vt_pem_certs(pem, len, &certs, err);
    if (rc != VT_OK) {
        vt_error_wrap(err, "NVIDIA certificate chain");
        err->code = rc = VT_E_INVALID;
        vt_error_name(err, "cert_chain");
        goto fail;
    }
    int n = sk_X509_num(certs);
    if (n < 2 || n > VT_NVIDIA_MAX_CERTS) {
        rc = vt_error_set(err, VT_E_VERIFY, "cert_chain",
                          "the certificate chain has %d certificate(s); it must have 2..%d (leaf first, root last)",
                          n, VT_NVIDIA_MAX_CERTS);
        goto fail;
    }
    X509 *leaf = sk_X509_value(certs, 0), *last = sk_X509_value(certs, n - 1);
    /* the chain's last certificate is the pinned root, byte for byte */
    bool pinned = false;
    if (sk_X509_num(v->roots) > 0) {
        for (int i = 0; i < sk_X509_num(v->roots) && !pinned; i++)
            pinned = X509_cmp(last, sk_X509_value(v->roots, i)) == 0;
    } else {
        uint8_t fp[32];
        VT_GUARD_GOTO(vt_x509_sha256(last, fp, err));
        pinned = vt_ct_eq(fp, NVIDIA_DEVICE_ROOT_SHA256, sizeof fp);
    }
    char cn[128];
    vt_x509_subject_cn(last, cn, sizeof cn);
    if (!pinned)
        rc = vt_error_set(err, VT_E_VERIFY, "root_pinned",
                          "the chain ends in '%s', not the pinned NVIDIA Device Identity CA", cn);
    rc = vt_check_step_of(checks, err, dev, "root_pinned", rc, "chain ends in the pinned root '%s'", cn);
    if (rc != VT_OK) goto out;
    mid = sk_X509_new_null();
    anchor = sk_X509_new_null();
    if (mid == NULL || anchor == NULL || !sk_X509_push(anchor, last)) {
        rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        goto out;
    }
    for (int i = 1; i < n - 1; i++)
        if (!sk_X509_push(mid, sk_X509_value(certs, i))) {
            rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
            goto out;
        }
    vt_chain_opts co = {.at = at};
    rc = vt_chain_verify(leaf, mid, anchor, &co, "NVIDIA device certificate chain", err);
    if (rc != VT_OK) {
        vt_check_step_of(checks, err, dev, "cert_chain", rc, "%s", "");
        goto out;
    }
    res->not_before = INT64_MIN;
    res->not_after = INT64_MAX;
    res->chain = json_array();
    for (int i = 0; i < n; i++) {
        vt_time nb, na;
        VT_GUARD_GOTO(vt_x509_validity(sk_X509_value(certs, i), &nb, &na, err));
        if (nb > res->not_before) res->not_before = nb;
        if (na < res->not_after) res->not_after = na;
        vt_x509_subject_cn(sk_X509_value(certs, i), cn, sizeof cn);
        if (res->chain != NULL) json_array_append_new(res->chain, json_string(cn));
    }
    vt_check_pass(checks, "cert_chain", "%s%d certificates, valid at the instant", dev, n);
    rc = leaf_fwid(leaf, arch, res->fwid, err);
    if (rc != VT_OK) {
        vt_check_step_of(checks, err, dev, "fwid", rc, "%s", "");
        goto out;
    }
    vt_curve curve;
    if (vt_ec_curve_of(X509_get0_pubkey(leaf), &curve, err) != VT_OK || curve != VT_P384) {
        rc = vt_error_set(err, VT_E_VERIFY, "report_signature", "the leaf key is not an ECDSA P-384 key");
        vt_check_step_of(checks, err, dev, "report_signature", rc, "%s", "");
        goto out;
    }
    VT_GUARD_GOTO(leaf_ueid(leaf, res->ueid, sizeof res->ueid, err));
    res->leaf_key = X509_get_pubkey(leaf);
    if (res->leaf_key == NULL) rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    res->emulated = vt_x509_is_emulated(last);
    res->certs = certs; /* kept for the revocation check */
    certs = NULL;
    goto out;
fail:
    vt_check_step_of(checks, err, dev, err->check, rc, "%s", "");
out:
    sk_X509_free(mid);
    sk_X509_free(anchor);
    sk_X509_pop_free(certs, X509_free);
    if (rc != VT_OK) cache_clear(res);
    return rc;
}

/* *dst: a copy of src holding its own references (key, chain claims, certificates), so a
 * verification keeps using it while another thread replaces the cache slot. */
static vt_err chain_copy(const chain_result *src, chain_result *dst, vt_error *err)
{
    *dst = *src;
    dst->leaf_key = NULL, dst->chain = NULL, dst->certs = NULL;
    if (src->leaf_key != NULL && EVP_PKEY_up_ref(src->leaf_key) == 1) dst->leaf_key = src->leaf_key;
    dst->chain = json_incref(src->chain);
    dst->certs = src->certs != NULL ? X509_chain_up_ref(src->certs) : NULL;
    if ((src->leaf_key != NULL && dst->leaf_key == NULL) || (src->certs != NULL && dst->certs == NULL)) {
        cache_clear(dst);
        return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    }
    return VT_OK;
}

/* A cached chain result valid at `at`, or a fresh one (a copy stored in the cache). *out is the
 * caller's (cache_clear it). The cache is locked only to look up and to store: the chain itself
 * is verified outside the lock, so two threads may verify one new chain at once (both store it,
 * harmlessly). */
static vt_err chain_for(vt_nvidia_verifier *v, vt_nvidia_arch arch, const void *pem, size_t len,
                        vt_time at, chain_result *out, const char *dev, vt_checks *checks,
                        vt_error *err)
{
    memset(out, 0, sizeof *out);
    uint8_t a = (uint8_t)arch, key[32];
    VT_GUARD(vt_hash2(VT_SHA256, &a, 1, pem, len, key, err));
    pthread_mutex_lock(&v->mu);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        chain_result *c = &v->cache[i];
        if (c->used && memcmp(c->key, key, sizeof key) == 0 && at >= c->not_before &&
            at <= c->not_after) {
            vt_err rc = chain_copy(c, out, err);
            pthread_mutex_unlock(&v->mu);
            VT_GUARD(rc);
            vt_check_pass(checks, "root_pinned", "%schain ends in the pinned root (cached)", dev);
            vt_check_pass(checks, "cert_chain", "%sverified earlier; valid at the instant (cached)", dev);
            return VT_OK;
        }
    }
    pthread_mutex_unlock(&v->mu);
    VT_GUARD(check_chain(v, arch, pem, len, at, out, dev, checks, err));
    out->used = true;
    memcpy(out->key, key, sizeof key);
    chain_result kept;
    vt_error ce;
    vt_error_clear(&ce);
    if (chain_copy(out, &kept, &ce) == VT_OK) { /* best effort: without memory, no caching */
        pthread_mutex_lock(&v->mu);
        chain_result *slot = &v->cache[v->cache_next];
        v->cache_next = (v->cache_next + 1) % CACHE_SLOTS;
        cache_clear(slot);
        *slot = kept;
        pthread_mutex_unlock(&v->mu);
    }
    return VT_OK;
}

/* The device chain's revocation: opts->revocation, or the offline fields alone. */
static vt_err check_revocation(STACK_OF(X509) *certs, const vt_nvidia_verify_opts *o, const char *dev,
                               vt_checks *checks, vt_error *err)
{
    vt_nvidia_revocation offline = {.responses = o->ocsp, .n_responses = o->n_ocsp, .require = o->require_ocsp};
    return nv_revocation(o->revocation != NULL ? o->revocation : &offline, certs, o->at, "revocation", dev,
                         checks, err);
}

/* The driver and/or VBIOS RIM the report names, from the RIM source (cache, RIM service),
 * verified at the instant. *out: two RIMs (driver, VBIOS), caller frees. */
static vt_err fetch_rims(const vt_nvidia_verify_opts *o, const vt_nvidia_report *r, vt_nvidia_arch arch,
                         bool want_driver, bool want_vbios, vt_nvidia_rim **out, const char *dev, vt_checks *checks,
                         vt_error *err)
{
    *out = NULL;
    if (o->rim_verifier == NULL)
        return vt_error_set(err, VT_E_ARG, "rim_fetch", "a RIM source needs a RIM verifier (the RIM root)");
    char ids[2][160];
    VT_GUARD(vt_nvidia_rim_ids(r, arch, ids[0], sizeof ids[0], ids[1], sizeof ids[1], err));
    vt_nvidia_rim *rims = calloc(2, sizeof *rims);
    if (rims == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    bool want[2] = {want_driver, want_vbios};
    for (int k = 1; k >= 0; k--) { /* VBIOS first: the RIM most often published */
        if (!want[k]) continue;
        vt_checks *mine = calloc(1, sizeof *mine);
        vt_err rc = mine == NULL ? vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory")
                                 : vt_nvidia_rim_get(o->rim_verifier, o->rim_source, ids[k], o->at, &rims[k], NULL,
                                                     mine, err);
        for (size_t i = 0; mine != NULL && i < mine->n; i++)
            vt_checks_add(checks, mine->items[i].name, mine->items[i].status, "%s%s: %s", dev,
                          k == 0 ? "driver RIM" : "VBIOS RIM", mine->items[i].detail);
        free(mine);
        if (rc != VT_OK) {
            free(rims);
            return vt_error_wrap(err, "%s RIM %s", k == 0 ? "driver" : "VBIOS", ids[k]);
        }
    }
    *out = rims;
    return VT_OK;
}

static vt_err verify_device(vt_nvidia_verifier *v, vt_nvidia_arch arch, const uint8_t *report,
                            size_t report_len, const void *chain_pem, size_t chain_len,
                            const vt_nvidia_verify_opts *opts, const char *dev, json_t **claims,
                            vt_checks *checks, vt_error *err)
{
    if (claims != NULL) *claims = NULL;
    if (v == NULL || opts == NULL || report == NULL || chain_pem == NULL)
        return vt_error_set(err, VT_E_ARG, "args", "verifier, options, report and chain are required");
    if (opts->nonce != NULL && (opts->nonce_len == 0 || opts->nonce_len > 64))
        return vt_error_set(err, VT_E_ARG, "nonce", "the expected nonce must be 1..64 bytes (got %zu)",
                            opts->nonce_len);
    if (arch != VT_NVIDIA_HOPPER && arch != VT_NVIDIA_BLACKWELL) {
        return vt_check_step_of(checks, err, dev, "arch",
                                vt_error_set(err, VT_E_UNSUPPORTED, "arch",
                                             "GPU architecture not supported (HOPPER, BLACKWELL)"),
                                "%s", "");
    }
    vt_nvidia_rim *fetched = NULL; /* [0] driver, [1] VBIOS, from opts->rim_source */
    chain_result chv; /* this verification's copy of the chain result */
    const chain_result *ch = &chv;
    memset(&chv, 0, sizeof chv);
    vt_nvidia_report *r = malloc(sizeof *r);
    if (r == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    vt_err rc = vt_nvidia_report_parse(report, report_len, r, err);
    VT_GUARD_GOTO(vt_check_step_of(checks, err, dev, "report_format", rc,
                                   "SPDM 1.1 GET_MEASUREMENTS + MEASUREMENTS, %zu blocks, %zu opaque fields",
                                   r->n_blocks, r->n_tlv));
    /* trailing bytes: none, except the one 0x00 some Hopper drivers append (docs/nvidia.md) */
    bool hopper_pad = r->trailing.len == 1 && r->trailing.ptr[0] == 0 && arch == VT_NVIDIA_HOPPER &&
                      !opts->strict_length;
    if (r->trailing.len != 0 && !hopper_pad) {
        rc = vt_error_set(err, VT_E_INVALID, "report_length",
                          "%zu byte(s) after the signature (report ends at %zu of %zu)",
                          r->trailing.len, report_len - r->trailing.len, report_len);
        vt_check_step_of(checks, err, dev, "report_length", rc, "%s", "");
        goto out;
    }
    vt_check_step_of(checks, err, dev, "report_length", VT_OK, "%s",
                     hopper_pad ? "one trailing 0x00 after the signature accepted (Hopper driver padding)"
                                : "no byte after the signature");
    VT_GUARD_GOTO(chain_for(v, arch, chain_pem, chain_len, opts->at, &chv, dev, checks, err));
    VT_GUARD_GOTO(check_revocation(ch->certs, opts, dev, checks, err));
    if (!r->has_fwid) {
        rc = vt_error_set(err, VT_E_VERIFY, "fwid", "the report carries no FWID (opaque id 20)");
        vt_check_step_of(checks, err, dev, "fwid", rc, "%s", "");
        goto out;
    }
    if (!vt_ct_eq(r->fwid, ch->fwid, VT_NVIDIA_FWID_LEN)) {
        char a[2 * VT_NVIDIA_FWID_LEN + 1], b[2 * VT_NVIDIA_FWID_LEN + 1];
        vt_hex_encode(r->fwid, VT_NVIDIA_FWID_LEN, a);
        vt_hex_encode(ch->fwid, VT_NVIDIA_FWID_LEN, b);
        rc = vt_error_set(err, VT_E_VERIFY, "fwid", "FWID mismatch: report %.16s..., leaf certificate %.16s...", a, b);
        vt_check_step_of(checks, err, dev, "fwid", rc, "%s", "");
        goto out;
    }
    vt_check_pass(checks, "fwid", "%sreport FWID equals the leaf certificate's (%s rule)",
                  dev, arch == VT_NVIDIA_HOPPER ? OID_DICE_TCB_INFO : OID_DICE_TCB_INFO_ALIAS "[6][0]");
    rc = vt_ecdsa_verify_raw(ch->leaf_key, VT_SHA384, r->signed_part.ptr, r->signed_part.len,
                             r->signature.ptr, r->signature.len, "GPU report signature", err);
    VT_GUARD_GOTO(vt_check_step_of(checks, err, dev, "report_signature", rc,
                                   "ECDSA P-384/SHA-384 by the leaf over bytes [0, %zu)", r->signed_part.len));
    if (opts->nonce != NULL) {
        uint8_t want[VT_NVIDIA_NONCE_LEN] = {0};
        memcpy(want, opts->nonce, opts->nonce_len < sizeof want ? opts->nonce_len : sizeof want);
        if (!vt_ct_eq(want, r->request_nonce, sizeof want))
            rc = vt_error_set(err, VT_E_VERIFY, "nonce", "the report's requester nonce is not the expected nonce");
        VT_GUARD_GOTO(vt_check_step_of(checks, err, dev, "nonce", rc, "requester nonce equals the expected nonce"));
    } else {
        vt_check_skip(checks, "nonce",
                      "%sno expected nonce given: freshness not checked (the claims carry the nonce)", dev);
    }
    json_t *rim = NULL;
    if (opts->n_rims > 0 || opts->rim_source != NULL) {
        const vt_nvidia_rim *drv = NULL, *vb = NULL;
        for (size_t i = 0; opts->rims != NULL && i < opts->n_rims; i++) {
            const vt_nvidia_rim *m = opts->rims[i];
            if (m == NULL) continue;
            if (drv == NULL && strcasecmp(m->version, r->driver_version) == 0) drv = m;
            else if (vb == NULL && strcasecmp(m->version, r->vbios_version) == 0) vb = m;
        }
        if ((drv == NULL || vb == NULL) && opts->rim_source != NULL) {
            rc = fetch_rims(opts, r, arch, drv == NULL, vb == NULL, &fetched, dev, checks, err);
            if (rc != VT_OK) goto out;
            if (drv == NULL) drv = &fetched[0];
            if (vb == NULL) vb = &fetched[1];
        }
        if (drv == NULL || vb == NULL) {
            rc = vt_error_set(err, VT_E_MISSING, "rim_coverage", "no %s RIM for version %s among the %zu given",
                              drv == NULL ? "driver" : "VBIOS", drv == NULL ? r->driver_version : r->vbios_version,
                              opts->n_rims);
            vt_check_step_of(checks, err, dev, "rim_coverage", rc, "%s", "");
            goto out;
        }
        rc = vt_nvidia_rim_match(r, drv, vb, claims != NULL ? &rim : NULL, checks, err);
        free(fetched);
        fetched = NULL;
        if (rc != VT_OK) {
            json_decref(rim);
            goto out;
        }
    }
    if (claims != NULL) {
        json_t *o = json_object();
        if (o == NULL) {
            json_decref(rim);
            rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
            goto out;
        }
        json_object_set_new(o, "arch", json_string(vt_nvidia_arch_name(arch)));
        json_object_set_new(o, "ueid", json_string(ch->ueid));
        json_object_set_new(o, "nonce", vt_json_hex_string(r->request_nonce, VT_NVIDIA_NONCE_LEN));
        json_object_set_new(o, "measurements", vt_nvidia_measurements_json(r));
        json_object_set_new(o, "config", vt_nvidia_config_json(r));
        json_object_set_new(o, "signed_length", json_integer((json_int_t)r->signed_part.len));
        json_object_set_new(o, "trailing_bytes", json_integer((json_int_t)r->trailing.len));
        json_object_set_new(o, "certificate_chain", json_deep_copy(ch->chain));
        json_object_set_new(o, "emulated", json_boolean(ch->emulated));
        char ids[2][160];
        vt_error ie;
        vt_error_clear(&ie);
        if (vt_nvidia_rim_ids(r, arch, ids[0], sizeof ids[0], ids[1], sizeof ids[1], &ie) == VT_OK)
            json_object_set_new(o, "rim_ids", json_pack("{s:s, s:s}", "driver", ids[0], "vbios", ids[1]));
        if (rim != NULL) json_object_set_new(o, "rim", rim);
        *claims = o;
    }
out:
    /* chv shares the cached chain's claims: jansson frees at zero without an acquire, so every
     * drop of a shared reference happens under the cache's lock, which orders it */
    pthread_mutex_lock(&v->mu);
    cache_clear(&chv);
    pthread_mutex_unlock(&v->mu);
    free(fetched);
    free(r);
    return rc;
}

vt_err vt_nvidia_verify_device(vt_nvidia_verifier *v, vt_nvidia_arch arch, const uint8_t *report,
                               size_t report_len, const void *chain_pem, size_t chain_len,
                               const vt_nvidia_verify_opts *opts, json_t **claims,
                               vt_checks *checks, vt_error *err)
{
    return verify_device(v, arch, report, report_len, chain_pem, chain_len, opts, "", claims,
                         checks, err);
}

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return n % 2 == 0;
}

/* 256 KiB of text per field is far beyond any report (4 KiB) or chain (5 KiB). */
#define FIELD_MAX (256u * 1024u)

static vt_err decode_device(json_t *d, size_t i, vt_nvidia_arch *arch, vt_buf *report,
                            vt_buf *chain, const char **uuid, vt_error *err)
{
    char path[48];
    snprintf(path, sizeof path, "device_evidence_list[%zu]", i);
    if (!json_is_object(d))
        return vt_error_set(err, VT_E_INVALID, "evidence_format", "%s: expected an object", path);
    const char *a, *ev, *cert;
    VT_GUARD(vt_json_str(d, "arch", path, &a, err));
    VT_GUARD(vt_json_str(d, "evidence", path, &ev, err));
    VT_GUARD(vt_json_str(d, "certificate", path, &cert, err));
    json_t *u = json_object_get(d, "uuid");
    if (u != NULL && !json_is_string(u) && !json_is_null(u))
        return vt_error_set(err, VT_E_INVALID, "evidence_format", "%s.uuid: expected a string", path);
    *uuid = json_is_string(u) ? json_string_value(u) : NULL;
    *arch = vt_nvidia_arch_from_name(a);
    if (*arch == VT_NVIDIA_ARCH_UNKNOWN)
        return vt_error_set(err, VT_E_UNSUPPORTED, "arch", "%s.arch '%.32s' is not supported (HOPPER, BLACKWELL)",
                            path, a);
    size_t evn = strlen(ev), cn = strlen(cert);
    if (evn > FIELD_MAX || cn > FIELD_MAX)
        return vt_error_set(err, VT_E_INVALID, "evidence_format", "%s: field longer than %u bytes", path,
                            FIELD_MAX);
    /* hex (older attesters) first, then standard base64 (NVAT) */
    vt_err rc = all_hex(ev, evn) ? vt_hex_decode(ev, evn, report, err) : vt_b64_decode(ev, evn, report, err);
    if (rc != VT_OK) return vt_error_wrap(err, "%s.evidence", path);
    if (cn >= 10 && memcmp(cert, "-----BEGIN", 10) == 0) rc = vt_buf_set(chain, cert, cn, err);
    else rc = vt_b64_decode(cert, cn, chain, err);
    if (rc != VT_OK) return vt_error_wrap(err, "%s.certificate", path);
    return VT_OK;
}

/* Fold one device's checks into the list: one entry per check name whatever the number of
 * GPUs (an 8-GPU board would overflow vt_checks otherwise); a failure or skip replaces a pass, a
 * pass over a pass keeps the first detail and counts the devices. */
static void merge_checks(vt_checks *all, const vt_checks *dev, size_t index)
{
    if (all == NULL) return;
    for (size_t k = 0; k < dev->n; k++) {
        const vt_check *c = &dev->items[k];
        vt_check *have = NULL;
        for (size_t j = 0; j < all->n && have == NULL; j++)
            if (strcmp(all->items[j].name, c->name) == 0) have = &all->items[j];
        if (have == NULL) {
            vt_checks_add(all, c->name, c->status, "%s", c->detail);
        } else if (c->status != VT_CHECK_PASS && have->status == VT_CHECK_PASS) {
            *have = *c;
        } else if (c->status == VT_CHECK_PASS && have->status == VT_CHECK_PASS) {
            char d[sizeof have->detail];
            const char *rest = strstr(have->detail, ": ");
            snprintf(d, sizeof d, "gpu0..%zu: %.200s", index, rest != NULL ? rest + 2 : have->detail);
            snprintf(have->detail, sizeof have->detail, "%s", d);
        }
    }
}

vt_err vt_nvidia_verify(vt_nvidia_verifier *v, const uint8_t *evidence, size_t len,
                        const vt_nvidia_verify_opts *opts, json_t **claims, vt_checks *checks,
                        vt_error *err)
{
    if (claims != NULL) *claims = NULL;
    if (v == NULL || evidence == NULL || opts == NULL)
        return vt_error_set(err, VT_E_ARG, "args", "verifier, evidence and options are required");
    json_t *doc = NULL, *list = NULL, *devices = json_array();
    vt_buf report = {0}, chain = {0};
    char (*ueids)[64] = calloc(VT_NVIDIA_MAX_DEVICES, sizeof *ueids);
    vt_err rc = VT_OK;
    if (devices == NULL || ueids == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        goto out;
    }
    rc = vt_json_parse((const char *)evidence, len, &doc, err);
    if (rc == VT_OK) rc = vt_json_arr(doc, "device_evidence_list", "evidence", &list, err);
    if (rc == VT_OK && (json_array_size(list) == 0 || json_array_size(list) > VT_NVIDIA_MAX_DEVICES))
        rc = vt_error_set(err, VT_E_INVALID, "evidence_format",
                          "device_evidence_list has %zu entries (1..%d)", json_array_size(list),
                          VT_NVIDIA_MAX_DEVICES);
    VT_GUARD_GOTO(vt_check_step(checks, err, "evidence_format", rc, "%zu device(s)", json_array_size(list)));
    for (size_t i = 0; i < json_array_size(list); i++) {
        vt_nvidia_arch arch = VT_NVIDIA_ARCH_UNKNOWN;
        const char *uuid = NULL;
        char dev[32];
        snprintf(dev, sizeof dev, "gpu%zu: ", i);
        rc = decode_device(json_array_get(list, i), i, &arch, &report, &chain, &uuid, err);
        if (rc != VT_OK) {
            bool generic = err->check[0] == 0 || strcmp(err->check, "parse") == 0;
            vt_check_step_of(checks, err, dev, generic ? "evidence_format" : err->check, rc, "%s", "");
            goto out;
        }
        json_t *dc = NULL;
        vt_checks *mine = calloc(1, sizeof *mine);
        if (mine == NULL) {
            rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
            goto out;
        }
        rc = verify_device(v, arch, report.ptr, report.len, chain.ptr, chain.len, opts, dev, &dc,
                           mine, err);
        merge_checks(checks, mine, i);
        free(mine);
        if (rc != VT_OK) {
            vt_error_wrap(err, "device %zu", i);
            goto out;
        }
        const char *ueid = json_string_value(json_object_get(dc, "ueid"));
        for (size_t j = 0; j < i; j++)
            if (ueid != NULL && strcmp(ueids[j], ueid) == 0) {
                rc = vt_check_fail(checks, err, "ueid_unique", VT_E_VERIFY,
                                   "devices %zu and %zu have the same UEID %s (a replayed report)", j, i, ueid);
                json_decref(dc); /* owns ueid: released after its last use */
                goto out;
            }
        snprintf(ueids[i], sizeof ueids[i], "%s", ueid != NULL ? ueid : "");
        json_object_set_new(dc, "uuid", uuid != NULL ? json_string(uuid) : json_null());
        json_array_append_new(devices, dc);
        vt_buf_free(&report);
        vt_buf_free(&chain);
    }
    vt_check_pass(checks, "ueid_unique", "%zu distinct device UEID(s)", json_array_size(list));
    if (claims != NULL) {
        *claims = json_pack("{s:o}", "devices", devices);
        devices = NULL;
        if (*claims == NULL) rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    }
out:
    vt_buf_free(&report);
    vt_buf_free(&chain);
    json_decref(devices);
    json_decref(doc);
    free(ueids);
    return rc;
}
