/* Bounded whole-file I/O (include/veritee/fileio.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "veritee/fileio.h"
#include "veritee/writer.h"

vt_err vt_fd_read(int fd, size_t max, const char *what, const char *check, vt_buf *out, vt_error *err)
{
    vt_writer w;
    vt_writer_init(&w, what, err);
    uint8_t chunk[16384];
    vt_err rc = VT_OK;
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = vt_error_set(err, VT_E_IO, check, "%s: %s", what, strerror(errno));
            break;
        }
        if (r == 0) {
            vt_buf_free(out);
            rc = vt_writer_take(&w, &out->ptr, &out->len); /* NUL-terminated */
            break;
        }
        if ((size_t)r > max - vt_writer_len(&w)) {
            rc = vt_error_set(err, VT_E_INVALID, check, "%s: larger than %zu bytes", what, max);
            break;
        }
        if ((rc = vt_write_bytes(&w, "contents", chunk, (size_t)r)) != VT_OK) break;
    }
    vt_writer_free(&w);
    return rc;
}

vt_err vt_file_read(const char *path, size_t max, vt_buf *out, vt_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vt_error_set(err, errno == ENOENT ? VT_E_MISSING : VT_E_IO, "io", "%s: %s", path,
                            strerror(errno));
    vt_err rc = vt_fd_read(fd, max, path, "io", out, err);
    close(fd);
    return rc;
}

vt_err vt_file_write(const char *path, const void *p, size_t n, vt_error *err)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) return vt_error_set(err, VT_E_IO, "io", "%s: %s", path, strerror(errno));
    size_t w = fwrite(p, 1, n, f);
    int c = fclose(f);
    if (w != n || c != 0) return vt_error_set(err, VT_E_IO, "io", "%s: write failed", path);
    return VT_OK;
}

bool vt_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

vt_err vt_path_join(char *out, size_t cap, const char *dir, const char *name, vt_error *err)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return vt_error_set(err, VT_E_ARG, "io", "path too long: %s/%s", dir, name);
    return VT_OK;
}

static vt_err write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return VT_E_IO;
        p += w;
        n -= (size_t)w;
    }
    return VT_OK;
}

vt_err vt_file_write_atomic(const char *path, const void *p, size_t n, unsigned mode, vt_error *err)
{
    char tmp[4096], dir[4096];
    int k = snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
    if (k < 0 || (size_t)k >= sizeof tmp) return vt_error_set(err, VT_E_ARG, "io", "path too long: %s", path);
    int fd = mkstemp(tmp);
    if (fd < 0) return vt_error_set(err, VT_E_IO, "io", "%s: cannot create a temporary file: %s", path, strerror(errno));
    bool ok = fchmod(fd, (mode_t)mode) == 0 && write_all(fd, p, n) == VT_OK && fsync(fd) == 0;
    int saved = errno;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        if (ok) saved = errno;
        unlink(tmp);
        return vt_error_set(err, VT_E_IO, "io", "%s: write failed: %s", path, strerror(saved));
    }
    /* the rename itself is durable only once the directory is flushed */
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = 0;
    else if (slash != NULL) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        int rc = fsync(dfd);
        close(dfd);
        if (rc != 0) return vt_error_set(err, VT_E_IO, "io", "%s: flushing the directory: %s", dir, strerror(errno));
    }
    return VT_OK;
}

vt_err vt_mkdirs(const char *path, unsigned mode, vt_error *err)
{
    char p[4096];
    int k = snprintf(p, sizeof p, "%s", path);
    if (k <= 0 || (size_t)k >= sizeof p) return vt_error_set(err, VT_E_ARG, "io", "path too long: %s", path);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != 0) continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST)
            return vt_error_set(err, VT_E_IO, "io", "cannot create %s: %s", p, strerror(errno));
        if (c == 0) return VT_OK;
        *s = c;
    }
}
