/* Appraisal policy: a JSON policy language (docs/policy.md), validated on load with errors that
 * name the offending key path, and its evaluation over normalized claims into an appraisal:
 * named checks, each justifying one AR4SI trustworthiness claim, and the derived EAR status. */
#ifndef VERITEE_POLICY_H
#define VERITEE_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/checks.h"
#include "veritee/claims.h"
#include "veritee/ear.h"
#include "veritee/err.h"
#include "veritee/refvals.h"

VT_BEGIN_DECLS

#define VT_POLICY_MAX_BYTES (256u << 10) /* policy text */
#define VT_POLICY_MAX_DEPTH 6            /* nesting of objects/arrays */
#define VT_POLICY_MAX_LIST 256           /* entries of any array */
#define VT_POLICY_MAX_RULES 32           /* measurement rules */
#define VT_POLICY_MAX_REFS 8             /* reference names per rule */

/* A set of allowed byte values: literal hex values and reference-value names. */
typedef struct vt_policy_bytes {
    uint8_t v[VT_CLAIMS_VALUE_MAX];
    size_t len;
} vt_policy_bytes;

typedef struct vt_policy_set {
    bool present;
    vt_policy_bytes *values; /* owned */
    size_t n;
    char refs[VT_POLICY_MAX_REFS][VT_CLAIMS_NAME_MAX];
    size_t n_refs;
} vt_policy_set;

typedef struct vt_policy_rule {
    char name[VT_CLAIMS_NAME_MAX];
    vt_policy_set set;
} vt_policy_rule;

typedef struct vt_policy_mask {
    bool present;
    uint8_t mask[16], value[16]; /* little-endian bytes of the field */
    size_t len;                  /* 8 (u64 fields) or 16 (SGX attributes) */
} vt_policy_mask;

typedef enum vt_policy_emulated {
    VT_POLICY_EMULATED_REJECT = 0,
    VT_POLICY_EMULATED_WARN = 1,
    VT_POLICY_EMULATED_ACCEPT = 2,
} vt_policy_emulated;

typedef struct vt_policy_snp_tcb {
    bool present;
    int fmc, bootloader, tee, snp, microcode; /* -1: not constrained */
} vt_policy_snp_tcb;

#define VT_POLICY_SW_MAX 64

typedef struct vt_policy_sw {
    char type[VT_CLAIMS_NAME_MAX];
    char version[VT_CLAIMS_NAME_MAX];
    vt_policy_bytes measurement;
    vt_policy_bytes signer_id; /* len 0: any signer */
} vt_policy_sw;

typedef enum vt_policy_ppcie {
    VT_POLICY_PPCIE_ANY = 0,
    VT_POLICY_PPCIE_REQUIRED = 1,
    VT_POLICY_PPCIE_FORBIDDEN = 2,
} vt_policy_ppcie;
/* tpm.pcrs: the values one PCR of one bank may have. */
typedef struct vt_policy_pcr {
    uint16_t bank;                   /* TPM_ALG_ID */
    uint8_t index;
    vt_policy_set set;
} vt_policy_pcr;

/* tpm.aael.allowed: an event the attestation agent may have logged. Empty fields match any. */
typedef struct vt_policy_aael {
    char domain[VT_CLAIMS_AAEL_FIELD_MAX];
    char operation[VT_CLAIMS_AAEL_FIELD_MAX];
    char *content;                   /* owned; NULL: any */
    char *image;                     /* owned; NULL: any; the content's JSON "image" member */
} vt_policy_aael;

typedef struct vt_policy {
    char id[64];
    unsigned tee_mask;               /* bit (1 << vt_tee); 0: any */
    vt_policy_emulated emulated;
    bool allow_debug;
    /* tcb */
    unsigned tcb_allowed;            /* bit (1 << vt_tcb_status) */
    unsigned tcb_warn;
    bool advisories_restricted;      /* allowed_advisories given */
    char (*advisories)[32];          /* owned */
    size_t n_advisories;
    bool has_min_tcb_date;
    vt_time min_tcb_date;
    /* collateral */
    int64_t max_collateral_age;      /* seconds; 0: not checked */
    int64_t min_collateral_remaining;
    bool require_revocation;
    /* binding */
    bool report_data_required;
    bool report_data_exact;          /* compare all 64 bytes; default: prefix then zeros */
    vt_policy_set report_data;
    bool init_data_required;
    vt_policy_set init_data;
    /* measurements */
    vt_policy_rule rules[VT_POLICY_MAX_RULES];
    size_t n_rules;
    /* TDX */
    vt_policy_mask td_attributes, xfam;
    bool has_min_tee_tcb_svn;
    uint8_t min_tee_tcb_svn[16];
    /* SGX */
    vt_policy_mask sgx_attributes, misc_select;
    int64_t sgx_isv_prod_ids[16];
    size_t n_sgx_isv_prod_ids;
    int64_t min_isv_svn;             /* -1: not checked */
    /* SNP */
    vt_policy_mask snp_policy, snp_platform_info;
    int64_t snp_max_vmpl;            /* -1: not checked */
    vt_policy_snp_tcb snp_min_tcb, snp_min_committed_tcb;
    bool has_snp_min_firmware;
    vt_snp_fw_version snp_min_firmware;
    unsigned snp_signing_keys;       /* bit (1 << vt_snp_signing_key); 0: any */
    int64_t snp_min_guest_svn;       /* -1 */
    unsigned snp_products;           /* bit (1 << vt_snp_product); 0: any */
    /* CCA */
    unsigned cca_lifecycle_classes;  /* bit (lifecycle >> 12); 0: only "secured" (0x3xxx) */
    unsigned cca_profiles;           /* bit (1 << vt_cca_profile); 0: any */
    bool cca_platform_refs, cca_realm_refs;
    vt_policy_set cca_implementation_ids;
    vt_policy_sw *cca_sw;            /* owned */
    size_t n_cca_sw;
    /* NVIDIA GPUs ("nvidia" section) */
    unsigned gpu_archs;              /* bit 1 HOPPER, bit 2 BLACKWELL; 0: any */
    char gpu_min_driver[64];         /* "": not checked */
    char gpu_min_vbios[24];
    bool gpu_allow_cc_off;           /* cc_mode "any": a GPU naming no CC mode is a warning */
    vt_policy_ppcie gpu_ppcie;
    bool gpu_require_rim;
    bool has_gpu_count;
    int64_t gpu_count;               /* exact number of GPUs beside the CPU evidence */
    int64_t gpu_min;                 /* at least; 0: not checked */
    bool gpu_ppcie_topology;         /* nvidia.ppcie_topology: the GPUs' switch PDIs agree */
    int64_t gpu_topology_gpus;       /* GPUs of the PPCIe system (default 8, HGX) */
    int64_t gpu_topology_switches;   /* NVSwitches each GPU is attached to (default 4) */
    /* TPM quotes (az-snp-vtpm, az-tdx-vtpm, tpm) */
    vt_policy_pcr *tpm_pcrs;         /* owned */
    size_t n_tpm_pcrs;
    bool has_aael_allowed;           /* tpm.aael.allowed given: every AAEL event must match one */
    vt_policy_aael *aael_allowed;    /* owned */
    size_t n_aael_allowed;
    bool aael_event_log_required;    /* tpm.aael.require_event_log */
    int tpm_secure_boot;             /* tpm.secure_boot: -1 not checked, 0/1 required value */
} vt_policy;

/* Parse and validate a policy. Every key is checked (unknown keys refused, types, ranges,
 * hex lengths), sizes and depth bounded. VT_E_INVALID with a message such as
 * "policy.snp.min_tcb.microcode: expected an integer 0..255". Free with vt_policy_free. */
VT_MUST_USE vt_err vt_policy_parse(const char *text, size_t len, vt_policy *out, vt_error *err);
VT_MUST_USE vt_err vt_policy_load_file(const char *path, vt_policy *out, vt_error *err);
void vt_policy_free(vt_policy *p); /* accepts NULL */

/* ---- evaluation ---- */

typedef struct vt_appraise_ctx {
    vt_time at;                     /* appraisal instant (collateral age/expiry) */
    const vt_refvals *refvals;      /* may be NULL (reference rules then fail) */
    const uint8_t *report_data;     /* expected report data (nonce / hash), NULL: none given */
    size_t report_data_len;         /* 1..64 */
    const uint8_t *init_data;       /* expected init-data digest, NULL: none given */
    size_t init_data_len;
    size_t n_gpus;                  /* verified GPUs attested beside CPU evidence (nvidia.gpus,
                                       nvidia.min_gpus); not used for a GPU's own claims */
    /* A GPU's appraisal: every verified GPU of the same evidence (itself included), for the
     * rules across GPUs (nvidia.ppcie_topology). NULL: none given (such a rule fails). */
    const vt_claims_gpu *const *gpu_peers;
    size_t n_gpu_peers;
} vt_appraise_ctx;

#define VT_APPRAISAL_MAX_CHECKS 64

typedef struct vt_appraisal_check {
    char name[40];
    vt_check_status status;
    int claim;                     /* vt_ar4si_claim it justifies, -1: none */
    int value;                     /* the codepoint it contributed */
    char detail[240];
} vt_appraisal_check;

typedef struct vt_appraisal {
    char policy_id[64];
    vt_ar4si_vector vector;
    vt_ear_status status;
    vt_appraisal_check checks[VT_APPRAISAL_MAX_CHECKS]; /* entries past n_checks: unspecified */
    size_t n_checks;
} vt_appraisal;

/* An empty appraisal (no check, status none) without writing its check entries: what
 * vt_policy_appraise and vt_appraisal_rejected start from. */
void vt_appraisal_init(vt_appraisal *a);
/* Appraise claims against a policy. Returns VT_OK when the evaluation ran (the verdict is in
 * out->status and out->checks); VT_E_ARG for bad arguments. */
VT_MUST_USE vt_err vt_policy_appraise(const vt_policy *p, const vt_claims *c, const vt_appraise_ctx *ctx,
                          vt_appraisal *out, vt_error *err);
/* The appraisal of evidence that failed verification: every AR4SI claim 99 (cryptographic
 * validation failed), contraindicated, with the verifier's error as the one check. */
void vt_appraisal_rejected(const char *policy_id, const vt_error *verr, vt_appraisal *out);

/* Checks as JSON [{"name","status","claim","value","detail"}]. */
json_t *vt_appraisal_checks_json(const vt_appraisal *a);
/* The trustworthiness vector as {"instance-identity": n, ...} (all eight claims). */
json_t *vt_appraisal_vector_json(const vt_appraisal *a);

VT_END_DECLS

#endif
