/* veritee verify --tee az-snp-vtpm | az-tdx-vtpm | tpm: printing a verified result (text or
 * --json) of Azure confidential VMs with a vTPM and of CoCo TPM evidence; verification goes
 * through the one entry (vt_verify) like every kind. docs/azure.md. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "veritee/verify.h"

static void print_text(const cli_verify_args *a, const json_t *c, const vt_checks *ck)
{
    printf("%s: %s evidence VERIFIED\n", a->file, a->tee);
    cli_print_checks(stdout, ck);
    printf("claims:\n");
    const char *keys[] = {"report_data", "init_data"};
    for (int i = 0; i < 2; i++) {
        const char *s = json_string_value(json_object_get(c, keys[i]));
        if (s != NULL) printf("  %-16s%s\n", keys[i], s);
    }
    json_t *hw = json_object_get(c, "snp");
    if (hw == NULL) hw = json_object_get(c, "tdx");
    const char *m = json_string_value(json_object_get(hw, "measurement"));
    if (m == NULL) m = json_string_value(json_object_get(hw, "mr_td"));
    if (m != NULL) printf("  %-16s%s\n", "measurement", m);
    json_t *pcrs = json_object_get(c, "tpm");
    if (pcrs == NULL) pcrs = json_object_get(c, "pcrs");
    const char *k;
    json_t *v;
    json_object_foreach(pcrs, k, v) printf("  %-16s%s\n", k, json_string_value(v));
}

int cli_print_tpm(const cli_verify_args *a, const vt_verify_result *r)
{
    if (!a->json) {
        print_text(a, r->tpm_claims, &r->checks);
        return VT_EXIT_OK;
    }
    json_t *o = json_pack("{s:s, s:s, s:b}", "file", a->file, "tee", a->tee, "verified", 1);
    json_object_update(o, r->tpm_claims);
    json_object_set_new(o, "checks", vt_checks_json(&r->checks));
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s != NULL) printf("%s\n", s);
    free(s);
    json_decref(o);
    return VT_EXIT_OK;
}
