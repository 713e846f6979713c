/* veritee evidence get: produce attestation evidence from a provider — configfs-tsm, the legacy
 * guest ioctls or the emulated TEE (docs/evidence.md). `evidence extend`: evidence_extend.c. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "evidence_cli.h"
#include "veritee/crypto.h"
#include "veritee/emulate.h"
#include "veritee/evidence.h"
#include "veritee/fileio.h"
#include "veritee/vtpm.h"
#include "veritee/writer.h"

static void evidence_usage(FILE *f)
{
    cli_usage(f, "evidence get");
}

typedef struct ev_args {
    const char *tee_name, *provider, *emulator, *out, *aux_out, *tsm_root, *tsm_entry, *device, *realm;
    const char *tcti, *imds_url, *imds_dir, *event_log, *aa_log, *nvml;
    uint32_t ak_handle;
    bool vtpm_tpm;          /* --tee tpm */
    vt_ev_tee tee;
    uint8_t report_data[64];
    size_t rd_len;          /* bytes given (--report-data), 64 for --nonce */
    int az_kind;            /* vt_emu_az_kind for az-snp-vtpm / az-tdx-vtpm, else 0 */
    const char *aael[8];
    size_t n_aael;
    uint8_t init_data[32];
    bool has_init_data;
    bool have_rd, extended, has_vmpl, create_realm, nvidia;
    unsigned vmpl;
    int quote_version, report_version, token_tag;
} ev_args;

static int bad(const char *msg)
{
    fprintf(stderr, "veritee evidence get: %s\n", msg);
    return VT_EXIT_USAGE;
}

static int parse_rd(const char *hex, ev_args *a)
{
    size_t l = strlen(hex);
    vt_buf b = {0};
    vt_error e;
    if (l > 128 || vt_hex_decode(hex, l, &b, &e) != VT_OK) {
        vt_buf_free(&b);
        return bad("--report-data/--nonce: at most 64 bytes of hex (--nonce-text takes a string)");
    }
    memcpy(a->report_data, b.ptr, b.len);
    a->rd_len = b.len;
    vt_buf_free(&b);
    a->have_rd = true;
    return 0;
}

static int parse_int(const char *s, int lo, int hi, const char *what, int *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "veritee evidence get: %s must be %d..%d\n", what, lo, hi);
        return VT_EXIT_USAGE;
    }
    *out = (int)v;
    return 0;
}

static int parse(int argc, char **argv, ev_args *a)
{
    enum { O_TSM_ROOT = 256, O_TSM_ENTRY, O_DEVICE, O_VMPL, O_EXTENDED, O_AUX, O_RV, O_TAG, O_REALM, O_AAEL, O_INIT, O_NONCE_TEXT,
           O_CREATE_REALM, O_TCTI, O_IMDS_URL, O_IMDS_DIR, O_EVLOG, O_AALOG, O_AK, O_NVML };
    static const struct option opts[] = {
        {"tee", required_argument, 0, 't'},       {"report-data", required_argument, 0, 'r'},
        {"nonce", required_argument, 0, 'n'},     {"provider", required_argument, 0, 'p'},
        {"emulator", required_argument, 0, 'e'},  {"quote-version", required_argument, 0, 'v'},
        {"output", required_argument, 0, 'o'},    {"help", no_argument, 0, 'h'},
        {"tsm-root", required_argument, 0, O_TSM_ROOT}, {"tsm-entry", required_argument, 0, O_TSM_ENTRY},
        {"device", required_argument, 0, O_DEVICE}, {"vmpl", required_argument, 0, O_VMPL},
        {"extended", no_argument, 0, O_EXTENDED}, {"aux-out", required_argument, 0, O_AUX},
        {"report-version", required_argument, 0, O_RV}, {"token-tag", required_argument, 0, O_TAG},
        {"realm", required_argument, 0, O_REALM}, {"aael", required_argument, 0, O_AAEL},
        {"init-data", required_argument, 0, O_INIT}, {"nonce-text", required_argument, 0, O_NONCE_TEXT},
        {"create-realm", no_argument, 0, O_CREATE_REALM}, {"tcti", required_argument, 0, O_TCTI},
        {"imds-url", required_argument, 0, O_IMDS_URL}, {"imds-dir", required_argument, 0, O_IMDS_DIR},
        {"event-log", required_argument, 0, O_EVLOG}, {"aa-eventlog", required_argument, 0, O_AALOG},
        {"ak-handle", required_argument, 0, O_AK}, {"nvml", required_argument, 0, O_NVML}, {0, 0, 0, 0}};
    int c, rc = 0, v;
    optind = 1;
    memset(a, 0, sizeof *a);
    a->provider = "auto";
    while (rc == 0 && (c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case 't': a->tee_name = optarg; break;
        case 'p': a->provider = optarg; break;
        case 'e': a->emulator = optarg; break;
        case 'o': a->out = optarg; break;
        case 'v': rc = parse_int(optarg, 4, 5, "--quote-version", &a->quote_version); break;
        case O_RV: rc = parse_int(optarg, 2, 5, "--report-version", &a->report_version); break;
        case O_TAG: rc = parse_int(optarg, 399, 907, "--token-tag", &a->token_tag); break;
        case O_VMPL:
            rc = parse_int(optarg, 0, 3, "--vmpl", &v);
            a->vmpl = (unsigned)v;
            a->has_vmpl = true;
            break;
        case O_TSM_ROOT: a->tsm_root = optarg; break;
        case O_TSM_ENTRY: a->tsm_entry = optarg; break;
        case O_DEVICE: a->device = optarg; break;
        case O_EXTENDED: a->extended = true; break;
        case O_AUX: a->aux_out = optarg; break;
        case O_REALM: a->realm = optarg; break;
        case O_AAEL:
            if (a->n_aael == 8) return bad("--aael: at most 8 entries");
            a->aael[a->n_aael++] = optarg;
            break;
        case O_INIT:
            if (vt_hex_decode_fixed(optarg, a->init_data, 32, NULL) != VT_OK || strlen(optarg) != 64)
                return bad("--init-data: 32 bytes of hex");
            a->has_init_data = true;
            break;
        case O_CREATE_REALM: a->create_realm = true; break;
        case O_TCTI: a->tcti = optarg; break;
        case O_IMDS_URL: a->imds_url = optarg; break;
        case O_IMDS_DIR: a->imds_dir = optarg; break;
        case O_EVLOG: a->event_log = optarg; break;
        case O_AALOG: a->aa_log = optarg; break;
        case O_NVML: a->nvml = optarg; break;
        case O_AK: {
            char *end = NULL;
            unsigned long h = strtoul(optarg, &end, 16);
            if (end == optarg || *end != '\0' || h < 0x81000000ul || h > 0x81FFFFFFul)
                return bad("--ak-handle: a persistent handle, 81000000..81FFFFFF (hex)");
            a->ak_handle = (uint32_t)h;
            break;
        }
        case O_NONCE_TEXT: /* a text nonce: report data = SHA-512(text) */
            if (a->have_rd) return bad("give one of --report-data, --nonce, --nonce-text");
            if (vt_hash(VT_SHA512, optarg, strlen(optarg), a->report_data, NULL) != VT_OK)
                return bad("cannot hash --nonce-text");
            a->rd_len = 64;
            a->have_rd = true;
            break;
        case 'n': /* hex, as --nonce of verify and appraise */
        case 'r':
            if (a->have_rd) return bad("give one of --report-data, --nonce, --nonce-text");
            rc = parse_rd(optarg, a);
            break;
        case 'h': evidence_usage(stdout); return -1;
        default: return cli_bad_option("evidence get", argv);
        }
    }
    if (rc != 0) return rc;
    if (optind != argc) return cli_bad_arg("evidence get", argv[optind]);
    if (!a->have_rd) return bad("give the report data: --report-data HEX, --nonce HEX or --nonce-text STR");
    vt_error e;
    if (a->tee_name != NULL && strncmp(a->tee_name, "az-", 3) == 0) {
        if (strcmp(a->tee_name, "az-snp-vtpm") == 0) a->az_kind = VT_EMU_AZ_SNP;
        else if (strcmp(a->tee_name, "az-tdx-vtpm") == 0) a->az_kind = VT_EMU_AZ_TDX;
        else return bad("--tee: az-snp-vtpm or az-tdx-vtpm");
    } else if (a->tee_name != NULL && strcmp(a->tee_name, "nvidia") == 0) {
        a->nvidia = true; /* the GPUs (docs/nvidia.md): the first 32 bytes are the SPDM nonce */
    } else if (a->tee_name != NULL && strcmp(a->tee_name, "tpm") == 0) {
        a->vtpm_tpm = true;
    } else if (a->tee_name != NULL && vt_ev_tee_parse(a->tee_name, &a->tee, &e) != VT_OK) {
        return bad(e.msg);
    }
    if (strcmp(a->provider, "auto") == 0)
        a->provider = a->emulator ? "emulated"
                      : a->nvidia ? "nvml"
                      : a->az_kind != 0 || a->vtpm_tpm ? "vtpm"
                      : vt_tsm_present(a->tsm_root) ? "tsm" : "ioctl";
    if (a->tcti == NULL) a->tcti = cli_tcti_default();
    return 0;
}

static int write_out(const char *path, const vt_buf *b)
{
    vt_error e;
    if (path != NULL) {
        if (vt_file_write(path, b->ptr, b->len, &e) != VT_OK) return bad(e.msg);
        return 0;
    }
    return fwrite(b->ptr, 1, b->len, stdout) == b->len ? 0 : VT_EXIT_USAGE;
}

static vt_err from_emulator(const ev_args *a, vt_buf *out, vt_buf *aux, vt_error *e)
{
    if (a->emulator == NULL) return vt_error_set(e, VT_E_ARG, "evidence", "--provider emulated needs --emulator DIR");
    if (a->tee == VT_EV_TEE_UNKNOWN && a->az_kind == 0 && !a->nvidia)
        return vt_error_set(e, VT_E_ARG, "evidence", "--provider emulated needs --tee");
    vt_emu *emu = NULL;
    VT_GUARD(vt_emu_open(a->emulator, &emu, e));
    vt_err r;
    if (a->nvidia) {
        r = vt_emu_nvidia_evidence(emu, a->report_data, out, e);
    } else if (a->az_kind != 0) {
        vt_emu_az_opts o = {.init_data_hash = a->has_init_data ? a->init_data : NULL, .aael = a->aael, .n_aael = a->n_aael};
        r = vt_emu_az_evidence(emu, (vt_emu_az_kind)a->az_kind, a->report_data, a->rd_len, &o, out, e);
    } else if (a->tee == VT_EV_TEE_TDX) {
        r = vt_emu_tdx_quote(emu, a->report_data, a->quote_version, out, e);
    } else if (a->tee == VT_EV_TEE_SNP) {
        vt_emu_snp_opts o = {.version = a->report_version, .has_vmpl = a->has_vmpl, .vmpl = a->vmpl,
                             .with_certtable = a->extended};
        r = vt_emu_snp_report(emu, a->report_data, &o, out, e);
        if (r == VT_OK && a->aux_out != NULL) r = vt_emu_snp_certtable(emu, false, aux, e);
    } else {
        vt_emu_cca_opts o = {.tag = a->token_tag, .realm = a->realm, .create_realm = a->create_realm};
        r = vt_emu_cca_token(emu, a->report_data, &o, out, e);
    }
    vt_emu_free(emu);
    return r;
}

/* An Azure CVM or a TPM host: the vTPM through tpm2-tss, the evidence JSON CoCo's attester sends. */
static vt_err from_vtpm(const ev_args *a, vt_buf *out, vt_error *e)
{
    if (a->az_kind == 0 && !a->vtpm_tpm)
        return vt_error_set(e, VT_E_ARG, "evidence", "--provider vtpm serves --tee az-snp-vtpm, az-tdx-vtpm, tpm");
    vt_buf log = {0};
    char *aa_text = NULL;
    json_t *ev = NULL;
    VT_GUARD(vt_vtpm_event_logs_read(a->event_log ? a->event_log : VT_VTPM_EVENT_LOG_DEFAULT,
                                     a->aa_log ? a->aa_log : VT_AA_EVENT_LOG_DEFAULT, &log, &aa_text, e));
    vt_vtpm_evidence_opts o = {.kind = a->vtpm_tpm ? VT_VTPM_TPM : a->az_kind == VT_EMU_AZ_SNP ? VT_VTPM_AZ_SNP : VT_VTPM_AZ_TDX,
                               .tcti = a->tcti, .nonce = a->report_data, .nonce_len = a->rd_len,
                               .ak_handle = a->ak_handle, .imds_url = a->imds_url, .imds_dir = a->imds_dir,
                               .event_log = log.ptr, .event_log_len = log.len, .aa_eventlog_text = aa_text};
    vt_err rc = vt_vtpm_evidence(&o, &ev, e);
    char *s = rc == VT_OK ? json_dumps(ev, JSON_INDENT(2)) : NULL;
    if (rc == VT_OK) rc = s != NULL ? vt_buf_set(out, s, strlen(s), e) : vt_error_set(e, VT_E_NOMEM, "evidence", "out of memory");
    free(s);
    json_decref(ev);
    free(aa_text);
    vt_buf_free(&log);
    return rc;
}

static vt_err from_tsm(const ev_args *a, vt_buf *out, vt_buf *aux, vt_error *e)
{
    vt_tsm_opts o = {.root = a->tsm_root, .entry = a->tsm_entry, .inblob = a->report_data, .inblob_len = 64,
                     .has_privlevel = a->has_vmpl, .privlevel = a->vmpl};
    vt_tsm_report r;
    VT_GUARD(vt_tsm_get_report(&o, &r, e));
    if (a->tee != VT_EV_TEE_UNKNOWN && a->tee != r.tee) {
        vt_err rc = vt_error_set(e, VT_E_ARG, "evidence", "--tee %s, but this guest's configfs-tsm provider is %s",
                                 vt_ev_tee_name(a->tee), r.provider);
        vt_tsm_report_free(&r);
        return rc;
    }
    *out = r.outblob;
    *aux = r.auxblob;
    if (a->extended && aux->len > 0) { /* report followed by its table, as --extended promises */
        VT_GUARD(vt_buf_append(out, aux->ptr, aux->len, e));
    }
    return VT_OK;
}

static vt_err from_ioctl(const ev_args *a, vt_buf *out, vt_buf *aux, vt_error *e)
{
    if (a->tee == VT_EV_TEE_TDX) {
        uint8_t rep[VT_TDREPORT_SIZE];
        VT_GUARD(vt_ioctl_tdx_report(a->device, a->report_data, rep, e));
        fprintf(stderr, "veritee evidence get: wrote a TDREPORT (local, MAC-protected): a quote needs the host's "
                        "quote generation service, reached through configfs-tsm (--provider tsm)\n");
        return vt_buf_set(out, rep, sizeof rep, e);
    }
    if (a->tee != VT_EV_TEE_SNP)
        return vt_error_set(e, VT_E_ARG, "evidence", "--provider ioctl serves --tee tdx and --tee snp (CCA "
                            "evidence comes through configfs-tsm)");
    vt_snp_ioctl_result r;
    VT_GUARD(vt_ioctl_snp_report(a->device, a->report_data, a->has_vmpl ? a->vmpl : 0,
                                 a->extended || a->aux_out != NULL, &r, e));
    *out = r.report;
    *aux = r.certs;
    if (a->extended && aux->len > 0) {
        VT_GUARD(vt_buf_append(out, aux->ptr, aux->len, e));
    }
    return VT_OK;
}

static int get(int argc, char **argv)
{
    ev_args a;
    int rc = parse(argc, argv, &a);
    if (rc != 0) return rc < 0 ? 0 : rc;
    vt_error e;
    vt_error_clear(&e);
    vt_buf out = {0}, aux = {0};
    vt_err r;
    if (strcmp(a.provider, "vtpm") == 0) r = from_vtpm(&a, &out, &e);
    else if ((a.az_kind != 0 || a.vtpm_tpm) && strcmp(a.provider, "emulated") != 0)
        r = vt_error_set(&e, VT_E_ARG, "evidence", "--tee %s: --provider vtpm (the TPM) or emulated", a.tee_name);
    else if (a.nvidia && strcmp(a.provider, "nvml") == 0) {
        vt_nvml_opts o = {.library = cli_nvml_library(a.nvml), .nonce = a.report_data};
        r = vt_nvml_gpu_evidence(&o, &out, &e);
    } else if (a.nvidia && strcmp(a.provider, "emulated") != 0)
        r = vt_error_set(&e, VT_E_ARG, "evidence", "--tee nvidia: --provider nvml (the GPUs, through NVML) or emulated");
    else if (strcmp(a.provider, "nvml") == 0)
        r = vt_error_set(&e, VT_E_ARG, "evidence", "--provider nvml serves --tee nvidia");
    else if (strcmp(a.provider, "emulated") == 0) r = from_emulator(&a, &out, &aux, &e);
    else if (strcmp(a.provider, "tsm") == 0) r = from_tsm(&a, &out, &aux, &e);
    else if (strcmp(a.provider, "ioctl") == 0) r = from_ioctl(&a, &out, &aux, &e);
    else r = vt_error_set(&e, VT_E_ARG, "evidence", "--provider %s (auto, tsm, ioctl, vtpm, nvml, emulated)", a.provider);
    if (r != VT_OK) {
        fprintf(stderr, "veritee evidence get: %s%s\n", e.msg,
                r == VT_E_MISSING && a.realm != NULL && strstr(e.msg, "realm") ? " (--create-realm)" : "");
        rc = cli_exit_for(r);
    } else {
        rc = write_out(a.out, &out);
        if (rc == 0 && a.aux_out != NULL) rc = write_out(a.aux_out, &aux);
    }
    vt_buf_free(&out);
    vt_buf_free(&aux);
    return rc;
}

int cmd_evidence(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "get") == 0) return get(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "extend") == 0) return cli_evidence_extend(argc - 1, argv + 1);
    if (argc < 2) {
        cli_usage(stderr, "evidence");
        return VT_EXIT_USAGE;
    }
    return cli_bad_arg("evidence", argv[1]);
}
