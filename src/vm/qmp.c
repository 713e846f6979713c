/* QMP client over a unix socket (specs/vm-launch.md §7). QEMU's bytes are hostile: each
 * message is bounded (VT_QMP_MSG_MAX), the events skipped per reply are bounded
 * (VT_QMP_SKIP_MAX) and every read and write has a deadline. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "veritee/json.h"
#include "veritee/vm.h"

#define CHECK "qmp"

struct vt_qmp {
    int fd;
    int timeout_ms;
    int64_t next_id;
    char *buf;
    size_t len, cap;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void vt_qmp_msg_free(vt_qmp_msg *m)
{
    if (m == NULL) return;
    json_decref(m->root);
    memset(m, 0, sizeof *m);
}

static void copy_str(char *dst, size_t cap, const json_t *v)
{
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    snprintf(dst, cap, "%s", s);
    for (char *p = dst; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
}

vt_err vt_qmp_parse_message(const char *text, size_t len, vt_qmp_msg *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    out->id = -1;
    if (len > VT_QMP_MSG_MAX)
        return vt_error_set(err, VT_E_INVALID, CHECK, "QMP message of %zu bytes exceeds %u", len,
                            VT_QMP_MSG_MAX);
    json_t *root = NULL;
    if (vt_json_parse(text, len, &root, err) != VT_OK) return vt_error_wrap(err, "QMP message");
    vt_err rc = VT_OK;
    if (!json_is_object(root)) {
        rc = vt_error_set(err, VT_E_INVALID, CHECK, "QMP message is not a JSON object");
        goto out;
    }
    json_t *id = json_object_get(root, "id");
    if (json_is_integer(id) && json_integer_value(id) >= 0) out->id = json_integer_value(id);
    json_t *v;
    if ((v = json_object_get(root, "QMP")) != NULL) {
        if (!json_is_object(v)) {
            rc = vt_error_set(err, VT_E_INVALID, CHECK, "QMP greeting: \"QMP\" is not an object");
            goto out;
        }
        out->kind = VT_QMP_GREETING;
        out->value = v;
    } else if ((v = json_object_get(root, "return")) != NULL) {
        out->kind = VT_QMP_RETURN;
        out->value = v;
    } else if ((v = json_object_get(root, "error")) != NULL) {
        json_t *cls = json_object_get(v, "class"), *desc = json_object_get(v, "desc");
        if (!json_is_object(v) || !json_is_string(cls) || !json_is_string(desc)) {
            rc = vt_error_set(err, VT_E_INVALID, CHECK,
                              "QMP error reply lacks a string class and desc");
            goto out;
        }
        out->kind = VT_QMP_ERROR;
        out->value = v;
        copy_str(out->name, sizeof out->name, cls);
        copy_str(out->desc, sizeof out->desc, desc);
    } else if ((v = json_object_get(root, "event")) != NULL) {
        if (!json_is_string(v)) {
            rc = vt_error_set(err, VT_E_INVALID, CHECK, "QMP event name is not a string");
            goto out;
        }
        out->kind = VT_QMP_EVENT;
        copy_str(out->name, sizeof out->name, v);
        out->value = json_object_get(root, "data");
    } else {
        rc = vt_error_set(err, VT_E_INVALID, CHECK,
                          "QMP message is neither a greeting, a reply nor an event");
        goto out;
    }
    out->root = root;
    root = NULL;
out:
    json_decref(root);
    return rc;
}

/* Wait for fd readiness until the deadline. */
static vt_err wait_fd(vt_qmp *q, short events, int64_t deadline, const char *what, vt_error *err)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return vt_error_set(err, VT_E_IO, CHECK, "QMP %s timed out after %d ms", what,
                                q->timeout_ms);
        struct pollfd p = {.fd = q->fd, .events = events};
        int r = poll(&p, 1, (int)left);
        if (r > 0) return VT_OK;
        if (r < 0 && errno != EINTR)
            return vt_error_set(err, VT_E_IO, CHECK, "QMP poll: %s", strerror(errno));
    }
}

/* Next newline-terminated message (without the line end) into a NUL-terminated copy. */
static vt_err read_line(vt_qmp *q, int64_t deadline, char **line, size_t *n, vt_error *err)
{
    for (;;) {
        char *nl = q->len ? memchr(q->buf, '\n', q->len) : NULL;
        if (nl != NULL) {
            size_t k = (size_t)(nl - q->buf), m = k;
            if (m && q->buf[m - 1] == '\r') m--;
            char *s = malloc(m + 1);
            if (s == NULL) return vt_error_set(err, VT_E_NOMEM, CHECK, "out of memory");
            memcpy(s, q->buf, m);
            s[m] = 0;
            memmove(q->buf, nl + 1, q->len - k - 1);
            q->len -= k + 1;
            *line = s;
            *n = m;
            return VT_OK;
        }
        if (q->len >= VT_QMP_MSG_MAX)
            return vt_error_set(err, VT_E_INVALID, CHECK,
                                "QMP message longer than %u bytes without a line end",
                                VT_QMP_MSG_MAX);
        if (q->cap - q->len < 4096) {
            size_t cap = q->cap ? q->cap * 2 : 8192;
            if (cap > VT_QMP_MSG_MAX + 1) cap = VT_QMP_MSG_MAX + 1;
            char *b = realloc(q->buf, cap);
            if (b == NULL) return vt_error_set(err, VT_E_NOMEM, CHECK, "out of memory");
            q->buf = b;
            q->cap = cap;
        }
        VT_GUARD(wait_fd(q, POLLIN, deadline, "read", err));
        ssize_t r = read(q->fd, q->buf + q->len, q->cap - q->len);
        if (r == 0) return vt_error_set(err, VT_E_IO, CHECK, "QMP connection closed by QEMU");
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
            if (errno == ECONNRESET)
                return vt_error_set(err, VT_E_IO, CHECK, "QMP connection closed by QEMU");
            return vt_error_set(err, VT_E_IO, CHECK, "QMP read: %s", strerror(errno));
        }
        q->len += (size_t)r;
    }
}

/* Next parsed message, skipping blank lines. */
static vt_err read_msg(vt_qmp *q, int64_t deadline, vt_qmp_msg *m, vt_error *err)
{
    for (int i = 0; i < VT_QMP_SKIP_MAX; i++) {
        char *line = NULL;
        size_t n = 0;
        VT_GUARD(read_line(q, deadline, &line, &n, err));
        bool blank = true;
        for (size_t k = 0; k < n; k++)
            if (line[k] != ' ' && line[k] != '\t') blank = false;
        vt_err rc = blank ? VT_OK : vt_qmp_parse_message(line, n, m, err);
        free(line);
        if (rc != VT_OK || !blank) return rc;
    }
    return vt_error_set(err, VT_E_INVALID, CHECK, "QMP: more than %d blank lines", VT_QMP_SKIP_MAX);
}

static vt_err write_all(vt_qmp *q, const char *s, size_t n, int64_t deadline, vt_error *err)
{
    while (n > 0) {
        VT_GUARD(wait_fd(q, POLLOUT, deadline, "write", err));
        ssize_t w = send(q->fd, s, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
            if (errno == EPIPE || errno == ECONNRESET)
                return vt_error_set(err, VT_E_IO, CHECK, "QMP connection closed by QEMU");
            return vt_error_set(err, VT_E_IO, CHECK, "QMP write: %s", strerror(errno));
        }
        s += w;
        n -= (size_t)w;
    }
    return VT_OK;
}

vt_err vt_qmp_execute(vt_qmp *q, const char *command, json_t *args, json_t **ret,
                      vt_error *err)
{
    int64_t deadline = now_ms() + q->timeout_ms;
    int64_t id = q->next_id++;
    json_t *cmd = json_pack("{s:s, s:I}", "execute", command, "id", (json_int_t)id);
    if (cmd == NULL) return vt_error_set(err, VT_E_NOMEM, CHECK, "out of memory");
    if (args != NULL) json_object_set(cmd, "arguments", args);
    char *text = json_dumps(cmd, JSON_COMPACT);
    json_decref(cmd);
    if (text == NULL) return vt_error_set(err, VT_E_NOMEM, CHECK, "out of memory");
    size_t tl = strlen(text);
    vt_err rc = write_all(q, text, tl, deadline, err);
    if (rc == VT_OK) rc = write_all(q, "\n", 1, deadline, err);
    free(text);
    VT_GUARD(rc);
    for (int i = 0; i < VT_QMP_SKIP_MAX; i++) {
        vt_qmp_msg m;
        VT_GUARD(read_msg(q, deadline, &m, err));
        bool ours = (m.kind == VT_QMP_RETURN || m.kind == VT_QMP_ERROR) &&
                    (m.id == id || json_object_get(m.root, "id") == NULL);
        if (!ours) {
            if (m.kind == VT_QMP_GREETING) {
                vt_qmp_msg_free(&m);
                return vt_error_set(err, VT_E_INVALID, CHECK, "QMP: unexpected greeting");
            }
            vt_qmp_msg_free(&m); /* an event or a stale reply */
            continue;
        }
        if (m.kind == VT_QMP_ERROR) {
            rc = vt_error_set(err, VT_E_VERIFY, CHECK, "QMP %s failed: %s: %s", command, m.name,
                              m.desc);
        } else if (ret != NULL) {
            *ret = json_incref(m.value);
        }
        vt_qmp_msg_free(&m);
        return rc;
    }
    return vt_error_set(err, VT_E_INVALID, CHECK,
                        "QMP %s: no reply within %d messages", command, VT_QMP_SKIP_MAX);
}

vt_err vt_qmp_open_fd(int fd, int timeout_ms, vt_qmp **out, vt_error *err)
{
    vt_qmp *q = calloc(1, sizeof *q);
    if (q == NULL) {
        close(fd);
        return vt_error_set(err, VT_E_NOMEM, CHECK, "out of memory");
    }
    q->fd = fd;
    q->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
    q->next_id = 1;
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    vt_qmp_msg m = {0};
    vt_err rc = read_msg(q, now_ms() + q->timeout_ms, &m, err);
    if (rc == VT_OK && m.kind != VT_QMP_GREETING)
        rc = vt_error_set(err, VT_E_INVALID, CHECK, "QMP: expected a greeting first");
    if (rc == VT_OK) vt_qmp_msg_free(&m);
    if (rc == VT_OK) rc = vt_qmp_execute(q, "qmp_capabilities", NULL, NULL, err);
    if (rc != VT_OK) {
        vt_qmp_msg_free(&m);
        vt_qmp_close(q);
        return rc;
    }
    *out = q;
    return VT_OK;
}

vt_err vt_qmp_connect(const char *path, int timeout_ms, vt_qmp **out, vt_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return vt_error_set(err, VT_E_ARG, CHECK,
                            "QMP socket path %s is longer than %zu bytes (choose a shorter "
                            "VERITEE_STATE_DIR)", path, sizeof sa.sun_path - 1);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return vt_error_set(err, VT_E_IO, CHECK, "socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        return vt_error_set(err, VT_E_IO, CHECK, "QMP connect %s: %s", path, strerror(e));
    }
    return vt_qmp_open_fd(fd, timeout_ms, out, err);
}

vt_err vt_qmp_query_status(vt_qmp *q, char *status, size_t cap, vt_error *err)
{
    json_t *r = NULL;
    VT_GUARD(vt_qmp_execute(q, "query-status", NULL, &r, err));
    json_t *s = json_object_get(r, "status");
    vt_err rc = VT_OK;
    if (!json_is_string(s) || json_string_length(s) == 0 || json_string_length(s) >= cap)
        rc = vt_error_set(err, VT_E_INVALID, CHECK, "query-status: no usable \"status\" string");
    else
        copy_str(status, cap, s);
    json_decref(r);
    return rc;
}

void vt_qmp_close(vt_qmp *q)
{
    if (q == NULL) return;
    if (q->fd >= 0) close(q->fd);
    free(q->buf);
    free(q);
}
