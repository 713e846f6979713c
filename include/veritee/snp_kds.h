/* Fetching what an SEV-SNP report needs from the AMD Key Distribution Service (AMD VCEK spec
 * 57230, "KDS interface": /vcek/v1/{product}/{hwid}?...SPL=, /{vcek,vlek}/v1/{product}/cert_chain
 * and /crl) into an on-disk cache that vt_snp_dir_collateral_load reads. Opt-in; the only
 * network path of the SNP verifier. AMD KDS answers 429 when asked too often: requests are
 * retried after a bounded back-off, and cached items are never fetched again. */
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

typedef struct vt_snp_kds_opts {
    const char *base_url;   /* NULL = VT_SNP_KDS_URL; a trailing '/' is ignored */
    const char *cache_dir;  /* required; created when absent */
    vt_snp_product product; /* see vt_snp_kds_plan_for */
    vt_time at;             /* a cached CRL whose nextUpdate is before `at` is fetched again;
                               0 = a cached CRL is always reused */
    bool refresh;           /* fetch even the items the cache holds */
    long timeout_seconds;   /* per request; 0 = 20 s */
    unsigned max_attempts;  /* requests per item while KDS answers 429/503; 0 = 5 */
    long backoff_ms;        /* first wait when the answer has no Retry-After (it doubles);
                               0 = 2000 */
    long max_wait_ms;       /* bound on the sum of all waits of one call; 0 = 60000 */
    /* Waits ms milliseconds; NULL = nanosleep. (Tests pass one that records the waits.) */
    void (*sleep_ms)(void *ctx, long ms);
    void *sleep_ctx;
} vt_snp_kds_opts;

typedef struct vt_snp_kds_result {
    vt_snp_kds_plan plan;
    unsigned requests;      /* HTTP requests made (0: everything came from the cache) */
    unsigned rate_limited;  /* 429/503 answers that were waited out or gave up on */
    long waited_ms;         /* sum of the waits */
} vt_snp_kds_result;

/* Make sure the cache holds what verifying r needs: the VCEK for its chip and REPORTED_TCB
 * (not for a VLEK-signed report: AMD serves VLEKs only to cloud providers; not for a masked
 * CHIP_ID), the product's
 * cert_chain and CRL (of the VLEK chain for a VLEK-signed report). Each response is checked
 * before it is stored (the VCEK parses and its hwID and SPL extensions are the report's; the
 * chain is two PEM certificates; the CRL parses), and written atomically. out (may be NULL) is
 * filled even on failure when the plan could be made. Errors: those of vt_snp_kds_plan_for;
 * VT_E_MISSING (unreachable, HTTP status other than 200, still rate-limited after max_attempts
 * or when the next wait would exceed max_wait_ms); VT_E_INVALID (a response does not decode or
 * is for another chip/TCB); VT_E_IO (cache not writable). Items fetched before a failure stay
 * cached. */
VT_MUST_USE vt_err vt_snp_kds_fetch(const vt_snp_kds_opts *o, const vt_snp_report *r, vt_snp_kds_result *out,
                        vt_error *err);

VT_END_DECLS

#endif
