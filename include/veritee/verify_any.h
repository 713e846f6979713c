/* The earlier one-call forms of the verification entry (include/veritee/verify.h), kept for
 * their callers: evidence bytes -> claims with a verifier built for the call, and the
 * long-lived verifier under its former name. */
#ifndef VERITEE_VERIFY_ANY_H
#define VERITEE_VERIFY_ANY_H

#include "veritee/api.h"
#include "veritee/verify.h"

VT_BEGIN_DECLS

/* Verify evidence of kind tee (NULL = detect) at `at` with a verifier built from s for this
 * call, and fill claims; checks (may be NULL) receives the named checks. As vt_verify. */
vt_err vt_verify_to_claims(const vt_verify_sources *s, const char *tee, const uint8_t *ev, size_t len,
                           vt_time at, vt_claims *out, vt_checks *checks, vt_error *err);

/* The long-lived verifier under its former name. */
typedef vt_verifier vt_verify_cache;
vt_err vt_verify_cache_new(const vt_verify_sources *s, vt_verify_cache **out, vt_error *err);
void vt_verify_cache_free(vt_verify_cache *c); /* accepts NULL */
/* As vt_verify, returning the claims and checks only. */
vt_err vt_verify_cache_claims(vt_verify_cache *c, const char *tee, const uint8_t *ev, size_t len,
                              STACK_OF(X509) *snp_certs, bool snp_crl_required, vt_time at, vt_claims *out,
                              vt_checks *checks, vt_error *err);

VT_END_DECLS

#endif
