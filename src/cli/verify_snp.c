/* veritee verify --tee snp: an SEV-SNP report (optionally followed by its certificate table)
 * verified down to the AMD root with certificates from --certs/--collateral and the AMD KDS
 * cache (--cache, filled by --kds-url), ARKs from --trust (default: the built-in pinned ARK
 * fingerprints), at --at. Exit codes per cli.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "veritee/codec.h"
#include "veritee/fileio.h"
#include "veritee/snp.h"
#include "veritee/snp_kds.h"

/* Load a directory's certificates (and CRLs) into the verifier; trust=true pins its ARKs. */
static vt_err load_dir(vt_snp_verifier *v, const char *dir, bool trust, vt_snp_dir_collateral *keep,
                       vt_error *e)
{
    VT_GUARD(vt_snp_dir_collateral_load(dir, keep, e));
    for (int i = 0; i < sk_X509_CRL_num(keep->crls); i++)
        VT_GUARD(vt_snp_verifier_add_crl(v, sk_X509_CRL_value(keep->crls, i), e));
    if (!trust) return VT_OK;
    for (int i = 0; i < sk_X509_num(keep->certs); i++)
        VT_GUARD(vt_snp_verifier_add_trust_cert(v, sk_X509_value(keep->certs, i), e));
    return VT_OK;
}

/* AMD KDS asked us to wait (429/503): say so on stderr, then wait; the library stays silent. */
static void kds_wait(void *ctx, long ms)
{
    (void)ctx;
    fprintf(stderr, "veritee verify: AMD KDS is rate-limiting (429/503): retrying in %.1f s\n", (double)ms / 1000);
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* --kds-url URL --cache DIR: fetch what the report lacks into the cache; --cache DIR alone:
 * read what the cache holds for this report. Loads the chain and leaf directories into keep. */
static vt_err load_kds(const cli_verify_args *a, vt_snp_product product, vt_snp_verifier *v,
                       vt_snp_dir_collateral keep[2], vt_error *e)
{
    vt_bytes rep, tab;
    vt_snp_report r;
    vt_snp_kds_plan plan;
    VT_GUARD(vt_snp_evidence_split(a->evidence.ptr, a->evidence.len, &rep, &tab, e));
    VT_GUARD(vt_snp_report_parse(rep.ptr, rep.len, &r, e));
    if (a->kds_url != NULL) {
        if (a->cache_dir == NULL)
            return vt_error_set(e, VT_E_ARG, "kds", "--kds-url needs --cache DIR");
        vt_snp_kds_opts o = {.base_url = a->kds_url, .cache_dir = a->cache_dir, .product = product, .at = a->at,
                             .sleep_ms = kds_wait};
        vt_snp_kds_result res;
        VT_GUARD(vt_snp_kds_fetch(&o, &r, &res, e));
        plan = res.plan;
    } else {
        VT_GUARD(vt_snp_kds_plan_for(&r, product, a->cache_dir, &plan, e));
    }
    const char *dirs[2] = {plan.chain_dir, plan.leaf_dir};
    for (int i = 0; i < 2; i++)
        if (dirs[i][0] != '\0' && vt_file_exists(dirs[i])) VT_GUARD(load_dir(v, dirs[i], false, &keep[i], e));
    return VT_OK;
}

static int usage_error(const cli_verify_args *a, const vt_error *e)
{
    fprintf(stderr, "veritee verify: %s: %s\n", a->file, e->msg);
    return cli_exit_for(e->code) == VT_EXIT_MISSING ? VT_EXIT_MISSING : VT_EXIT_USAGE;
}

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

static int parse_opts(const cli_verify_args *a, vt_snp_verify_opts *o, vt_buf *nonce, vt_error *e)
{
    o->at = a->at;
    if (a->product != NULL && vt_snp_product_parse(a->product, &o->product, e) != VT_OK)
        return usage_error(a, e);
    if (a->nonce_hex != NULL) {
        if (vt_hex_decode(a->nonce_hex, strlen(a->nonce_hex), nonce, e) != VT_OK ||
            nonce->len == 0 || nonce->len > 64) {
            vt_error_set(e, VT_E_ARG, "report_data", "--nonce must be 1..64 bytes of hex");
            return usage_error(a, e);
        }
        o->report_data = nonce->ptr;
        o->report_data_len = nonce->len;
    }
    return VT_EXIT_OK;
}

int cli_verify_snp(cli_verify_args *a)
{
    vt_error e;
    vt_error_clear(&e);
    vt_checks ck = {0};
    vt_snp_verify_opts o = {0};
    vt_buf nonce = {0};
    vt_snp_dir_collateral trust = {0}, certs = {0}, coll = {0}, kds[2] = {{0}, {0}};
    vt_snp_verifier *v = NULL;
    vt_snp_claims claims;
    int ex = parse_opts(a, &o, &nonce, &e);
    if (ex != VT_EXIT_OK) goto out;
    if (vt_snp_verifier_new(&v, &e) != VT_OK ||
        (a->trust_dir && load_dir(v, a->trust_dir, true, &trust, &e) != VT_OK) ||
        (a->certs_dir && load_dir(v, a->certs_dir, false, &certs, &e) != VT_OK) ||
        (a->collateral_dir && load_dir(v, a->collateral_dir, false, &coll, &e) != VT_OK) ||
        ((a->kds_url || a->cache_dir) && load_kds(a, o.product, v, kds, &e) != VT_OK)) {
        ex = usage_error(a, &e);
        goto out;
    }
    STACK_OF(X509) *all = sk_X509_new_null();
    for (int i = 0; certs.certs && i < sk_X509_num(certs.certs); i++) sk_X509_push(all, sk_X509_value(certs.certs, i));
    for (int i = 0; coll.certs && i < sk_X509_num(coll.certs); i++) sk_X509_push(all, sk_X509_value(coll.certs, i));
    for (int k = 0; k < 2; k++)
        for (int i = 0; kds[k].certs && i < sk_X509_num(kds[k].certs); i++)
            sk_X509_push(all, sk_X509_value(kds[k].certs, i));
    vt_snp_collateral c = {.certs = all};
    vt_err rc = vt_snp_verify(v, a->evidence.ptr, a->evidence.len, &c, &o, &claims, &ck, &e);
    sk_X509_free(all);
    if (rc != VT_OK) ex = cli_report_error(a, "snp", &e, &ck);
    else if (a->json) ex = print_json(a, &claims, &ck);
    else {
        print_text(a, &claims, &ck);
        ex = VT_EXIT_OK;
    }
out:
    vt_snp_verifier_free(v);
    vt_snp_dir_collateral_free(&trust);
    vt_snp_dir_collateral_free(&certs);
    vt_snp_dir_collateral_free(&coll);
    vt_snp_dir_collateral_free(&kds[0]);
    vt_snp_dir_collateral_free(&kds[1]);
    vt_buf_free(&nonce);
    return ex;
}
