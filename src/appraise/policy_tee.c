/* Per-TEE policy rules: TDX attributes/XFAM/TEE_TCB_SVN, SGX attributes and ISV identity,
 * SNP guest policy, VMPL, TCB components and firmware (SNP ABI spec, ATTESTATION_REPORT),
 * CCA lifecycle, profile and reference values (RMM A7.2). */
#include <stdio.h>
#include <string.h>

#include "policy_eval.h"
#include "veritee/writer.h"

static bool mask_ok(const vt_policy_mask *m, const uint8_t *field)
{
    for (size_t i = 0; i < m->len; i++)
        if ((field[i] & m->mask[i]) != m->value[i]) return false;
    return true;
}

static void mask_rule(ev *e, const char *name, const vt_policy_mask *m, uint64_t v)
{
    if (!m->present) return;
    uint8_t b[8];
    vt_put_le(b, v, 8);
    ev_rule(e, name, mask_ok(m, b), VT_AR4SI_CONFIGURATION, VT_AR4SI_AFFIRMING, VT_AR4SI_CONTRAINDICATED,
            "%s 0x%016llx %s the policy mask", name, (unsigned long long)v,
            mask_ok(m, b) ? "satisfies" : "violates");
}

static void tdx_rules(ev *e)
{
    const vt_policy *p = e->p;
    const vt_claims_tdx *x = &e->c->u.tdx;
    mask_rule(e, "td_attributes", &p->td_attributes, x->td_attributes);
    mask_rule(e, "xfam", &p->xfam, x->xfam);
    if (p->has_min_tee_tcb_svn) {
        int bad = -1;
        for (int i = 0; i < 16 && bad < 0; i++)
            if (x->tee_tcb_svn[i] < p->min_tee_tcb_svn[i]) bad = i;
        char h[40];
        ev_hex(x->tee_tcb_svn, 16, h, sizeof h);
        ev_rule(e, "tee_tcb_svn", bad < 0, VT_AR4SI_HARDWARE, VT_AR4SI_AFFIRMING, VT_AR4SI_CONTRAINDICATED,
                bad < 0 ? "TEE_TCB_SVN %s meets the minimum" : "TEE_TCB_SVN %s is below the minimum at byte %d",
                h, bad);
    }
}

static void sgx_rules(ev *e)
{
    const vt_policy *p = e->p;
    const vt_claims_sgx *x = &e->c->u.sgx;
    if (p->sgx_attributes.present) {
        bool ok = mask_ok(&p->sgx_attributes, x->attributes);
        char h[40];
        ev_hex(x->attributes, 16, h, sizeof h);
        ev_rule(e, "sgx_attributes", ok, VT_AR4SI_CONFIGURATION, VT_AR4SI_AFFIRMING, VT_AR4SI_CONTRAINDICATED,
                "ATTRIBUTES %s %s the policy mask", h, ok ? "satisfies" : "violates");
    }
    mask_rule(e, "misc_select", &p->misc_select, x->misc_select);
    if (p->n_sgx_isv_prod_ids) {
        bool ok = false;
        for (size_t i = 0; i < p->n_sgx_isv_prod_ids && !ok; i++) ok = p->sgx_isv_prod_ids[i] == x->isv_prod_id;
        ev_rule(e, "isv_prod_id", ok, VT_AR4SI_EXECUTABLES, VT_AR4SI_AFFIRMING, VT_AR4SI_CONTRAINDICATED,
                "ISVPRODID %u %s", x->isv_prod_id, ok ? "is allowed" : "is not in sgx.isv_prod_ids");
    }
    if (p->min_isv_svn >= 0)
        ev_rule(e, "isv_svn", x->isv_svn >= p->min_isv_svn, VT_AR4SI_EXECUTABLES, VT_AR4SI_AFFIRMING,
                VT_AR4SI_CONTRAINDICATED, "ISVSVN %u, policy minimum %lld", x->isv_svn, (long long)p->min_isv_svn);
}

static void snp_tcb_rule(ev *e, const char *name, const vt_policy_snp_tcb *m, const vt_snp_tcb *t)
{
    if (!m->present) return;
    const char *bad = NULL;
    int have = 0, want = 0;
    struct { const char *n; int want, have; } f[] = {
        {"fmc", m->fmc, t->has_fmc ? t->fmc : -1}, {"bootloader", m->bootloader, t->boot_loader},
        {"tee", m->tee, t->tee}, {"snp", m->snp, t->snp}, {"microcode", m->microcode, t->microcode}};
    for (size_t i = 0; i < sizeof f / sizeof f[0] && bad == NULL; i++) {
        if (f[i].want < 0) continue;
        if (f[i].have < 0 && strcmp(f[i].n, "fmc") == 0) continue; /* no FMC before Turin */
        if (f[i].have < f[i].want) {
            bad = f[i].n;
            have = f[i].have;
            want = f[i].want;
        }
    }
    if (bad)
        ev_add(e, name, VT_CHECK_FAIL, VT_AR4SI_HARDWARE, VT_AR4SI_CONTRAINDICATED,
               "%s SVN %d is below the policy minimum %d", bad, have, want);
    else
        ev_add(e, name, VT_CHECK_PASS, VT_AR4SI_HARDWARE, VT_AR4SI_AFFIRMING,
               "bl %u tee %u snp %u microcode %u meet the minimum", t->boot_loader, t->tee, t->snp, t->microcode);
}

static int fw_cmp(vt_snp_fw_version a, vt_snp_fw_version b)
{
    int x = a.major << 16 | a.minor << 8 | a.build, y = b.major << 16 | b.minor << 8 | b.build;
    return x < y ? -1 : x > y;
}

static void snp_rules(ev *e)
{
    const vt_policy *p = e->p;
    const vt_claims_snp *x = &e->c->u.snp;
    mask_rule(e, "snp_policy", &p->snp_policy, x->policy);
    mask_rule(e, "platform_info", &p->snp_platform_info, x->platform_info);
    if (p->snp_max_vmpl >= 0)
        ev_rule(e, "vmpl", x->vmpl <= p->snp_max_vmpl, VT_AR4SI_CONFIGURATION, VT_AR4SI_AFFIRMING,
                VT_AR4SI_CONTRAINDICATED, "VMPL %u, policy maximum %lld", x->vmpl, (long long)p->snp_max_vmpl);
    snp_tcb_rule(e, "reported_tcb", &p->snp_min_tcb, &x->reported_tcb);
    snp_tcb_rule(e, "committed_tcb", &p->snp_min_committed_tcb, &x->committed_tcb);
    if (p->has_snp_min_firmware) {
        vt_snp_fw_version h = x->committed_version, w = p->snp_min_firmware;
        ev_rule(e, "firmware", fw_cmp(h, w) >= 0, VT_AR4SI_HARDWARE, VT_AR4SI_AFFIRMING, VT_AR4SI_CONTRAINDICATED,
                "committed firmware %u.%u.%u, policy minimum %u.%u.%u", h.major, h.minor, h.build, w.major,
                w.minor, w.build);
    }
    if (p->snp_signing_keys)
        ev_rule(e, "signing_key", (p->snp_signing_keys >> x->signer) & 1, VT_AR4SI_INSTANCE_IDENTITY,
                VT_AR4SI_AFFIRMING, VT_AR4SI_CONTRAINDICATED, "signed with the %s",
                vt_snp_signing_key_name(x->signer));
    if (p->snp_min_guest_svn >= 0)
        ev_rule(e, "guest_svn", x->guest_svn >= p->snp_min_guest_svn, VT_AR4SI_EXECUTABLES, VT_AR4SI_AFFIRMING,
                VT_AR4SI_CONTRAINDICATED, "GUEST_SVN %u, policy minimum %lld", x->guest_svn,
                (long long)p->snp_min_guest_svn);
    if (p->snp_products)
        ev_rule(e, "product", (p->snp_products >> x->product) & 1, VT_AR4SI_HARDWARE, VT_AR4SI_AFFIRMING,
                VT_AR4SI_CONTRAINDICATED, "product %s", vt_snp_product_name(x->product));
}

static bool sw_allowed(const vt_policy *p, const vt_claims_cca_sw *s)
{
    for (size_t i = 0; i < p->n_cca_sw; i++) {
        const vt_policy_sw *w = &p->cca_sw[i];
        if (w->measurement.len != s->measurement_len ||
            memcmp(w->measurement.v, s->measurement, s->measurement_len) != 0)
            continue;
        if (w->signer_id.len && (w->signer_id.len != s->signer_id_len ||
                                 memcmp(w->signer_id.v, s->signer_id, s->signer_id_len) != 0))
            continue;
        if (w->type[0] && strcmp(w->type, s->type) != 0) continue;
        if (w->version[0] && strcmp(w->version, s->version) != 0) continue;
        return true;
    }
    return false;
}

static void cca_rules(ev *e)
{
    const vt_policy *p = e->p;
    const vt_claims_cca *x = &e->c->u.cca;
    unsigned cls = (unsigned)(x->lifecycle >> 12);
    unsigned allowed = p->cca_lifecycle_classes ? p->cca_lifecycle_classes : 1u << 3;
    ev_rule(e, "cca_lifecycle", cls < 31 && ((allowed >> cls) & 1), VT_AR4SI_HARDWARE, VT_AR4SI_AFFIRMING,
            VT_AR4SI_CONTRAINDICATED, "platform lifecycle 0x%04llx (%s)", (unsigned long long)x->lifecycle,
            vt_cca_lifecycle_name(x->lifecycle));
    if (p->cca_profiles)
        ev_rule(e, "cca_profile", (p->cca_profiles >> x->profile) & 1, VT_AR4SI_CONFIGURATION, VT_AR4SI_AFFIRMING,
                VT_AR4SI_CONTRAINDICATED, "token profile %s", vt_cca_profile_name(x->profile));
    if (p->cca_implementation_ids.present) {
        char which[200] = "", h[40];
        bool ok = x->implementation_id_len > 0 &&
                  ev_set_match(e, &p->cca_implementation_ids, "implementation_id", x->implementation_id,
                               x->implementation_id_len, which, sizeof which);
        ev_hex(x->implementation_id, x->implementation_id_len < 16 ? x->implementation_id_len : 16, h, sizeof h);
        ev_rule(e, "cca_implementation_id", ok, VT_AR4SI_HARDWARE, VT_AR4SI_AFFIRMING, VT_AR4SI_CONTRAINDICATED,
                "implementation id %s... %s", h, ok ? "is allowed" : "is not in cca.implementation_ids");
    }
    if (p->n_cca_sw) {
        const vt_claims_cca_sw *bad = NULL;
        for (size_t i = 0; i < x->n_sw && bad == NULL; i++)
            if (!sw_allowed(p, &x->sw[i])) bad = &x->sw[i];
        if (bad != NULL || x->n_sw == 0)
            ev_add(e, "cca_software_components", VT_CHECK_FAIL, VT_AR4SI_HARDWARE, VT_AR4SI_CONTRAINDICATED,
                   "component '%s' is not in cca.software_components", bad ? bad->type : "(none reported)");
        else
            ev_add(e, "cca_software_components", VT_CHECK_PASS, VT_AR4SI_HARDWARE, VT_AR4SI_AFFIRMING,
                   "all %zu components allowed", x->n_sw);
    }
    if (p->cca_platform_refs) {
        const char *g = NULL;
        bool ok = vt_refvals_match_cca_platform(e->x->refvals, e->c, &g);
        ev_rule(e, "cca_platform_refs", ok, VT_AR4SI_HARDWARE, VT_AR4SI_AFFIRMING, VT_AR4SI_CONTRAINDICATED,
                ok ? "platform matches reference values %s" : "no platform reference values match%s",
                ok ? g : " (implementation id, config, software components)");
    }
    if (p->cca_realm_refs) {
        const char *g = NULL;
        bool ok = vt_refvals_match_cca_realm(e->x->refvals, e->c, &g);
        ev_rule(e, "cca_realm_refs", ok, VT_AR4SI_EXECUTABLES, VT_AR4SI_AFFIRMING, VT_AR4SI_CONTRAINDICATED,
                ok ? "realm matches reference values %s" : "no realm reference values match%s",
                ok ? g : " (RIM, REMs, personalization value)");
    }
}

void ev_tee_rules(ev *e)
{
    switch (vt_tee_hw(e->c->tee)) { /* az-snp-vtpm: the SNP rules on its report; az-tdx-vtpm: TDX's */
    case VT_TEE_TDX: tdx_rules(e); break;
    case VT_TEE_SGX: sgx_rules(e); break;
    case VT_TEE_SNP: snp_rules(e); break;
    case VT_TEE_CCA: cca_rules(e); break;
    case VT_TEE_NVIDIA: ev_gpu_rules(e); break;
    default: break;
    }
    if (e->c->tee != VT_TEE_NVIDIA) ev_gpu_count(e);
}
