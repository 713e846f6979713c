/* Policy language (docs/policy.md): the shipped examples load, fields land where documented,
 * and hostile or mistaken policies are refused with the offending key path. Also the
 * reference-value loaders (veritee measure output, lists, the CCA stores). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/fileio.h"
#include "veritee/policy.h"
#include "veritee/refvals.h"

static void example_path(const char *name, char *out, size_t cap)
{
    char rel[256];
    snprintf(rel, sizeof rel, "examples/policies/%s", name);
    vt_test_source_path(rel, out, cap);
}

static void examples_load(void **state)
{
    (void)state;
    const char *names[] = {"default.json", "tdx.json", "sgx.json", "snp.json", "cca.json", "azure.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[1024];
        example_path(names[i], path, sizeof path);
        vt_policy p;
        vt_error e;
        vt_error_clear(&e);
        if (vt_policy_load_file(path, &p, &e) != VT_OK) fail_msg("%s: %s", path, e.msg);
        vt_policy_free(&p);
    }
    char path[1024];
    example_path("default.json", path, sizeof path);
    vt_policy p;
    assert_int_equal(vt_policy_load_file(path, &p, NULL), VT_OK);
    assert_string_equal(p.id, "default");
    assert_int_equal(p.tcb_allowed, 1u << VT_TCB_UP_TO_DATE);
    assert_int_equal(p.tcb_warn, 1u << VT_TCB_SW_HARDENING_NEEDED);
    assert_false(p.allow_debug);
    assert_int_equal(p.emulated, VT_POLICY_EMULATED_REJECT);
    assert_int_equal(p.n_rules, 0);
    vt_policy_free(&p);
    vt_policy_free(NULL);
}

static vt_err parse(const char *text, vt_policy *p, vt_error *e)
{
    vt_error_clear(e);
    return vt_policy_parse(text, strlen(text), p, e);
}

/* A mask's u64 forms are the core's: JSON integer, "0x" hex or a decimal string ("010" is
 * ten, never octal); a bool of the wrong type is refused. */
static void u64_forms(void **state)
{
    (void)state;
    vt_policy p;
    vt_error e;
    assert_int_equal(parse("{\"id\":\"x\",\"tdx\":{\"xfam\":{\"mask\":\"0xff\",\"value\":\"010\"}}}", &p, &e), VT_OK);
    assert_int_equal(p.xfam.mask[0], 0xff);
    assert_int_equal(p.xfam.value[0], 10);
    vt_policy_free(&p);
    assert_int_equal(parse("{\"id\":\"x\",\"tdx\":{\"xfam\":{\"mask\":255,\"value\":\"0x0a\"}}}", &p, &e), VT_OK);
    assert_int_equal(p.xfam.value[0], 10);
    vt_policy_free(&p);
    assert_int_equal(parse("{\"id\":\"x\",\"tdx\":{\"xfam\":{\"mask\":255,\"value\":\"0o12\"}}}", &p, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "policy.tdx.xfam.value: expected an integer"));
}

static void fields(void **state)
{
    (void)state;
    vt_policy p;
    vt_error e;
    const char *t =
        "{\"id\":\"t-1\",\"tee_types\":[\"snp\",\"tdx\"],\"emulated\":\"warn\",\"allow_debug\":true,"
        "\"tcb\":{\"allowed_statuses\":[\"UpToDate\",\"SWHardeningNeeded\"],\"warn_statuses\":[\"OutOfDate\"],"
        "\"allowed_advisories\":[\"INTEL-SA-00615\"],\"min_tcb_date\":\"2024-03-13T00:00:00Z\"},"
        "\"collateral\":{\"max_age_seconds\":86400,\"min_remaining_seconds\":60,\"require_revocation_check\":true},"
        "\"report_data\":{\"required\":true,\"match\":\"exact\"},\"init_data\":{\"values\":[\"aa\"],\"refs\":[\"cfg\"]},"
        "\"measurements\":{\"mr_td\":[\"00ff\"],\"rim\":{\"refs\":[\"rim\",\"rim2\"]}},"
        "\"tdx\":{\"td_attributes\":{\"mask\":\"0x10000001\",\"value\":\"0x10000000\"},\"min_tee_tcb_svn\":\"01000000000000000000000000000000\"},"
        "\"snp\":{\"max_vmpl\":1,\"min_tcb\":{\"snp\":27,\"microcode\":86},\"min_firmware\":\"1.55.49\",\"signing_keys\":[\"vlek\"],"
        "\"products\":[\"Genoa\",\"turin\"],\"policy\":{\"mask\":524288,\"value\":0}},"
        "\"cca\":{\"lifecycles\":[\"secured\",\"non_cca_platform_debug\"],\"profiles\":[\"1.0\"],\"realm_refs\":true,"
        "\"software_components\":[{\"component_type\":\"BL\",\"measurement_value\":\"0102\"}]}}";
    if (parse(t, &p, &e) != VT_OK) fail_msg("%s", e.msg);
    assert_string_equal(p.id, "t-1");
    assert_int_equal(p.tee_mask, (1u << VT_TEE_SNP) | (1u << VT_TEE_TDX));
    assert_int_equal(p.emulated, VT_POLICY_EMULATED_WARN);
    assert_true(p.allow_debug);
    assert_int_equal(p.tcb_warn, 1u << VT_TCB_OUT_OF_DATE);
    assert_int_equal(p.n_advisories, 1);
    assert_true(p.has_min_tcb_date);
    assert_int_equal(p.max_collateral_age, 86400);
    assert_int_equal(p.min_collateral_remaining, 60);
    assert_true(p.require_revocation && p.report_data_required && p.report_data_exact);
    assert_int_equal(p.init_data.n, 1);
    assert_int_equal(p.init_data.n_refs, 1);
    assert_int_equal(p.n_rules, 2);
    assert_string_equal(p.rules[0].name, "mr_td");
    assert_int_equal(p.rules[0].set.values[0].len, 2);
    assert_int_equal(p.rules[0].set.values[0].v[1], 0xff);
    assert_int_equal(p.rules[1].set.n_refs, 2);
    /* masks are stored as the field's little-endian bytes */
    assert_int_equal(p.td_attributes.mask[0], 0x01);
    assert_int_equal(p.td_attributes.mask[3], 0x10);
    assert_int_equal(p.td_attributes.value[3], 0x10);
    assert_int_equal(p.min_tee_tcb_svn[0], 1);
    assert_int_equal(p.snp_max_vmpl, 1);
    assert_int_equal(p.snp_min_tcb.snp, 27);
    assert_int_equal(p.snp_min_tcb.bootloader, -1);
    assert_int_equal(p.snp_min_firmware.minor, 55);
    assert_int_equal(p.snp_signing_keys, 1u << VT_SNP_KEY_VLEK);
    assert_int_equal(p.snp_products, (1u << VT_SNP_GENOA) | (1u << VT_SNP_TURIN));
    assert_int_equal(p.snp_policy.mask[2], 0x08);
    assert_int_equal(p.cca_lifecycle_classes, (1u << 3) | (1u << 4));
    assert_int_equal(p.cca_profiles, 1u << VT_CCA_PROFILE_1_0);
    assert_int_equal(p.n_cca_sw, 1);
    assert_string_equal(p.cca_sw[0].type, "BL");
    vt_policy_free(&p);
}

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(hl + ul * n + tl + 1);
    memcpy(s, head, hl);
    for (size_t i = 0; i < n; i++) memcpy(s + hl + i * ul, unit, ul);
    memcpy(s + hl + n * ul, tail, tl + 1);
    return s;
}

/* Each hostile or wrong policy: refused with VT_E_INVALID and a message naming the key. */
static void hostile(void **state)
{
    (void)state;
    static const struct { const char *text, *want; } rows[] = {
        {"", "policy"},
        {"{", "policy"},
        {"[]", "policy: expected an object"},
        {"{}", "policy.id: missing"},
        {"{\"id\":7}", "policy.id: expected a string"},
        {"{\"id\":\"has space\"}", "policy.id: only letters"},
        {"{\"id\":\"x\",\"id\":\"y\"}", "duplicate"},
        {"{\"id\":\"x\",\"version\":2}", "policy.version: expected an integer 1..1"},
        {"{\"id\":\"x\",\"bogus\":1}", "policy.bogus: unknown key"},
        {"{\"id\":\"x\",\"tee_types\":\"tdx\"}", "policy.tee_types: expected a non-empty array"},
        {"{\"id\":\"x\",\"tee_types\":[\"tdx\",\"nitro\"]}", "policy.tee_types[1]: unknown value 'nitro'"},
        {"{\"id\":\"x\",\"tee_types\":[1]}", "policy.tee_types[0]: unknown value (not a string)"},
        {"{\"id\":\"x\",\"emulated\":\"maybe\"}", "policy.emulated: expected \"reject\""},
        {"{\"id\":\"x\",\"allow_debug\":\"no\"}", "policy.allow_debug: expected true or false"},
        {"{\"id\":\"x\",\"tcb\":{\"allowed_statuses\":[\"Fine\"]}}", "policy.tcb.allowed_statuses[0]: unknown value 'Fine'"},
        {"{\"id\":\"x\",\"tcb\":{\"allowed_statuses\":[\"UpToDate\"],\"warn_statuses\":[\"UpToDate\"]}}", "policy.tcb.warn_statuses: a status cannot be both"},
        {"{\"id\":\"x\",\"tcb\":{\"min_tcb_date\":\"yesterday\"}}", "policy.tcb.min_tcb_date: expected an RFC 3339"},
        {"{\"id\":\"x\",\"tcb\":{\"allowed_advisories\":[\"\"]}}", "policy.tcb.allowed_advisories[0]"},
        {"{\"id\":\"x\",\"collateral\":{\"max_age_seconds\":0}}", "policy.collateral.max_age_seconds: expected an integer 1.."},
        {"{\"id\":\"x\",\"collateral\":{\"max_age_seconds\":1.5}}", "policy.collateral.max_age_seconds"},
        {"{\"id\":\"x\",\"report_data\":{\"match\":\"suffix\"}}", "policy.report_data.match"},
        {"{\"id\":\"x\",\"report_data\":{\"values\":[\"zz\"]}}", "policy.report_data.values[0]: not hex"},
        {"{\"id\":\"x\",\"measurements\":{\"mr_tdd\":[\"00\"]}}", "policy.measurements.mr_tdd: unknown measurement name"},
        {"{\"id\":\"x\",\"measurements\":{\"mr_td\":[\"0\"]}}", "policy.measurements.mr_td[0]: expected a hex string of 1..64 bytes"},
        {"{\"id\":\"x\",\"measurements\":{\"mr_td\":[]}}", "policy.measurements.mr_td: expected a non-empty array"},
        {"{\"id\":\"x\",\"measurements\":{\"mr_td\":{}}}", "policy.measurements.mr_td: needs values or refs"},
        {"{\"id\":\"x\",\"measurements\":{\"mr_td\":{\"value\":[\"00\"]}}}", "policy.measurements.mr_td.value: unknown key"},
        {"{\"id\":\"x\",\"measurements\":{\"mr_td\":{\"refs\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]}}}", "policy.measurements.mr_td.refs: expected an array of 1..8"},
        {"{\"id\":\"x\",\"measurements\":{\"mr_td\":\"00\"}}", "policy.measurements.mr_td: expected an array"},
        {"{\"id\":\"x\",\"measurements\":{\"mr_seam\":[\"00\"]},\"tdx\":{\"mr_seam\":[\"00\"]}}", "given twice"},
        {"{\"id\":\"x\",\"tdx\":{\"xfam\":{\"mask\":\"0x1\"}}}", "policy.tdx.xfam: needs mask and value"},
        {"{\"id\":\"x\",\"tdx\":{\"xfam\":{\"mask\":\"0x1\",\"value\":\"0x3\"}}}", "policy.tdx.xfam: value has bits outside mask"},
        {"{\"id\":\"x\",\"tdx\":{\"xfam\":{\"mask\":\"0x10000000000000000\",\"value\":\"0x0\"}}}", "policy.tdx.xfam.mask"},
        {"{\"id\":\"x\",\"tdx\":{\"xfam\":{\"mask\":-1,\"value\":0}}}", "policy.tdx.xfam.mask"},
        {"{\"id\":\"x\",\"tdx\":{\"min_tee_tcb_svn\":\"0100\"}}", "policy.tdx.min_tee_tcb_svn: expected a hex string of 16 bytes"},
        {"{\"id\":\"x\",\"sgx\":{\"isv_prod_ids\":[70000]}}", "policy.sgx.isv_prod_ids[0]: expected an integer 0..65535"},
        {"{\"id\":\"x\",\"snp\":{\"vmpll\":0}}", "policy.snp.vmpll: unknown key"},
        {"{\"id\":\"x\",\"snp\":{\"max_vmpl\":4}}", "policy.snp.max_vmpl: expected an integer 0..3"},
        {"{\"id\":\"x\",\"snp\":{\"min_tcb\":{\"microcode\":256}}}", "policy.snp.min_tcb.microcode: expected an integer 0..255"},
        {"{\"id\":\"x\",\"snp\":{\"min_tcb\":{\"ucode\":1}}}", "policy.snp.min_tcb.ucode: unknown key"},
        {"{\"id\":\"x\",\"snp\":{\"min_firmware\":\"1.55\"}}", "policy.snp.min_firmware"},
        {"{\"id\":\"x\",\"snp\":{\"min_firmware\":\"1.55.49x\"}}", "policy.snp.min_firmware"},
        {"{\"id\":\"x\",\"snp\":{\"signing_keys\":[\"ark\"]}}", "policy.snp.signing_keys[0]: unknown value 'ark'"},
        {"{\"id\":\"x\",\"snp\":{\"products\":[\"naples\"]}}", "policy.snp.products[0]"},
        {"{\"id\":\"x\",\"cca\":{\"lifecycles\":[\"secure\"]}}", "policy.cca.lifecycles[0]: unknown value 'secure'"},
        {"{\"id\":\"x\",\"cca\":{\"profiles\":[\"3.0\"]}}", "policy.cca.profiles[0]"},
        {"{\"id\":\"x\",\"cca\":{\"software_components\":[{\"component_type\":\"BL\"}]}}", "policy.cca.software_components[0].measurement_value"},
        {"{\"id\":\"x\",\"cca\":{\"software_components\":[{\"measurement_value\":\"00\",\"sig\":1}]}}", "policy.cca.software_components[0].sig: unknown key"},
        {"{\"id\":\"x\",\"description\":[]}", "policy.description: expected a string"},
        {"{\"id\":\"x\",\"measurements\":{\"mr_td\":{\"values\":[[[[[[[\"00\"]]]]]]]}}}", "nested deeper than 6"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        vt_policy p;
        vt_error e;
        vt_err rc = parse(rows[i].text, &p, &e);
        if (rc != VT_E_INVALID || strstr(e.msg, rows[i].want) == NULL)
            fail_msg("row %zu (%s): rc %d, message '%s', wanted '%s'", i, rows[i].text, rc, e.msg, rows[i].want);
    }
    /* sizes: a long array, a long string, a deep nest, an oversized text */
    vt_policy p;
    vt_error e;
    char *s = repeat("{\"id\":\"x\",\"tee_types\":[", "\"tdx\",", 300, "\"tdx\"]}");
    assert_int_equal(parse(s, &p, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "array of 301 entries"));
    free(s);
    s = repeat("{\"id\":\"x\",\"description\":\"", "a", 5000, "\"}");
    assert_int_equal(parse(s, &p, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "longer than 1024"));
    free(s);
    s = repeat("{\"id\":\"x\",\"tcb\":", "[", 100000, "");
    assert_int_equal(parse(s, &p, &e), VT_E_INVALID);
    free(s);
    s = repeat("{\"id\":\"x\",\"description\":\"", " ", 300000, "\"}");
    assert_int_equal(parse(s, &p, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "max 262144"));
    free(s);
    /* a failed parse leaves nothing to free and a usable struct */
    assert_int_equal(p.n_rules, 0);
    assert_null(p.advisories);
}

static void refvals_formats(void **state)
{
    (void)state;
    vt_refvals s;
    vt_refvals_init(&s);
    vt_error e;
    /* veritee measure output: one object, then an array (tdx rtmr values) */
    const char *one = "{\"tee\":\"tdx\",\"name\":\"mr_td\",\"alg\":\"sha-384\",\"value\":\"AABB\","
                      "\"inputs\":{},\"provenance\":{\"tool\":\"veritee 0.1.0\",\"method\":\"m\"}}";
    assert_int_equal(vt_refvals_load_mem(&s, one, strlen(one), "m.json", &e), VT_OK);
    const char *arr = "[{\"tee\":\"tdx\",\"name\":\"rtmr1\",\"value\":\"01\"},{\"tee\":\"sev-es\",\"name\":\"launch_measurement\",\"value\":\"02\"}]";
    assert_int_equal(vt_refvals_load_mem(&s, arr, strlen(arr), "a.json", &e), VT_OK);
    const char *list = "{\"reference_values\":[{\"tee\":\"snp\",\"name\":\"measurement\",\"values\":[\"03\",\"04\"],\"origin\":\"ci\"}]}";
    assert_int_equal(vt_refvals_load_mem(&s, list, strlen(list), "l.json", &e), VT_OK);
    assert_int_equal(s.n, 5);
    const vt_refval *w = NULL;
    uint8_t v[2] = {0xaa, 0xbb};
    assert_true(vt_refvals_match(&s, VT_TEE_TDX, "mr_td", v, 2, &w));
    assert_string_equal(w->origin, "veritee 0.1.0");
    assert_string_equal(w->source, "m.json");
    assert_false(vt_refvals_match(&s, VT_TEE_SNP, "mr_td", v, 2, NULL)); /* bound to tdx */
    assert_true(vt_refvals_match(&s, VT_TEE_SNP, "launch_measurement", (uint8_t[]){2}, 1, NULL)); /* sev-es: any */
    assert_int_equal(vt_refvals_count(&s, VT_TEE_SNP, "measurement"), 2);
    /* errors name the key and add nothing */
    static const struct { const char *text, *want; } bad[] = {
        {"{\"name\":\"x\"}", "exactly one of value, values"},
        {"{\"name\":\"x\",\"value\":\"0\"}", "x.json: .value: expected a hex string"},
        {"[{\"name\":\"x\",\"value\":\"00\"},{\"value\":\"00\"}]", "[1].name: missing"},
        {"{\"reference_values\":{}}", "reference_values: expected an array"},
        {"{\"platform\":[{\"sw-components\":[]}]}", "platform[0].implementation-id: missing"},
        {"{\"realm\":[{\"initial-measurement\":\"00\",\"extensible-measurements\":[\"00\"]}]}", "expected an array of 4 REMs"},
        {"{\"color\":\"blue\"}", "not a reference-value file"},
        {"7", "x.json: JSON error"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vt_error_clear(&e);
        size_t before = s.n;
        vt_err rc = vt_refvals_load_mem(&s, bad[i].text, strlen(bad[i].text), "x.json", &e);
        if (rc != VT_E_INVALID || strstr(e.msg, bad[i].want) == NULL)
            fail_msg("row %zu: rc %d '%s', wanted '%s'", i, rc, e.msg, bad[i].want);
        assert_int_equal(s.n, before);
    }
    json_t *j = vt_refvals_json(&s);
    assert_int_equal(json_array_size(j), 5);
    json_decref(j);
    vt_refvals_free(&s);
}

static void refvals_cca_stores(void **state)
{
    (void)state;
    char dir[1024];
    if (!vt_test_vector_path("cca/reference_values", dir, sizeof dir)) skip();
    vt_refvals s;
    vt_refvals_init(&s);
    vt_error e;
    if (vt_refvals_load_path(&s, dir, &e) != VT_OK) fail_msg("%s", e.msg);
    /* islet: 2 REM sets x (rim + 4 rems) = 10; rust-ccatoken: 2 platforms (1+1+1, 1+1+4) + realm 6;
     * trustee: platform 1+1+13 + realm 6 */
    assert_int_equal(s.n, 10 + (3 + 6) + 6 + (15 + 6));
    assert_int_equal(vt_refvals_count(&s, VT_TEE_CCA, "rim"), 2 + 1 + 1);
    assert_int_equal(vt_refvals_count(&s, VT_TEE_CCA, "sw_component"), 1 + 4 + 13);
    uint8_t rim[32];
    assert_int_equal(vt_hex_decode_fixed("59587944ebd7baadb8d4790b55510c25181c83981a92c6970d7080a0cf85d3be", rim, 32, NULL), VT_OK);
    const vt_refval *w = NULL;
    assert_true(vt_refvals_match(&s, VT_TEE_CCA, "rim", rim, 32, &w));
    assert_string_equal(w->origin, "Samsung");
    assert_non_null(strstr(w->group, "islet_realm.json#realm.rems["));
    assert_int_equal(vt_refvals_load_path(&s, "/nonexistent/refvals", &e), VT_E_MISSING);
    vt_refvals_free(&s);
}

/* docs/policy.md: allowed_advisories takes an array of ids or "*"; both spellings of "any". */
static void advisories_any(void **state)
{
    (void)state;
    const char *texts[] = {"{\"id\":\"x\",\"tcb\":{\"allowed_advisories\":\"*\"}}",
                           "{\"id\":\"x\",\"tcb\":{\"allowed_advisories\":[\"*\"]}}"};
    for (size_t i = 0; i < 2; i++) {
        vt_policy p;
        vt_error e;
        if (parse(texts[i], &p, &e) != VT_OK) fail_msg("%s: %s", texts[i], e.msg);
        assert_true(p.advisories_restricted);
        assert_int_equal(p.n_advisories, 1);
        assert_string_equal(p.advisories[0], "*");
        vt_policy_free(&p);
    }
    vt_policy p;
    vt_error e;
    assert_int_equal(parse("{\"id\":\"x\",\"tcb\":{\"allowed_advisories\":\"INTEL-SA-00615\"}}", &p, &e),
                     VT_E_INVALID);
    assert_non_null(strstr(e.msg, "policy.tcb.allowed_advisories: expected an array of advisory ids, or \"*\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(examples_load), cmocka_unit_test(u64_forms), cmocka_unit_test(fields),
        cmocka_unit_test(hostile),       cmocka_unit_test(refvals_formats), cmocka_unit_test(refvals_cca_stores),
        cmocka_unit_test(advisories_any),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
