/* Fetching DCAP collateral from Intel PCS (v4 API) or a PCCS into an on-disk cache laid out
 * like a --collateral directory. The only network path of the TDX verifier; opt-in. */
#ifndef VERITEE_TDX_PCS_H
#define VERITEE_TDX_PCS_H

#include "veritee/api.h"
#include "veritee/tdx.h"

VT_BEGIN_DECLS

typedef struct vt_tdx_pcs_opts {
    const char *base_url;  /* e.g. https://api.trustedservices.intel.com */
    const char *cache_dir; /* where the items are written (created if absent) */
    long timeout_seconds;  /* per request; 0 = 20 s */
    bool refresh;          /* fetch even when the cache already has an item */
} vt_tdx_pcs_opts;

/* Fetch what verifying `q` needs: TCB Info for the PCK's FMSPC, QE Identity, the TCB signing
 * chain, the PCK CRL of the PCK's issuing CA, and the root CA CRL. */
vt_err vt_tdx_pcs_fetch(const vt_tdx_pcs_opts *o, const vt_tdx_quote *q, vt_error *err);

VT_END_DECLS

#endif
