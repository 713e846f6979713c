/* Normalized claims: one model of what verified evidence says, across Intel TDX, SGX, AMD
 * SEV-SNP and Arm CCA (and the emulated TEE), built from each verifier's result. Appraisal
 * (policy.h) and attestation results (ear.h) read only this; they know no wire formats. */
#ifndef VERITEE_CLAIMS_H
#define VERITEE_CLAIMS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/cca.h"
#include "veritee/err.h"
#include "veritee/snp.h"
#include "veritee/tdx.h"
#include "veritee/vtime.h"

VT_BEGIN_DECLS

typedef enum vt_tee {
    VT_TEE_UNKNOWN = 0,
    VT_TEE_SGX = 1,
    VT_TEE_TDX = 2,
    VT_TEE_SNP = 3,
    VT_TEE_CCA = 4,
    VT_TEE_AZ_SNP_VTPM = 5, /* Azure CVM: SNP report (paravisor, VMPL 0) + vTPM quote */
    VT_TEE_AZ_TDX_VTPM = 6, /* Azure CVM: TD quote + vTPM quote */
    VT_TEE_TPM = 7,         /* a TPM 2.0 quote by an attestation key the verifier trusts */
    VT_TEE_NVIDIA = 8,      /* an NVIDIA GPU (Hopper, Blackwell): additional evidence beside a CPU TEE */
} vt_tee;

/* "sgx", "tdx", "snp", "cca", "az-snp-vtpm", "az-tdx-vtpm", "tpm", "nvidia" (the kbs-types
 * names), "unknown". */
const char *vt_tee_name(vt_tee t);
/* The hardware TEE whose report the evidence carries: SNP for az-snp-vtpm, TDX for az-tdx-vtpm,
 * the kind itself otherwise (TPM: none, VT_TEE_TPM). Per-TEE policy rules follow it. */
vt_tee vt_tee_hw(vt_tee t);
/* A kind whose evidence carries a TPM quote (az-snp-vtpm, az-tdx-vtpm, tpm). */
bool vt_tee_has_tpm(vt_tee t);
/* Parse one of those names; VT_E_ARG otherwise. */
VT_MUST_USE vt_err vt_tee_parse(const char *s, vt_tee *out, vt_error *err);

#define VT_CLAIMS_MAX_MEAS 24
#define VT_CLAIMS_MAX_ADVISORIES 64
#define VT_CLAIMS_NAME_MAX 32
#define VT_CLAIMS_VALUE_MAX 64

/* A named measurement ("mr_td", "rtmr1", "measurement", "rim", "rem0" ...). */
typedef struct vt_measurement {
    char name[VT_CLAIMS_NAME_MAX];
    uint8_t value[VT_CLAIMS_VALUE_MAX];
    size_t len;
} vt_measurement;

/* ---- per-TEE specifics ---- */

typedef struct vt_claims_tdx {
    uint64_t td_attributes;  /* TD_ATTRIBUTES as a little-endian integer (bit 0 DEBUG) */
    uint64_t xfam;
    uint64_t seam_attributes;
    uint8_t tee_tcb_svn[16];
    bool tdx15;
    uint8_t tee_tcb_svn2[16];
    uint8_t fmspc[6];
    uint16_t qe_svn, pce_svn;
    bool has_module_status;
    vt_tcb_status platform_status, qe_status, module_status;
} vt_claims_tdx;

typedef struct vt_claims_sgx {
    uint8_t attributes[16];  /* flags (bytes 0..7, bit 1 DEBUG) then XFRM */
    uint32_t misc_select;
    uint16_t isv_prod_id, isv_svn, config_svn;
    uint8_t fmspc[6];
} vt_claims_sgx;

typedef struct vt_claims_snp {
    vt_snp_product product;
    vt_snp_signing_key signer;
    uint64_t policy;         /* GUEST_POLICY raw */
    uint32_t vmpl;
    uint32_t guest_svn;
    uint64_t platform_info;
    vt_snp_tcb reported_tcb, committed_tcb, current_tcb, launch_tcb;
    vt_snp_fw_version current_version, committed_version;
    uint8_t chip_id[64];
    bool has_cpuid;
    uint8_t cpuid_fam_id, cpuid_mod_id, cpuid_step;
} vt_claims_snp;

#define VT_CLAIMS_CCA_SW_MAX 64

typedef struct vt_claims_cca_sw {
    char type[VT_CLAIMS_NAME_MAX];     /* component type, "" when absent */
    char version[VT_CLAIMS_NAME_MAX];  /* "" when absent */
    uint8_t measurement[VT_CLAIMS_VALUE_MAX];
    size_t measurement_len;
    uint8_t signer_id[VT_CLAIMS_VALUE_MAX];
    size_t signer_id_len;
} vt_claims_cca_sw;

/* One NVIDIA GPU (docs/nvidia.md, "Claims"): what its verified SPDM report says. */
#define VT_CLAIMS_GPU_MEAS 64
#define VT_CLAIMS_GPU_SWITCHES 16 /* distinct NVSwitch PDIs kept per GPU */

typedef enum vt_gpu_rim {
    VT_GPU_RIM_NOT_CHECKED = 0, /* no RIMs were given to the verification */
    VT_GPU_RIM_MATCHED = 1,     /* every golden entry of the driver and VBIOS RIMs matched */
} vt_gpu_rim;

typedef struct vt_claims_gpu {
    char arch[16];            /* "HOPPER", "BLACKWELL" (the evidence's claim; it chose the FWID rule) */
    char uuid[64];            /* as the guest gave it: unverified; "" when absent */
    char ueid[64];            /* the FMC leaf's serial number, decimal */
    char driver_version[64];  /* "550.90.07" */
    char vbios_version[24];   /* "96.00.9f.00.01" */
    char feature[8];          /* opaque feature_flag: "SPT", "MPT", "PPCIE"; "" when absent */
    bool cc_mode;             /* the signed report names a CC mode (feature_flag present) */
    bool ppcie;               /* feature_flag is PPCIE (protected PCIe) */
    bool nvdec0_enabled;
    vt_gpu_rim rim;
    size_t rim_matched;       /* golden entries matched (rim == MATCHED) */
    size_t n_meas;            /* SPDM blocks 1..n_meas */
    uint8_t meas[VT_CLAIMS_GPU_MEAS][48];
    /* PPCIe: the NVSwitches the GPU is attached to (opaque switch_pdi, id 22): the distinct
     * PDIs other than all-zero (a disabled link), in report order, each as the report's 8 bytes */
    bool has_switch_pdi;      /* the report carries the switch_pdi field */
    size_t n_switch_pdi;
    uint8_t switch_pdi[VT_CLAIMS_GPU_SWITCHES][8];
} vt_claims_gpu;

typedef struct vt_claims_cca {
    vt_cca_profile profile;
    uint64_t lifecycle;
    uint8_t implementation_id[64];
    size_t implementation_id_len;
    uint8_t instance_id[64];
    size_t instance_id_len;
    uint8_t platform_config[64];
    size_t platform_config_len;       /* 0 when longer than 64 bytes: see config_sha256 */
    uint8_t platform_config_sha256[32];
    char realm_hash_alg[16];
    char platform_hash_alg[16];
    vt_claims_cca_sw sw[VT_CLAIMS_CCA_SW_MAX];
    size_t n_sw;
} vt_claims_cca;

/* ---- TPM quotes and event logs (az-snp-vtpm, az-tdx-vtpm, tpm) ---- */

#define VT_CLAIMS_PCRS_MAX 96       /* 4 banks x 24 PCRs */
#define VT_CLAIMS_EVENTS_MAX 64
#define VT_CLAIMS_AAEL_FIELD_MAX 64 /* domain, operation */
#define VT_CLAIMS_AAEL_CONTENT_MAX 256

typedef struct vt_claims_pcr {
    uint16_t bank;                  /* TPM_ALG_ID: 0x000B SHA-256, 0x0004 SHA-1, 0x000C SHA-384 ... */
    uint8_t index;
    uint8_t len;
    uint8_t value[64];
} vt_claims_pcr;

/* One record of the event log that came with the evidence, after its replay matched the quoted
 * PCRs. AAEL records (the attestation agent's EV_EVENT_TAG) carry their text split in three. */
typedef struct vt_claims_event {
    uint32_t index;                 /* record number in the log (0 = its header) */
    uint32_t pcr;
    uint32_t type;                  /* TCG event type */
    uint16_t digest_alg;
    uint8_t digest_len;
    uint8_t digest[64];
    bool aael;
    bool aael_truncated;            /* a field was longer than its array: never matches a rule */
    char domain[VT_CLAIMS_AAEL_FIELD_MAX];
    char operation[VT_CLAIMS_AAEL_FIELD_MAX];
    char content[VT_CLAIMS_AAEL_CONTENT_MAX];
} vt_claims_event;

typedef struct vt_claims_tpm {
    bool present;
    int evidence_version;           /* Azure evidence JSON version (0, 1, 2); 0 for tpm */
    vt_claims_pcr pcrs[VT_CLAIMS_PCRS_MAX];
    size_t n_pcrs;
    bool has_ak_sha256;             /* tpm: SHA-256 of the trusted AK's SubjectPublicKeyInfo */
    uint8_t ak_sha256[32];
    /* Azure HCL runtime claims (vm-configuration, user-data) */
    bool has_runtime_claims;
    int secure_boot, tpm_enabled, console_enabled; /* 1 true, 0 false, -1 absent */
    char vm_unique_id[64];
    uint8_t user_data[64];
    size_t user_data_len;
    /* the event log (cc_eventlog), replayed */
    bool has_event_log;
    vt_claims_event events[VT_CLAIMS_EVENTS_MAX];
    size_t n_events;
    bool events_truncated;          /* the log had more records than VT_CLAIMS_EVENTS_MAX */
} vt_claims_tpm;

/* The normalized claims of one piece of verified evidence. Plain data, no pointers: copy freely. */
typedef struct vt_claims {
    vt_tee tee;
    bool emulated;                 /* produced by veritee's emulated TEE (test PKI), not hardware */
    bool verified;                 /* the verifier accepted the evidence (signatures, chains) */

    bool has_tcb_status;           /* TDX/SGX: merged TCB status from PCS collateral */
    vt_tcb_status tcb_status;
    vt_time tcb_date;
    char advisories[VT_CLAIMS_MAX_ADVISORIES][32];
    size_t n_advisories;

    bool debug;                    /* TD/enclave debug, SNP policy DEBUG, CCA realm-debug lifecycle */

    vt_measurement meas[VT_CLAIMS_MAX_MEAS];
    size_t n_meas;

    uint8_t report_data[64];       /* TDX/SGX/SNP REPORTDATA, CCA realm challenge */
    size_t report_data_len;

    char init_data_name[VT_CLAIMS_NAME_MAX]; /* "mr_config_id", "host_data", "config_id",
                                                "personalization_value" */
    uint8_t init_data[64];
    size_t init_data_len;

    bool has_collateral_expiry;    /* earliest nextUpdate/notAfter of what verified it */
    vt_time collateral_expiry;
    bool has_collateral_issued;    /* earliest issueDate of the TCB Info / QE Identity used (age) */
    vt_time collateral_issued;
    bool revocation_checked;

    vt_claims_tpm tpm;             /* az-snp-vtpm, az-tdx-vtpm, tpm (tpm.present) */

    union {                        /* by vt_tee_hw(tee) */
        vt_claims_tdx tdx;
        vt_claims_sgx sgx;
        vt_claims_snp snp;
        vt_claims_cca cca;
        vt_claims_gpu gpu;
    } u;
} vt_claims;

/* Builders. Each resets *out and fills it from a verifier's successful result. Reset means every
 * field reads as zero except what no reader looks at: the TPM PCR and event entries past n_pcrs
 * and n_events, and the per-TEE union's members of other TEEs than vt_tee_hw(tee). */
VT_MUST_USE vt_err vt_claims_from_tdx(const vt_tdx_result *r, vt_claims *out, vt_error *err);
VT_MUST_USE vt_err vt_claims_from_snp(const vt_snp_claims *c, vt_claims *out, vt_error *err);
/* t must have passed vt_cca_verify; cpak is the key that verified it (vt_cca_verify's
 * cpak_used; may be NULL), whose `emulated` mark makes the claims emulated. */
VT_MUST_USE vt_err vt_claims_from_cca(const vt_cca_token *t, const vt_cca_cpak *cpak, vt_claims *out,
                          vt_error *err);

/* One device object of the nvidia layer's claims ({"arch","uuid","ueid","nonce","measurements",
 * "config","emulated","rim",...}, vt_nvidia_verify) as normalized claims: report_data is the
 * request nonce (32 bytes), revocation_checked whether OCSP covered the chain. */
VT_MUST_USE vt_err vt_claims_from_gpu(const json_t *device, bool revocation_checked, vt_claims *out,
                                      vt_error *err);
/* The TPM part of claims from the claims JSON the azure layer (vt_az_vtpm_verify) or the tpm
 * layer (vt_tpm_verify) returns: tee becomes `tee`, PCRs per bank, report data (the quote's
 * extraData), init-data (PCR8), runtime claims, event-log records. For az-*: call after
 * vt_claims_from_snp/_tdx filled the hardware part; for tpm, out is reset first. */
VT_MUST_USE vt_err vt_claims_add_tpm(vt_tee tee, const json_t *j, vt_claims *out, vt_error *err);
/* Whether the claims bind an init-data digest: PCR8 == SHA-256(32 zero bytes || digest) for the
 * TPM kinds (digest of 32 bytes), else the init-data field holds the digest, zero-padded or
 * truncated to its size (kbs-protocol.md 7.4; CCA: exactly). */
bool vt_claims_init_data_binds(const vt_claims *c, const uint8_t *digest, size_t len);
/* A quoted PCR; NULL when not quoted. */
const vt_claims_pcr *vt_claims_pcr_get(const vt_claims *c, uint16_t bank, unsigned index);

/* Add or replace a named measurement (len <= 64). VT_E_ARG when full or too long. */
VT_MUST_USE vt_err vt_claims_set_meas(vt_claims *c, const char *name, const uint8_t *v, size_t len,
                          vt_error *err);
/* Find a measurement by name; NULL when absent. */
const vt_measurement *vt_claims_meas(const vt_claims *c, const char *name);

/* The claims as JSON for the annotated evidence (snake_case, bytes as lower-case hex):
 * {"tee", "emulated", "tcb_status", "advisory_ids", "debug", "measurements": {name: hex},
 *  "report_data", "init_data": {name: hex}, "collateral_expiry", "tee_claims": {per-TEE fields}}.
 * NULL on allocation failure. */
json_t *vt_claims_json(const vt_claims *c);

VT_END_DECLS

#endif
