/* What an SEV-SNP report needs from the AMD Key Distribution Service (AMD VCEK spec 57230,
 * "KDS interface": /vcek/v1/{product}/{hwid}?...SPL=, /{vcek,vlek}/v1/{product}/cert_chain and
 * /crl) and where it lives in the on-disk cache that vt_snp_dir_collateral_load reads. No I/O:
 * the fetch, each answer checked against the ARK before it is cached, is vt_coll_snp_fetch
 * (include/veritee/collateral.h). */
#ifndef VERITEE_SNP_KDS_H
#define VERITEE_SNP_KDS_H

#include "veritee/api.h"
#include "veritee/snp.h"

VT_BEGIN_DECLS

#define VT_SNP_KDS_URL "https://kdsintf.amd.com"
#define VT_SNP_KDS_PATH_MAX 1024

/* The cache, under cache_dir:
 *   vcek/<Product>/cert_chain.pem                 ASK then ARK, as KDS serves them
 *   vcek/<Product>/crl.der                        the ARK's CRL (DER)
 *   vcek/<Product>/<hwid>/<spls>/vcek.der         one VCEK per chip and reported TCB, e.g.
 *                                                 .../bl3-tee0-snp8-ucode115/ (Turin: fmc1-bl...)
 *   vlek/<Product>/cert_chain.pem, crl.der        ASVK then ARK; the CRL of the VLEK chain
 * Each directory is a --collateral directory by itself (subdirectories are not read). */
typedef struct vt_snp_kds_plan {
    vt_snp_product product;
    bool vlek;                              /* the report is VLEK-signed: no leaf to fetch */
    bool chip_masked;                       /* CHIP_ID all zero (MASK_CHIP_ID): KDS cannot be
                                               asked for the VCEK; supply it otherwise */
    char vcek_query[VT_SNP_KDS_PATH_MAX];   /* "/vcek/v1/Milan/<hwid>?blSPL=03&..."; "" for VLEK */
    char chain_query[64];                   /* "/vcek/v1/Milan/cert_chain" */
    char crl_query[64];                     /* "/vcek/v1/Milan/crl" */
    char chain_dir[VT_SNP_KDS_PATH_MAX];    /* holds cert_chain.pem and crl.der */
    char leaf_dir[VT_SNP_KDS_PATH_MAX];     /* holds vcek.der; "" for VLEK */
} vt_snp_kds_plan;

/* What report r needs and where it lives in the cache (no I/O). The product is `product` when
 * not UNKNOWN (it must then agree with the report's CPUID), else the report's CPUID (v3+).
 * hwID = CHIP_ID as lowercase hex (Turin: its first 8 bytes; the rest must be zero); the SPLs
 * are REPORTED_TCB's, two-digit decimal (fmcSPL first on Turin). A VLEK-signed report or a
 * masked CHIP_ID needs no VCEK: vcek_query and leaf_dir are then "". Errors: VT_E_ARG (no
 * product for a v2 report, products disagree, path too long), VT_E_INVALID (Turin CHIP_ID
 * with nonzero bytes after the 8th). */
VT_MUST_USE vt_err vt_snp_kds_plan_for(const vt_snp_report *r, vt_snp_product product, const char *cache_dir,
                           vt_snp_kds_plan *out, vt_error *err);

VT_END_DECLS

#endif
