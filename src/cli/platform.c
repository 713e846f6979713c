/* veritee platform: placeholder until its issue lands. */
#include "cli.h"

int cmd_platform(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "veritee platform: not built yet\n");
    return VT_EXIT_USAGE;
}
