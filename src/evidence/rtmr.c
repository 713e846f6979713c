/* TDX RTMR extension through the tsm-mr sysfs files (shared/specs/guest-evidence.md section 2:
 * measurements/rtmrN:sha384, a 48-byte write = TDG.MR.RTMR.EXTEND) and the runtime event log
 * kept alongside in the TCG crypto-agile format of the CCEL (section 6), so a verifier replays
 * boot log and runtime log the same way. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "veritee/evidence.h"
#include "veritee/writer.h"

#define EV_EVENT_TAG 0x00000006u /* TCG PC Client PFP: an event with a tagged payload */
#define EV_NO_ACTION 0x00000003u
#define ALG_SHA384 0x000cu
#define EVENT_MAX 4096u
#define SPEC_ID_LEN (32u + 33u) /* SHA-1-format header + the Spec ID Event03 data */
#define RECORD_LEN 66u          /* TCG_PCR_EVENT2 with one SHA-384 digest, before the data */

static vt_err mr_path(const char *mr_dir, unsigned index, char *out, size_t cap, vt_error *err)
{
    if (index > 3) return vt_error_set(err, VT_E_ARG, "rtmr", "RTMR index %u is outside 0..3", index);
    int n = snprintf(out, cap, "%s/rtmr%u:sha384", mr_dir ? mr_dir : VT_TDX_MR_DIR_DEFAULT, index);
    if (n < 0 || (size_t)n >= cap) return vt_error_set(err, VT_E_ARG, "rtmr", "path too long");
    return VT_OK;
}

static vt_err open_mr(const char *path, int flags, int *fd, vt_error *err)
{
    *fd = open(path, flags | O_CLOEXEC);
    if (*fd >= 0) return VT_OK;
    if (errno == ENOENT)
        return vt_error_set(err, VT_E_MISSING, "rtmr", "%s does not exist (RTMR extension needs a TD with Linux "
                            ">= 6.16 tsm-mr measurements)", path);
    return vt_error_set(err, VT_E_IO, "rtmr", "cannot open %s: %s", path, strerror(errno));
}

vt_err vt_rtmr_read(const char *mr_dir, unsigned index, uint8_t out[48], vt_error *err)
{
    char path[4200];
    int fd;
    VT_GUARD(mr_path(mr_dir, index, path, sizeof path, err));
    VT_GUARD(open_mr(path, O_RDONLY, &fd, err));
    size_t got = 0;
    while (got < 48) {
        ssize_t r = read(fd, out + got, 48 - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    uint8_t extra;
    ssize_t more = got == 48 ? read(fd, &extra, 1) : 0;
    close(fd);
    if (got != 48 || more != 0)
        return vt_error_set(err, VT_E_INVALID, "rtmr", "%s does not hold exactly 48 bytes", path);
    return VT_OK;
}

/* The log's first record: SHA-1-format EV_NO_ACTION carrying "Spec ID Event03" (SHA-384 only). */
static size_t spec_id_event(uint8_t *p)
{
    uint8_t *d = p + 32;
    memset(p, 0, 64);
    vt_put_le(p + 4, EV_NO_ACTION, 4);
    memcpy(d, "Spec ID Event03", 16);
    d[16 + 4] = 0;                 /* spec version minor */
    d[16 + 5] = 2;                 /* major */
    d[16 + 6] = 0;                 /* errata */
    d[16 + 7] = 2;                 /* uintn size: 64-bit */
    vt_put_le(d + 24, 1, 4);       /* one algorithm */
    d[28] = ALG_SHA384 & 0xff;
    d[29] = ALG_SHA384 >> 8;
    d[30] = 48;
    d[31] = 0;
    d[32] = 0;                     /* vendor info size */
    vt_put_le(p + 28, 33, 4);      /* event size */
    return SPEC_ID_LEN;
}

static vt_err append_log(const char *log, unsigned index, const uint8_t digest[48], const void *ev, size_t n,
                         vt_error *err)
{
    int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return vt_error_set(err, VT_E_IO, "rtmr_log", "cannot open %s: %s", log, strerror(errno));
    struct stat st;
    size_t hl = 0, len;
    uint8_t *rec = malloc(SPEC_ID_LEN + RECORD_LEN + n);
    vt_err rc = VT_OK;
    if (rec == NULL || fstat(fd, &st) != 0) {
        rc = vt_error_set(err, VT_E_IO, "rtmr_log", "%s: cannot append", log);
        goto out;
    }
    if (st.st_size == 0) hl = spec_id_event(rec);
    uint8_t *r = rec + hl;
    vt_put_le(r, index + 1, 4); /* CC MR index: 1..4 = RTMR0..3 */
    vt_put_le(r + 4, EV_EVENT_TAG, 4);
    vt_put_le(r + 8, 1, 4);
    r[12] = ALG_SHA384 & 0xff;
    r[13] = ALG_SHA384 >> 8;
    memcpy(r + 14, digest, 48);
    vt_put_le(r + 62, (uint32_t)n, 4);
    if (n) memcpy(r + RECORD_LEN, ev, n);
    len = hl + RECORD_LEN + n;
    if (write(fd, rec, len) != (ssize_t)len) rc = vt_error_set(err, VT_E_IO, "rtmr_log", "%s: short write", log);
out:
    free(rec);
    if (close(fd) != 0 && rc == VT_OK) rc = vt_error_set(err, VT_E_IO, "rtmr_log", "%s: close failed", log);
    return rc;
}

vt_err vt_rtmr_extend(const char *mr_dir, unsigned index, const uint8_t digest[48], const char *event_log,
                      const void *event, size_t event_len, vt_error *err)
{
    if (event_len > EVENT_MAX || (event_len > 0 && event == NULL))
        return vt_error_set(err, VT_E_ARG, "rtmr", "event data is limited to %u bytes", EVENT_MAX);
    char path[4200];
    int fd;
    VT_GUARD(mr_path(mr_dir, index, path, sizeof path, err));
    VT_GUARD(open_mr(path, O_WRONLY, &fd, err));
    ssize_t w;
    do w = write(fd, digest, 48); /* one 48-byte write: the driver refuses partial writes */
    while (w < 0 && errno == EINTR);
    int e = errno;
    int c = close(fd);
    if (w != 48 || c != 0)
        return vt_error_set(err, VT_E_IO, "rtmr", "extending RTMR%u through %s failed: %s", index, path,
                            w < 0 ? strerror(e) : "short write");
    if (event_log == NULL) return VT_OK;
    return append_log(event_log, index, digest, event, event_len, err);
}
