/* Policy evaluation over normalized claims: every rule becomes a named check that justifies one
 * AR4SI claim (draft-ietf-rats-ar4si §2.3 codepoints); the EAR status is derived from the
 * vector (ear.md §4). Common rules here; per-TEE rules in policy_tee.c; how a rule is recorded
 * in policy_rules.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "policy_eval.h"

static void set_miss(const ev *e, const vt_policy_set *s, char *why, size_t cap)
{
    size_t have = s->n;
    for (size_t i = 0; i < s->n_refs; i++) have += vt_refvals_count(e->x->refvals, e->c->tee, s->refs[i]);
    if (s->n_refs && have == s->n)
        snprintf(why, cap, "; reference '%s' has no values in the reference value store", s->refs[0]);
    else
        snprintf(why, cap, " (%zu allowed value%s)", have, have == 1 ? "" : "s");
}

/* Compare a claim field with an expected value: exact, or the expected value as a prefix and
 * zeros after it (the report-data / init-data padding rule of kbs-protocol.md §7.3-7.4). */
static bool padded_eq(const uint8_t *field, size_t flen, const uint8_t *want, size_t wlen, bool exact)
{
    if (exact) return flen == wlen && memcmp(field, want, flen) == 0;
    if (wlen > flen || memcmp(field, want, wlen) != 0) return false;
    for (size_t i = wlen; i < flen; i++)
        if (field[i]) return false;
    return true;
}

static void tcb_rules(ev *e)
{
    const vt_policy *p = e->p;
    const vt_claims *c = e->c;
    if (!c->has_tcb_status) {
        ev_add(e, "tcb_status", VT_CHECK_SKIP, -1, 0, "%s reports no TCB status%s", vt_tee_name(c->tee),
               vt_tee_hw(c->tee) == VT_TEE_SNP ? " (constrain snp.min_tcb / min_committed_tcb)" : "");
    } else {
        const char *st = vt_tcb_status_name(c->tcb_status);
        unsigned bit = 1u << c->tcb_status;
        if (p->tcb_allowed & bit)
            ev_add(e, "tcb_status", VT_CHECK_PASS, VT_AR4SI_HARDWARE, VT_AR4SI_AFFIRMING, "%s is allowed", st);
        else if (p->tcb_warn & bit)
            ev_add(e, "tcb_status", VT_CHECK_FAIL, VT_AR4SI_HARDWARE, VT_AR4SI_WARN,
                   "%s is accepted with a warning (tcb.warn_statuses)", st);
        else
            ev_add(e, "tcb_status", VT_CHECK_FAIL, VT_AR4SI_HARDWARE, VT_AR4SI_CONTRAINDICATED,
                   "%s is not in tcb.allowed_statuses", st);
        const char *bad = NULL;
        for (size_t i = 0; p->advisories_restricted && bad == NULL && i < c->n_advisories; i++) {
            bool ok = false;
            for (size_t k = 0; k < p->n_advisories && !ok; k++)
                ok = strcmp(p->advisories[k], "*") == 0 || strcmp(p->advisories[k], c->advisories[i]) == 0;
            if (!ok) bad = c->advisories[i];
        }
        if (bad != NULL)
            ev_add(e, "advisories", VT_CHECK_FAIL, VT_AR4SI_HARDWARE, VT_AR4SI_CONTRAINDICATED,
                   "advisory %s is not in tcb.allowed_advisories", bad);
        else
            ev_add(e, "advisories", VT_CHECK_PASS, VT_AR4SI_HARDWARE, VT_AR4SI_AFFIRMING, "%zu advisor%s%s",
                   c->n_advisories, c->n_advisories == 1 ? "y" : "ies",
                   p->advisories_restricted ? ", all allowed" : " (not restricted)");
        if (p->has_min_tcb_date) {
            char have[21], want[21];
            vt_time_format(c->tcb_date, have);
            vt_time_format(p->min_tcb_date, want);
            ev_rule(e, "tcb_date", c->tcb_date >= p->min_tcb_date, VT_AR4SI_HARDWARE, VT_AR4SI_AFFIRMING,
                    VT_AR4SI_CONTRAINDICATED, "TCB level dated %s, policy minimum %s", have, want);
        }
    }
}

static void collateral_rules(ev *e)
{
    const vt_policy *p = e->p;
    const vt_claims *c = e->c;
    bool pcs = vt_tee_hw(c->tee) == VT_TEE_TDX || c->tee == VT_TEE_SGX;
    if (c->has_collateral_expiry) {
        char t[21];
        vt_time_format(c->collateral_expiry, t);
        bool ok = c->collateral_expiry >= e->x->at &&
                  c->collateral_expiry - e->x->at >= p->min_collateral_remaining;
        ev_rule(e, "collateral_expiry", ok, VT_AR4SI_HARDWARE, VT_AR4SI_AFFIRMING, VT_AR4SI_CONTRAINDICATED,
                "collateral valid until %s (policy wants %lld s left)", t, (long long)p->min_collateral_remaining);
    }
    if (p->max_collateral_age > 0) {
        if (c->has_collateral_issued) {
            char t[21];
            vt_time_format(c->collateral_issued, t);
            ev_rule(e, "collateral_age", e->x->at - c->collateral_issued <= p->max_collateral_age,
                    VT_AR4SI_HARDWARE, VT_AR4SI_AFFIRMING, VT_AR4SI_CONTRAINDICATED,
                    "collateral issued %s, %lld s before appraisal (max %lld s)", t,
                    (long long)(e->x->at - c->collateral_issued), (long long)p->max_collateral_age);
        } else if (pcs) {
            ev_add(e, "collateral_age", VT_CHECK_FAIL, VT_AR4SI_HARDWARE, VT_AR4SI_CONTRAINDICATED,
                   "collateral issue date unknown; collateral.max_age_seconds cannot be shown");
        } else {
            ev_add(e, "collateral_age", VT_CHECK_SKIP, -1, 0, "%s uses no dated collateral", vt_tee_name(c->tee));
        }
    }
    if (p->require_revocation) {
        if (c->tee == VT_TEE_CCA)
            ev_add(e, "revocation", VT_CHECK_SKIP, -1, 0, "CCA platform keys have no revocation list");
        else
            ev_rule(e, "revocation", c->revocation_checked, VT_AR4SI_INSTANCE_IDENTITY, VT_AR4SI_AFFIRMING,
                    VT_AR4SI_CONTRAINDICATED,
                    c->tee == VT_TEE_NVIDIA ? (c->revocation_checked ? "device chain checked with OCSP responses"
                                                                     : "revocation was not checked (no OCSP response)")
                    : c->revocation_checked ? "certificates checked against CRLs"
                                            : "revocation was not checked (no CRL)");
    }
}

static void binding_rules(ev *e)
{
    const vt_policy *p = e->p;
    const vt_claims *c = e->c;
    const vt_appraise_ctx *x = e->x;
    char h[40];
    ev_hex(c->report_data, c->report_data_len < 16 ? c->report_data_len : 16, h, sizeof h);
    if (x->report_data != NULL) {
        bool ok = padded_eq(c->report_data, c->report_data_len, x->report_data, x->report_data_len,
                            p->report_data_exact);
        if (ok)
            ev_rule(e, "report_data", true, VT_AR4SI_INSTANCE_IDENTITY, VT_AR4SI_AFFIRMING,
                    VT_AR4SI_CONTRAINDICATED, "report data binds the expected %zu-byte value", x->report_data_len);
        else
            ev_rule(e, "report_data", false, VT_AR4SI_INSTANCE_IDENTITY, VT_AR4SI_AFFIRMING,
                    VT_AR4SI_CONTRAINDICATED, "report data %s... does not bind the expected %zu-byte value",
                    h, x->report_data_len);
    } else if (p->report_data_required) {
        ev_add(e, "report_data", VT_CHECK_FAIL, VT_AR4SI_INSTANCE_IDENTITY, VT_AR4SI_CONTRAINDICATED,
               "policy requires a report-data binding but no expected value (nonce) was given");
    }
    if (p->report_data.present) {
        bool ok = false;
        for (size_t i = 0; i < p->report_data.n && !ok; i++)
            ok = padded_eq(c->report_data, c->report_data_len, p->report_data.values[i].v,
                           p->report_data.values[i].len, p->report_data_exact);
        ev_rule(e, "report_data_values", ok, VT_AR4SI_INSTANCE_IDENTITY, VT_AR4SI_AFFIRMING,
                VT_AR4SI_CONTRAINDICATED, "report data %s... %s report_data.values", h, ok ? "is in" : "is not in");
    }
    if (c->init_data_len == 0) return;
    ev_hex(c->init_data, c->init_data_len < 16 ? c->init_data_len : 16, h, sizeof h);
    if (x->init_data != NULL) {
        /* the TPM kinds extend PCR8 with the digest (claims.h) */
        bool ok = vt_tee_has_tpm(c->tee) ? vt_claims_init_data_binds(c, x->init_data, x->init_data_len)
                                         : padded_eq(c->init_data, c->init_data_len, x->init_data, x->init_data_len, false);
        ev_rule(e, "init_data", ok, VT_AR4SI_CONFIGURATION, VT_AR4SI_AFFIRMING, VT_AR4SI_CONTRAINDICATED,
                "%s %s... %s the expected init-data digest", c->init_data_name, h, ok ? "binds" : "does not bind");
    } else if (p->init_data_required) {
        ev_add(e, "init_data", VT_CHECK_FAIL, VT_AR4SI_CONFIGURATION, VT_AR4SI_CONTRAINDICATED,
               "policy requires an init-data binding (%s) but no expected digest was given", c->init_data_name);
    }
    if (p->init_data.present) {
        char which[200] = "", why[120] = "";
        bool ok = false;
        for (size_t i = 0; i < p->init_data.n && !ok; i++)
            ok = vt_tee_has_tpm(c->tee)
                     ? vt_claims_init_data_binds(c, p->init_data.values[i].v, p->init_data.values[i].len)
                     : padded_eq(c->init_data, c->init_data_len, p->init_data.values[i].v, p->init_data.values[i].len,
                                 false);
        if (!ok) ok = ev_set_match(e, &p->init_data, c->init_data_name, c->init_data, c->init_data_len,
                                   which, sizeof which);
        if (!ok) set_miss(e, &p->init_data, why, sizeof why);
        ev_rule(e, "init_data_values", ok, VT_AR4SI_CONFIGURATION, VT_AR4SI_AFFIRMING, VT_AR4SI_CONTRAINDICATED,
                "%s %s... %s%s", c->init_data_name, h, ok ? "is allowed" : "is not allowed", why);
    }
}

static bool runtime_meas(const char *n)
{
    return strcmp(n, "rtmr2") == 0 || strcmp(n, "rtmr3") == 0 || strncmp(n, "rem", 3) == 0;
}

static void measurement_rules(ev *e)
{
    const vt_policy *p = e->p;
    bool runtime = false;
    for (size_t i = 0; i < p->n_rules; i++)
        runtime = runtime || (runtime_meas(p->rules[i].name) && vt_claims_meas(e->c, p->rules[i].name));
    for (size_t i = 0; i < p->n_rules; i++) {
        const vt_policy_rule *r = &p->rules[i];
        const vt_measurement *m = vt_claims_meas(e->c, r->name);
        char name[48];
        snprintf(name, sizeof name, "measurement.%s", r->name);
        if (m == NULL) {
            ev_add(e, name, VT_CHECK_SKIP, -1, 0, "%s does not report %s", vt_tee_name(e->c->tee), r->name);
            continue;
        }
        bool cfg = pol_config_measurement(r->name);
        bool hw = strcmp(r->name, "mr_seam") == 0 || strcmp(r->name, "mr_signer_seam") == 0;
        int claim = cfg ? VT_AR4SI_CONFIGURATION : hw ? VT_AR4SI_HARDWARE : VT_AR4SI_EXECUTABLES;
        int good = claim == VT_AR4SI_EXECUTABLES && !runtime ? VT_AR4SI_BOOT_ONLY : VT_AR4SI_AFFIRMING;
        char which[200] = "", why[120] = "", h[40];
        bool ok = ev_set_match(e, &r->set, r->name, m->value, m->len, which, sizeof which);
        if (!ok) set_miss(e, &r->set, why, sizeof why);
        ev_hex(m->value, m->len < 16 ? m->len : 16, h, sizeof h);
        ev_rule(e, name, ok, claim, good, VT_AR4SI_CONTRAINDICATED, "%s %s... %s%s%s", r->name, h,
                ok ? "matches " : "is not allowed", ok ? which : "", why);
    }
}

/* No member may follow the check entries but their count: the reset below leaves out only them. */
_Static_assert(offsetof(vt_appraisal, n_checks) - offsetof(vt_appraisal, checks) -
                       sizeof(((vt_appraisal *)0)->checks) < _Alignof(size_t) &&
                   offsetof(vt_appraisal, n_checks) + sizeof(size_t) == sizeof(vt_appraisal),
               "vt_appraisal must end with checks, n_checks");

/* Empty, without writing the 18 KiB of check entries: every entry below n_checks is zeroed and
 * written when it is added (policy_rules.c), and none past it is read. */
void vt_appraisal_init(vt_appraisal *a)
{
    memset(a, 0, offsetof(vt_appraisal, checks));
    a->n_checks = 0;
}

vt_err vt_policy_appraise(const vt_policy *p, const vt_claims *c, const vt_appraise_ctx *ctx,
                          vt_appraisal *out, vt_error *err)
{
    if (p == NULL || c == NULL || ctx == NULL || out == NULL)
        return vt_error_set(err, VT_E_ARG, "appraise", "policy, claims, context and result are required");
    vt_appraisal_init(out);
    snprintf(out->policy_id, sizeof out->policy_id, "%s", p->id);
    ev e = {p, c, ctx, out};
    const char *tee = vt_tee_name(c->tee);
    ev_rule(&e, "verified", c->verified, VT_AR4SI_INSTANCE_IDENTITY, VT_AR4SI_AFFIRMING, VT_AR4SI_CRYPTO_FAILED,
            c->verified ? "%s evidence signature and key chain verified" : "%s evidence was not verified", tee);
    bool gpu = c->tee == VT_TEE_NVIDIA;
    /* tee_types names CPU TEEs; a GPU beside them is governed by the nvidia section */
    if (gpu)
        ev_add(&e, "tee_type", VT_CHECK_PASS, VT_AR4SI_HARDWARE, VT_AR4SI_AFFIRMING,
               "NVIDIA GPU (appraised by the policy's nvidia rules)");
    else
        ev_rule(&e, "tee_type", p->tee_mask == 0 || (p->tee_mask & (1u << c->tee)), VT_AR4SI_HARDWARE,
                VT_AR4SI_AFFIRMING, VT_AR4SI_CONTRAINDICATED, "%s %s", tee,
                p->tee_mask == 0 ? "(policy allows any TEE)" : (p->tee_mask & (1u << c->tee)) ? "is in tee_types" : "is not in tee_types");
    if (!c->emulated)
        ev_add(&e, "emulated", VT_CHECK_PASS, VT_AR4SI_HARDWARE, VT_AR4SI_AFFIRMING, "hardware TEE");
    else if (p->emulated == VT_POLICY_EMULATED_ACCEPT)
        ev_add(&e, "emulated", VT_CHECK_PASS, VT_AR4SI_HARDWARE, VT_AR4SI_AFFIRMING,
               "EMULATED TEE accepted by the policy (\"emulated\": \"accept\"): not hardware-backed");
    else if (p->emulated == VT_POLICY_EMULATED_WARN)
        ev_add(&e, "emulated", VT_CHECK_FAIL, VT_AR4SI_HARDWARE, VT_AR4SI_WARN,
               "emulated TEE: genuine hardware not shown (\"emulated\": \"warn\")");
    else
        ev_add(&e, "emulated", VT_CHECK_FAIL, VT_AR4SI_HARDWARE, VT_AR4SI_UNRECOGNISED,
               "emulated TEE rejected by the policy (test setups: \"emulated\": \"accept\" admits it)");
    tcb_rules(&e);
    collateral_rules(&e);
    /* a TPM quote says nothing about memory encryption: only a hardware TEE earns the claim; a
     * GPU's is its CC mode (policy_gpu.c) */
    int ro = c->emulated || gpu || c->tee == VT_TEE_TPM ? -1 : VT_AR4SI_RUNTIME_OPAQUE;
    if (!c->debug) {
        ev_add(&e, "debug", VT_CHECK_PASS, VT_AR4SI_CONFIGURATION, VT_AR4SI_AFFIRMING, "debug disabled");
        if (ro >= 0) ev_add(&e, "runtime_opaque", VT_CHECK_PASS, ro, VT_AR4SI_AFFIRMING,
                            "memory encrypted and isolated by the %s TEE", tee);
    } else {
        int v = p->allow_debug ? VT_AR4SI_WARN : VT_AR4SI_CONTRAINDICATED;
        ev_add(&e, "debug", VT_CHECK_FAIL, VT_AR4SI_CONFIGURATION, v, "debug ENABLED%s",
               p->allow_debug ? " (allowed by allow_debug, as a warning)" : "; the policy forbids it");
        if (ro >= 0) ev_add(&e, "runtime_opaque", VT_CHECK_FAIL, ro, v, "a debug %s guest is readable by the host", tee);
    }
    binding_rules(&e);
    measurement_rules(&e);
    ev_tee_rules(&e);
    ev_tpm_rules(&e);
    out->status = vt_ar4si_status(&out->vector);
    return VT_OK;
}

void vt_appraisal_rejected(const char *policy_id, const vt_error *verr, vt_appraisal *out)
{
    vt_appraisal_init(out);
    snprintf(out->policy_id, sizeof out->policy_id, "%s", policy_id ? policy_id : "");
    for (int i = 0; i < VT_AR4SI_COUNT; i++) out->vector.v[i] = VT_AR4SI_CRYPTO_FAILED;
    vt_appraisal_check *k = &out->checks[out->n_checks++];
    memset(k, 0, sizeof *k);
    snprintf(k->name, sizeof k->name, "verification");
    k->status = VT_CHECK_FAIL;
    k->claim = VT_AR4SI_INSTANCE_IDENTITY;
    k->value = VT_AR4SI_CRYPTO_FAILED;
    snprintf(k->detail, sizeof k->detail, "%.40s%s%.190s", verr && verr->check[0] ? verr->check : "",
             verr && verr->check[0] ? ": " : "", verr ? verr->msg : "evidence not verified");
    out->status = VT_EAR_CONTRAINDICATED;
}
