/* AMD SEV-SNP attestation: the ATTESTATION_REPORT (SEV-SNP Firmware ABI spec 56860, "Attestation
 * Report" table; TCB_VERSION, GUEST_POLICY, PLATFORM_INFO), the extended-report certificate
 * table (GHCB spec 56421, MSG_REPORT_REQ), the VCEK/VLEK certificate extensions (AMD VCEK spec
 * 57230) and verification down to the AMD Root Key (ARK).
 *
 * Parse first (pure, no crypto), then verify with a vt_snp_verifier: a context holding the
 * trust anchors (pinned ARK fingerprints or ARK certificates), candidate certificates, CRLs and
 * a cache of verified certificate chains, so that verifying a report whose chain is cached costs
 * one ECDSA P-384 verification. */
#ifndef VERITEE_SNP_H
#define VERITEE_SNP_H

#include <jansson.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/checks.h"
#include "veritee/err.h"
#include "veritee/reader.h"
#include "veritee/vtime.h"

VT_BEGIN_DECLS

#define VT_SNP_REPORT_SIZE 0x4A0u   /* 1184 bytes */
#define VT_SNP_SIGNED_SIZE 0x2A0u   /* the signature covers bytes 0x000..0x29F */
#define VT_SNP_SIG_ALGO_ECDSA_P384_SHA384 1u
#define VT_SNP_VMPL_MAX 3u
#define VT_SNP_VERSION_MIN 2u
#define VT_SNP_VERSION_MAX 5u

/* ATTESTATION_REPORT layout (SEV-SNP Firmware ABI spec 56860, Table 23): the byte offset of
 * every field. The parser and encoder (src/snp/report.c) and the KBS serde (which reads the
 * signature bytes raw) take offsets from here only. Gaps are reserved, must be zero. */
enum vt_snp_report_offset {
    VT_SNP_OFF_VERSION = 0x000,           /* u32 */
    VT_SNP_OFF_GUEST_SVN = 0x004,         /* u32 */
    VT_SNP_OFF_POLICY = 0x008,            /* u64 */
    VT_SNP_OFF_FAMILY_ID = 0x010,         /* 16 bytes */
    VT_SNP_OFF_IMAGE_ID = 0x020,          /* 16 bytes */
    VT_SNP_OFF_VMPL = 0x030,              /* u32 */
    VT_SNP_OFF_SIGNATURE_ALGO = 0x034,    /* u32 */
    VT_SNP_OFF_CURRENT_TCB = 0x038,       /* u64 */
    VT_SNP_OFF_PLATFORM_INFO = 0x040,     /* u64 */
    VT_SNP_OFF_KEY_INFO = 0x048,          /* u32, then 4 reserved */
    VT_SNP_OFF_REPORT_DATA = 0x050,       /* 64 bytes */
    VT_SNP_OFF_MEASUREMENT = 0x090,       /* 48 bytes */
    VT_SNP_OFF_HOST_DATA = 0x0C0,         /* 32 bytes */
    VT_SNP_OFF_ID_KEY_DIGEST = 0x0E0,     /* 48 bytes */
    VT_SNP_OFF_AUTHOR_KEY_DIGEST = 0x110, /* 48 bytes */
    VT_SNP_OFF_REPORT_ID = 0x140,         /* 32 bytes */
    VT_SNP_OFF_REPORT_ID_MA = 0x160,      /* 32 bytes */
    VT_SNP_OFF_REPORTED_TCB = 0x180,      /* u64 */
    VT_SNP_OFF_CPUID_FAM_ID = 0x188,      /* u8, v3+ (reserved in v2) */
    VT_SNP_OFF_CPUID_MOD_ID = 0x189,      /* u8, v3+ */
    VT_SNP_OFF_CPUID_STEP = 0x18A,        /* u8, v3+; reserved to 0x19F */
    VT_SNP_OFF_CHIP_ID = 0x1A0,           /* 64 bytes */
    VT_SNP_OFF_COMMITTED_TCB = 0x1E0,     /* u64 */
    VT_SNP_OFF_CURRENT_VERSION = 0x1E8,   /* build, minor, major, reserved */
    VT_SNP_OFF_COMMITTED_VERSION = 0x1EC, /* build, minor, major, reserved */
    VT_SNP_OFF_LAUNCH_TCB = 0x1F0,        /* u64 */
    VT_SNP_OFF_LAUNCH_MIT_VECTOR = 0x1F8, /* u64, v5+ (reserved before) */
    VT_SNP_OFF_CURRENT_MIT_VECTOR = 0x200, /* u64, v5+; reserved to 0x29F */
    VT_SNP_OFF_SIGNATURE_R = 0x2A0,       /* 72 bytes little-endian (P-384 uses 48) */
    VT_SNP_OFF_SIGNATURE_S = 0x2E8,       /* 72 bytes little-endian; reserved 0x330..0x49F */
    VT_SNP_OFF_SIGNATURE_END = 0x330,
};
#define VT_SNP_SIG_COMPONENT_SIZE 72u /* each of r and s in the report */

/* ---- products and field decoders ------------------------------------------------------- */

typedef enum vt_snp_product {
    VT_SNP_PRODUCT_UNKNOWN = 0,
    VT_SNP_MILAN = 1, /* EPYC 7003, family 19h model 0xh */
    VT_SNP_GENOA = 2, /* EPYC 9004/8004 (Genoa, Bergamo, Siena), family 19h model 1xh / Axh */
    VT_SNP_TURIN = 3, /* EPYC 9005, family 1Ah */
} vt_snp_product;

/* "Milan", "Genoa", "Turin" (the AMD KDS product names), "unknown". */
const char *vt_snp_product_name(vt_snp_product p);
/* Case-insensitive "milan" / "genoa" / "turin"; VT_E_ARG otherwise. */
VT_MUST_USE vt_err vt_snp_product_parse(const char *s, vt_snp_product *out, vt_error *err);
/* Product of a CPUID family/model as the report carries them (v3+); UNKNOWN when not an SNP part
 * we know. Siena (19h/A0h) maps to Genoa, as AMD KDS serves it. */
vt_snp_product vt_snp_product_from_cpuid(uint8_t family, uint8_t model);

/* TCB_VERSION, decoded per product: Milan/Genoa = BL byte 0, TEE byte 1, SNP byte 6, microcode
 * byte 7; Turin = FMC byte 0, BL byte 1, TEE byte 2, SNP byte 3, microcode byte 7. */
typedef struct vt_snp_tcb {
    uint64_t raw;       /* the 8 bytes as a little-endian integer */
    bool has_fmc;       /* Turin layout */
    uint8_t fmc;
    uint8_t boot_loader;
    uint8_t tee;
    uint8_t snp;
    uint8_t microcode;
} vt_snp_tcb;
void vt_snp_tcb_decode(uint64_t raw, vt_snp_product p, vt_snp_tcb *out);
/* The raw value of the named fields in product p's layout (reserved bytes zero). */
uint64_t vt_snp_tcb_encode(const vt_snp_tcb *t, vt_snp_product p);

/* GUEST_POLICY: bits 7:0 ABI minor, 15:8 ABI major, 16 SMT, 17 reserved (must be 1),
 * 18 MIGRATE_MA, 19 DEBUG, 20 SINGLE_SOCKET, 21 CXL_ALLOW, 22 MEM_AES_256_XTS, 23 RAPL_DIS,
 * 24 CIPHERTEXT_HIDING, 25 PAGE_SWAP_DISABLE, 63:26 reserved (must be zero). */
typedef struct vt_snp_policy {
    uint64_t raw;
    uint8_t abi_minor;
    uint8_t abi_major;
    bool smt;
    bool migrate_ma;
    bool debug;
    bool single_socket;
    bool cxl_allow;
    bool mem_aes_256_xts;
    bool rapl_dis;
    bool ciphertext_hiding;
    bool page_swap_disable;
} vt_snp_policy;
/* VT_E_INVALID when bit 17 is clear or a bit in 63:26 is set. */
VT_MUST_USE vt_err vt_snp_policy_decode(uint64_t raw, vt_snp_policy *out, vt_error *err);

/* PLATFORM_INFO: bit 0 SMT_EN, 1 TSME_EN, 2 ECC_EN, 3 RAPL_DIS, 4 CIPHERTEXT_HIDING_EN,
 * 5 ALIAS_CHECK_COMPLETE, 7 SEV_TIO_EN. Other bits are kept in other_bits and not rejected:
 * the platform reports them and newer firmware defines more (real Turin reports set bit 6). */
typedef struct vt_snp_platform_info {
    uint64_t raw;
    bool smt_en;
    bool tsme_en;
    bool ecc_en;
    bool rapl_dis;
    bool ciphertext_hiding_en;
    bool alias_check_complete;
    bool tio_en;
    uint64_t other_bits;
} vt_snp_platform_info;
void vt_snp_platform_info_decode(uint64_t raw, vt_snp_platform_info *out);

typedef enum vt_snp_signing_key {
    VT_SNP_KEY_VCEK = 0,
    VT_SNP_KEY_VLEK = 1,
    VT_SNP_KEY_NONE = 7, /* the report is not signed */
} vt_snp_signing_key;
const char *vt_snp_signing_key_name(vt_snp_signing_key k); /* "vcek", "vlek", "none" */

typedef struct vt_snp_fw_version {
    uint8_t major;
    uint8_t minor;
    uint8_t build;
} vt_snp_fw_version;

/* ---- the report ------------------------------------------------------------------------ */

/* A faithful copy of ATTESTATION_REPORT (versions 2..5). TCB values are raw: their layout
 * depends on the product (vt_snp_tcb_decode). */
typedef struct vt_snp_report {
    uint32_t version;                 /* 0x000 */
    uint32_t guest_svn;               /* 0x004 */
    vt_snp_policy policy;             /* 0x008 */
    uint8_t family_id[16];            /* 0x010 */
    uint8_t image_id[16];             /* 0x020 */
    uint32_t vmpl;                    /* 0x030 */
    uint32_t signature_algo;          /* 0x034 */
    uint64_t current_tcb;             /* 0x038 */
    vt_snp_platform_info platform_info; /* 0x040 */
    uint32_t key_info;                /* 0x048: bit 0 AUTHOR_KEY_EN, 1 MASK_CHIP_KEY, 4:2 SIGNING_KEY */
    bool author_key_en;
    bool mask_chip_key;
    vt_snp_signing_key signing_key;
    uint8_t report_data[64];          /* 0x050 */
    uint8_t measurement[48];          /* 0x090 */
    uint8_t host_data[32];            /* 0x0C0 */
    uint8_t id_key_digest[48];        /* 0x0E0 */
    uint8_t author_key_digest[48];    /* 0x110 */
    uint8_t report_id[32];            /* 0x140 */
    uint8_t report_id_ma[32];         /* 0x160 */
    uint64_t reported_tcb;            /* 0x180 */
    bool has_cpuid;                   /* v3+: 0x188 family, 0x189 model, 0x18A stepping */
    uint8_t cpuid_fam_id;
    uint8_t cpuid_mod_id;
    uint8_t cpuid_step;
    uint8_t chip_id[64];              /* 0x1A0 */
    uint64_t committed_tcb;           /* 0x1E0 */
    vt_snp_fw_version current_version;   /* 0x1E8 build, minor, major */
    vt_snp_fw_version committed_version; /* 0x1EC */
    uint64_t launch_tcb;              /* 0x1F0 */
    bool has_mit_vectors;             /* v5+: 0x1F8 launch, 0x200 current */
    uint64_t launch_mit_vector;
    uint64_t current_mit_vector;
    uint8_t sig_r[48];                /* 0x2A0, converted to big-endian */
    uint8_t sig_s[48];                /* 0x2E8, converted to big-endian */
} vt_snp_report;

/* Parse exactly VT_SNP_REPORT_SIZE bytes (a longer input is VT_E_INVALID; see
 * vt_snp_evidence_split for a report followed by a certificate table). Checks every reserved
 * range the spec marks must-be-zero (for the report's version), the policy reserved bits, the
 * KEY_INFO reserved bits and SIGNING_KEY values, and, for ECDSA P-384, that r and s are
 * zero-padded 72-byte values. Errors: VT_E_INVALID, VT_E_UNSUPPORTED (version outside 2..5). */
VT_MUST_USE vt_err vt_snp_report_parse(const uint8_t *p, size_t len, vt_snp_report *out, vt_error *err);
/* The inverse of vt_snp_report_parse: lay out r's fields (raw policy, platform info and
 * KEY_INFO; CPUID bytes when has_cpuid, mitigation vectors when has_mit_vectors; r and s from
 * their big-endian form into 72-byte little-endian) with every reserved byte zero. Errors:
 * VT_E_INTERNAL only (the layout does not fit, a bug). */
VT_MUST_USE vt_err vt_snp_report_encode(const vt_snp_report *r, uint8_t out[VT_SNP_REPORT_SIZE], vt_error *err);

/* ---- extended report certificate table ----------------------------------------------------- */

typedef enum vt_snp_cert_kind {
    VT_SNP_CERT_OTHER = 0,
    VT_SNP_CERT_VCEK,
    VT_SNP_CERT_VLEK,
    VT_SNP_CERT_ASK, /* the ASK GUID also carries the ASVK */
    VT_SNP_CERT_ARK,
    VT_SNP_CERT_CRL,
} vt_snp_cert_kind;
const char *vt_snp_cert_kind_name(vt_snp_cert_kind k);
/* The certificate-table GUID of a kind (GHCB spec 56421, MSG_REPORT_REQ), 16 bytes in RFC 4122
 * byte order as written in the table; NULL for VT_SNP_CERT_OTHER. */
const uint8_t *vt_snp_cert_guid(vt_snp_cert_kind k);

#define VT_SNP_CERTTABLE_MAX 16

typedef struct vt_snp_cert_entry {
    uint8_t guid[16];     /* RFC 4122 byte order, as the GUID is written */
    vt_snp_cert_kind kind;
    vt_bytes data;        /* borrowed view into the table */
} vt_snp_cert_entry;

typedef struct vt_snp_certtable {
    vt_snp_cert_entry entries[VT_SNP_CERTTABLE_MAX];
    size_t n;
} vt_snp_certtable;

/* Parse a certificate table: 24-byte entries {GUID, u32 offset, u32 length} ending with an
 * all-zero entry, offsets relative to the table start. Every blob must lie after the entries
 * and inside the table; a GUID may appear once. An empty input is an empty table. The entries
 * borrow from p. Errors: VT_E_INVALID. */
VT_MUST_USE vt_err vt_snp_certtable_parse(const uint8_t *p, size_t len, vt_snp_certtable *out, vt_error *err);
/* Split evidence into the report and an optional certificate table that follows it (the form
 * `snpguest report --extended` / go-sev-guest produce). */
VT_MUST_USE vt_err vt_snp_evidence_split(const uint8_t *p, size_t len, vt_bytes *report, vt_bytes *certtable,
                             vt_error *err);

/* ---- VCEK / VLEK certificates --------------------------------------------------------------- */

/* AMD VCEK/VLEK certificate extensions (AMD spec 57230, "VCEK Certificate Extensions"). */
#define VT_SNP_OID_ARC "1.3.6.1.4.1.3704.1."
#define VT_SNP_OID_STRUCT_VERSION VT_SNP_OID_ARC "1"
#define VT_SNP_OID_PRODUCT_NAME VT_SNP_OID_ARC "2"
#define VT_SNP_OID_BL_SPL VT_SNP_OID_ARC "3.1"
#define VT_SNP_OID_TEE_SPL VT_SNP_OID_ARC "3.2"
#define VT_SNP_OID_SNP_SPL VT_SNP_OID_ARC "3.3"
#define VT_SNP_OID_UCODE_SPL VT_SNP_OID_ARC "3.8"
#define VT_SNP_OID_FMC_SPL VT_SNP_OID_ARC "3.9"
#define VT_SNP_OID_HWID VT_SNP_OID_ARC "4"
#define VT_SNP_OID_CSP_ID VT_SNP_OID_ARC "5"

/* AMD VCEK/VLEK extensions (OID arc 1.3.6.1.4.1.3704.1). */
typedef struct vt_snp_cert_ext {
    bool has_struct_version;
    uint64_t struct_version;   /* .1 */
    char product_name[32];     /* .2, e.g. "Milan-B0" (empty when absent) */
    bool has_bl, has_tee, has_snp, has_ucode, has_fmc;
    uint8_t bl_spl;            /* .3.1 */
    uint8_t tee_spl;           /* .3.2 */
    uint8_t snp_spl;           /* .3.3 */
    uint8_t ucode_spl;         /* .3.8 */
    uint8_t fmc_spl;           /* .3.9 (Turin) */
    size_t hwid_len;           /* .4: 0 when absent (VLEK), 8 (Turin) or 64 */
    uint8_t hwid[64];
    char csp_id[96];           /* .5 (VLEK), e.g. "CN=cc-us-east-2.amazonaws.com" */
} vt_snp_cert_ext;

/* Read the AMD extensions of a VCEK or VLEK. The hwID may be the raw bytes or a DER OCTET STRING
 * holding them; SPL values are DER INTEGERs 0..255. Errors: VT_E_INVALID. */
VT_MUST_USE vt_err vt_snp_cert_ext_parse(const X509 *leaf, vt_snp_cert_ext *out, vt_error *err);

/* SHA-256 of the DER of the AMD Root Keys veritee trusts by default (pinned). */
typedef struct vt_snp_ark_pin {
    vt_snp_product product;
    uint8_t sha256[32];
} vt_snp_ark_pin;
/* The built-in pins; *n receives their number. */
const vt_snp_ark_pin *vt_snp_builtin_ark_pins(size_t *n);

/* ---- verification ----------------------------------------------------------------------- */

typedef struct vt_snp_verifier vt_snp_verifier;

/* A verifier trusting the built-in ARK fingerprints. Free with vt_snp_verifier_free.
 * Thread-safe: one verifier may serve several threads (its cache is locked). */
VT_MUST_USE vt_err vt_snp_verifier_new(vt_snp_verifier **out, vt_error *err);
void vt_snp_verifier_free(vt_snp_verifier *v);
/* Trust explicit ARKs instead of the built-in pins: every self-signed certificate in the PEM
 * text becomes an anchor (the first call drops the built-in pins); other certificates (ASK,
 * ASVK) join the candidate pool. Errors: VT_E_INVALID (no certificate, or one does not decode). */
VT_MUST_USE vt_err vt_snp_verifier_add_trust_pem(vt_snp_verifier *v, const void *pem, size_t len,
                                     vt_error *err);
/* The same for one certificate: a self-signed ARK becomes an anchor, anything else joins the
 * pool. Up-references cert. */
VT_MUST_USE vt_err vt_snp_verifier_add_trust_cert(vt_snp_verifier *v, X509 *cert, vt_error *err);
/* Add an untrusted candidate (ASK, ASVK, ARK) to the pool; up-references it. */
VT_MUST_USE vt_err vt_snp_verifier_add_cert(vt_snp_verifier *v, X509 *cert, vt_error *err);
/* Add an AMD KDS CRL (issued by an ARK; its signature and validity are checked on use). */
VT_MUST_USE vt_err vt_snp_verifier_add_crl(vt_snp_verifier *v, X509_CRL *crl, vt_error *err);
/* Drop the cached chains (e.g. after a trust change). */
void vt_snp_verifier_flush(vt_snp_verifier *v);
/* Number of verified chains in the cache. */
size_t vt_snp_verifier_cached(vt_snp_verifier *v);

/* Certificates supplied with one piece of evidence (all borrowed, each may be NULL). */
typedef struct vt_snp_collateral {
    X509 *leaf;                  /* the VCEK or VLEK */
    STACK_OF(X509) *certs;       /* more candidates: VCEK, VLEK, ASK, ASVK, ARK in any order */
    STACK_OF(X509_CRL) *crls;    /* CRLs from AMD KDS */
} vt_snp_collateral;

typedef struct vt_snp_verify_opts {
    vt_time at;                  /* verification instant (certificate and CRL validity) */
    vt_snp_product product;      /* UNKNOWN: from the report's CPUID, else the certificates;
                                    otherwise it must agree with the report */
    const uint8_t *report_data;  /* expected REPORT_DATA prefix (nonce); NULL: not checked */
    size_t report_data_len;      /* 1..64; bytes after it must be zero */
    bool crl_required;           /* fail with VT_E_MISSING when no CRL issued by the ARK is given
                                    (default: revocation checked only when a CRL is given) */
} vt_snp_verify_opts;

/* Normalized claims of a verified report. */
typedef struct vt_snp_claims {
    vt_snp_report report;
    vt_snp_product product;
    vt_snp_signing_key signer;   /* the kind of certificate that verified the signature */
    vt_snp_tcb current_tcb;
    vt_snp_tcb reported_tcb;
    vt_snp_tcb committed_tcb;
    vt_snp_tcb launch_tcb;
    vt_snp_cert_ext leaf_ext;    /* the leaf's AMD extensions */
    uint8_t ark_sha256[32];      /* the anchor the chain ended at */
    vt_time chain_not_before;    /* intersection of the chain's validity windows */
    vt_time chain_not_after;
    bool emulated;               /* the ARK is veritee's emulated TEE root (vt_x509_is_emulated):
                                    test evidence, not AMD hardware */
} vt_snp_claims;

/* Verify SNP evidence: a report, optionally followed by a certificate table whose certificates
 * join the candidates for this call. Fills claims (when not NULL) only on success, and checks
 * (when not NULL) with every check run, passed, failed or skipped. Errors: VT_E_INVALID
 * (malformed report), VT_E_UNSUPPORTED (version or algorithm), VT_E_MISSING (no leaf or no chain
 * to a trusted ARK available, required CRL missing), VT_E_EXPIRED, VT_E_REVOKED, VT_E_VERIFY
 * (signature, chain, binding or sanity check failed), VT_E_ARG. */
VT_MUST_USE vt_err vt_snp_verify(vt_snp_verifier *v, const uint8_t *evidence, size_t len,
                     const vt_snp_collateral *coll, const vt_snp_verify_opts *opts,
                     vt_snp_claims *claims, vt_checks *checks, vt_error *err);

/* ---- collateral from a directory ----------------------------------------------------------- */

/* Certificates and CRLs read from a directory (owned). */
typedef struct vt_snp_dir_collateral {
    STACK_OF(X509) *certs;
    STACK_OF(X509_CRL) *crls;
} vt_snp_dir_collateral;

/* Read every *.pem, *.der, *.cer, *.crt (certificates, PEM files may hold several) and *.crl
 * file (or crl.der/crl.pem) of dir, as laid out in the vector sets (vcek.der, vcek.pem,
 * vlek.der, vcek_chain.pem, ask.pem, ark.pem, cert_chain.pem ...). VT_E_MISSING when dir does not
 * exist or holds no certificate; VT_E_INVALID when a file does not decode. Free with
 * vt_snp_dir_collateral_free. dir may also be one file: a PEM chain, a certificate or a CRL. */
VT_MUST_USE vt_err vt_snp_dir_collateral_load(const char *dir, vt_snp_dir_collateral *out, vt_error *err);
void vt_snp_dir_collateral_free(vt_snp_dir_collateral *c);

/* ---- JSON ---------------------------------------------------------------------------------- */

/* Every decoded field of a report (snake_case keys; TCBs decoded for product p, raw when
 * UNKNOWN). NULL on allocation failure. */
json_t *vt_snp_report_json(const vt_snp_report *r, vt_snp_product p);
/* The normalized claims: the report fields plus product, signer and chain facts. */
json_t *vt_snp_claims_json(const vt_snp_claims *c);

VT_END_DECLS

#endif
