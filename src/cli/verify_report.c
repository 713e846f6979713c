/* veritee verify: how checks and failures are printed, the same for every TEE (verify.c and
 * the per-TEE printers verify_*.c). */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>

#include "cli.h"
#include "veritee/json.h"
#include "veritee/verify.h"

void cli_print_checks(FILE *f, const vt_checks *c)
{
    for (size_t i = 0; c != NULL && i < c->n; i++)
        fprintf(f, "  [%s] %-28s %s\n", vt_check_status_name(c->items[i].status), c->items[i].name,
                c->items[i].detail);
}

/* Where a missing item comes from, in the command's words (the library speaks of inputs). */
static const char *missing_hint(const char *tee)
{
    if (strcmp(tee, "tdx") == 0 || strcmp(tee, "sgx") == 0)
        return "give the PCS collateral with --collateral DIR, or fetch it from Intel PCS with --pcs-url "
               "https://api.trustedservices.intel.com --cache DIR (or once, with 'veritee collateral fetch', "
               "docs/collateral.md)";
    if (strcmp(tee, "snp") == 0)
        return "give the VCEK, ASK and ARK with --certs/--collateral DIR (the ARKs of Milan, Genoa and Turin are "
               "pinned: no --trust needed), read them from a cache with --cache DIR, or fetch them with --kds-url URL "
               "--cache DIR (docs/snp.md)";
    if (strcmp(tee, "cca") == 0) return "give CPAK trust anchors with --trust DIR or --cpak FILE";
    if (strcmp(tee, "nvidia") == 0) return "give the NVIDIA device root with --trust FILE|DIR";
    return NULL;
}

int cli_report_error(const cli_verify_args *a, const char *tee, const vt_error *e,
                     const vt_checks *checks)
{
    int ex = cli_exit_for(e->code);
    if (a->json) {
        json_t *o = json_pack("{s:s, s:s, s:b, s:{s:s, s:s, s:s}}", "file", a->file, "tee", tee,
                              "verified", 0, "error", "code", vt_code_name(e->code), "check",
                              e->check, "message", e->msg);
        if (o != NULL && checks != NULL) json_object_set_new(o, "checks", vt_checks_json(checks));
        char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        if (s != NULL) printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        if (checks != NULL && checks->n > 0) {
            printf("%s: %s evidence REJECTED\n", a->file, tee);
            cli_print_checks(stdout, checks);
        }
    }
    fprintf(stderr, "veritee: %s%s%s: %s\n", tee, e->check[0] ? " " : "", e->check, e->msg);
    const char *hint = e->code == VT_E_MISSING ? missing_hint(tee) : NULL;
    if (hint != NULL) fprintf(stderr, "veritee: %s\n", hint);
    return ex;
}

/* AMD KDS asked us to wait (429/503): say so on stderr, then wait; the library stays silent. */
