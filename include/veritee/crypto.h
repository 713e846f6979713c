/* Thin wrappers over OpenSSL 3: digests, EC public keys from raw coordinates, ECDSA verify
 * (raw r||s and DER), constant-time compare. No cryptography is implemented here. */
#ifndef VERITEE_CRYPTO_H
#define VERITEE_CRYPTO_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/err.h"

VT_BEGIN_DECLS

typedef enum vt_hash_alg {
    VT_SHA256 = 1,
    VT_SHA384 = 2,
    VT_SHA512 = 3,
} vt_hash_alg;

typedef enum vt_curve {
    VT_P256 = 1,
    VT_P384 = 2,
    VT_P521 = 3,
} vt_curve;

size_t vt_hash_len(vt_hash_alg alg);
const char *vt_hash_name(vt_hash_alg alg);
/* out must hold vt_hash_len(alg) bytes. */
VT_MUST_USE vt_err vt_hash(vt_hash_alg alg, const void *p, size_t n, uint8_t *out, vt_error *err);
/* Hash of two concatenated parts (avoids a copy). */
VT_MUST_USE vt_err vt_hash2(vt_hash_alg alg, const void *a, size_t an, const void *b, size_t bn, uint8_t *out,
                vt_error *err);

/* Field element size in bytes (32, 48, 66). */
size_t vt_curve_len(vt_curve c);

/* EC public key from uncompressed coordinates X||Y (2 * field size bytes, no 0x04 prefix).
 * The point is validated (on the curve). Caller frees with EVP_PKEY_free. */
VT_MUST_USE vt_err vt_ec_pub_from_xy(vt_curve c, const uint8_t *xy, size_t len, EVP_PKEY **out, vt_error *err);
/* Prepared EC domain parameters for P-256, P-384 and P-521 (a context object, shared read-only
 * between threads): keys imported or generated with them skip building the curve's group each
 * time, most of an import's cost. */
typedef struct vt_ec_params vt_ec_params;
VT_MUST_USE vt_err vt_ec_params_new(vt_ec_params **out, vt_error *err);
/* The same for curve c alone (the other two are built per call, as with NULL): building the
 * P-384 and P-521 groups is two thirds of vt_ec_params_new, wasted by a user of one curve. */
VT_MUST_USE vt_err vt_ec_params_new_curve(vt_curve c, vt_ec_params **out, vt_error *err);
void vt_ec_params_free(vt_ec_params *p); /* accepts NULL */
/* vt_ec_pub_from_xy with prepared parameters (NULL, or not prepared for c: built for this
 * call); the same checks (the point lies on the curve, coordinates below the field prime). */
VT_MUST_USE vt_err vt_ec_pub_from_xy_with(const vt_ec_params *p, vt_curve c, const uint8_t *xy, size_t len,
                                          EVP_PKEY **out, vt_error *err);
/* A fresh EC key pair on curve c (p NULL, or not prepared for c: parameters built for this call). */
VT_MUST_USE vt_err vt_ec_generate(const vt_ec_params *p, vt_curve c, EVP_PKEY **out, vt_error *err);
/* The curve of an EC key; fails for other key types. */
VT_MUST_USE vt_err vt_ec_curve_of(const EVP_PKEY *key, vt_curve *out, vt_error *err);
/* Uncompressed X||Y of an EC public key into out (cap bytes); *len receives the size. */
VT_MUST_USE vt_err vt_ec_pub_xy(const EVP_PKEY *key, uint8_t *out, size_t cap, size_t *len, vt_error *err);

/* ECDSA verify of a message (hashed here with alg); sig is r||s, each big-endian and
 * vt_curve_len(curve of key) bytes. Returns VT_E_VERIFY on a bad signature (check
 * "signature"; a caller's own check renames it); `what` names the signed item in the message. */
VT_MUST_USE vt_err vt_ecdsa_verify_raw(EVP_PKEY *key, vt_hash_alg alg, const void *msg, size_t n,
                           const uint8_t *sig, size_t siglen, const char *what, vt_error *err);
/* Same with a precomputed digest. */
VT_MUST_USE vt_err vt_ecdsa_verify_digest_raw(EVP_PKEY *key, const uint8_t *dgst, size_t dlen,
                                  const uint8_t *sig, size_t siglen, const char *what,
                                  vt_error *err);
/* ECDSA verify with a DER-encoded signature. */
VT_MUST_USE vt_err vt_ecdsa_verify_der(EVP_PKEY *key, vt_hash_alg alg, const void *msg, size_t n,
                           const uint8_t *der, size_t derlen, const char *what, vt_error *err);
/* ECDSA signature of msg (hashed with alg) by an EC private key, as raw r||s, each big-endian
 * and the curve's field size (2 * field size bytes written into sig, cap bytes available). */
VT_MUST_USE vt_err vt_ecdsa_sign_raw(EVP_PKEY *key, vt_hash_alg alg, const void *msg, size_t n, uint8_t *sig,
                         size_t cap, size_t *siglen, vt_error *err);
/* A prepared signer: the key's curve found and OpenSSL's signing context set up once, for many
 * signatures (an emulated TEE signs a quote per request). For one thread at a time; it holds a
 * reference to key (which it does not copy), dropped by vt_ecdsa_signer_free. Errors as
 * vt_ecdsa_sign_raw. */
typedef struct vt_ecdsa_signer vt_ecdsa_signer;
VT_MUST_USE vt_err vt_ecdsa_signer_new(EVP_PKEY *key, vt_ecdsa_signer **out, vt_error *err);
void vt_ecdsa_signer_free(vt_ecdsa_signer *s); /* accepts NULL */
/* vt_ecdsa_sign_raw with the signer's key. */
VT_MUST_USE vt_err vt_ecdsa_signer_sign(vt_ecdsa_signer *s, vt_hash_alg alg, const void *msg, size_t n, uint8_t *sig,
                                        size_t cap, size_t *siglen, vt_error *err);

/* Convert raw r||s (big-endian halves) to DER. Caller frees *der with OPENSSL_free. */
VT_MUST_USE vt_err vt_ecdsa_raw_to_der(const uint8_t *sig, size_t siglen, uint8_t **der, size_t *derlen,
                           vt_error *err);

/* Constant-time equality (CRYPTO_memcmp). */
bool vt_ct_eq(const void *a, const void *b, size_t n);
/* Wipe memory (OPENSSL_cleanse). */
void vt_wipe(void *p, size_t n);

/* Describe the newest OpenSSL error on the queue ("" when none); clears the queue. */
const char *vt_openssl_reason(char *buf, size_t cap);

VT_END_DECLS

#endif
