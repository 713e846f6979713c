/* The benchmark clock and run length, shared by every section (bench.h). */
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
