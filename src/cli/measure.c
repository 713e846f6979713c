/* veritee measure: placeholder until its issue lands. */
#include "cli.h"

int cmd_measure(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "veritee measure: not built yet\n");
    return VT_EXIT_USAGE;
}
