/* veritee evidence extend: extend a TDX RTMR through the tsm-mr sysfs files and record the
 * event in a runtime event log (docs/evidence.md, "Runtime measurements"). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "evidence_cli.h"
#include "veritee/crypto.h"
#include "veritee/evidence.h"
#include "veritee/fileio.h"

static int usage(FILE *f)
{
    cli_usage(f, "evidence extend");
    return f == stdout ? 0 : VT_EXIT_USAGE;
}

int cli_evidence_extend(int argc, char **argv)
{
    static const struct option opts[] = {
        {"rtmr", required_argument, 0, 'r'}, {"digest", required_argument, 0, 'd'},
        {"data-file", required_argument, 0, 'f'}, {"event", required_argument, 0, 'e'},
        {"log", required_argument, 0, 'l'}, {"mr-dir", required_argument, 0, 'm'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *digest_hex = NULL, *file = NULL, *event = NULL, *log = NULL, *mr_dir = NULL;
    long idx = -1;
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
        case 'h': return usage(stdout);
        default: return cli_bad_option("evidence extend", argv);
        }
    }
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
