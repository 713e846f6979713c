/* Bounded whole-file I/O (include/veritee/fileio.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "veritee/fileio.h"
#include "veritee/writer.h"

vt_err vt_file_read(const char *path, size_t max, vt_buf *out, vt_error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return vt_error_set(err, errno == ENOENT ? VT_E_MISSING : VT_E_IO, "io", "%s: %s", path,
                            strerror(errno));
    vt_writer w;
    vt_writer_init(&w, path, err);
    uint8_t chunk[16384];
    vt_err rc = VT_OK;
    for (;;) {
        size_t got = fread(chunk, 1, sizeof chunk, f);
        if (got == 0) break;
        if (got > max - vt_writer_len(&w)) {
            rc = vt_error_set(err, VT_E_INVALID, "io", "%s: larger than %zu bytes", path, max);
            goto out;
        }
        VT_GUARD_GOTO(vt_write_bytes(&w, "file contents", chunk, got));
    }
    if (ferror(f)) {
        rc = vt_error_set(err, VT_E_IO, "io", "%s: read error", path);
        goto out;
    }
    vt_buf_free(out);
    rc = vt_writer_take(&w, &out->ptr, &out->len); /* NUL-terminated */
out:
    vt_writer_free(&w);
    fclose(f);
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
