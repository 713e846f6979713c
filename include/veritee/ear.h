/* EAR attestation results (draft-ietf-rats-ear, implemented "dotted" naming of Veraison and
 * Trustee; see specs/ear.md) with the AR4SI trustworthiness vector (draft-ietf-rats-ar4si),
 * signed as a JWT (ES256 or ES384) and verified with a trusted key. */
#ifndef VERITEE_EAR_H
#define VERITEE_EAR_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/claims.h"
#include "veritee/err.h"
#include "veritee/jws.h"
#include "veritee/vtime.h"

VT_BEGIN_DECLS

/* Tiers (ear.md §4); the values are the CBOR encodings. */
typedef enum vt_ear_status {
    VT_EAR_NONE = 0,
    VT_EAR_AFFIRMING = 2,
    VT_EAR_WARNING = 32,
    VT_EAR_CONTRAINDICATED = 96,
} vt_ear_status;

const char *vt_ear_status_name(vt_ear_status s); /* "none", "affirming", ... */
VT_MUST_USE vt_err vt_ear_status_parse(const char *s, vt_ear_status *out, vt_error *err);
/* Rank for "worse than": none 0 < affirming 1 < warning 2 < contraindicated 3. */
int vt_ear_status_rank(vt_ear_status s);

/* AR4SI trustworthiness claims, in their CBOR key order. */
typedef enum vt_ar4si_claim {
    VT_AR4SI_INSTANCE_IDENTITY = 0,
    VT_AR4SI_CONFIGURATION = 1,
    VT_AR4SI_EXECUTABLES = 2,
    VT_AR4SI_FILE_SYSTEM = 3,
    VT_AR4SI_HARDWARE = 4,
    VT_AR4SI_RUNTIME_OPAQUE = 5,
    VT_AR4SI_STORAGE_OPAQUE = 6,
    VT_AR4SI_SOURCED_DATA = 7,
    VT_AR4SI_COUNT = 8,
} vt_ar4si_claim;

/* Codepoints used by veritee (AR4SI §2.3). */
#define VT_AR4SI_NO_CLAIM 0
#define VT_AR4SI_AFFIRMING 2
#define VT_AR4SI_BOOT_ONLY 3         /* executables: only approved boot-time objects */
#define VT_AR4SI_WARN 32
#define VT_AR4SI_CONTRAINDICATED 96
#define VT_AR4SI_UNRECOGNISED 97     /* instance-identity / hardware: not recognised */
#define VT_AR4SI_CRYPTO_FAILED 99

typedef struct vt_ar4si_vector {
    int8_t v[VT_AR4SI_COUNT];
} vt_ar4si_vector;

const char *vt_ar4si_name(vt_ar4si_claim c); /* "instance-identity", ... */
/* Tier of one claim value (−1..1 none, 2..31 affirming, 32..95 warning, 96..127
 * contraindicated; negatives mirror). */
vt_ear_status vt_ar4si_tier(int v);
/* Status derivation: the worst tier of all claims (a vector of zeros is "none"). */
vt_ear_status vt_ar4si_status(const vt_ar4si_vector *v);

/* ---- the claims set ---- */

struct vt_appraisal; /* policy.h */

#define VT_EAR_PROFILE_TRUSTEE "tag:github.com,2024:confidential-containers/Trustee"
#define VT_EAR_PROFILE_VERAISON "tag:github.com,2023:veraison/ear"
#define VT_EAR_PROFILE_DRAFT03 "tag:ietf.org,2026:rats/ear#03"

typedef enum vt_ear_naming {
    VT_EAR_NAMING_DOTTED = 0,  /* ear.status, ear.trustworthiness-vector ... (deployed) */
    VT_EAR_NAMING_DRAFT03 = 1, /* ear_status, ear_trustworthiness_vector ... (draft -03) */
} vt_ear_naming;

/* The verifier's ear.verifier-id developer: the project's name (docs/ear.md). */
#define VT_EAR_DEVELOPER "veritee"

typedef struct vt_ear_opts {
    vt_ear_naming naming;
    const char *profile;       /* NULL: Trustee profile (dotted) or the -03 tag (draft03) */
    vt_time iat;
    int64_t ttl;               /* > 0: exp = iat + ttl */
    const char *issuer;        /* "iss" extension; NULL: none */
    const char *developer;     /* ear.verifier-id; NULL: VT_EAR_DEVELOPER */
    const char *build;         /* NULL: "veritee 0.1.0" */
    const uint8_t *nonce;      /* eat_nonce (8..64 bytes), base64url; NULL: none */
    size_t nonce_len;
    bool include_checks;       /* add "ear.veritee.appraisal-checks" per submod */
    bool include_failed_checks; /* ... only the checks that did not pass (fail, warn): why a result
                                 * is not affirming, without listing every reference value */
} vt_ear_opts;

typedef struct vt_ear_submod {
    const char *label;                 /* "cpu0" ... */
    const struct vt_appraisal *appraisal;
    const vt_claims *claims;           /* NULL: no annotated evidence */
    const json_t *runtime_data_claims; /* borrowed, optional: put beside the claims (KBS) */
} vt_ear_submod;

/* Build the EAR claims set (ear.md §2-3). The annotated evidence is
 * {"<tee>": vt_claims_json(...), "report_data": hex, "init_data": hex, "emulated": bool,
 *  "runtime_data_claims": ...}. Errors: VT_E_ARG (no submod, bad nonce length), VT_E_NOMEM. */
VT_MUST_USE vt_err vt_ear_build(const vt_ear_submod *subs, size_t n, const vt_ear_opts *opts, json_t **out,
                    vt_error *err);

/* Sign a claims set as a JWT: header {"alg": ES256|ES384 (by the key's curve), "typ": "JWT",
 * "jwk": public key, "kid": RFC 7638 thumbprint}. *jwt is owned by the caller (free()). */
VT_MUST_USE vt_err vt_ear_sign(const json_t *claims, EVP_PKEY *key, char **jwt, vt_error *err);
/* The same with the header prepared once (a signer for a long-lived key: the broker's): the
 * signer of that header (free with vt_jws_signer_free), and a signature with it. */
VT_MUST_USE vt_err vt_ear_signer_new(EVP_PKEY *key, vt_jws_signer **out, vt_error *err);
VT_MUST_USE vt_err vt_ear_sign_with(const vt_jws_signer *s, const json_t *claims, char **jwt, vt_error *err);

typedef struct vt_ear_verify_opts {
    vt_time now;
    int64_t skew;             /* seconds of clock skew tolerated (iat in the future, exp past) */
    int64_t max_age;          /* > 0: reject when now - iat > max_age (even without exp) */
    bool require_exp;
} vt_ear_verify_opts;

/* Verify an EAR JWT with a trusted public key (never the header's jwk): signature, profile
 * (the Trustee, Veraison and draft tags), integer iat, exp (when present, or required), the
 * verifier id, and every submod's status and vector (status no better than its vector).
 * Both naming generations are accepted. *claims receives the claims set. Errors:
 * VT_E_VERIFY (signature), VT_E_EXPIRED, VT_E_INVALID (shape), VT_E_UNSUPPORTED (profile). */
VT_MUST_USE vt_err vt_ear_verify(const char *jwt, size_t len, EVP_PKEY *pub, const vt_ear_verify_opts *opts,
                     json_t **claims, vt_error *err);

/* The claims checks of vt_ear_verify without the signature: profile, iat, exp (at opts->now,
 * with opts->skew), verifier id and submods. For a claims set whose signature was checked
 * earlier (a token this broker issued, remembered by the hash of its exact bytes): the
 * instant-dependent checks must still run at each use. Errors as vt_ear_verify's. */
VT_MUST_USE vt_err vt_ear_check_claims(const json_t *claims, const vt_ear_verify_opts *opts, vt_error *err);

/* The worst submod status of a verified claims set. */
vt_ear_status vt_ear_overall(const json_t *claims);

/* ---- keys ---- */

typedef enum vt_ear_key_alg {
    VT_EAR_ES256 = 256, /* P-256 */
    VT_EAR_ES384 = 384, /* P-384 */
} vt_ear_key_alg;

/* Load the PEM private key at path; when the file does not exist, generate a key for alg and
 * write it there (PKCS#8 PEM, mode 0600, created exclusively; *created set). An existing key
 * file readable by group or others is refused. Errors: VT_E_IO, VT_E_INVALID, VT_E_ARG. */
VT_MUST_USE vt_err vt_ear_key_load_or_create(const char *path, vt_ear_key_alg alg, EVP_PKEY **out,
                                 bool *created, vt_error *err);
/* A verification key from a file: PEM public key, PEM private key (its public half), an X.509
 * certificate, or a JWK / JWKS (first EC key) JSON file. */
VT_MUST_USE vt_err vt_ear_key_load_public(const char *path, EVP_PKEY **out, vt_error *err);
/* Write the public half as PEM (SubjectPublicKeyInfo) to path. */
VT_MUST_USE vt_err vt_ear_key_write_public(EVP_PKEY *key, const char *path, vt_error *err);

VT_END_DECLS

#endif
