/* Internal TCB evaluation helpers shared by the TDX verifier and its tests. */
#ifndef VT_TDX_INTERNAL_H
#define VT_TDX_INTERNAL_H

#include <pthread.h>

#include <openssl/evp.h>

#include "veritee/crypto.h"
#include "veritee/tdx.h"
#include "veritee/x509.h"

/* First TCB Info level the platform meets (SGX components + PCESVN from the PCK
 * certificate; TDX components from TEE_TCB_SVN). VT_E_NO_TCB when none. */
vt_err tdx_match_tcb_level(const vt_tcb_info *ti, const vt_sgx_pck_ext *pck, const vt_tdx_quote *q,
                           const vt_tcb_level **out, vt_error *err);
/* TEE_TCB_SVN[1] = 0: MRSIGNERSEAM/SEAMATTRIBUTES against tcbInfo.tdxModule (*has = false; the
 * module SVN was compared as tdxtcbcomponents[0]). TEE_TCB_SVN[1] > 0: the module identity
 * TDX_<nn> and its level for the module SVN (*has = true); no such identity is a TCB Info
 * mismatch (VT_E_VERIFY). */
vt_err tdx_match_module(const vt_tcb_info *ti, const vt_td_report *td, bool *has,
                        const vt_isv_level **out, vt_error *err);
/* QE report against the QE Identity: MRSIGNER, ISVPRODID, masked MISCSELECT/ATTRIBUTES, and
 * the level for its ISVSVN. */
vt_err tdx_match_qe_identity(const vt_qe_identity *qi, const vt_sgx_report *qe,
                             const vt_isv_level **out, vt_error *err);
/* Intel QVL: merge a QE or TDX module status into the platform status. */
vt_tcb_status tdx_converge(vt_tcb_status platform, vt_tcb_status other);
vt_time tmin_time(vt_time a, vt_time b);

#define PCK_CACHE 16

typedef struct chain_entry {
    bool used;
    uint8_t *chain; /* the quote's PCK chain bytes, compared whole (chain_len) */
    size_t chain_len;
    vt_time lo, hi; /* the verification result holds for any instant in (lo, hi) */
    EVP_PKEY *leaf_key;
    vt_sgx_pck_ext ext;
    char issuer[64];
    bool revocation_checked;
    bool emulated; /* the trusted root is veritee's emulated TEE */
} chain_entry;

/* Verifications run at once on one verifier (tdx.h): what they change (the PCK chain cache,
 * the TCB signing chain's verified window, and the roots, to which the pinned Intel root is
 * adopted from the first chain that carries it) is guarded by mu; the rest (collateral and
 * its signature results, the TCB signing key, the P-256 parameters) is fixed when the
 * verifier is built and read without it. */
struct vt_tdx_verifier {
    pthread_mutex_t mu;
    STACK_OF(X509) *roots; /* under mu: adopt_pinned_root may push the pinned root */
    bool pinned;
    bool allow_missing_pck_crl;
    vt_tdx_collateral coll;
    EVP_PKEY *tcb_signing_key;
    bool tcb_chain_ok;
    vt_time tcb_lo, tcb_hi;
    chain_entry pck[PCK_CACHE];
    size_t next_slot;
    vt_ec_params *ec; /* P-256 parameters: each quote's attestation key imported without building the group */
    vt_crl_memo *crl_memo; /* the root CA CRL's check, passed once, is not redone for each chain and certificate */
};

/* The cached verification of this quote's PCK chain valid at `at`, or a fresh one (verified
 * under v->mu: a cache miss is a platform's first quote in a validity window). *out is a copy
 * the caller owns (its leaf_key a reference of its own, no chain bytes): a concurrent
 * verification may evict the cached entry meanwhile. Release it with tdx_chain_entry_clear. */
vt_err tdx_pck_chain(vt_tdx_verifier *v, const vt_tdx_quote *q, vt_time at, chain_entry *out, vt_error *err);
void tdx_chain_entry_clear(chain_entry *e);
/* The TCB signing chain (issuer of TCB Info and QE Identity) at `at`, and the end of the window
 * its (cached) verification holds for. */
vt_err tdx_tcb_signing_chain(vt_tdx_verifier *v, vt_time at, vt_time *hi, vt_error *err);

#endif
