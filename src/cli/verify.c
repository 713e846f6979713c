/* veritee verify: argument parsing, TEE detection, dispatch to the per-TEE printers. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "veritee/fileio.h"
#include "veritee/verify.h"

static void verify_usage(FILE *f)
{
    cli_usage(f, "verify");
}

static void kds_wait(void *ctx, long ms)
{
    (void)ctx;
    fprintf(stderr, "veritee verify: AMD KDS is rate-limiting (429/503): retrying in %.1f s\n", (double)ms / 1000);
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Options that cannot apply to this kind of evidence are refused, never ignored. */
static bool options_apply(const cli_verify_args *a, const char *tee)
{
    bool tdx = strcmp(tee, "tdx") == 0 || strcmp(tee, "sgx") == 0, snp = strcmp(tee, "snp") == 0,
         cca = strcmp(tee, "cca") == 0, nv = strcmp(tee, "nvidia") == 0, azs = strcmp(tee, "az-snp-vtpm") == 0,
         azt = strcmp(tee, "az-tdx-vtpm") == 0, tpm = strcmp(tee, "tpm") == 0;
    const struct {
        bool given, applies;
        const char *flag, *to;
    } rules[] = {
        {a->product != NULL, snp || azs, "--product", "SNP and az-snp-vtpm"},
        {a->kds_url != NULL, snp || azs, "--kds-url", "SNP and az-snp-vtpm"},
        {a->pcs_url != NULL, tdx || azt, "--pcs-url", "TDX, SGX and az-tdx-vtpm"},
        {a->cpak_file != NULL, cca, "--cpak", "CCA"},
        {a->allow_missing_crl, tdx || snp || azt, "--allow-missing-crl", "TDX, SGX, SNP and az-tdx-vtpm"},
        {a->certs_dir != NULL, snp || azs, "--certs", "SNP and az-snp-vtpm"},
        {a->cache_dir != NULL, tdx || snp || azs || azt || nv, "--cache", "TDX, SGX, SNP, az-snp-vtpm, az-tdx-vtpm and NVIDIA"},
        {cli_nv_revocation_given(&a->nv), nv, "--ocsp, --ocsp-response, --crl and --allow-revocation-unknown",
         "NVIDIA"},
        {cli_nv_rim_given(&a->nv), nv, "--rim-service, --rim-trust and --rim", "NVIDIA"},
        {a->collateral_dir != NULL, !nv && !tpm, "--collateral", "TDX, SGX, SNP, CCA, az-snp-vtpm and az-tdx-vtpm"},
        {a->ocsp != NULL, nv, "--ocsp-response", "NVIDIA GPU"},
        {a->init_data.len > 0, !nv, "--init-data", "every kind but NVIDIA GPU"},
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (rules[i].given && !rules[i].applies) {
            fprintf(stderr, "veritee verify: %s applies to %s evidence only; %s is %s\n", rules[i].flag,
                    rules[i].to, a->file, tee);
            return false;
        }
    if ((a->pcs_url != NULL || a->kds_url != NULL) && a->cache_dir == NULL) {
        fprintf(stderr, "veritee verify: %s needs --cache DIR\n", a->pcs_url ? "--pcs-url" : "--kds-url");
        return false;
    }
    return true;
}

/* The one verification entry (include/veritee/verify.h), then the TEE's printer. */
static int verify_and_print(cli_verify_args *a)
{
    vt_error e;
    vt_error_clear(&e);
    vt_buf nonce = {0};
    vt_verifier *v = NULL;
    vt_verify_result r;
    memset(&r, 0, sizeof r);
    int ex;
    if (a->nonce_hex != NULL &&
        (vt_hex_decode(a->nonce_hex, strlen(a->nonce_hex), &nonce, &e) != VT_OK || nonce.len == 0 || nonce.len > 64)) {
        vt_error_set(&e, VT_E_ARG, "nonce", "--nonce must be 1..64 bytes of hex");
        ex = cli_report_error(a, a->tee, &e, NULL);
        goto out;
    }
    bool tpm = strcmp(a->tee, "tpm") == 0; /* its --trust is the set of trusted AKs */
    vt_verify_sources s = {.trust_dir = tpm ? NULL : a->trust_dir, .tpm_aks = tpm ? a->trust_dir : NULL,
                           .collateral_dir = a->collateral_dir, .certs_dir = a->certs_dir,
                           .cpak_file = a->cpak_file, .pcs_url = a->pcs_url, .kds_url = a->kds_url,
                           .cache_dir = a->cache_dir, .allow_missing_crl = a->allow_missing_crl,
                           .kds_wait = kds_wait, .nvidia_ocsp_dir = a->ocsp};
    vt_verify_opts o = {.tee = a->tee, .at = a->at, .nonce = a->nonce_hex ? nonce.ptr : NULL,
                        .nonce_len = nonce.len, .product = a->product,
                        .init_data = a->init_data.len ? a->init_data.ptr : NULL, .init_data_len = a->init_data.len};
    if (strcmp(a->tee, "nvidia") == 0) { /* --ocsp, --ocsp-response, --crl, --rim, --rim-service */
        a->nv.cache_dir = a->cache_dir;
        if (cli_nv_load(&a->nv, true, a->at, &r.checks, &e) != VT_OK) {
            ex = cli_report_error(a, a->tee, &e, r.checks.n > 0 ? &r.checks : NULL);
            goto out;
        }
        o.nvidia_revocation = a->nv.rev;
        o.rims = a->nv.rim_ptrs;
        o.n_rims = a->nv.n_rims;
        if (a->nv.rim_service || (a->nv.rim_verifier != NULL && a->cache_dir != NULL)) {
            o.nvidia_rim_verifier = a->nv.rim_verifier;
            o.nvidia_rim_source = a->nv.rim_source;
        }
    }
    if (vt_verifier_new(&s, &v, &e) != VT_OK) {
        ex = cli_report_error(a, a->tee, &e, NULL);
        goto out;
    }
    vt_err vr = vt_verify(v, a->evidence.ptr, a->evidence.len, &o, &r, &e);
    const char *skipped = strcmp(a->tee, "cca") == 0 ? vt_verifier_cca_skipped(v) : NULL;
    if (skipped != NULL)
        fprintf(stderr, "veritee verify: warning: --trust %s: skipped unusable files: %s\n", a->trust_dir, skipped);
    if (vr != VT_OK) {
        ex = cli_report_error(a, a->tee, &e, r.checks.n > 0 ? &r.checks : NULL);
        goto out;
    }
    if (r.tpm_claims != NULL) ex = cli_print_tpm(a, &r);
    else if (r.tdx != NULL) ex = cli_print_tdx(a, &r);
    else if (r.snp != NULL) ex = cli_print_snp(a, &r);
    else if (r.nvidia != NULL) ex = cli_print_nvidia(a, &r);
    else ex = cli_print_cca(a, &r);
out:
    cli_nv_free(&a->nv);
    vt_verify_result_clear(&r);
    vt_verifier_free(v);
    vt_buf_free(&nonce);
    return ex;
}

int cmd_verify(int argc, char **argv)
{
    cli_verify_args a = {.tee = "auto", .at = (vt_time)time(NULL), .nv = {.clock_skew = CLI_NV_CLOCK_SKEW}};
    enum { O_COLL = 256, O_TRUST, O_CERTS, O_CPAK, O_NONCE, O_PRODUCT, O_PCS, O_CACHE, O_AT, O_JSON,
           O_TEE, O_ALLOW_CRL, O_KDS, O_HTML, O_INIT };
    const char *html = NULL;
    static const struct option opts[] = {
        {"tee", required_argument, 0, O_TEE},          {"collateral", required_argument, 0, O_COLL},
        {"trust", required_argument, 0, O_TRUST},      {"certs", required_argument, 0, O_CERTS},
        {"cpak", required_argument, 0, O_CPAK},        {"nonce", required_argument, 0, O_NONCE},
        {"product", required_argument, 0, O_PRODUCT},  {"pcs-url", required_argument, 0, O_PCS},
        {"cache", required_argument, 0, O_CACHE},      {"at", required_argument, 0, O_AT},
        {"json", no_argument, 0, O_JSON},              {"allow-missing-crl", no_argument, 0, O_ALLOW_CRL},
        {"kds-url", required_argument, 0, O_KDS},      {"help", no_argument, 0, 'h'},
        {"html", required_argument, 0, O_HTML},        {"init-data", required_argument, 0, O_INIT},
        {"ocsp", optional_argument, 0, CLI_NV_O_OCSP},
        {"ocsp-response", required_argument, 0, CLI_NV_O_OCSP_RESPONSE},
        {"crl", required_argument, 0, CLI_NV_O_CRL},
        {"allow-revocation-unknown", no_argument, 0, CLI_NV_O_ALLOW_UNKNOWN},
        {"rim-service", optional_argument, 0, CLI_NV_O_RIM_SERVICE},
        {"rim-trust", required_argument, 0, CLI_NV_O_RIM_TRUST},
        {"rim", required_argument, 0, CLI_NV_O_RIM},
        {0, 0, 0, 0}};
    const char *init_file = NULL;
    optind = 1;
    int c;
    vt_error e;
    vt_error_clear(&e);
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_TEE: a.tee = optarg; break;
        case O_COLL: a.collateral_dir = optarg; break;
        case O_TRUST: a.trust_dir = optarg; break;
        case O_CERTS: a.certs_dir = optarg; break;
        case O_CPAK: a.cpak_file = optarg; break;
        case O_NONCE: a.nonce_hex = optarg; break;
        case O_PRODUCT: a.product = optarg; break;
        case O_PCS: a.pcs_url = optarg; break;
        case O_KDS: a.kds_url = optarg; break;
        case O_CACHE: a.cache_dir = optarg; break;
        case O_JSON: a.json = true; break;
        case O_HTML: html = optarg; break;
        case O_INIT: init_file = optarg; break;
        case O_ALLOW_CRL: a.allow_missing_crl = true; break;
        case O_AT:
            a.nv.clock_skew = 0; /* a replay at a given instant: exactly */
            if (vt_time_parse_rfc3339(optarg, &a.at, &e) != VT_OK) {
                fprintf(stderr, "veritee verify: --at: %s\n", e.msg);
                return VT_EXIT_USAGE;
            }
            break;
        case 'h': verify_usage(stdout); return 0;
        case CLI_NV_O_OCSP_RESPONSE:
            if (cli_is_dir(optarg)) { /* every file of it: loaded by the verifier's sources */
                if (a.ocsp != NULL) {
                    fprintf(stderr, "veritee verify: --ocsp-response: one directory at most (%s, %s)\n", a.ocsp, optarg);
                    return VT_EXIT_USAGE;
                }
                a.ocsp = optarg;
            } else if (!cli_nv_option(&a.nv, c, optarg, "verify")) {
                return VT_EXIT_USAGE;
            }
            break;
        case CLI_NV_O_OCSP: case CLI_NV_O_CRL: case CLI_NV_O_ALLOW_UNKNOWN:
        case CLI_NV_O_RIM_SERVICE: case CLI_NV_O_RIM_TRUST: case CLI_NV_O_RIM:
            if (!cli_nv_option(&a.nv, c, optarg, "verify")) return VT_EXIT_USAGE;
            break;
        default: return cli_bad_option("verify", argv);
        }
    }
    if (optind != argc - 1) {
        verify_usage(stderr);
        return VT_EXIT_USAGE;
    }
    a.file = argv[optind];
    if (cli_read_input(a.file, VT_FILE_MAX, &a.evidence, &e) != VT_OK) {
        fprintf(stderr, "veritee verify: %s\n", e.msg);
        return VT_EXIT_USAGE;
    }
    const char *tee = a.tee;
    if (strcmp(tee, "auto") == 0) {
        tee = vt_evidence_detect(a.evidence.ptr, a.evidence.len);
        if (tee == NULL) {
            fprintf(stderr, "veritee verify: %s: cannot tell the evidence kind; use --tee\n", a.file);
            vt_buf_free(&a.evidence);
            return VT_EXIT_USAGE;
        }
        a.tee = tee;
    }
    /* Nothing has used OpenSSL yet (the init-data digest below is the first). A verification
     * that fetches nothing skips openssl.cnf, and when its kind's messages never quote
     * OpenSSL's error reasons (those of TPM quotes and OCSP do, and libcurl's of TLS), the
     * reason strings are not loaded either, nor the legacy cipher names (such a verification
     * decrypts nothing and looks no cipher up by name). */
    bool offline = a.pcs_url == NULL && a.kds_url == NULL && !a.nv.ocsp && !a.nv.rim_service;
    bool quiet_kind = strcmp(tee, "tdx") == 0 || strcmp(tee, "sgx") == 0 || strcmp(tee, "snp") == 0 ||
                      strcmp(tee, "cca") == 0;
    cli_openssl_setup(offline, !(offline && quiet_kind), !(offline && quiet_kind));
    if (init_file != NULL && cli_init_data_digest(init_file, &a.init_data) != 0) {
        vt_buf_free(&a.evidence);
        return VT_EXIT_USAGE;
    }
    int rc;
    vt_tee known;
    if (strcmp(tee, "nvidia") != 0 && vt_tee_parse(tee, &known, NULL) != VT_OK) {
        fprintf(stderr, "veritee verify: unknown --tee '%s' (auto, tdx, sgx, snp, cca, nvidia, az-snp-vtpm, "
                        "az-tdx-vtpm, tpm)\n", tee);
        rc = VT_EXIT_USAGE;
    } else if (!options_apply(&a, tee)) {
        rc = VT_EXIT_USAGE;
    } else if (html && strcmp(tee, "nvidia") == 0) {
        fprintf(stderr, "veritee verify: --html applies to TDX, SGX, SNP and CCA evidence; %s is nvidia\n", a.file);
        rc = VT_EXIT_USAGE;
    } else if (html && vt_tee_has_tpm(known)) {
        fprintf(stderr, "veritee verify: --html does not show %s evidence yet\n", tee);
        rc = VT_EXIT_USAGE;
    } else if (html && cli_ui_html(&a, html) != 0) {
        rc = VT_EXIT_USAGE;
    } else {
        rc = verify_and_print(&a);
    }
    vt_buf_free(&a.evidence);
    vt_buf_free(&a.init_data);
    return rc;
}
