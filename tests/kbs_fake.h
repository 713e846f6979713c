/* A scripted HTTP/1.1 server on loopback for client tests: one thread, one request per
 * connection (Connection: close), a handler callback deciding each answer. Test-only. */
#ifndef VT_TEST_KBS_FAKE_H
#define VT_TEST_KBS_FAKE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct fake_req {
    char method[8];
    char path[256];
    char cookie[256];
    char auth[8192];
    char ctype[96];
    char expect[32];
    char *body;
    size_t body_len;
} fake_req;

/* Fills *status, *headers (extra header lines, each ending \r\n; static or NULL) and *body
 * (malloc'd or NULL). */
typedef void (*fake_handler)(void *ud, const fake_req *rq, int *status, const char **headers, char **body);

typedef struct fake_server {
    int fd;
    int port;
    pthread_t th;
    fake_handler h;
    void *ud;
    volatile int stop;
    int nreq;
} fake_server;

static void fake_header(const char *line, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    if (strncasecmp(line, name, n) != 0 || line[n] != ':') return;
    line += n + 1;
    while (*line == ' ') line++;
    size_t l = strcspn(line, "\r\n");
    if (l >= cap) l = cap - 1;
    memcpy(out, line, l);
    out[l] = 0;
}

static void fake_serve_one(fake_server *s, int c)
{
    static char buf[1 << 16];
    size_t len = 0;
    char *end = NULL;
    while (len < sizeof buf - 1) {
        ssize_t r = read(c, buf + len, sizeof buf - 1 - len);
        if (r <= 0) return;
        len += (size_t)r;
        buf[len] = 0;
        if ((end = strstr(buf, "\r\n\r\n")) != NULL) break;
    }
    if (end == NULL) return;
    fake_req rq;
    memset(&rq, 0, sizeof rq);
    sscanf(buf, "%7s %255s", rq.method, rq.path);
    size_t clen = 0;
    for (char *l = strstr(buf, "\r\n") + 2; l < end; l = strstr(l, "\r\n") + 2) {
        char cl[32] = "";
        fake_header(l, "Content-Length", cl, sizeof cl);
        if (*cl) clen = (size_t)strtoul(cl, NULL, 10);
        fake_header(l, "Cookie", rq.cookie, sizeof rq.cookie);
        fake_header(l, "Authorization", rq.auth, sizeof rq.auth);
        fake_header(l, "Content-Type", rq.ctype, sizeof rq.ctype);
        fake_header(l, "Expect", rq.expect, sizeof rq.expect);
    }
    size_t have = len - (size_t)(end + 4 - buf);
    rq.body = calloc(1, clen + 1);
    memcpy(rq.body, end + 4, have < clen ? have : clen);
    while (have < clen) {
        ssize_t r = read(c, rq.body + have, clen - have);
        if (r <= 0) break;
        have += (size_t)r;
    }
    rq.body_len = have < clen ? have : clen;
    int status = 500;
    const char *hdrs = NULL;
    char *body = NULL;
    s->h(s->ud, &rq, &status, &hdrs, &body);
    s->nreq++;
    char head[1024];
    int hl = snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", status,
                      body ? strlen(body) : 0, hdrs ? hdrs : "");
    if (write(c, head, (size_t)hl) < 0 || (body && write(c, body, strlen(body)) < 0)) { /* client went away */
    }
    free(body);
    free(rq.body);
}

static void *fake_loop(void *ud)
{
    fake_server *s = ud;
    while (!s->stop) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0) continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) continue;
        fake_serve_one(s, c);
        close(c);
    }
    return NULL;
}

static void fake_start(fake_server *s, fake_handler h, void *ud)
{
    memset(s, 0, sizeof *s);
    s->h = h;
    s->ud = ud;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->fd, 8), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->th, NULL, fake_loop, s), 0);
}

static void fake_stop(fake_server *s)
{
    s->stop = 1;
    pthread_join(s->th, NULL);
    close(s->fd);
}

#endif
