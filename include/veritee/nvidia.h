/* NVIDIA GPU confidential-computing attestation (Hopper, Blackwell): the SPDM 1.1
 * GET_MEASUREMENTS request + MEASUREMENTS response ("attestation report"), its NVIDIA opaque-data
 * TLVs, the device certificate chain to the pinned NVIDIA Device Identity CA, and the reference
 * integrity manifests (RIMs) the measurements are matched against.
 *
 * Parse first (pure, no crypto: vt_nvidia_report_parse), then verify with a vt_nvidia_verifier
 * built from trust anchors. Every time is an explicit parameter. See docs/nvidia.md. */
#ifndef VERITEE_NVIDIA_H
#define VERITEE_NVIDIA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/checks.h"
#include "veritee/codec.h"
#include "veritee/err.h"
#include "veritee/reader.h"
#include "veritee/vtime.h"

VT_BEGIN_DECLS

#define VT_NVIDIA_NONCE_LEN 32
#define VT_NVIDIA_REQUEST_LEN 37
#define VT_NVIDIA_SIG_LEN 96 /* ECDSA P-384 raw r||s */
#define VT_NVIDIA_FWID_LEN 48
#define VT_NVIDIA_MAX_BLOCKS 255
#define VT_NVIDIA_MAX_TLVS 40 /* distinct known ids; duplicates are rejected */
#define VT_NVIDIA_MAX_DEVICES 16
#define VT_NVIDIA_MAX_CERTS 8

typedef enum vt_nvidia_arch {
    VT_NVIDIA_ARCH_UNKNOWN = 0,
    VT_NVIDIA_HOPPER = 1,
    VT_NVIDIA_BLACKWELL = 2,
} vt_nvidia_arch;

/* "HOPPER" / "BLACKWELL" (case-insensitive) -> arch; UNKNOWN otherwise (LS10 switches too). */
vt_nvidia_arch vt_nvidia_arch_from_name(const char *s);
const char *vt_nvidia_arch_name(vt_nvidia_arch a);

/* Opaque-data TLV ids (NVIDIA's OPAQUE_FIELD_ID_*). Any other id is rejected. */
enum vt_nvidia_opaque_id {
    VT_NV_OPAQUE_CERT_ISSUER_NAME = 1,
    VT_NV_OPAQUE_CERT_AUTHORITY_KEY_IDENTIFIER = 2,
    VT_NV_OPAQUE_DRIVER_VERSION = 3,
    VT_NV_OPAQUE_GPU_INFO = 4,
    VT_NV_OPAQUE_SKU = 5,
    VT_NV_OPAQUE_VBIOS_VERSION = 6,
    VT_NV_OPAQUE_MANUFACTURER_ID = 7,
    VT_NV_OPAQUE_TAMPER_DETECTION = 8,
    VT_NV_OPAQUE_SMC = 9,
    VT_NV_OPAQUE_VPR = 10,
    VT_NV_OPAQUE_NVDEC0_STATUS = 11,
    VT_NV_OPAQUE_MSRSCNT = 12,
    VT_NV_OPAQUE_CPRINFO = 13,
    VT_NV_OPAQUE_BOARD_ID = 14,
    VT_NV_OPAQUE_CHIP_SKU = 15,
    VT_NV_OPAQUE_CHIP_SKU_MOD = 16,
    VT_NV_OPAQUE_PROJECT = 17,
    VT_NV_OPAQUE_PROJECT_SKU = 18,
    VT_NV_OPAQUE_PROJECT_SKU_MOD = 19,
    VT_NV_OPAQUE_FWID = 20,
    VT_NV_OPAQUE_PROTECTED_PCIE_STATUS = 21,
    VT_NV_OPAQUE_SWITCH_PDI = 22,
    VT_NV_OPAQUE_FLOORSWEPT_PORTS = 23,
    VT_NV_OPAQUE_POSITION_ID = 24,
    VT_NV_OPAQUE_LOCK_SWITCH_STATUS = 25,
    VT_NV_OPAQUE_GPU_LINK_CONN = 32,
    VT_NV_OPAQUE_SYS_ENABLE_STATUS = 33,
    VT_NV_OPAQUE_OPAQUE_DATA_VERSION = 34,
    VT_NV_OPAQUE_CHIP_INFO = 35,
    VT_NV_OPAQUE_FEATURE_FLAG = 36,
};
/* Claim name of a known id ("driver_version"); NULL for an unknown id. */
const char *vt_nvidia_opaque_name(unsigned id);

/* One DMTF measurement block; value points into the parsed report. */
typedef struct vt_nvidia_block {
    uint8_t index;      /* SPDM index, 1-based */
    uint8_t value_type; /* DMTFSpecMeasurementValueType (0x01: digest of mutable firmware) */
    vt_bytes value;     /* the measurement (48-byte SHA-384 digest on Hopper/Blackwell) */
} vt_nvidia_block;

typedef struct vt_nvidia_tlv {
    uint16_t type;
    vt_bytes value;
} vt_nvidia_tlv;

typedef enum vt_nvidia_nvdec0 {
    VT_NV_NVDEC0_ABSENT = 0,
    VT_NV_NVDEC0_ENABLED = 1,  /* 0xAA */
    VT_NV_NVDEC0_DISABLED = 2, /* 0x55 */
} vt_nvidia_nvdec0;

/* A parsed report. Every vt_bytes borrows the caller's buffer. */
typedef struct vt_nvidia_report {
    uint8_t request_nonce[VT_NVIDIA_NONCE_LEN];   /* the verifier's nonce (request bytes 4..36) */
    uint8_t responder_nonce[VT_NVIDIA_NONCE_LEN]; /* the GPU's random nonce: NOT the freshness binding */
    uint8_t request_param2;                       /* 0xFF: all blocks */
    uint8_t slot;                                 /* request SlotIDParam */
    size_t n_blocks;
    uint32_t record_len;
    vt_nvidia_block blocks[VT_NVIDIA_MAX_BLOCKS];
    vt_bytes opaque;
    size_t n_tlv;
    vt_nvidia_tlv tlv[VT_NVIDIA_MAX_TLVS];
    vt_bytes signed_part; /* report[0 .. end of opaque data): the ECDSA-signed range */
    vt_bytes signature;   /* 96 bytes r||s */
    vt_bytes trailing;    /* bytes after the signature (the verifier decides: docs/nvidia.md) */
    /* decoded opaque fields used by the verifier and the RIM matcher */
    char driver_version[64];  /* "550.90.07" */
    char vbios_version[24];   /* "96.00.9f.00.01" (lower-case hex) */
    char project[32], project_sku[32], chip_sku[32], chip_info[32]; /* "" when absent */
    bool has_fwid;
    uint8_t fwid[VT_NVIDIA_FWID_LEN];
    vt_nvidia_nvdec0 nvdec0;
} vt_nvidia_report;

/* Parse a raw report (request || response || signature [|| trailing]). Pure: checks layout,
 * every length (blocks consume exactly the record length, each block MeasurementSize ==
 * 3 + ValueSize, TLVs stay inside the opaque data), versions, codes and the TLV rules (unknown
 * or duplicate id, missing driver or VBIOS version, malformed known field -> VT_E_INVALID). */
VT_MUST_USE vt_err vt_nvidia_report_parse(const uint8_t *buf, size_t len, vt_nvidia_report *out,
                              vt_error *err);
/* The decoded opaque data as the "config" claims object ({"driver_version":..., ...}). */
json_t *vt_nvidia_config_json(const vt_nvidia_report *r);
/* The measurements as {"1":"hex", ...} (SPDM 1-based index keys). */
json_t *vt_nvidia_measurements_json(const vt_nvidia_report *r);

/* ---- verifier ---- */

typedef struct vt_nvidia_trust {
    /* PEM text of the pinned device root(s) (NVIDIA Device Identity CA). NULL: the built-in pin
     * of that CA's SHA-256 fingerprint (the chain's own last certificate must have it). */
    const void *device_roots_pem;
    size_t device_roots_len;
} vt_nvidia_trust;

/* Thread-safe: verifications may run at once (its cache of verified chains is locked; each
 * verification works on its own copy of a cached result). */
typedef struct vt_nvidia_verifier vt_nvidia_verifier;

VT_MUST_USE vt_err vt_nvidia_verifier_new(const vt_nvidia_trust *trust, vt_nvidia_verifier **out,
                              vt_error *err);
void vt_nvidia_verifier_free(vt_nvidia_verifier *v);

/* ---- revocation of the device and RIM signer chains (OCSP, CRLs) ----
 * Every certificate below the root needs a status, taken from the first source that covers
 * it: an offline OCSP response, an offline CRL of its issuer, then (online) a cached OCSP
 * response still valid at the instant, else NVIDIA's OCSP responder. Each response is verified in
 * full: signed by the certificate's issuer or a responder the issuer delegated
 * (id-kp-OCSPSigning) whose path reaches the pinned root at the instant, CertID equal to the
 * certificate's, the request's nonce echoed (fetched responses), thisUpdate <= at <=
 * nextUpdate (nextUpdate required). docs/nvidia.md, "Revocation". */

#define VT_NVIDIA_OCSP_URL "https://ocsp.ndis.nvidia.com/"
#define VT_NVIDIA_RIM_SERVICE_URL "https://rim.attestation.nvidia.com/v1/rim/"

/* Counters a caller may ask for (tests, metrics): what the revocation checks and RIM fetches
 * used. */
typedef struct vt_nvidia_source_stats {
    unsigned ocsp_fetched;    /* OCSP requests sent */
    unsigned ocsp_cache_hits; /* statuses taken from cached responses */
    unsigned ocsp_offline;    /* statuses from given responses or CRLs */
    unsigned rim_fetched;     /* RIMs fetched from the RIM service */
    unsigned rim_cache_hits;  /* RIMs taken from the cache */
} vt_nvidia_source_stats;

/* Randomness is a parameter: fills out with n random bytes (the OCSP request nonce). */
typedef vt_err (*vt_nvidia_random_fn)(void *ctx, uint8_t *out, size_t n, vt_error *err);

typedef struct vt_nvidia_revocation {
    const vt_bytes *responses; /* offline DER OCSP responses, any order */
    size_t n_responses;
    const vt_bytes *crls;      /* offline CRLs (DER or PEM), any order */
    size_t n_crls;
    bool online;               /* ask the responder for what no offline source covers */
    const char *ocsp_url;      /* NULL: VT_NVIDIA_OCSP_URL (one responder for every certificate,
                                  as NVIDIA runs it); POST application/ocsp-request */
    const char *cache_dir;     /* with online: responses kept as DIR/nvidia/ocsp/<certid>.der
                                  (atomic writes) and reused while valid at the instant, before
                                  asking (also when the responder is down); NULL: no cache */
    long timeout_seconds;      /* per request; 0: 20 s */
    const char *ca_file;       /* HTTPS: trust only this PEM file; NULL: the system store */
    vt_nvidia_random_fn random; /* nonce for fetched requests; NULL: no nonce sent */
    void *random_ctx;
    /* Status unknown is accepted and reported (check "skipped"): no source covers a
     * certificate, the responder is unreachable or answers "unknown". A revoked certificate,
     * a bad signature or a stale response fail whatever this says. */
    bool allow_unknown;
    /* With no source at all (no responses, CRLs, not online): fail (VT_E_MISSING) rather
     * than report the check skipped. */
    bool require;
    vt_nvidia_source_stats *stats; /* optional counters, added to */
    /* A response whose thisUpdate is at most this many seconds after the instant is current
     * (the responder's clock ahead of ours, or an answer made just after a verification taken
     * at "now" began); 0: none. nextUpdate is never stretched. */
    long clock_skew_seconds;
} vt_nvidia_revocation;

/* Outcomes (check name given by the caller: "revocation", "rim_revocation"): VT_E_REVOKED
 * (a certificate is revoked), VT_E_EXPIRED (a response or CRL not current at the instant),
 * VT_E_VERIFY (bad signature, unauthorised responder, nonce or CertID mismatch, status unknown),
 * VT_E_MISSING (no status: no source covers a certificate, the responder is unreachable or
 * answers with an error), VT_E_INVALID (a malformed response or CRL). */

typedef struct vt_nvidia_verify_opts {
    vt_time at;           /* verification instant for the certificate chain */
    const uint8_t *nonce; /* expected nonce (KBS report_data): the first 32 bytes are compared,
                             shorter input is zero-padded; NULL: not checked (check "nonce"
                             reported as skipped and the claims carry the report's nonce) */
    size_t nonce_len;     /* 1..64 */
    bool strict_length;   /* reject any byte after the signature (default: docs/nvidia.md) */
    /* Offline revocation: DER OCSP responses (any order) covering every certificate of the
     * chain below the root, each signed by the certificate's issuer (or a responder it
     * delegated), valid at `at`. None given: check "revocation" is reported skipped, or fails
     * with VT_E_MISSING when require_ocsp. */
    const vt_bytes *ocsp;
    size_t n_ocsp;
    bool require_ocsp;
    /* Verified RIMs (vt_nvidia_rim_verify) to appraise each device's measurements against: the
     * driver RIM is the one whose version equals the report's driver version, the VBIOS RIM the
     * one equal to its VBIOS version; both must be present (VT_E_MISSING) and every golden
     * measurement must match (VT_E_VERIFY, check rim_measurements). The device claims then
     * carry "rim" (vt_nvidia_rim_match's result). None: no RIM appraisal. */
    const struct vt_nvidia_rim *const *rims;
    size_t n_rims;
    /* Revocation of the device chain (above). NULL: the offline fields ocsp/n_ocsp/require_ocsp
     * alone. Given: it replaces them. */
    const vt_nvidia_revocation *revocation;
    /* RIMs by the ids the report names (vt_nvidia_rim_ids), from rim_source (cache, RIM
     * service), verified with rim_verifier at `at` (its revocation settings apply), then matched
     * as with `rims` (given `rims` are used first). Both or neither. */
    struct vt_nvidia_rim_verifier *rim_verifier;
    const struct vt_nvidia_rim_source *rim_source;
} vt_nvidia_verify_opts;

/* One device: arch (from the untrusted evidence; chooses the FWID rule), raw report, PEM chain
 * (leaf first, root last). *claims (may be NULL) receives the device object on success. */
VT_MUST_USE vt_err vt_nvidia_verify_device(vt_nvidia_verifier *v, vt_nvidia_arch arch, const uint8_t *report,
                               size_t report_len, const void *chain_pem, size_t chain_len,
                               const vt_nvidia_verify_opts *opts, json_t **claims,
                               vt_checks *checks, vt_error *err);

/* Trustee's evidence JSON {"device_evidence_list":[{"arch","uuid","evidence","certificate"}]}:
 * every device verified; two devices with the same UEID are rejected. *claims receives
 * {"devices":[{arch, uuid, ueid, nonce, measurements, config, ...}]}. */
VT_MUST_USE vt_err vt_nvidia_verify(vt_nvidia_verifier *v, const uint8_t *evidence, size_t len,
                        const vt_nvidia_verify_opts *opts, json_t **claims, vt_checks *checks,
                        vt_error *err);

/* ---- reference integrity manifests (RIMs) ----
 * A RIM is an ISO/IEC 19770-2 SWID tag with TCG RIM attributes, signed with an enveloped XML
 * signature (C14N 1.1, ecdsa-sha384, sha384 digest) whose KeyInfo carries the signer chain.
 * libxmlsec1 (OpenSSL backend, loaded at run time) canonicalises and checks the signature with
 * the leaf key; the chain to the pinned RIM root at an explicit instant is checked here. */

#define VT_NVIDIA_RIM_MAX_ENTRIES 256
#define VT_NVIDIA_RIM_MAX_ALT 8

typedef struct vt_nvidia_rim_entry {
    unsigned index; /* 0-based (SPDM block index - 1) */
    bool active;
    size_t n_alt;   /* alternatives: Hash0 .. Hash(n_alt-1) */
    size_t size;    /* digest size in bytes (48) */
    uint8_t hash[VT_NVIDIA_RIM_MAX_ALT][VT_NVIDIA_FWID_LEN];
    char name[64];
} vt_nvidia_rim_entry;

typedef struct vt_nvidia_rim {
    char tag_id[160];
    char name[64];     /* SoftwareIdentity name ("GH100") */
    char version[64];  /* Meta colloquialVersion ("96.00.74.00.1A") */
    char product[64];  /* Meta product */
    char signer[128];  /* subject CN of the signing certificate */
    vt_time signer_not_after;
    size_t n;
    vt_nvidia_rim_entry entries[VT_NVIDIA_RIM_MAX_ENTRIES];
} vt_nvidia_rim;

typedef struct vt_nvidia_rim_verifier vt_nvidia_rim_verifier;

/* A RIM verifier pinning the given root(s) (PEM text: "NVIDIA CoRIM signing Root CA").
 * VT_E_MISSING when libxmlsec1-openssl cannot be loaded. */
VT_MUST_USE vt_err vt_nvidia_rim_verifier_new(const void *roots_pem, size_t len, vt_nvidia_rim_verifier **out,
                                  vt_error *err);
void vt_nvidia_rim_verifier_free(vt_nvidia_rim_verifier *v);

/* Revocation of RIM signer chains checked by every later vt_nvidia_rim_verify (check
 * "rim_revocation"); rev is borrowed (must outlive the verifier's use), NULL turns it off. */
void vt_nvidia_rim_verifier_set_revocation(vt_nvidia_rim_verifier *v, const vt_nvidia_revocation *rev);

/* Verify a RIM's signature and signer chain at `at`, then parse what it signs (only content
 * outside the signature element). Checks: rim_format, rim_signature, rim_chain. */
VT_MUST_USE vt_err vt_nvidia_rim_verify(vt_nvidia_rim_verifier *v, const uint8_t *xml, size_t len, vt_time at,
                            vt_nvidia_rim *out, vt_checks *checks, vt_error *err);

/* The RIM service ids a report needs: "NV_GPU_DRIVER_GH100_<ver>" (Hopper) or
 * "NV_GPU_CC_DRIVER_<chip_info>_<ver>" (Blackwell+), and
 * "NV_GPU_VBIOS_<PROJECT>_<PROJECT_SKU>_<CHIP_SKU>_<VBIOS without dots, upper-case>". */
VT_MUST_USE vt_err vt_nvidia_rim_ids(const vt_nvidia_report *r, vt_nvidia_arch arch, char *driver_id,
                         size_t dcap, char *vbios_id, size_t vcap, vt_error *err);

/* Match a parsed report's measurements against verified RIMs (either may be NULL: its
 * measurements are then reported as not covered, and the result is VT_E_MISSING). Each RIM's
 * colloquialVersion must equal the report's version; the golden set is the active entries of
 * both (an index active in both is an error); each golden index i needs SPDM block i+1 equal to
 * one of its alternatives; index 35 is skipped when NVDEC0 is disabled. *result (may be NULL)
 * receives {"driver_rim","vbios_rim","matched":[...],"mismatched":[...],"skipped":[...],
 * "not_covered":[...]} also on a mismatch. VT_E_VERIFY when any golden entry does not match. */
VT_MUST_USE vt_err vt_nvidia_rim_match(const vt_nvidia_report *r, const vt_nvidia_rim *driver,
                           const vt_nvidia_rim *vbios, json_t **result, vt_checks *checks,
                           vt_error *err);

/* ---- RIMs from NVIDIA's RIM service, cached ----
 * GET <service_url><id> answers {"id": id, "rim": "<base64 of the SWID XML>", "sha256": hex,
 * ...}. A RIM is verified (vt_nvidia_rim_verify at the instant) before it is cached as
 * DIR/nvidia/rim/<id>.swidtag (atomic write), and verified again whenever it is read back: a
 * cached RIM is used while it verifies at the instant (its signer chain valid, not revoked). */
typedef struct vt_nvidia_rim_source {
    bool online;             /* ask the RIM service for what the cache does not hold */
    const char *service_url; /* base URL, the id is appended; NULL: VT_NVIDIA_RIM_SERVICE_URL */
    const char *cache_dir;   /* NULL: no cache */
    long timeout_seconds;    /* 0: 20 s */
    const char *ca_file;     /* HTTPS: trust only this PEM file */
    vt_nvidia_source_stats *stats; /* optional counters, added to */
} vt_nvidia_rim_source;

/* The RIM service's answer for `id`: checks the JSON (object, "rim" a base64 string, "id" equal
 * to want_id when present, "sha256" the digest of the decoded bytes when present, at most
 * 4 MiB) and returns the XML in *xml (owned). Pure: no I/O. VT_E_INVALID naming the field. */
VT_MUST_USE vt_err vt_nvidia_rim_service_parse(const uint8_t *body, size_t len, const char *want_id,
                                               vt_buf *xml, vt_error *err);

/* The verified RIM `id` (ids only of [A-Za-z0-9._-], 1..128 chars): from the cache when it
 * verifies at `at`, else fetched (src->online), verified, then cached. *xml_out (may be NULL)
 * receives the XML. Checks "rim_fetch" and those of vt_nvidia_rim_verify. VT_E_MISSING when
 * neither source has it or the service cannot be reached (404 included). */
VT_MUST_USE vt_err vt_nvidia_rim_get(vt_nvidia_rim_verifier *v, const vt_nvidia_rim_source *src, const char *id,
                                     vt_time at, vt_nvidia_rim *out, vt_buf *xml_out, vt_checks *checks,
                                     vt_error *err);

/* Check the revocation status of a chain (leaf first; the last certificate is the trusted root,
 * which is not checked) at `at`, by the sources in rev. The chain is NOT verified here: the
 * caller has verified it (its last certificate is taken as the trust anchor for responders). The check is recorded under `check`
 * with `dev` prefixed to details. For callers with their own chains (and the tests). */
VT_MUST_USE vt_err vt_nvidia_revocation_check(const vt_nvidia_revocation *rev, const void *chain_pem,
                                              size_t chain_len, vt_time at, const char *check,
                                              vt_checks *checks, vt_error *err);

VT_END_DECLS

#endif
