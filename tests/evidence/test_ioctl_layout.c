/* Guest UAPI layouts (include/uapi/linux/tdx-guest.h, sev-guest.h as in
 * shared/specs/guest-evidence.md sections 3-4): sizes, offsets and ioctl numbers; the firmware
 * response and certificate-buffer readers; the device errors; and RTMR extension with its
 * runtime event log, replayed by the CCEL code. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evidence/uapi.h"
#include "testutil.h"
#include "veritee/crypto.h"
#include "veritee/emulate.h"
#include "veritee/evidence.h"
#include "veritee/tdx_ccel.h"

static void test_struct_layout(void **state)
{
    (void)state;
    assert_int_equal(sizeof(struct vt_tdx_report_req), 1088);
    assert_int_equal(offsetof(struct vt_tdx_report_req, reportdata), 0);
    assert_int_equal(offsetof(struct vt_tdx_report_req, tdreport), 64);
    assert_int_equal(sizeof(struct vt_snp_guest_request_ioctl), 32);
    assert_int_equal(offsetof(struct vt_snp_guest_request_ioctl, msg_version), 0);
    assert_int_equal(offsetof(struct vt_snp_guest_request_ioctl, req_data), 8);
    assert_int_equal(offsetof(struct vt_snp_guest_request_ioctl, resp_data), 16);
    assert_int_equal(offsetof(struct vt_snp_guest_request_ioctl, u.exitinfo2), 24);
    assert_int_equal(offsetof(struct vt_snp_guest_request_ioctl, u.e.fw_error), 24);
    assert_int_equal(offsetof(struct vt_snp_guest_request_ioctl, u.e.vmm_error), 28);
    assert_int_equal(sizeof(struct vt_snp_report_req), 96);
    assert_int_equal(offsetof(struct vt_snp_report_req, user_data), 0);
    assert_int_equal(offsetof(struct vt_snp_report_req, vmpl), 64);
    assert_int_equal(offsetof(struct vt_snp_report_req, rsvd), 68);
    assert_int_equal(sizeof(struct vt_snp_report_resp), 4000);
    assert_int_equal(sizeof(struct vt_snp_ext_report_req), 112);
    assert_int_equal(offsetof(struct vt_snp_ext_report_req, data), 0);
    assert_int_equal(offsetof(struct vt_snp_ext_report_req, certs_address), 96);
    assert_int_equal(offsetof(struct vt_snp_ext_report_req, certs_len), 104);
    assert_int_equal(VT_TDX_CMD_GET_REPORT0, 0xC4405401ul);
    assert_int_equal(VT_SNP_GET_REPORT, 0xC0205300ul);
    assert_int_equal(VT_SNP_GET_DERIVED_KEY, 0xC0205301ul);
    assert_int_equal(VT_SNP_GET_EXT_REPORT, 0xC0205302ul);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void test_report_response(void **state)
{
    (void)state;
    struct vt_snp_report_resp *r = calloc(1, sizeof *r);
    vt_buf out = {0};
    vt_error e;
    put32(r->data + 4, 1184);
    for (int i = 0; i < 1184; i++) r->data[0x20 + i] = (uint8_t)i;
    assert_int_equal(vt_snp_report_resp_parse(r->data, sizeof r->data, &out, &e), VT_OK);
    assert_int_equal(out.len, 1184);
    assert_memory_equal(out.ptr, r->data + 0x20, 1184);
    vt_buf_free(&out);
    put32(r->data, 0x16); /* firmware: invalid parameters */
    assert_int_equal(vt_snp_report_resp_parse(r->data, sizeof r->data, &out, &e), VT_E_IO);
    put32(r->data, 0);
    put32(r->data + 4, 4000);
    assert_int_equal(vt_snp_report_resp_parse(r->data, sizeof r->data, &out, &e), VT_E_INVALID);
    put32(r->data + 4, 1184);
    assert_int_equal(vt_snp_report_resp_parse(r->data, 0x20 + 1183, &out, &e), VT_E_INVALID); /* truncated */
    free(r);
}

static void test_certs_trim(void **state)
{
    (void)state;
    char dir[256];
    vt_test_tmpdir(dir, sizeof dir);
    vt_error e;
    assert_int_equal(vt_emu_init(dir, "{\"snp\": {\"rsa_bits\": 2048}}", 1780000000, &e), VT_OK);
    vt_emu *emu;
    vt_buf t = {0}, out = {0};
    assert_int_equal(vt_emu_open(dir, &emu, &e), VT_OK);
    assert_int_equal(vt_emu_snp_certtable(emu, true, &t, &e), VT_OK);
    vt_emu_free(emu);
    /* as the extended request returns it: zero-padded to the page-multiple buffer */
    uint8_t *page = calloc(1, 16384);
    memcpy(page, t.ptr, t.len);
    assert_int_equal(vt_snp_certs_trim(page, 16384, &out, &e), VT_OK);
    assert_int_equal(out.len, t.len);
    assert_memory_equal(out.ptr, t.ptr, t.len);
    vt_buf_free(&out);
    memset(page, 0, 16384); /* the host supplied no certificates */
    assert_int_equal(vt_snp_certs_trim(page, 16384, &out, &e), VT_OK);
    assert_int_equal(out.len, 0);
    page[0] = 1; /* an entry pointing outside the buffer */
    put32(page + 16, 48);
    put32(page + 20, 20000);
    assert_int_equal(vt_snp_certs_trim(page, 16384, &out, &e), VT_E_INVALID);
    free(page);
    vt_buf_free(&t);
}

static void test_devices(void **state)
{
    (void)state;
    uint8_t rd[64] = {0}, rep[VT_TDREPORT_SIZE];
    vt_snp_ioctl_result r;
    vt_error e;
    assert_int_equal(vt_ioctl_tdx_report("/nonexistent/tdx_guest", rd, rep, &e), VT_E_MISSING);
    assert_int_equal(vt_ioctl_snp_report("/nonexistent/sev-guest", rd, 0, true, &r, &e), VT_E_MISSING);
    assert_int_equal(vt_ioctl_snp_report("/dev/null", rd, 4, false, &r, &e), VT_E_ARG);
    /* a device that is not the guest driver: the ioctl fails (ENOTTY), nothing is returned */
    assert_int_equal(vt_ioctl_tdx_report("/dev/null", rd, rep, &e), VT_E_IO);
    assert_int_equal(vt_ioctl_snp_report("/dev/null", rd, 0, false, &r, &e), VT_E_IO);
    assert_null(r.report.ptr);
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void test_rtmr_extend_and_log(void **state)
{
    (void)state;
    char dir[256], path[320], log[320];
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/rtmr3:sha384", dir);
    snprintf(log, sizeof log, "%s/runtime.log", dir);
    uint8_t zero[48] = {0}, d1[48], d2[48], got[48];
    memset(d1, 0x11, 48);
    memset(d2, 0x22, 48);
    write_file(path, zero, 48);
    vt_error e;
    assert_int_equal(vt_rtmr_read(dir, 3, got, &e), VT_OK);
    assert_memory_equal(got, zero, 48);
    assert_int_equal(vt_rtmr_extend(dir, 3, d1, log, "app-config", 10, &e), VT_OK);
    /* the sysfs file took exactly the 48-byte digest in one write (the kernel extends) */
    assert_int_equal(vt_rtmr_read(dir, 3, got, &e), VT_OK);
    assert_memory_equal(got, d1, 48);
    assert_int_equal(vt_rtmr_extend(dir, 3, d2, log, NULL, 0, &e), VT_OK);
    /* the log replays like a CCEL: RTMR3 = SHA-384(SHA-384(0 || d1) || d2) */
    vt_buf l = {0};
    FILE *f = fopen(log, "rb");
    assert_non_null(f);
    l.ptr = malloc(4096);
    l.len = fread(l.ptr, 1, 4096, f);
    fclose(f);
    uint8_t rtmr[VT_TDX_RTMR_COUNT][48], want[48];
    size_t events = 0;
    assert_int_equal(vt_tdx_ccel_replay(l.ptr, l.len, rtmr, &events, &e), VT_OK);
    assert_int_equal(events, 3); /* Spec ID event + 2 */
    assert_int_equal(vt_hash2(VT_SHA384, zero, 48, d1, 48, want, &e), VT_OK);
    assert_int_equal(vt_hash2(VT_SHA384, want, 48, d2, 48, want, &e), VT_OK);
    assert_memory_equal(rtmr[3], want, 48);
    assert_memory_equal(rtmr[0], zero, 48);
    vt_buf_free(&l);
    /* errors: no such register, bad index, a register file of the wrong size */
    assert_int_equal(vt_rtmr_extend(dir, 2, d1, NULL, NULL, 0, &e), VT_E_MISSING);
    assert_int_equal(vt_rtmr_extend(dir, 4, d1, NULL, NULL, 0, &e), VT_E_ARG);
    assert_int_equal(vt_rtmr_read("/nonexistent", 0, got, &e), VT_E_MISSING);
    write_file(path, zero, 47);
    assert_int_equal(vt_rtmr_read(dir, 3, got, &e), VT_E_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_struct_layout), cmocka_unit_test(test_report_response),
        cmocka_unit_test(test_certs_trim),    cmocka_unit_test(test_devices),
        cmocka_unit_test(test_rtmr_extend_and_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
