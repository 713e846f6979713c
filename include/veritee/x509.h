/* X.509 over OpenSSL 3: PEM/DER loading, chain verification at an explicit instant with
 * CRLs, fingerprints and extension lookup. */
#ifndef VERITEE_X509_H
#define VERITEE_X509_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/err.h"
#include "veritee/vtime.h"

VT_BEGIN_DECLS

/* Every CERTIFICATE block of a PEM text (len bytes, need not be NUL-terminated; text
 * outside blocks is ignored). Fails when there is none or one does not decode.
 * Caller frees with sk_X509_pop_free(*out, X509_free). */
VT_MUST_USE vt_err vt_pem_certs(const void *pem, size_t len, STACK_OF(X509) **out, vt_error *err);
/* The same; a block byte-identical to a certificate of `known` (may be NULL) yields that
 * object (reference taken) instead of a new decode. */
VT_MUST_USE vt_err vt_pem_certs_known(const void *pem, size_t len, STACK_OF(X509) *known,
                                      STACK_OF(X509) **out, vt_error *err);
/* One certificate from DER, or from PEM when the bytes start with "-----BEGIN". */
VT_MUST_USE vt_err vt_cert_parse(const void *p, size_t len, X509 **out, vt_error *err);
/* A CRL from DER or PEM. */
VT_MUST_USE vt_err vt_crl_parse(const void *p, size_t len, X509_CRL **out, vt_error *err);

/* Fill OpenSSL's per-certificate cache (its extensions and SHA-1 fingerprint) now. OpenSSL
 * fills it on a certificate's first use, and two threads that use a certificate for the first
 * time at once both write it (openssl/openssl#32609). Every certificate veritee decodes or
 * makes is settled before it is returned, so sharing one between threads is only reading. */
void vt_x509_settle(X509 *c);

/* SHA-256 of the DER encoding. */
VT_MUST_USE vt_err vt_x509_sha256(X509 *c, uint8_t out[32], vt_error *err);
/* Validity window of a certificate in Unix seconds. */
VT_MUST_USE vt_err vt_x509_validity(const X509 *c, vt_time *not_before, vt_time *not_after, vt_error *err);
VT_MUST_USE vt_err vt_crl_times(const X509_CRL *crl, vt_time *this_update, vt_time *next_update, vt_error *err);

/* veritee's one validity rule, for every certificate, CRL and signed collateral item of every
 * TEE (RFC 5280 section 4.1.2.5: "the validity period ... is the period of time from notBefore
 * through notAfter, inclusive"): an item is valid at `at` when from <= at <= until, the
 * boundary seconds included. Applies to notBefore/notAfter, CRL thisUpdate/nextUpdate and
 * collateral issueDate/nextUpdate alike (docs/architecture.md, "Decisions"). */
static inline bool vt_valid_at(vt_time at, vt_time from, vt_time until)
{
    return at >= from && at <= until;
}
/* The rule applied to a named item: VT_E_EXPIRED (check "validity") with "<what> expired on
 * <until>" or "<what> is not valid before <from>" when `at` is outside [from, until]. */
VT_MUST_USE vt_err vt_window_check(const char *what, vt_time from, vt_time until, vt_time at, vt_error *err);
/* The rule applied to a certificate ("certificate \"<CN>\" expired on ...") and to a CRL. */
VT_MUST_USE vt_err vt_x509_check_time(const X509 *c, vt_time at, vt_error *err);
VT_MUST_USE vt_err vt_crl_check_time(const X509_CRL *crl, vt_time at, vt_error *err);
/* Subject organisation of every root and CA of veritee's emulated TEE: certificates under
 * such a root are test evidence, and verifiers say so (`emulated` in the claims). */
#define VT_EMULATED_ORGANIZATION "veritee emulated TEE (not a vendor root)"
bool vt_x509_is_emulated(const X509 *c);

/* Subject common name into out (empty when absent). */
void vt_x509_subject_cn(const X509 *c, char *out, size_t cap);
void vt_x509_issuer_cn(const X509 *c, char *out, size_t cap);

/* A memo of CRL validity checks (the CRL's issuer, scope, times and signature) that passed,
 * for chain verifications that check the same CRL again: the same CRL object, issued by the
 * same certificate object, at the same instant and with the same flags is not verified twice.
 * Only clean passes are kept, never a failure; whether a certificate is listed in the CRL is
 * looked up on every verification. Holds references to the CRLs and issuers it remembers
 * (a few, the oldest replaced). Thread-safe; not global: the caller owns it (e.g. one per TDX
 * verifier) and frees it after the last verification using it. Active with OpenSSL 3.0 only
 * (the check it wraps was read there); elsewhere every check is OpenSSL's. */
typedef struct vt_crl_memo vt_crl_memo;
VT_MUST_USE vt_err vt_crl_memo_new(vt_crl_memo **out, vt_error *err);
void vt_crl_memo_free(vt_crl_memo *m);
/* How many CRL checks the memo answered (diagnostics and tests). */
unsigned long vt_crl_memo_hits(vt_crl_memo *m);

typedef struct vt_chain_opts {
    vt_time at;                   /* verification instant */
    STACK_OF(X509_CRL) *crls;     /* CRLs to consult (may be NULL) */
    bool crl_required;            /* every non-root certificate needs a CRL from its issuer */
    bool allow_missing_leaf_crl;  /* with CRLs given: the leaf's own CRL may be absent */
    vt_crl_memo *crl_memo;        /* optional (NULL: none): CRL checks that passed, reused */
} vt_chain_opts;

/* Verify leaf -> untrusted intermediates -> one of the trusted roots at opts->at, with
 * revocation through the CRLs when given (CRL signatures and validity are checked too).
 * Validity follows vt_valid_at: a certificate is still valid at its notAfter second and a CRL
 * at its nextUpdate second (OpenSSL alone treats both as already past).
 * Errors: VT_E_EXPIRED (certificate or CRL outside its window), VT_E_REVOKED, VT_E_MISSING
 * (required CRL absent), VT_E_VERIFY (no path to a trusted root, bad signature).
 * `what` names the chain in messages ("PCK certificate chain"); the error's check is
 * "cert_chain" (a caller's own check renames it: vt_check_step, vt_error_name). */
VT_MUST_USE vt_err vt_chain_verify(X509 *leaf, STACK_OF(X509) *untrusted, STACK_OF(X509) *roots,
                       const vt_chain_opts *opts, const char *what, vt_error *err);

/* The DER contents (after tag/length) of the extension with dotted OID `oid`; *out points
 * into the certificate. VT_E_MISSING when absent. */
VT_MUST_USE vt_err vt_x509_ext_der(const X509 *c, const char *oid, const uint8_t **out, size_t *len,
                       vt_error *err);

VT_END_DECLS

#endif
