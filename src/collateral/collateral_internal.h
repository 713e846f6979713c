/* Collateral layer internals shared by cache.c and pcs.c. */
#ifndef VT_COLLATERAL_INTERNAL_H
#define VT_COLLATERAL_INTERNAL_H

#include "veritee/collateral.h"

/* Reads one item of a TDX collateral directory (dir/name) with its validity window.
 * VT_E_MISSING when absent. */
vt_err coll_item_read(const char *dir, const char *name, vt_coll_item *it);

/* FMSPC as 12 upper-case hex digits (how PCS names it, and the cache files). */
void coll_fmspc_hex(const uint8_t fmspc[6], char out[13]);

/* The cache files of one platform's items, in fetch order: TCB Info, QE Identity, PCK CRL,
 * root CA CRL, and the TCB signing chain that comes with the TCB Info. */
enum { COLL_TCB_INFO, COLL_QE_IDENTITY, COLL_PCK_CRL, COLL_ROOT_CRL, COLL_SIGNING_CHAIN, COLL_ITEMS };
void coll_item_names(const vt_coll_tdx_want *w, char names[COLL_ITEMS][64]);

#endif
