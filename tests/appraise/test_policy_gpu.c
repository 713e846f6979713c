/* The policy's "nvidia" section (docs/policy.md): parse errors name the key; each GPU rule
 * (architecture, minimum driver and VBIOS version, CC mode, PPCIe, RIM match) passes and fails
 * on the claims it reads; the GPU count is appraised on the CPU claims beside the GPUs. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_gpu_rules),
        cmocka_unit_test(test_gpu_count_on_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
