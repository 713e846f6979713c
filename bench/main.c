/* vt-bench: every figure as "name value unit", one per line. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int main(void)
{
    const char *vectors = getenv("VERITEE_VECTORS");
    if (vectors == NULL || *vectors == '\0') vectors = "../shared/vectors";
    /* VT_BENCH_ONLY=kbs (a section name): that section only (and the OpenSSL bounds, unless kbs) */
    const char *only = getenv("VT_BENCH_ONLY");
#define RUN(name) (bench_##name != NULL && (only == NULL || *only == 0 || strcmp(only, #name) == 0))
    bench_bounds b = {0};
    /* the KBS and collateral figures do not use these bounds */
    if (!(only != NULL && (strcmp(only, "kbs") == 0 || strcmp(only, "collateral") == 0))) bench_openssl(&b);
    if (RUN(tdx)) bench_tdx(vectors, &b);
    if (RUN(snp)) bench_snp(vectors, &b);
    if (RUN(cca)) bench_cca(vectors, &b);
    if (RUN(azure)) bench_azure(vectors, &b);
    if (RUN(nvidia)) bench_nvidia(vectors, &b);
    if (RUN(kbs)) bench_kbs(vectors, &b);
    if (RUN(collateral)) bench_collateral(vectors, &b);
    return 0;
}
