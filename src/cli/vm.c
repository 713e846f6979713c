/* veritee vm: placeholder until its issue lands. */
#include "cli.h"

int cmd_vm(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "veritee vm: not built yet\n");
    return VT_EXIT_USAGE;
}
