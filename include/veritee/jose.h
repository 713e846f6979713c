/* JOSE pieces the key broker needs, over OpenSSL 3: JWK (EC P-256/P-384/P-521, RSA) to and
 * from EVP_PKEY, and JWE in the flattened JSON serialisation (RFC 7516 section 7.2.2) with
 * ECDH-ES+A256KW or RSA-OAEP-256 key management and A256GCM content encryption (RFC 7518),
 * the protected header emitted in the canonical order CoCo guests re-serialise. */
#ifndef VERITEE_JOSE_H
#define VERITEE_JOSE_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>

#include "veritee/api.h"
#include "veritee/codec.h"
#include "veritee/err.h"

VT_BEGIN_DECLS

/* The JOSE context: what JWK import and JWE encryption and decryption would otherwise build or fetch per call
 * (the curves' parameters, the AES-GCM and key-wrap ciphers, the Concat KDF). Shared read-only
 * between threads; the functions taking one accept NULL (then fetched per call). */
typedef struct vt_jose_ctx vt_jose_ctx;
VT_MUST_USE vt_err vt_jose_ctx_new(vt_jose_ctx **out, vt_error *err);
void vt_jose_ctx_free(vt_jose_ctx *cx); /* accepts NULL */

/* Public key from a JWK object (kty EC with crv/x/y, or RSA with n/e). Private members are
 * ignored unless private_key is true (then "d" is required: tests and the guest client). */
VT_MUST_USE vt_err vt_jwk_to_pkey(const json_t *jwk, bool private_key, EVP_PKEY **out, vt_error *err);
/* vt_jwk_to_pkey with a JOSE context (NULL: none). */
VT_MUST_USE vt_err vt_jwk_to_pkey_cx(const vt_jose_ctx *cx, const json_t *jwk, bool private_key, EVP_PKEY **out,
                                     vt_error *err);
/* JWK of the public part of key; alg (may be NULL) is added as "alg". Caller owns the result. */
VT_MUST_USE vt_err vt_jwk_from_pkey(EVP_PKEY *key, const char *alg, json_t **out, vt_error *err);

/* Encrypt plaintext to the recipient JWK (its "alg" selects ECDH-ES+A256KW or RSA-OAEP-256;
 * RSA1_5 is refused). Returns the flattened JWE object {protected, encrypted_key, iv,
 * ciphertext, tag}. */
VT_MUST_USE vt_err vt_jwe_encrypt(const json_t *recipient_jwk, const uint8_t *plaintext, size_t len, json_t **out,
                      vt_error *err);
/* vt_jwe_encrypt with a JOSE context (NULL: none). */
VT_MUST_USE vt_err vt_jwe_encrypt_cx(const vt_jose_ctx *cx, const json_t *recipient_jwk, const uint8_t *plaintext,
                                     size_t len, json_t **out, vt_error *err);
/* vt_jwe_encrypt_cx to `recipient`, the key vt_jwk_to_pkey_cx made from recipient_jwk earlier
 * (borrowed; NULL: made here from the JWK). A broker that checked the TEE key when it issued the
 * token spares the second decoding and point check. recipient_jwk still selects the algorithm;
 * a key that is not that JWK's encrypts to the wrong party: pass only the JWK's own. */
VT_MUST_USE vt_err vt_jwe_encrypt_to(const vt_jose_ctx *cx, const json_t *recipient_jwk, EVP_PKEY *recipient,
                                     const uint8_t *plaintext, size_t len, json_t **out, vt_error *err);
/* Deterministic form for known-answer tests: the ephemeral EC key (ECDH-ES only), CEK (32) and
 * IV (12) are given. */
VT_MUST_USE vt_err vt_jwe_encrypt_with(const json_t *recipient_jwk, EVP_PKEY *ephemeral, const uint8_t cek[32],
                           const uint8_t iv[12], const uint8_t *plaintext, size_t len, json_t **out,
                           vt_error *err);
/* Decrypt a flattened JWE with the recipient's private key. Plaintext is owned by the caller
 * (wipe it with vt_buf_free_secret). */
VT_MUST_USE vt_err vt_jwe_decrypt(const json_t *jwe, EVP_PKEY *priv, vt_buf *plaintext, vt_error *err);
/* A JWE decryptor, for one thread at a time (the guest client keeps one): vt_jwe_decrypt with the
 * JOSE context's prepared curves, ciphers and KDF, and the object of the sender's ephemeral key
 * kept from one JWE to the next, its point replaced (and checked to lie on the curve) each time
 * instead of a key object built per JWE. It holds no secret. cx is borrowed (NULL: none) and
 * must outlive it. */
typedef struct vt_jwe_decryptor vt_jwe_decryptor;
VT_MUST_USE vt_err vt_jwe_decryptor_new(const vt_jose_ctx *cx, vt_jwe_decryptor **out, vt_error *err);
void vt_jwe_decryptor_free(vt_jwe_decryptor *d); /* accepts NULL */
/* vt_jwe_decrypt through d: the same checks and errors. */
VT_MUST_USE vt_err vt_jwe_decryptor_decrypt(vt_jwe_decryptor *d, const json_t *jwe, EVP_PKEY *priv,
                                            vt_buf *plaintext, vt_error *err);

VT_END_DECLS

#endif
