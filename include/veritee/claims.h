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
    VT_TEE_NVIDIA = 5, /* an NVIDIA GPU (Hopper, Blackwell): additional evidence beside a CPU TEE */
} vt_tee;

/* "sgx", "tdx", "snp", "cca", "nvidia" (the kbs-types names), "unknown". */
const char *vt_tee_name(vt_tee t);
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

    union {
        vt_claims_tdx tdx;
        vt_claims_sgx sgx;
        vt_claims_snp snp;
        vt_claims_cca cca;
        vt_claims_gpu gpu;
    } u;
} vt_claims;

/* Builders. Each resets *out and fills it from a verifier's successful result. */
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
