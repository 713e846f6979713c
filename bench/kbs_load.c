/* KBS load: full RCAR rounds (/auth, emulated TDX quote over the binding, /attest with
 * appraisal and EAR, resource GET decrypted from its JWE) per second and their p50/p99 latency,
 * from client threads against a local `veritee serve` on SQLite that bench/kbs_load.sh starts
 * (or the one named by VT_BENCH_KBS_URL + VT_BENCH_KBS_EMU). Client and server share this
 * machine's cores: the figure is the whole system's. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "veritee/emulate.h"
#include "veritee/kbs_client.h"

#define THREADS_MAX 8
#define SAMPLES_MAX 100000

typedef struct load_ctx {
    const char *url, *emu_dir;
    double until;
    double *lat; /* per-thread samples, ms */
    size_t n, errors;
    char first_error[VT_ERR_MSG_MAX];
} load_ctx;

static vt_err tdx_evidence(void *ud, const uint8_t rd[64], size_t rd_len, json_t **out, vt_error *err)
{
    vt_buf q = {0};
    VT_GUARD(vt_emu_tdx_quote(ud, rd, 0, &q, err));
    vt_err rc = vt_rcar_tdx_evidence_json(q.ptr, q.len, NULL, 0, out, err);
    vt_buf_free(&q);
    return rc;
}

static void *load_thread(void *ud)
{
    load_ctx *x = ud;
    vt_error e;
    vt_emu *emu = NULL;
    vt_kbs_client *c = NULL;
    if (vt_emu_open(x->emu_dir, &emu, &e) != VT_OK) goto fail;
    vt_kbs_client_opts o = {.url = x->url, .tee = "tdx", .evidence = tdx_evidence, .evidence_ud = emu,
                            .timeout_seconds = 10};
    if (vt_kbs_client_new(&o, &c, &e) != VT_OK) goto fail;
    while (bench_now() < x->until && x->n < SAMPLES_MAX) {
        double t0 = bench_now();
        vt_buf s = {0};
        if (vt_kbs_client_attest(c, &e) == VT_OK && vt_kbs_client_get_resource(c, "bench/key/one", false, &s, &e) == VT_OK) {
            x->lat[x->n++] = (bench_now() - t0) * 1e3;
        } else if (x->errors++ == 0) {
            snprintf(x->first_error, sizeof x->first_error, "%s", e.msg);
        }
        vt_buf_free_secret(&s);
    }
    vt_kbs_client_free(c);
    vt_emu_free(emu);
    return NULL;
fail:
    snprintf(x->first_error, sizeof x->first_error, "%s", e.msg);
    x->errors++;
    vt_emu_free(emu);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One run with `threads` clients; prints the figures under `suffix`. */
static void run(const char *url, const char *emu, int threads, const char *suffix)
{
    load_ctx ctx[THREADS_MAX];
    pthread_t th[THREADS_MAX];
    double secs = bench_seconds() < 3 ? 3 : bench_seconds();
    double t0 = bench_now();
    for (int i = 0; i < threads; i++) {
        ctx[i] = (load_ctx){.url = url, .emu_dir = emu, .until = t0 + secs, .lat = malloc(SAMPLES_MAX * sizeof(double))};
        if (ctx[i].lat == NULL || pthread_create(&th[i], NULL, load_thread, &ctx[i]) != 0) {
            fprintf(stderr, "bench_kbs: cannot start a client thread\n");
            for (int j = 0; j <= i; j++) free(ctx[j].lat);
            return;
        }
    }
    size_t total = 0, errors = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += ctx[i].n;
        errors += ctx[i].errors;
    }
    double wall = bench_now() - t0;
    double *all = malloc((total ? total : 1) * sizeof(double));
    size_t k = 0;
    for (int i = 0; i < threads; i++) {
        if (all != NULL) memcpy(all + k, ctx[i].lat, ctx[i].n * sizeof(double));
        k += ctx[i].n;
        if (ctx[i].errors && ctx[i].first_error[0]) fprintf(stderr, "bench_kbs: %s\n", ctx[i].first_error);
        free(ctx[i].lat);
    }
    if (all != NULL && total > 0) {
        qsort(all, total, sizeof *all, cmp_double);
        printf("kbs_rcar_rounds_per_sec%s %.1f rounds/s\n", suffix, (double)total / wall);
        printf("kbs_rcar_p50_ms%s %.2f ms\n", suffix, all[total / 2]);
        printf("kbs_rcar_p99_ms%s %.2f ms\n", suffix, all[(total * 99) / 100 < total ? (total * 99) / 100 : total - 1]);
    }
    printf("kbs_rcar_errors%s %zu rounds\n", suffix, errors);
    free(all);
}

/* Starts the server with bench/kbs_load.sh (found from this file's path, next to the build's
 * veritee binary); fills url/emu/pid/dir. */
static bool start_server(char *url, char *emu, char *pid, char *dir, size_t cap)
{
    char exe[2048], cmd[6144], here[2048];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return false;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash == NULL) return false;
    *slash = 0;
    snprintf(here, sizeof here, "%s/bench", VT_SOURCE_DIR);
    snprintf(cmd, sizeof cmd, "sh '%s/kbs_load.sh' start '%s/../veritee' 2>/dev/null", here, exe);
    FILE *p = popen(cmd, "r");
    if (p == NULL) return false;
    char line[2048];
    url[0] = emu[0] = pid[0] = dir[0] = 0;
    while (fgets(line, sizeof line, p) != NULL) {
        line[strcspn(line, "\n")] = 0;
        if (strncmp(line, "KBS_URL=", 8) == 0) snprintf(url, cap, "%.1000s", line + 8);
        if (strncmp(line, "EMU=", 4) == 0) snprintf(emu, cap, "%.1000s", line + 4);
        if (strncmp(line, "PID=", 4) == 0) snprintf(pid, 64, "%.60s", line + 4);
        if (strncmp(line, "DIR=", 4) == 0) snprintf(dir, cap, "%.1000s", line + 4);
    }
    return pclose(p) == 0 && url[0] && emu[0] && pid[0] && dir[0];
}

void bench_kbs(const char *vectors, const bench_bounds *b)
{
    (void)vectors;
    (void)b;
    char url[1024], emu[1024], pid[64] = "", dir[1024] = "";
    const char *eu = getenv("VT_BENCH_KBS_URL"), *ee = getenv("VT_BENCH_KBS_EMU");
    if (eu != NULL && ee != NULL) {
        snprintf(url, sizeof url, "%s", eu);
        snprintf(emu, sizeof emu, "%s", ee);
    } else if (!start_server(url, emu, pid, dir, sizeof url)) {
        printf("kbs_rcar_rounds_per_sec skipped (veritee serve could not be started)\n");
        return;
    }
    run(url, emu, 1, "");
    run(url, emu, 4, "_4clients");
    if (pid[0] != 0) {
        char cmd[2048];
        char here[1024];
        snprintf(here, sizeof here, "%s/bench", VT_SOURCE_DIR);
        snprintf(cmd, sizeof cmd, "sh '%s/kbs_load.sh' stop '%s' '%s'", here, pid, dir);
        if (system(cmd) != 0) fprintf(stderr, "bench_kbs: stopping the server failed\n");
    }
}
