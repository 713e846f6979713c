/* Collateral refresh vs the hot path: /attest latency (p50/p99) of emulated TDX guests against a
 * local `veritee serve --cache` whose collateral is quiet (no upstream) and then being refreshed
 * in the background from a slow fake PCCS (bench/bench_collateral.sh), the guests' collateral
 * valid all along. Issue 14: a refresh in progress must not hold up an /attest whose collateral
 * is valid. Client and server share this machine's cores. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "veritee/emulate.h"
#include "veritee/kbs_client.h"

#define SAMPLES_MAX 100000

static vt_err tdx_evidence(void *ud, const uint8_t rd[64], size_t rd_len, json_t **out, vt_error *err)
{
    vt_buf q = {0};
    VT_GUARD(vt_emu_tdx_quote(ud, rd, 0, &q, err));
    vt_err rc = vt_rcar_tdx_evidence_json(q.ptr, q.len, NULL, 0, out, err);
    vt_buf_free(&q);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* bench_collateral.sh ARGS, its KEY=VALUE lines into vals (by the given keys). */
static bool script(const char *args, const char *const *keys, char vals[][1024], size_t n)
{
    char exe[2048], cmd[8192];
    const char *here = VT_SOURCE_DIR "/bench"; /* never __FILE__ (tests/fixtures/testutil.h) */
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash;
    if (len <= 0) return false;
    exe[len] = 0;
    if ((slash = strrchr(exe, '/')) == NULL) return false;
    *slash = 0;
    snprintf(cmd, sizeof cmd, "sh '%s/bench_collateral.sh' %s 2>/dev/null", here, args);
    char *at = strstr(cmd, "@VT@");
    if (at != NULL) {
        char rest[4096];
        snprintf(rest, sizeof rest, "%s", at + 4);
        snprintf(at, sizeof cmd - (size_t)(at - cmd), "'%s/../veritee'%s", exe, rest);
    }
    FILE *p = popen(cmd, "r");
    if (p == NULL) return false;
    char line[2048];
    for (size_t i = 0; i < n; i++) vals[i][0] = 0;
    while (fgets(line, sizeof line, p) != NULL) {
        line[strcspn(line, "\n")] = 0;
        for (size_t i = 0; i < n; i++) {
            size_t k = strlen(keys[i]);
            if (strncmp(line, keys[i], k) == 0 && line[k] == '=') snprintf(vals[i], 1024, "%.1000s", line + k + 1);
            else if (keys[i][0] == 0) snprintf(vals[i], 1024, "%.1000s", line);
        }
    }
    bool ok = pclose(p) == 0;
    for (size_t i = 0; i < n; i++) ok = ok && vals[i][0] != 0;
    return ok;
}

static long pccs_requests(const char *url)
{
    static const char *const keys[] = {""};
    char v[1][1024], args[1200];
    snprintf(args, sizeof args, "requests '%s'", url);
    return script(args, keys, v, 1) ? atol(v[0]) : -1;
}

/* /attest rounds for `secs`, one client; prints p50/p99 under the suffix. */
static void measure(const char *url, const char *emu_dir, double secs, const char *suffix)
{
    vt_error e;
    vt_emu *emu = NULL;
    vt_kbs_client *c = NULL;
    double *lat = malloc(SAMPLES_MAX * sizeof *lat);
    size_t n = 0, errors = 0;
    char first[VT_ERR_MSG_MAX] = "";
    vt_kbs_client_opts o = {.url = url, .tee = "tdx", .evidence = tdx_evidence, .timeout_seconds = 10};
    if (lat == NULL || vt_emu_open(emu_dir, &emu, &e) != VT_OK) goto out;
    o.evidence_ud = emu;
    if (vt_kbs_client_new(&o, &c, &e) != VT_OK) goto out;
    double until = bench_now() + secs;
    while (bench_now() < until && n < SAMPLES_MAX) {
        double t0 = bench_now();
        if (vt_kbs_client_attest(c, &e) == VT_OK) lat[n++] = (bench_now() - t0) * 1e3;
        else if (errors++ == 0) snprintf(first, sizeof first, "%s", e.msg);
    }
    if (n > 0) {
        qsort(lat, n, sizeof *lat, cmp_double);
        printf("kbs_attest_p50_ms_%s %.2f ms\n", suffix, lat[n / 2]);
        printf("kbs_attest_p99_ms_%s %.2f ms\n", suffix, lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1]);
    }
    printf("kbs_attest_rounds_%s %zu rounds (%zu errors)\n", suffix, n, errors);
    if (first[0]) fprintf(stderr, "bench_collateral: %s\n", first);
out:
    vt_kbs_client_free(c);
    vt_emu_free(emu);
    free(lat);
}

static bool serve(const char *dir, const char *mode, const char *pccs, char *url, char *pid)
{
    static const char *const keys[] = {"KBS_URL", "PID"};
    char v[2][1024], args[3000];
    snprintf(args, sizeof args, "serve @VT@ '%s' %s '%s'", dir, mode, pccs);
    if (!script(args, keys, v, 2)) return false;
    snprintf(url, 1024, "%s", v[0]);
    snprintf(pid, 64, "%.60s", v[1]);
    return true;
}

static void stop(const char *pid)
{
    static const char *const keys[] = {"X"};
    char v[1][1024], args[128];
    snprintf(args, sizeof args, "stop %s", pid);
    (void)script(args, keys, v, 1);
}

void bench_collateral(const char *vectors, const bench_bounds *b)
{
    (void)vectors;
    (void)b;
    static const char *const keys[] = {"DIR", "EMU", "PCCS_URL", "PCCS_PID"};
    char env[4][1024], url[1024], pid[64];
    if (!script("prepare @VT@", keys, env, 4)) {
        printf("kbs_attest_p99_ms_refreshing skipped (the fake PCCS or veritee could not be prepared)\n");
        return;
    }
    double secs = bench_seconds() < 8 ? 8 : bench_seconds(); /* enough rounds for a p99 */
    if (serve(env[0], "quiet", env[2], url, pid)) {
        measure(url, env[1], secs, "quiet");
        stop(pid);
    }
    if (serve(env[0], "refreshing", env[2], url, pid)) {
        usleep(1500 * 1000); /* the first pass is under way */
        long r0 = pccs_requests(env[2]);
        double t0 = bench_now();
        measure(url, env[1], secs, "refreshing");
        double wall = bench_now() - t0;
        long r1 = pccs_requests(env[2]);
        stop(pid);
        /* each request takes the PCCS 1 s: requests x 1 s is the time a refresh was in flight */
        if (r0 >= 0 && r1 >= r0)
            printf("collateral_refresh_busy_fraction %.2f (of the refreshing run; %ld requests of 1 s)\n",
                   (double)(r1 - r0) / wall, r1 - r0);
    }
    char args[2400];
    static const char *const none[] = {"X"};
    char v[1][1024];
    snprintf(args, sizeof args, "cleanup '%s' %s", env[0], env[3]);
    (void)script(args, none, v, 1);
}
