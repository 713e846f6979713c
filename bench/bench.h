/* Benchmark sections. Each prints lines "name value unit". A section that is not linked in
 * (weak symbol left NULL) is skipped. */
#ifndef VT_BENCH_H
#define VT_BENCH_H

/* OpenSSL bounds measured in this run, filled by bench_openssl. */
typedef struct bench_bounds {
    double p256_verify_per_sec;
    double p384_verify_per_sec;
    double rsa4096_verify_per_sec;
} bench_bounds;

/* Seconds each timed loop runs (from VT_BENCH_SECONDS, default 2). */
double bench_seconds(void);
double bench_now(void);

void bench_openssl(bench_bounds *b);
__attribute__((weak)) void bench_tdx(const char *vectors, const bench_bounds *b);
__attribute__((weak)) void bench_snp(const char *vectors, const bench_bounds *b);
__attribute__((weak)) void bench_cca(const char *vectors, const bench_bounds *b);
/* vTPM quotes and Azure CVM evidence (bench/bench_azure.c). */
__attribute__((weak)) void bench_azure(const char *vectors, const bench_bounds *b);
__attribute__((weak)) void bench_nvidia(const char *vectors, const bench_bounds *b);
/* The CPU-bound rounds/s of one RCAR round's cryptography on this machine's cores; prints it
 * (bench/kbs_bound.c). 0 when it cannot be measured. */
double bench_kbs_round_bound(void);
/* The most rounds/s of a server that did nothing but the round's cryptography (CPU seconds per
 * round, both sides), its two durable writes in dir and its three loopback exchanges; prints
 * its parts (bench/kbs_floor.c). 0 when it cannot be measured. */
double bench_kbs_round_floor(const char *dir, double crypto_per_round);
/* KBS: full RCAR rounds against a local veritee serve (bench/kbs_load.c). */
__attribute__((weak)) void bench_kbs(const char *vectors, const bench_bounds *b);

/* /attest p99 quiet vs with a background collateral refresh in progress (bench/bench_collateral.c). */
__attribute__((weak)) void bench_collateral(const char *vectors, const bench_bounds *b);

#endif
