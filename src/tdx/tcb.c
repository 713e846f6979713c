/* TCB level matching and status merging, as Intel's QVL/QvE evaluate TCB Info v3 and
 * Enclave Identity v2 (QuoteVerification: getMatchingTcbLevel, checkTdxModule,
 * convergeTcbStatusWithQeTcbStatus). */
#include <stdio.h>
#include <string.h>

#include "tdx_internal.h"

static bool tdx_components_ok(const vt_tcb_level *lv, const vt_tdx_quote *q)
{
    const uint8_t *svn = q->td.tee_tcb_svn;
    /* With a TDX module identity (TEE_TCB_SVN[1] > 0) bytes 0 and 1 are judged through
     * tdxModuleIdentities instead (QvE, quote version > 3). */
    size_t start = (q->version > 3 && svn[1] > 0) ? 2 : 0;
    for (size_t i = start; i < 16; i++)
        if (svn[i] < lv->tdx_comp[i]) return false;
    return true;
}

vt_err tdx_match_tcb_level(const vt_tcb_info *ti, const vt_sgx_pck_ext *pck, const vt_tdx_quote *q,
                           const vt_tcb_level **out, vt_error *err)
{
    bool td = vt_tdx_quote_is_td(q);
    for (size_t i = 0; i < ti->n_levels; i++) {
        const vt_tcb_level *lv = &ti->levels[i];
        bool ok = pck->pce_svn >= lv->pce_svn;
        for (size_t k = 0; ok && k < 16; k++) ok = pck->comp_svn[k] >= lv->sgx_comp[k];
        if (ok && td) ok = tdx_components_ok(lv, q);
        if (ok) {
            *out = lv;
            return VT_OK;
        }
    }
    return vt_error_set(err, VT_E_NO_TCB, "tcb_level",
                        "no TCB level of TCB Info (FMSPC %02x%02x%02x%02x%02x%02x) matches the platform: "
                        "PCESVN %u, SGX components %u,%u,%u,%u,%u,%u,%u,%u,...",
                        pck->fmspc[0], pck->fmspc[1], pck->fmspc[2], pck->fmspc[3], pck->fmspc[4],
                        pck->fmspc[5], pck->pce_svn, pck->comp_svn[0], pck->comp_svn[1],
                        pck->comp_svn[2], pck->comp_svn[3], pck->comp_svn[4], pck->comp_svn[5],
                        pck->comp_svn[6], pck->comp_svn[7]);
}

static bool masked_eq(const uint8_t *a, const uint8_t *b, const uint8_t *mask, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((a[i] & mask[i]) != (b[i] & mask[i])) return false;
    return true;
}

vt_err tdx_match_module(const vt_tcb_info *ti, const vt_td_report *td, bool *has,
                        const vt_isv_level **out, vt_error *err)
{
    *has = false;
    uint8_t version = td->tee_tcb_svn[1];
    if (version == 0) {
        if (!ti->has_tdx_module)
            return vt_error_set(err, VT_E_INVALID, "tdx_module", "TDX TCB Info has no tdxModule entry");
        if (memcmp(td->mr_signer_seam, ti->tdx_module_mr_signer, 48) != 0)
            return vt_error_set(err, VT_E_VERIFY, "tdx_module", "MRSIGNERSEAM does not match tcbInfo.tdxModule.mrsigner");
        if (!masked_eq(td->seam_attributes, ti->tdx_module_attributes, ti->tdx_module_attributes_mask, 8))
            return vt_error_set(err, VT_E_VERIFY, "tdx_module", "SEAMATTRIBUTES do not match tcbInfo.tdxModule");
        return VT_OK;
    }
    /* Major version > 0: the TCB level match skipped bytes 0-1 of TEE_TCB_SVN, so the module
     * must be judged here. A TCB Info without an identity for this version cannot describe it:
     * a TCB Info mismatch (QVL TdxModuleCheck), never a silent pass. */
    char id[16];
    snprintf(id, sizeof id, "TDX_%02X", version);
    for (size_t i = 0; i < ti->n_modules; i++) {
        const vt_tdx_module_identity *m = &ti->modules[i];
        if (strcmp(m->id, id) != 0) continue;
        if (memcmp(td->mr_signer_seam, m->mr_signer, 48) != 0)
            return vt_error_set(err, VT_E_VERIFY, "tdx_module", "MRSIGNERSEAM does not match module identity %s", id);
        if (!masked_eq(td->seam_attributes, m->attributes, m->attributes_mask, 8))
            return vt_error_set(err, VT_E_VERIFY, "tdx_module", "SEAMATTRIBUTES do not match module identity %s", id);
        for (size_t k = 0; k < m->n_levels; k++)
            if (m->levels[k].isv_svn <= td->tee_tcb_svn[0]) {
                *has = true;
                *out = &m->levels[k];
                return VT_OK;
            }
        return vt_error_set(err, VT_E_NO_TCB, "tdx_module",
                            "no TCB level of module identity %s for TDX module SVN %u", id, td->tee_tcb_svn[0]);
    }
    return vt_error_set(err, VT_E_VERIFY, "tdx_module",
                        "TCB Info mismatch: TDX module major version %u (TEE_TCB_SVN[1]) has no module identity %s in the "
                        "TCB Info%s", version, id, ti->n_modules == 0 ? " (it lists no tdxModuleIdentities)" : "");
}

vt_err tdx_match_qe_identity(const vt_qe_identity *qi, const vt_sgx_report *qe,
                             const vt_isv_level **out, vt_error *err)
{
    if (memcmp(qe->mr_signer, qi->mr_signer, 32) != 0)
        return vt_error_set(err, VT_E_VERIFY, "qe_identity", "QE MRSIGNER does not match the %s identity", qi->id);
    if (qe->isv_prod_id != qi->isv_prod_id)
        return vt_error_set(err, VT_E_VERIFY, "qe_identity", "QE ISVPRODID %u, identity expects %u",
                            qe->isv_prod_id, qi->isv_prod_id);
    if ((qe->misc_select & qi->misc_select_mask) != (qi->misc_select & qi->misc_select_mask))
        return vt_error_set(err, VT_E_VERIFY, "qe_identity", "QE MISCSELECT 0x%08x does not match under mask 0x%08x",
                            qe->misc_select, qi->misc_select_mask);
    if (!masked_eq(qe->attributes, qi->attributes, qi->attributes_mask, 16))
        return vt_error_set(err, VT_E_VERIFY, "qe_identity", "QE ATTRIBUTES do not match under the identity's mask");
    for (size_t i = 0; i < qi->n_levels; i++)
        if (qi->levels[i].isv_svn <= qe->isv_svn) {
            *out = &qi->levels[i];
            return VT_OK;
        }
    return vt_error_set(err, VT_E_NO_TCB, "qe_identity", "no QE Identity level for QE ISVSVN %u", qe->isv_svn);
}

vt_tcb_status tdx_converge(vt_tcb_status platform, vt_tcb_status other)
{
    if (other == VT_TCB_REVOKED) return VT_TCB_REVOKED;
    if (other != VT_TCB_OUT_OF_DATE) return platform;
    switch (platform) {
    case VT_TCB_UP_TO_DATE:
    case VT_TCB_SW_HARDENING_NEEDED: return VT_TCB_OUT_OF_DATE;
    case VT_TCB_CONFIGURATION_NEEDED:
    case VT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED: return VT_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
    default: return platform;
    }
}
