/* Building a test PKI with OpenSSL 3: keys, certificates with arbitrary extensions, CRLs,
 * and PEM/DER output. Used by the emulated TEE and by tests; never by verification. */
#ifndef VERITEE_PKI_H
#define VERITEE_PKI_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/codec.h"
#include "veritee/crypto.h"
#include "veritee/err.h"
#include "veritee/vtime.h"

VT_BEGIN_DECLS

/* New EC key on `curve`. Caller frees with EVP_PKEY_free. */
VT_MUST_USE vt_err vt_pki_ec_key(vt_curve curve, EVP_PKEY **out, vt_error *err);
/* New RSA key of `bits`. */
VT_MUST_USE vt_err vt_pki_rsa_key(int bits, EVP_PKEY **out, vt_error *err);

/* A custom extension: dotted OID, criticality, DER of the extension value (extnValue). */
typedef struct vt_pki_ext {
    const char *oid;
    bool critical;
    const uint8_t *der;
    size_t der_len;
} vt_pki_ext;

typedef struct vt_pki_cert_spec {
    const char *subject_cn;
    const char *subject_o;   /* may be NULL */
    const char *subject_extra; /* may be NULL: "L=Santa Clara,ST=CA,C=US" */
    const uint8_t *serial;   /* big-endian; NULL: 16 random bytes */
    size_t serial_len;
    vt_time not_before, not_after;
    bool ca;                 /* basicConstraints CA:TRUE + keyCertSign/cRLSign */
    int path_len;            /* -1: none */
    const vt_pki_ext *exts;
    size_t n_exts;
    bool rsa_pss;            /* sign with RSA-PSS (SHA-384, salt 48) — AMD's ARK/ASK style */
    vt_hash_alg md;          /* signature digest (default SHA-256 for P-256, SHA-384 otherwise) */
} vt_pki_cert_spec;

/* Certificate for `pub`, signed by issuer_key; issuer NULL = self-signed. */
VT_MUST_USE vt_err vt_pki_cert(const vt_pki_cert_spec *s, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *issuer_key,
                   X509 **out, vt_error *err);

/* CRL issued by issuer, revoking `n` serials (big-endian byte strings of serial_len each). */
VT_MUST_USE vt_err vt_pki_crl(X509 *issuer, EVP_PKEY *issuer_key, vt_time this_update, vt_time next_update,
                  const uint8_t *const *serials, const size_t *serial_lens, size_t n, X509_CRL **out,
                  vt_error *err);

/* Serialisation into owned buffers. */
VT_MUST_USE vt_err vt_pki_cert_pem(X509 *c, vt_buf *out, vt_error *err);
VT_MUST_USE vt_err vt_pki_cert_der(X509 *c, vt_buf *out, vt_error *err);
VT_MUST_USE vt_err vt_pki_crl_der(X509_CRL *c, vt_buf *out, vt_error *err);
VT_MUST_USE vt_err vt_pki_key_pem(EVP_PKEY *k, bool private_key, vt_buf *out, vt_error *err);
/* Load a PEM private key (or public key when private_key is false). */
VT_MUST_USE vt_err vt_pki_key_load_pem(const void *pem, size_t len, bool private_key, EVP_PKEY **out, vt_error *err);

VT_END_DECLS

#endif
