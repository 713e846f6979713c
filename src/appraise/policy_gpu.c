/* The policy's "nvidia" section (docs/policy.md, "GPUs"): its parser, the rules each NVIDIA
 * GPU's claims are appraised by (architecture, minimum driver and VBIOS versions, CC mode,
 * PPCIe, the PPCIe topology across the GPUs of the evidence, RIM match) and the GPU count the
 * CPU evidence beside them is appraised by. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy_eval.h"

static int arch_bit(const char *s)
{
    if (strcasecmp(s, "HOPPER") == 0) return 1;
    if (strcasecmp(s, "BLACKWELL") == 0) return 2;
    return -1;
}

/* A dotted version: 1..6 components, decimal (driver "550.90.07") or hexadecimal (VBIOS
 * "96.00.9f.00.01"), each at most 8 digits. Compared component by component as numbers; a
 * missing component is 0. Returns false for text that is no such version. */
static bool version_parse(const char *s, int base, unsigned long out[6], size_t *n)
{
    *n = 0;
    memset(out, 0, 6 * sizeof *out);
    for (;;) {
        size_t digits = 0;
        unsigned long v = 0;
        for (; s[digits] != '\0' && s[digits] != '.'; digits++) {
            char ch = s[digits];
            int d = ch >= '0' && ch <= '9' ? ch - '0'
                    : base == 16 && ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                    : base == 16 && ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
            if (d < 0 || digits >= 8) return false;
            v = v * (unsigned long)base + (unsigned long)d;
        }
        if (digits == 0 || *n >= 6) return false;
        out[(*n)++] = v;
        s += digits;
        if (*s == '\0') return true;
        s++;
    }
}

/* -2: have is not a version; else -1/0/1 as have <, ==, > want. */
static int version_cmp(const char *have, const char *want, int base)
{
    unsigned long h[6], w[6];
    size_t hn, wn;
    if (!version_parse(have, base, h, &hn) || !version_parse(want, base, w, &wn)) return -2;
    for (size_t i = 0; i < 6; i++)
        if (h[i] != w[i]) return h[i] < w[i] ? -1 : 1;
    return 0;
}

static vt_err version_field(pctx *c, const json_t *s, const char *key, int base, char *out, size_t cap)
{
    const json_t *j = json_object_get(s, key);
    char p[64];
    unsigned long v[6];
    size_t n;
    if (j == NULL) return VT_OK;
    pol_path(p, sizeof p, "nvidia", key);
    const char *t = json_string_value(j);
    if (t == NULL || strlen(t) >= cap || !version_parse(t, base, v, &n))
        return pol_fail(c, p, "expected a dotted version of 1..6 %s components",
                        base == 16 ? "hexadecimal" : "decimal");
    snprintf(out, cap, "%s", t);
    return VT_OK;
}

static vt_err choice(pctx *c, const json_t *s, const char *key, const char *const *names, int *out)
{
    const json_t *j = json_object_get(s, key);
    char p[64];
    if (j == NULL) return VT_OK;
    pol_path(p, sizeof p, "nvidia", key);
    for (int i = 0; json_is_string(j) && names[i] != NULL; i++)
        if (strcmp(json_string_value(j), names[i]) == 0) {
            *out = i;
            return VT_OK;
        }
    return pol_fail(c, p, "expected \"%s\", \"%s\"%s%s%s", names[0], names[1], names[2] ? " or \"" : "",
                    names[2] ? names[2] : "", names[2] ? "\"" : "");
}

/* nvidia.ppcie_topology: true (an HGX system: 8 GPUs, 4 NVSwitches), false, or
 * {"gpus": 1..16, "switches": 1..16} (each defaulting to the HGX shape). */
static vt_err parse_topology(pctx *c, const json_t *t, vt_policy *p)
{
    static const char *const keys[] = {"gpus", "switches", NULL};
    p->gpu_topology_gpus = 8;
    p->gpu_topology_switches = 4;
    if (t == NULL) return VT_OK;
    if (json_is_boolean(t)) {
        p->gpu_ppcie_topology = json_is_true(t);
        return VT_OK;
    }
    if (!json_is_object(t))
        return pol_fail(c, "nvidia.ppcie_topology", "expected true, false or {\"gpus\": N, \"switches\": M}");
    VT_GUARD(pol_keys(c, t, "nvidia.ppcie_topology", keys));
    VT_GUARD(pol_int(c, t, "gpus", "nvidia.ppcie_topology", 1, 16, &p->gpu_topology_gpus));
    VT_GUARD(pol_int(c, t, "switches", "nvidia.ppcie_topology", 1, VT_CLAIMS_GPU_SWITCHES, &p->gpu_topology_switches));
    p->gpu_ppcie_topology = true;
    return VT_OK;
}

vt_err pol_parse_nvidia(pctx *c, const json_t *root, vt_policy *p)
{
    const json_t *s = json_object_get(root, "nvidia");
    if (s == NULL) return VT_OK;
    static const char *const keys[] = {"architectures", "min_driver_version", "min_vbios_version", "cc_mode",
                                       "ppcie", "require_rim_match", "gpus", "min_gpus", "ppcie_topology", NULL};
    static const char *const cc[] = {"required", "any", NULL};
    static const char *const ppcie[] = {"any", "required", "forbidden", NULL};
    VT_GUARD(pol_keys(c, s, "nvidia", keys));
    VT_GUARD(pol_names(c, s, "architectures", "nvidia", arch_bit, &p->gpu_archs));
    VT_GUARD(version_field(c, s, "min_driver_version", 10, p->gpu_min_driver, sizeof p->gpu_min_driver));
    VT_GUARD(version_field(c, s, "min_vbios_version", 16, p->gpu_min_vbios, sizeof p->gpu_min_vbios));
    int cc_mode = 0, pp = 0;
    VT_GUARD(choice(c, s, "cc_mode", cc, &cc_mode));
    VT_GUARD(choice(c, s, "ppcie", ppcie, &pp));
    p->gpu_allow_cc_off = cc_mode == 1;
    p->gpu_ppcie = pp == 0 ? VT_POLICY_PPCIE_ANY : pp == 1 ? VT_POLICY_PPCIE_REQUIRED : VT_POLICY_PPCIE_FORBIDDEN;
    VT_GUARD(pol_bool(c, s, "require_rim_match", "nvidia", &p->gpu_require_rim));
    p->has_gpu_count = json_object_get(s, "gpus") != NULL;
    VT_GUARD(pol_int(c, s, "gpus", "nvidia", 0, 16, &p->gpu_count));
    VT_GUARD(pol_int(c, s, "min_gpus", "nvidia", 0, 16, &p->gpu_min));
    if (p->has_gpu_count && p->gpu_min > p->gpu_count)
        return pol_fail(c, "nvidia.min_gpus", "is more than nvidia.gpus (%lld)", (long long)p->gpu_count);
    return parse_topology(c, json_object_get(s, "ppcie_topology"), p);
}

/* The switch PDIs of a GPU as text: "{01e50003575356 4e, ...}" (little-endian values). */
static void pdi_set_text(const vt_claims_gpu *g, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; i < g->n_switch_pdi && n + 20 < cap; i++) {
        char h[17];
        for (int j = 0; j < 8; j++) snprintf(h + 2 * j, 3, "%02x", g->switch_pdi[i][7 - j]);
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? "," : "", h);
    }
}

static bool same_switches(const vt_claims_gpu *a, const vt_claims_gpu *b)
{
    if (a->n_switch_pdi != b->n_switch_pdi) return false;
    for (size_t i = 0; i < a->n_switch_pdi; i++) {
        bool found = false;
        for (size_t j = 0; j < b->n_switch_pdi && !found; j++) found = memcmp(a->switch_pdi[i], b->switch_pdi[j], 8) == 0;
        if (!found) return false;
    }
    return true;
}

/* nvidia.ppcie_topology, from GPU evidence alone (the GPU half of NVIDIA's PPCIe topology check;
 * docs/nvidia.md, "PPCIe topology"): the set holds the expected number of distinct GPUs, this
 * GPU among them; every GPU reports switch PDIs, each the expected number of distinct switches,
 * and every GPU the same switches. A property of the set: each GPU's appraisal carries it. */
static void topology(ev *e)
{
    const vt_policy *p = e->p;
    const vt_claims_gpu *me = &e->c->u.gpu, *const *g = e->x->gpu_peers;
    size_t n = e->x->n_gpu_peers;
    const char *name = "gpu_ppcie_topology";
    int cl = VT_AR4SI_CONFIGURATION, bad = VT_AR4SI_CONTRAINDICATED;
    char a[120], b[120];
    if (g == NULL || n == 0) {
        ev_add(e, name, VT_CHECK_FAIL, cl, bad, "no GPU set to appraise the topology across (appraised per evidence list)");
        return;
    }
    if (n != (size_t)p->gpu_topology_gpus) {
        ev_add(e, name, VT_CHECK_FAIL, cl, bad, "%zu GPU%s attested, the PPCIe system has %lld", n, n == 1 ? "" : "s",
               (long long)p->gpu_topology_gpus);
        return;
    }
    bool in_set = false;
    for (size_t i = 0; i < n; i++) {
        in_set = in_set || strcmp(g[i]->ueid, me->ueid) == 0;
        for (size_t j = 0; j < i; j++)
            if (strcmp(g[i]->ueid, g[j]->ueid) == 0) {
                ev_add(e, name, VT_CHECK_FAIL, cl, bad, "gpu%zu and gpu%zu are the same GPU (UEID %.48s)", j, i,
                       g[i]->ueid);
                return;
            }
        if (!g[i]->has_switch_pdi || g[i]->n_switch_pdi == 0) {
            ev_add(e, name, VT_CHECK_FAIL, cl, bad, "gpu%zu reports no switch PDI (opaque switch_pdi; not in PPCIe mode?)",
                   i);
            return;
        }
        if (g[i]->n_switch_pdi != (size_t)p->gpu_topology_switches) {
            pdi_set_text(g[i], a, sizeof a);
            ev_add(e, name, VT_CHECK_FAIL, cl, bad, "gpu%zu is attached to %zu distinct switches {%s}, the policy wants %lld",
                   i, g[i]->n_switch_pdi, a, (long long)p->gpu_topology_switches);
            return;
        }
        if (i > 0 && !same_switches(g[i], g[0])) {
            pdi_set_text(g[i], a, sizeof a);
            pdi_set_text(g[0], b, sizeof b);
            ev_add(e, name, VT_CHECK_FAIL, cl, bad, "gpu%zu reports switches {%.90s}, gpu0 {%.90s}", i, a, b);
            return;
        }
    }
    if (!in_set) {
        ev_add(e, name, VT_CHECK_FAIL, cl, bad, "this GPU (UEID %.48s) is not in the GPU set appraised", me->ueid);
        return;
    }
    ev_add(e, name, VT_CHECK_PASS, cl, VT_AR4SI_AFFIRMING, "%zu distinct GPUs, each attached to the same %zu switches", n,
           g[0]->n_switch_pdi);
}

/* One GPU's claims (tee nvidia). */
void ev_gpu_rules(ev *e)
{
    const vt_policy *p = e->p;
    const vt_claims_gpu *g = &e->c->u.gpu;
    int bit = arch_bit(g->arch);
    if (p->gpu_archs)
        ev_rule(e, "gpu_architecture", bit > 0 && ((p->gpu_archs >> bit) & 1), VT_AR4SI_HARDWARE, VT_AR4SI_AFFIRMING,
                VT_AR4SI_CONTRAINDICATED, "%s %s nvidia.architectures", g->arch,
                bit > 0 && ((p->gpu_archs >> bit) & 1) ? "is in" : "is not in");
    if (p->gpu_min_driver[0]) {
        int cmp = version_cmp(g->driver_version, p->gpu_min_driver, 10);
        ev_rule(e, "gpu_driver_version", cmp >= 0, VT_AR4SI_EXECUTABLES, VT_AR4SI_AFFIRMING, VT_AR4SI_CONTRAINDICATED,
                "driver %s, policy minimum %s%s", g->driver_version, p->gpu_min_driver,
                cmp == -2 ? " (not a version)" : "");
    }
    if (p->gpu_min_vbios[0]) {
        int cmp = version_cmp(g->vbios_version, p->gpu_min_vbios, 16);
        ev_rule(e, "gpu_vbios_version", cmp >= 0, VT_AR4SI_EXECUTABLES, VT_AR4SI_AFFIRMING, VT_AR4SI_CONTRAINDICATED,
                "VBIOS %s, policy minimum %s%s", g->vbios_version, p->gpu_min_vbios,
                cmp == -2 ? " (not a version)" : "");
    }
    /* GPU memory is kept from the host only in CC mode: that is what runtime-opaque says here */
    if (g->cc_mode)
        ev_add(e, "gpu_cc_mode", VT_CHECK_PASS, VT_AR4SI_RUNTIME_OPAQUE, VT_AR4SI_AFFIRMING,
               "the signed report names CC mode %s", g->feature);
    else if (p->gpu_allow_cc_off)
        ev_add(e, "gpu_cc_mode", VT_CHECK_FAIL, VT_AR4SI_RUNTIME_OPAQUE, VT_AR4SI_WARN,
               "the report names no CC mode (accepted with a warning: nvidia.cc_mode \"any\")");
    else
        ev_add(e, "gpu_cc_mode", VT_CHECK_FAIL, VT_AR4SI_RUNTIME_OPAQUE, VT_AR4SI_CONTRAINDICATED,
               "CC mode is not on: the signed report names no CC mode (no feature_flag)");
    if (p->gpu_ppcie != VT_POLICY_PPCIE_ANY) {
        bool want = p->gpu_ppcie == VT_POLICY_PPCIE_REQUIRED;
        ev_rule(e, "gpu_ppcie", g->ppcie == want, VT_AR4SI_CONFIGURATION, VT_AR4SI_AFFIRMING, VT_AR4SI_CONTRAINDICATED,
                "protected PCIe is %s; the policy %s it", g->ppcie ? "on" : "off", want ? "requires" : "forbids");
    }
    if (p->gpu_ppcie_topology) topology(e);
    if (g->rim == VT_GPU_RIM_MATCHED)
        ev_add(e, "gpu_rim", VT_CHECK_PASS, VT_AR4SI_EXECUTABLES, VT_AR4SI_AFFIRMING,
               "%zu golden measurements of the driver and VBIOS RIMs matched", g->rim_matched);
    else if (p->gpu_require_rim)
        ev_add(e, "gpu_rim", VT_CHECK_FAIL, VT_AR4SI_EXECUTABLES, VT_AR4SI_CONTRAINDICATED,
               "nvidia.require_rim_match: the measurements were not matched against RIMs");
    else
        ev_add(e, "gpu_rim", VT_CHECK_SKIP, -1, 0, "measurements not matched against RIMs (not required)");
}

/* The number of GPUs attested beside CPU evidence (vt_appraise_ctx.n_gpus). */
void ev_gpu_count(ev *e)
{
    const vt_policy *p = e->p;
    size_t n = e->x->n_gpus;
    if (p->has_gpu_count)
        ev_rule(e, "gpu_count", n == (size_t)p->gpu_count, VT_AR4SI_HARDWARE, VT_AR4SI_AFFIRMING,
                VT_AR4SI_CONTRAINDICATED, "%zu GPU%s attested, the policy wants exactly %lld", n, n == 1 ? "" : "s",
                (long long)p->gpu_count);
    if (p->gpu_min > 0)
        ev_rule(e, "gpu_min_count", n >= (size_t)p->gpu_min, VT_AR4SI_HARDWARE, VT_AR4SI_AFFIRMING,
                VT_AR4SI_CONTRAINDICATED, "%zu GPU%s attested, the policy wants at least %lld", n, n == 1 ? "" : "s",
                (long long)p->gpu_min);
}
