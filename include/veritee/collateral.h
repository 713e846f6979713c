/* Live collateral (docs/collateral.md): a cache directory of the items verification needs from
 * Intel PCS or a PCCS (TCB Info, QE Identity, PCK and root CA CRLs) and from AMD KDS (VCEK,
 * ASK/ASVK + ARK, CRL), each checked before it is installed and written atomically, listed with
 * its validity window, refreshed before it expires and pruned after. The cache is laid out as
 * collateral directories the verifiers already read:
 *   <cache>/tdx/            TDX/SGX collateral directory (tcbinfo_<fmspc>.json, tcbinfo_sgx_<fmspc>.json,
 *                           qe_identity_td_qe.json, qe_identity_qe.json, tcb_signing_chain.pem,
 *                           pck_crl_platform.der, pck_crl_processor.der, root_ca_crl.der)
 *   <cache>/vcek|vlek/...   AMD KDS layout (snp_kds.h)
 * No function here reads the clock: `now` is a parameter. */
#ifndef VERITEE_COLLATERAL_H
#define VERITEE_COLLATERAL_H

#include <jansson.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/err.h"
#include "veritee/snp.h"
#include "veritee/vtime.h"

VT_BEGIN_DECLS

#define VT_COLL_TDX_DIR "tdx"
/* An item is refreshed this long before its nextUpdate/notAfter at the latest (7 days), and
 * at the earliest once a day (Intel publishes TCB recoveries without warning). */
#define VT_COLL_DEFAULT_MARGIN (7 * 86400)
#define VT_COLL_DEFAULT_INTERVAL 86400

/* ---- what the cache holds ------------------------------------------------------------------ */

typedef struct vt_coll_item {
    char tee[8];         /* "tdx", "sgx", "snp" */
    char kind[24];       /* "tcb_info", "qe_identity", "tcb_signing_chain", "pck_crl", "root_ca_crl",
                            "vcek", "cert_chain", "crl" */
    char id[96];         /* FMSPC, "TD_QE"/"QE", "platform"/"processor", "Milan/<hwid>/<spl>", ... */
    char path[512];      /* relative to the cache directory */
    vt_time issued;      /* issueDate / thisUpdate / notBefore */
    vt_time next_update; /* nextUpdate / notAfter: the item is usable through this second */
    vt_time fetched;     /* when it was written (file time) */
    bool readable;       /* false: the file does not parse (it is never used; refetch or prune) */
} vt_coll_item;

/* Every item under cache_dir, sorted by path. *items owned (free()). A missing cache directory
 * is an empty list. Errors: VT_E_IO, VT_E_NOMEM. */
VT_MUST_USE vt_err vt_coll_list(const char *cache_dir, vt_coll_item **items, size_t *n, vt_error *err);

/* "valid", "refresh" (inside the refresh margin, or older than the interval), "expired" or
 * "unreadable" at now. */
const char *vt_coll_item_state(const vt_coll_item *it, vt_time now, int64_t margin, int64_t interval);
/* The list as JSON: [{tee, kind, id, path, issued, next_update, fetched, state, expires_in}]. */
json_t *vt_coll_items_json(const vt_coll_item *items, size_t n, vt_time now, int64_t margin, int64_t interval);

/* Removes items expired for longer than grace seconds, and unreadable files. *removed (may be
 * NULL) counts them. */
VT_MUST_USE vt_err vt_coll_prune(const char *cache_dir, vt_time now, int64_t grace, size_t *removed, vt_error *err);

/* ---- Intel PCS / PCCS ---------------------------------------------------------------------- */

#define VT_COLL_PCS_URL "https://api.trustedservices.intel.com"

typedef struct vt_coll_pcs {
    const char *base_url;  /* Intel PCS (VT_COLL_PCS_URL) or a PCCS, without /sgx/... */
    bool pccs;             /* a PCCS: the root CA CRL from base_url (it answers hex or DER);
                              Intel PCS: from Intel's certificate site */
    const char *ca_file;   /* HTTPS: trust only this CA (a PCCS with its own CA); NULL = system */
    bool insecure;         /* HTTPS: accept any certificate (a self-signed PCCS). The items are
                              still checked against the Intel root: only their transport is. */
    const char *api_key;   /* sent as Ocp-Apim-Subscription-Key when set */
    long timeout_seconds;  /* per request; 0 = 20 */
    unsigned max_attempts; /* requests per item while answered 429/503; 0 = 4 */
    long backoff_ms;       /* first wait without Retry-After (doubles); 0 = 1000 */
    long max_wait_ms;      /* bound on all waits of one call; 0 = 30000 */
    void (*sleep_ms)(void *ctx, long ms); /* NULL = nanosleep; tests record the waits */
    void *sleep_ctx;
    STACK_OF(X509) *roots; /* the Intel SGX Root CA(s); NULL = the pinned Intel root. For AMD KDS
                              (vt_coll_snp_fetch): the ARKs; NULL = the pinned ARKs */
} vt_coll_pcs;

/* Whether url is Intel's own PCS (its root CA CRL comes from Intel's certificate site); any
 * other URL is taken for a PCCS (root CA CRL from /sgx/certification/v4/rootcacrl). */
bool vt_coll_is_intel_pcs(const char *url);

/* What one platform needs: the TEE ("tdx" or "sgx"), the FMSPC and the PCK issuer CA. */
typedef struct vt_coll_tdx_want {
    char tee[4];
    uint8_t fmspc[6];
    char ca[12]; /* "platform" or "processor" */
} vt_coll_tdx_want;

/* From a TDX or SGX quote's PCK certificate. Errors: VT_E_INVALID (no PCK chain in the quote). */
VT_MUST_USE vt_err vt_coll_tdx_want_from_quote(const uint8_t *quote, size_t len, vt_coll_tdx_want *out,
                                               vt_error *err);
/* "tdx:<FMSPC>:<ca>" style id, and its parse ("sgx:00906ED50000:processor"). */
void vt_coll_tdx_want_id(const vt_coll_tdx_want *w, char out[40]);
VT_MUST_USE vt_err vt_coll_tdx_want_parse(const char *s, vt_coll_tdx_want *out, vt_error *err);

typedef struct vt_coll_report {
    unsigned requests;     /* HTTP requests made */
    unsigned rate_limited; /* 429/503 answers */
    long waited_ms;        /* sum of waits */
    unsigned installed;    /* items written into the cache */
    unsigned fresh;        /* items the cache already held, fresh, and not fetched */
} vt_coll_report;

/* Makes cache_dir/tdx hold what w needs at now: TCB Info for the FMSPC, the QE Identity of the
 * TEE (TD_QE or QE), the TCB signing chain, the PCK CRL of the CA and the root CA CRL. An item
 * that is fresh (not within margin of its nextUpdate, fetched less than interval ago) is kept
 * unless force. Every answer is checked before it is installed: TCB Info / QE Identity parse,
 * are of the FMSPC / kind asked for, are signed by the Intel SGX TCB Signing certificate whose
 * chain [TCB Signing, Root] verifies to the root at now; CRLs are signed by their issuer
 * (chain to the root) and current at now. A checked item replaces the cached one atomically
 * (vt_file_write_atomic); a refused answer is not cached. Errors: VT_E_MISSING (upstream
 * unreachable or answered other than 200, still rate-limited), VT_E_VERIFY / VT_E_EXPIRED (an
 * answer failed its check: the cache keeps the previous item), VT_E_IO. rep (may be NULL) is
 * filled even on failure. */
VT_MUST_USE vt_err vt_coll_tdx_fetch(const vt_coll_pcs *o, const char *cache_dir, const vt_coll_tdx_want *w,
                                     vt_time now, int64_t margin, int64_t interval, bool force,
                                     vt_coll_report *rep, vt_error *err);

/* ---- AMD KDS (SEV-SNP) ---------------------------------------------------------------------- */

/* What one SEV-SNP platform needs from AMD KDS (snp_kds.h layout under the cache directory):
 * the product's ASK/ARK cert_chain and the ARK's CRL (vcek/<P>/) and, when the chip is known,
 * the VCEK of its CHIP_ID and REPORTED_TCB; for VLEK-signed reports the ASVK/ARK vlek
 * cert_chain and its CRL (vlek/<P>/) instead (AMD serves VLEKs to cloud providers only). */
typedef struct vt_coll_snp_want {
    vt_snp_product product;
    bool vlek;             /* VLEK-signed: vlek/<P>/cert_chain.pem and crl.der, no VCEK */
    bool has_chip;         /* a VCEK to fetch (chip_id, reported_tcb) */
    uint8_t chip_id[64];   /* Turin: 8 bytes of hwID, the rest zero */
    uint64_t reported_tcb; /* raw TCB_VERSION, the product's layout */
} vt_coll_snp_want;

/* From SNP evidence (a report, optionally followed by its certificate table). product
 * ("milan", "genoa", "turin") is needed when the report does not name it (version 2); when
 * given it must agree with the report's CPUID. A masked CHIP_ID or a VLEK-signed report needs
 * no VCEK. Errors: VT_E_INVALID (not a report), VT_E_ARG (no product, products disagree). */
VT_MUST_USE vt_err vt_coll_snp_want_from_report(const uint8_t *ev, size_t len, const char *product,
                                                vt_coll_snp_want *out, vt_error *err);
/* "snp:<Product>" or "snp:<Product>:<hwID hex>:<TCB as 16 hex digits>" (the raw TCB_VERSION
 * value, as `veritee verify` prints it) or "snp:<Product>:vlek"; and its parse. */
void vt_coll_snp_want_id(const vt_coll_snp_want *w, char out[180]);
VT_MUST_USE vt_err vt_coll_snp_want_parse(const char *s, vt_coll_snp_want *out, vt_error *err);

/* The SNP platforms cache_dir holds: one per product whose ASK/ARK chain is cached, one per
 * cached VCEK (its chip and TCB read from its own extensions). At most cap into out. */
VT_MUST_USE vt_err vt_coll_snp_known(const char *cache_dir, vt_coll_snp_want *out, size_t cap, size_t *n,
                                     vt_error *err);

/* Makes cache_dir hold what w needs at now, from AMD KDS (o->base_url, e.g. VT_SNP_KDS_URL;
 * o->roots: the ARKs to trust, NULL = the pinned ARK of the product). Each answer is checked
 * before it is installed (chains first: the CRL and the VCEK are checked against them): a cert_chain is exactly [ASK or ASVK of the product, ARK], the ARK is
 * self-signed and trusted, it signs the ASK/ASVK, both valid at now; a CRL is issued and signed
 * by that ARK and current at now; a VCEK is of the chip and REPORTED_TCB asked for, signed by
 * the (verified) ASK and valid at now. A certificate item is kept until it is within margin of
 * its notAfter; the CRL also is fetched again once a day (interval). 429/503 are waited out as
 * for PCS (o->max_attempts, o->max_wait_ms; Retry-After honoured). A checked item replaces the
 * cached one atomically; a refused answer is not cached. Errors as vt_coll_tdx_fetch. */
VT_MUST_USE vt_err vt_coll_snp_fetch(const vt_coll_pcs *o, const char *cache_dir, const vt_coll_snp_want *w,
                                     vt_time now, int64_t margin, int64_t interval, bool force,
                                     vt_coll_report *rep, vt_error *err);

/* Earliest expiry (notAfter / nextUpdate) of the cached items w needs, 0 when one is missing,
 * unreadable or expired at now. *due (may be NULL): one is due for refresh at now. */
vt_time vt_coll_snp_usable_until(const char *cache_dir, const vt_coll_snp_want *w, vt_time now, int64_t margin,
                                 int64_t interval, bool *due);

/* ---- the manager: a server's collateral, kept fresh off the hot path --------------------- */

struct vt_metrics;
typedef struct vt_coll_manager vt_coll_manager;

typedef struct vt_coll_manager_opts {
    const char *cache_dir;     /* required */
    vt_coll_pcs pcs;           /* TDX/SGX upstream; base_url NULL: none (the cache is static) */
    vt_coll_pcs kds;           /* SEV-SNP upstream (AMD KDS, vt_coll_snp_fetch); base_url NULL: none */
    int64_t margin, interval;  /* refresh policy; 0 = VT_COLL_DEFAULT_MARGIN / _INTERVAL */
    long fetch_wait_ms;        /* how long a caller of vt_coll_manager_need waits for an
                                  on-demand fetch; 0 = 5000 */
    long retry_min_s, retry_max_s; /* back-off of a failing platform; 0 = 60 / 3600 */
    struct vt_metrics *metrics; /* may be NULL: veritee_collateral_* families */
} vt_coll_manager_opts;

/* Creates the manager and learns the platforms the cache already holds. Copies the strings. */
VT_MUST_USE vt_err vt_coll_manager_new(const vt_coll_manager_opts *o, vt_time now, vt_coll_manager **out,
                                       vt_error *err);
void vt_coll_manager_free(vt_coll_manager *m); /* waits for fetches in flight; accepts NULL */

/* The hot path, before a TDX/SGX quote is verified: returns at once when the cache holds every
 * item the quote's platform needs and none is expired at now (a refresh being due is the
 * background's business). Otherwise fetches them: one fetch per platform at a time (callers for
 * the same platform share it), waiting at most fetch_wait_ms; the fetch goes on for later
 * callers when the wait ends. Errors: VT_E_MISSING (no upstream, the fetch failed, or it did
 * not finish in time: the message says which), VT_E_INVALID (not a quote with a PCK chain).
 * tee "snp": as vt_coll_manager_need_snp with the report's own product. Evidence of another
 * TEE: VT_OK, nothing to do. */
VT_MUST_USE vt_err vt_coll_manager_need(vt_coll_manager *m, const char *tee, const uint8_t *ev, size_t len,
                                        vt_time now, vt_error *err);

/* The same for SEV-SNP evidence (a report, optionally with its certificate table): the
 * product's chains and CRL and the VCEK of the report's chip and REPORTED_TCB, fetched from
 * AMD KDS (opts kds) when the cache lacks one or it expired. product as for
 * vt_coll_snp_want_from_report (NULL: from the report). Errors: as vt_coll_manager_need, and
 * VT_E_ARG (a version-2 report without a product). */
VT_MUST_USE vt_err vt_coll_manager_need_snp(vt_coll_manager *m, const uint8_t *ev, size_t len, const char *product,
                                            vt_time now, vt_error *err);

typedef struct vt_coll_tick_report {
    unsigned platforms;   /* known */
    unsigned refreshed;   /* platforms whose fetch ran and succeeded */
    unsigned failed;      /* platforms whose fetch failed (back-off started) */
    unsigned deferred;    /* platforms in back-off, not tried */
    unsigned requests;    /* HTTP requests made */
} vt_coll_tick_report;

/* One background pass at now: every known platform (TDX/SGX from pcs, SNP from kds) with an
 * item due (state "refresh", "expired" or missing) and not in back-off is fetched; a failure
 * keeps the cached items (they serve until they really expire) and backs the platform off
 * (doubling from retry_min_s to retry_max_s; within one fetch, 429/503 answers are waited out
 * as the upstream's Retry-After says, inside the fetch's bounds); the expiry gauges are
 * updated. */
VT_MUST_USE vt_err vt_coll_manager_tick(vt_coll_manager *m, vt_time now, vt_coll_tick_report *rep, vt_error *err);

/* Ready: every known platform's items (TDX/SGX and SNP) are present and unexpired at now (a
 * server with no platform yet is ready). */
bool vt_coll_manager_ready(vt_coll_manager *m, vt_time now);

VT_END_DECLS

#endif
