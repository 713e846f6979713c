/* vt-bench: every figure as "name value unit", one per line. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"

double bench_seconds(void)
{
    const char *s = getenv("VT_BENCH_SECONDS");
    double v = s ? atof(s) : 2.0;
    return v > 0 ? v : 2.0;
}

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
    const char *vectors = getenv("VERITEE_VECTORS");
    if (vectors == NULL || *vectors == '\0') vectors = "../shared/vectors";
    bench_bounds b = {0};
    bench_openssl(&b);
    if (bench_tdx) bench_tdx(vectors, &b);
    if (bench_snp) bench_snp(vectors, &b);
    if (bench_cca) bench_cca(vectors, &b);
    if (bench_nvidia) bench_nvidia(vectors, &b);
    if (bench_kbs) bench_kbs(vectors, &b);
    return 0;
}
