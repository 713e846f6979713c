/* Legacy guest devices (shared/specs/guest-evidence.md sections 3 and 4): /dev/tdx_guest
 * TDX_CMD_GET_REPORT0 and /dev/sev-guest SNP_GET_REPORT / SNP_GET_EXT_REPORT. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "uapi.h"
#include "veritee/evidence.h"
#include "veritee/reader.h"
#include "veritee/snp.h"

#define CERTS_FIRST (16u * 1024u) /* SEV_FW_BLOB_MAX_SIZE */
#define CERTS_MAX (64u * 1024u)
#define SNP_REPORT_SIZE 1184u

static vt_err open_dev(const char *dev, int *fd, vt_error *err)
{
    *fd = open(dev, O_RDWR | O_CLOEXEC);
    if (*fd >= 0) return VT_OK;
    if (errno == ENOENT)
        return vt_error_set(err, VT_E_MISSING, "ioctl", "%s does not exist (not a confidential guest, or its "
                            "guest driver is not loaded)", dev);
    return vt_error_set(err, VT_E_IO, "ioctl", "cannot open %s: %s", dev, strerror(errno));
}

vt_err vt_ioctl_tdx_report(const char *dev, const uint8_t report_data[64], uint8_t tdreport[VT_TDREPORT_SIZE],
                           vt_error *err)
{
    dev = dev ? dev : VT_TDX_GUEST_DEV;
    int fd;
    VT_GUARD(open_dev(dev, &fd, err));
    struct vt_tdx_report_req *req = calloc(1, sizeof *req);
    vt_err rc = VT_OK;
    if (req == NULL) {
        close(fd);
        return vt_error_set(err, VT_E_NOMEM, "ioctl", "out of memory");
    }
    memcpy(req->reportdata, report_data, 64);
    if (ioctl(fd, VT_TDX_CMD_GET_REPORT0, req) != 0)
        rc = vt_error_set(err, VT_E_IO, "ioctl", "%s TDX_CMD_GET_REPORT0: %s", dev, strerror(errno));
    else
        memcpy(tdreport, req->tdreport, VT_TDREPORT_SIZE);
    close(fd);
    free(req);
    return rc;
}

/* MSG_REPORT_RSP: status u32 @0, report_size u32 @4, reserved, report @0x20. */
vt_err vt_snp_report_resp_parse(const uint8_t *p, size_t len, vt_buf *out, vt_error *err)
{
    vt_reader rd;
    uint32_t status, size;
    vt_bytes rep;
    vt_reader_init(&rd, p, len, "MSG_REPORT_RSP", err);
    VT_GUARD(vt_read_u32le(&rd, "status", &status));
    VT_GUARD(vt_read_u32le(&rd, "report_size", &size));
    if (status != 0)
        return vt_error_set(err, VT_E_IO, "ioctl", "SNP firmware returned status 0x%x for the report request", status);
    if (size != SNP_REPORT_SIZE)
        return vt_error_set(err, VT_E_INVALID, "ioctl", "firmware report is %u bytes, expected %u", size,
                            SNP_REPORT_SIZE);
    VT_GUARD(vt_read_skip(&rd, "reserved", VT_SNP_RESP_REPORT_OFFSET - 8));
    VT_GUARD(vt_read_view(&rd, "report", SNP_REPORT_SIZE, &rep));
    return vt_buf_set(out, rep.ptr, rep.len, err);
}

/* The certificate table trimmed to the highest offset+length, as the configfs auxblob is. */
vt_err vt_snp_certs_trim(const uint8_t *p, size_t cap, vt_buf *out, vt_error *err)
{
    out->ptr = NULL;
    out->len = 0;
    size_t end = 0;
    vt_snp_certtable t;
    bool zero = true;
    for (size_t i = 0; i < 24 && i < cap; i++) zero = zero && p[i] == 0;
    if (zero) return VT_OK; /* the host supplied no certificates */
    VT_GUARD(vt_snp_certtable_parse(p, cap, &t, err));
    for (size_t i = 0; i < t.n; i++) {
        size_t e = (size_t)(t.entries[i].data.ptr - p) + t.entries[i].data.len;
        if (e > end) end = e;
    }
    return vt_buf_set(out, p, end, err);
}

static vt_err snp_request(int fd, const char *dev, unsigned long cmd, void *req, struct vt_snp_report_resp *resp,
                          vt_snp_ioctl_result *out, vt_error *err)
{
    struct vt_snp_guest_request_ioctl g;
    memset(&g, 0, sizeof g);
    g.msg_version = 1;
    g.req_data = (uint64_t)(uintptr_t)req;
    g.resp_data = (uint64_t)(uintptr_t)resp;
    int r = ioctl(fd, cmd, &g);
    int e = errno;
    out->fw_error = g.u.e.fw_error;
    out->vmm_error = g.u.e.vmm_error;
    if (r == 0) return VT_OK;
    return vt_error_set(err, VT_E_IO, "ioctl", "%s %s: %s (firmware error 0x%x, VMM error %u)", dev,
                        cmd == VT_SNP_GET_REPORT ? "SNP_GET_REPORT" : "SNP_GET_EXT_REPORT", strerror(e),
                        g.u.e.fw_error, g.u.e.vmm_error);
}

vt_err vt_ioctl_snp_report(const char *dev, const uint8_t report_data[64], uint32_t vmpl, bool extended,
                           vt_snp_ioctl_result *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    if (vmpl > 3) return vt_error_set(err, VT_E_ARG, "ioctl", "VMPL %u is outside 0..3", vmpl);
    dev = dev ? dev : VT_SEV_GUEST_DEV;
    int fd;
    VT_GUARD(open_dev(dev, &fd, err));
    struct vt_snp_report_resp *resp = calloc(1, sizeof *resp);
    struct vt_snp_ext_report_req req;
    uint8_t *certs = NULL;
    vt_err rc = VT_OK;
    memset(&req, 0, sizeof req);
    memcpy(req.data.user_data, report_data, 64);
    req.data.vmpl = vmpl;
    if (resp == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "ioctl", "out of memory");
        goto out;
    }
    if (!extended) {
        VT_GUARD_GOTO(snp_request(fd, dev, VT_SNP_GET_REPORT, &req.data, resp, out, err));
        VT_GUARD_GOTO(vt_snp_report_resp_parse(resp->data, sizeof resp->data, &out->report, err));
        goto out;
    }
    uint32_t len = CERTS_FIRST;
    for (int round = 0; round < 2; round++) {
        free(certs);
        certs = calloc(1, len);
        if (certs == NULL) {
            rc = vt_error_set(err, VT_E_NOMEM, "ioctl", "out of memory");
            goto out;
        }
        req.certs_address = (uint64_t)(uintptr_t)certs;
        req.certs_len = len;
        rc = snp_request(fd, dev, VT_SNP_GET_EXT_REPORT, &req, resp, out, err);
        /* too small: the kernel wrote the size it needs into certs_len; grow once */
        if (rc != VT_OK && out->vmm_error == VT_SNP_VMM_ERR_INVALID_LEN && round == 0 && req.certs_len > len &&
            req.certs_len <= CERTS_MAX) {
            len = req.certs_len;
            continue;
        }
        break;
    }
    VT_GUARD_GOTO(rc);
    VT_GUARD_GOTO(vt_snp_report_resp_parse(resp->data, sizeof resp->data, &out->report, err));
    VT_GUARD_GOTO(vt_snp_certs_trim(certs, len, &out->certs, err));
out:
    close(fd);
    free(resp);
    free(certs);
    if (rc != VT_OK) vt_snp_ioctl_result_free(out);
    return rc;
}

void vt_snp_ioctl_result_free(vt_snp_ioctl_result *r)
{
    if (r == NULL) return;
    vt_buf_free(&r->report);
    vt_buf_free(&r->certs);
}
