/* DCAP quote verification: every step of Intel's QVL as a named check, in the order the
 * quote is trusted (header, signatures, PCK chain, QE identity, TCB Info, freshness). */
#include <stdio.h>
#include <string.h>

#include "tdx_internal.h"
#include "veritee/crypto.h"
#include "veritee/x509.h"

static vt_err check_header(const vt_tdx_quote *q, vt_error *err)
{
    if (q->att_key_type != VT_TDX_ATT_KEY_ECDSA_P256)
        return vt_error_set(err, VT_E_UNSUPPORTED, "header", "attestation key type %u is not ECDSA-256-with-P-256 (2)",
                            q->att_key_type);
    if (memcmp(q->qe_vendor_id, VT_TDX_INTEL_QE_VENDOR_ID, 16) != 0)
        return vt_error_set(err, VT_E_VERIFY, "header", "QE vendor id is not Intel's");
    return VT_OK;
}

static vt_err check_binding(const vt_tdx_quote *q, vt_error *err)
{
    uint8_t h[32];
    VT_GUARD(vt_hash2(VT_SHA256, q->attest_key, 64, q->qe_auth_data.ptr, q->qe_auth_data.len, h, err));
    if (!vt_ct_eq(h, q->qe_report.report_data, 32) || !vt_bytes_is_zero(q->qe_report.report_data + 32, 32))
        return vt_error_set(err, VT_E_VERIFY, "qe_report_binding",
                            "QE report data does not bind the attestation key (SHA-256(key || auth data))");
    return VT_OK;
}

static void hex6(const uint8_t *p, char out[13])
{
    snprintf(out, 13, "%02x%02x%02x%02x%02x%02x", p[0], p[1], p[2], p[3], p[4], p[5]);
}

/* The QE Identity for this quote's kind (TD_QE for TDX, QE for SGX). One of the other kind is
 * an inconsistent input (rejected); none at all is missing collateral. */
static vt_err find_qe_identity(const vt_tdx_verifier *v, bool td, const vt_qe_identity **out, vt_error *err)
{
    const char *want = td ? "TD_QE" : "QE";
    for (size_t i = 0; i < v->coll.n_qe_identities; i++)
        if (strcmp(v->coll.qe_identities[i].id, want) == 0) {
            *out = &v->coll.qe_identities[i];
            return VT_OK;
        }
    if (v->coll.n_qe_identities > 0)
        return vt_error_set(err, VT_E_VERIFY, "qe_identity_signature", "QE Identity is for %s, a%s quote needs %s",
                            v->coll.qe_identities[0].id, td ? " TDX" : "n SGX", want);
    return vt_error_set(err, VT_E_MISSING, "qe_identity_signature", "%s Identity missing from the collateral (qe_identity.json)", want);
}

/* The TCB Info of the PCK certificate's FMSPC and the quote's kind. A TCB Info that exists but
 * describes another FMSPC or the other kind is an inconsistent input (rejected); only when the
 * collateral holds no TCB Info at all is it missing. */
static vt_err find_tcb_info(const vt_tdx_verifier *v, const uint8_t fmspc[6], bool td, const vt_tcb_info **out,
                            vt_error *err)
{
    const char *want = td ? "TDX" : "SGX";
    const vt_tcb_info *other_kind = NULL;
    for (size_t i = 0; i < v->coll.n_tcb_infos; i++) {
        const vt_tcb_info *t = &v->coll.tcb_infos[i];
        if (memcmp(t->fmspc, fmspc, 6) != 0) continue;
        if (strcmp(t->id, want) == 0) {
            *out = t;
            return VT_OK;
        }
        other_kind = t;
    }
    char fm[13], got[13];
    hex6(fmspc, fm);
    if (other_kind != NULL)
        return vt_error_set(err, VT_E_VERIFY, "tcb_info_signature", "TCB Info for FMSPC %s has id %s, a%s quote needs %s", fm,
                            other_kind->id, td ? " TDX" : "n SGX", want);
    if (v->coll.n_tcb_infos > 0) {
        hex6(v->coll.tcb_infos[0].fmspc, got);
        return vt_error_set(err, VT_E_VERIFY, "tcb_info_signature",
                            "TCB Info is for FMSPC %s%s, the PCK certificate's FMSPC is %s", got,
                            v->coll.n_tcb_infos > 1 ? " (and others)" : "", fm);
    }
    return vt_error_set(err, VT_E_MISSING, "tcb_info_signature", "%s TCB Info for FMSPC %s missing from the collateral (tcbinfo_%s.json)",
                        want, fm, fm);
}

static vt_err signed_item(bool ok, bool have_key, const char *what, const char *check, vt_error *err)
{
    if (ok) return VT_OK;
    if (!have_key)
        return vt_error_set(err, VT_E_MISSING, check, "%s cannot be checked: TCB signing chain missing", what);
    return vt_error_set(err, VT_E_VERIFY, check, "%s signature does not verify with the TCB Signing certificate", what);
}

/* issueDate..nextUpdate under the library's one validity rule (vt_valid_at: inclusive). */
static vt_err fresh(const char *what, vt_time issue, vt_time next, vt_time at, vt_error *err)
{
    return vt_window_check(what, issue, next, at, err);
}

static void add_advisories(vt_tdx_result *r, const json_t *adv)
{
    size_t i;
    json_t *x;
    json_array_foreach(adv, i, x)
    {
        const char *s = json_string_value(x);
        bool dup = false;
        for (size_t k = 0; k < r->n_advisory_ids && !dup; k++) dup = strcmp(r->advisory_ids[k], s) == 0;
        if (!dup && r->n_advisory_ids < VT_TDX_MAX_ADVISORIES)
            snprintf(r->advisory_ids[r->n_advisory_ids++], sizeof r->advisory_ids[0], "%s", s);
    }
}

/* Steps after the quote's own signatures: collateral and TCB evaluation. */
static vt_err evaluate_tcb(vt_tdx_verifier *v, vt_tdx_result *r, vt_time at, vt_error *err)
{
    vt_checks *ck = &r->checks;
    const vt_tdx_quote *q = &r->quote;
    bool td = vt_tdx_quote_is_td(q);
    char d[200], fm[13];
    hex6(r->pck.fmspc, fm);

    const vt_qe_identity *qi = NULL;
    const vt_tcb_info *ti = NULL;
    vt_time tcb_hi = INT64_MAX;
    VT_GUARD(vt_check_step(ck, err, "tcb_signing_chain", tdx_tcb_signing_chain(v, at, &tcb_hi, err),
                           "collateral signer is the Intel SGX TCB Signing certificate (chain [TCB Signing, Root]), "
                           "chains to the trusted root; root CA CRL consulted"));
    vt_err rc = find_qe_identity(v, td, &qi, err);
    if (rc != VT_OK) return vt_check_step(ck, err, "qe_identity_signature", rc, "%s", "");
    rc = signed_item(qi->signature_ok, v->tcb_signing_key != NULL, "QE Identity", "qe_identity_signature", err);
    VT_GUARD(vt_check_step(ck, err, "qe_identity_signature", rc, "QE Identity signed by Intel SGX TCB Signing"));
    rc = find_tcb_info(v, r->pck.fmspc, td, &ti, err);
    if (rc != VT_OK) return vt_check_step(ck, err, "tcb_info_signature", rc, "%s", "");
    rc = signed_item(ti->signature_ok, v->tcb_signing_key != NULL, "TCB Info", "tcb_info_signature", err);
    VT_GUARD(vt_check_step(ck, err, "tcb_info_signature", rc, "TCB Info signed by Intel SGX TCB Signing"));
    rc = fresh("TCB Info", ti->issue_date, ti->next_update, at, err);
    if (rc == VT_OK) rc = fresh("QE Identity", qi->issue_date, qi->next_update, at, err);
    char nu[21];
    vt_time_format(tmin_time(ti->next_update, qi->next_update), nu);
    snprintf(d, sizeof d, "TCB Info and QE Identity valid until %s", nu);
    VT_GUARD(vt_check_step(ck, err, "collateral_freshness", rc, "%s", d));
    r->collateral_expiry = tmin_time(r->collateral_expiry, tmin_time(ti->next_update, qi->next_update));
    r->collateral_expiry = tmin_time(r->collateral_expiry, tcb_hi);

    const vt_isv_level *ql = NULL;
    rc = tdx_match_qe_identity(qi, &q->qe_report, &ql, err);
    if (rc == VT_OK) {
        r->qe_status = ql->status;
        snprintf(d, sizeof d, "%s MRSIGNER/ISVPRODID/MISCSELECT/ATTRIBUTES match; ISVSVN %u -> %s", qi->id,
                 q->qe_report.isv_svn, vt_tcb_status_name(ql->status));
    }
    VT_GUARD(vt_check_step(ck, err, "qe_identity", rc, "%s", d));

    rc = memcmp(ti->pce_id, r->pck.pce_id, 2) == 0
             ? VT_OK
             : vt_error_set(err, VT_E_VERIFY, "tcb_info", "TCB Info PCE ID %02x%02x differs from the PCK certificate's %02x%02x",
                            ti->pce_id[0], ti->pce_id[1], r->pck.pce_id[0], r->pck.pce_id[1]);
    snprintf(d, sizeof d, "%s TCB Info v%d for FMSPC %s, PCE ID %02x%02x, evaluation data number %lld", ti->id,
             ti->version, fm, ti->pce_id[0], ti->pce_id[1], (long long)ti->tcb_eval_num);
    VT_GUARD(vt_check_step(ck, err, "tcb_info", rc, "%s", d));

    const vt_tcb_level *lv = NULL;
    rc = tdx_match_tcb_level(ti, &r->pck, q, &lv, err);
    if (rc == VT_OK) {
        char date[21];
        vt_time_format(lv->tcb_date, date);
        r->platform_status = lv->status;
        r->tcb_date = lv->tcb_date;
        snprintf(d, sizeof d, "level of %s matches: %s", date, vt_tcb_status_name(lv->status));
    }
    VT_GUARD(vt_check_step(ck, err, "tcb_level", rc, "%s", d));
    add_advisories(r, lv->advisory_ids);

    vt_tcb_status st = tdx_converge(lv->status, r->qe_status);
    if (td) {
        const vt_isv_level *ml = NULL;
        rc = tdx_match_module(ti, &q->td, &r->has_module_status, &ml, err);
        if (rc == VT_OK && r->has_module_status) {
            r->module_status = ml->status;
            snprintf(d, sizeof d, "module TDX_%02X SVN %u -> %s", q->td.tee_tcb_svn[1], q->td.tee_tcb_svn[0],
                     vt_tcb_status_name(ml->status));
            add_advisories(r, ml->advisory_ids);
            st = tdx_converge(st, ml->status);
        } else if (rc == VT_OK) {
            snprintf(d, sizeof d, "MRSIGNERSEAM and SEAMATTRIBUTES match tcbInfo.tdxModule");
        }
        VT_GUARD(vt_check_step(ck, err, "tdx_module", rc, "%s", d));
    }
    add_advisories(r, ql->advisory_ids);
    r->tcb_status = st;
    snprintf(d, sizeof d, "%s (platform %s, QE %s%s%s)", vt_tcb_status_name(st), vt_tcb_status_name(r->platform_status),
             vt_tcb_status_name(r->qe_status), r->has_module_status ? ", module " : "",
             r->has_module_status ? vt_tcb_status_name(r->module_status) : "");
    rc = st == VT_TCB_REVOKED ? vt_error_set(err, VT_E_REVOKED, "tcb_status", "TCB status is Revoked") : VT_OK;
    return vt_check_step(ck, err, "tcb_status", rc, "%s", d);
}

/* REPORTDATA against the caller's expected value: the value, then zeros to 64 bytes. */
static vt_err check_report_data(const vt_tdx_quote *q, const vt_tdx_verify_opts *o, vt_checks *ck, vt_error *err)
{
    if (o->report_data == NULL) {
        vt_check_skip(ck, "report_data", "no expected REPORTDATA given");
        return VT_OK;
    }
    size_t n = o->report_data_len;
    vt_err rc = VT_OK;
    const uint8_t *rd = vt_tdx_quote_is_td(q) ? q->td.report_data : q->enclave.report_data;
    if (n == 0 || n > 64)
        rc = vt_error_set(err, VT_E_ARG, "report_data", "expected REPORTDATA has %zu bytes (1..64 allowed)", n);
    else if (!vt_ct_eq(rd, o->report_data, n) || !vt_bytes_is_zero(rd + n, 64 - n))
        rc = vt_error_set(err, VT_E_VERIFY, "report_data", "REPORTDATA does not hold the expected %zu-byte value%s", n,
                          n < 64 ? " (zero-padded to 64 bytes)" : "");
    char d[80];
    snprintf(d, sizeof d, "REPORTDATA = expected value (%zu bytes%s)", n, n < 64 ? ", zero-padded" : "");
    return vt_check_step(ck, err, "report_data", rc, "%s", d);
}

/* Steps that rest on the verified PCK chain e: the QE report, the binding, REPORTDATA, then
 * collateral and TCB. */
static vt_err after_pck_chain(vt_tdx_verifier *v, vt_tdx_result *r, const chain_entry *e, const vt_tdx_verify_opts *o,
                              vt_error *err)
{
    vt_checks *ck = &r->checks;
    const vt_tdx_quote *q = &r->quote;
    if (!e->revocation_checked)
        vt_check_skip(ck, "pck_revocation",
                      "no PCK CRL for \"%s\": revocation of the PCK certificate unknown (allowed by caller)", e->issuer);
    vt_err rc = vt_ecdsa_verify_raw(e->leaf_key, VT_SHA256, q->qe_report_raw.ptr, q->qe_report_raw.len,
                                    q->qe_report_sig, 64, "QE report signature", err);
    VT_GUARD(vt_check_step(ck, err, "qe_report_signature", rc, "QE report verifies with the PCK certificate key"));
    VT_GUARD(vt_check_step(ck, err, "qe_report_binding", check_binding(q, err),
                           "QE report data = SHA-256(attestation key || QE auth data)"));
    VT_GUARD(check_report_data(q, o, ck, err));
    return evaluate_tcb(v, r, o->at, err);
}

vt_err vt_tdx_verify(vt_tdx_verifier *v, const uint8_t *quote, size_t len, vt_time at,
                     vt_tdx_result *r, vt_error *err)
{
    vt_tdx_verify_opts o = {.at = at};
    return vt_tdx_verify_with(v, quote, len, &o, r, err);
}

vt_err vt_tdx_verify_with(vt_tdx_verifier *v, const uint8_t *quote, size_t len, const vt_tdx_verify_opts *o,
                          vt_tdx_result *r, vt_error *err)
{
    vt_time at = o->at;
    memset(r, 0, sizeof *r);
    r->collateral_expiry = INT64_MAX;
    vt_checks *ck = &r->checks;
    vt_tdx_quote *q = &r->quote;
    char d[200];
    VT_GUARD(vt_check_step(ck, err, "parse", vt_tdx_quote_parse(quote, len, q, err),
                           "quote structure well-formed"));
    snprintf(d, sizeof d, "quote v%u, %s, ECDSA-256 attestation key, Intel QE", q->version,
             vt_tdx_quote_is_td(q) ? "TDX" : "SGX");
    VT_GUARD(vt_check_step(ck, err, "header", check_header(q, err), "%s", d));

    EVP_PKEY *ak = NULL;
    vt_err rc = vt_ec_pub_from_xy_with(v->ec, VT_P256, q->attest_key, 64, &ak, err);
    if (rc == VT_OK)
        rc = vt_ecdsa_verify_raw(ak, VT_SHA256, q->signed_region.ptr, q->signed_region.len, q->signature, 64,
                                 "quote signature", err);
    EVP_PKEY_free(ak);
    VT_GUARD(vt_check_step(ck, err, "quote_signature", rc,
                           "signed header and body verify with the attestation key"));

    chain_entry e = {0}; /* a copy: the cached entry may be evicted by a concurrent verification */
    rc = tdx_pck_chain(v, q, at, &e, err);
    if (rc == VT_OK) {
        snprintf(d, sizeof d, "PCK certificate (issuer \"%s\") chains to the %s; %s", e.issuer,
                 e.emulated ? "EMULATED root (test evidence)" : "Intel SGX Root CA",
                 e.revocation_checked ? "PCK CRL and root CA CRL consulted" : "root CA CRL consulted");
        r->pck = e.ext;
        snprintf(r->pck_issuer, sizeof r->pck_issuer, "%s", e.issuer);
        r->revocation_checked = e.revocation_checked;
        r->emulated = e.emulated;
        r->collateral_expiry = e.hi;
    }
    VT_GUARD(vt_check_step(ck, err, "pck_chain", rc, "%s", d));
    rc = after_pck_chain(v, r, &e, o, err);
    tdx_chain_entry_clear(&e);
    return rc;
}
