/* veritee verify --tee snp: not yet implemented (placeholder until the snp verifier lands). */
#include "cli.h"

int cli_verify_snp(cli_verify_args *a)
{
    fprintf(stderr, "veritee verify: %s: the snp verifier is not built yet\n", a->file);
    return VT_EXIT_USAGE;
}
