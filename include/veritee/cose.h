/* COSE_Sign1 (RFC 9052 sections 3, 4.2, 4.4) with ECDSA (RFC 9053 section 2.1: ES256, ES384,
 * ES512) over OpenSSL, and EC2 COSE_Key (RFC 9053 section 7.1). Parse is pure; verify and sign
 * call OpenSSL. Reusable for CCA, PSA and other EAT-style tokens. */
#ifndef VERITEE_COSE_H
#define VERITEE_COSE_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/cbor.h"
#include "veritee/codec.h"
#include "veritee/crypto.h"
#include "veritee/err.h"

VT_BEGIN_DECLS

#define VT_COSE_TAG_SIGN1 18
#define VT_COSE_ALG_ES256 (-7)
#define VT_COSE_ALG_ES384 (-35)
#define VT_COSE_ALG_ES512 (-36)

/* Common header labels (RFC 9052 section 3.1). */
#define VT_COSE_HDR_ALG 1
#define VT_COSE_HDR_CRIT 2
#define VT_COSE_HDR_CONTENT_TYPE 3
#define VT_COSE_HDR_KID 4

/* A parsed COSE_Sign1. All views borrow the input buffer. */
typedef struct vt_cose_sign1 {
    bool tagged;             /* carried CBOR tag 18 */
    vt_bytes protected_hdr;  /* contents of the protected bstr, exactly as received (signed) */
    vt_bytes unprotected;    /* encoding of the unprotected header map */
    vt_bytes payload;        /* contents of the payload bstr */
    bool detached;           /* payload was nil: the caller fills `payload` before verifying */
    vt_bytes signature;      /* raw r||s */
    int64_t alg;             /* protected label 1 */
    vt_bytes kid;            /* label 4 (either bucket); empty when absent */
} vt_cose_sign1;

/* Parse options. NULL means: tag 18 optional, no extra critical labels understood. */
typedef struct vt_cose_parse_opts {
    bool require_tag;             /* refuse an untagged COSE_Sign1 */
    bool forbid_tag;              /* refuse a tagged one (the context already says what it is) */
    const int64_t *crit_understood; /* labels beyond 1..4 the caller processes itself */
    size_t n_crit_understood;
} vt_cose_parse_opts;

/* Parse exactly one COSE_Sign1 from buf[len] (strict CBOR: definite lengths, unique keys).
 * Header rules: alg must be in the protected bucket and be an integer; a label may not
 * appear in both buckets; crit must be a non-empty array in the protected bucket naming
 * labels present there; a critical label we do not understand is VT_E_UNSUPPORTED. */
VT_MUST_USE vt_err vt_cose_sign1_parse(const uint8_t *buf, size_t len, const vt_cose_parse_opts *opts,
                           vt_cose_sign1 *out, vt_error *err);

/* Hash and curve an algorithm implies; VT_E_UNSUPPORTED for anything but ES256/384/512. */
VT_MUST_USE vt_err vt_cose_alg_info(int64_t alg, vt_hash_alg *hash, vt_curve *curve, vt_error *err);
const char *vt_cose_alg_name(int64_t alg); /* "ES384", or "unknown" */

/* The Sig_structure ["Signature1", body_protected, external_aad, payload] (RFC 9052 4.4),
 * encoded (for tests and debugging; verify hashes the same bytes without building them). */
VT_MUST_USE vt_err vt_cose_sig_structure(const vt_cose_sign1 *m, const uint8_t *aad, size_t aad_len,
                             vt_buf *out, vt_error *err);

/* Verify the signature with key (EC public key on the curve alg requires). `check` names the
 * check in messages ("realm_signature"). VT_E_VERIFY on a bad signature. */
VT_MUST_USE vt_err vt_cose_sign1_verify(const vt_cose_sign1 *m, EVP_PKEY *key, const uint8_t *aad,
                            size_t aad_len, const char *check, vt_error *err);

/* Signing options for vt_cose_sign1_sign. */
typedef struct vt_cose_sign_opts {
    int64_t alg;         /* 0: the ES* that matches the key's curve */
    bool untagged;       /* omit tag 18 */
    const uint8_t *kid;  /* put in the unprotected header when non-NULL */
    size_t kid_len;
    const uint8_t *aad;  /* external AAD */
    size_t aad_len;
} vt_cose_sign_opts;

/* Produce a COSE_Sign1 over payload with the EC private key priv: protected header {1: alg},
 * raw r||s signature. out is owned by the caller (vt_buf_free). opts may be NULL. */
VT_MUST_USE vt_err vt_cose_sign1_sign(EVP_PKEY *priv, const vt_cose_sign_opts *opts, const uint8_t *payload,
                          size_t len, vt_buf *out, vt_error *err);

/* ---- EC2 COSE_Key ---- */

/* The public part of an EC2 COSE_Key: views into the input. */
typedef struct vt_cose_key {
    vt_curve curve;
    vt_bytes x, y;
    bool has_alg;
    int64_t alg;
    vt_bytes kid;
} vt_cose_key;

/* Decode an encoded COSE_Key {1: 2, -1: crv, -2: x, -3: y, ? 2: kid, ? 3: alg}. Pure. Refuses
 * other key types, compressed points, wrong coordinate sizes, private keys (-4) and
 * unknown labels. */
VT_MUST_USE vt_err vt_cose_key_decode(const uint8_t *buf, size_t len, vt_cose_key *out, vt_error *err);
/* An EVP_PKEY from a decoded key; the point is checked to be on the curve. */
VT_MUST_USE vt_err vt_cose_key_to_pkey(const vt_cose_key *k, EVP_PKEY **out, vt_error *err);
/* Encode the public half of an EC key as {1: 2, -1: crv, -2: x, -3: y}. */
VT_MUST_USE vt_err vt_cose_key_encode(const EVP_PKEY *key, vt_buf *out, vt_error *err);

VT_END_DECLS

#endif
