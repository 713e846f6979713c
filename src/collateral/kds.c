/* AMD KDS client for the collateral cache (include/veritee/collateral.h): the product's
 * cert_chain (ASK/ARK, ASVK/ARK), the ARK's CRL and a chip's VCEK (AMD VCEK spec 57230, "KDS
 * interface"), each checked against a trusted ARK before it is installed, atomically, in the
 * layout of snp_kds.h. */
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collateral_internal.h"
#include "veritee/codec.h"
#include "veritee/crypto.h"
#include "veritee/fileio.h"
#include "veritee/snp_kds.h"
#include "veritee/x509.h"

#define CHECK "collateral_fetch"

/* ---- what a platform needs ---------------------------------------------------------------- */

vt_err vt_coll_snp_want_from_report(const uint8_t *ev, size_t len, const char *product, vt_coll_snp_want *out,
                                    vt_error *err)
{
    memset(out, 0, sizeof *out);
    vt_bytes rep, tab;
    vt_snp_report r;
    vt_snp_product p = VT_SNP_PRODUCT_UNKNOWN;
    if (product != NULL) VT_GUARD(vt_snp_product_parse(product, &p, err));
    VT_GUARD(vt_snp_evidence_split(ev, len, &rep, &tab, err));
    VT_GUARD(vt_snp_report_parse(rep.ptr, rep.len, &r, err));
    vt_snp_kds_plan plan; /* the one place that names a report's product, hwID and TCB for KDS */
    VT_GUARD(vt_snp_kds_plan_for(&r, p, "-", &plan, err));
    out->product = plan.product;
    out->vlek = plan.vlek;
    out->has_chip = plan.vcek_query[0] != '\0';
    if (out->has_chip) {
        memcpy(out->chip_id, r.chip_id, sizeof out->chip_id);
        out->reported_tcb = r.reported_tcb;
    }
    return VT_OK;
}

static size_t hwid_len(const vt_coll_snp_want *w)
{
    return w->product == VT_SNP_TURIN ? 8 : 64;
}

void vt_coll_snp_want_id(const vt_coll_snp_want *w, char out[180])
{
    const char *pn = vt_snp_product_name(w->product);
    if (!w->has_chip) {
        snprintf(out, 180, "snp:%s%s", pn, w->vlek ? ":vlek" : "");
        return;
    }
    char hw[129];
    vt_hex_encode(w->chip_id, hwid_len(w), hw);
    snprintf(out, 180, "snp:%s:%s:%016llx", pn, hw, (unsigned long long)w->reported_tcb);
}

vt_err vt_coll_snp_want_parse(const char *s, vt_coll_snp_want *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    char prod[16] = "", hw[160] = "", tcb[40] = "";
    int n = strncmp(s, "snp:", 4) == 0 ? sscanf(s + 4, "%15[^:]:%159[^:]:%39s", prod, hw, tcb) : 0;
    if (n < 1) return vt_error_set(err, VT_E_ARG, CHECK, "\"%s\" is not snp:PRODUCT[:HWID:TCB | :vlek]", s);
    VT_GUARD(vt_snp_product_parse(prod, &out->product, err));
    if (n == 1) return VT_OK;
    if (n == 2 && strcmp(hw, "vlek") == 0) {
        out->vlek = true;
        return VT_OK;
    }
    size_t want = hwid_len(out) * 2;
    vt_buf id = {0};
    if (n != 3 || strlen(hw) != want || vt_hex_decode(hw, want, &id, NULL) != VT_OK) {
        vt_buf_free(&id);
        return vt_error_set(err, VT_E_ARG, CHECK, "\"%s\": the hwID of a %s chip is %zu hex digits", s, prod, want);
    }
    memcpy(out->chip_id, id.ptr, id.len);
    vt_buf_free(&id);
    char *end = NULL;
    const char *t = strncmp(tcb, "0x", 2) == 0 ? tcb + 2 : tcb;
    unsigned long long v = strtoull(t, &end, 16);
    if (*t == '\0' || *end != '\0' || strlen(t) > 16)
        return vt_error_set(err, VT_E_ARG, CHECK, "\"%s\": the TCB is the raw TCB_VERSION as up to 16 hex digits", s);
    out->reported_tcb = v;
    out->has_chip = true;
    return VT_OK;
}

/* The cache paths (relative) of w's items, and their KDS paths. */
enum { SNP_CHAIN, SNP_VLEK_CHAIN, SNP_CRL, SNP_VLEK_CRL, SNP_VCEK, SNP_ITEMS };

typedef struct snp_paths {
    char rel[SNP_ITEMS][COLL_SNP_REL_MAX];
    char query[SNP_ITEMS][COLL_SNP_REL_MAX];
    bool used[SNP_ITEMS];
} snp_paths;

static vt_err paths_of(const vt_coll_snp_want *w, snp_paths *p, vt_error *err)
{
    memset(p, 0, sizeof *p);
    const char *pn = vt_snp_product_name(w->product);
    if (w->product == VT_SNP_PRODUCT_UNKNOWN) return vt_error_set(err, VT_E_ARG, CHECK, "no SNP product named");
    static const char *const kinds[SNP_VCEK] = {"vcek", "vlek", "vcek", "vlek"};
    for (int i = 0; i < SNP_VCEK; i++) {
        bool chain = i == SNP_CHAIN || i == SNP_VLEK_CHAIN;
        snprintf(p->rel[i], sizeof p->rel[i], "%s/%s/%s", kinds[i], pn, chain ? "cert_chain.pem" : "crl.der");
        snprintf(p->query[i], sizeof p->query[i], "/%s/v1/%s/%s", kinds[i], pn, chain ? "cert_chain" : "crl");
        p->used[i] = (i == SNP_VLEK_CHAIN || i == SNP_VLEK_CRL) == w->vlek; /* a VLEK needs the ASVK's, not the ASK's */
    }
    if (!w->has_chip || w->vlek) return VT_OK;
    /* the same names as the verify path's plan (snp_kds.h), from a report holding w's fields */
    vt_snp_report r;
    memset(&r, 0, sizeof r);
    memcpy(r.chip_id, w->chip_id, sizeof r.chip_id);
    r.reported_tcb = w->reported_tcb;
    r.signing_key = VT_SNP_KEY_VCEK;
    vt_snp_kds_plan plan;
    VT_GUARD(vt_snp_kds_plan_for(&r, w->product, ".", &plan, err));
    if (plan.vcek_query[0] == '\0') return vt_error_set(err, VT_E_ARG, CHECK, "a zero CHIP_ID names no VCEK");
    snprintf(p->rel[SNP_VCEK], sizeof p->rel[SNP_VCEK], "%s/vcek.der", plan.leaf_dir + 2);
    snprintf(p->query[SNP_VCEK], sizeof p->query[SNP_VCEK], "%s", plan.vcek_query);
    p->used[SNP_VCEK] = true;
    return VT_OK;
}

/* ---- checks --------------------------------------------------------------------------------- */

static bool signed_by(X509 *child, X509 *issuer)
{
    EVP_PKEY *k = X509_get0_pubkey(issuer);
    bool ok = k != NULL && X509_verify(child, k) == 1;
    ERR_clear_error();
    return ok;
}

static vt_err valid_now(X509 *c, const char *what, const char *url, vt_time now, vt_error *err)
{
    vt_time nb, na;
    VT_GUARD(vt_x509_validity(c, &nb, &na, err));
    if (vt_valid_at(now, nb, na)) return VT_OK;
    char a[21], b[21];
    vt_time_format(nb, a);
    vt_time_format(na, b);
    return vt_error_set(err, VT_E_EXPIRED, CHECK, "%s: the %s is valid from %s to %s only", url, what, a, b);
}

static vt_err ark_trusted(const vt_coll_pcs *o, vt_snp_product product, X509 *ark, const char *url, vt_error *err)
{
    bool trusted = false;
    /* a trusted root of one product never vouches for another product's chain */
    char cn[96], want[32];
    snprintf(want, sizeof want, "ARK-%s", vt_snp_product_name(product));
    vt_x509_subject_cn(ark, cn, sizeof cn);
    if (strcmp(cn, want) != 0)
        return vt_error_set(err, VT_E_VERIFY, CHECK, "%s: the ARK is \"%s\", not \"%s\"", url, cn, want);
    if (o->roots != NULL && sk_X509_num(o->roots) > 0) {
        for (int i = 0; i < sk_X509_num(o->roots) && !trusted; i++) trusted = X509_cmp(ark, sk_X509_value(o->roots, i)) == 0;
    } else {
        size_t n;
        const vt_snp_ark_pin *pins = vt_snp_builtin_ark_pins(&n);
        uint8_t fp[32];
        VT_GUARD(vt_x509_sha256(ark, fp, err));
        for (size_t i = 0; i < n && !trusted; i++)
            trusted = pins[i].product == product && vt_ct_eq(fp, pins[i].sha256, 32);
    }
    if (!trusted)
        return vt_error_set(err, VT_E_VERIFY, CHECK, "%s: the ARK is not the trusted (pinned) ARK-%s", url,
                            vt_snp_product_name(product));
    if (!signed_by(ark, ark)) return vt_error_set(err, VT_E_VERIFY, CHECK, "%s: the ARK does not sign itself", url);
    return VT_OK;
}

/* A cert_chain: exactly [ASK or ASVK, ARK] of the product, the ARK trusted, the ASK signed by it,
 * both valid at now. On success *chain holds the two certificates (owned). */
static vt_err check_chain(const vt_coll_pcs *o, const vt_coll_snp_want *w, bool vlek, const vt_buf *b,
                          const char *url, vt_time now, STACK_OF(X509) **chain, vt_error *err)
{
    *chain = NULL;
    STACK_OF(X509) *sk = NULL;
    VT_GUARD(vt_pem_certs(b->ptr, b->len, &sk, err));
    vt_err rc = VT_OK;
    char cn[96], want[32];
    const char *pn = vt_snp_product_name(w->product);
    if (sk_X509_num(sk) != 2)
        rc = vt_error_set(err, VT_E_VERIFY, CHECK, "%s: %d certificates, not [%s, ARK]", url, sk_X509_num(sk),
                          vlek ? "ASVK" : "ASK");
    X509 *ask = rc == VT_OK ? sk_X509_value(sk, 0) : NULL, *ark = rc == VT_OK ? sk_X509_value(sk, 1) : NULL;
    if (rc == VT_OK) {
        snprintf(want, sizeof want, "%s%s", vlek ? "SEV-VLEK-" : "SEV-", pn);
        vt_x509_subject_cn(ask, cn, sizeof cn);
        if (strcmp(cn, want) != 0)
            rc = vt_error_set(err, VT_E_VERIFY, CHECK, "%s: the first certificate is \"%s\", not \"%s\"", url, cn, want);
    }
    if (rc == VT_OK) rc = ark_trusted(o, w->product, ark, url, err);
    if (rc == VT_OK && !signed_by(ask, ark))
        rc = vt_error_set(err, VT_E_VERIFY, CHECK, "%s: \"%s\" is not signed by the ARK", url, want);
    if (rc == VT_OK) rc = valid_now(ark, "ARK", url, now, err);
    if (rc == VT_OK) rc = valid_now(ask, vlek ? "ASVK" : "ASK", url, now, err);
    if (rc != VT_OK) {
        sk_X509_pop_free(sk, X509_free);
        return rc;
    }
    *chain = sk;
    return VT_OK;
}

/* The CRL: issued and signed by the verified ARK, current at now. */
static vt_err check_crl(X509 *ark, const vt_buf *b, const char *url, vt_time now, vt_error *err)
{
    X509_CRL *crl = NULL;
    VT_GUARD(vt_crl_parse(b->ptr, b->len, &crl, err));
    vt_err rc = VT_OK;
    vt_time tu, nu;
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ark)) != 0)
        rc = vt_error_set(err, VT_E_VERIFY, CHECK, "%s: the CRL is not issued by the ARK", url);
    else if (X509_CRL_verify(crl, X509_get0_pubkey(ark)) != 1)
        rc = vt_error_set(err, VT_E_VERIFY, CHECK, "%s: the CRL signature does not verify with the ARK", url);
    else if ((rc = vt_crl_times(crl, &tu, &nu, err)) == VT_OK && !vt_valid_at(now, tu, nu)) {
        char a[21], c[21];
        vt_time_format(tu, a);
        vt_time_format(nu, c);
        rc = vt_error_set(err, VT_E_EXPIRED, CHECK, "%s: the CRL is valid from %s to %s only", url, a, c);
    }
    ERR_clear_error();
    X509_CRL_free(crl);
    return rc;
}

/* The VCEK: of the chip and TCB asked for, signed by the verified ASK, valid at now. */
static vt_err check_vcek(const vt_coll_snp_want *w, X509 *ask, const vt_buf *b, const char *url, vt_time now,
                         vt_error *err)
{
    X509 *x = NULL;
    vt_snp_cert_ext ext;
    VT_GUARD(vt_cert_parse(b->ptr, b->len, &x, err));
    vt_err rc = vt_snp_cert_ext_parse(x, &ext, err);
    vt_snp_tcb t;
    vt_snp_tcb_decode(w->reported_tcb, w->product, &t);
    if (rc != VT_OK) {
    } else if (ext.hwid_len != hwid_len(w) || memcmp(ext.hwid, w->chip_id, ext.hwid_len) != 0) {
        rc = vt_error_set(err, VT_E_VERIFY, CHECK, "%s: a VCEK of another chip (hwID differs)", url);
    } else if (ext.bl_spl != t.boot_loader || ext.tee_spl != t.tee || ext.snp_spl != t.snp ||
               ext.ucode_spl != t.microcode || (t.has_fmc && (!ext.has_fmc || ext.fmc_spl != t.fmc))) {
        rc = vt_error_set(err, VT_E_VERIFY, CHECK, "%s: a VCEK of another TCB (SPLs differ from the reported TCB)", url);
    } else if (!signed_by(x, ask)) {
        rc = vt_error_set(err, VT_E_VERIFY, CHECK, "%s: the VCEK is not signed by the verified ASK", url);
    } else {
        rc = valid_now(x, "VCEK", url, now, err);
    }
    X509_free(x);
    return rc;
}

/* ---- the fetch ------------------------------------------------------------------------------ */

static bool fresh(const char *cache_dir, const char *rel, vt_time now, int64_t margin, int64_t interval)
{
    vt_coll_item it;
    if (coll_item_read_rel(cache_dir, rel, &it) != VT_OK) return false;
    return strcmp(vt_coll_item_state(&it, now, margin, interval), "valid") == 0;
}

/* The cached chain, checked again (it is what the CRL and the VCEK are checked against). */
static vt_err cached_chain(const vt_coll_pcs *o, const vt_coll_snp_want *w, bool vlek, const char *cache_dir,
                           const char *rel, vt_time now, STACK_OF(X509) **chain, vt_error *err)
{
    char path[4096];
    vt_buf b = {0};
    VT_GUARD(vt_path_join(path, sizeof path, cache_dir, rel, err));
    VT_GUARD(vt_file_read(path, 1u << 20, &b, err));
    vt_err rc = check_chain(o, w, vlek, &b, path, now, chain, err);
    vt_buf_free(&b);
    return rc;
}

static vt_err dir_of(const char *cache_dir, const char *rel, char *dir, size_t cap, const char **name, vt_error *err)
{
    VT_GUARD(vt_path_join(dir, cap, cache_dir, rel, err));
    char *slash = strrchr(dir, '/');
    if (slash != NULL) *slash = 0;
    *name = strrchr(rel, '/') + 1; /* every rel has a directory */
    return vt_mkdirs(dir, 0755, err);
}

/* Fetch, check and install item i unless fresh; chain[0..1]: the verified vcek and vlek chains
 * (filled from the answer or the cache when i is a chain). */
static vt_err item(const vt_coll_pcs *o, const char *base, const char *cache_dir, const vt_coll_snp_want *w,
                   const snp_paths *p, int i, vt_time now, int64_t margin, int64_t interval, bool force,
                   STACK_OF(X509) *chain[2], vt_coll_report *rep, vt_error *err)
{
    bool is_chain = i == SNP_CHAIN || i == SNP_VLEK_CHAIN;
    bool vlek = i == SNP_VLEK_CHAIN || i == SNP_VLEK_CRL;
    if (!force && fresh(cache_dir, p->rel[i], now, margin, interval)) {
        vt_error ce;
        /* a cached chain that no longer checks (damaged, or cached under other trusted roots) is
         * fetched again rather than failing every refresh until someone forces one */
        if (!is_chain || cached_chain(o, w, vlek, cache_dir, p->rel[i], now, &chain[vlek], &ce) == VT_OK) {
            rep->fresh++;
            return VT_OK;
        }
    }
    STACK_OF(X509) *ch = chain[vlek];
    if (!is_chain && ch == NULL)
        return vt_error_set(err, VT_E_MISSING, CHECK, "no verified %s chain to check %s against",
                            vlek ? "ASVK" : "ASK", p->query[i]);
    char url[2200], dir[4096];
    const char *name;
    snprintf(url, sizeof url, "%s%s", base, p->query[i]);
    VT_GUARD(dir_of(cache_dir, p->rel[i], dir, sizeof dir, &name, err));
    vt_http_reply r;
    VT_GUARD(coll_get(o, url, NULL, NULL, &r, rep, err));
    vt_err rc;
    if (is_chain) rc = check_chain(o, w, vlek, &r.body, url, now, &chain[vlek], err);
    else if (i == SNP_VCEK) rc = check_vcek(w, sk_X509_value(ch, 0), &r.body, url, now, err);
    else rc = check_crl(sk_X509_value(ch, 1), &r.body, url, now, err);
    if (rc == VT_OK) rc = coll_install(dir, name, r.body.ptr, r.body.len, now, rep, err);
    vt_http_reply_free(&r);
    return rc;
}

vt_err vt_coll_snp_fetch(const vt_coll_pcs *o, const char *cache_dir, const vt_coll_snp_want *w, vt_time now,
                         int64_t margin, int64_t interval, bool force, vt_coll_report *rep, vt_error *err)
{
    vt_coll_report local;
    if (rep == NULL) rep = &local;
    memset(rep, 0, sizeof *rep);
    if (o == NULL || o->base_url == NULL || cache_dir == NULL)
        return vt_error_set(err, VT_E_ARG, CHECK, "fetching from AMD KDS needs its URL and a cache directory");
    if (strncmp(o->base_url, "http://", 7) != 0 && strncmp(o->base_url, "https://", 8) != 0)
        return vt_error_set(err, VT_E_ARG, CHECK, "the AMD KDS URL must be http:// or https://");
    snp_paths p;
    VT_GUARD(paths_of(w, &p, err));
    char base[1024];
    snprintf(base, sizeof base, "%s", o->base_url);
    for (size_t l = strlen(base); l > 0 && base[l - 1] == '/'; l--) base[l - 1] = 0;
    STACK_OF(X509) *chain[2] = {NULL, NULL};
    vt_err rc = VT_OK;
    /* chains first: the VCEK and the CRLs are checked against them */
    static const int order[SNP_ITEMS] = {SNP_CHAIN, SNP_VLEK_CHAIN, SNP_VCEK, SNP_CRL, SNP_VLEK_CRL};
    for (int k = 0; k < SNP_ITEMS && rc == VT_OK; k++)
        if (p.used[order[k]])
            rc = item(o, base, cache_dir, w, &p, order[k], now, margin, interval, force, chain, rep, err);
    sk_X509_pop_free(chain[0], X509_free);
    sk_X509_pop_free(chain[1], X509_free);
    return rc;
}

vt_time vt_coll_snp_usable_until(const char *cache_dir, const vt_coll_snp_want *w, vt_time now, int64_t margin,
                                 int64_t interval, bool *due)
{
    snp_paths p;
    if (due) *due = true;
    if (paths_of(w, &p, NULL) != VT_OK) return 0;
    vt_time until = INT64_MAX;
    bool d = false;
    for (int i = 0; i < SNP_ITEMS; i++) {
        if (!p.used[i]) continue;
        vt_coll_item it;
        if (coll_item_read_rel(cache_dir, p.rel[i], &it) != VT_OK || !it.readable || now > it.next_update) return 0;
        if (strcmp(vt_coll_item_state(&it, now, margin, interval), "valid") != 0) d = true;
        if (it.next_update < until) until = it.next_update;
    }
    if (due) *due = d;
    return until;
}

size_t coll_snp_rels(const vt_coll_snp_want *w, char rels[][COLL_SNP_REL_MAX])
{
    snp_paths p;
    size_t n = 0;
    if (paths_of(w, &p, NULL) != VT_OK) return 0;
    for (int i = 0; i < SNP_ITEMS; i++)
        if (p.used[i]) memcpy(rels[n++], p.rel[i], sizeof p.rel[i]);
    return n;
}

vt_err vt_coll_snp_known(const char *cache_dir, vt_coll_snp_want *out, size_t cap, size_t *n, vt_error *err)
{
    vt_coll_item *items = NULL;
    size_t count = 0;
    *n = 0;
    VT_GUARD(vt_coll_list(cache_dir, &items, &count, err));
    for (size_t i = 0; i < count && *n < cap; i++) {
        const vt_coll_item *it = &items[i];
        char prod[16] = "";
        vt_coll_snp_want w;
        memset(&w, 0, sizeof w);
        if (strcmp(it->tee, "snp") != 0 || !it->readable || sscanf(it->path, "v%*4[a-z]/%15[A-Za-z]/", prod) != 1 ||
            vt_snp_product_parse(prod, &w.product, NULL) != VT_OK)
            continue;
        if (strcmp(it->kind, "cert_chain") == 0) {
            w.vlek = strncmp(it->path, "vlek/", 5) == 0;
            out[(*n)++] = w;
        } else if (strcmp(it->kind, "vcek") == 0) {
            char path[4096];
            vt_buf b = {0};
            X509 *x = NULL;
            vt_snp_cert_ext ext;
            if (vt_path_join(path, sizeof path, cache_dir, it->path, NULL) == VT_OK &&
                vt_file_read(path, 1u << 20, &b, NULL) == VT_OK && vt_cert_parse(b.ptr, b.len, &x, NULL) == VT_OK &&
                vt_snp_cert_ext_parse(x, &ext, NULL) == VT_OK && ext.hwid_len == hwid_len(&w)) {
                vt_snp_tcb t = {.has_fmc = ext.has_fmc, .fmc = ext.fmc_spl, .boot_loader = ext.bl_spl,
                                .tee = ext.tee_spl, .snp = ext.snp_spl, .microcode = ext.ucode_spl};
                memcpy(w.chip_id, ext.hwid, ext.hwid_len);
                w.reported_tcb = vt_snp_tcb_encode(&t, w.product);
                w.has_chip = true;
                out[(*n)++] = w;
            }
            X509_free(x);
            vt_buf_free(&b);
        }
    }
    free(items);
    return VT_OK;
}
