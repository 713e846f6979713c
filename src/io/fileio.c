/* Bounded whole-file I/O (include/veritee/fileio.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
