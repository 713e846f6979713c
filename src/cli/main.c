/* veritee: one binary, subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: veritee <command> [options]\n"
            "\n"
            "commands:\n"
            "  verify     verify TEE evidence (TDX/SGX quote, SNP report, CCA token, NVIDIA GPU)\n"
            "  appraise   verify evidence and appraise it against a policy; write a signed EAR\n"
            "  ear        verify an EAR attestation result; create/export its signing key\n"
            "  tdx        TDX tools (replay-rtmr: replay a CCEL event log into RTMRs)\n"
            "  snp        SEV-SNP tools (show: print every decoded field of a report)\n"
            "  cca        CCA tools (show: print every claim of a token)\n"
            "  rim        NVIDIA GPU reference integrity manifests (verify, match)\n"
            "  measure    precompute launch measurements (snp, tdx, cca)\n"
            "  vm         confidential VM lifecycle (plan, create, start, stop, destroy, list)\n"
            "  platform   what this machine is: TEE host, TEE guest, or neither\n"
            "  audit      verify or show the audit log (hash chain) of a store\n"
            "  store      store maintenance (rekey: rotate the key-encryption key)\n"
            "  collateral fetch, refresh, show and prune the Intel PCS/PCCS collateral cache\n"
            "  emulate    create an emulated TEE (test PKI, collateral) for machines without one\n"
            "  evidence   collect attestation evidence (emulated, configfs-tsm, ioctl)\n"
            "  serve      Key Broker Service + attestation service (CoCo KBS protocol)\n"
            "  admin      KBS admin client: resources, policies, reference values\n"
            "  attest     attest to a KBS (CoCo RCAR) and fetch a secret (guest side)\n"
            "  ui         the web console's evidence explorer on a local address (no store)\n"
            "  version    print the version\n"
            "\n"
            "Run 'veritee <command> --help' for the options of a command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return VT_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "verify") == 0) return cmd_verify(argc - 1, argv + 1);
    if (strcmp(cmd, "appraise") == 0) return cmd_appraise(argc - 1, argv + 1);
    if (strcmp(cmd, "ear") == 0) return cmd_ear(argc - 1, argv + 1);
    if (strcmp(cmd, "tdx") == 0) return cmd_tdx(argc - 1, argv + 1);
    if (strcmp(cmd, "snp") == 0) return cmd_snp(argc - 1, argv + 1);
    if (strcmp(cmd, "cca") == 0) return cmd_cca(argc - 1, argv + 1);
    if (strcmp(cmd, "rim") == 0) return cmd_rim(argc - 1, argv + 1);
    if (strcmp(cmd, "measure") == 0) return cmd_measure(argc - 1, argv + 1);
    if (strcmp(cmd, "vm") == 0) return cmd_vm(argc - 1, argv + 1);
    if (strcmp(cmd, "platform") == 0) return cmd_platform(argc - 1, argv + 1);
    if (strcmp(cmd, "audit") == 0) return cmd_audit(argc - 1, argv + 1);
    if (strcmp(cmd, "store") == 0) return cmd_store(argc - 1, argv + 1);
    if (strcmp(cmd, "collateral") == 0) return cmd_collateral(argc - 1, argv + 1);
    if (strcmp(cmd, "emulate") == 0) return cmd_emulate(argc - 1, argv + 1);
    if (strcmp(cmd, "evidence") == 0) return cmd_evidence(argc - 1, argv + 1);
    if (strcmp(cmd, "serve") == 0) return cmd_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "admin") == 0) return cmd_admin(argc - 1, argv + 1);
    if (strcmp(cmd, "attest") == 0) return cmd_attest(argc - 1, argv + 1);
    if (strcmp(cmd, "ui") == 0) return cmd_ui(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("veritee 0.1.0\n");
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "veritee: unknown command '%s'\n", cmd);
    usage(stderr);
    return VT_EXIT_USAGE;
}
