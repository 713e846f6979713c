/* TDX quote verification throughput: warm (collateral loaded and signature-checked once,
 * chains cached: two ECDSA P-256 verifies per quote) against the bound of half the OpenSSL
 * P-256 verify rate; cold (collateral loaded and checked for each quote); and the wall time
 * of a cold `veritee verify` process. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "veritee/fileio.h"
#include "veritee/tdx.h"

extern char **environ;

#define SET "tdx/dcapqvl_tdx_v4_b0c06f"
#define AT "2025-07-19T10:00:34Z"

static double cli_cold_ms(const char *vectors)
{
    char exe[4096], bin[4200], quote[4096], coll[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash == NULL) return -1;
    *slash = 0;
    snprintf(bin, sizeof bin, "%s/../veritee", exe);
    snprintf(quote, sizeof quote, "%s/%s/quote.bin", vectors, SET);
    snprintf(coll, sizeof coll, "%s/%s", vectors, SET);
    char *argv[] = {bin, "verify", "--collateral", coll, "--at", AT, quote, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", 1, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", 1, 0);
    int runs = 0;
    double t0 = bench_now();
    while (runs < 200 && (runs < 10 || bench_now() - t0 < bench_seconds())) {
        pid_t pid;
        int st;
        if (posix_spawn(&pid, bin, &fa, NULL, argv, environ) != 0) return -1;
        if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return -1;
        runs++;
    }
    posix_spawn_file_actions_destroy(&fa);
    return (bench_now() - t0) * 1000.0 / runs;
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
    double ms = cli_cold_ms(vectors);
    if (ms > 0) printf("tdx_cli_cold_wall_ms %.2f ms\n", ms);
    else printf("# tdx: veritee binary not found next to vt-bench; cold CLI not measured\n");
out:
    fflush(stdout);
    vt_tdx_verifier_free(v);
    free(r);
    vt_buf_free(&q);
}
