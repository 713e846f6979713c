/* veritee verify --tee cca: not yet implemented (placeholder until the cca verifier lands). */
#include "cli.h"

int cli_verify_cca(cli_verify_args *a)
{
    fprintf(stderr, "veritee verify: %s: the cca verifier is not built yet\n", a->file);
    return VT_EXIT_USAGE;
}
