/* Linux guest UAPI structures, laid out here (no kernel headers needed) per
 * include/uapi/linux/tdx-guest.h and include/uapi/linux/sev-guest.h, as summarised in
 * shared/specs/guest-evidence.md sections 3 and 4; sizes and offsets are checked at compile
 * time and in tests/evidence/test_ioctl_layout.c. */
#ifndef VT_EVIDENCE_UAPI_H
#define VT_EVIDENCE_UAPI_H

#include <stddef.h>
#include <stdint.h>

/* _IOC encoding of asm-generic/ioctl.h (x86-64 and arm64): dir 31:30, size 29:16, type 15:8, nr 7:0. */
#define VT_IOC_READ_WRITE 3u
#define VT_IOWR(type, nr, size) \
    ((unsigned long)((VT_IOC_READ_WRITE << 30) | ((uint32_t)(size) << 16) | ((uint32_t)(type) << 8) | (uint32_t)(nr)))

/* /dev/tdx_guest */
struct vt_tdx_report_req {
    uint8_t reportdata[64];   /* in: REPORTDATA */
    uint8_t tdreport[1024];   /* out: TDREPORT_STRUCT */
};
#define VT_TDX_CMD_GET_REPORT0 VT_IOWR('T', 1, sizeof(struct vt_tdx_report_req))

/* /dev/sev-guest */
struct vt_snp_guest_request_ioctl {
    uint8_t msg_version;      /* @0: 1 for report requests */
    uint8_t pad[7];
    uint64_t req_data;        /* @8: user pointer to the request */
    uint64_t resp_data;       /* @16: user pointer to the response */
    union {
        uint64_t exitinfo2;   /* @24, out */
        struct {
            uint32_t fw_error;
            uint32_t vmm_error;
        } e;
    } u;
};

struct vt_snp_report_req {
    uint8_t user_data[64];    /* @0: REPORT_DATA */
    uint32_t vmpl;            /* @64 */
    uint8_t rsvd[28];         /* @68 */
};

struct vt_snp_report_resp {
    uint8_t data[4000];       /* MSG_REPORT_RSP: status u32 @0, report_size u32 @4, report @0x20 */
};

struct vt_snp_ext_report_req {
    struct vt_snp_report_req data; /* @0 */
    uint64_t certs_address;        /* @96 */
    uint32_t certs_len;            /* @104: page multiple; rewritten with the size needed */
    uint8_t pad[4];
};

#define VT_SNP_GET_REPORT VT_IOWR('S', 0, sizeof(struct vt_snp_guest_request_ioctl))
#define VT_SNP_GET_DERIVED_KEY VT_IOWR('S', 1, sizeof(struct vt_snp_guest_request_ioctl))
#define VT_SNP_GET_EXT_REPORT VT_IOWR('S', 2, sizeof(struct vt_snp_guest_request_ioctl))
#define VT_SNP_VMM_ERR_INVALID_LEN 1u
#define VT_SNP_VMM_ERR_BUSY 2u
#define VT_SNP_RESP_REPORT_OFFSET 0x20u

_Static_assert(sizeof(struct vt_tdx_report_req) == 1088, "tdx_report_req is 1088 bytes");
_Static_assert(offsetof(struct vt_tdx_report_req, tdreport) == 64, "tdreport at 64");
_Static_assert(sizeof(struct vt_snp_guest_request_ioctl) == 32, "snp_guest_request_ioctl is 32 bytes");
_Static_assert(offsetof(struct vt_snp_guest_request_ioctl, req_data) == 8, "req_data at 8");
_Static_assert(offsetof(struct vt_snp_guest_request_ioctl, resp_data) == 16, "resp_data at 16");
_Static_assert(offsetof(struct vt_snp_guest_request_ioctl, u) == 24, "exitinfo2 at 24");
_Static_assert(sizeof(struct vt_snp_report_req) == 96, "snp_report_req is 96 bytes");
_Static_assert(offsetof(struct vt_snp_report_req, vmpl) == 64, "vmpl at 64");
_Static_assert(sizeof(struct vt_snp_report_resp) == 4000, "snp_report_resp is 4000 bytes");
_Static_assert(sizeof(struct vt_snp_ext_report_req) == 112, "snp_ext_report_req is 112 bytes");
_Static_assert(offsetof(struct vt_snp_ext_report_req, certs_address) == 96, "certs_address at 96");
_Static_assert(offsetof(struct vt_snp_ext_report_req, certs_len) == 104, "certs_len at 104");
_Static_assert(VT_TDX_CMD_GET_REPORT0 == 0xC4405401ul, "TDX_CMD_GET_REPORT0");
_Static_assert(VT_SNP_GET_REPORT == 0xC0205300ul, "SNP_GET_REPORT");
_Static_assert(VT_SNP_GET_DERIVED_KEY == 0xC0205301ul, "SNP_GET_DERIVED_KEY");
_Static_assert(VT_SNP_GET_EXT_REPORT == 0xC0205302ul, "SNP_GET_EXT_REPORT");

#endif
