/* JWS compact serialization (RFC 7515 section 7.1) with ECDSA ES256/ES384/ES512 (RFC 7518
 * section 3.4) and EC JWK thumbprints (RFC 7638), over OpenSSL EVP. Framing only: every signature is made and checked by OpenSSL. */
#ifndef VERITEE_JWS_H
#define VERITEE_JWS_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/codec.h"
#include "veritee/err.h"

VT_BEGIN_DECLS

#define VT_JWS_MAX (1u << 20) /* largest compact JWS accepted */

/* "ES256", "ES384", "ES512" for an EC key's curve; NULL for other keys. */
const char *vt_jws_alg_for_key(const EVP_PKEY *key);

/* Sign payload with priv (EC P-256/384/521). The protected header is {"alg", "typ": typ}
 * followed by the members of `extra` (may be NULL; "alg" in it is refused). *out is a
 * NUL-terminated compact JWS owned by the caller (free()). */
VT_MUST_USE vt_err vt_jws_sign(EVP_PKEY *priv, const char *typ, const json_t *extra, const uint8_t *payload,
                   size_t len, char **out, vt_error *err);

/* A prepared signer: the key (referenced), its algorithm and the protected header of
 * vt_jws_sign serialised and base64url-encoded once. Shared read-only between threads. */
typedef struct vt_jws_signer vt_jws_signer;
VT_MUST_USE vt_err vt_jws_signer_new(EVP_PKEY *priv, const char *typ, const json_t *extra, vt_jws_signer **out,
                                     vt_error *err);
void vt_jws_signer_free(vt_jws_signer *s); /* accepts NULL */
/* vt_jws_sign with a prepared signer: the same bytes. */
VT_MUST_USE vt_err vt_jws_sign_with(const vt_jws_signer *s, const uint8_t *payload, size_t len, char **out,
                                    vt_error *err);

/* Verify a compact JWS with the public key pub. Strict: three base64url parts without padding,
 * a JSON object header whose "alg" is the ES* of pub's curve ("none" and every other algorithm
 * refused), no "crit" and no "b64" member, a raw r||s signature of the curve's size.
 * On success *header (may be NULL) and *payload receive owned copies. Errors: VT_E_INVALID
 * (framing), VT_E_UNSUPPORTED (algorithm, critical header), VT_E_VERIFY (signature). */
VT_MUST_USE vt_err vt_jws_verify(const char *jws, size_t len, EVP_PKEY *pub, json_t **header, vt_buf *payload,
                     vt_error *err);

/* Decode a compact JWS without verifying it (for display): header and payload. */
VT_MUST_USE vt_err vt_jws_peek(const char *jws, size_t len, json_t **header, vt_buf *payload, vt_error *err);

/* RFC 7638 SHA-256 thumbprint of an EC key, base64url (43 characters + NUL). JWK conversion
 * itself is in jose.h (vt_jwk_to_pkey, vt_jwk_from_pkey). */
VT_MUST_USE vt_err vt_jwk_thumbprint(const EVP_PKEY *key, char out[44], vt_error *err);

VT_END_DECLS

#endif
