/* veritee evidence get: produce attestation evidence from a provider (docs/evidence.md). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "veritee/crypto.h"
#include "veritee/emulate.h"
#include "veritee/fileio.h"

static void evidence_usage(FILE *f)
{
    fprintf(f, "usage: veritee evidence get --tee tdx|snp|cca (--report-data HEX | --nonce STR)\n"
               "                            [--provider emulated|tsm|ioctl] [--emulator DIR]\n"
               "                            [--quote-version 4|5] [-o FILE]\n"
               "\n"
               "  --report-data HEX  up to 64 bytes bound into the evidence (zero-padded)\n"
               "  --nonce STR        report data = SHA-512(STR)\n"
               "  --provider P       emulated (needs --emulator DIR made by `veritee emulate init`)\n"
               "  -o FILE            write the evidence there (default: stdout, binary)\n");
}

typedef struct ev_args {
    const char *tee, *provider, *emulator, *out;
    uint8_t report_data[64];
    bool have_rd;
    int quote_version;
} ev_args;

static int parse(int argc, char **argv, ev_args *a)
{
    static const struct option opts[] = {
        {"tee", required_argument, 0, 't'},      {"report-data", required_argument, 0, 'r'},
        {"nonce", required_argument, 0, 'n'},    {"provider", required_argument, 0, 'p'},
        {"emulator", required_argument, 0, 'e'}, {"quote-version", required_argument, 0, 'v'},
        {"output", required_argument, 0, 'o'},   {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    vt_error e;
    int c;
    optind = 1;
    memset(a, 0, sizeof *a);
    a->provider = "emulated";
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case 't': a->tee = optarg; break;
        case 'p': a->provider = optarg; break;
        case 'e': a->emulator = optarg; break;
        case 'o': a->out = optarg; break;
        case 'v': a->quote_version = atoi(optarg); break;
        case 'n':
            vt_hash(VT_SHA512, optarg, strlen(optarg), a->report_data, NULL);
            a->have_rd = true;
            break;
        case 'r': {
            size_t l = strlen(optarg);
            vt_buf b = {0};
            if (l > 128 || vt_hex_decode(optarg, l, &b, &e) != VT_OK) {
                fprintf(stderr, "veritee evidence get: --report-data: at most 64 bytes of hex\n");
                vt_buf_free(&b);
                return VT_EXIT_USAGE;
            }
            memcpy(a->report_data, b.ptr, b.len);
            vt_buf_free(&b);
            a->have_rd = true;
            break;
        }
        case 'h': evidence_usage(stdout); return -1;
        default: evidence_usage(stderr); return VT_EXIT_USAGE;
        }
    }
    if (a->tee == NULL || !a->have_rd || optind != argc) {
        evidence_usage(stderr);
        return VT_EXIT_USAGE;
    }
    return 0;
}

static int emit(const ev_args *a, const vt_buf *b)
{
    vt_error e;
    if (a->out != NULL) {
        if (vt_file_write(a->out, b->ptr, b->len, &e) != VT_OK) {
            fprintf(stderr, "veritee evidence get: %s\n", e.msg);
            return VT_EXIT_USAGE;
        }
        return 0;
    }
    return fwrite(b->ptr, 1, b->len, stdout) == b->len ? 0 : VT_EXIT_USAGE;
}

int cmd_evidence(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "get") != 0) {
        bool help = argc >= 2 && strcmp(argv[1], "--help") == 0;
        evidence_usage(help ? stdout : stderr);
        return help ? 0 : VT_EXIT_USAGE;
    }
    ev_args a;
    int rc = parse(argc - 1, argv + 1, &a);
    if (rc != 0) return rc < 0 ? 0 : rc;
    if (strcmp(a.provider, "emulated") != 0) {
        fprintf(stderr, "veritee evidence get: provider '%s' is not available in this build\n", a.provider);
        return VT_EXIT_USAGE;
    }
    if (a.emulator == NULL) {
        fprintf(stderr, "veritee evidence get: --provider emulated needs --emulator DIR\n");
        return VT_EXIT_USAGE;
    }
    vt_error e;
    vt_emu *emu = NULL;
    vt_buf out = {0};
    vt_err r = vt_emu_open(a.emulator, &emu, &e);
    if (r == VT_OK) {
        if (strcmp(a.tee, "tdx") == 0) r = vt_emu_tdx_quote(emu, a.report_data, a.quote_version, &out, &e);
        else r = vt_error_set(&e, VT_E_ARG, "evidence", "--tee %s: not emulated in this build", a.tee);
    }
    vt_emu_free(emu);
    if (r != VT_OK) {
        fprintf(stderr, "veritee evidence get: %s\n", e.msg);
        return VT_EXIT_USAGE;
    }
    rc = emit(&a, &out);
    vt_buf_free(&out);
    return rc;
}
