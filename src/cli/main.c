/* veritee: one binary, subcommands, dispatched through the command table (commands.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli.h"

#define VT_VERSION "0.1.0"

int cli_exit_for(int code)
{
    switch (code) {
    case VT_OK: return VT_EXIT_OK;
    case VT_E_VERIFY:
    case VT_E_EXPIRED:
    case VT_E_REVOKED:
    case VT_E_NO_TCB: return VT_EXIT_REJECTED;
    case VT_E_MISSING:
    case VT_E_IO: return VT_EXIT_MISSING; /* not there or not reachable: provide/fetch and retry */
    default: return VT_EXIT_USAGE;        /* VT_E_INVALID, VT_E_UNSUPPORTED, VT_E_ARG, ... */
    }
}

void cli_openssl_setup(bool offline, bool reasons, bool cipher_names)
{
    /* OpenSSL 3 otherwise registers an atexit handler that frees its global state one
     * allocation at a time (~0.8M instructions in a cold `veritee verify`); the config file
     * (openssl.cnf) can add providers, engines and the TLS policy of connections: a command
     * that connects nowhere and runs with the default provider does not read it (~0.8M), unless
     * the user names one with OPENSSL_CONF. Its error reason strings (~0.9M: a table built at
     * the first error-queue use, which every certificate decode makes) are for messages that
     * quote them (vt_openssl_reason); without them a reason reads "lib(N)::reason(M)".
     * OpenSSL 3.0 copies the names of every legacy cipher into its name map at its first use
     * (~2.2M); they serve EVP_get_cipherbyname and what uses it (an encrypted PEM key, TLS
     * through an engine). A command that decrypts nothing and connects nowhere goes without:
     * a cipher looked up by such a name would fail, never pass. Digest names stay (X.509
     * signature checks look their digest up by name). */
    uint64_t opts = OPENSSL_INIT_NO_ATEXIT;
    if (offline && getenv("OPENSSL_CONF") == NULL) opts |= OPENSSL_INIT_NO_LOAD_CONFIG;
    if (!reasons) opts |= OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS;
    if (!cipher_names) opts |= OPENSSL_INIT_NO_ADD_ALL_CIPHERS;
    (void)OPENSSL_init_crypto(opts, NULL); /* a failure shows where OpenSSL is used */
}

int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("veritee " VT_VERSION "\n");
    return VT_EXIT_OK;
}

/* The longest "cmd sub" path the arguments name. */
static const cli_cmd *resolve(int argc, char **argv, char *path, size_t cap)
{
    const cli_cmd *c = cli_find(argv[0]);
    snprintf(path, cap, "%s", argv[0]);
    if (c != NULL && argc > 1 && argv[1][0] != '-') {
        char sub[96];
        snprintf(sub, sizeof sub, "%s %s", argv[0], argv[1]);
        const cli_cmd *s = cli_find(sub);
        if (s != NULL) {
            snprintf(path, cap, "%s", sub);
            return s;
        }
    }
    return c;
}

/* Machine-readable views of the table, for completion scripts and tests (not in the help):
 * `veritee help --commands` lists every command path, `veritee help --options PATH` its options. */
static int help_list(int argc, char **argv)
{
    if (strcmp(argv[1], "--commands") == 0 && argc == 2) {
        for (size_t i = 0; i < cli_ncommands; i++) printf("%s\n", cli_commands[i].name);
        return VT_EXIT_OK;
    }
    char path[96] = "";
    if (argc == 3) snprintf(path, sizeof path, "%s", argv[2]);
    else if (argc == 4) snprintf(path, sizeof path, "%s %s", argv[2], argv[3]);
    const cli_cmd *c = path[0] ? cli_find(path) : NULL;
    if (c == NULL) return cli_bad_arg("help", argv[argc - 1]);
    for (const cli_opt *o = c->opts; o != NULL && o->lng != NULL; o++)
        printf("--%s%s%s\n", o->lng, o->arg ? " " : "", o->arg ? o->arg : "");
    return VT_EXIT_OK;
}

int cmd_help(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        cli_help(stdout, "help");
        return VT_EXIT_OK;
    }
    if (argc >= 2 && (strcmp(argv[1], "--commands") == 0 || strcmp(argv[1], "--options") == 0))
        return help_list(argc, argv);
    if (argc < 2) {
        cli_help_top(stdout);
        return VT_EXIT_OK;
    }
    char path[96];
    const cli_cmd *c = resolve(argc - 1, argv + 1, path, sizeof path);
    if (c == NULL) {
        fprintf(stderr, "veritee help: unknown command '%s'; see 'veritee help'\n", argv[1]);
        return VT_EXIT_USAGE;
    }
    cli_help(stdout, path);
    return VT_EXIT_OK;
}

int main(int argc, char **argv)
{
    cli_openssl_setup(false, true, true); /* cmd_verify adds what its verification may skip */
    opterr = 0; /* the commands report a bad option in one line (cli_bad_option) */
    /* tpm2-tss logs TPM errors on stderr by itself; ours say the same once. TSS2_LOG set by the
     * user still wins. */
    setenv("TSS2_LOG", "all+none", 0);
    if (argc < 2) {
        fprintf(stderr, "usage: veritee <command> [options]; see 'veritee help'\n");
        return VT_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) return cmd_version(0, NULL);
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) return cmd_help(1, argv + 1);
    char path[96];
    const cli_cmd *c = resolve(argc - 1, argv + 1, path, sizeof path);
    if (c == NULL || strchr(cmd, ' ') != NULL) {
        fprintf(stderr, "veritee: unknown command '%s'; see 'veritee help'\n", cmd);
        return VT_EXIT_USAGE;
    }
    /* CMD [SUB] ... --help anywhere before "--": the table's help, the same as 'veritee help CMD [SUB]'. */
    if (strcmp(cmd, "help") != 0)
        for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++)
            if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                cli_help(stdout, path);
                return VT_EXIT_OK;
            }
    const cli_cmd *top = cli_find(cmd);
    return top->run(argc - 1, argv + 1);
}
