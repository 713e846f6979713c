/* veritee verify --tee nvidia: printing a verified GPU evidence list (Trustee's
 * device_evidence_list JSON), verified through the one entry (vt_verify) like every TEE. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "veritee/verify.h"

static void print_text(const cli_verify_args *a, json_t *claims, const vt_checks *c)
{
    json_t *devs = json_object_get(claims, "devices"), *d;
    size_t i;
    printf("%s: NVIDIA GPU evidence (%zu device%s) VERIFIED\n", a->file, json_array_size(devs),
           json_array_size(devs) == 1 ? "" : "s");
    json_array_foreach(devs, i, d) {
        json_t *cfg = json_object_get(d, "config");
        printf("  gpu%zu %-10s ueid %s\n", i, json_string_value(json_object_get(d, "arch")),
               json_string_value(json_object_get(d, "ueid")));
        printf("    %-20s %s\n", "uuid (unverified)",
               json_is_string(json_object_get(d, "uuid")) ? json_string_value(json_object_get(d, "uuid")) : "-");
        printf("    %-20s %s\n", "nonce", json_string_value(json_object_get(d, "nonce")));
        printf("    %-20s %s\n", "driver_version", json_string_value(json_object_get(cfg, "driver_version")));
        printf("    %-20s %s\n", "vbios_version", json_string_value(json_object_get(cfg, "vbios_version")));
        const char *ff = json_string_value(json_object_get(cfg, "feature_flag"));
        printf("    %-20s %s\n", "cc_mode", ff != NULL ? ff : "not shown (no feature_flag in the report)");
        printf("    %-20s %zu (see --json)\n", "measurements",
               json_object_size(json_object_get(d, "measurements")));
    }
    printf("checks:\n");
    cli_print_checks(stdout, c);
    json_array_foreach(devs, i, d) {
        if (json_is_true(json_object_get(d, "emulated"))) {
            printf("EMULATED GPU: test evidence, not hardware (gpu%zu)\n", i);
        }
    }
}

int cli_print_nvidia(const cli_verify_args *a, const struct vt_verify_result *r)
{
    if (!a->json) {
        print_text(a, r->nvidia, &r->checks);
        return VT_EXIT_OK;
    }
    json_t *j = json_pack("{s:s, s:s, s:b}", "file", a->file, "tee", "nvidia", "verified", 1);
    if (j != NULL) {
        json_object_update(j, r->nvidia);
        json_object_set_new(j, "checks", vt_checks_json(&r->checks));
        json_object_set_new(j, "sources", cli_nv_stats_json(&a->nv));
    }
    char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (s != NULL) printf("%s\n", s);
    free(s);
    json_decref(j);
    return s != NULL ? VT_EXIT_OK : VT_EXIT_USAGE;
}
