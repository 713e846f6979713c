/* veritee verify --tee snp: printing a verified SEV-SNP report (text or --json). Verification
 * (certificates from --certs/--collateral, the AMD KDS cache, ARKs from --trust) is the verify
 * layer's (include/veritee/verify.h). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "veritee/codec.h"
#include "veritee/snp.h"
#include "veritee/verify.h"

static void print_tcb(const char *name, const vt_snp_tcb *t)
{
    printf("  %-16s", name);
    if (t->has_fmc) printf("fmc %u ", t->fmc);
    printf("bl %u tee %u snp %u microcode %u (0x%016llx)\n", t->boot_loader, t->tee, t->snp,
           t->microcode, (unsigned long long)t->raw);
}

static void print_text(const cli_verify_args *a, const vt_snp_claims *c, const vt_checks *ck)
{
    const vt_snp_report *r = &c->report;
    char hex[129];
    printf("%s: snp evidence VERIFIED (%s, report v%u, %s, VMPL %u)%s\n", a->file,
           vt_snp_product_name(c->product), r->version, vt_snp_signing_key_name(c->signer), r->vmpl,
           c->emulated ? " (EMULATED TEE: test evidence)" : "");
    cli_print_checks(stdout, ck);
    printf("claims:\n");
    vt_hex_encode(r->measurement, 48, hex);
    printf("  %-16s%s\n", "measurement", hex);
    vt_hex_encode(r->report_data, 64, hex);
    printf("  %-16s%s\n", "report_data", hex);
    vt_hex_encode(r->host_data, 32, hex);
    printf("  %-16s%s\n", "host_data", hex);
    vt_hex_encode(r->chip_id, 64, hex);
    printf("  %-16s%s\n", "chip_id", hex);
    printf("  %-16s0x%llx (debug %s, smt %s, migrate_ma %s)\n", "policy",
           (unsigned long long)r->policy.raw, r->policy.debug ? "yes" : "no",
           r->policy.smt ? "yes" : "no", r->policy.migrate_ma ? "yes" : "no");
    printf("  %-16s%u\n", "guest_svn", r->guest_svn);
    print_tcb("reported_tcb", &c->reported_tcb);
    print_tcb("committed_tcb", &c->committed_tcb);
    printf("  %-16s%u.%u.%u (committed %u.%u.%u)\n", "firmware", r->current_version.major,
           r->current_version.minor, r->current_version.build, r->committed_version.major,
           r->committed_version.minor, r->committed_version.build);
}

static int print_json(const cli_verify_args *a, const vt_snp_claims *c, const vt_checks *ck)
{
    json_t *o = json_pack("{s:s, s:s, s:b}", "file", a->file, "tee", "snp", "verified", 1);
    json_t *cl = vt_snp_claims_json(c);
    if (o == NULL || cl == NULL || json_object_update(o, cl) != 0) {
        json_decref(o);
        json_decref(cl);
        fprintf(stderr, "veritee verify: out of memory\n");
        return VT_EXIT_USAGE;
    }
    json_decref(cl);
    json_object_set_new(o, "checks", vt_checks_json(ck));
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s != NULL) printf("%s\n", s);
    free(s);
    json_decref(o);
    return VT_EXIT_OK;
}

int cli_print_snp(const cli_verify_args *a, const vt_verify_result *r)
{
    if (a->json) return print_json(a, r->snp, &r->checks);
    print_text(a, r->snp, &r->checks);
    return VT_EXIT_OK;
}
