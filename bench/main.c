/* vt-bench: every figure as "name value unit", one per line. */
#include <stdlib.h>

#include "bench.h"

int main(void)
{
    const char *vectors = getenv("VERITEE_VECTORS");
    if (vectors == NULL || *vectors == '\0') vectors = "../shared/vectors";
    bench_bounds b = {0};
    bench_openssl(&b);
    if (bench_tdx) bench_tdx(vectors, &b);
    if (bench_snp) bench_snp(vectors, &b);
    if (bench_cca) bench_cca(vectors, &b);
    if (bench_azure) bench_azure(vectors, &b);
    if (bench_nvidia) bench_nvidia(vectors, &b);
    if (bench_kbs) bench_kbs(vectors, &b);
    if (bench_collateral) bench_collateral(vectors, &b);
    return 0;
}
