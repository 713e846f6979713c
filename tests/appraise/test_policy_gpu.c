/* The policy's "nvidia" section (docs/policy.md): parse errors name the key; each GPU rule
 * (architecture, minimum driver and VBIOS version, CC mode, PPCIe, RIM match) passes and fails
 * on the claims it reads; the GPU count is appraised on the CPU claims beside the GPUs; the PPCIe
 * topology across a set of GPUs (switch PDIs) passes for the HGX shape and fails, naming the
 * GPU, for each way a set can be wrong. */
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "veritee/policy.h"

static void gpu_claims(vt_claims *c)
{
    memset(c, 0, sizeof *c);
    c->tee = VT_TEE_NVIDIA;
    c->verified = true;
    snprintf(c->u.gpu.arch, sizeof c->u.gpu.arch, "HOPPER");
    snprintf(c->u.gpu.ueid, sizeof c->u.gpu.ueid, "42");
    snprintf(c->u.gpu.driver_version, sizeof c->u.gpu.driver_version, "580.95.05");
    snprintf(c->u.gpu.vbios_version, sizeof c->u.gpu.vbios_version, "96.00.9f.00.01");
    snprintf(c->u.gpu.feature, sizeof c->u.gpu.feature, "SPT");
    c->u.gpu.cc_mode = true;
}

static const vt_appraisal_check *find(const vt_appraisal *a, const char *name)
{
    for (size_t i = 0; i < a->n_checks; i++)
        if (strcmp(a->checks[i].name, name) == 0) return &a->checks[i];
    return NULL;
}

static vt_appraisal appraise(const char *policy, const vt_claims *c, size_t n_gpus)
{
    vt_policy p;
    vt_error e;
    vt_appraisal a;
    if (vt_policy_parse(policy, strlen(policy), &p, &e) != VT_OK) fail_msg("%s", e.msg);
    vt_appraise_ctx x = {.at = 1780315200, .n_gpus = n_gpus};
    assert_int_equal(vt_policy_appraise(&p, c, &x, &a, &e), VT_OK);
    vt_policy_free(&p);
    return a;
}

static void has_check(const vt_appraisal *a, const char *name, vt_check_status st)
{
    const vt_appraisal_check *k = find(a, name);
    if (k == NULL) fail_msg("no check %s", name);
    if (k->status != st) fail_msg("%s: status %d (%s)", name, k->status, k->detail);
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"{\"id\":\"p\",\"nvidia\":{\"min_driver_version\":\"5x0\"}}", "nvidia.min_driver_version"},
        {"{\"id\":\"p\",\"nvidia\":{\"min_vbios_version\":\"96..00\"}}", "nvidia.min_vbios_version"},
        {"{\"id\":\"p\",\"nvidia\":{\"architectures\":[\"AMPERE\"]}}", "nvidia.architectures[0]"},
        {"{\"id\":\"p\",\"nvidia\":{\"cc_mode\":\"off\"}}", "nvidia.cc_mode"},
        {"{\"id\":\"p\",\"nvidia\":{\"ppcie\":true}}", "nvidia.ppcie"},
        {"{\"id\":\"p\",\"nvidia\":{\"gpus\":2,\"min_gpus\":3}}", "nvidia.min_gpus"},
        {"{\"id\":\"p\",\"nvidia\":{\"gpus\":17}}", "nvidia.gpus"},
        {"{\"id\":\"p\",\"nvidia\":{\"cc\":true}}", "cc"},
        {"{\"id\":\"p\",\"nvidia\":{\"ppcie_topology\":\"yes\"}}", "nvidia.ppcie_topology"},
        {"{\"id\":\"p\",\"nvidia\":{\"ppcie_topology\":{\"switches\":0}}}", "nvidia.ppcie_topology.switches"},
        {"{\"id\":\"p\",\"nvidia\":{\"ppcie_topology\":{\"gpus\":17}}}", "nvidia.ppcie_topology.gpus"},
        {"{\"id\":\"p\",\"nvidia\":{\"ppcie_topology\":{\"links\":4}}}", "links"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vt_policy p;
        vt_error e;
        vt_error_clear(&e);
        assert_int_equal(vt_policy_parse(bad[i][0], strlen(bad[i][0]), &p, &e), VT_E_INVALID);
        if (strstr(e.msg, bad[i][1]) == NULL) fail_msg("case %zu: '%s' does not name %s", i, e.msg, bad[i][1]);
    }
}

static void test_gpu_rules(void **state)
{
    (void)state;
    vt_claims c;
    gpu_claims(&c);
    const char *strict = "{\"id\":\"p\",\"nvidia\":{\"architectures\":[\"HOPPER\"],\"min_driver_version\":\"550.90.07\","
                         "\"min_vbios_version\":\"96.00.74.00.1A\",\"ppcie\":\"forbidden\"}}";
    vt_appraisal a = appraise(strict, &c, 0);
    assert_int_equal(a.status, VT_EAR_AFFIRMING);
    has_check(&a, "gpu_architecture", VT_CHECK_PASS);
    has_check(&a, "gpu_driver_version", VT_CHECK_PASS);
    has_check(&a, "gpu_vbios_version", VT_CHECK_PASS); /* 9f > 74: hexadecimal components */
    has_check(&a, "gpu_cc_mode", VT_CHECK_PASS);
    has_check(&a, "gpu_ppcie", VT_CHECK_PASS);
    has_check(&a, "gpu_rim", VT_CHECK_SKIP);
    assert_null(find(&a, "gpu_count")); /* the count is the CPU's check */
    /* one rule broken at a time */
    snprintf(c.u.gpu.driver_version, sizeof c.u.gpu.driver_version, "550.90.6");
    a = appraise(strict, &c, 0);
    assert_int_equal(a.status, VT_EAR_CONTRAINDICATED);
    has_check(&a, "gpu_driver_version", VT_CHECK_FAIL);
    gpu_claims(&c);
    snprintf(c.u.gpu.arch, sizeof c.u.gpu.arch, "BLACKWELL");
    a = appraise(strict, &c, 0);
    has_check(&a, "gpu_architecture", VT_CHECK_FAIL);
    gpu_claims(&c);
    c.u.gpu.ppcie = true;
    a = appraise(strict, &c, 0);
    has_check(&a, "gpu_ppcie", VT_CHECK_FAIL);
    /* CC mode off: contraindicated by default, a warning with cc_mode "any" */
    gpu_claims(&c);
    c.u.gpu.cc_mode = false;
    c.u.gpu.feature[0] = '\0';
    a = appraise("{\"id\":\"p\"}", &c, 0);
    assert_int_equal(a.status, VT_EAR_CONTRAINDICATED);
    has_check(&a, "gpu_cc_mode", VT_CHECK_FAIL);
    assert_int_equal(a.vector.v[VT_AR4SI_RUNTIME_OPAQUE], VT_AR4SI_CONTRAINDICATED);
    a = appraise("{\"id\":\"p\",\"nvidia\":{\"cc_mode\":\"any\"}}", &c, 0);
    assert_int_equal(a.status, VT_EAR_WARNING);
    /* RIM match required */
    gpu_claims(&c);
    a = appraise("{\"id\":\"p\",\"nvidia\":{\"require_rim_match\":true}}", &c, 0);
    has_check(&a, "gpu_rim", VT_CHECK_FAIL);
    c.u.gpu.rim = VT_GPU_RIM_MATCHED;
    c.u.gpu.rim_matched = 12;
    a = appraise("{\"id\":\"p\",\"nvidia\":{\"require_rim_match\":true}}", &c, 0);
    has_check(&a, "gpu_rim", VT_CHECK_PASS);
    /* tee_types names CPU TEEs only */
    a = appraise("{\"id\":\"p\",\"tee_types\":[\"tdx\"]}", &c, 0);
    has_check(&a, "tee_type", VT_CHECK_PASS);
    /* revocation required: a chain no OCSP response covered */
    a = appraise("{\"id\":\"p\",\"collateral\":{\"require_revocation_check\":true}}", &c, 0);
    has_check(&a, "revocation", VT_CHECK_FAIL);
}

static void test_gpu_count_on_cpu(void **state)
{
    (void)state;
    vt_claims cpu;
    memset(&cpu, 0, sizeof cpu);
    cpu.tee = VT_TEE_TDX;
    cpu.verified = true;
    const char *exact = "{\"id\":\"p\",\"tcb\":{\"allowed_statuses\":[\"UpToDate\"]},\"nvidia\":{\"gpus\":2}}";
    vt_appraisal a = appraise(exact, &cpu, 2);
    has_check(&a, "gpu_count", VT_CHECK_PASS);
    a = appraise(exact, &cpu, 1);
    has_check(&a, "gpu_count", VT_CHECK_FAIL);
    a = appraise("{\"id\":\"p\",\"nvidia\":{\"min_gpus\":1}}", &cpu, 0);
    has_check(&a, "gpu_min_count", VT_CHECK_FAIL);
    assert_int_equal(a.vector.v[VT_AR4SI_HARDWARE], VT_AR4SI_CONTRAINDICATED);
    a = appraise("{\"id\":\"p\",\"nvidia\":{\"min_gpus\":1}}", &cpu, 3);
    has_check(&a, "gpu_min_count", VT_CHECK_PASS);
    a = appraise("{\"id\":\"p\"}", &cpu, 5); /* no count in the policy: no check */
    assert_null(find(&a, "gpu_count"));
    assert_null(find(&a, "gpu_min_count"));
}

/* An HGX set: n GPUs (UEIDs 100..), each attached to the same `sw` switches. */
static void ppcie_set(vt_claims *c, size_t n, size_t sw)
{
    for (size_t i = 0; i < n; i++) {
        gpu_claims(&c[i]);
        vt_claims_gpu *g = &c[i].u.gpu;
        snprintf(g->ueid, sizeof g->ueid, "%zu", 100 + i);
        snprintf(g->feature, sizeof g->feature, "PPCIE");
        g->ppcie = true;
        g->has_switch_pdi = true;
        g->n_switch_pdi = sw;
        for (size_t s = 0; s < sw; s++) {
            memcpy(g->switch_pdi[s], "NVSW\0\0\0\1", 8);
            g->switch_pdi[s][4] = (uint8_t)s;
        }
    }
}

/* Appraise GPU `which` of the set with the policy; its gpu_ppcie_topology check. */
static vt_appraisal_check topo(const char *policy, const vt_claims *c, size_t n, size_t which)
{
    const vt_claims_gpu *peers[16];
    for (size_t i = 0; i < n; i++) peers[i] = &c[i].u.gpu;
    vt_policy p;
    vt_error e;
    vt_appraisal a;
    if (vt_policy_parse(policy, strlen(policy), &p, &e) != VT_OK) fail_msg("%s", e.msg);
    vt_appraise_ctx x = {.at = 1780315200, .gpu_peers = n > 0 ? peers : NULL, .n_gpu_peers = n};
    assert_int_equal(vt_policy_appraise(&p, &c[which], &x, &a, &e), VT_OK);
    vt_policy_free(&p);
    const vt_appraisal_check *k = find(&a, "gpu_ppcie_topology");
    if (k == NULL) fail_msg("no gpu_ppcie_topology check");
    if (k->status == VT_CHECK_FAIL) {
        assert_int_equal(a.status, VT_EAR_CONTRAINDICATED);
        assert_int_equal(a.vector.v[VT_AR4SI_CONFIGURATION], VT_AR4SI_CONTRAINDICATED);
    }
    return *k;
}

static void expect_topo(const char *policy, const vt_claims *c, size_t n, size_t which, vt_check_status st,
                        const char *detail)
{
    vt_appraisal_check k = topo(policy, c, n, which);
    if (k.status != st || (detail != NULL && strstr(k.detail, detail) == NULL))
        fail_msg("gpu%zu of %zu: status %d '%s', want %d '%s'", which, n, k.status, k.detail, st, detail ? detail : "");
}

static void test_ppcie_topology(void **state)
{
    (void)state;
    const char *hgx = "{\"id\":\"p\",\"nvidia\":{\"ppcie\":\"required\",\"ppcie_topology\":true}}";
    vt_claims c[9];
    /* the HGX shape: 8 GPUs, each attached to the same 4 switches; every GPU's appraisal passes */
    ppcie_set(c, 8, 4);
    for (size_t i = 0; i < 8; i++) expect_topo(hgx, c, 8, i, VT_CHECK_PASS, "8 distinct GPUs, each attached to the same 4");
    /* the switches in another order are the same set */
    uint8_t t[8];
    memcpy(t, c[3].u.gpu.switch_pdi[0], 8);
    memcpy(c[3].u.gpu.switch_pdi[0], c[3].u.gpu.switch_pdi[3], 8);
    memcpy(c[3].u.gpu.switch_pdi[3], t, 8);
    expect_topo(hgx, c, 8, 0, VT_CHECK_PASS, NULL);
    /* one GPU attached to another switch than the rest: the set fails, naming it */
    ppcie_set(c, 8, 4);
    c[7].u.gpu.switch_pdi[3][5] = 0x87;
    expect_topo(hgx, c, 8, 0, VT_CHECK_FAIL, "010087035753564e}, gpu0 {010000005753564e");
    expect_topo(hgx, c, 8, 7, VT_CHECK_FAIL, "gpu7 reports switches");
    /* the wrong number of switches: 3 everywhere, or one GPU short of one */
    ppcie_set(c, 8, 3);
    expect_topo(hgx, c, 8, 2, VT_CHECK_FAIL, "gpu0 is attached to 3 distinct switches");
    expect_topo("{\"id\":\"p\",\"nvidia\":{\"ppcie_topology\":{\"switches\":3}}}", c, 8, 2, VT_CHECK_PASS, NULL);
    ppcie_set(c, 8, 4);
    c[5].u.gpu.n_switch_pdi = 3;
    expect_topo(hgx, c, 8, 1, VT_CHECK_FAIL, "gpu5 is attached to 3 distinct switches");
    /* the wrong number of GPUs: 7, or 9 */
    ppcie_set(c, 9, 4);
    expect_topo(hgx, c, 7, 0, VT_CHECK_FAIL, "7 GPUs attested, the PPCIe system has 8");
    expect_topo(hgx, c, 9, 0, VT_CHECK_FAIL, "9 GPUs attested");
    expect_topo("{\"id\":\"p\",\"nvidia\":{\"ppcie_topology\":{\"gpus\":9}}}", c, 9, 8, VT_CHECK_PASS, NULL);
    /* the same GPU twice in the set (GPU reports carry no PDI of their own: the UEID is its identity) */
    ppcie_set(c, 8, 4);
    snprintf(c[6].u.gpu.ueid, sizeof c[6].u.gpu.ueid, "%s", c[2].u.gpu.ueid);
    expect_topo(hgx, c, 8, 0, VT_CHECK_FAIL, "gpu2 and gpu6 are the same GPU");
    /* a GPU without switch PDIs (not in PPCIe mode) */
    ppcie_set(c, 8, 4);
    c[4].u.gpu.has_switch_pdi = false;
    c[4].u.gpu.n_switch_pdi = 0;
    expect_topo(hgx, c, 8, 0, VT_CHECK_FAIL, "gpu4 reports no switch PDI");
    /* no set given (fail closed), and a GPU appraised against a set it is not in */
    ppcie_set(c, 9, 4);
    expect_topo(hgx, c, 0, 0, VT_CHECK_FAIL, "no GPU set");
    expect_topo(hgx, c, 8, 8, VT_CHECK_FAIL, "not in the GPU set");
    /* without the rule: no check */
    vt_appraisal a = appraise("{\"id\":\"p\",\"nvidia\":{\"ppcie_topology\":false}}", &c[0], 0);
    assert_null(find(&a, "gpu_ppcie_topology"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_gpu_rules),
        cmocka_unit_test(test_gpu_count_on_cpu),
        cmocka_unit_test(test_ppcie_topology),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
