/* TDX quote verification throughput: warm (collateral loaded and signature-checked once,
 * chains cached: two ECDSA P-256 verifies per quote) against the bound of half the OpenSSL
 * P-256 verify rate; cold (collateral loaded and checked for each quote); and a cold
 * `veritee verify` process against a bare `openssl version` process (issue 19: <= 1.6x). */
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "veritee/fileio.h"
#include "veritee/tdx.h"

extern char **environ;

#define SET "tdx/dcapqvl_tdx_v4_b0c06f"
#define AT "2025-07-19T10:00:34Z"

/* One process to its end, its output to /dev/null: wall seconds (spawn to reap) and the cpu
 * seconds the kernel accounted to it. search: file is looked up in PATH. */
static bool spawn_once(const char *file, char *const argv[], bool search, double *wall, double *cpu)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int st = 0;
    struct rusage ru;
    double t0 = bench_now();
    int rc = search ? posix_spawnp(&pid, file, &fa, NULL, argv, environ) : posix_spawn(&pid, file, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0 || wait4(pid, &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return false;
    *wall = bench_now() - t0;
    *cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    return true;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define COLD_PAIRS 200

/* Issue 19's yardstick: a fresh `veritee verify` of the quote with its collateral against a
 * bare `openssl version` process, run in turn (A B A B ...) so that the machine's drift hits
 * both; the ratio is taken pair by pair and its median reported, for wall and for cpu time. */
static void cli_cold(const char *vectors)
{
    char exe[4096], bin[4200], quote[4096], coll[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = n > 0 ? (exe[n] = 0, strrchr(exe, '/')) : NULL;
    if (slash == NULL) {
        printf("# tdx: cannot locate vt-bench; cold CLI not measured\n");
        return;
    }
    *slash = 0;
    snprintf(bin, sizeof bin, "%s/../veritee", exe);
    snprintf(quote, sizeof quote, "%s/%s/quote.bin", vectors, SET);
    snprintf(coll, sizeof coll, "%s/%s", vectors, SET);
    char *a[] = {bin, "verify", "--collateral", coll, "--at", AT, quote, NULL};
    char *b[] = {"openssl", "version", NULL};
    static double aw[COLD_PAIRS], bw[COLD_PAIRS], rw[COLD_PAIRS], rc[COLD_PAIRS];
    double w, c, bwall, bcpu;
    if (!spawn_once(bin, a, false, &w, &c)) { /* the warm-up: page cache, dynamic loader cache */
        printf("# tdx: veritee binary not found next to vt-bench (or it failed); cold CLI not measured\n");
        return;
    }
    bool have_openssl = spawn_once("openssl", b, true, &bwall, &bcpu);
    int pairs = 0;
    double t0 = bench_now();
    while (pairs < COLD_PAIRS && (pairs < 20 || bench_now() - t0 < bench_seconds())) {
        if (!spawn_once(bin, a, false, &w, &c)) return;
        aw[pairs] = w;
        if (have_openssl) {
            if (!spawn_once("openssl", b, true, &bwall, &bcpu)) return;
            bw[pairs] = bwall;
            rw[pairs] = w / bwall;
            rc[pairs] = bcpu > 0 ? c / bcpu : 0;
        }
        pairs++;
    }
    printf("tdx_cli_cold_wall_ms %.2f ms\n", median(aw, pairs) * 1000.0);
    if (!have_openssl) {
        printf("# tdx: no openssl program on PATH: cold CLI ratio not measured\n");
        return;
    }
    printf("openssl_version_cold_wall_ms %.2f ms\n", median(bw, pairs) * 1000.0);
    printf("tdx_cli_cold_ratio_to_openssl_version %.3f ratio\n", median(rw, pairs));
    printf("tdx_cli_cold_cpu_ratio_to_openssl_version %.3f ratio\n", median(rc, pairs));
}

void bench_tdx(const char *vectors, const bench_bounds *b)
{
    char path[4096], dir[4096];
    snprintf(path, sizeof path, "%s/%s/quote.bin", vectors, SET);
    snprintf(dir, sizeof dir, "%s/%s", vectors, SET);
    vt_buf q = {0};
    vt_error e;
    vt_time at;
    if (vt_file_read(path, VT_FILE_MAX, &q, &e) != VT_OK) {
        printf("# tdx: skipped (%s)\n", e.msg);
        return;
    }
    if (vt_time_parse_rfc3339(AT, &at, &e) != VT_OK) return;
    vt_tdx_collateral c;
    vt_tdx_verifier *v = NULL;
    vt_tdx_result *r = calloc(1, sizeof *r);
    if (vt_tdx_collateral_load_dir(dir, &c, &e) != VT_OK || vt_tdx_verifier_new(NULL, &c, &v, &e) != VT_OK ||
        vt_tdx_verify(v, q.ptr, q.len, at, r, &e) != VT_OK) {
        printf("# tdx: setup failed: %s\n", e.msg);
        goto out;
    }
    long n = 0;
    double t0 = bench_now(), lim = bench_seconds();
    for (;;) {
        if (vt_tdx_verify(v, q.ptr, q.len, at, r, &e) != VT_OK) {
            printf("# tdx: verification failed: %s\n", e.msg);
            goto out;
        }
        n++;
        if ((n & 31) == 0 && bench_now() - t0 >= lim) break;
    }
    double warm = (double)n / (bench_now() - t0);
    double bound = b->p256_verify_per_sec / 2.0;
    printf("tdx_verify_per_sec %.1f 1/s\n", warm);
    printf("tdx_verify_bound_per_sec %.1f 1/s\n", bound);
    printf("tdx_ratio_to_bound %.3f ratio\n", bound > 0 ? warm / bound : 0);

    n = 0;
    t0 = bench_now();
    while (n < 20 || bench_now() - t0 < lim / 2) {
        vt_tdx_verifier *cv = NULL;
        if (vt_tdx_collateral_load_dir(dir, &c, &e) != VT_OK || vt_tdx_verifier_new(NULL, &c, &cv, &e) != VT_OK ||
            vt_tdx_verify(cv, q.ptr, q.len, at, r, &e) != VT_OK) {
            printf("# tdx cold: %s\n", e.msg);
            vt_tdx_verifier_free(cv);
            goto out;
        }
        vt_tdx_verifier_free(cv);
        n++;
    }
    printf("tdx_verify_cold_per_sec %.1f 1/s\n", (double)n / (bench_now() - t0));
    cli_cold(vectors);
out:
    fflush(stdout);
    vt_tdx_verifier_free(v);
    free(r);
    vt_buf_free(&q);
}
