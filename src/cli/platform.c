/* veritee platform: what this machine is (TEE host, TEE guest, or neither), one fact per line
 * with what to do about it (specs/vm-launch.md §1). */
#include <string.h>

#include "cli.h"
#include "veritee/vm.h"

static void usage(FILE *f)
{
    cli_usage(f, "platform");
}

static void print_json(const vt_host_report *r)
{
    json_t *o = json_object(), *facts = json_array();
    json_object_set_new(o, "host", json_pack("{s:b, s:b, s:b}", "tdx", r->tdx_host, "snp",
                                             r->snp_host, "cca", r->cca_host));
    json_object_set_new(o, "guest", json_pack("{s:b, s:b, s:b}", "tdx", r->tdx_guest, "snp",
                                              r->snp_guest, "cca", r->cca_guest));
    for (size_t i = 0; i < r->n; i++) {
        const vt_host_fact *f = &r->facts[i];
        json_t *j = json_pack("{s:s, s:s, s:s}", "name", f->name, "answer",
                              vt_host_answer_name(f->answer), "detail", f->detail);
        if (j && f->advice[0]) json_object_set_new(j, "advice", json_string(f->advice));
        json_array_append_new(facts, j);
    }
    json_object_set_new(o, "facts", facts);
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", s ? s : "{}");
    free(s);
    json_decref(o);
}

static void print_text(const vt_host_report *r)
{
    printf("host: tdx %s, snp %s, cca %s\n", r->tdx_host ? "ready" : "no",
           r->snp_host ? "ready" : "no", r->cca_host ? "ready" : "not confirmed");
    printf("guest: tdx %s, snp %s, cca %s\n", r->tdx_guest ? "yes" : "no",
           r->snp_guest ? "yes" : "no", r->cca_guest ? "yes" : "no");
    for (size_t i = 0; i < r->n; i++) {
        const vt_host_fact *f = &r->facts[i];
        printf("  %-20s %-7s %s\n", f->name, vt_host_answer_name(f->answer), f->detail);
        if (f->advice[0]) printf("  %-20s %-7s -> %s\n", "", "", f->advice);
    }
}

int cmd_platform(int argc, char **argv)
{
    bool json = false;
    const char *root = "/";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = true;
        else if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) root = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return VT_EXIT_OK;
        } else {
            return cli_bad_arg("platform", argv[i]);
        }
    }
    vt_host_report *r = calloc(1, sizeof *r);
    if (r == NULL) return VT_EXIT_USAGE;
    vt_error e;
    vt_error_clear(&e);
    if (vt_host_report_build(root, r, &e) != VT_OK) {
        fprintf(stderr, "veritee platform: %s\n", e.msg);
        free(r);
        return cli_exit_for(e.code);
    }
    if (json) print_json(r);
    else print_text(r);
    free(r);
    return VT_EXIT_OK;
}
