/* veritee evidence extend: extend a TDX RTMR through the tsm-mr sysfs files, or a TPM PCR
 * (Azure CVMs, TPM hosts), and record the event in a runtime event log (docs/evidence.md,
 * "Runtime measurements"; docs/azure.md). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "evidence_cli.h"
#include "veritee/crypto.h"
#include "veritee/evidence.h"
#include "veritee/fileio.h"
#include "veritee/vtpm.h"

static int usage(FILE *f)
{
    cli_usage(f, "evidence extend");
    return f == stdout ? 0 : VT_EXIT_USAGE;
}

/* PCR pcr of the TPM: an AAEL entry logged as the attestation agent does (--aael, --log), or a
 * bare SHA-256 digest (--digest, unlogged). */
static int extend_pcr(long pcr, const char *tcti, const char *digest_hex, const char *aael, const char *log, bool extra)
{
    if (pcr < 0 || extra || (digest_hex == NULL) == (aael == NULL) || (aael != NULL && log == NULL)) {
        fprintf(stderr, "veritee evidence extend: --pcr 0..23 with --aael TEXT --log FILE, or --digest HEX (32 bytes)\n");
        return VT_EXIT_USAGE;
    }
    if (tcti == NULL) tcti = cli_tcti_default();
    vt_error e;
    vt_error_clear(&e);
    vt_err rc;
    uint8_t d[32];
    if (aael != NULL) {
        rc = vt_vtpm_aael_extend(tcti, log, (unsigned)pcr, aael, &e);
    } else if (strlen(digest_hex) != 64 || vt_hex_decode_fixed(digest_hex, d, 32, &e) != VT_OK) {
        fprintf(stderr, "veritee evidence extend: --digest with --pcr is 32 bytes of hex (SHA-256)\n");
        return VT_EXIT_USAGE;
    } else {
        vt_vtpm *t = NULL;
        rc = vt_vtpm_open(tcti, &t, &e);
        if (rc == VT_OK) rc = vt_vtpm_pcr_extend(t, (unsigned)pcr, d, &e);
        vt_vtpm_close(t);
    }
    if (rc != VT_OK) {
        fprintf(stderr, "veritee evidence extend: %s\n", e.msg);
        return cli_exit_for(rc);
    }
    printf("PCR %ld extended%s%s\n", pcr, log ? ", logged in " : "", log ? log : "");
    return 0;
}

int cli_evidence_extend(int argc, char **argv)
{
    static const struct option opts[] = {
        {"rtmr", required_argument, 0, 'r'}, {"digest", required_argument, 0, 'd'},
        {"data-file", required_argument, 0, 'f'}, {"event", required_argument, 0, 'e'},
        {"log", required_argument, 0, 'l'}, {"mr-dir", required_argument, 0, 'm'},
        {"pcr", required_argument, 0, 'p'}, {"tcti", required_argument, 0, 't'},
        {"aael", required_argument, 0, 'a'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *digest_hex = NULL, *file = NULL, *event = NULL, *log = NULL, *mr_dir = NULL, *tcti = NULL,
               *aael = NULL;
    long idx = -1, pcr = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'r':
            idx = strtol(optarg, &end, 10);
            if (*end != '\0' || idx < 0 || idx > 3) idx = -2;
            break;
        case 'd': digest_hex = optarg; break;
        case 'f': file = optarg; break;
        case 'e': event = optarg; break;
        case 'l': log = optarg; break;
        case 'm': mr_dir = optarg; break;
        case 'p':
            pcr = strtol(optarg, &end, 10);
            if (*end != '\0' || pcr < 0 || pcr > 23) pcr = -2;
            break;
        case 't': tcti = optarg; break;
        case 'a': aael = optarg; break;
        case 'h': return usage(stdout);
        default: return cli_bad_option("evidence extend", argv);
        }
    }
    if (pcr != -1) return extend_pcr(pcr, tcti, digest_hex, aael, log, optind != argc);
    if (idx < 0 || optind != argc || (digest_hex == NULL) == (file == NULL)) return usage(stderr);
    vt_error e;
    vt_error_clear(&e);
    uint8_t d[48];
    vt_err rc = VT_OK;
    if (digest_hex != NULL) {
        if (strlen(digest_hex) != 96 || vt_hex_decode_fixed(digest_hex, d, 48, &e) != VT_OK) {
            fprintf(stderr, "veritee evidence extend: --digest must be 48 bytes of hex\n");
            return VT_EXIT_USAGE;
        }
    } else {
        vt_buf b = {0};
        rc = vt_file_read(file, 1u << 30, &b, &e);
        if (rc == VT_OK) rc = vt_hash(VT_SHA384, b.ptr, b.len, d, &e);
        vt_buf_free(&b);
        if (event == NULL) event = file;
    }
    if (rc == VT_OK)
        rc = vt_rtmr_extend(mr_dir, (unsigned)idx, d, log, event, event ? strlen(event) : 0, &e);
    if (rc != VT_OK) {
        fprintf(stderr, "veritee evidence extend: %s\n", e.msg);
        return cli_exit_for(rc);
    }
    char hex[97];
    vt_hex_encode(d, 48, hex);
    printf("RTMR%ld extended with %s%s%s\n", idx, hex, log ? ", logged in " : "", log ? log : "");
    return 0;
}
