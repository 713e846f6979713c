/* KBS load: full RCAR rounds (/auth, emulated TDX quote over the binding, /attest with
 * appraisal and EAR, resource GET decrypted from its JWE) per second and their p50/p99 latency,
 * from client threads against a local `veritee serve` on SQLite that bench/kbs_load.sh starts
 * (or the nodes named by VT_BENCH_KBS_URL, comma-separated, + VT_BENCH_KBS_EMU: client threads
 * take them in turn). Client and server share this machine's cores: the figure is the whole
 * system's, compared with the bound of the round's cryptography (bench/kbs_bound.c). Then an
 * open-loop run at half the 4-client peak: rounds start on a fixed schedule whatever the
 * server's speed, and each latency counts from the round's scheduled start (no coordinated
 * omission). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "veritee/emulate.h"
#include "veritee/kbs_client.h"

#define THREADS_MAX 16
#define SAMPLES_MAX 100000
#define URLS_MAX 8

/* The open-loop schedule shared by the threads of one run: round i starts at t0 + i / rate. */
typedef struct schedule {
    double t0, rate;
    atomic_long next;
} schedule;

typedef struct load_ctx {
    const char *url, *emu_dir;
    schedule *sched; /* NULL: closed loop, each thread runs its rounds back to back */
    double until, t_origin;
    double *lat;   /* per-thread samples, ms */
    double *start; /* each sample's (scheduled) start, seconds since the run's start */
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
        if (x->sched != NULL) {
            t0 = x->sched->t0 + (double)atomic_fetch_add(&x->sched->next, 1) / x->sched->rate;
            if (t0 >= x->until) break;
            double wait = t0 - bench_now();
            if (wait > 0) {
                struct timespec ts = {.tv_sec = (time_t)wait, .tv_nsec = (long)((wait - (double)(time_t)wait) * 1e9)};
                nanosleep(&ts, NULL);
            }
        }
        vt_buf s = {0};
        if (vt_kbs_client_attest(c, &e) == VT_OK && vt_kbs_client_get_resource(c, "bench/key/one", false, &s, &e) == VT_OK) {
            x->start[x->n] = t0 - x->t_origin;
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

/* CPU seconds (user + system) of the processes in the comma-separated pid list so far, and of
 * this one; -1 when unknown. */
static double server_cpu(const char *pids)
{
    if (pids == NULL || *pids == 0) return -1;
    double total = 0;
    long hz = sysconf(_SC_CLK_TCK);
    char list[256];
    snprintf(list, sizeof list, "%s", pids);
    for (char *save = NULL, *p = strtok_r(list, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%.20s/stat", p);
        FILE *f = fopen(path, "r");
        if (f == NULL) return -1;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        char *q = strrchr(buf, ')');
        unsigned long ut = 0, st = 0;
        /* after "pid (comm)": state and 10 more fields, then utime and stime (proc(5)) */
        if (q == NULL || sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
        total += (double)(ut + st) / (double)hz;
    }
    return total;
}

static double self_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *g_pids;    /* the server processes, for their CPU time per round */
static const char *g_db_pids; /* the database's processes (PostgreSQL backends), likewise */

/* A soak's figures per window of WINDOW_S seconds, by each round's scheduled start: rounds
 * started, p50 and p99 (a server falling behind shows as growing latencies, and when it began),
 * and the server's CPU per round in the window. */
#define WINDOW_S 60.0
#define WINDOWS_MAX 60

static void windows(const load_ctx *ctx, int threads, size_t nwin, const double *wcpu, double rate, const char *suffix)
{
    size_t cap = 0;
    for (int i = 0; i < threads; i++) cap += ctx[i].n;
    double *v = malloc((cap ? cap : 1) * sizeof(double));
    if (v == NULL) return;
    for (size_t w = 0; w < nwin; w++) {
        size_t k = 0;
        for (int i = 0; i < threads; i++)
            for (size_t j = 0; j < ctx[i].n; j++)
                if (ctx[i].start[j] >= (double)w * WINDOW_S && ctx[i].start[j] < (double)(w + 1) * WINDOW_S) v[k++] = ctx[i].lat[j];
        unsigned at = (unsigned)((double)(w + 1) * WINDOW_S);
        printf("kbs_rcar_rounds_started%s_to_%us %zu rounds\n", suffix, at, k);
        if (k > 0) {
            qsort(v, k, sizeof *v, cmp_double);
            printf("kbs_rcar_p50_ms%s_to_%us %.2f ms\n", suffix, at, v[k / 2]);
            printf("kbs_rcar_p99_ms%s_to_%us %.2f ms\n", suffix, at, v[(k * 99) / 100 < k ? (k * 99) / 100 : k - 1]);
        }
        if (wcpu[w] >= 0 && wcpu[w + 1] >= 0)
            printf("kbs_rcar_server_cpu_ms_per_round%s_to_%us %.3f ms\n", suffix, at,
                   (wcpu[w + 1] - wcpu[w]) * 1e3 / (rate * WINDOW_S));
    }
    free(v);
}

/* One run with `threads` clients (open loop at `rate` rounds/s when rate > 0); prints the
 * figures under `suffix`; returns the rounds per second. */
static double run(char *const *urls, size_t nurls, const char *emu, int threads, double rate, const char *suffix)
{
    load_ctx ctx[THREADS_MAX];
    pthread_t th[THREADS_MAX];
    double secs = bench_seconds() < 3 ? 3 : bench_seconds();
    double t0 = bench_now(), scpu0 = server_cpu(g_pids), ccpu0 = self_cpu(), dcpu0 = server_cpu(g_db_pids);
    schedule sched = {.t0 = t0 + 0.05, .rate = rate};
    atomic_init(&sched.next, 0);
    for (int i = 0; i < threads; i++) {
        ctx[i] = (load_ctx){.url = urls[(size_t)i % nurls], .emu_dir = emu, .until = t0 + secs, .t_origin = t0,
                            .sched = rate > 0 ? &sched : NULL, .lat = malloc(SAMPLES_MAX * sizeof(double)),
                            .start = malloc(SAMPLES_MAX * sizeof(double))};
        if (ctx[i].lat == NULL || ctx[i].start == NULL || pthread_create(&th[i], NULL, load_thread, &ctx[i]) != 0) {
            fprintf(stderr, "bench_kbs: cannot start a client thread\n");
            for (int j = 0; j <= i; j++) {
                free(ctx[j].lat);
                free(ctx[j].start);
            }
            return 0;
        }
    }
    /* a soak of a minute or more: the server's CPU at each window's end, for the figures per window */
    size_t nwin = rate > 0 && secs >= 60 ? (size_t)(secs / WINDOW_S) : 0;
    double wcpu[WINDOWS_MAX + 1];
    if (nwin > WINDOWS_MAX) nwin = WINDOWS_MAX;
    wcpu[0] = scpu0;
    for (size_t w = 1; w <= nwin; w++) {
        double wait = t0 + (double)w * WINDOW_S - bench_now();
        if (wait > 0) {
            struct timespec ts = {.tv_sec = (time_t)wait, .tv_nsec = (long)((wait - (double)(time_t)wait) * 1e9)};
            nanosleep(&ts, NULL);
        }
        wcpu[w] = server_cpu(g_pids);
    }
    size_t total = 0, errors = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += ctx[i].n;
        errors += ctx[i].errors;
    }
    double wall = bench_now() - t0, scpu1 = server_cpu(g_pids), ccpu1 = self_cpu(), dcpu1 = server_cpu(g_db_pids);
    double *all = malloc((total ? total : 1) * sizeof(double));
    size_t k = 0;
    for (int i = 0; i < threads; i++) {
        if (all != NULL) memcpy(all + k, ctx[i].lat, ctx[i].n * sizeof(double));
        k += ctx[i].n;
        if (ctx[i].errors && ctx[i].first_error[0]) fprintf(stderr, "bench_kbs: %s\n", ctx[i].first_error);
    }
    if (nwin > 0) windows(ctx, threads, nwin, wcpu, rate, suffix);
    for (int i = 0; i < threads; i++) {
        free(ctx[i].lat);
        free(ctx[i].start);
    }
    if (all != NULL && total > 0) {
        qsort(all, total, sizeof *all, cmp_double);
        if (rate > 0) printf("kbs_rcar_offered_per_sec%s %.1f rounds/s\n", suffix, rate);
        printf("kbs_rcar_rounds_per_sec%s %.1f rounds/s\n", suffix, (double)total / wall);
        printf("kbs_rcar_p50_ms%s %.2f ms\n", suffix, all[total / 2]);
        printf("kbs_rcar_p99_ms%s %.2f ms\n", suffix, all[(total * 99) / 100 < total ? (total * 99) / 100 : total - 1]);
        /* CPU per round: what the machine's other load does not change (wall figures it does) */
        if (scpu0 >= 0 && scpu1 >= 0)
            printf("kbs_rcar_server_cpu_ms_per_round%s %.3f ms\n", suffix, (scpu1 - scpu0) * 1e3 / (double)total);
        printf("kbs_rcar_client_cpu_ms_per_round%s %.3f ms\n", suffix, (ccpu1 - ccpu0) * 1e3 / (double)total);
        if (dcpu0 >= 0 && dcpu1 >= 0)
            printf("kbs_rcar_db_cpu_ms_per_round%s %.3f ms\n", suffix, (dcpu1 - dcpu0) * 1e3 / (double)total);
    }
    printf("kbs_rcar_errors%s %zu rounds\n", suffix, errors);
    fflush(stdout);
    free(all);
    return total > 0 ? (double)total / wall : 0;
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
    char url[1024], emu[1024], pid[64] = "", dir[1024] = ""; /* start_server fills each with cap = sizeof url */
    const char *eu = getenv("VT_BENCH_KBS_URL"), *ee = getenv("VT_BENCH_KBS_EMU");
    g_pids = getenv("VT_BENCH_KBS_PID"); /* comma-separated, with VT_BENCH_KBS_URL: their CPU is reported */
    g_db_pids = getenv("VT_BENCH_KBS_DB_PID"); /* comma-separated database processes (bench/kbs_pg.sh) */
    if (eu != NULL && ee != NULL) {
        snprintf(url, sizeof url, "%s", eu);
        snprintf(emu, sizeof emu, "%s", ee);
    } else if (!start_server(url, emu, pid, dir, sizeof url)) {
        printf("kbs_rcar_rounds_per_sec skipped (veritee serve could not be started)\n");
        return;
    }
    char *urls[URLS_MAX];
    size_t nurls = 0;
    for (char *save = NULL, *u = strtok_r(url, ",", &save); u != NULL && nurls < URLS_MAX; u = strtok_r(NULL, ",", &save))
        urls[nurls++] = u;
    if (nurls == 0) return;
    if (pid[0] != 0) g_pids = pid;
    const char *soak = getenv("VT_BENCH_KBS_SOAK_RATE"); /* bench/kbs_memory.sh: open loop at this rate only */
    if (soak != NULL && atof(soak) > 0) {
        run(urls, nurls, emu, THREADS_MAX, atof(soak), "_soak");
        return;
    }
    double bound = bench_kbs_round_bound();
    /* the floor's file goes where the store is: beside the emulator's directory */
    char store_dir[1024];
    snprintf(store_dir, sizeof store_dir, "%s", emu);
    char *cut = strrchr(store_dir, '/');
    if (cut != NULL) *cut = 0;
    double floor = bound > 0 && cut != NULL ? bench_kbs_round_floor(store_dir, (double)sysconf(_SC_NPROCESSORS_ONLN) / bound) : 0;
    if (floor > 0) printf("kbs_rcar_ceiling_ratio_to_crypto_bound %.3f ratio\n", floor / bound);
    run(urls, nurls, emu, 1, 0, "");
    double peak = run(urls, nurls, emu, 4, 0, "_4clients");
    if (bound > 0 && peak > 0) printf("kbs_rcar_4clients_ratio_to_crypto_bound %.3f ratio\n", peak / bound);
    if (floor > 0 && peak > 0) printf("kbs_rcar_4clients_ratio_to_floor %.3f ratio\n", peak / floor);
    /* enough threads that the schedule, not the clients, sets the pace */
    if (peak > 0) run(urls, nurls, emu, THREADS_MAX, peak / 2, "_half_load");
    if (pid[0] != 0) {
        char cmd[2048];
        char here[1024];
        snprintf(here, sizeof here, "%s/bench", VT_SOURCE_DIR);
        snprintf(cmd, sizeof cmd, "sh '%s/kbs_load.sh' stop '%s' '%s'", here, pid, dir);
        if (system(cmd) != 0) fprintf(stderr, "bench_kbs: stopping the server failed\n");
    }
}
