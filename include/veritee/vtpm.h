/* Guest-side TPM 2.0 access through the tpm2-tss ESAPI (libtss2-esys, loaded with dlopen() when
 * a TPM is first opened, so relying-side users of the library need no TSS): NV reads of the Azure
 * HCL report, quotes with a persistent attestation key, PCR reads and extends, and the
 * provisioning an emulated Azure CVM needs in a software TPM (docs/azure.md,
 * shared/specs/azure_hcl_vtpm.md section 1, shared/specs/tpm2_quote.md). Every answer from the
 * TPM is hostile input: sizes are checked before use and quotes are parsed before they are sent. */
#ifndef VERITEE_VTPM_H
#define VERITEE_VTPM_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/codec.h"
#include "veritee/err.h"

VT_BEGIN_DECLS

#define VT_VTPM_TCTI_DEFAULT "device:/dev/tpmrm0"
#define VT_AZ_NV_HCL_REPORT 0x01400001u  /* the paravisor's HCL report (owner read) */
#define VT_AZ_NV_USER_DATA 0x01400002u   /* report data for a fresh HCL report (v2) */
#define VT_AZ_AK_HANDLE 0x81000003u      /* the HCL attestation key, persistent */
#define VT_TPM_AK_HANDLE 0x81010002u     /* the `tpm` attester's AK by convention */
#define VT_VTPM_NV_MAX (16u << 10)       /* largest NV index read (Azure: 2600 bytes) */
#define VT_VTPM_PCRS_ALL 0x00FFFFFFu     /* PCR 0..23 */
#define VT_VTPM_NONCE_MAX 64u            /* TPM2B_DATA limit (Azure's vTPM: 50) */

typedef struct vt_vtpm vt_vtpm;

/* Open a TPM through a TCTI configuration string as tpm2-tss takes it ("device:/dev/tpmrm0",
 * "swtpm:host=127.0.0.1,port=2321", "mssim:..."; NULL: VT_VTPM_TCTI_DEFAULT). Errors:
 * VT_E_MISSING (libtss2 not installed, or the TCTI cannot reach a TPM), VT_E_IO. */
VT_MUST_USE vt_err vt_vtpm_open(const char *tcti, vt_vtpm **out, vt_error *err);
void vt_vtpm_close(vt_vtpm *t); /* accepts NULL */

/* Read the whole NV index `index` (size from TPM2_NV_ReadPublic, at most VT_VTPM_NV_MAX) in
 * chunks of TPM_PT_NV_BUFFER_MAX, with owner authorisation (empty owner auth, as on Azure).
 * Errors: VT_E_MISSING (no such index), VT_E_INVALID (size out of bounds or a short chunk),
 * VT_E_IO. */
VT_MUST_USE vt_err vt_vtpm_nv_read(vt_vtpm *t, uint32_t index, vt_buf *out, vt_error *err);

/* SHA-256 PCR values for every PCR in mask (bit i = PCR i), read in the TPM's batches of at most
 * 8; pcrs[i] is filled for each selected i. Errors: VT_E_UNSUPPORTED (no SHA-256 bank), VT_E_IO. */
VT_MUST_USE vt_err vt_vtpm_pcr_read(vt_vtpm *t, uint32_t mask, uint8_t pcrs[24][32], vt_error *err);

/* TPM2_PCR_Extend of PCR pcr (0..23) in the SHA-256 bank. Errors: VT_E_ARG, VT_E_IO (the TPM
 * refused: Azure's vTPM refuses PCR 17..22 at locality 0). */
VT_MUST_USE vt_err vt_vtpm_pcr_extend(vt_vtpm *t, unsigned pcr, const uint8_t digest[32], vt_error *err);

typedef struct vt_vtpm_quote {
    vt_buf attest;         /* the marshalled TPMS_ATTEST the AK signed */
    vt_buf signature;      /* the marshalled TPMT_SIGNATURE */
    vt_buf signature_raw;  /* RSA: the bare signature bytes (what Azure's evidence carries) */
    uint8_t pcrs[24][32];  /* SHA-256 values of the quoted PCRs, read after the quote */
    uint32_t mask;         /* the quoted PCRs */
} vt_vtpm_quote;

/* TPM2_Quote by the key at persistent handle ak (scheme NULL: the key's own, RSASSA-SHA256 for
 * Azure's AK) over the SHA-256 PCRs in mask with qualifyingData = nonce (1..64 bytes, unpadded),
 * then TPM2_PCR_Read of the same PCRs. The quote is parsed and its pcrDigest recomputed from the
 * values read; a PCR extended between quote and read makes them differ and the pair is taken
 * again (at most 3 times). Errors: VT_E_ARG, VT_E_MISSING (no key at ak), VT_E_INVALID (the TPM
 * answered a malformed quote, another nonce, or PCRs that never match), VT_E_IO. */
VT_MUST_USE vt_err vt_vtpm_quote_pcrs(vt_vtpm *t, uint32_t ak, const uint8_t *nonce, size_t nonce_len, uint32_t mask,
                                      vt_vtpm_quote *out, vt_error *err);
void vt_vtpm_quote_free(vt_vtpm_quote *q); /* accepts NULL */

/* The public key of the persistent object at handle (TPM2_ReadPublic, parsed with the tpm
 * layer's TPMT_PUBLIC parser). *out owned. Errors: VT_E_MISSING, VT_E_INVALID, VT_E_IO. */
VT_MUST_USE vt_err vt_vtpm_read_public(vt_vtpm *t, uint32_t handle, EVP_PKEY **out, vt_error *err);

/* ---- provisioning (the emulated Azure CVM, a test TPM) -------------------------------------- */

/* Create a restricted RSA-2048 RSASSA-SHA256 signing key (an AK) as a primary key of the owner
 * hierarchy and make it persistent at handle, replacing what was there. */
VT_MUST_USE vt_err vt_vtpm_ak_create(vt_vtpm *t, uint32_t handle, vt_error *err);

/* Define NV index `index` (owner read/write, exactly len bytes; an existing one is undefined
 * first) and write data into it in TPM_PT_NV_BUFFER_MAX chunks. */
VT_MUST_USE vt_err vt_vtpm_nv_store(vt_vtpm *t, uint32_t index, const uint8_t *data, size_t len, vt_error *err);

/* ---- evidence --------------------------------------------------------------------------- */

#define VT_AZ_NONCE_MAX 50u /* Azure's vTPM answers TPM_RC_SIZE above this */
#define VT_VTPM_EVENT_LOG_DEFAULT "/sys/kernel/security/tpm0/binary_bios_measurements"
#define VT_AA_EVENT_LOG_DEFAULT "/run/attestation-agent/eventlog"
#define VT_CCEL_DEFAULT "/sys/firmware/acpi/tables/data/CCEL"

typedef enum vt_vtpm_kind {
    VT_VTPM_AZ_SNP = 1, /* az-snp-vtpm */
    VT_VTPM_AZ_TDX = 2, /* az-tdx-vtpm */
    VT_VTPM_TPM = 3,    /* tpm */
} vt_vtpm_kind;

typedef struct vt_vtpm_evidence_opts {
    vt_vtpm_kind kind;
    const char *tcti;             /* NULL: VT_VTPM_TCTI_DEFAULT */
    const uint8_t *nonce;         /* the report data, 1..64 bytes (Azure: 1..50), quoted unpadded
                                     for Azure and zero-padded to 64 for tpm, as CoCo's attesters do */
    size_t nonce_len;
    uint32_t ak_handle;           /* 0: VT_AZ_AK_HANDLE (Azure) or VT_TPM_AK_HANDLE (tpm) */
    const char *imds_url;         /* Azure IMDS, NULL: http://169.254.169.254 */
    const char *imds_dir;         /* instead of IMDS: vcek.der / td_quote.bin from this directory
                                     (the emulated CVM; a VM without IMDS access) */
    const uint8_t *event_log;     /* cc_eventlog bytes (vt_vtpm_event_logs_read), may be NULL */
    size_t event_log_len;
    const char *aa_eventlog_text; /* the 2024 text AAEL, sent as aa_eventlog; may be NULL */
} vt_vtpm_evidence_opts;

/* The evidence JSON of kind, as CoCo's attesters post it: Azure v1 {version, tpm_quote
 * {signature (raw, hex), message (hex), pcrs [24 hex]}, hcl_report (base64url, padded), vcek
 * (DER, base64url) | td_quote (base64url)}; tpm {report_data, tpm_quote {message, signature
 * (TPMT_SIGNATURE), pcrs}, ak_public (SPKI DER)} in standard base64; cc_eventlog (standard
 * base64) and aa_eventlog when given. The HCL report's type must match kind (VT_E_ARG names the
 * right one). *out owned. Errors: VT_E_ARG, VT_E_MISSING (no TPM, no NV index, no AK), the
 * TPM's and IMDS's errors. */
VT_MUST_USE vt_err vt_vtpm_evidence(const vt_vtpm_evidence_opts *o, json_t **out, vt_error *err);

/* What the guest checks of the NV index's bytes before sending them (the verifier checks the
 * rest): the HCLA signature, the variable data inside the buffer, the report type of kind
 * (VT_E_ARG naming the TEE it is when another; VT_E_INVALID when malformed). */
VT_MUST_USE vt_err vt_vtpm_hcl_check(const uint8_t *hcl, size_t len, vt_vtpm_kind kind, vt_error *err);

/* One TCG2 log for cc_eventlog: the firmware log (fw, its terminator and fill dropped) followed
 * by the attestation agent's TCG2 records (aa, its own header dropped when fw leads), ending in
 * FF x 8; each part must parse. Empty *out when both are empty. */
VT_MUST_USE vt_err vt_cc_eventlog_build(const uint8_t *fw, size_t fw_len, const uint8_t *aa, size_t aa_len, vt_buf *out,
                                        vt_error *err);

/* Read the firmware event log at fw_path (TPM: binary_bios_measurements; CC: the ACPI CCEL) and
 * the attestation agent's log at aa_path (each skipped when absent; NULL: none) into one
 * cc_eventlog (vt_cc_eventlog_build), or, for the 2024 text AAEL ("INIT ..."), *aa_text. */
VT_MUST_USE vt_err vt_vtpm_event_logs_read(const char *fw_path, const char *aa_path, vt_buf *cc_eventlog,
                                           char **aa_text, vt_error *err);

/* What CoCo's attestation agent does for a runtime event on a vTPM (image pulls, ...): extend PCR
 * pcr with the SHA-256 of the EV_EVENT_TAG data of `entry` ("<domain> <operation> <content>",
 * one line) and append the record to the TCG2 log at log_path (created with the agent's
 * zero-signature header, SHA-256). Errors: VT_E_ARG, the TPM's. */
VT_MUST_USE vt_err vt_vtpm_aael_extend(const char *tcti, const char *log_path, unsigned pcr, const char *entry,
                                       vt_error *err);

VT_END_DECLS

#endif
