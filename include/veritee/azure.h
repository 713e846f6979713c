/* Azure confidential VMs with a paravisor vTPM (az-snp-vtpm, az-tdx-vtpm): the HCL report
 * (the paravisor's "HCLA" envelope around the hardware report and the runtime-claims JSON whose
 * SHA-256 the hardware report binds), the vTPM quote signed by the attestation key those claims
 * carry, and the verifiers. Layout and chain of trust: docs/azure.md. */
#ifndef VERITEE_AZURE_H
#define VERITEE_AZURE_H

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/checks.h"
#include "veritee/codec.h"
#include "veritee/err.h"
#include "veritee/reader.h"
#include "veritee/snp.h"
#include "veritee/tdx.h"
#include "veritee/tpm.h"
#include "veritee/vtime.h"

VT_BEGIN_DECLS

#define VT_HCL_SIGNATURE 0x414C4348u   /* "HCLA" little-endian */
#define VT_HCL_HW_REPORT_OFFSET 0x20u
#define VT_HCL_HW_REPORT_SIZE 1184u
#define VT_HCL_VAR_DATA_OFFSET 0x4D4u
#define VT_HCL_REPORT_TYPE_SNP 2u
#define VT_HCL_REPORT_TYPE_TDX 4u
#define VT_HCL_HASH_SHA256 1u
#define VT_AZ_PCRS 24

/* The HCL report (all little-endian). Views point into the caller's buffer. */
typedef struct vt_hcl_report {
    uint32_t header_version;    /* 1 (2048-byte reports, no user-data) or 2 */
    uint32_t report_size;       /* informational: never used for slicing */
    uint32_t request_type;
    uint32_t status;
    vt_bytes hw_report;         /* 1184 bytes: SNP ATTESTATION_REPORT, or TDREPORT + 160 zero bytes */
    uint32_t igvm_data_size;    /* 20 + var_size */
    uint32_t igvm_version;
    uint32_t report_type;       /* VT_HCL_REPORT_TYPE_SNP or _TDX */
    uint32_t hash_type;         /* VT_HCL_HASH_SHA256 */
    uint32_t var_size;
    vt_bytes var_data;          /* the runtime-claims JSON, exactly var_size bytes */
} vt_hcl_report;

/* Parse an HCL report: signature "HCLA", len >= 0x4D4 and 0x4D4 + var_size <= len, report type
 * SNP or TDX, hash type SHA-256, igvm data size = 20 + var_size. Errors: VT_E_INVALID,
 * VT_E_UNSUPPORTED (report or hash type). */
VT_MUST_USE vt_err vt_hcl_report_parse(const uint8_t *p, size_t len, vt_hcl_report *out, vt_error *err);

/* The runtime claims (HCL variable data), parsed. */
typedef struct vt_hcl_runtime_claims {
    json_t *root;               /* the whole JSON object (owned) */
    EVP_PKEY *ak;               /* the JWK with kid "HCLAkPub" (owned) */
    bool has_user_data;         /* "user-data" present (HCL v2 requested with report data) */
    uint8_t user_data[64];
    size_t user_data_len;
} vt_hcl_runtime_claims;

/* Parse the variable data as a JSON object; AK = the RSA JWK whose kid is exactly "HCLAkPub"
 * (exactly one). Errors: VT_E_INVALID. Free with vt_hcl_runtime_claims_clear. */
VT_MUST_USE vt_err vt_hcl_runtime_claims_parse(const vt_bytes *var_data, vt_hcl_runtime_claims *out, vt_error *err);
void vt_hcl_runtime_claims_clear(vt_hcl_runtime_claims *c);

typedef enum vt_az_kind {
    VT_AZ_SNP = 1,
    VT_AZ_TDX = 2,
} vt_az_kind;

/* Evidence as the CoCo attester posts it (versions 0, 1, 2; see docs/azure.md). Owned. */
typedef struct vt_az_evidence {
    int version;
    vt_buf hcl_report;
    vt_buf quote_message;       /* TPMS_ATTEST */
    vt_buf quote_signature;     /* raw RSASSA-PKCS1-v1_5 signature */
    vt_buf pcr_bufs[VT_AZ_PCRS];
    vt_bytes pcrs[VT_AZ_PCRS];
    size_t n_pcrs;
    vt_buf vcek;                /* SNP: DER, or PEM text (v0) */
    bool vcek_pem;
    vt_buf td_quote;            /* TDX */
    vt_buf cc_eventlog;         /* optional TCG2 log (v2 + AAEL) */
} vt_az_evidence;

/* Parse evidence JSON of the given kind; unknown versions and fields of the wrong shape are
 * VT_E_INVALID. Free with vt_az_evidence_free. */
VT_MUST_USE vt_err vt_az_evidence_parse(const uint8_t *p, size_t len, vt_az_kind kind, vt_az_evidence *out, vt_error *err);
void vt_az_evidence_free(vt_az_evidence *e);
/* "az-snp-vtpm", "az-tdx-vtpm" when the bytes look like such evidence (a JSON object with the
 * kind's keys), NULL otherwise. Cheap; not a validation. */
const char *vt_az_evidence_detect(const uint8_t *p, size_t len);

/* ---- verification -------------------------------------------------------------------------- */

/* The trust the verifiers build on (borrowed, must outlive the verifier; each may be NULL):
 * snp: AMD ARKs/ASKs (NULL: a verifier with the built-in ARK pins, which cannot complete a chain
 * without an ASK: give the ASK/ARK PEMs); tdx: Intel root and PCS collateral (NULL: the built-in
 * root and no collateral, so the TD quote's own signature is checked and the rest is
 * VT_E_MISSING). */
typedef struct vt_azure_trust {
    vt_snp_verifier *snp;
    vt_tdx_verifier *tdx;
} vt_azure_trust;

/* Holds the trust and a small cache of decoded VCEKs (locked). Thread-safe, as the SNP and TDX
 * verifiers it borrows are. Free with vt_azure_verifier_free (accepts NULL). */
typedef struct vt_azure_verifier vt_azure_verifier;

VT_MUST_USE vt_err vt_azure_verifier_new(const vt_azure_trust *trust, vt_azure_verifier **out, vt_error *err);
void vt_azure_verifier_free(vt_azure_verifier *v);

typedef struct vt_azure_verify_opts {
    vt_time at;                     /* certificate validity instant */
    const uint8_t *nonce;           /* expected report data (TPM extraData exactly; v2 user-data
                                       prefix); NULL: freshness not checked (reported skipped) */
    size_t nonce_len;               /* 1..64 */
    const uint8_t *init_data_hash;  /* 32 bytes: PCR8 must bind it; NULL: not checked */
    /* SNP collateral beyond the VCEK the evidence carries (all borrowed, may be NULL): ASK/ARK
     * candidates and CRLs (an AMD KDS cache, a certificate directory), the product when the
     * report does not say, and whether an ARK-issued CRL must be consulted. */
    STACK_OF(X509) *snp_certs;
    STACK_OF(X509_CRL) *snp_crls;
    vt_snp_product snp_product;
    bool snp_crl_required;
} vt_azure_verify_opts;

/* What a verification yields besides the checks (owned; vt_azure_result_clear frees). */
typedef struct vt_azure_result {
    json_t *claims;             /* on success: the claims described at vt_az_snp_vtpm_verify */
    vt_snp_claims *snp;         /* az-snp-vtpm: the inner SNP report's verification, on success */
    vt_tdx_result *tdx;         /* az-tdx-vtpm: the TD quote's verification, on success and when
                                   only Intel collateral was missing */
} vt_azure_result;

/* Verify az-snp-vtpm (VT_AZ_SNP) or az-tdx-vtpm (VT_AZ_TDX) evidence as the two functions below,
 * keeping the hardware verifier's own result (for normalized claims). out is reset first. */
VT_MUST_USE vt_err vt_az_vtpm_verify(vt_azure_verifier *v, vt_az_kind kind, const uint8_t *evidence, size_t len,
                                     const vt_azure_verify_opts *opts, vt_azure_result *out, vt_checks *checks,
                                     vt_error *err);
void vt_azure_result_clear(vt_azure_result *r); /* accepts NULL */

/* Verify az-snp-vtpm evidence JSON: HCL structure, AK from the runtime claims, TPM quote
 * (signature, nonce, PCR digest), SHA-256(runtime claims) == SNP report_data[0:32] with the rest
 * zero, v2 user-data, the SNP report down to the AMD root (vt_snp_verify, with the VCEK from the
 * evidence), init-data, and the optional event log replayed into the quoted PCRs. claims (may
 * be NULL) receives on success {"tee","evidence_version","snp":{...},"tpm":{"pcrNN"},
 * "report_data","init_data","runtime_claims","hcl":{...},"event_log"?}. Errors as
 * vt_snp_verify's and vt_tpm_quote_verify's. */
VT_MUST_USE vt_err vt_az_snp_vtpm_verify(vt_azure_verifier *v, const uint8_t *evidence, size_t len,
                             const vt_azure_verify_opts *opts, json_t **claims, vt_checks *checks,
                             vt_error *err);

/* Verify az-tdx-vtpm evidence JSON: the same vTPM and binding checks against the TD quote's
 * report_data, the HCL TDREPORT's fields against the quote body, and the TD quote by the TDX
 * verifier. Without Intel collateral every check that can run offline runs (TD quote signature
 * included) and the result is VT_E_MISSING, never success. Claims as above with "tdx". */
VT_MUST_USE vt_err vt_az_tdx_vtpm_verify(vt_azure_verifier *v, const uint8_t *evidence, size_t len,
                             const vt_azure_verify_opts *opts, json_t **claims, vt_checks *checks,
                             vt_error *err);

VT_END_DECLS

#endif
