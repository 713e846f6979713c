/* The veritee command line: shared definitions of the subcommands (thin: parse arguments,
 * call the library, print). Exit codes follow ARCHITECTURE.md. */
#ifndef VT_CLI_H
#define VT_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "veritee/checks.h"
#include "veritee/codec.h"
#include "veritee/err.h"
#include "veritee/reader.h"
#include "veritee/vtime.h"

/* The exit codes of every command (README and docs). */
enum {
    VT_EXIT_OK = 0,       /* verified / done */
    VT_EXIT_REJECTED = 1, /* rejected: a verification or policy check failed, the server refused */
    VT_EXIT_USAGE = 2,    /* unusable input or arguments */
    VT_EXIT_MISSING = 3,  /* something needed is missing or unreachable (collateral, trust anchor,
                           * store, file, server): provide or fetch it and retry */
};

/* The command table (commands.c): one entry per command and subcommand ("vm plan"); usage,
 * `veritee help`, `CMD --help`, error hints and dispatch read it. Each option once, with its
 * value name and help, so man pages and shell completion can be generated from it. */
typedef struct cli_opt {
    const char *lng;  /* long name without "--"; NULL ends a list */
    char shrt;        /* short letter or 0 */
    const char *arg;  /* value name ("HEX"), NULL for a flag */
    const char *help; /* lines joined with '\n' */
} cli_opt;

typedef struct cli_cmd {
    const char *name;        /* "verify", or "parent sub" */
    const char *summary;     /* one line */
    const char *synopsis;    /* after "veritee NAME " */
    const char *description; /* optional paragraph(s) */
    const cli_opt *opts;     /* NULL or an END-terminated list */
    const char *exits;       /* exit codes, when the command documents its own */
    int (*run)(int argc, char **argv); /* top-level commands: argv[0] is the command name */
} cli_cmd;

extern const cli_cmd cli_commands[];
extern const size_t cli_ncommands;
const cli_cmd *cli_find(const char *path);
void cli_help(FILE *f, const char *path); /* full help of a command */
void cli_help_top(FILE *f);               /* the command list */
/* stdout: the full help; stderr: one line (synopsis and where to read more). */
void cli_usage(FILE *f, const char *path);
/* One line for a bad argument ("unknown option --x; see 'veritee help CMD'"); returns VT_EXIT_USAGE. */
int cli_bad_arg(const char *path, const char *arg);
/* The same after getopt_long returned '?' or ':' (main sets opterr = 0). */
int cli_bad_option(const char *path, char **argv);
int cmd_version(int argc, char **argv);
int cmd_help(int argc, char **argv);

/* NVIDIA revocation and RIM sources shared by 'verify --tee nvidia' and 'rim' (nvidia_sources.c):
 * the options as given, then what cli_nv_load built from them. */
#define CLI_NV_MAX_FILES 16
#define CLI_NV_CLOCK_SKEW 60 /* seconds; docs/nvidia.md, "Revocation" */
enum { CLI_NV_O_OCSP = 600, CLI_NV_O_OCSP_RESPONSE, CLI_NV_O_CRL, CLI_NV_O_ALLOW_UNKNOWN, CLI_NV_O_RIM_SERVICE,
       CLI_NV_O_RIM_TRUST, CLI_NV_O_RIM };
typedef struct cli_nv_sources {
    bool ocsp;                   /* --ocsp[=URL] */
    const char *ocsp_url;
    const char *ocsp_files[CLI_NV_MAX_FILES]; /* --ocsp-response FILE */
    size_t n_ocsp_files;
    const char *crl_files[CLI_NV_MAX_FILES];  /* --crl FILE */
    size_t n_crl_files;
    bool allow_unknown;          /* --allow-revocation-unknown */
    bool rim_service;            /* --rim-service[=URL] */
    const char *rim_service_url;
    const char *rim_trust;       /* --rim-trust ROOT.pem */
    const char *rim_files[CLI_NV_MAX_FILES];  /* --rim FILE */
    long clock_skew; /* OCSP thisUpdate after the instant accepted by this much (CLI_NV_CLOCK_SKEW
                        when the instant is "now", 0 for a replay with --at) */
    size_t n_rim_files;
    const char *cache_dir;       /* --cache DIR */
    /* built by cli_nv_load */
    vt_buf bufs[2 * CLI_NV_MAX_FILES];
    vt_bytes responses[CLI_NV_MAX_FILES], crls[CLI_NV_MAX_FILES];
    struct vt_nvidia_revocation *rev;
    struct vt_nvidia_rim_source *rim_source;
    struct vt_nvidia_source_stats *stats;
    struct vt_nvidia_rim_verifier *rim_verifier;
    struct vt_nvidia_rim *rims;  /* the --rim files, verified */
    const struct vt_nvidia_rim **rim_ptrs;
    size_t n_rims;
} cli_nv_sources;
/* Handle one of the CLI_NV_O_* options; false (message printed) when one is given too often. */
bool cli_nv_option(cli_nv_sources *s, int code, const char *arg, const char *cmd);
/* Any revocation or RIM source option given? */
bool cli_nv_revocation_given(const cli_nv_sources *s);
bool cli_nv_rim_given(const cli_nv_sources *s);
/* Read the files and build the library's settings; RIM files and the RIM verifier when asked.
 * Errors name the flag. */
vt_err cli_nv_load(cli_nv_sources *s, bool want_rims, vt_time at, vt_checks *checks, vt_error *e);
void cli_nv_free(cli_nv_sources *s);
/* {"ocsp_fetched":..,...} of what the sources did. */
struct json_t;
struct json_t *cli_nv_stats_json(const cli_nv_sources *s);

typedef struct cli_verify_args {
    const char *tee;            /* auto, tdx, sgx, snp, cca, nvidia, az-snp-vtpm, az-tdx-vtpm, tpm */
    const char *file;           /* evidence path */
    vt_buf evidence;            /* its bytes */
    const char *collateral_dir; /* --collateral */
    const char *trust_dir;      /* --trust */
    const char *certs_dir;      /* --certs (SNP) */
    const char *cpak_file;      /* --cpak (CCA) */
    const char *nonce_hex;      /* --nonce (TDX/SGX/SNP REPORTDATA, CCA realm challenge) */
    const char *product;        /* --product (SNP: milan, genoa, turin) */
    const char *pcs_url;        /* --pcs-url (TDX online collateral) */
    const char *kds_url;        /* --kds-url (SNP online collateral from AMD KDS) */
    const char *cache_dir;      /* --cache */
    const char *ocsp;           /* --ocsp-response DIR (verify) or FILE|DIR (appraise): NVIDIA DER OCSP
                                   responses the verifier's sources load */
    bool allow_missing_crl;     /* --allow-missing-crl: revocation unknown is accepted, and said */
    cli_nv_sources nv;          /* NVIDIA: --ocsp, --ocsp-response, --crl, --rim-service, --rim ... */
    vt_time at;                 /* --at, default: now */
    bool json;
    vt_buf init_data;           /* --init-data FILE: the digest of the init-data TOML (empty: none) */
} cli_verify_args;

/* Read an input file; "-" reads standard input (at most max bytes). */
vt_err cli_read_input(const char *path, size_t max, vt_buf *out, vt_error *err);
/* PATH names a directory (input.c: --ocsp-response FILE|DIR of verify and appraise). */
bool cli_is_dir(const char *path);

/* --init-data FILE: the init-data TOML (CoCo's initdata, before base64/gzip of the annotation)
 * hashed with its `algorithm` into digest; prints why not and returns -1 on failure. */
int cli_init_data_digest(const char *path, vt_buf *digest);

/* The one mapping from a library error (vt_err) to an exit code, used by every command. */
int cli_exit_for(int code);
/* OpenSSL's once-only set-up for this process (main.c): no clean-up at exit for every command
 * (the process ends: the kernel frees its memory). offline: a command that makes no network
 * connection also skips the system openssl.cnf, unless OPENSSL_CONF names one. !reasons:
 * nothing it prints quotes OpenSSL's error reason strings, which are then not loaded.
 * !cipher_names: it decrypts nothing and connects nowhere; OpenSSL's legacy cipher names are
 * not loaded (lookups by them fail). Before any other OpenSSL call, else it changes nothing. */
void cli_openssl_setup(bool offline, bool reasons, bool cipher_names);
/* Print a failure the same way everywhere (text or JSON). */
int cli_report_error(const cli_verify_args *a, const char *tee, const vt_error *e,
                     const vt_checks *checks);
/* Print checks as text lines. */
void cli_print_checks(FILE *f, const vt_checks *c);

/* Print a verified result (text or --json) in the TEE's own words; exit code. */
struct vt_verify_result;
int cli_print_tdx(const cli_verify_args *a, const struct vt_verify_result *r); /* tdx and sgx */
int cli_print_snp(const cli_verify_args *a, const struct vt_verify_result *r);
int cli_print_cca(const cli_verify_args *a, const struct vt_verify_result *r);
/* az-snp-vtpm, az-tdx-vtpm, tpm and NVIDIA GPU evidence (Trustee's device_evidence_list JSON), all
 * verified by vt_verify: printers (verify_azure.c, verify_nvidia.c). */
int cli_print_tpm(const cli_verify_args *a, const struct vt_verify_result *r); /* az-*-vtpm, tpm */
int cli_print_nvidia(const cli_verify_args *a, const struct vt_verify_result *r);
/* verify --html FILE: the console's analysis of a->evidence as one HTML file (src/cli/ui.c). */
int cli_ui_html(const cli_verify_args *a, const char *path);

int cmd_verify(int argc, char **argv);
int cmd_tdx(int argc, char **argv);
int cmd_cca(int argc, char **argv);
int cmd_rim(int argc, char **argv); /* veritee rim verify|match (src/cli/rim.c) */
int cmd_snp(int argc, char **argv);
int cmd_measure(int argc, char **argv);
int cmd_vm(int argc, char **argv);
/* vm plan --measure: the launch measurement hook (vm_measure.c) */
struct vt_vm_config;
struct vt_vm_plan;
struct vt_vm_measurement;
vt_err cli_vm_measure(const struct vt_vm_config *c, const struct vt_vm_plan *plan, void *ctx,
                      struct vt_vm_measurement *out, vt_error *err);
int cmd_platform(int argc, char **argv);
int cmd_audit(int argc, char **argv); /* audit.c: veritee audit verify|show */
int cmd_emulate(int argc, char **argv);
int cli_emulate_gpu_evidence(int argc, char **argv); /* emulate_nvidia.c */
int cli_emulate_azure_cvm(int argc, char **argv);    /* emulate_azure.c */
const char *cli_tcti_default(void);                 /* input.c: $TPM2TOOLS_TCTI, $TCTI or NULL */
/* input.c: the NVML library to load: opt (--nvml), else $VERITEE_NVML, else NULL (the default). */
const char *cli_nvml_library(const char *opt);
int cmd_store(int argc, char **argv);
int cmd_evidence(int argc, char **argv);
int cmd_appraise(int argc, char **argv); /* veritee appraise (src/cli/appraise.c) */
int cmd_ear(int argc, char **argv);      /* veritee ear verify|key|show (src/cli/ear.c) */
int cmd_serve(int argc, char **argv);    /* veritee serve: Key Broker Service (src/cli/serve.c) */
int cmd_admin(int argc, char **argv);    /* veritee admin: KBS admin client (src/cli/admin.c) */
int cmd_ui(int argc, char **argv);       /* veritee ui: the web console's explorer (src/cli/ui.c) */
int cmd_attest(int argc, char **argv);   /* veritee attest: KBS guest client (src/cli/attest.c) */
int cmd_collateral(int argc, char **argv); /* veritee collateral: the live collateral cache */

#endif
