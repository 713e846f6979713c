/* CCA token verification (RMM spec A7.2.3.3.2 binding; draft-ffm-rats-cca-token section 5):
 * platform signature with a trusted CPAK, realm signature with the RAK, RAK binding,
 * lifecycle, profile and realm challenge. Every check is named and all of them are run. */
#include <stdio.h>
#include <string.h>

#include "veritee/cca.h"

#define CANDIDATES_MAX 16

static void hex_prefix(vt_bytes b, char out[33])
{
    size_t n = b.len > 16 ? 16 : b.len;
    vt_hex_encode(b.ptr, n, out);
}

static vt_err platform_signature(const vt_cca_token *t, const vt_cca_trust *trust, char *detail,
                                 size_t dcap, const vt_cca_cpak **used, vt_error *e)
{
    const vt_cca_platform_claims *p = &t->platform;
    char inst[67], impl[65];
    vt_hex_encode(p->instance_id.ptr, p->instance_id.len, inst);
    vt_hex_encode(p->implementation_id.ptr, p->implementation_id.len, impl);
    if (trust == NULL || trust->n == 0)
        return vt_error_set(e, VT_E_MISSING, "platform_signature",
                            "no CPAK trust anchors given");
    const vt_cca_cpak *cand[CANDIDATES_MAX];
    size_t n = vt_cca_trust_find(trust, p->instance_id, p->implementation_id, cand, CANDIDATES_MAX);
    if (n == 0)
        return vt_error_set(e, VT_E_MISSING, "platform_signature",
                            "no trusted CPAK for platform instance id %s / implementation id %s",
                            inst, impl);
    for (size_t i = 0; i < n; i++) {
        vt_error ke;
        vt_error_clear(&ke);
        if (vt_cose_sign1_verify(&t->platform_cose, cand[i]->key, NULL, 0, "platform_signature",
                                 &ke) == VT_OK) {
            snprintf(detail, dcap, "%s signature verifies with CPAK %s",
                     vt_cose_alg_name(t->platform_cose.alg), cand[i]->label);
            *used = cand[i];
            return VT_OK;
        }
        if (n == 1) {
            return vt_error_set(e, ke.code == VT_E_UNSUPPORTED ? VT_E_UNSUPPORTED : VT_E_VERIFY, "platform_signature",
                                "platform token signature does not verify with CPAK %s: %s",
                                cand[i]->label, ke.msg);
        }
    }
    return vt_error_set(e, VT_E_VERIFY, "platform_signature",
                        "platform token signature does not verify with any of the %zu candidate "
                        "CPAKs (first: %s)", n, cand[0]->label);
}

static vt_err realm_signature(const vt_cca_token *t, char *detail, size_t dcap, vt_error *e)
{
    EVP_PKEY *rak = NULL;
    const vt_cca_realm_claims *r = &t->realm;
    if (vt_cose_key_to_pkey(&r->rak_key, &rak, e) != VT_OK) {
        char why[VT_ERR_MSG_MAX];
        snprintf(why, sizeof why, "%s", e->msg);
        return vt_error_set(e, VT_E_VERIFY, "realm_signature", "realm public key (RAK) is unusable: %s", why);
    }
    vt_err rc = VT_OK;
    if (r->rak_key.has_alg && r->rak_key.alg != t->realm_cose.alg)
        rc = vt_error_set(e, VT_E_VERIFY, "realm_signature",
                          "realm token is signed %s but its RAK is for COSE algorithm %lld",
                          vt_cose_alg_name(t->realm_cose.alg), (long long)r->rak_key.alg);
    else
        rc = vt_cose_sign1_verify(&t->realm_cose, rak, NULL, 0, "realm_signature", e);
    EVP_PKEY_free(rak);
    if (rc == VT_OK)
        snprintf(detail, dcap, "%s signature verifies with the RAK in the realm token (%s)",
                 vt_cose_alg_name(t->realm_cose.alg), r->rak_is_cose_key ? "COSE_Key" : "raw point");
    else if (rc != VT_E_UNSUPPORTED)
        rc = e->code = VT_E_VERIFY;
    return rc;
}

static vt_err rak_binding(const vt_cca_token *t, char *detail, size_t dcap, vt_error *e)
{
    vt_hash_alg alg;
    uint8_t h[64];
    char a[33], b[33];
    const vt_cca_realm_claims *r = &t->realm;
    const vt_bytes ch = t->platform.challenge;
    VT_GUARD(vt_cca_hash_alg(r->rak_hash_alg_id, &alg, e));
    VT_GUARD(vt_hash(alg, r->rak.ptr, r->rak.len, h, e));
    size_t hl = vt_hash_len(alg);
    hex_prefix(ch, a);
    hex_prefix((vt_bytes){h, hl}, b);
    if (ch.len != hl || !vt_ct_eq(ch.ptr, h, hl))
        return vt_error_set(e, VT_E_VERIFY, "rak_binding",
                            "binding verification failed: platform challenge %s... (%zu bytes) is "
                            "not the %s of the realm public key, %s...",
                            a, ch.len, vt_hash_name(alg), b);
    snprintf(detail, dcap, "platform challenge = %s(RAK) = %s...", vt_hash_name(alg), b);
    return VT_OK;
}

static vt_err lifecycle(const vt_cca_token *t, bool allow_debug, char *detail, size_t dcap,
                        vt_error *e)
{
    uint64_t lc = t->platform.lifecycle;
    snprintf(detail, dcap, "security lifecycle 0x%04llx (%s)", (unsigned long long)lc,
             vt_cca_lifecycle_name(lc));
    if (vt_cca_lifecycle_secured(lc)) return VT_OK;
    if (allow_debug) {
        snprintf(detail, dcap, "security lifecycle 0x%04llx (%s) accepted by caller opt-out",
                 (unsigned long long)lc, vt_cca_lifecycle_name(lc));
        return VT_OK;
    }
    return vt_error_set(e, VT_E_VERIFY, "platform_lifecycle",
                        "platform security lifecycle 0x%04llx (%s) is not in the secured state "
                        "(0x3000-0x30ff)", (unsigned long long)lc, vt_cca_lifecycle_name(lc));
}

/* A profile veritee does not know is a failed check (VT_E_VERIFY, exit 1 in the CLI), like any
 * other: the token was read, its claims just cannot be judged under a known profile. */
static vt_err profile(const vt_cca_token *t, char *detail, size_t dcap, vt_error *e)
{
    const vt_cca_platform_claims *p = &t->platform;
    const vt_cca_realm_claims *r = &t->realm;
    if (p->profile_id == VT_CCA_PROFILE_UNKNOWN)
        return vt_error_set(e, VT_E_VERIFY, "profile", "unknown platform profile '%.*s'",
                            (int)(p->profile.len > 80 ? 80 : p->profile.len),
                            p->profile.len ? (const char *)p->profile.ptr : "");
    if (r->profile_id == VT_CCA_PROFILE_UNKNOWN)
        return vt_error_set(e, VT_E_VERIFY, "profile", "unknown realm profile '%.*s'",
                            (int)(r->profile.len > 80 ? 80 : r->profile.len),
                            r->profile.len ? (const char *)r->profile.ptr : "");
    snprintf(detail, dcap, "platform profile %s (%.*s), realm profile %s", vt_cca_profile_name(p->profile_id),
             (int)p->profile.len, (const char *)p->profile.ptr,
             r->has_profile ? vt_cca_profile_name(r->profile_id) : "absent (cca-ssd)");
    return VT_OK;
}

static vt_err challenge(const vt_cca_token *t, const vt_cca_verify_opts *o, char *detail,
                        size_t dcap, vt_error *e)
{
    uint8_t want[VT_CCA_CHALLENGE_LEN] = {0};
    if (o->nonce_len == 0 || o->nonce_len > VT_CCA_CHALLENGE_LEN)
        return vt_error_set(e, VT_E_ARG, "realm_challenge", "expected nonce is %zu bytes (1..64 allowed)",
                            o->nonce_len);
    memcpy(want, o->nonce, o->nonce_len);
    char a[33], b[33];
    hex_prefix(t->realm.challenge, a);
    hex_prefix((vt_bytes){want, sizeof want}, b);
    if (!vt_ct_eq(t->realm.challenge.ptr, want, sizeof want))
        return vt_error_set(e, VT_E_VERIFY, "realm_challenge",
                            "realm challenge %s... is not the expected nonce %s...%s", a, b,
                            o->nonce_len < 64 ? " (zero-padded to 64 bytes)" : "");
    snprintf(detail, dcap, "realm challenge equals the expected nonce (%zu bytes%s)", o->nonce_len,
             o->nonce_len < 64 ? ", zero-padded" : "");
    return VT_OK;
}

vt_err vt_cca_verify(const vt_cca_token *t, const vt_cca_verify_opts *opts, vt_checks *checks,
                     const vt_cca_cpak **cpak_used, vt_error *err)
{
    vt_cca_verify_opts none = {0};
    const vt_cca_verify_opts *o = opts ? opts : &none;
    vt_err first = VT_OK;
    const vt_cca_cpak *used = NULL;
    char detail[240];
    vt_error e;

    /* every check runs; the first failure is the verdict */
#define RUN(name, call)                                                                        \
    do {                                                                                       \
        vt_error_clear(&e);                                                                    \
        detail[0] = '\0';                                                                      \
        vt_err rc_ = vt_check_step(checks, &e, name, (call), "%s", detail);                    \
        if (rc_ != VT_OK && first == VT_OK) {                                                  \
            first = rc_;                                                                       \
            if (err != NULL) *err = e;                                                         \
        }                                                                                      \
    } while (0)

    RUN("platform_signature", platform_signature(t, o->trust, detail, sizeof detail, &used, &e));
    RUN("realm_signature", realm_signature(t, detail, sizeof detail, &e));
    RUN("rak_binding", rak_binding(t, detail, sizeof detail, &e));
    RUN("platform_lifecycle", lifecycle(t, o->allow_debug_lifecycle, detail, sizeof detail, &e));
    RUN("profile", profile(t, detail, sizeof detail, &e));
    if (o->nonce != NULL) RUN("realm_challenge", challenge(t, o, detail, sizeof detail, &e));
    else vt_check_skip(checks, "realm_challenge", "no expected nonce given");
#undef RUN
    if (cpak_used != NULL) *cpak_used = used;
    if (first == VT_OK) vt_error_clear(err);
    return first;
}
