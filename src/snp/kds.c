/* AMD KDS client for SEV-SNP (AMD VCEK spec 57230, "KDS interface"): VCEK by hwID and reported
 * TCB, ASK/ASVK + ARK cert_chain, CRL; cached on disk, 429/503 answers retried with a bounded
 * back-off (Retry-After when given). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "veritee/codec.h"
#include "veritee/fileio.h"
#include "veritee/http_get.h"
#include "veritee/snp_kds.h"
#include "veritee/x509.h"

#define KDS_BODY_MAX (1u << 20)
#define DEFAULT_ATTEMPTS 5u
#define DEFAULT_BACKOFF_MS 2000L
#define DEFAULT_MAX_WAIT_MS 60000L

static vt_err fmt(char *out, size_t cap, vt_error *err, const char *f, ...)
    __attribute__((format(printf, 4, 5)));
static vt_err fmt(char *out, size_t cap, vt_error *err, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(out, cap, f, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap) return vt_error_set(err, VT_E_ARG, "kds", "cache path or URL too long");
    return VT_OK;
}

static vt_err plan_product(const vt_snp_report *r, vt_snp_product want, vt_snp_product *out, vt_error *err)
{
    vt_snp_product cpuid = r->has_cpuid ? vt_snp_product_from_cpuid(r->cpuid_fam_id, r->cpuid_mod_id)
                                        : VT_SNP_PRODUCT_UNKNOWN;
    if (want != VT_SNP_PRODUCT_UNKNOWN && cpuid != VT_SNP_PRODUCT_UNKNOWN && want != cpuid)
        return vt_error_set(err, VT_E_ARG, "kds", "the expected product %s disagrees with the report's CPUID (%s)",
                            vt_snp_product_name(want), vt_snp_product_name(cpuid));
    *out = want != VT_SNP_PRODUCT_UNKNOWN ? want : cpuid;
    if (*out == VT_SNP_PRODUCT_UNKNOWN)
        return vt_error_set(err, VT_E_ARG, "kds",
                            "the report (version %u) does not name its product: give the product to fetch from AMD KDS",
                            r->version);
    return VT_OK;
}

vt_err vt_snp_kds_plan_for(const vt_snp_report *r, vt_snp_product product, const char *cache_dir,
                           vt_snp_kds_plan *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    if (cache_dir == NULL || *cache_dir == '\0')
        return vt_error_set(err, VT_E_ARG, "kds", "fetching from AMD KDS needs a cache directory");
    VT_GUARD(plan_product(r, product, &out->product, err));
    const char *pn = vt_snp_product_name(out->product);
    out->vlek = r->signing_key == VT_SNP_KEY_VLEK;
    const char *kind = out->vlek ? "vlek" : "vcek";
    VT_GUARD(fmt(out->chain_query, sizeof out->chain_query, err, "/%s/v1/%s/cert_chain", kind, pn));
    VT_GUARD(fmt(out->crl_query, sizeof out->crl_query, err, "/%s/v1/%s/crl", kind, pn));
    VT_GUARD(fmt(out->chain_dir, sizeof out->chain_dir, err, "%s/%s/%s", cache_dir, kind, pn));
    if (out->vlek) return VT_OK;

    static const uint8_t zero[64];
    out->chip_masked = memcmp(r->chip_id, zero, 64) == 0;
    if (out->chip_masked) return VT_OK;
    bool turin = out->product == VT_SNP_TURIN;
    size_t idlen = turin ? 8 : 64;
    if (turin && memcmp(r->chip_id + 8, zero, 56) != 0)
        return vt_error_set(err, VT_E_INVALID, "kds", "Turin CHIP_ID has nonzero bytes after the 8-byte hwID");
    char hwid[129], spl[80];
    vt_hex_encode(r->chip_id, idlen, hwid);
    vt_snp_tcb t;
    vt_snp_tcb_decode(r->reported_tcb, out->product, &t);
    char fmc[16] = "", fmcq[16] = "";
    if (turin) {
        snprintf(fmc, sizeof fmc, "fmc%u-", t.fmc);
        snprintf(fmcq, sizeof fmcq, "fmcSPL=%02u&", t.fmc);
    }
    snprintf(spl, sizeof spl, "%sbl%u-tee%u-snp%u-ucode%u", fmc, t.boot_loader, t.tee, t.snp, t.microcode);
    VT_GUARD(fmt(out->vcek_query, sizeof out->vcek_query, err,
                 "/vcek/v1/%s/%s?%sblSPL=%02u&teeSPL=%02u&snpSPL=%02u&ucodeSPL=%02u", pn, hwid, fmcq,
                 t.boot_loader, t.tee, t.snp, t.microcode));
    return fmt(out->leaf_dir, sizeof out->leaf_dir, err, "%s/%s/%s", out->chain_dir, hwid, spl);
}

/* mkdir -p for the part of path below (and including) the cache root. */
/* Written atomically (vt_file_write_atomic), so a cache never holds half a file. */
static vt_err store(const char *dir, const char *name, const vt_buf *b, vt_error *err)
{
    char path[VT_SNP_KDS_PATH_MAX + 32];
    VT_GUARD(fmt(path, sizeof path, err, "%s/%s", dir, name));
    return vt_file_write_atomic(path, b->ptr, b->len, 0644, err);
}

typedef struct session {
    const vt_snp_kds_opts *o;
    const vt_snp_report *r;
    vt_snp_kds_result *res;
    const char *base;
    size_t base_len;
} session;

static void default_sleep(void *ctx, long ms)
{
    (void)ctx;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* GET base+query until 200, waiting out 429/503 within the attempt and time bounds. */
static vt_err get(session *s, const char *query, const char *what, vt_http_reply *resp, vt_error *err)
{
    const vt_snp_kds_opts *o = s->o;
    char url[VT_SNP_KDS_PATH_MAX + 512];
    VT_GUARD(fmt(url, sizeof url, err, "%.*s%s", (int)s->base_len, s->base, query));
    unsigned attempts = o->max_attempts ? o->max_attempts : DEFAULT_ATTEMPTS;
    long backoff = o->backoff_ms > 0 ? o->backoff_ms : DEFAULT_BACKOFF_MS;
    long budget = o->max_wait_ms > 0 ? o->max_wait_ms : DEFAULT_MAX_WAIT_MS;
    vt_http_get_opts h = {.check = "kds", .timeout_seconds = o->timeout_seconds, .max_body = KDS_BODY_MAX};
    for (unsigned i = 1;; i++) {
        VT_GUARD(vt_http_get(url, &h, resp, err));
        s->res->requests++;
        long st = resp->status, ra = resp->retry_after;
        if (st == 200) return VT_OK;
        vt_http_reply_free(resp);
        if (st != 429 && st != 503)
            return vt_error_set(err, VT_E_MISSING, "kds", "AMD KDS answered HTTP %ld to %s", st, url);
        s->res->rate_limited++;
        long wait = ra >= 0 ? (ra > budget / 1000 + 1 ? budget + 1 : ra * 1000) : backoff;
        if (i >= attempts || s->res->waited_ms + wait > budget)
            return vt_error_set(err, VT_E_MISSING, "kds",
                                "AMD KDS still rate-limits (HTTP %ld) the %s after %u requests and %ld ms of "
                                "waiting (bound %ld ms); cached items are kept, try again later",
                                st, what, i, s->res->waited_ms, budget);
        (o->sleep_ms ? o->sleep_ms : default_sleep)(o->sleep_ctx, wait);
        s->res->waited_ms += wait;
        if (ra < 0) backoff *= 2;
    }
}

static bool cached(const session *s, const char *dir, const char *name)
{
    char path[VT_SNP_KDS_PATH_MAX + 32];
    return !s->o->refresh && fmt(path, sizeof path, NULL, "%s/%s", dir, name) == VT_OK && vt_file_exists(path);
}

/* The VCEK must be the one the report needs: KDS answering for another chip or TCB (or a proxy
 * answering garbage) must not poison the cache. */
static vt_err check_vcek(const session *s, const vt_buf *b, vt_error *err)
{
    X509 *x = NULL;
    vt_snp_cert_ext ext;
    VT_GUARD(vt_cert_parse(b->ptr, b->len, &x, err));
    vt_err rc = vt_snp_cert_ext_parse(x, &ext, err);
    X509_free(x);
    VT_GUARD(rc);
    vt_snp_tcb t;
    vt_snp_tcb_decode(s->r->reported_tcb, s->res->plan.product, &t);
    size_t idlen = s->res->plan.product == VT_SNP_TURIN ? 8 : 64;
    if (ext.hwid_len != idlen || memcmp(ext.hwid, s->r->chip_id, idlen) != 0)
        return vt_error_set(err, VT_E_INVALID, "kds", "AMD KDS returned a VCEK for another chip (hwID differs)");
    if (ext.bl_spl != t.boot_loader || ext.tee_spl != t.tee || ext.snp_spl != t.snp ||
        ext.ucode_spl != t.microcode || (t.has_fmc && (!ext.has_fmc || ext.fmc_spl != t.fmc)))
        return vt_error_set(err, VT_E_INVALID, "kds", "AMD KDS returned a VCEK for another TCB (SPLs differ from REPORTED_TCB)");
    return VT_OK;
}

static vt_err check_chain(const vt_buf *b, vt_error *err)
{
    STACK_OF(X509) *sk = NULL;
    VT_GUARD(vt_pem_certs(b->ptr, b->len, &sk, err));
    int n = sk_X509_num(sk);
    sk_X509_pop_free(sk, X509_free);
    if (n != 2) return vt_error_set(err, VT_E_INVALID, "kds", "cert_chain holds %d certificates, not 2 (ASK, ARK)", n);
    return VT_OK;
}

/* A cached CRL is reused while `at` is before its nextUpdate. */
static bool crl_fresh(const session *s, const char *dir)
{
    if (!cached(s, dir, "crl.der")) return false;
    if (s->o->at == 0) return true;
    char path[VT_SNP_KDS_PATH_MAX + 32];
    vt_buf b = {0};
    X509_CRL *crl = NULL;
    vt_time tu, nu = 0;
    bool ok = fmt(path, sizeof path, NULL, "%s/crl.der", dir) == VT_OK &&
              vt_file_read(path, KDS_BODY_MAX, &b, NULL) == VT_OK && vt_crl_parse(b.ptr, b.len, &crl, NULL) == VT_OK &&
              vt_crl_times(crl, &tu, &nu, NULL) == VT_OK && s->o->at <= nu;
    X509_CRL_free(crl);
    vt_buf_free(&b);
    return ok;
}

static vt_err check_crl(const vt_buf *b, vt_error *err)
{
    X509_CRL *crl = NULL;
    VT_GUARD(vt_crl_parse(b->ptr, b->len, &crl, err));
    X509_CRL_free(crl);
    return VT_OK;
}

typedef enum { ITEM_VCEK, ITEM_CHAIN, ITEM_CRL } item_kind;

static vt_err fetch_item(session *s, item_kind k, vt_error *err)
{
    const vt_snp_kds_plan *p = &s->res->plan;
    const char *dir = k == ITEM_VCEK ? p->leaf_dir : p->chain_dir;
    const char *name = k == ITEM_VCEK ? "vcek.der" : k == ITEM_CHAIN ? "cert_chain.pem" : "crl.der";
    const char *query = k == ITEM_VCEK ? p->vcek_query : k == ITEM_CHAIN ? p->chain_query : p->crl_query;
    if (k == ITEM_CRL ? crl_fresh(s, dir) : cached(s, dir, name)) return VT_OK;
    VT_GUARD(vt_mkdirs(dir, 0700, err));
    vt_http_reply resp;
    VT_GUARD(get(s, query, k == ITEM_VCEK ? "VCEK" : k == ITEM_CHAIN ? "cert_chain" : "CRL", &resp, err));
    vt_err rc = k == ITEM_VCEK ? check_vcek(s, &resp.body, err)
                : k == ITEM_CHAIN ? check_chain(&resp.body, err) : check_crl(&resp.body, err);
    if (rc != VT_OK) vt_error_wrap(err, "%s", query);
    else rc = store(dir, name, &resp.body, err);
    vt_http_reply_free(&resp);
    return rc;
}

vt_err vt_snp_kds_fetch(const vt_snp_kds_opts *o, const vt_snp_report *r, vt_snp_kds_result *out,
                        vt_error *err)
{
    vt_snp_kds_result local;
    vt_snp_kds_result *res = out ? out : &local;
    memset(res, 0, sizeof *res);
    session s = {.o = o, .r = r, .res = res, .base = o->base_url ? o->base_url : VT_SNP_KDS_URL};
    s.base_len = strlen(s.base);
    while (s.base_len > 0 && s.base[s.base_len - 1] == '/') s.base_len--;
    if (strncmp(s.base, "https://", 8) != 0 && strncmp(s.base, "http://", 7) != 0)
        return vt_error_set(err, VT_E_ARG, "kds", "the AMD KDS URL must be http:// or https://");
    VT_GUARD(vt_snp_kds_plan_for(r, o->product, o->cache_dir, &res->plan, err));
    VT_GUARD(vt_mkdirs(o->cache_dir, 0700, err));
    if (res->plan.leaf_dir[0] != '\0') VT_GUARD(fetch_item(&s, ITEM_VCEK, err));
    VT_GUARD(fetch_item(&s, ITEM_CHAIN, err));
    return fetch_item(&s, ITEM_CRL, err);
}
