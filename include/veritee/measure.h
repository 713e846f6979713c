/* Expected launch measurements computed from the launch inputs alone (reference values):
 * SEV-SNP / SEV-ES / SEV launch digests, TDX MRTD, Arm CCA RIM (specs/measurements.md). */
#ifndef VERITEE_MEASURE_H
#define VERITEE_MEASURE_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/crypto.h"
#include "veritee/err.h"
#include "veritee/reader.h"

VT_BEGIN_DECLS

#define VT_MEASURE_PAGE 4096u

/* ---------------------------------------------------------------------------------------
 * OVMF firmware: GUIDed footer table and SEV metadata (measurements.md §1.4). Pure parse of
 * untrusted bytes; the parsed struct borrows nothing.
 * ------------------------------------------------------------------------------------- */

/* SEV metadata section types (OvmfSevMetadata.asm). */
enum {
    VT_OVMF_SNP_SEC_MEM = 1,
    VT_OVMF_SNP_SECRETS = 2,
    VT_OVMF_CPUID = 3,
    VT_OVMF_SVSM_CAA = 4,
    VT_OVMF_SNP_KERNEL_HASHES = 0x10,
};

#define VT_OVMF_MAX_SECTIONS 64
#define VT_OVMF_MAX_ENTRIES 64

typedef struct vt_ovmf_section {
    uint32_t gpa;
    uint32_t size;
    uint32_t type;
} vt_ovmf_section;

/* One entry of the footer table: a GUID and where its data lies in the image. */
typedef struct vt_ovmf_entry {
    uint8_t guid[16]; /* as stored (EFI mixed-endian) */
    size_t off;       /* offset of the entry data in the image */
    size_t len;       /* data length (entry length minus the 18-byte trailer) */
} vt_ovmf_entry;

typedef struct vt_ovmf {
    size_t image_len;
    uint64_t gpa; /* 4 GiB - image_len: where QEMU maps the image */
    bool has_table;
    size_t n_entries;
    vt_ovmf_entry entries[VT_OVMF_MAX_ENTRIES];
    bool has_sev_metadata;
    size_t n_sections;
    vt_ovmf_section sections[VT_OVMF_MAX_SECTIONS];
    bool has_reset_eip;
    uint32_t reset_eip; /* SEV-ES reset block: AP start address */
    bool has_hash_table;
    uint32_t hash_table_gpa; /* 0 when the firmware has none */
} vt_ovmf;

/* Parse an OVMF image (the exact bytes given to -bios). A missing footer table is not an
 * error (has_table = false); a malformed one, or malformed SEV metadata, is VT_E_INVALID.
 * The image must be a non-zero multiple of 4 KiB and at most 4 GiB. */
VT_MUST_USE vt_err vt_ovmf_parse(const uint8_t *image, size_t len, vt_ovmf *out, vt_error *err);
/* Find a footer-table entry by GUID text ("96b582de-1fb2-45f7-baea-a366c55a082d"). */
const vt_ovmf_entry *vt_ovmf_find(const vt_ovmf *o, const char *guid_text);
/* EFI mixed-endian bytes of a GUID in text form; VT_E_ARG when malformed. */
VT_MUST_USE vt_err vt_guid_parse(const char *text, uint8_t out[16], vt_error *err);

/* ---------------------------------------------------------------------------------------
 * SEV-SNP launch digest (measurements.md §1) and SEV / SEV-ES (§1.8).
 * ------------------------------------------------------------------------------------- */

typedef enum vt_snp_vmm {
    VT_SNP_VMM_QEMU = 0,
    VT_SNP_VMM_EC2 = 1,
    VT_SNP_VMM_GCE = 2,
} vt_snp_vmm;

/* The kernel-hashes table inputs: SHA-256 of kernel, initrd (empty when absent) and command
 * line with its NUL (a single 0 byte when absent). */
typedef struct vt_sev_hashes {
    uint8_t cmdline[32];
    uint8_t initrd[32];
    uint8_t kernel[32];
} vt_sev_hashes;

/* Compute the table inputs from the bytes QEMU would load. initrd may be NULL (hashed as
 * empty); cmdline may be NULL (hashed as the single byte 0). */
VT_MUST_USE vt_err vt_sev_hashes_compute(const uint8_t *kernel, size_t kernel_len, const uint8_t *initrd,
                             size_t initrd_len, const char *cmdline, vt_sev_hashes *out,
                             vt_error *err);
/* The 168-byte table padded to 176 bytes, exactly as QEMU writes it. */
#define VT_SEV_HASH_TABLE_PADDED 176u
void vt_sev_hashes_table(const vt_sev_hashes *h, uint8_t out[VT_SEV_HASH_TABLE_PADDED]);

typedef struct vt_snp_launch {
    const uint8_t *firmware; /* the whole OVMF image (required: its tables drive the rest) */
    size_t firmware_len;
    const uint8_t *ovmf_hash; /* optional 48 bytes: LD after the firmware pages (skips them) */
    uint32_t vcpus;           /* >= 1 (SNP, SEV-ES) */
    uint32_t vcpu_sig;        /* CPUID(1).EAX of the vCPU model */
    uint64_t guest_features;  /* SEV_FEATURES of the VMSAs (SNP; SEV-ES uses 0) */
    vt_snp_vmm vmm;
    const vt_sev_hashes *hashes; /* NULL: no -kernel (kernel-hashes off) */
} vt_snp_launch;

/* SNP: MEASUREMENT as the PSP computes it over the QEMU/EC2/GCE launch sequence. Fails
 * with VT_E_INVALID when kernel hashes are asked for but the firmware has no
 * SNP_KERNEL_HASHES section, or when the firmware lacks the SEV-ES reset block. */
VT_MUST_USE vt_err vt_measure_snp(const vt_snp_launch *p, uint8_t out[48], vt_error *err);
/* SNP: the LD after the firmware pages only ("OVMF hash"). */
VT_MUST_USE vt_err vt_measure_snp_ovmf_hash(const uint8_t *firmware, size_t len, uint8_t out[48],
                                vt_error *err);
/* SEV-ES: SHA-256(firmware || padded hash table if kernel || VMSAs with features 0). */
VT_MUST_USE vt_err vt_measure_seves(const vt_snp_launch *p, uint8_t out[32], vt_error *err);
/* SEV: SHA-256(firmware || padded hash table if kernel). */
VT_MUST_USE vt_err vt_measure_sev(const vt_snp_launch *p, uint8_t out[32], vt_error *err);

/* The initial VMSA page of one vCPU (eip 0xFFFFFFF0 for the BSP, the reset EIP for APs). */
void vt_snp_vmsa_page(uint32_t eip, uint64_t sev_features, uint32_t vcpu_sig, vt_snp_vmm vmm,
                      uint8_t page[VT_MEASURE_PAGE]);
/* CPUID signature of a QEMU -cpu model name (EPYC, EPYC-v4, EPYC-Rome, EPYC-Milan,
 * EPYC-Genoa, EPYC-Turin and their -vN aliases); VT_E_ARG for an unknown name. */
VT_MUST_USE vt_err vt_snp_vcpu_sig(const char *model, uint32_t *sig, vt_error *err);
/* CPUID signature from family, model, stepping. */
uint32_t vt_snp_cpu_sig(uint32_t family, uint32_t model, uint32_t stepping);
/* "qemu" | "ec2" | "gce" */
VT_MUST_USE vt_err vt_snp_vmm_parse(const char *name, vt_snp_vmm *out, vt_error *err);
const char *vt_snp_vmm_name(vt_snp_vmm v);

/* ---------------------------------------------------------------------------------------
 * SNP ID block and ID authentication information (SNP ABI spec, SNP_LAUNCH_FINISH).
 * ------------------------------------------------------------------------------------- */

#define VT_SNP_ID_BLOCK_LEN 0x60u
#define VT_SNP_ID_AUTH_LEN 0x1000u
#define VT_SNP_PUBKEY_LEN 0x404u

typedef struct vt_snp_id_block_in {
    uint8_t ld[48];
    uint8_t family_id[16];
    uint8_t image_id[16];
    uint32_t guest_svn;
    uint64_t policy;
} vt_snp_id_block_in;

typedef struct vt_snp_id_block_out {
    uint8_t id_block[VT_SNP_ID_BLOCK_LEN];
    uint8_t id_auth[VT_SNP_ID_AUTH_LEN];
    uint8_t id_key_digest[48];     /* SHA-384 of the 0x404-byte ID public key */
    uint8_t author_key_digest[48]; /* zero when no author key */
    bool has_author_key;
} vt_snp_id_block_out;

/* Build and sign the ID block with id_key (EC P-384 private key) and, when author_key is
 * non-NULL, sign the ID public key with it. ECDSA P-384/SHA-384 via OpenSSL EVP. */
VT_MUST_USE vt_err vt_snp_id_block_build(const vt_snp_id_block_in *in, EVP_PKEY *id_key,
                             EVP_PKEY *author_key, vt_snp_id_block_out *out, vt_error *err);
/* The 0x404-byte SNP public key encoding (curve 2, Qx, Qy little-endian, 72 bytes each). */
VT_MUST_USE vt_err vt_snp_pubkey_encode(EVP_PKEY *key, uint8_t out[VT_SNP_PUBKEY_LEN], vt_error *err);

/* ---------------------------------------------------------------------------------------
 * TDX: TDVF metadata and MRTD (measurements.md §2.1-2.2).
 * ------------------------------------------------------------------------------------- */

enum {
    VT_TDVF_BFV = 0,
    VT_TDVF_CFV = 1,
    VT_TDVF_TD_HOB = 2,
    VT_TDVF_TEMP_MEM = 3,
};
#define VT_TDVF_ATTR_MR_EXTEND 0x1u
#define VT_TDVF_ATTR_PAGE_AUG 0x2u
#define VT_TDVF_MAX_SECTIONS 32
/* Upper bound on pages a TDVF may ask to add (16 GiB), so hostile metadata cannot make
 * the measurement run unbounded. */
#define VT_TDVF_MAX_PAGES (4u << 20)

typedef struct vt_tdvf_section {
    uint32_t data_offset;
    uint32_t raw_size;
    uint64_t gpa;
    uint64_t mem_size;
    uint32_t type;
    uint32_t attributes;
} vt_tdvf_section;

typedef struct vt_tdvf {
    size_t image_len;
    size_t n_sections;
    vt_tdvf_section sections[VT_TDVF_MAX_SECTIONS];
} vt_tdvf;

/* Parse the TDVF descriptor found through the OVMF footer table. Every section is checked
 * (alignment, sizes, data inside the image, no GPA wrap, types 0-3 as QEMU accepts). */
VT_MUST_USE vt_err vt_tdvf_parse(const uint8_t *image, size_t len, vt_tdvf *out, vt_error *err);

typedef enum vt_tdx_page_order {
    VT_TDX_ORDER_SINGLE = 0,   /* per page: PAGE.ADD then its MR.EXTENDs (upstream KVM) */
    VT_TDX_ORDER_TWO_PASS = 1, /* per section: all PAGE.ADDs, then all MR.EXTENDs */
} vt_tdx_page_order;

/* MRTD = SHA-384 over the TDH.MEM.PAGE.ADD / TDH.MR.EXTEND records for the image. */
VT_MUST_USE vt_err vt_measure_tdx_mrtd(const uint8_t *image, size_t len, const vt_tdvf *tdvf,
                           vt_tdx_page_order order, uint8_t out[48], vt_error *err);
/* RTMR extend: rtmr = SHA-384(rtmr || digest). */
VT_MUST_USE vt_err vt_measure_tdx_rtmr_extend(uint8_t rtmr[48], const uint8_t digest[48], vt_error *err);

/* ---------------------------------------------------------------------------------------
 * Arm CCA: Realm Initial Measurement (measurements.md §3, RMM spec 1.0-rel0 B4.3 / C1).
 * ------------------------------------------------------------------------------------- */

typedef enum vt_cca_rmm_version {
    VT_CCA_RMM_1_0 = 10, /* RMM 1.0-rel0: INIT_RIPAS measured; SHA-256 / SHA-512 */
    VT_CCA_RMM_2_0 = 20, /* RMM 2.0 (per the notes): INIT_RIPAS not measured; + SHA-384 */
} vt_cca_rmm_version;

typedef struct vt_cca_realm_params {
    vt_hash_alg alg;       /* VT_SHA256, VT_SHA512 (VT_SHA384 in RMM 2.0 only) */
    uint32_t ipa_bits;     /* s2sz */
    bool lpa2;
    uint32_t sve_vl;       /* SVE vector length in bits (0: SVE off); multiple of 128 */
    bool pmu;
    uint32_t pmu_num_ctrs; /* measured as given (0 without PMU) */
    uint32_t num_bps;      /* number of breakpoints (>= 2; measured as num_bps - 1) */
    uint32_t num_wps;      /* number of watchpoints (>= 2; measured as num_wps - 1) */
} vt_cca_realm_params;

/* The running RIM of a realm being built. */
typedef struct vt_cca_rim {
    vt_cca_rmm_version rmm;
    vt_hash_alg alg;
    uint32_t ipa_bits;
    uint64_t block_sizes; /* RTT block sizes (bit mask) for INIT_RIPAS walks */
    uint8_t rim[64];      /* digest, zero-padded to 64 bytes */
} vt_cca_rim;

/* The 4096-byte RmiRealmParams image that RMI_REALM_CREATE measures. */
VT_MUST_USE vt_err vt_cca_realm_params_bytes(const vt_cca_realm_params *p, uint8_t out[VT_MEASURE_PAGE],
                                 vt_error *err);
/* RMI_REALM_CREATE: RIM = H(measured RmiRealmParams). */
VT_MUST_USE vt_err vt_cca_rim_init(vt_cca_rim *st, vt_cca_rmm_version rmm, const vt_cca_realm_params *p,
                       vt_error *err);
/* RMI_RTT_INIT_RIPAS over [base, top), granule aligned: one descriptor per RTT entry (largest
 * aligned block that fits). A no-op under RMM 2.0. */
VT_MUST_USE vt_err vt_cca_rim_init_ripas(vt_cca_rim *st, uint64_t base, uint64_t top, vt_error *err);
/* RMI_DATA_CREATE of a blob loaded at ipa: the blob is placed in granules (zero-filled before
 * ipa within its granule and after its end) and each granule is measured in ascending IPA.
 * measure_content=false records the granules with flags 0 and zero content. */
VT_MUST_USE vt_err vt_cca_rim_data(vt_cca_rim *st, uint64_t ipa, const uint8_t *data, size_t len,
                       bool measure_content, vt_error *err);
/* RMI_REC_CREATE: measure one REC with flags.RUNNABLE, pc and x0-x7 (MPIDR and auxiliary
 * granules are not measured). Call it for every REC the RMM measures, in creation order;
 * the veraison realm-VM convention creates only the boot REC before activation. */
VT_MUST_USE vt_err vt_cca_rim_rec(vt_cca_rim *st, bool runnable, uint64_t pc, const uint64_t gprs[8],
                      vt_error *err);
/* A blob the VMM loads into the realm; its IPA comes from the realm config's "<name>_ipa". */
typedef struct vt_cca_blob {
    const char *name; /* "kernel", "initrd", "dtb" */
    const char *path; /* for the inputs description only (may be NULL) */
    const uint8_t *data;
    size_t len;
    uint64_t ipa;     /* filled from the config */
} vt_cca_blob;

/* The RIM of a realm config (JSON object, keys in docs/measure.md) and its blobs, in the
 * veraison realm-VM order; inputs (may be NULL) receives a description of what was measured.
 * Unknown keys, bad numbers and overlapping blobs fail with VT_E_INVALID naming them. */
VT_MUST_USE vt_err vt_cca_rim_from_config(const json_t *cfg, vt_cca_blob *blobs, size_t nb, vt_cca_rim *st, json_t *inputs,
                              vt_error *err);

/* Digest length of the realm's algorithm (32, 48 or 64). */
size_t vt_cca_rim_len(const vt_cca_rim *st);
/* RTT block sizes available for an IPA width (4 KiB granule, concatenated start level when
 * the start table has <= 16 entries, as KVM configures it). */
uint64_t vt_cca_block_sizes(uint32_t ipa_bits);

VT_END_DECLS

#endif
