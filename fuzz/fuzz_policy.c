/* libFuzzer target: the policy parser (docs/policy.md), then an appraisal of fixed claims with
 * whatever policy parsed, and the reference-value loader on the same bytes. */
#include <stdint.h>
#include <string.h>

#include "veritee/policy.h"
#include "veritee/refvals.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_policy p;
    vt_error e;
    static vt_claims c; /* zero claims of each TEE in turn, with a few fields set */
    if (vt_policy_parse((const char *)data, size, &p, &e) == VT_OK) {
        vt_appraise_ctx ctx = {.at = 1750000000};
        static vt_appraisal a;
        for (int t = VT_TEE_SGX; t <= VT_TEE_TPM; t++) {
            memset(&c, 0, sizeof c);
            c.tee = (vt_tee)t;
            c.verified = true;
            c.debug = t == VT_TEE_SNP;
            c.has_tcb_status = t <= VT_TEE_TDX;
            c.n_advisories = 1;
            memcpy(c.advisories[0], "INTEL-SA-00615", 15);
            c.report_data_len = 64;
            c.init_data_len = 48;
            snprintf(c.init_data_name, sizeof c.init_data_name, "mr_config_id");
            (void)vt_claims_set_meas(&c, "mr_td", c.report_data, 48, NULL);
            (void)vt_claims_set_meas(&c, "rim", c.report_data, 32, NULL);
            c.u.cca.n_sw = t == VT_TEE_CCA ? 1 : 0;
            if (vt_tee_has_tpm((vt_tee)t)) { /* a quote: PCR0, PCR8 and one AAEL event */
                c.tpm.present = true;
                c.tpm.n_pcrs = 2;
                c.tpm.pcrs[0] = (vt_claims_pcr){.bank = 0x000B, .index = 0, .len = 32};
                c.tpm.pcrs[1] = (vt_claims_pcr){.bank = 0x000B, .index = 8, .len = 32};
                c.tpm.has_event_log = true;
                c.tpm.n_events = 1;
                c.tpm.events[0].aael = true;
                snprintf(c.tpm.events[0].operation, sizeof c.tpm.events[0].operation, "PullImage");
                snprintf(c.tpm.events[0].content, sizeof c.tpm.events[0].content, "{\"image\":\"a\"}");
                c.tpm.has_runtime_claims = true;
                c.tpm.secure_boot = 1;
                snprintf(c.init_data_name, sizeof c.init_data_name, "pcr8");
                c.init_data_len = 32;
            }
            (void)vt_policy_appraise(&p, &c, &ctx, &a, &e);
        }
        vt_policy_free(&p);
    }
    vt_refvals rv;
    vt_refvals_init(&rv);
    (void)vt_refvals_load_mem(&rv, (const char *)data, size, "fuzz", &e);
    vt_refvals_free(&rv);
    return 0;
}
