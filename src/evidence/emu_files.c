/* The emulated TEE's directory (emu_internal.h): paths, files written with their modes, PEM
 * chains, keys, pattern bytes; shared by the dispatcher (emulate.c) and every TEE (emu_*.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu_internal.h"
#include "veritee/fileio.h"
#include "veritee/json.h"
#include "veritee/writer.h"

vt_err emu_path(const char *dir, const char *sub, const char *name, char *out, size_t cap, vt_error *err)
{
    int n = sub ? snprintf(out, cap, "%s/%s/%s", dir, sub, name) : snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) return vt_error_set(err, VT_E_ARG, "emulate", "path too long under %s", dir);
    return VT_OK;
}

vt_err emu_write(const char *dir, const char *sub, const char *name, const void *p, size_t n, bool secret,
                 vt_error *err)
{
    char path[1200];
    VT_GUARD(emu_path(dir, sub, name, path, sizeof path, err));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, secret ? 0600 : 0644);
    if (fd < 0) return vt_error_set(err, VT_E_IO, "emulate", "%s: %s", path, strerror(errno));
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, (const uint8_t *)p + off, n - off);
        if (w <= 0) {
            close(fd);
            return vt_error_set(err, VT_E_IO, "emulate", "%s: write failed", path);
        }
        off += (size_t)w;
    }
    if (close(fd) != 0) return vt_error_set(err, VT_E_IO, "emulate", "%s: close failed", path);
    return VT_OK;
}

vt_err emu_read(const char *dir, const char *sub, const char *name, vt_buf *out, vt_error *err)
{
    char path[1200];
    VT_GUARD(emu_path(dir, sub, name, path, sizeof path, err));
    return vt_file_read(path, 16u << 20, out, err);
}

/* Certificates as one PEM bundle (chains, trust anchors). */
vt_err emu_write_pem_chain(const char *dir, const char *sub, const char *name, X509 *const *c, size_t n, vt_error *err)
{
    vt_writer all;
    vt_writer_init(&all, "PEM bundle", err);
    vt_err rc = VT_OK;
    for (size_t i = 0; i < n && rc == VT_OK; i++) {
        vt_buf b = {0};
        rc = vt_pki_cert_pem(c[i], &b, err);
        if (rc == VT_OK) rc = vt_write_bytes(&all, "certificate", b.ptr, b.len);
        vt_buf_free(&b);
    }
    if (rc == VT_OK) rc = emu_write(dir, sub, name, all.buf, all.len, false, err);
    vt_writer_free(&all);
    return rc;
}

vt_err emu_save_key(const char *dir, const char *name, EVP_PKEY *k, vt_error *err)
{
    vt_buf b = {0};
    VT_GUARD(vt_pki_key_pem(k, true, &b, err));
    vt_err rc = emu_write(dir, "keys", name, b.ptr, b.len, true, err);
    vt_buf_free_secret(&b);
    return rc;
}

vt_err emu_load_key(const char *dir, const char *name, EVP_PKEY **out, vt_error *err)
{
    vt_buf b = {0};
    VT_GUARD(emu_read(dir, "keys", name, &b, err));
    vt_err rc = vt_pki_key_load_pem(b.ptr, b.len, true, out, err);
    vt_buf_free_secret(&b);
    return rc;
}

json_t *emu_pattern_json(uint8_t seed, uint8_t step, size_t n)
{
    uint8_t b[64];
    if (n > sizeof b) return NULL;
    for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(seed + step * i);
    return vt_json_hex_string(b, n);
}

const json_t *vt_emu_platform(const vt_emu *e) { return e->platform; }
const char *vt_emu_dir(const vt_emu *e) { return e->dir; }
