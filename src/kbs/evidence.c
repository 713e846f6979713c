/* Evidence per TEE (kbs-protocol.md §8): decode the JSON shape a CoCo guest sends, verify it
 * with the broker's trust anchors and collateral (as `veritee verify --trust --collateral`), and
 * turn the verifier's result into normalized claims. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kbs_internal.h"
#include "veritee/cca.h"
#include "veritee/json.h"
#include "veritee/snp.h"
#include "veritee/tdx.h"
#include "veritee/tdx_ccel.h"
#include "veritee/verify.h"

#define EVIDENCE_MAX (1u << 20)

static vt_err b64_member(const json_t *ev, const char *key, vt_buf *out, vt_error *err)
{
    const char *s;
    if (!json_is_object(ev)) return vt_error_set(err, VT_E_INVALID, "evidence", "evidence must be a JSON object");
    VT_GUARD(vt_json_str(ev, key, "primary_evidence", &s, err));
    size_t n = json_string_length(json_object_get(ev, key));
    if (n == 0 || n > EVIDENCE_MAX * 4 / 3 + 4)
        return vt_error_set(err, VT_E_INVALID, "evidence", "primary_evidence.%s: empty or too large", key);
    return vt_b64_decode(s, n, out, err);
}

static vt_err number_array(const json_t *a, vt_buf *out, vt_error *err)
{
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > EVIDENCE_MAX)
        return vt_error_set(err, VT_E_INVALID, "evidence", "primary_evidence.token: expected a non-empty array of bytes");
    size_t n = json_array_size(a);
    out->ptr = malloc(n);
    if (out->ptr == NULL) return vt_error_set(err, VT_E_NOMEM, "evidence", "out of memory");
    out->len = n;
    for (size_t i = 0; i < n; i++) {
        json_t *b = json_array_get(a, i);
        if (!json_is_integer(b) || json_integer_value(b) < 0 || json_integer_value(b) > 255) {
            vt_buf_free(out);
            return vt_error_set(err, VT_E_INVALID, "evidence", "primary_evidence.token[%zu]: expected a byte", i);
        }
        out->ptr[i] = (uint8_t)json_integer_value(b);
    }
    return VT_OK;
}


/* The TDX event log a guest sends (cc_eventlog, kbs-protocol.md section 8): replayed into
 * RTMR0..3; every register the log extends must equal the quote's. Registers the log does
 * not cover are left to policy (their values are in the claims). */
typedef struct replay {
    uint8_t rtmr[4][48];
    size_t events[4];
} replay;

static vt_err replay_event(const vt_tdx_ccel_event *ev, void *ctx, vt_error *err)
{
    replay *r = ctx;
    if (ev->index == 0 || ev->event_type == VT_TCG_EV_NO_ACTION || ev->mr_index == 0) return VT_OK;
    if (ev->mr_index > 4 || !ev->has_sha384)
        return vt_error_set(err, VT_E_INVALID, "event_log", "event %zu: MR index %u or no SHA-384 digest",
                            ev->index, ev->mr_index);
    r->events[ev->mr_index - 1]++;
    return vt_hash2(VT_SHA384, r->rtmr[ev->mr_index - 1], 48, ev->sha384, 48, r->rtmr[ev->mr_index - 1], err);
}

vt_err kbs_check_event_log(const json_t *el, const vt_claims *claims, vt_error *err)
{
    const char *s = json_string_value(el);
    if (s == NULL || s[0] == '\0') return VT_OK;
    vt_buf log = {0};
    replay r;
    memset(&r, 0, sizeof r);
    vt_err rc = vt_b64_decode(s, strlen(s), &log, err);
    if (rc == VT_OK) rc = vt_tdx_ccel_iterate(log.ptr, log.len, replay_event, &r, err);
    vt_buf_free(&log);
    if (rc != VT_OK) {
        char why[VT_ERR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err ? err->msg : "");
        return vt_error_set(err, VT_E_VERIFY, "event_log", "cc_eventlog does not parse: %s", why);
    }
    for (int i = 0; i < 4; i++) {
        if (r.events[i] == 0) continue;
        char name[8];
        snprintf(name, sizeof name, "rtmr%d", i);
        const vt_measurement *m = vt_claims_meas(claims, name);
        if (m == NULL || m->len != 48 || memcmp(m->value, r.rtmr[i], 48) != 0)
            return vt_error_set(err, VT_E_VERIFY, "event_log",
                                "cc_eventlog replays %zu events into RTMR%d to a value the quote does not show",
                                r.events[i], i);
    }
    return VT_OK;
}

/* Every kind goes through the one verification entry (include/veritee/verify.h). */
static vt_err verify_one(vt_kbs *k, const char *tee, const uint8_t *ev, size_t len, STACK_OF(X509) *certs,
                         bool crl_required, vt_time now, vt_verify_result *out, vt_error *err)
{
    vt_verify_opts o = {.tee = tee, .at = now, .certs = certs, .crl_required = crl_required};
    return vt_verify(k->verifiers, ev, len, &o, out, err);
}

static vt_err verify_tdx(vt_kbs *k, const char *tee, const vt_buf *q, vt_time now, vt_verify_result *out,
                         vt_error *err)
{
    return verify_one(k, tee, q->ptr, q->len, NULL, false, now, out, err);
}

static vt_err verify_snp(vt_kbs *k, const json_t *ev, vt_time now, const vt_policy *pol, vt_verify_result *out,
                         vt_error *err)
{
    uint8_t report[VT_SNP_REPORT_SIZE];
    STACK_OF(X509) *certs = sk_X509_new_null();
    if (certs == NULL) return vt_error_set(err, VT_E_NOMEM, "evidence", "out of memory");
    vt_err rc = vt_rcar_snp_from_json(ev, report, certs, err);
    if (rc == VT_OK) rc = verify_one(k, "snp", report, sizeof report, certs, pol->require_revocation, now, out, err);
    sk_X509_pop_free(certs, X509_free);
    return rc;
}

static vt_err verify_cca(vt_kbs *k, const vt_buf *tok, vt_time now, vt_verify_result *out, vt_error *err)
{
    return verify_one(k, "cca", tok->ptr, tok->len, NULL, false, now, out, err);
}

/* The evidence JSON of the TPM kinds (Trustee's attesters: az-snp-vtpm, az-tdx-vtpm, tpm) is the
 * primary_evidence object itself (an older client sends it as a JSON string); the nonce (the
 * runtime-data digest, unpadded: kbs-protocol.md 7.3) is the quote's qualifyingData and, in v2
 * Azure evidence, the HCL user-data; init-data is PCR8 extended once from zero. */
static vt_err verify_tpm_kind(vt_kbs *k, const char *tee, const json_t *ev, vt_time now, const kbs_expect *want,
                              vt_verify_result *out, vt_error *err)
{
    char *text = json_is_string(ev) ? NULL : vt_json_dumps(ev, JSON_COMPACT);
    const char *p = json_is_string(ev) ? json_string_value(ev) : text;
    if (!json_is_string(ev) && !json_is_object(ev))
        return vt_error_set(err, VT_E_INVALID, "evidence", "%s evidence must be a JSON object", tee);
    if (p == NULL) return vt_error_set(err, VT_E_NOMEM, "evidence", "out of memory");
    size_t n = strlen(p);
    vt_err rc = VT_OK;
    if (n > EVIDENCE_MAX) rc = vt_error_set(err, VT_E_INVALID, "evidence", "%s evidence larger than 1 MiB", tee);
    vt_verify_opts o = {.tee = tee, .at = now, .nonce = want->nonce, .nonce_len = want->nonce_len,
                        .init_data = want->init_data, .init_data_len = want->init_data_len};
    if (rc == VT_OK) rc = vt_verify(k->verifiers, (const uint8_t *)p, n, &o, out, err);
    free(text);
    return rc;
}

vt_err kbs_verify_evidence(vt_kbs *k, const char *tee, const json_t *ev, vt_time now, const vt_policy *pol,
                           const kbs_expect *want, vt_verify_result *out, vt_error *err)
{
    vt_buf b = {0};
    vt_err rc;
    const vt_claims *claims = &out->claims;
    if (strcmp(tee, "az-snp-vtpm") == 0 || strcmp(tee, "az-tdx-vtpm") == 0 || strcmp(tee, "tpm") == 0) {
        rc = verify_tpm_kind(k, tee, ev, now, want, out, err);
    } else if (strcmp(tee, "tdx") == 0 || strcmp(tee, "sgx") == 0) {
        VT_GUARD(b64_member(ev, "quote", &b, err));
        json_t *el = json_object_get(ev, "cc_eventlog");
        if (el != NULL && !json_is_null(el) && !json_is_string(el)) {
            vt_buf_free(&b);
            return vt_error_set(err, VT_E_INVALID, "evidence", "primary_evidence.cc_eventlog must be a string or null");
        }
        rc = verify_tdx(k, tee, &b, now, out, err);
        if (rc == VT_OK && strcmp(tee, "tdx") == 0) rc = kbs_check_event_log(el, claims, err);
    } else if (strcmp(tee, "snp") == 0) {
        rc = verify_snp(k, ev, now, pol, out, err);
    } else if (strcmp(tee, "cca") == 0) {
        if (!json_is_object(ev)) return vt_error_set(err, VT_E_INVALID, "evidence", "evidence must be a JSON object");
        VT_GUARD(number_array(json_object_get(ev, "token"), &b, err));
        rc = verify_cca(k, &b, now, out, err);
    } else {
        return vt_error_set(err, VT_E_UNSUPPORTED, "tee", "TEE '%.16s' is not supported", tee);
    }
    vt_buf_free(&b);
    if (rc == VT_OK && strcmp(tee, vt_tee_name(claims->tee)) != 0)
        return vt_error_set(err, VT_E_VERIFY, "tee", "the session is for %s but the evidence is %s", tee,
                            vt_tee_name(claims->tee));
    return rc;
}
