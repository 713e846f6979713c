/* The emulated TEE: a test PKI per TEE that mirrors the vendor's, collateral in the real
 * layouts, and evidence in exactly the real formats, signed by the emulated keys. Its roots
 * are never trusted by default: a verifier accepts emulated evidence only when given the
 * emulator's trust directory, and the claims then say `emulated`. See docs/emulate.md. */
#ifndef VERITEE_EMULATE_H
#define VERITEE_EMULATE_H

#include <jansson.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/codec.h"
#include "veritee/err.h"
#include "veritee/vtime.h"
#include "veritee/x509.h"

VT_BEGIN_DECLS

/* Subject organisation of every emulated root and CA: how a verifier recognises it. */
#define VT_EMU_ORGANIZATION VT_EMULATED_ORGANIZATION

typedef struct vt_emu vt_emu;

/* Create DIR (platform.json, keys/, trust/, collateral/) from a platform description (JSON
 * text; NULL = the built-in default), with certificates and collateral valid around `at`. */
VT_MUST_USE vt_err vt_emu_init(const char *dir, const char *platform_json, vt_time at, vt_error *err);

/* Open an emulator directory made by vt_emu_init. */
VT_MUST_USE vt_err vt_emu_open(const char *dir, vt_emu **out, vt_error *err);
void vt_emu_free(vt_emu *e);
/* The platform description (borrowed). */
const json_t *vt_emu_platform(const vt_emu *e);
const char *vt_emu_dir(const vt_emu *e);

/* A TDX quote (version 4 or 5; 0 = the platform's "quote_version") over report_data. */
VT_MUST_USE vt_err vt_emu_tdx_quote(vt_emu *e, const uint8_t report_data[64], int version, vt_buf *out, vt_error *err);

/* SEV-SNP evidence options (zero = the platform description's values). */
typedef struct vt_emu_snp_opts {
    int version;          /* report version 2, 3 or 5; 0: "report_version" (default 5) */
    bool has_vmpl;        /* request this VMPL instead of the platform's "vmpl" */
    uint32_t vmpl;
    bool with_certtable;  /* append the extended-report certificate table (VCEK, ASK, ARK) */
    bool with_crl;        /* ... with the ARK's CRL as a fourth entry */
} vt_emu_snp_opts;

/* An SNP ATTESTATION_REPORT (1184 bytes) over report_data, signed by the emulated VCEK;
 * followed by the certificate table when o->with_certtable (the form `snpguest report
 * --extended` writes and vt_snp_evidence_split reads). o may be NULL. */
VT_MUST_USE vt_err vt_emu_snp_report(vt_emu *e, const uint8_t report_data[64], const vt_emu_snp_opts *o, vt_buf *out,
                         vt_error *err);
/* The certificate table alone, as SNP_GET_EXT_REPORT and the configfs-tsm auxblob give it:
 * 24-byte {GUID, offset, length} entries (VCEK, ASK, ARK[, CRL]), an all-zero entry, the DER blobs. */
VT_MUST_USE vt_err vt_emu_snp_certtable(vt_emu *e, bool with_crl, vt_buf *out, vt_error *err);

/* Arm CCA evidence options (zero = the platform description's values). */
typedef struct vt_emu_cca_opts {
    int tag;              /* 399 (legacy collection) or 907 (CMW); 0: "token_tag" (default 399) */
    const char *realm;    /* realm name: selects the RAK and "realms".<name> overrides; NULL: "realm0" */
    bool create_realm;    /* a realm that is neither "realm0", nor in "realms", nor has a RAK yet is
                           * refused (VT_E_MISSING: a mistyped name) unless this asks to create it */
} vt_emu_cca_opts;

/* A CCA attestation token: platform token (signed by the CPAK) and realm token (signed by the
 * realm's RAK, generated on first use), both COSE_Sign1 ES384, in a tag-399 or tag-907
 * collection. The realm challenge is `challenge`; the platform challenge is the hash of the
 * RAK claim. o may be NULL. */
VT_MUST_USE vt_err vt_emu_cca_token(vt_emu *e, const uint8_t challenge[64], const vt_emu_cca_opts *o, vt_buf *out,
                        vt_error *err);

/* Azure confidential VM (paravisor + vTPM) evidence around the emulated SNP or TDX platform. */
typedef enum vt_emu_az_kind {
    VT_EMU_AZ_SNP = 1, /* az-snp-vtpm */
    VT_EMU_AZ_TDX = 2, /* az-tdx-vtpm */
} vt_emu_az_kind;

typedef struct vt_emu_az_opts {
    const uint8_t *init_data_hash; /* 32 bytes: PCR8 = SHA-256(32 zero bytes || it); NULL: PCR8 zero */
    const char *const *aael;       /* AAEL entries "<domain> <operation> <content>", extended into
                                      PCR 23 and sent as cc_eventlog (the attestation agent's log) */
    size_t n_aael;
} vt_emu_az_opts;

/* The evidence JSON (version 2) the CoCo attester posts from an Azure CVM: a runtime-claims JSON
 * with the vTPM attestation key (RSA-2048, generated on first use, DIR/keys/az_ak.key.pem) and the
 * nonce as user-data, an HCL report around the emulated SNP report / TDREPORT whose report data
 * is the claims' SHA-256, the TD quote (TDX), the VCEK (SNP), and a TPM quote by the AK over
 * PCRs 0..23 with the nonce (at most 50 bytes, the Azure vTPM's limit) as qualifying data. */
VT_MUST_USE vt_err vt_emu_az_evidence(vt_emu *e, vt_emu_az_kind kind, const uint8_t *nonce, size_t nonce_len,
                          const vt_emu_az_opts *o, vt_buf *out, vt_error *err);

/* The emulated Azure CVM backed by a real TPM (swtpm in the tests; docs/azure.md): does to the
 * TPM at tcti what Azure's paravisor does at boot. Creates the AK (restricted RSA-2048,
 * RSASSA-SHA256) persistent at 0x81000003; writes a 2048-byte HCL report into NV 0x01400001
 * whose runtime claims hold that AK and whose emulated SNP report (or TDREPORT, with its TD
 * quote) carries their SHA-256; extends PCR 0..7 with firmware events logged in
 * out_dir/binary_bios_measurements, PCR 8 with the init-data hash when given, and PCR 23 with
 * each AAEL entry (out_dir/aa_eventlog, the attestation agent's TCG2 log); and writes what
 * Azure IMDS would answer: out_dir/vcek.der (SNP) or out_dir/td_quote.bin (TDX). Then
 * `veritee evidence get --tee az-snp-vtpm --tcti ... --imds-dir out_dir` collects as on Azure. */
typedef struct vt_emu_az_cvm_opts {
    const char *tcti;              /* the TPM (tpm2-tss TCTI string) */
    const char *out_dir;           /* existing directory for the logs and the IMDS answers */
    const uint8_t *init_data_hash; /* 32 bytes extended into PCR 8, or NULL */
    const char *const *aael;
    size_t n_aael;
} vt_emu_az_cvm_opts;

VT_MUST_USE vt_err vt_emu_az_cvm_provision(vt_emu *e, vt_emu_az_kind kind, const vt_emu_az_cvm_opts *o, vt_error *err);

/* Emulated NVIDIA GPUs (Hopper format; only when the platform description has an "nvidia"
 * section: {"gpus": 1..8, "driver_version", "vbios_version", "nvdec0_enabled"}): Trustee's
 * {"device_evidence_list":[...]} JSON with one SPDM report per GPU over `nonce`, signed by the
 * GPU's emulated FMC leaf; the device root is trust/nvidia/nvidia_device_root.pem. */
VT_MUST_USE vt_err vt_emu_nvidia_evidence(vt_emu *e, const uint8_t nonce[32], vt_buf *out, vt_error *err);

/* The default platform description (owned JSON). */
json_t *vt_emu_default_platform(void);

VT_END_DECLS

#endif
