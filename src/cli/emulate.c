/* veritee emulate: create and inspect an emulated TEE directory (docs/emulate.md). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "veritee/emulate.h"
#include "veritee/fileio.h"

static void emulate_usage(FILE *f)
{
    cli_usage(f, "emulate");
}

static int emulate_init(int argc, char **argv)
{
    static const struct option opts[] = {{"platform", required_argument, 0, 'p'}, {"at", required_argument, 0, 'a'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *platform = NULL;
    vt_time at = (vt_time)time(NULL);
    vt_error e;
    vt_error_clear(&e);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'p') platform = optarg;
        else if (c == 'a') {
            if (vt_time_parse_rfc3339(optarg, &at, &e) != VT_OK) {
                fprintf(stderr, "veritee emulate init: --at: %s\n", e.msg);
                return VT_EXIT_USAGE;
            }
        } else if (c == 'h') {
            cli_usage(stdout, "emulate init");
            return VT_EXIT_OK;
        } else {
            return cli_bad_option("emulate init", argv);
        }
    }
    if (optind != argc - 1) {
        emulate_usage(stderr);
        return VT_EXIT_USAGE;
    }
    vt_buf text = {0};
    if (platform != NULL && vt_file_read(platform, 1u << 20, &text, &e) != VT_OK) {
        fprintf(stderr, "veritee emulate init: %s\n", e.msg);
        return VT_EXIT_USAGE;
    }
    vt_err rc = vt_emu_init(argv[optind], platform ? (const char *)text.ptr : NULL, at, &e);
    vt_buf_free(&text);
    if (rc != VT_OK) {
        fprintf(stderr, "veritee emulate init: %s\n", e.msg);
        return cli_exit_for(rc);
    }
    printf("emulated TEE created in %s\n  trust anchors: %s/trust\n  collateral:    %s/collateral\n", argv[optind],
           argv[optind], argv[optind]);
    return 0;
}

static int emulate_show(int argc, char **argv)
{
    if (argc != 2) {
        emulate_usage(stderr);
        return VT_EXIT_USAGE;
    }
    vt_error e;
    vt_emu *emu = NULL;
    if (vt_emu_open(argv[1], &emu, &e) != VT_OK) {
        fprintf(stderr, "veritee emulate show: %s\n", e.msg);
        return VT_EXIT_USAGE;
    }
    char *s = json_dumps(vt_emu_platform(emu), JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s) printf("%s\n", s);
    free(s);
    vt_emu_free(emu);
    return 0;
}

int cmd_emulate(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "init") == 0) return emulate_init(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "show") == 0) return emulate_show(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "gpu-evidence") == 0) return cli_emulate_gpu_evidence(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "azure-cvm") == 0) return cli_emulate_azure_cvm(argc - 1, argv + 1);
    bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    emulate_usage(help ? stdout : stderr);
    return help ? 0 : VT_EXIT_USAGE;
}
