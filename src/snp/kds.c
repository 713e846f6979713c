/* What an SEV-SNP report needs from AMD KDS (AMD VCEK spec 57230, "KDS interface"): the KDS
 * paths of its VCEK (hwID and reported TCB), the product's cert_chain and CRL, and where they
 * live in the cache. The fetch itself, every answer checked against the ARK before it is
 * cached, is the collateral layer's (vt_coll_snp_fetch). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "veritee/codec.h"
#include "veritee/snp_kds.h"

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
