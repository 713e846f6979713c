/* Guest-side evidence collection on Linux: the configfs-tsm report interface, the legacy
 * /dev/tdx_guest and /dev/sev-guest ioctls, and TDX RTMR extension through the tsm-mr sysfs
 * files with a runtime event log (shared/specs/guest-evidence.md sections 1-4, 6; docs/evidence.md).
 * Every path root can be overridden so tests drive these against directories they control. */
#ifndef VERITEE_EVIDENCE_H
#define VERITEE_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/codec.h"
#include "veritee/err.h"

VT_BEGIN_DECLS

typedef enum vt_ev_tee {
    VT_EV_TEE_UNKNOWN = 0,
    VT_EV_TEE_TDX,
    VT_EV_TEE_SNP,
    VT_EV_TEE_CCA,
    VT_EV_TEE_AZ_SNP_VTPM, /* Azure CVMs and TPM hosts: evidence from the vTPM (vtpm.h) */
    VT_EV_TEE_AZ_TDX_VTPM,
    VT_EV_TEE_TPM,
} vt_ev_tee;

/* "tdx", "snp", "cca", "az-snp-vtpm", "az-tdx-vtpm", "tpm", "unknown" */
const char *vt_ev_tee_name(vt_ev_tee t);
/* The names vt_ev_tee_name gives (VT_E_ARG otherwise). */
VT_MUST_USE vt_err vt_ev_tee_parse(const char *s, vt_ev_tee *out, vt_error *err);
/* The TEE of a configfs-tsm provider name: tdx_guest, sev_guest, arm_cca_guest. */
vt_ev_tee vt_tsm_provider_tee(const char *provider);

/* ---- configfs-tsm (Linux >= 6.7) ---------------------------------------------------------- */

#define VT_TSM_ROOT_DEFAULT "/sys/kernel/config/tsm/report"
#define VT_TSM_INBLOB_MAX 64u
#define VT_TSM_OUTBLOB_MAX (1u << 20) /* mainline caps outblob at 32 KiB; accept more */
#define VT_TSM_RETRIES_DEFAULT 3u
#define VT_TSM_RETRIES_MAX 16u

typedef struct vt_tsm_opts {
    const char *root;          /* NULL: VT_TSM_ROOT_DEFAULT */
    const char *entry;         /* NULL: a private instance veritee-<pid>-<random>, created and
                                  removed; else this instance, created if absent and removed
                                  only when created here */
    const uint8_t *inblob;     /* report data, 1..64 bytes (TDX and SNP need exactly 64,
                                  CCA 32..64: give 64) */
    size_t inblob_len;
    bool has_privlevel;        /* write privlevel (SNP VMPL 0..3) before inblob */
    unsigned privlevel;
    unsigned retries;          /* attempts when another writer interferes; 0: default 3 */
} vt_tsm_opts;

typedef struct vt_tsm_report {
    char provider[32];         /* as read, without the newline */
    vt_ev_tee tee;
    vt_buf outblob;            /* the evidence: TDX quote, SNP report, CCA token */
    vt_buf auxblob;            /* SNP certificate table; empty when absent */
    uint64_t generation;       /* the instance's generation after our read */
    unsigned attempts;         /* 1 unless a concurrent writer forced a retry */
} vt_tsm_report;

/* Produce a report through configfs-tsm following the generation protocol: read generation
 * (g0), write privlevel and inblob (n writes), read outblob and auxblob, read generation (g1);
 * g1 != g0 + n means another writer interfered: retry, up to opts->retries attempts. Errors:
 * VT_E_MISSING (no configfs-tsm at root), VT_E_UNSUPPORTED (no provider registered: ENXIO),
 * VT_E_ARG, VT_E_IO (a read or write failed; interference in every attempt, check
 * "tsm_generation"), VT_E_INVALID (provider, generation or an empty outblob). */
VT_MUST_USE vt_err vt_tsm_get_report(const vt_tsm_opts *opts, vt_tsm_report *out, vt_error *err);
void vt_tsm_report_free(vt_tsm_report *r); /* accepts NULL */

/* Whether configfs-tsm is present at root (NULL: default): the report directory exists. */
bool vt_tsm_present(const char *root);

/* ---- legacy ioctls ------------------------------------------------------------------------ */

#define VT_TDX_GUEST_DEV "/dev/tdx_guest"
#define VT_SEV_GUEST_DEV "/dev/sev-guest"
#define VT_TDREPORT_SIZE 1024u

/* TDX_CMD_GET_REPORT0: the 1024-byte TDREPORT_STRUCT for report_data (MAC-protected, local
 * only: a quote needs the host's quote generation service). dev NULL: /dev/tdx_guest.
 * Errors: VT_E_MISSING (no device), VT_E_IO. */
VT_MUST_USE vt_err vt_ioctl_tdx_report(const char *dev, const uint8_t report_data[64], uint8_t tdreport[VT_TDREPORT_SIZE],
                           vt_error *err);

typedef struct vt_snp_ioctl_result {
    vt_buf report;             /* the 1184-byte ATTESTATION_REPORT */
    vt_buf certs;              /* extended request: the certificate table, trimmed to its last
                                  blob; empty when the host supplied none */
    uint32_t fw_error;         /* firmware and VMM status of the last request */
    uint32_t vmm_error;
} vt_snp_ioctl_result;

/* SNP_GET_REPORT (extended = false) or SNP_GET_EXT_REPORT (true; the certificate buffer grows
 * once when the host asks for more) at VMPL vmpl. dev NULL: /dev/sev-guest. Errors:
 * VT_E_MISSING (no device), VT_E_IO (ioctl failed; fw_error/vmm_error in the message),
 * VT_E_INVALID (the firmware response is malformed). */
VT_MUST_USE vt_err vt_ioctl_snp_report(const char *dev, const uint8_t report_data[64], uint32_t vmpl, bool extended,
                           vt_snp_ioctl_result *out, vt_error *err);
void vt_snp_ioctl_result_free(vt_snp_ioctl_result *r);
/* The firmware MSG_REPORT_RSP the ioctls return (status u32, report_size u32, reserved, report at
 * 0x20): the 1184-byte report into out. VT_E_IO for a non-zero status, VT_E_INVALID otherwise. */
VT_MUST_USE vt_err vt_snp_report_resp_parse(const uint8_t *resp, size_t len, vt_buf *out, vt_error *err);
/* A certificate buffer as the extended request fills it (zero-padded to a page multiple):
 * validated with vt_snp_certtable_parse and trimmed to the end of its last blob (the auxblob
 * shape); empty when the host supplied none (an all-zero first entry). */
VT_MUST_USE vt_err vt_snp_certs_trim(const uint8_t *buf, size_t len, vt_buf *out, vt_error *err);

/* ---- TDX RTMR extension (tsm-mr, Linux >= 6.16) ------------------------------------------ */

#define VT_TDX_MR_DIR_DEFAULT "/sys/class/misc/tdx_guest/measurements"

/* Read RTMR index (0..3) from mr_dir/rtmr<index>:sha384 (mr_dir NULL: default). */
VT_MUST_USE vt_err vt_rtmr_read(const char *mr_dir, unsigned index, uint8_t out[48], vt_error *err);

/* Extend RTMR index with a 48-byte digest (RTMR <- SHA-384(RTMR || digest), done by the TDX
 * module) by one 48-byte write to mr_dir/rtmr<index>:sha384, then, when event_log is not NULL,
 * append the event to that file as a TCG_PCR_EVENT2 record (CC MR index = index + 1, SHA-384,
 * EV_EVENT_TAG, data = `event`), creating it with a "Spec ID Event03" header first, so that
 * vt_tdx_ccel_replay replays it. Errors: VT_E_MISSING (no tsm-mr file: kernel < 6.16 or not a
 * TD), VT_E_ARG, VT_E_IO. */
VT_MUST_USE vt_err vt_rtmr_extend(const char *mr_dir, unsigned index, const uint8_t digest[48], const char *event_log,
                      const void *event, size_t event_len, vt_error *err);

/* ---- NVIDIA GPUs through NVML (docs/nvidia.md, "Collecting GPU evidence") ------------------ */

#define VT_NVML_LIBRARY_DEFAULT "libnvidia-ml.so.1"
#define VT_NVML_GPUS_MAX 16u /* as many as the verifier takes in one device_evidence_list */

typedef struct vt_nvml_opts {
    const char *library;  /* the NVML library to dlopen(); NULL: VT_NVML_LIBRARY_DEFAULT (found
                             by the dynamic loader, installed with the NVIDIA driver) */
    const uint8_t *nonce; /* 32 bytes: the SPDM nonce every report must carry (the composite
                             binding's device runtime data, docs/nvidia.md) */
} vt_nvml_opts;

/* Collect the evidence of every GPU NVML enumerates, in Trustee's / guest-components' form
 * {"device_evidence_list":[{"arch","uuid","evidence" (hex),"certificate" (base64 of the PEM
 * attestation chain)}]} as JSON text in *out (caller frees with vt_buf_free). Refused before
 * anything is returned: the system's CC feature off or devtools mode on
 * (nvmlSystemGetConfComputeState), an architecture other than Hopper or Blackwell, a size NVML
 * reports larger than its buffer, a report that does not parse as SPDM 1.1 or does not carry
 * the nonce, a certificate chain that is not PEM text. Every NVML error names the call and its
 * return code (nvmlErrorString). Errors: VT_E_MISSING (no library, no NVIDIA driver, no GPU),
 * VT_E_UNSUPPORTED (CC off, devtools, architecture, driver without the CC calls), VT_E_INVALID
 * (sizes, report or chain malformed), VT_E_VERIFY (nonce not echoed), VT_E_IO, VT_E_ARG. */
VT_MUST_USE vt_err vt_nvml_gpu_evidence(const vt_nvml_opts *opts, vt_buf *out, vt_error *err);

VT_END_DECLS

#endif
