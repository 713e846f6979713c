/* Policy rules over TPM quotes (docs/policy.md, section "tpm"; src/appraise/policy_tpm.c):
 * expected PCRs per bank and index, allowed AAEL events ("only these images were pulled"),
 * Secure Boot, init-data in PCR8, and the SNP/TDX rules applied to the report inside Azure
 * evidence. Mistaken policies are refused naming the key path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/crypto.h"
#include "veritee/policy.h"
#include "veritee/tpm.h"

static void parse_ok(const char *text, vt_policy *p)
{
    vt_error e;
    if (vt_policy_parse(text, strlen(text), p, &e) != VT_OK) fail_msg("%s: %s", text, e.msg);
}

static const vt_appraisal_check *find(const vt_appraisal *a, const char *name)
{
    for (size_t i = 0; i < a->n_checks; i++)
        if (strcmp(a->checks[i].name, name) == 0) return &a->checks[i];
    return NULL;
}

/* az-snp-vtpm claims: PCR0 = a0.., PCR8 = one extend of `id`, one AAEL pull of busybox. */
static void claims(vt_claims *c, const uint8_t id[32], const char *image)
{
    memset(c, 0, sizeof *c);
    c->tee = VT_TEE_AZ_SNP_VTPM;
    c->verified = true;
    c->u.snp.vmpl = 0;
    c->u.snp.policy = 0x3001F;
    c->tpm.present = true;
    c->tpm.n_pcrs = 2;
    c->tpm.pcrs[0] = (vt_claims_pcr){.bank = VT_TPM_ALG_SHA256, .index = 0, .len = 32};
    memset(c->tpm.pcrs[0].value, 0xa0, 32);
    c->tpm.pcrs[1] = (vt_claims_pcr){.bank = VT_TPM_ALG_SHA256, .index = 8, .len = 32};
    uint8_t zero[32] = {0};
    assert_int_equal(vt_hash2(VT_SHA256, zero, 32, id, 32, c->tpm.pcrs[1].value, NULL), VT_OK);
    snprintf(c->init_data_name, sizeof c->init_data_name, "pcr8");
    memcpy(c->init_data, c->tpm.pcrs[1].value, 32);
    c->init_data_len = 32;
    c->tpm.has_runtime_claims = true;
    c->tpm.secure_boot = 1;
    c->tpm.has_event_log = true;
    c->tpm.n_events = 1;
    vt_claims_event *ev = &c->tpm.events[0];
    ev->index = 1;
    ev->pcr = 23;
    ev->aael = true;
    snprintf(ev->domain, sizeof ev->domain, "github.com/confidential-containers");
    snprintf(ev->operation, sizeof ev->operation, "PullImage");
    snprintf(ev->content, sizeof ev->content, "{\"image\":\"%s\",\"digest\":\"sha256:00\"}", image);
}

static const char *POLICY =
    "{\"id\":\"az\",\"version\":1,\"tee_types\":[\"az-snp-vtpm\"],\"snp\":{\"max_vmpl\":0},"
    "\"tpm\":{\"pcrs\":{\"sha256\":{\"0\":\"a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0\"}},"
    "\"aael\":{\"allowed\":[{\"domain\":\"github.com/confidential-containers\",\"operation\":\"PullImage\","
    "\"image\":\"docker.io/library/busybox:1.36\"},{\"operation\":\"CreateContainer\"}]},\"secure_boot\":true}}";

static void test_affirming(void **state)
{
    (void)state;
    vt_policy p;
    parse_ok(POLICY, &p);
    uint8_t id[32] = {9};
    static vt_claims c;
    claims(&c, id, "docker.io/library/busybox:1.36");
    vt_appraise_ctx ctx = {.at = 1750000000, .init_data = id, .init_data_len = 32};
    vt_appraisal a;
    vt_error e;
    assert_int_equal(vt_policy_appraise(&p, &c, &ctx, &a, &e), VT_OK);
    const char *pass[] = {"tee_type", "pcr.sha256.0", "aael_events", "secure_boot", "init_data", "vmpl"};
    for (size_t i = 0; i < sizeof pass / sizeof pass[0]; i++) {
        const vt_appraisal_check *k = find(&a, pass[i]);
        if (k == NULL || k->status != VT_CHECK_PASS) fail_msg("%s: %s", pass[i], k ? k->detail : "absent");
    }
    vt_policy_free(&p);
}

static void test_refusals(void **state)
{
    (void)state;
    vt_policy p;
    parse_ok(POLICY, &p);
    uint8_t id[32] = {9}, other[32] = {8};
    static vt_claims c;
    vt_appraisal a;
    vt_error e;
    vt_appraise_ctx ctx = {.at = 1750000000};
    /* an image the policy does not list */
    claims(&c, id, "docker.io/evil/miner:latest");
    assert_int_equal(vt_policy_appraise(&p, &c, &ctx, &a, &e), VT_OK);
    assert_int_equal(find(&a, "aael_events")->status, VT_CHECK_FAIL);
    assert_non_null(strstr(find(&a, "aael_events")->detail, "evil/miner"));
    assert_int_equal(a.status, VT_EAR_CONTRAINDICATED);
    /* a text the policy allows by operation alone */
    claims(&c, id, "x");
    snprintf(c.tpm.events[0].operation, sizeof c.tpm.events[0].operation, "CreateContainer");
    assert_int_equal(vt_policy_appraise(&p, &c, &ctx, &a, &e), VT_OK);
    assert_int_equal(find(&a, "aael_events")->status, VT_CHECK_PASS);
    /* a truncated field never matches; a truncated log cannot be shown allowed */
    claims(&c, id, "docker.io/library/busybox:1.36");
    c.tpm.events[0].aael_truncated = true;
    assert_int_equal(vt_policy_appraise(&p, &c, &ctx, &a, &e), VT_OK);
    assert_int_equal(find(&a, "aael_events")->status, VT_CHECK_FAIL);
    claims(&c, id, "docker.io/library/busybox:1.36");
    c.tpm.events_truncated = true;
    assert_int_equal(vt_policy_appraise(&p, &c, &ctx, &a, &e), VT_OK);
    assert_int_equal(find(&a, "aael_events")->status, VT_CHECK_FAIL);
    /* PCR0 another value; PCR not quoted */
    claims(&c, id, "docker.io/library/busybox:1.36");
    c.tpm.pcrs[0].value[31] ^= 1;
    assert_int_equal(vt_policy_appraise(&p, &c, &ctx, &a, &e), VT_OK);
    assert_int_equal(find(&a, "pcr.sha256.0")->status, VT_CHECK_FAIL);
    c.tpm.n_pcrs = 0;
    assert_int_equal(vt_policy_appraise(&p, &c, &ctx, &a, &e), VT_OK);
    assert_int_equal(find(&a, "pcr.sha256.0")->status, VT_CHECK_FAIL);
    /* Secure Boot off */
    claims(&c, id, "docker.io/library/busybox:1.36");
    c.tpm.secure_boot = 0;
    assert_int_equal(vt_policy_appraise(&p, &c, &ctx, &a, &e), VT_OK);
    assert_int_equal(find(&a, "secure_boot")->status, VT_CHECK_FAIL);
    /* init-data: PCR8 binds `id` by one extend, not `other`, and not the raw digest */
    claims(&c, id, "docker.io/library/busybox:1.36");
    ctx.init_data = other;
    ctx.init_data_len = 32;
    assert_int_equal(vt_policy_appraise(&p, &c, &ctx, &a, &e), VT_OK);
    assert_int_equal(find(&a, "init_data")->status, VT_CHECK_FAIL);
    ctx.init_data = c.init_data; /* PCR8 itself is not the digest */
    assert_int_equal(vt_policy_appraise(&p, &c, &ctx, &a, &e), VT_OK);
    assert_int_equal(find(&a, "init_data")->status, VT_CHECK_FAIL);
    /* the SNP rules see the report inside: VMPL 1 violates max_vmpl 0 */
    claims(&c, id, "docker.io/library/busybox:1.36");
    c.u.snp.vmpl = 1;
    ctx.init_data = NULL;
    assert_int_equal(vt_policy_appraise(&p, &c, &ctx, &a, &e), VT_OK);
    assert_int_equal(find(&a, "vmpl")->status, VT_CHECK_FAIL);
    /* evidence without a TPM quote: the section is skipped, said so */
    memset(&c, 0, sizeof c);
    c.tee = VT_TEE_SNP;
    c.verified = true;
    assert_int_equal(vt_policy_appraise(&p, &c, &ctx, &a, &e), VT_OK);
    assert_int_equal(find(&a, "tpm")->status, VT_CHECK_SKIP);
    assert_int_equal(find(&a, "tee_type")->status, VT_CHECK_FAIL);
    vt_policy_free(&p);
}

static void test_event_log_required(void **state)
{
    (void)state;
    vt_policy p;
    parse_ok("{\"id\":\"x\",\"version\":1,\"tpm\":{\"aael\":{\"require_event_log\":true}}}", &p);
    uint8_t id[32] = {0};
    static vt_claims c;
    claims(&c, id, "a");
    vt_appraise_ctx ctx = {.at = 1750000000};
    vt_appraisal a;
    vt_error e;
    assert_int_equal(vt_policy_appraise(&p, &c, &ctx, &a, &e), VT_OK);
    assert_int_equal(find(&a, "aael_events")->status, VT_CHECK_PASS);
    c.tpm.has_event_log = false;
    assert_int_equal(vt_policy_appraise(&p, &c, &ctx, &a, &e), VT_OK);
    assert_int_equal(find(&a, "aael_events")->status, VT_CHECK_FAIL);
    vt_policy_free(&p);
}

static void test_mistakes_named(void **state)
{
    (void)state;
    struct {
        const char *tpm, *path;
    } rows[] = {
        {"{\"pcrs\":{\"md5\":{\"0\":[\"00\"]}}}", "tpm.pcrs.md5"},
        {"{\"pcrs\":{\"sha256\":{\"24\":[\"00\"]}}}", "tpm.pcrs.sha256.24"},
        {"{\"pcrs\":{\"sha256\":{\"x\":[\"00\"]}}}", "tpm.pcrs.sha256.x"},
        {"{\"pcrs\":{\"sha256\":{\"0\":[\"zz\"]}}}", "tpm.pcrs.sha256.0"},
        {"{\"aael\":{\"allowed\":[{\"content\":\"a\",\"image\":\"b\"}]}}", "tpm.aael.allowed[0]"},
        {"{\"aael\":{\"allowed\":[{\"imag\":\"b\"}]}}", "tpm.aael.allowed[0]"},
        {"{\"aael\":{\"allowed\":[{\"domain\":7}]}}", "tpm.aael.allowed[0].domain"},
        {"{\"secure_boot\":\"yes\"}", "tpm.secure_boot"},
        {"{\"pcr\":{}}", "tpm"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "{\"id\":\"x\",\"version\":1,\"tpm\":%s}", rows[i].tpm);
        vt_policy p;
        vt_error e;
        assert_int_equal(vt_policy_parse(text, strlen(text), &p, &e), VT_E_INVALID);
        if (strstr(e.msg, rows[i].path) == NULL) fail_msg("%s: '%s' lacks %s", rows[i].tpm, e.msg, rows[i].path);
    }
    vt_policy p;
    vt_error e;
    const char *t = "{\"id\":\"x\",\"version\":1,\"tee_types\":[\"az-tdx-vtpm\",\"tpm\"]}";
    assert_int_equal(vt_policy_parse(t, strlen(t), &p, &e), VT_OK);
    assert_int_equal(p.tee_mask, (1u << VT_TEE_AZ_TDX_VTPM) | (1u << VT_TEE_TPM));
    vt_policy_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_affirming),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_event_log_required),
        cmocka_unit_test(test_mistakes_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
