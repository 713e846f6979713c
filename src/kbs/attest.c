/* RCAR handshake handlers (kbs-protocol.md §4-§7, §9, §10): /auth opens a session with a fresh
 * single-use nonce; /attest checks the nonce, verifies the evidence (and the GPUs beside it:
 * attest_gpu.c), the runtime-data and init-data bindings, appraises the claims and returns a
 * signed EAR with one submod per CPU and GPU. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kbs_internal.h"
#include "veritee/crypto.h"
#include "veritee/jose.h"
#include "veritee/json.h"

static const char *const TEES[] = {"tdx", "sgx", "snp", "cca", "az-snp-vtpm", "az-tdx-vtpm"};

static bool tee_supported(const vt_kbs *k, const char *tee)
{
    for (size_t i = 0; i < sizeof TEES / sizeof TEES[0]; i++)
        if (strcmp(tee, TEES[i]) == 0) return true;
    /* a TPM quote proves something only with an attestation key the broker was told to trust */
    if (strcmp(tee, "tpm") == 0) return k->cfg.tpm_aks != NULL;
    return k->cfg.insecure_sample_tee && strcmp(tee, "sample") == 0;
}

static void set_cookie(vt_kbs_reply *r, const vt_session *s)
{
    r->set_cookie = true;
    snprintf(r->session_id, sizeof r->session_id, "%.32s", s->id);
    r->session_expires = s->expires;
}

void vt_kbs_auth(vt_kbs *k, const vt_kbs_call *c, vt_kbs_reply *r)
{
    memset(r, 0, sizeof *r);
    vt_error e = {0};
    vt_rcar_request req;
    if (vt_rcar_request_parse(c->body, c->body_len, &req, &e) != VT_OK) {
        kbs_fail(r, 401, "AttestationError", "Attestation error: RCAR handshake Auth failed: %s", e.msg);
        return;
    }
    if (!tee_supported(k, req.tee)) {
        kbs_fail(r, 401, "AttestationError", "Attestation error: RCAR handshake Auth failed: TEE '%s' is not supported", req.tee);
        return;
    }
    uint8_t rnd[16 + VT_KBS_NONCE_LEN];
    if (kbs_random(k, rnd, sizeof rnd, &e) != VT_OK) {
        kbs_fail(r, 401, "AttestationError", "%s", e.msg);
        return;
    }
    rnd[6] = (uint8_t)((rnd[6] & 0x0f) | 0x40); /* UUIDv4, simple form (§9) */
    rnd[8] = (uint8_t)((rnd[8] & 0x3f) | 0x80);
    vt_session s;
    memset(&s, 0, sizeof s);
    vt_hex_encode(rnd, 16, s.id);
    s.nonce = vt_b64_encode(rnd + 16, VT_KBS_NONCE_LEN, false);
    s.tee = req.tee;
    vt_audit_text(c->client, VT_SESSION_CLIENT_MAX, s.client, sizeof s.client);
    /* Only what the session needs is kept (the request may be up to the body limit; extra-params
     * is not used after /auth). */
    json_t *kept = json_pack("{ss ss}", "tee", req.tee, "version", "0.4.0");
    s.request = kept ? vt_json_dumps(kept, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(kept);
    s.created = c->now;
    s.expires = c->now + k->cfg.session_lifetime;
    vt_wipe(rnd, sizeof rnd);
    if (s.nonce == NULL || s.request == NULL) {
        kbs_fail(r, 401, "AttestationError", "out of memory");
        goto out;
    }
    vt_session_limit hit = VT_SESSION_LIMIT_NONE;
    if (vt_store_session_put_limited(k->cfg.store, &s, k->cfg.max_sessions, k->cfg.max_sessions_per_client, c->now,
                                     &hit, &e) != VT_OK) {
        if (kbs_store_down(r, "session", &e)) goto out;
        kbs_fail(r, 401, "AttestationError", "Attestation error: cannot store the session: %s", e.msg);
        goto out;
    }
    if (hit == VT_SESSION_LIMIT_TOTAL) {
        kbs_fail(r, 503, "TooManySessions", "the limit of %llu live sessions is reached: retry later",
                 (unsigned long long)k->cfg.max_sessions);
        goto out;
    }
    if (hit == VT_SESSION_LIMIT_CLIENT) {
        kbs_fail(r, 429, "TooManySessions", "this client has %llu live sessions, the limit: retry later",
                 (unsigned long long)k->cfg.max_sessions_per_client);
        goto out;
    }
    if (vt_store_nonce_put(k->cfg.store, s.nonce, s.expires, &e) != VT_OK) {
        /* the session is of no use without its challenge: not left to hold a place until it expires */
        vt_error ignore;
        if (vt_store_session_delete(k->cfg.store, s.id, &ignore) != VT_OK) {
            /* it expires with its lifetime all the same */
        }
        if (kbs_store_down(r, "nonce", &e)) goto out;
        if (e.code == VT_E_NOMEM) /* the store's table of challenges is full: a load to wait out */
            kbs_fail(r, 503, "TooManySessions", "no room for another challenge (%s): retry later", e.msg);
        else
            kbs_fail(r, 401, "AttestationError", "Attestation error: cannot store the session: %s", e.msg);
        goto out;
    }
    r->status = 200;
    r->json = json_pack("{ss ss}", "nonce", s.nonce, "extra-params", "");
    set_cookie(r, &s);
    if (k->has_metrics) vt_metric_inc(k->m.active_sessions, NULL, 1);
out:
    free(s.nonce);
    free(s.request);
}

typedef struct attest_ctx {
    vt_kbs *k;
    const vt_kbs_call *c;
    vt_session *s;
    vt_rcar_attestation a;
    kbs_docs *docs; /* the policy and reference values (shared: docs_cache.c) */
    uint8_t rd[64];
    uint8_t init[64];
    size_t init_len;
    json_t *init_claims;
    json_t *additional;  /* parsed tee-evidence.additional_evidence (NULL: none) */
    uint8_t dev_rd[64];  /* the devices' runtime-data hash (vt_rcar_device_binding) */
    kbs_gpus gpus;
    json_t *ear;
    EVP_PKEY *tee_key;   /* a.tee_pubkey, checked (check_tee_key) */
    /* The big members last (83 KiB): zeroing them whole was the most memory a round wrote.
     * Each is made empty by what fills it (vt_verify_result_init, vt_policy_appraise), not by
     * the memset of the members above. */
    vt_verify_result vr; /* the CPU evidence's verification; its claims: vr.claims */
    vt_appraisal ap;
} attest_ctx;

/* Init-data digest into the TEE's field (§7.4): pad/trunc to the field size; CCA exact; the TPM
 * kinds extend PCR8 with it (their verifier has checked it already). */
static vt_err check_init_data(attest_ctx *x, vt_error *err)
{
    const vt_claims *c = &x->vr.claims;
    size_t fl = c->init_data_len;
    if (fl == 0) return vt_error_set(err, VT_E_VERIFY, "init_data", "the evidence has no init-data field");
    if (c->tee == VT_TEE_CCA && x->init_len != fl)
        return vt_error_set(err, VT_E_VERIFY, "init_data", "CCA init-data must be hashed with sha512 (RPV is 64 bytes)");
    if (!vt_claims_init_data_binds(c, x->init, x->init_len))
        return vt_error_set(err, VT_E_VERIFY, "init_data", "init-data digest does not match %s", c->init_data_name);
    return VT_OK;
}

/* The runtime-data digest as the TPM kinds carry it: unpadded (the attesters quote the digest
 * itself; Azure's vTPM takes at most 50 bytes). */
#define TPM_RD_LEN 48 /* SHA-384, the binding's hash */

/* The runtime data the CPU evidence binds. Additional (GPU) evidence is tens of kilobytes and
 * each device's claims are in its own submod: the token carries its SHA-384 instead. */
static json_t *runtime_claims(const attest_ctx *x)
{
    if (x->a.additional[0] == '\0')
        return json_pack("{ss ss sO}", "additional-evidence", "", "nonce", x->a.nonce, "tee-pubkey",
                         (json_t *)x->a.tee_pubkey);
    uint8_t d[48];
    char h[97];
    if (vt_hash(VT_SHA384, x->a.additional, strlen(x->a.additional), d, NULL) != VT_OK) return NULL;
    vt_hex_encode(d, sizeof d, h);
    return json_pack("{ss ss sO}", "additional-evidence-sha384", h, "nonce", x->a.nonce, "tee-pubkey",
                     (json_t *)x->a.tee_pubkey);
}

/* The `sample` TEE (test only, behind insecure_sample_tee): report_data must be the raw digest. */
static vt_err sample_ear(attest_ctx *x, vt_error *err)
{
    const char *rd;
    vt_buf b = {0};
    if (!json_is_object(x->a.primary)) return vt_error_set(err, VT_E_INVALID, "evidence", "sample evidence must be an object");
    VT_GUARD(vt_json_str(x->a.primary, "report_data", "primary_evidence.report_data", &rd, err));
    VT_GUARD(vt_b64_decode(rd, strlen(rd), &b, err));
    bool ok = b.len == 48 && vt_ct_eq(b.ptr, x->rd, 48);
    vt_buf_free(&b);
    if (!ok) return vt_error_set(err, VT_E_VERIFY, "report_data", "runtime data binding mismatch (sample report_data)");
    vt_appraisal_init(&x->ap);
    snprintf(x->ap.policy_id, sizeof x->ap.policy_id, "default");
    x->ap.vector.v[VT_AR4SI_CONFIGURATION] = 2;
    x->ap.vector.v[VT_AR4SI_EXECUTABLES] = 3;
    x->ap.vector.v[VT_AR4SI_HARDWARE] = 2;
    x->ap.status = vt_ar4si_status(&x->ap.vector);
    vt_ear_submod sub = {.label = "cpu0", .appraisal = &x->ap};
    vt_ear_opts o = {.iat = x->c->now, .ttl = x->k->cfg.token_lifetime, .issuer = x->k->cfg.issuer};
    VT_GUARD(vt_ear_build(&sub, 1, &o, &x->ear, err));
    json_t *ae = json_object_get(json_object_get(json_object_get(x->ear, "submods"), "cpu0"),
                                 "ear.veraison.annotated-evidence");
    json_object_set(ae, "sample", (json_t *)x->a.primary);
    json_object_set_new(ae, "report_data", json_string(rd));
    json_object_set_new(ae, "runtime_data_claims", runtime_claims(x));
    return VT_OK;
}

static vt_err appraise(attest_ctx *x, const char *tee, vt_error *err)
{
    VT_GUARD(kbs_docs_get(x->k, tee, &x->docs, err));
    const vt_policy *pol = &x->docs->pol;
    const vt_refvals *rv = &x->docs->rv;
    vt_tee t = VT_TEE_UNKNOWN;
    bool tpm = vt_tee_parse(tee, &t, NULL) == VT_OK && vt_tee_has_tpm(t);
    kbs_expect want = {.nonce = x->rd, .nonce_len = TPM_RD_LEN, .init_data = x->a.has_init_data ? x->init : NULL,
                       .init_data_len = x->init_len};
    VT_GUARD(kbs_verify_evidence(x->k, tee, x->a.primary, x->c->now, pol, &want, &x->vr, err));
    /* the tpm kind may carry only the digest's first 32 bytes (the TpmAttester's truncation; its
     * verifier accepted exactly that) */
    size_t rdl = !tpm ? 64 : x->vr.claims.report_data_len == 32 && t == VT_TEE_TPM ? 32 : TPM_RD_LEN;
    if (x->vr.claims.report_data_len < rdl || !vt_ct_eq(x->vr.claims.report_data, x->rd, rdl) ||
        !vt_bytes_is_zero(x->vr.claims.report_data + rdl, x->vr.claims.report_data_len - rdl))
        return vt_error_set(err, VT_E_VERIFY, "report_data",
                            "runtime data binding mismatch: report data is not SHA-384(JCS(nonce, tee-pubkey, additional-evidence))");
    if (x->a.has_init_data) VT_GUARD(check_init_data(x, err));
    /* the GPUs beside it: each verified alone, each its own submod (attest_gpu.c) */
    if (x->additional != NULL) {
        VT_GUARD(vt_rcar_device_binding(x->a.nonce, x->a.tee_pubkey, NULL, x->dev_rd, err));
        VT_GUARD(kbs_gpus_verify(x->k, x->additional, x->dev_rd, x->c->now, &x->gpus, err));
    }
    uint8_t want_init[64] = {0};
    vt_appraise_ctx ctx = {.at = x->c->now, .refvals = rv, .report_data = x->rd, .report_data_len = rdl,
                           .n_gpus = x->gpus.n_verified};
    if (x->a.has_init_data) {
        memcpy(want_init, x->init, x->init_len);
        ctx.init_data = want_init;
        ctx.init_data_len = tpm                                   ? x->init_len
                            : x->vr.claims.init_data_len < x->init_len ? x->vr.claims.init_data_len
                                                                    : x->init_len;
    }
    VT_GUARD(vt_policy_appraise(pol, &x->vr.claims, &ctx, &x->ap, err));
    kbs_gpus_appraise(&x->gpus, pol, x->c->now, rv, x->dev_rd);
    json_t *rt = runtime_claims(x);
    vt_ear_submod *sub = calloc(1 + x->gpus.n, sizeof *sub);
    if (sub == NULL) {
        json_decref(rt);
        return vt_error_set(err, VT_E_NOMEM, "ear", "out of memory");
    }
    sub[0] = (vt_ear_submod){.label = "cpu0", .appraisal = &x->ap, .claims = &x->vr.claims, .runtime_data_claims = rt};
    for (size_t i = 0; i < x->gpus.n; i++) {
        const kbs_gpu *g = &x->gpus.dev[i];
        sub[1 + i] = (vt_ear_submod){.label = g->label, .appraisal = &g->ap, .claims = g->verified ? &g->claims : NULL};
    }
    /* the checks that did not pass travel in the EAR: a refused guest can say why */
    vt_ear_opts o = {.iat = x->c->now, .ttl = x->k->cfg.token_lifetime, .issuer = x->k->cfg.issuer,
                     .include_failed_checks = true};
    vt_err rc = vt_ear_build(sub, 1 + x->gpus.n, &o, &x->ear, err);
    free(sub);
    json_decref(rt);
    if (rc == VT_OK && x->init_claims != NULL) {
        json_t *ae = json_object_get(json_object_get(json_object_get(x->ear, "submods"), "cpu0"),
                                     "ear.veraison.annotated-evidence");
        json_object_set(ae, "init_data_claims", x->init_claims);
    }
    return rc;
}

/* The worst status of the CPU and every GPU beside it. */
static vt_ear_status overall(const attest_ctx *x)
{
    vt_ear_status st = x->ap.status;
    for (size_t i = 0; i < x->gpus.n; i++)
        if (vt_ear_status_rank(x->gpus.dev[i].ap.status) > vt_ear_status_rank(st)) st = x->gpus.dev[i].ap.status;
    return st;
}

/* The first appraisal check that failed, the CPU's first, then each GPU's ("gpu1: gpu_cc_mode"). */
static void first_failure(const attest_ctx *x, json_t *d)
{
    char name[64];
    for (size_t g = 0; g <= x->gpus.n; g++) {
        const vt_appraisal *a = g == 0 ? &x->ap : &x->gpus.dev[g - 1].ap;
        for (size_t i = 0; i < a->n_checks; i++)
            if (a->checks[i].status == VT_CHECK_FAIL) {
                snprintf(name, sizeof name, "%s%s%s", g == 0 ? "" : x->gpus.dev[g - 1].label, g == 0 ? "" : ": ",
                         a->checks[i].name);
                json_object_set_new(d, "check", json_string(name));
                json_object_set_new(d, "error", json_string(a->checks[i].detail));
                return;
            }
    }
}

/* A verified attestation (whatever its status) is an audit record; a rejected one came from a
 * party that proved nothing: counted, and summarized with the other unauthenticated failures,
 * so that a stream of garbage /attest calls cannot grow the permanent chain. */
static void finish(attest_ctx *x, const char *result, const vt_error *e)
{
    vt_kbs *k = x->k;
    const char *tee = x->s->tee;
    if (k->has_metrics) {
        const char *l[2] = {tee, result};
        vt_metric_inc(k->m.attestation_total, l, 1);
    }
    if (e != NULL) {
        char why[200];
        snprintf(why, sizeof why, "%.24s: %.40s%s%.120s", tee, e->check, e->check[0] ? ": " : "", e->msg);
        kbs_unauth(k, x->c->now, "attest", x->c->client, why);
        kbs_recent_reject(k, x->c->now, tee, x->c->client, e);
        return;
    }
    char actor[80];
    snprintf(actor, sizeof actor, "guest:%s", x->s->id);
    json_t *d = json_object();
    if (x->c->client) json_object_set_new(d, "client", json_string(x->c->client));
    json_object_set_new(d, "policy", json_string(x->ap.policy_id));
    json_object_set_new(d, "emulated", json_boolean(x->vr.claims.emulated));
    if (x->gpus.n > 0) json_object_set_new(d, "gpus", json_integer((json_int_t)x->gpus.n));
    /* the first appraisal check that failed: what the console's denials show */
    first_failure(x, d);
    /* deferred: no secret leaves on the strength of an attestation before a release whose
     * durable record flushes this one with it */
    kbs_audit_deferred(k, x->c->now, actor, "attest", tee, result, d, NULL);
}

/* The TEE key must be one the JWE can safely encrypt to (RSA >= 2048 bits with e = 65537, EC
 * on its curve): refused here, before a token carrying it is issued, as well as at release
 * (a token of the full-verification path). The key made here goes into the token cache beside
 * the token: a release from the cache encrypts to it without decoding the JWK a second time. */
static vt_err check_tee_key(const vt_jose_ctx *cx, const json_t *jwk, EVP_PKEY **key, vt_error *err)
{
    vt_err rc = vt_jwk_to_pkey_cx(cx, jwk, false, key, err);
    if (rc != VT_OK) vt_error_wrap(err, "tee-pubkey");
    return rc;
}

/* {"token": jwt} for a token this broker just signed: three base64url segments and two dots,
 * ASCII by construction, so jansson's UTF-8 check of its kilobytes is skipped. */
static json_t *token_reply(const char *jwt, size_t len)
{
    json_t *o = json_object();
    if (o != NULL && json_object_set_new_nocheck(o, "token", json_stringn_nocheck(jwt, len)) != 0) {
        json_decref(o); /* set_new took the string, set or not */
        return NULL;
    }
    return o;
}

void vt_kbs_attest(vt_kbs *k, const vt_kbs_call *c, vt_kbs_reply *r)
{
    memset(r, 0, sizeof *r);
    vt_error e = {0};
    vt_session s;
    memset(&s, 0, sizeof s);
    if (c->session_id == NULL) {
        kbs_fail(r, 401, "AttestationError", "Attestation error: RCAR handshake Attest failed: no kbs-session-id cookie");
        return;
    }
    vt_err rc = vt_store_session_get(k->cfg.store, c->session_id, c->now, &s, &e);
    if (rc != VT_OK) {
        if (kbs_store_down(r, "session", &e)) return;
        kbs_fail(r, 401, "AttestationError", "Attestation error: RCAR handshake Attest failed: %s",
                 rc == VT_E_EXPIRED ? "session expired" : rc == VT_E_MISSING ? "unknown session" : e.msg);
        return;
    }
    if (s.token != NULL) { /* idempotent: an attested session returns its token (§6.1) */
        r->status = 200;
        r->json = json_pack("{ss}", "token", s.token);
        set_cookie(r, &s);
        vt_session_clear(&s);
        return;
    }
    double t0 = k->cfg.monotonic ? k->cfg.monotonic() : 0;
    attest_ctx x;
    memset(&x, 0, offsetof(attest_ctx, vr));
    vt_verify_result_init(&x.vr);
    vt_appraisal_init(&x.ap); /* empty till appraised */
    x.k = k;
    x.c = c;
    x.s = &s;
    const char *result = "rejected";
    char *jwt = NULL;
    if (vt_rcar_attestation_parse(c->body, c->body_len, &x.a, &e) != VT_OK) goto fail;
    if (check_tee_key(k->jose, x.a.tee_pubkey, &x.tee_key, &e) != VT_OK) goto fail;
    size_t nl = strlen(x.a.nonce);
    if (nl != strlen(s.nonce) || !vt_ct_eq(x.a.nonce, s.nonce, nl)) {
        vt_error_set(&e, VT_E_VERIFY, "nonce", "runtime-data.nonce is not this session's challenge");
        goto fail;
    }
    if (vt_store_nonce_consume(k->cfg.store, s.nonce, c->now, &e) != VT_OK) {
        if (e.code == VT_E_IO) goto fail; /* unreachable, not used: 503 below */
        vt_error_set(&e, VT_E_VERIFY, "nonce", "the challenge nonce was already used or has expired");
        goto fail;
    }
    if (vt_rcar_binding(x.a.nonce, x.a.tee_pubkey, x.a.additional, NULL, x.rd, NULL, &e) != VT_OK) goto fail;
    if (vt_rcar_additional_parse(x.a.additional, &x.additional, &e) != VT_OK) goto fail;
    if (x.additional != NULL && strcmp(s.tee, "sample") == 0) {
        vt_error_set(&e, VT_E_UNSUPPORTED, "additional_evidence", "the sample TEE takes no additional evidence");
        goto fail;
    }
    if (x.a.has_init_data &&
        vt_rcar_initdata_digest(x.a.init_data_body, x.a.init_data_len, x.init, &x.init_len, &x.init_claims, &e) != VT_OK)
        goto fail;
    rc = strcmp(s.tee, "sample") == 0 ? sample_ear(&x, &e) : appraise(&x, s.tee, &e);
    if (rc != VT_OK) goto fail;
    if (vt_ear_sign_with(k->ear_signer, x.ear, &jwt, &e) != VT_OK) goto fail;
    if (vt_store_session_set_token(k->cfg.store, s.id, jwt, c->now, &e) != VT_OK) goto fail;
    /* signed here: spares the re-check. The cache takes the EAR itself (not a copy): nothing
     * changes it after signing, and its readers only read it */
    size_t jwt_len = strlen(jwt);
    kbs_tokens_remember(k, jwt, jwt_len, x.ear, x.tee_key);
    x.ear = NULL;
    x.tee_key = NULL;
    result = vt_ear_status_name(overall(&x));
    r->status = 200;
    r->json = token_reply(jwt, jwt_len);
    set_cookie(r, &s);
    finish(&x, result, NULL);
    goto out;
fail:
    /* An I/O failure on the way (the store, or a policy or reference value it holds, unreachable)
     * is not a verdict on the guest: 503, no rejection recorded, the guest retries. So is
     * collateral the broker does not have (yet): a guest arriving while its platform's items are
     * fetched, longer than the manager's wait, was refused with 401 and did not retry. */
    if (kbs_store_down(r, "attestation", &e) || kbs_collateral_unavailable(r, &e)) goto out;
    kbs_fail(r, 401, "AttestationError", "Attestation error: RCAR handshake Attest failed: %s%s%s", e.check,
             e.check[0] ? ": " : "", e.msg);
    finish(&x, result, &e);
out:
    if (k->has_metrics) {
        const char *l[1] = {s.tee};
        if (k->cfg.monotonic) vt_metric_observe(k->m.attestation_duration, l, k->cfg.monotonic() - t0);
    }
    free(jwt);
    json_decref(x.ear);
    EVP_PKEY_free(x.tee_key);
    json_decref(x.init_claims);
    json_decref(x.additional);
    kbs_gpus_free(&x.gpus);
    kbs_docs_put(k, x.docs);
    vt_verify_result_clear(&x.vr);
    vt_rcar_attestation_clear(&x.a);
    vt_session_clear(&s);
}
