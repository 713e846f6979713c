/* Collateral layer internals shared by cache.c and pcs.c. */
#ifndef VT_COLLATERAL_INTERNAL_H
#define VT_COLLATERAL_INTERNAL_H

#include "veritee/collateral.h"
#include "veritee/http_get.h"

/* Reads one item of a TDX collateral directory (dir/name) with its validity window.
 * VT_E_MISSING when absent. */
vt_err coll_item_read(const char *dir, const char *name, vt_coll_item *it);

/* FMSPC as 12 upper-case hex digits (how PCS names it, and the cache files). */
void coll_fmspc_hex(const uint8_t fmspc[6], char out[13]);

/* The cache files of one platform's items, in fetch order: TCB Info, QE Identity, PCK CRL,
 * root CA CRL, and the TCB signing chain that comes with the TCB Info. */
enum { COLL_TCB_INFO, COLL_QE_IDENTITY, COLL_PCK_CRL, COLL_ROOT_CRL, COLL_SIGNING_CHAIN, COLL_ITEMS };
void coll_item_names(const vt_coll_tdx_want *w, char names[COLL_ITEMS][64]);

/* pcs.c: one GET with the upstream options, 429/503 waited out within the bounds (VT_OK only
 * for 200); an item written atomically with the fetch instant as its time. */
vt_err coll_get(const vt_coll_pcs *o, const char *url, const char *hdr, const char *hdr_alt, vt_http_reply *r,
                vt_coll_report *rep, vt_error *err);
vt_err coll_install(const char *dir, const char *name, const void *p, size_t n, vt_time now, vt_coll_report *rep,
                    vt_error *err);

/* cache.c: reads any cache item (path relative to the cache directory) with its window. */
vt_err coll_item_read_rel(const char *cache_dir, const char *rel, vt_coll_item *it);

/* kds.c: the cache paths (relative) of what an SNP platform needs; their number (at most 5). */
#define COLL_SNP_ITEMS 5
#define COLL_SNP_REL_MAX 1100
size_t coll_snp_rels(const vt_coll_snp_want *w, char rels[][COLL_SNP_REL_MAX]);

#endif
