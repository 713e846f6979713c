/* What a KBS round costs on this machine before any broker code runs, measured in this run:
 * the two writes a round must make (the attestation's and the release's audit records: a
 * small write to a file beside the store each, and one fdatasync, the release's, which makes
 * both durable: docs/operations.md) and its three HTTP
 * exchanges as bare loopback TCP (the byte counts of a real round: /auth, /attest and
 * /resource requests and their replies; one thread answers, another asks), in CPU time of
 * this process (user + system, both ends; the load threads are not running yet). Added to the
 * round's cryptography (bench/kbs_bound.c) it gives the most rounds/s that any server with the
 * same durability and transport could reach on these cores: the ceiling of
 * kbs_rcar_4clients_ratio_to_crypto_bound here. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

/* A round's exchanges as seen on the server's socket (strace of `veritee serve` under this
 * bench: one read per request, one send per reply). */
static const size_t REQ[3] = {224, 6837, 140}, REPLY[3] = {340, 4661, 597};
#define FLOOR_RECORD 1024           /* one audit record, about */
#define FLOOR_FILE (1024 * 1024)    /* written over in place: no size change to journal */
#define FLOOR_BUF 8192

static double proc_cpu(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 + (double)u.ru_stime.tv_sec +
           (double)u.ru_stime.tv_usec / 1e6;
}

static bool full_io(int fd, uint8_t *buf, size_t n, bool out)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = out ? send(fd, buf + done, n - done, MSG_NOSIGNAL) : recv(fd, buf + done, n - done, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        done += (size_t)k;
    }
    return true;
}

/* CPU seconds of one record in a file under dir: pwrite, and fdatasync when sync. */
static double record_cost(const char *dir, double secs, bool sync)
{
    char path[1200];
    snprintf(path, sizeof path, "%.1100s/floor.bin", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return 0;
    uint8_t rec[FLOOR_RECORD];
    memset(rec, 0x5a, sizeof rec);
    bool ok = true;
    for (off_t o = 0; ok && o < FLOOR_FILE; o += FLOOR_RECORD) ok = pwrite(fd, rec, sizeof rec, o) == (ssize_t)sizeof rec;
    ok = ok && fsync(fd) == 0;
    double t0 = proc_cpu(), w0 = bench_now();
    long n = 0;
    while (ok && (n < 20 || bench_now() - w0 < secs)) {
        rec[0] = (uint8_t)n;
        ok = pwrite(fd, rec, sizeof rec, (off_t)((n * FLOOR_RECORD) % FLOOR_FILE)) == (ssize_t)sizeof rec &&
             (!sync || fdatasync(fd) == 0);
        n++;
    }
    double c = proc_cpu() - t0;
    close(fd);
    unlink(path);
    return ok && n > 0 ? c / (double)n : 0;
}

typedef struct echo {
    int listen_fd;
    bool ok;
} echo;

/* Answers each request of a round with its reply's size, until the peer closes. */
static void *echo_main(void *p)
{
    echo *e = p;
    int fd = accept(e->listen_fd, NULL, NULL);
    if (fd < 0) return NULL;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint8_t *buf = calloc(1, FLOOR_BUF);
    for (size_t i = 0; buf != NULL; i = (i + 1) % 3) {
        if (!full_io(fd, buf, REQ[i], false)) break;
        if (!full_io(fd, buf, REPLY[i], true)) break;
    }
    free(buf);
    close(fd);
    e->ok = true;
    return NULL;
}

/* CPU seconds (both ends) of one round's three exchanges over loopback TCP. */
static double transport_cost(double secs)
{
    echo e = {.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (e.listen_fd < 0 || bind(e.listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(e.listen_fd, 1) != 0 ||
        getsockname(e.listen_fd, (struct sockaddr *)&a, &al) != 0) {
        if (e.listen_fd >= 0) close(e.listen_fd);
        return 0;
    }
    pthread_t th;
    if (pthread_create(&th, NULL, echo_main, &e) != 0) {
        close(e.listen_fd);
        return 0;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    bool connected = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (!connected) shutdown(e.listen_fd, SHUT_RDWR); /* wakes the accept that nothing will answer */
    bool ok = connected && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0;
    uint8_t *buf = calloc(1, FLOOR_BUF);
    ok = ok && buf != NULL;
    double t0 = proc_cpu(), w0 = bench_now();
    long n = 0;
    while (ok && (n < 20 || bench_now() - w0 < secs)) {
        for (size_t i = 0; ok && i < 3; i++) ok = full_io(fd, buf, REQ[i], true) && full_io(fd, buf, REPLY[i], false);
        n++;
    }
    double c = proc_cpu() - t0;
    if (fd >= 0) close(fd);
    pthread_join(th, NULL);
    close(e.listen_fd);
    free(buf);
    return ok && n > 0 ? c / (double)n : 0;
}

double bench_kbs_round_floor(const char *dir, double crypto_per_round)
{
    double secs = bench_seconds() / 4;
    double d = record_cost(dir, secs, true) + record_cost(dir, secs / 4, false), t = transport_cost(secs);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (d <= 0 || t <= 0 || crypto_per_round <= 0 || cores <= 0) {
        printf("# kbs: the round's floor could not be measured\n");
        return 0;
    }
    double floor = crypto_per_round + d + t;
    printf("kbs_round_floor_durable_us %.1f us  (2 x small write + 1 fdatasync)\n", d * 1e6);
    printf("kbs_round_floor_transport_us %.1f us  (3 loopback exchanges, both ends)\n", t * 1e6);
    printf("kbs_round_floor_per_sec %.1f rounds/s\n", (double)cores / floor);
    return (double)cores / floor;
}
