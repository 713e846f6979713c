/* Arm CCA attestation tokens: parse (pure), verify (COSE signatures, RAK binding, lifecycle,
 * profile, challenge) and a CPAK trust store. Follows RMM specification 1.0 A7.2 / 2.0 A7.2,
 * draft-ffm-rats-cca-token and the CCA-SSD draft profile still emitted by deployed stacks. */
#ifndef VERITEE_CCA_H
#define VERITEE_CCA_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/checks.h"
#include "veritee/cose.h"
#include "veritee/err.h"
#include "veritee/reader.h"

VT_BEGIN_DECLS

#define VT_CCA_TAG_COLLECTION 399 /* legacy collection: key -> bstr(COSE_Sign1) */
#define VT_CCA_TAG_CMW 907        /* CMW collection: key -> [content-format, bstr] */
#define VT_CCA_KEY_PLATFORM 44234
#define VT_CCA_KEY_REALM 44241
#define VT_CCA_SW_MAX 64
#define VT_CCA_CHALLENGE_LEN 64

#define VT_CCA_PROFILE_PLATFORM_SSD "http://arm.com/CCA-SSD/1.0.0"
#define VT_CCA_PROFILE_PLATFORM_1_0 "tag:arm.com,2023:cca_platform#1.0.0"
#define VT_CCA_PROFILE_REALM_1_0 "tag:arm.com,2023:realm#1.0.0"
#define VT_CCA_PROFILE_PLATFORM_2_0 "tag:arm.com,2024:cca_platform#2.0.0"
#define VT_CCA_PROFILE_REALM_2_0 "tag:arm.com,2024:realm#2.0.0"

/* Which profile a token (or one of its halves) follows. */
typedef enum vt_cca_profile {
    VT_CCA_PROFILE_UNKNOWN = 0,
    VT_CCA_PROFILE_SSD = 1, /* draft "CCA-SSD": platform http://arm.com/CCA-SSD/1.0.0, no realm profile */
    VT_CCA_PROFILE_1_0 = 2, /* tag:arm.com,2023:..#1.0.0 (RMM 1.0) */
    VT_CCA_PROFILE_2_0 = 3, /* tag:arm.com,2024:..#2.0.0 (RMM 2.0) */
} vt_cca_profile;

const char *vt_cca_profile_name(vt_cca_profile p); /* "cca-ssd", "1.0", "2.0", "unknown" */

/* A software component of the platform (claim 2399). Text fields are views, not NUL-ended. */
typedef struct vt_cca_sw_component {
    vt_bytes type;         /* 1, optional (len 0 when absent) */
    vt_bytes measurement;  /* 2 */
    vt_bytes version;      /* 4, optional */
    vt_bytes signer_id;    /* 5 */
    vt_bytes description;  /* 6 hash algorithm / measurement description, optional */
    bool has_type, has_version, has_description;
} vt_cca_sw_component;

typedef struct vt_cca_platform_claims {
    vt_bytes profile;              /* 265 */
    vt_cca_profile profile_id;
    vt_bytes challenge;            /* 10: H(RAK), 32/48/64 bytes */
    vt_bytes implementation_id;    /* 2396 */
    vt_bytes instance_id;          /* 256 (UEID, 0x01 || 32 bytes) */
    vt_bytes config;               /* 2401 */
    uint64_t lifecycle;            /* 2395 */
    vt_cca_sw_component sw[VT_CCA_SW_MAX]; /* 2399 */
    size_t n_sw;
    vt_bytes verification_service; /* 2400, optional */
    bool has_verification_service;
    vt_bytes hash_alg_id;          /* 2402 */
    /* platform profile 2.0 additions, present when has_* */
    bool has_client_id;
    int64_t client_id;             /* 2394 */
    vt_bytes manufacturing_config; /* 2403 */
    vt_bytes extension;            /* 2404, encoded CBOR (kept raw) */
    vt_bytes tbb_rotpk;            /* 2405, encoded CBOR (kept raw) */
    vt_bytes peer_signers;         /* 2406, encoded CBOR (kept raw) */
} vt_cca_platform_claims;

typedef struct vt_cca_realm_claims {
    vt_bytes profile;              /* 265, optional (len 0 when absent) */
    bool has_profile;
    vt_cca_profile profile_id;     /* SSD when absent */
    vt_bytes challenge;            /* 10: 64 bytes */
    vt_bytes personalization;      /* 44235 RPV: 64 bytes */
    vt_bytes hash_alg_id;          /* 44236 */
    vt_bytes rak;                  /* 44237: bytes exactly as carried (raw point or COSE_Key) */
    bool rak_is_cose_key;
    vt_cose_key rak_key;           /* decoded RAK (for a raw point: x/y views into it) */
    vt_bytes rim;                  /* 44238 */
    vt_bytes rem[4];               /* 44239 */
    vt_bytes rak_hash_alg_id;      /* 44240 */
    /* RMM 2.0 additions */
    bool has_instance_id;
    vt_bytes instance_id;          /* 256: 33 bytes, 0x01 || random */
    bool has_mec_policy;
    uint64_t mec_policy;           /* 44243: 0 shared, 1 private */
    bool has_lfa_policy;
    uint64_t lfa_policy;           /* 44244: 0 disallow, 1 allow */
    bool has_devices_token_hash;
    vt_bytes devices_token_hash;   /* 44257 */
} vt_cca_realm_claims;

/* A parsed token. Every view borrows the caller's buffer, which must outlive the struct. */
typedef struct vt_cca_token {
    uint64_t tag;                  /* 399 or 907 */
    int64_t platform_content_type; /* 907 only: the CMW type, 263 (other types are refused) */
    int64_t realm_content_type;
    vt_bytes platform_sign1;       /* encoded COSE_Sign1 of each half */
    vt_bytes realm_sign1;
    vt_cose_sign1 platform_cose;
    vt_cose_sign1 realm_cose;
    vt_cca_platform_claims platform;
    vt_cca_realm_claims realm;
} vt_cca_token;

/* Parse a CCA token (tag 399 or 907 collection). Pure: no crypto. Strict CBOR (definite
 * lengths, unique keys, bounded depth), types and sizes of every claim checked, mandatory
 * claims required. VT_E_INVALID names the field. */
VT_MUST_USE vt_err vt_cca_token_parse(const uint8_t *buf, size_t len, vt_cca_token *out, vt_error *err);
/* The two claim sets alone (the COSE payloads). */
VT_MUST_USE vt_err vt_cca_platform_claims_parse(vt_bytes payload, vt_cca_platform_claims *out, vt_error *err);
VT_MUST_USE vt_err vt_cca_realm_claims_parse(vt_bytes payload, vt_cca_realm_claims *out, vt_error *err);

/* Hash algorithm from a CCA hash-algorithm-id string ("sha-256", "sha-384", "sha-512"). */
VT_MUST_USE vt_err vt_cca_hash_alg(vt_bytes id, vt_hash_alg *out, vt_error *err);
/* Security lifecycle name for a claim value ("secured", "non_cca_platform_debug", ...). */
const char *vt_cca_lifecycle_name(uint64_t lifecycle);
bool vt_cca_lifecycle_secured(uint64_t lifecycle); /* 0x3000..0x30ff */

/* ---- trust store of CPAKs (platform attestation public keys) ---- */

typedef struct vt_cca_cpak {
    EVP_PKEY *key;
    uint8_t instance_id[64];
    size_t instance_id_len;       /* 0: not bound to an instance */
    uint8_t implementation_id[64];
    size_t implementation_id_len; /* 0: not bound to an implementation */
    char label[128];              /* where it came from: "ta-tfa.json[0]", "cpak.pem" */
    bool emulated;                /* store entry marked "emulated": true (veritee's emulated TEE) */
} vt_cca_cpak;

typedef struct vt_cca_trust {
    vt_cca_cpak *items;
    size_t n, cap;
    size_t nskipped;     /* files of a trust directory that could not be loaded ... */
    char skipped[1024];  /* ... "name: reason; ..." (truncated), for the caller to report */
} vt_cca_trust;

#define VT_CCA_TRUST_MAX 1024

void vt_cca_trust_init(vt_cca_trust *t);
void vt_cca_trust_free(vt_cca_trust *t); /* accepts NULL */
/* Add key (the store takes its own reference). ids may be NULL/0 (unbound). */
VT_MUST_USE vt_err vt_cca_trust_add(vt_cca_trust *t, EVP_PKEY *key, const uint8_t *instance_id,
                        size_t instance_id_len, const uint8_t *implementation_id,
                        size_t implementation_id_len, const char *label, vt_error *err);
/* Load text: a PEM SubjectPublicKeyInfo (EC), a JWK object, or a trust-anchor store in the
 * rust-ccatoken format ([{"instance-id": hex, "implementation-id": hex, "pkey": JWK}]);
 * also a raw SEC1 uncompressed point (65/97/133 bytes). Off-curve keys are refused. */
VT_MUST_USE vt_err vt_cca_trust_load_mem(vt_cca_trust *t, const uint8_t *buf, size_t len, const char *label,
                             vt_error *err);
VT_MUST_USE vt_err vt_cca_trust_load_file(vt_cca_trust *t, const char *path, vt_error *err);
/* Every *.pem, *.jwk, *.json and *.bin file of dir, in name order. PEM files holding only
 * X.509 certificates are skipped: in a trust directory shared by several TEEs they are the TDX
 * and SNP roots. A store entry with "emulated": true marks a CPAK of veritee's emulated TEE.
 * A file that does not load is skipped and listed in t->skipped / t->nskipped; the load fails
 * (VT_E_MISSING, naming the skipped files) only when no file of dir was usable. dir may also
 * be a single file (as vt_cca_trust_load_file). */
VT_MUST_USE vt_err vt_cca_trust_load_dir(vt_cca_trust *t, const char *dir, vt_error *err);
/* Candidates for a platform, best first: entries bound to this instance id, then entries
 * bound to this implementation id only, then unbound entries. Entries bound to other ids
 * are never returned. Returns how many were written to out (at most max). */
size_t vt_cca_trust_find(const vt_cca_trust *t, vt_bytes instance_id, vt_bytes implementation_id,
                         const vt_cca_cpak **out, size_t max);

/* ---- verification ---- */

typedef struct vt_cca_verify_opts {
    const vt_cca_trust *trust;   /* CPAKs; required (an empty store fails closed: VT_E_MISSING) */
    const uint8_t *nonce;        /* expected realm challenge, 1..64 bytes (zero-padded to 64);
                                    NULL: not checked, and the check says skipped */
    size_t nonce_len;
    bool allow_debug_lifecycle;  /* opt out of the "secured" lifecycle requirement */
} vt_cca_verify_opts;

/* Checks, each named in `checks` (may be NULL): platform_signature, realm_signature,
 * rak_binding, platform_lifecycle, profile, realm_challenge. Runs them all and returns the
 * first failure (in that order) in err; VT_OK only when every check passed (a skipped
 * challenge check does not fail). *cpak_used (may be NULL) names the key that verified. */
VT_MUST_USE vt_err vt_cca_verify(const vt_cca_token *t, const vt_cca_verify_opts *opts, vt_checks *checks,
                     const vt_cca_cpak **cpak_used, vt_error *err);

/* ---- output ---- */

/* Normalized claims as JSON (snake_case; bytes as lower-case hex). NULL on allocation failure. */
json_t *vt_cca_claims_json(const vt_cca_token *t);

VT_END_DECLS

#endif
