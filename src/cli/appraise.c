/* veritee appraise: verify evidence, appraise it against a policy and reference values, print
 * the result and write a signed EAR (docs/policy.md, docs/ear.md). Exit 0 only when every
 * appraisal is affirming. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "appraise_cli.h"
#include "veritee/ear.h"
#include "veritee/fileio.h"
#include "veritee/refvals.h"
#include "veritee/verify.h"

#define APPRAISE_MAX_EVIDENCE 8

static void usage(FILE *f)
{
    cli_usage(f, "appraise");
}

static int bad(const char *what, const vt_error *e)
{
    fprintf(stderr, "veritee appraise: %s%s%s\n", what, e ? ": " : "", e ? e->msg : "");
    return e ? cli_exit_for(e->code) : VT_EXIT_USAGE;
}

static int parse(int argc, char **argv, appraise_args *a)
{
    enum { O_POL = 256, O_RV, O_TRUST, O_COLL, O_CERTS, O_CPAK, O_PROD, O_TEE, O_AT, O_NONCE, O_INIT,
           O_KEY, O_OUT, O_ALG, O_TTL, O_NAMING, O_JSON, O_CRL, O_CHECKS, O_PCS, O_KDS, O_CACHE, O_GPU, O_GPU_NONCE,
           O_OCSP };
    static const struct option opts[] = {
        {"policy", 1, 0, O_POL}, {"refvals", 1, 0, O_RV}, {"trust", 1, 0, O_TRUST},
        {"collateral", 1, 0, O_COLL}, {"certs", 1, 0, O_CERTS}, {"cpak", 1, 0, O_CPAK},
        {"product", 1, 0, O_PROD}, {"tee", 1, 0, O_TEE}, {"at", 1, 0, O_AT}, {"nonce", 1, 0, O_NONCE},
        {"init-data", 1, 0, O_INIT}, {"ear-key", 1, 0, O_KEY}, {"ear-out", 1, 0, O_OUT},
        {"ear-alg", 1, 0, O_ALG}, {"ttl", 1, 0, O_TTL}, {"naming", 1, 0, O_NAMING},
        {"json", 0, 0, O_JSON}, {"allow-missing-crl", 0, 0, O_CRL}, {"ear-checks", 0, 0, O_CHECKS},
        {"pcs-url", 1, 0, O_PCS}, {"kds-url", 1, 0, O_KDS}, {"cache", 1, 0, O_CACHE},
        {"gpu-evidence", 1, 0, O_GPU}, {"gpu-nonce", 1, 0, O_GPU_NONCE}, {"ocsp-response", 1, 0, O_OCSP},
        {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    vt_error e;
    vt_error_clear(&e);
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_POL: a->policy_file = optarg; break;
        case O_RV:
            if (a->n_refvals == sizeof a->refvals / sizeof a->refvals[0]) return bad("too many --refvals", NULL);
            a->refvals[a->n_refvals++] = optarg;
            break;
        case O_TRUST: a->trust_dir = optarg; break;
        case O_COLL: a->collateral_dir = optarg; break;
        case O_CERTS: a->certs_dir = optarg; break;
        case O_CPAK: a->cpak_file = optarg; break;
        case O_PROD: a->product = optarg; break;
        case O_TEE: a->tee = optarg; break;
        case O_AT:
            if (vt_time_parse_rfc3339(optarg, &a->at, &e) != VT_OK) return bad("--at", &e);
            break;
        case O_NONCE: a->nonce_hex = optarg; break;
        case O_INIT: a->init_data_hex = optarg; break;
        case O_KEY: a->ear_key = optarg; break;
        case O_OUT: a->ear_out = optarg; break;
        case O_ALG: a->ear_alg = optarg; break;
        case O_TTL: {
            char *end = NULL;
            long long v = strtoll(optarg, &end, 10);
            if (end == optarg || *end != '\0' || v < 0 || v > 366LL * 86400) return bad("--ttl: 0..31622400 seconds", NULL);
            a->ttl = v;
            break;
        }
        case O_NAMING: a->naming = optarg; break;
        case O_JSON: a->json = true; break;
        case O_CRL: a->allow_missing_crl = true; break;
        case O_CHECKS: a->checks_in_ear = true; break;
        case O_PCS: a->pcs_url = optarg; break;
        case O_KDS: a->kds_url = optarg; break;
        case O_CACHE: a->cache_dir = optarg; break;
        case O_GPU: a->gpu_evidence = optarg; break;
        case O_GPU_NONCE: a->gpu_nonce_hex = optarg; break;
        case O_OCSP: a->ocsp = optarg; break;
        case 'h': usage(stdout); return -1;
        default: return cli_bad_option("appraise", argv);
        }
    }
    if (a->policy_file == NULL || optind >= argc) {
        usage(stderr);
        return VT_EXIT_USAGE;
    }
    if (argc - optind > APPRAISE_MAX_EVIDENCE) return bad("at most 8 pieces of evidence", NULL);
    if ((a->pcs_url != NULL || a->kds_url != NULL) && a->cache_dir == NULL)
        return bad(a->pcs_url ? "--pcs-url needs --cache DIR" : "--kds-url needs --cache DIR", NULL);
    if (a->ear_out != NULL && a->ear_key == NULL) return bad("--ear-out needs --ear-key (the signing key file)", NULL);
    if ((a->gpu_nonce_hex != NULL || a->ocsp != NULL) && a->gpu_evidence == NULL)
        return bad(a->ocsp ? "--ocsp-response applies to --gpu-evidence" : "--gpu-nonce applies to --gpu-evidence", NULL);
    if (a->ear_alg && strcmp(a->ear_alg, "ES256") != 0 && strcmp(a->ear_alg, "ES384") != 0)
        return bad("--ear-alg must be ES256 or ES384", NULL);
    if (a->naming && strcmp(a->naming, "dotted") != 0 && strcmp(a->naming, "draft03") != 0)
        return bad("--naming must be dotted or draft03", NULL);
    return VT_EXIT_OK;
}

static bool hex_arg(const char *what, const char *hex, vt_buf *out)
{
    vt_error e;
    if (hex == NULL) return true;
    if (vt_hex_decode(hex, strlen(hex), out, &e) != VT_OK || out->len == 0 || out->len > 64) {
        fprintf(stderr, "veritee appraise: %s must be 1..64 bytes of hex\n", what);
        return false;
    }
    return true;
}

static void print_text(const char *file, const char *label, const vt_claims *c, const vt_appraisal *ap, bool verified)
{
    printf("%s: %s%s%s %s, policy %s\n", file, label[0] == 'g' ? label : "", label[0] == 'g' ? " " : "",
           verified ? vt_tee_name(c->tee) : "evidence", vt_ear_status_name(ap->status), ap->policy_id);
    printf("  vector:");
    for (int i = 0; i < VT_AR4SI_COUNT; i++)
        if (ap->vector.v[i]) printf(" %s=%d", vt_ar4si_name((vt_ar4si_claim)i), ap->vector.v[i]);
    printf("\n");
    for (size_t i = 0; i < ap->n_checks; i++) {
        const vt_appraisal_check *k = &ap->checks[i];
        const char *st = k->status == VT_CHECK_SKIP ? "skip"
                       : vt_ar4si_tier(k->value) == VT_EAR_WARNING ? "warn"
                       : k->status == VT_CHECK_PASS ? "pass" : "fail";
        printf("  [%s] %-26s %s\n", st, k->name, k->detail);
    }
}

static int sign_out(const appraise_args *a, const json_t *claims)
{
    vt_error e;
    vt_error_clear(&e);
    EVP_PKEY *key = NULL;
    bool created = false;
    vt_ear_key_alg alg = a->ear_alg && strcmp(a->ear_alg, "ES384") == 0 ? VT_EAR_ES384 : VT_EAR_ES256;
    if (vt_ear_key_load_or_create(a->ear_key, alg, &key, &created, &e) != VT_OK) return bad("--ear-key", &e);
    if (created) fprintf(stderr, "veritee appraise: generated a new EAR signing key %s (mode 0600)\n", a->ear_key);
    char *jwt = NULL;
    int ex = VT_EXIT_OK;
    if (vt_ear_sign(claims, key, &jwt, &e) != VT_OK) ex = bad("signing the EAR", &e);
    else if (strcmp(a->ear_out, "-") == 0) printf("%s\n", jwt);
    else if (vt_file_write(a->ear_out, jwt, strlen(jwt), &e) != VT_OK) ex = bad("--ear-out", &e);
    free(jwt);
    EVP_PKEY_free(key);
    return ex;
}

typedef struct one {
    vt_claims claims;
    vt_appraisal ap;
    bool verified;
    char label[16];
} one;

/* Like veritee verify: an option none of the evidence can use is refused, never ignored. */
static int options_apply(const appraise_args *a, char **files, int n)
{
    bool tdx = false, snp = false, cca = false;
    for (int i = 0; i < n; i++) {
        vt_buf ev = {0};
        vt_error e;
        vt_error_clear(&e);
        if (vt_file_read(files[i], VT_FILE_MAX, &ev, &e) != VT_OK) return bad(files[i], &e);
        const char *t = a->tee && strcmp(a->tee, "auto") != 0 ? a->tee : vt_evidence_detect(ev.ptr, ev.len);
        vt_buf_free(&ev);
        if (t == NULL) continue; /* reported when verified */
        tdx |= strcmp(t, "tdx") == 0 || strcmp(t, "sgx") == 0 || strcmp(t, "az-tdx-vtpm") == 0;
        snp |= strcmp(t, "snp") == 0 || strcmp(t, "az-snp-vtpm") == 0;
        cca |= strcmp(t, "cca") == 0;
    }
    const struct {
        bool given, applies;
        const char *flag, *to;
    } rules[] = {
        {a->product != NULL, snp, "--product", "SNP"},      {a->kds_url != NULL, snp, "--kds-url", "SNP"},
        {a->certs_dir != NULL, snp, "--certs", "SNP"},      {a->pcs_url != NULL, tdx, "--pcs-url", "TDX and SGX"},
        {a->cpak_file != NULL, cca, "--cpak", "CCA"},       {a->allow_missing_crl, tdx || snp, "--allow-missing-crl", "TDX, SGX and SNP"},
        {a->cache_dir != NULL, tdx || snp, "--cache", "TDX, SGX and SNP"},
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (rules[i].given && !rules[i].applies) {
            fprintf(stderr, "veritee appraise: %s applies to %s evidence only, and none is given\n", rules[i].flag,
                    rules[i].to);
            return VT_EXIT_USAGE;
        }
    return VT_EXIT_OK;
}

static int run(const appraise_args *a, const vt_policy *p, const vt_refvals *rv, char **files, int n)
{
    int refused = options_apply(a, files, n);
    if (refused != VT_EXIT_OK) return refused;
    vt_buf nonce = {0}, init = {0}, gpu_nonce = {0};
    one *all = calloc((size_t)n + VT_NVIDIA_MAX_DEVICES, sizeof *all);
    vt_ear_submod subs[APPRAISE_MAX_EVIDENCE + VT_NVIDIA_MAX_DEVICES];
    vt_claims *gpus = NULL;
    size_t n_gpus = 0;
    int ex = VT_EXIT_OK, total = n;
    if (all == NULL) return VT_EXIT_USAGE;
    if (!hex_arg("--nonce", a->nonce_hex, &nonce) || !hex_arg("--init-data", a->init_data_hex, &init) ||
        !hex_arg("--gpu-nonce", a->gpu_nonce_hex, &gpu_nonce)) {
        ex = VT_EXIT_USAGE;
        goto out;
    }
    bool missing = false;
    if (a->gpu_evidence != NULL) { /* the GPUs first: the CPU's appraisal counts them */
        vt_error e;
        vt_error_clear(&e);
        vt_err rc = appraise_verify_gpus(a, a->gpu_evidence, &gpu_nonce, &gpus, &n_gpus, &e);
        if (rc == VT_E_ARG || rc == VT_E_INVALID || rc == VT_E_UNSUPPORTED || rc == VT_E_IO || rc == VT_E_NOMEM) {
            fprintf(stderr, "veritee appraise: %s: %s%s%s\n", a->gpu_evidence, e.check, e.check[0] ? ": " : "", e.msg);
            ex = VT_EXIT_USAGE;
            goto out;
        }
        if (rc != VT_OK) { /* the list is refused as a whole: one rejected GPU submod says why */
            fprintf(stderr, "veritee appraise: %s: verification failed: %s%s%s\n", a->gpu_evidence, e.check,
                    e.check[0] ? ": " : "", e.msg);
            missing = rc == VT_E_MISSING;
            one *o = &all[total++];
            snprintf(o->label, sizeof o->label, "gpu0");
            vt_appraisal_rejected(p->id, &e, &o->ap);
        }
    }
    vt_appraise_ctx ctx = {.at = a->at, .refvals = rv, .report_data = nonce.ptr, .report_data_len = nonce.len,
                           .init_data = init.ptr, .init_data_len = init.len, .n_gpus = n_gpus};
    for (int i = 0; i < n; i++) {
        vt_error e;
        vt_error_clear(&e);
        vt_buf ev = {0};
        one *o = &all[i];
        snprintf(o->label, sizeof o->label, "cpu%d", i);
        if (vt_file_read(files[i], VT_FILE_MAX, &ev, &e) != VT_OK) {
            ex = bad(files[i], &e);
            goto out;
        }
        vt_err rc = appraise_verify(a, p, files[i], &ev, &o->claims, NULL, &e);
        vt_buf_free(&ev);
        if (rc == VT_E_ARG || rc == VT_E_INVALID || rc == VT_E_UNSUPPORTED || rc == VT_E_IO || rc == VT_E_NOMEM ||
            rc == VT_E_INTERNAL) {
            fprintf(stderr, "veritee appraise: %s: %s%s%s\n", files[i], e.check, e.check[0] ? ": " : "", e.msg);
            ex = VT_EXIT_USAGE;
            goto out;
        }
        if (rc != VT_OK) {
            fprintf(stderr, "veritee appraise: %s: verification failed: %s%s%s\n", files[i], e.check,
                    e.check[0] ? ": " : "", e.msg);
            missing = missing || rc == VT_E_MISSING;
            vt_appraisal_rejected(p->id, &e, &o->ap);
        } else {
            o->verified = true;
            if (vt_policy_appraise(p, &o->claims, &ctx, &o->ap, &e) != VT_OK) {
                fprintf(stderr, "veritee appraise: %s: appraisal failed: %s\n", files[i], e.msg);
                vt_appraisal_rejected(p->id, &e, &o->ap);
            }
        }
        subs[i] = (vt_ear_submod){.label = o->label, .appraisal = &o->ap, .claims = o->verified ? &o->claims : NULL};
        if (o->ap.status != VT_EAR_AFFIRMING) ex = VT_EXIT_REJECTED;
    }
    /* each verified GPU appraised by the same policy (its nvidia section), nonce already checked;
     * the set for the rules across GPUs (nvidia.ppcie_topology) */
    const vt_claims_gpu *peers[VT_NVIDIA_MAX_DEVICES];
    for (size_t g = 0; g < n_gpus && g < VT_NVIDIA_MAX_DEVICES; g++) peers[g] = &gpus[g].u.gpu;
    for (size_t g = 0; g < n_gpus; g++) {
        vt_error e;
        one *o = &all[total++];
        snprintf(o->label, sizeof o->label, "gpu%zu", g);
        o->claims = gpus[g];
        o->verified = true;
        vt_appraise_ctx gx = {.at = a->at, .refvals = rv, .gpu_peers = peers,
                              .n_gpu_peers = n_gpus < VT_NVIDIA_MAX_DEVICES ? n_gpus : VT_NVIDIA_MAX_DEVICES};
        if (vt_policy_appraise(p, &o->claims, &gx, &o->ap, &e) != VT_OK) vt_appraisal_rejected(p->id, &e, &o->ap);
    }
    for (int i = n; i < total; i++) {
        subs[i] = (vt_ear_submod){.label = all[i].label, .appraisal = &all[i].ap,
                                  .claims = all[i].verified ? &all[i].claims : NULL};
        if (all[i].ap.status != VT_EAR_AFFIRMING) ex = VT_EXIT_REJECTED;
    }
    vt_ear_opts eo = {.naming = a->naming && strcmp(a->naming, "draft03") == 0 ? VT_EAR_NAMING_DRAFT03 : VT_EAR_NAMING_DOTTED,
                      .iat = a->at, .ttl = a->ttl, .include_checks = a->checks_in_ear,
                      .nonce = nonce.len >= 8 ? nonce.ptr : NULL, .nonce_len = nonce.len};
    json_t *claims = NULL;
    vt_error e;
    if (vt_ear_build(subs, (size_t)total, &eo, &claims, &e) != VT_OK) {
        ex = bad("building the EAR", &e);
        goto out;
    }
    if (a->json) {
        json_t *o = json_pack("{s:s, s:O}", "status", vt_ear_status_name(vt_ear_overall(claims)), "ear", claims);
        json_t *cks = json_object();
        for (int i = 0; o && cks && i < total; i++) json_object_set_new(cks, all[i].label, vt_appraisal_checks_json(&all[i].ap));
        if (o) json_object_set_new(o, "checks", cks);
        else json_decref(cks);
        char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        if (s) printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        for (int i = 0; i < total; i++)
            print_text(i < n ? files[i] : a->gpu_evidence, all[i].label, &all[i].claims, &all[i].ap, all[i].verified);
    }
    if (a->ear_out != NULL) {
        int sx = sign_out(a, claims);
        if (sx != VT_EXIT_OK) ex = sx;
    }
    json_decref(claims);
    if (missing && ex == VT_EXIT_REJECTED) ex = VT_EXIT_MISSING;
out:
    vt_buf_free(&nonce);
    vt_buf_free(&init);
    vt_buf_free(&gpu_nonce);
    free(gpus);
    free(all);
    return ex;
}

int cmd_appraise(int argc, char **argv)
{
    appraise_args a = {.at = (vt_time)time(NULL), .ttl = 300, .tee = "auto"};
    int ex = parse(argc, argv, &a);
    if (ex != VT_EXIT_OK) return ex < 0 ? VT_EXIT_OK : ex;
    vt_error e;
    vt_error_clear(&e);
    vt_policy p;
    vt_refvals rv;
    vt_refvals_init(&rv);
    if (vt_policy_load_file(a.policy_file, &p, &e) != VT_OK) {
        ex = bad("--policy", &e);
        vt_refvals_free(&rv);
        return cli_exit_for(e.code);
    }
    for (size_t i = 0; i < a.n_refvals; i++) {
        if (vt_refvals_load_path(&rv, a.refvals[i], &e) != VT_OK) {
            ex = bad("--refvals", &e);
            goto out;
        }
    }
    ex = run(&a, &p, &rv, argv + optind, argc - optind);
out:
    vt_policy_free(&p);
    vt_refvals_free(&rv);
    return ex;
}
