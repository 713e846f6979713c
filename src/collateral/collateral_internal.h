/* Collateral layer internals shared by cache.c and pcs.c. */
#ifndef VT_COLLATERAL_INTERNAL_H
#define VT_COLLATERAL_INTERNAL_H

#include "veritee/collateral.h"

/* Reads one item of a TDX collateral directory (dir/name) with its validity window.
 * VT_E_MISSING when absent. */
vt_err coll_item_read(const char *dir, const char *name, vt_coll_item *it);

#endif
