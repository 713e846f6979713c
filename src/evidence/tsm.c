/* configfs-tsm report provider (shared/specs/guest-evidence.md section 1, Linux
 * Documentation/ABI/testing/configfs-tsm-report): a private report instance, the generation
 * race check with bounded retries, provider -> TEE, and removal of the instance. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "veritee/evidence.h"
#include "veritee/fileio.h"

const char *vt_ev_tee_name(vt_ev_tee t)
{
    switch (t) {
    case VT_EV_TEE_TDX: return "tdx";
    case VT_EV_TEE_SNP: return "snp";
    case VT_EV_TEE_CCA: return "cca";
    case VT_EV_TEE_AZ_SNP_VTPM: return "az-snp-vtpm";
    case VT_EV_TEE_AZ_TDX_VTPM: return "az-tdx-vtpm";
    case VT_EV_TEE_TPM: return "tpm";
    default: return "unknown";
    }
}

vt_err vt_ev_tee_parse(const char *s, vt_ev_tee *out, vt_error *err)
{
    if (s != NULL && strcmp(s, "tdx") == 0) *out = VT_EV_TEE_TDX;
    else if (s != NULL && strcmp(s, "snp") == 0) *out = VT_EV_TEE_SNP;
    else if (s != NULL && strcmp(s, "cca") == 0) *out = VT_EV_TEE_CCA;
    else if (s != NULL && strcmp(s, "az-snp-vtpm") == 0) *out = VT_EV_TEE_AZ_SNP_VTPM;
    else if (s != NULL && strcmp(s, "az-tdx-vtpm") == 0) *out = VT_EV_TEE_AZ_TDX_VTPM;
    else if (s != NULL && strcmp(s, "tpm") == 0) *out = VT_EV_TEE_TPM;
    else return vt_error_set(err, VT_E_ARG, "tee", "unknown TEE '%.32s' (tdx, snp, cca, az-snp-vtpm, az-tdx-vtpm, tpm)",
                             s ? s : "");
    return VT_OK;
}

vt_ev_tee vt_tsm_provider_tee(const char *p)
{
    if (strcmp(p, "tdx_guest") == 0) return VT_EV_TEE_TDX;
    if (strcmp(p, "sev_guest") == 0) return VT_EV_TEE_SNP;
    if (strcmp(p, "arm_cca_guest") == 0) return VT_EV_TEE_CCA;
    return VT_EV_TEE_UNKNOWN;
}

bool vt_tsm_present(const char *root)
{
    struct stat st;
    return stat(root ? root : VT_TSM_ROOT_DEFAULT, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Read a whole attribute (read(2) until EOF, as configfs serves it). *absent when the file
 * does not exist and missing_ok. */
static vt_err read_attr(const char *dir, const char *name, size_t cap, bool missing_ok, vt_buf *out, vt_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    out->ptr = NULL;
    out->len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT && missing_ok) return VT_OK;
        return vt_error_set(err, errno == ENOENT ? VT_E_INVALID : VT_E_IO, "tsm_read", "%s: %s", path,
                            strerror(errno));
    }
    vt_err rc = vt_fd_read(fd, cap, path, "tsm_read", out, err);
    close(fd);
    return rc;
}

/* One write(2) of the whole value: configfs attributes take a value in one call. */
static vt_err write_attr(const char *dir, const char *name, const void *p, size_t n, vt_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return vt_error_set(err, errno == ENOENT ? VT_E_INVALID : VT_E_IO, "tsm_write", "%s: %s", path,
                            strerror(errno));
    ssize_t w;
    do w = write(fd, p, n);
    while (w < 0 && errno == EINTR);
    int e = errno;
    if (close(fd) != 0 && w >= 0) {
        w = -1;
        e = errno;
    }
    if (w < 0 || (size_t)w != n)
        return vt_error_set(err, VT_E_IO, "tsm_write", "%s: %s", path,
                            w < 0 ? strerror(e) : "short write");
    return VT_OK;
}

/* A text attribute without its trailing newline. */
static vt_err read_text(const char *dir, const char *name, char *out, size_t cap, vt_error *err)
{
    vt_buf b = {0};
    VT_GUARD(read_attr(dir, name, 4096, false, &b, err));
    size_t n = b.len;
    while (n > 0 && (b.ptr[n - 1] == '\n' || b.ptr[n - 1] == '\0')) n--;
    vt_err rc = VT_OK;
    if (n == 0 || n >= cap) rc = vt_error_set(err, VT_E_INVALID, "tsm_read", "%s/%s: %zu characters", dir, name, n);
    for (size_t i = 0; rc == VT_OK && i < n; i++)
        if (b.ptr[i] < 0x20 || b.ptr[i] > 0x7e)
            rc = vt_error_set(err, VT_E_INVALID, "tsm_read", "%s/%s: not printable text", dir, name);
    if (rc == VT_OK) {
        memcpy(out, b.ptr, n);
        out[n] = '\0';
    }
    vt_buf_free(&b);
    return rc;
}

static vt_err read_generation(const char *dir, uint64_t *out, vt_error *err)
{
    char t[32], *end = NULL;
    VT_GUARD(read_text(dir, "generation", t, sizeof t, err));
    errno = 0;
    unsigned long long v = strtoull(t, &end, 10);
    if (errno != 0 || *end != '\0' || t[0] == '-')
        return vt_error_set(err, VT_E_INVALID, "tsm_generation", "%s/generation: \"%s\" is not a counter", dir, t);
    *out = v;
    return VT_OK;
}

/* One attempt of the protocol; *raced when another writer interfered. */
static vt_err attempt(const char *dir, const vt_tsm_opts *o, vt_tsm_report *out, bool *raced, uint64_t *g0,
                      uint64_t *g1, vt_error *err)
{
    uint64_t writes = 0;
    *raced = false;
    VT_GUARD(read_generation(dir, g0, err));
    if (o->has_privlevel) {
        char t[16];
        int n = snprintf(t, sizeof t, "%u\n", o->privlevel);
        VT_GUARD(write_attr(dir, "privlevel", t, (size_t)n, err));
        writes++;
    }
    VT_GUARD(write_attr(dir, "inblob", o->inblob, o->inblob_len, err)); /* always: a fresh report */
    writes++;
    VT_GUARD(read_attr(dir, "outblob", VT_TSM_OUTBLOB_MAX, false, &out->outblob, err));
    VT_GUARD(read_attr(dir, "auxblob", VT_TSM_OUTBLOB_MAX, true, &out->auxblob, err));
    VT_GUARD(read_generation(dir, g1, err));
    if (*g1 != *g0 + writes) {
        *raced = true;
        vt_buf_free(&out->outblob);
        vt_buf_free(&out->auxblob);
        return VT_OK;
    }
    if (out->outblob.len == 0)
        return vt_error_set(err, VT_E_INVALID, "tsm_read", "%s/outblob is empty", dir);
    out->generation = *g1;
    return VT_OK;
}

static vt_err check_opts(const vt_tsm_opts *o, vt_error *err)
{
    if (o == NULL || o->inblob == NULL || o->inblob_len == 0 || o->inblob_len > VT_TSM_INBLOB_MAX)
        return vt_error_set(err, VT_E_ARG, "tsm", "inblob must be 1..%u bytes", VT_TSM_INBLOB_MAX);
    if (o->has_privlevel && o->privlevel > 3)
        return vt_error_set(err, VT_E_ARG, "tsm", "privlevel %u is outside 0..3", o->privlevel);
    if (o->retries > VT_TSM_RETRIES_MAX)
        return vt_error_set(err, VT_E_ARG, "tsm", "at most %u attempts", VT_TSM_RETRIES_MAX);
    const char *e = o->entry;
    if (e != NULL && (e[0] == '\0' || e[0] == '.' || strchr(e, '/') != NULL || strlen(e) > 64))
        return vt_error_set(err, VT_E_ARG, "tsm", "instance name must be 1..64 characters without '/'");
    return VT_OK;
}

/* Create (or, when named by the caller, reuse) the instance directory. */
static vt_err open_entry(const char *root, const vt_tsm_opts *o, char *dir, size_t cap, bool *created, vt_error *err)
{
    char name[80];
    if (o->entry != NULL) {
        snprintf(name, sizeof name, "%s", o->entry);
    } else {
        uint8_t r[4];
        if (RAND_bytes(r, sizeof r) != 1) return vt_error_set(err, VT_E_INTERNAL, "tsm", "no randomness");
        snprintf(name, sizeof name, "veritee-%ld-%02x%02x%02x%02x", (long)getpid(), r[0], r[1], r[2], r[3]);
    }
    int n = snprintf(dir, cap, "%s/%s", root, name);
    if (n < 0 || (size_t)n >= cap) return vt_error_set(err, VT_E_ARG, "tsm", "configfs-tsm path too long");
    *created = false;
    if (mkdir(dir, 0700) == 0) {
        *created = true;
        return VT_OK;
    }
    if (errno == EEXIST && o->entry != NULL) return VT_OK;
    if (errno == ENXIO)
        return vt_error_set(err, VT_E_UNSUPPORTED, "tsm",
                            "configfs-tsm has no provider registered (%s: ENXIO): not inside a TD, SNP guest or "
                            "realm, or its guest driver is not loaded", root);
    if (errno == ENOENT)
        return vt_error_set(err, VT_E_MISSING, "tsm",
                            "configfs-tsm not found at %s (Linux >= 6.7 with CONFIG_TSM_REPORTS; is configfs "
                            "mounted at /sys/kernel/config?)", root);
    return vt_error_set(err, VT_E_IO, "tsm", "cannot create report instance %s: %s", dir, strerror(errno));
}

vt_err vt_tsm_get_report(const vt_tsm_opts *o, vt_tsm_report *out, vt_error *err)
{
    VT_GUARD(check_opts(o, err));
    memset(out, 0, sizeof *out);
    const char *root = o->root ? o->root : VT_TSM_ROOT_DEFAULT;
    char dir[4200];
    bool created;
    VT_GUARD(open_entry(root, o, dir, sizeof dir, &created, err));
    vt_err rc = read_text(dir, "provider", out->provider, sizeof out->provider, err);
    if (rc == VT_OK) {
        out->tee = vt_tsm_provider_tee(out->provider);
        if (out->tee == VT_EV_TEE_UNKNOWN)
            rc = vt_error_set(err, VT_E_UNSUPPORTED, "tsm_provider", "configfs-tsm provider \"%s\" is not known "
                              "(tdx_guest, sev_guest, arm_cca_guest)", out->provider);
    }
    unsigned tries = o->retries ? o->retries : VT_TSM_RETRIES_DEFAULT;
    uint64_t g0 = 0, g1 = 0;
    bool raced = true;
    for (unsigned i = 0; rc == VT_OK && raced && i < tries; i++) {
        out->attempts = i + 1;
        rc = attempt(dir, o, out, &raced, &g0, &g1, err);
    }
    if (rc == VT_OK && raced)
        rc = vt_error_set(err, VT_E_IO, "tsm_generation",
                          "another process wrote to the report instance %s during each of %u attempts (last: "
                          "generation %" PRIu64 " -> %" PRIu64 "); use a private instance", dir, tries, g0, g1);
    if (created && rmdir(dir) != 0 && rc == VT_OK)
        rc = vt_error_set(err, VT_E_IO, "tsm", "cannot remove report instance %s: %s", dir, strerror(errno));
    if (rc != VT_OK) vt_tsm_report_free(out);
    return rc;
}

void vt_tsm_report_free(vt_tsm_report *r)
{
    if (r == NULL) return;
    vt_buf_free(&r->outblob);
    vt_buf_free(&r->auxblob);
}
