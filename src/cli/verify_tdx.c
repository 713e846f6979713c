/* placeholder */
#include "cli.h"
int cli_verify_tdx(cli_verify_args *a) { (void)a; return VT_EXIT_USAGE; }
int cmd_tdx(int argc, char **argv) { (void)argc; (void)argv; return VT_EXIT_USAGE; }
