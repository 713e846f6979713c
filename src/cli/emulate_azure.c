/* veritee emulate azure-cvm: provision a TPM (swtpm) as Azure's paravisor would, so that
 * `veritee evidence get --tee az-snp-vtpm|az-tdx-vtpm --tcti ...` collects from it exactly as on
 * an Azure CVM (docs/azure.md, "The emulated Azure CVM"). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "veritee/codec.h"
#include "veritee/emulate.h"

int cli_emulate_azure_cvm(int argc, char **argv)
{
    enum { O_TEE = 256, O_TCTI, O_OUT, O_INIT, O_AAEL };
    static const struct option opts[] = {{"tee", required_argument, 0, O_TEE},   {"tcti", required_argument, 0, O_TCTI},
                                         {"out", required_argument, 0, O_OUT},   {"init-data", required_argument, 0, O_INIT},
                                         {"aael", required_argument, 0, O_AAEL}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *tee = NULL, *aael[8];
    vt_emu_az_cvm_opts o = {.aael = aael};
    uint8_t init[32];
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_TEE: tee = optarg; break;
        case O_TCTI: o.tcti = optarg; break;
        case O_OUT: o.out_dir = optarg; break;
        case O_INIT:
            if (strlen(optarg) != 64 || vt_hex_decode_fixed(optarg, init, 32, NULL) != VT_OK) {
                fprintf(stderr, "veritee emulate azure-cvm: --init-data: 32 bytes of hex\n");
                return VT_EXIT_USAGE;
            }
            o.init_data_hash = init;
            break;
        case O_AAEL:
            if (o.n_aael == 8) {
                fprintf(stderr, "veritee emulate azure-cvm: at most 8 --aael\n");
                return VT_EXIT_USAGE;
            }
            aael[o.n_aael++] = optarg;
            break;
        case 'h': cli_usage(stdout, "emulate azure-cvm"); return 0;
        default: return cli_bad_option("emulate azure-cvm", argv);
        }
    }
    vt_emu_az_kind kind = tee == NULL ? 0 : strcmp(tee, "az-snp-vtpm") == 0 ? VT_EMU_AZ_SNP
                                          : strcmp(tee, "az-tdx-vtpm") == 0 ? VT_EMU_AZ_TDX : 0;
    if (optind + 1 != argc || kind == 0 || o.tcti == NULL || o.out_dir == NULL) {
        cli_usage(stderr, "emulate azure-cvm");
        return VT_EXIT_USAGE;
    }
    vt_error e;
    vt_error_clear(&e);
    vt_emu *emu = NULL;
    vt_err rc = vt_emu_open(argv[optind], &emu, &e);
    if (rc == VT_OK) rc = vt_emu_az_cvm_provision(emu, kind, &o, &e);
    vt_emu_free(emu);
    if (rc != VT_OK) {
        fprintf(stderr, "veritee emulate azure-cvm: %s\n", e.msg);
        return cli_exit_for(rc);
    }
    printf("provisioned an emulated %s CVM in the TPM at %s (AK 0x81000003, HCL report in NV 0x01400001); "
           "logs and IMDS answers in %s\n", tee, o.tcti, o.out_dir);
    return 0;
}
