/* az-snp-vtpm and az-tdx-vtpm verification: the hardware report vouches for SHA-256 of the HCL
 * runtime claims, the claims carry the vTPM attestation key, the key signs the TPM quote, the
 * quote carries the nonce and the PCRs (docs/azure.md; check order as trustee's verifiers). */
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/azure.h"
#include "veritee/crypto.h"
#include "veritee/json.h"
#include "veritee/x509.h"

#define VCEK_CACHE 8

/* VCEKs decoded before, by the SHA-256 of their DER: decoding a certificate costs a fifth of a
 * whole verification (the chain itself is cached by the SNP verifier). */
typedef struct vcek_slot {
    uint8_t key[32];
    X509 *cert;
} vcek_slot;

struct vt_azure_verifier {
    vt_snp_verifier *snp;
    bool own_snp;
    vt_tdx_verifier *tdx;
    bool own_tdx;
    pthread_mutex_t lock; /* the VCEK cache */
    vcek_slot vcek[VCEK_CACHE];
    size_t next;
};

vt_err vt_azure_verifier_new(const vt_azure_trust *t, vt_azure_verifier **out, vt_error *err)
{
    vt_azure_verifier *v = calloc(1, sizeof *v);
    if (v == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    if (pthread_mutex_init(&v->lock, NULL) != 0) {
        free(v);
        return vt_error_set(err, VT_E_INTERNAL, "alloc", "mutex");
    }
    vt_err rc = VT_OK;
    if (t != NULL && t->snp != NULL) v->snp = t->snp;
    else if ((rc = vt_snp_verifier_new(&v->snp, err)) == VT_OK) v->own_snp = true;
    if (rc == VT_OK && t != NULL && t->tdx != NULL) v->tdx = t->tdx;
    else if (rc == VT_OK) {
        vt_tdx_collateral none = {0};
        if ((rc = vt_tdx_verifier_new(NULL, &none, &v->tdx, err)) == VT_OK) v->own_tdx = true;
    }
    if (rc != VT_OK) {
        vt_azure_verifier_free(v);
        return rc;
    }
    *out = v;
    return VT_OK;
}

void vt_azure_verifier_free(vt_azure_verifier *v)
{
    if (v == NULL) return;
    if (v->own_snp) vt_snp_verifier_free(v->snp);
    if (v->own_tdx) vt_tdx_verifier_free(v->tdx);
    for (size_t i = 0; i < VCEK_CACHE; i++) X509_free(v->vcek[i].cert);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

/* Everything one verification holds. */
typedef struct az_ctx {
    vt_az_kind kind;
    const vt_azure_verify_opts *opts;
    vt_checks *ck;
    vt_error *err;
    vt_az_evidence ev;
    vt_hcl_report hcl;
    vt_hcl_runtime_claims rt;
    vt_tpm_quote_result quote;
    uint8_t var_sha256[32];
    json_t *event_log;
} az_ctx;

/* Steps 1-4 of the common part: evidence, HCL, AK, TPM quote. */
static vt_err vtpm_part(az_ctx *c, const uint8_t *p, size_t len)
{
    const vt_azure_verify_opts *o = c->opts;
    const char *hw = c->kind == VT_AZ_SNP ? "SEV-SNP" : "TDX";
    vt_err prc = vt_az_evidence_parse(p, len, c->kind, &c->ev, c->err);
    VT_GUARD(vt_check_step(c->ck, c->err, "evidence", prc, "evidence JSON v%d", c->ev.version));
    vt_err rc = vt_hcl_report_parse(c->ev.hcl_report.ptr, c->ev.hcl_report.len, &c->hcl, c->err);
    uint32_t want = c->kind == VT_AZ_SNP ? VT_HCL_REPORT_TYPE_SNP : VT_HCL_REPORT_TYPE_TDX;
    if (rc == VT_OK && c->hcl.report_type != want)
        rc = vt_error_set(c->err, VT_E_INVALID, "hcl_report", "HCL report type %u, the %s verifier needs %u",
                          c->hcl.report_type, hw, want);
    VT_GUARD(vt_check_step(c->ck, c->err, "hcl_report", rc, "HCLA header v%u, %s hardware report, %u bytes of runtime claims",
                           c->hcl.header_version, hw, c->hcl.var_size));
    VT_GUARD(vt_check_step(c->ck, c->err, "hcl_ak", vt_hcl_runtime_claims_parse(&c->hcl.var_data, &c->rt, c->err),
                           "runtime claims JSON carries the HCLAkPub RSA key"));
    vt_tpm_quote q = {.message = {c->ev.quote_message.ptr, c->ev.quote_message.len},
                      .signature = {c->ev.quote_signature.ptr, c->ev.quote_signature.len},
                      .signature_raw = true, .pcrs = c->ev.pcrs, .n_pcrs = c->ev.n_pcrs};
    vt_tpm_quote_opts qo = {.nonce = o->nonce, .nonce_len = o->nonce_len, .nonce_rule = VT_TPM_NONCE_EXACT};
    VT_GUARD(vt_tpm_quote_verify(c->rt.ak, &q, &qo, &c->quote, c->ck, c->err));
    if (c->ev.n_pcrs != VT_AZ_PCRS)
        return vt_check_fail(c->ck, c->err, "tpm_pcr_digest", VT_E_VERIFY, "%zu PCR values, Azure quotes PCRs 0..23",
                             c->ev.n_pcrs);
    return VT_OK;
}

/* Step 5: the hardware report data binds the runtime claims. */
static vt_err binding(az_ctx *c, const uint8_t report_data[64], const char *what)
{
    vt_err rc = vt_hash(VT_SHA256, c->hcl.var_data.ptr, c->hcl.var_data.len, c->var_sha256, c->err);
    if (rc == VT_OK && (!vt_ct_eq(report_data, c->var_sha256, 32) || !vt_bytes_is_zero(report_data + 32, 32)))
        rc = vt_error_set(c->err, VT_E_VERIFY, "hcl_report_data",
                          "HCL variable data digest doesn't match %s report data (SHA-256 of the runtime claims "
                          "|| 32 zero bytes expected)", what);
    return vt_check_step(c->ck, c->err, "hcl_report_data", rc, "%s report_data = SHA-256(runtime claims) || zeros", what);
}

/* Step 6: a v2 report was requested with the nonce as user-data. */
static vt_err user_data(az_ctx *c)
{
    if (c->ev.version != 2) return VT_OK;
    const vt_azure_verify_opts *o = c->opts;
    if (o->nonce == NULL) {
        vt_check_skip(c->ck, "hcl_user_data", "no expected nonce: user-data not compared");
        return VT_OK;
    }
    vt_err rc = VT_OK;
    if (!c->rt.has_user_data)
        rc = vt_error_set(c->err, VT_E_VERIFY, "hcl_user_data", "v2 evidence but the runtime claims carry no user-data");
    else if (c->rt.user_data_len < o->nonce_len || !vt_ct_eq(c->rt.user_data, o->nonce, o->nonce_len))
        rc = vt_error_set(c->err, VT_E_VERIFY, "hcl_user_data",
                          "runtime claims user-data does not begin with the expected report data");
    return vt_check_step(c->ck, c->err, "hcl_user_data", rc, "user-data begins with the %zu-byte expected report data",
                         o->nonce_len);
}

/* Steps 8-9: init-data in PCR8, the event log replayed into the quoted PCRs. */
static vt_err pcr_part(az_ctx *c)
{
    if (c->opts->init_data_hash != NULL)
        VT_GUARD(vt_tpm_check_init_data(&c->quote, c->opts->init_data_hash, c->ck, c->err));
    if (c->ev.cc_eventlog.len == 0) return VT_OK;
    vt_tcg2_replay *r = calloc(1, sizeof *r);
    if (r == NULL) return vt_error_set(c->err, VT_E_NOMEM, "alloc", "out of memory");
    vt_err rc = vt_tcg2_replay_log(c->ev.cc_eventlog.ptr, c->ev.cc_eventlog.len, VT_TPM_ALG_SHA256, VT_TCG2_SEED_TPM, r,
                                   c->err);
    size_t n = 0;
    for (unsigned i = 0; rc == VT_OK && i < VT_TCG2_REGS_MAX; i++) {
        if (!r->touched[i]) continue;
        const vt_tpm_pcr *p = vt_tpm_quote_pcr(&c->quote, VT_TPM_ALG_SHA256, i);
        if (p == NULL || !vt_ct_eq(p->value, r->reg[i], 32))
            rc = vt_error_set(c->err, VT_E_VERIFY, "event_log", "event log replay of PCR%u differs from the quoted value", i);
        n++;
    }
    if (rc == VT_OK && (c->event_log = vt_tcg2_log_json(c->ev.cc_eventlog.ptr, c->ev.cc_eventlog.len, c->err)) == NULL)
        rc = c->err->code != VT_OK ? c->err->code : VT_E_NOMEM;
    size_t ev = r->events, aael = r->aael_events;
    free(r);
    return vt_check_step(c->ck, c->err, "event_log", rc, "%zu records (%zu AAEL) replay to the %zu quoted PCRs they extend", ev, aael, n);
}

static json_t *claims_json(az_ctx *c, const char *tee, const char *hw_key, json_t *hw)
{
    const vt_tpm_pcr *p8 = vt_tpm_quote_pcr(&c->quote, VT_TPM_ALG_SHA256, 8);
    json_t *o = json_pack("{s:s, s:i, s:o, s:o, s:o, s:o, s:O, s:{s:i, s:i, s:o}}", "tee", tee, "evidence_version",
                          c->ev.version, hw_key, hw, "tpm", vt_tpm_pcrs_json(&c->quote), "report_data",
                          vt_json_hex_string(c->quote.attest.extra_data.ptr, c->quote.attest.extra_data.len),
                          "init_data", p8 ? vt_json_hex_string(p8->value, 32) : json_null(), "runtime_claims",
                          c->rt.root, "hcl", "header_version", (int)c->hcl.header_version, "report_type",
                          (int)c->hcl.report_type, "runtime_claims_sha256", vt_json_hex_string(c->var_sha256, 32));
    if (o != NULL && c->event_log != NULL) {
        json_object_set(o, "event_log", c->event_log);
    }
    return o;
}

static void ctx_free(az_ctx *c)
{
    vt_az_evidence_free(&c->ev);
    vt_hcl_runtime_claims_clear(&c->rt);
    json_decref(c->event_log);
}

static vt_err check_opts(const vt_azure_verify_opts *o, vt_error *err)
{
    if (o->nonce != NULL && (o->nonce_len == 0 || o->nonce_len > 64))
        return vt_error_set(err, VT_E_ARG, "nonce", "expected report data must be 1..64 bytes");
    return VT_OK;
}

/* ---- SEV-SNP ---------------------------------------------------------------------------- */

static vt_err load_vcek(vt_azure_verifier *v, const vt_az_evidence *ev, X509 **leaf, STACK_OF(X509) **more,
                        vt_error *err)
{
    if (ev->vcek_pem) {
        VT_GUARD(vt_pem_certs(ev->vcek.ptr, ev->vcek.len, more, err));
        *leaf = sk_X509_shift(*more);
        if (*leaf == NULL) return vt_error_set(err, VT_E_INVALID, "vcek", "vcek PEM holds no certificate");
        return VT_OK;
    }
    uint8_t key[32];
    VT_GUARD(vt_hash(VT_SHA256, ev->vcek.ptr, ev->vcek.len, key, err));
    pthread_mutex_lock(&v->lock);
    for (size_t i = 0; i < VCEK_CACHE && *leaf == NULL; i++)
        if (v->vcek[i].cert != NULL && memcmp(v->vcek[i].key, key, 32) == 0 && X509_up_ref(v->vcek[i].cert) == 1)
            *leaf = v->vcek[i].cert;
    pthread_mutex_unlock(&v->lock);
    if (*leaf != NULL) return VT_OK;
    const unsigned char *q = ev->vcek.ptr;
    *leaf = d2i_X509(NULL, &q, (long)ev->vcek.len);
    if (*leaf == NULL || q != ev->vcek.ptr + ev->vcek.len) {
        X509_free(*leaf);
        *leaf = NULL;
        return vt_error_set(err, VT_E_INVALID, "vcek", "vcek is not one DER certificate");
    }
    vt_x509_settle(*leaf); /* the cache shares it with concurrent verifications */
    pthread_mutex_lock(&v->lock);
    vcek_slot *s = &v->vcek[v->next];
    v->next = (v->next + 1) % VCEK_CACHE;
    X509_free(s->cert);
    s->cert = X509_up_ref(*leaf) == 1 ? *leaf : NULL;
    memcpy(s->key, key, 32);
    pthread_mutex_unlock(&v->lock);
    return VT_OK;
}

static vt_err snp_part(vt_azure_verifier *v, az_ctx *c, vt_snp_claims *sc)
{
    const uint8_t *hw = c->hcl.hw_report.ptr;
    VT_GUARD(binding(c, hw + 0x50, "SNP"));
    VT_GUARD(user_data(c));
    X509 *leaf = NULL;
    STACK_OF(X509) *more = NULL;
    vt_err rc = load_vcek(v, &c->ev, &leaf, &more, c->err);
    if (rc != VT_OK) return vt_check_step(c->ck, c->err, "vcek", rc, "%s", "");
    /* the evidence's certificates first, then the caller's (a KDS cache, directories) */
    if (more == NULL && (more = sk_X509_new_null()) == NULL) rc = vt_error_set(c->err, VT_E_NOMEM, "alloc", "out of memory");
    for (int i = 0; rc == VT_OK && c->opts->snp_certs != NULL && i < sk_X509_num(c->opts->snp_certs); i++) {
        X509 *x = sk_X509_value(c->opts->snp_certs, i);
        if (X509_up_ref(x) != 1 || sk_X509_push(more, x) <= 0) {
            X509_free(x);
            rc = vt_error_set(c->err, VT_E_NOMEM, "alloc", "out of memory");
        }
    }
    if (rc != VT_OK) {
        X509_free(leaf);
        sk_X509_pop_free(more, X509_free);
        return rc;
    }
    vt_snp_collateral coll = {.leaf = leaf, .certs = more, .crls = c->opts->snp_crls};
    /* The SNP verifier checks report_data too: the runtime claims' digest, then zeros. */
    vt_snp_verify_opts so = {.at = c->opts->at, .report_data = c->var_sha256, .report_data_len = 32,
                             .product = c->opts->snp_product, .crl_required = c->opts->snp_crl_required};
    rc = vt_snp_verify(v->snp, hw, VT_HCL_HW_REPORT_SIZE, &coll, &so, sc, c->ck, c->err);
    X509_free(leaf);
    sk_X509_pop_free(more, X509_free);
    VT_GUARD(rc);
    if (sc->report.vmpl != 0)
        return vt_check_fail(c->ck, c->err, "hcl_vmpl", VT_E_VERIFY,
                             "SNP report from VMPL %u: the paravisor's report must be VMPL 0", sc->report.vmpl);
    vt_check_pass(c->ck, "hcl_vmpl", "SNP report issued at VMPL 0 (the paravisor)");
    return VT_OK;
}

static vt_err snp_verify(vt_azure_verifier *v, const uint8_t *evidence, size_t len, const vt_azure_verify_opts *opts,
                         vt_azure_result *out, vt_checks *checks, vt_error *err)
{
    az_ctx *c = calloc(1, sizeof *c);
    vt_snp_claims *sc = calloc(1, sizeof *sc);
    vt_err rc = VT_OK;
    if (c == NULL || sc == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        goto out;
    }
    *c = (az_ctx){.kind = VT_AZ_SNP, .opts = opts, .ck = checks, .err = err};
    VT_GUARD_GOTO(vtpm_part(c, evidence, len));
    VT_GUARD_GOTO(snp_part(v, c, sc));
    VT_GUARD_GOTO(pcr_part(c));
    json_t *hw = vt_snp_claims_json(sc);
    if (hw == NULL || (out->claims = claims_json(c, "az-snp-vtpm", "snp", hw)) == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        goto out;
    }
    out->snp = sc;
    sc = NULL;
out:
    if (c != NULL) ctx_free(c);
    free(c);
    free(sc);
    return rc;
}

/* vt_az_vtpm_verify keeping only the claims (the two kinds' older entry points). */
static vt_err claims_only(vt_azure_verifier *v, vt_az_kind kind, const uint8_t *evidence, size_t len,
                          const vt_azure_verify_opts *opts, json_t **claims, vt_checks *checks, vt_error *err)
{
    vt_azure_result r;
    vt_err rc = vt_az_vtpm_verify(v, kind, evidence, len, opts, &r, checks, err);
    if (claims != NULL) {
        *claims = r.claims;
        r.claims = NULL;
    }
    vt_azure_result_clear(&r);
    return rc;
}

vt_err vt_az_snp_vtpm_verify(vt_azure_verifier *v, const uint8_t *evidence, size_t len,
                             const vt_azure_verify_opts *opts, json_t **claims, vt_checks *checks, vt_error *err)
{
    return claims_only(v, VT_AZ_SNP, evidence, len, opts, claims, checks, err);
}

/* ---- TDX -------------------------------------------------------------------------------- */

/* The HCL's TDREPORT copy must say what the verified quote body says (az_tdx_vtpm.md 1). */
static vt_err tdreport_matches(az_ctx *c, const vt_td_report *td)
{
    const uint8_t *t = c->hcl.hw_report.ptr;
    struct { size_t off; const uint8_t *q; size_t n; const char *name; } f[] = {
        {128, td->report_data, 64, "REPORTDATA"}, {512, td->td_attributes, 8, "ATTRIBUTES"},
        {520, td->xfam, 8, "XFAM"}, {528, td->mr_td, 48, "MRTD"}, {576, td->mr_config_id, 48, "MRCONFIGID"},
        {624, td->mr_owner, 48, "MROWNER"}, {672, td->mr_owner_config, 48, "MROWNERCONFIG"},
        {720, td->rtmr[0], 4 * 48, "RTMR0..3"}};
    vt_err rc = VT_OK;
    if (t[0] != 0x81) rc = vt_error_set(c->err, VT_E_VERIFY, "hcl_tdreport", "TDREPORT type 0x%02x is not TDX", t[0]);
    for (size_t i = 0; rc == VT_OK && i < sizeof f / sizeof f[0]; i++)
        if (memcmp(t + f[i].off, f[i].q, f[i].n) != 0)
            rc = vt_error_set(c->err, VT_E_VERIFY, "hcl_tdreport", "HCL TDREPORT %s differs from the TD quote's", f[i].name);
    if (rc == VT_OK && !vt_bytes_is_zero(t + 1024, VT_HCL_HW_REPORT_SIZE - 1024))
        rc = vt_error_set(c->err, VT_E_INVALID, "hcl_tdreport", "bytes after the 1024-byte TDREPORT are not zero");
    return vt_check_step(c->ck, c->err, "hcl_tdreport", rc, "HCL TDREPORT fields equal the TD quote body");
}

static vt_err tdx_part(vt_azure_verifier *v, az_ctx *c, vt_tdx_result *r, vt_error *missing)
{
    vt_err rc = vt_tdx_verify(v->tdx, c->ev.td_quote.ptr, c->ev.td_quote.len, c->opts->at, r, c->err);
    for (size_t i = 0; i < r->checks.n; i++) {
        char name[48];
        snprintf(name, sizeof name, "td_%s", r->checks.items[i].name);
        vt_checks_add(c->ck, name, r->checks.items[i].status, "%s", r->checks.items[i].detail);
    }
    if (rc != VT_OK) {
        char name[VT_ERR_CHECK_MAX + 4];
        snprintf(name, sizeof name, "td_%s", c->err->check[0] ? c->err->check : "quote");
        vt_error_name(c->err, name);
    }
    /* Without Intel collateral the rest still runs on the parsed (signature-checked) quote. */
    bool parsed = vt_checks_find(&r->checks, "quote_signature") != NULL &&
                  vt_checks_find(&r->checks, "quote_signature")->status == VT_CHECK_PASS;
    if (rc == VT_E_MISSING && parsed) {
        *missing = *c->err;
        rc = VT_OK;
    } else if (rc != VT_OK) {
        return rc;
    }
    const vt_tdx_quote *q = &r->quote;
    if (q->version != 4 && q->version != 5) rc = vt_error_set(c->err, VT_E_VERIFY, "td_quote", "quote v%u is not a TD quote", q->version);
    else if (!vt_tdx_quote_is_td(q)) rc = vt_error_set(c->err, VT_E_VERIFY, "td_quote", "quote is not a TDX quote");
    else if (!vt_bytes_is_zero(c->ev.td_quote.ptr + c->ev.td_quote.len - q->trailing, q->trailing))
        rc = vt_error_set(c->err, VT_E_INVALID, "td_quote", "%zu bytes after the quote's signature data are not all zero",
                          q->trailing);
    VT_GUARD(vt_check_step(c->ck, c->err, "td_quote", rc, "TDX quote v%u (%zu zero bytes after the signature data tolerated)", q->version,
                           q->trailing));
    VT_GUARD(binding(c, q->td.report_data, "TDX Quote"));
    VT_GUARD(user_data(c));
    return tdreport_matches(c, &q->td);
}

static vt_err tdx_verify(vt_azure_verifier *v, const uint8_t *evidence, size_t len, const vt_azure_verify_opts *opts,
                         vt_azure_result *out, vt_checks *checks, vt_error *err)
{
    az_ctx *c = calloc(1, sizeof *c);
    vt_tdx_result *r = calloc(1, sizeof *r);
    vt_error missing = {0};
    vt_err rc = VT_OK;
    if (c == NULL || r == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        goto out;
    }
    *c = (az_ctx){.kind = VT_AZ_TDX, .opts = opts, .ck = checks, .err = err};
    VT_GUARD_GOTO(vtpm_part(c, evidence, len));
    VT_GUARD_GOTO(tdx_part(v, c, r, &missing));
    VT_GUARD_GOTO(pcr_part(c));
    if (missing.code != VT_OK) {
        /* Everything checkable offline passed; the TD quote's chain and TCB were not checked. */
        *err = missing;
        rc = missing.code;
        out->tdx = r;
        r = NULL;
        goto out;
    }
    json_t *hw = vt_tdx_result_json(r);
    if (hw == NULL || (out->claims = claims_json(c, "az-tdx-vtpm", "tdx", hw)) == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        goto out;
    }
    out->tdx = r;
    r = NULL;
out:
    if (c != NULL) ctx_free(c);
    free(c);
    free(r);
    return rc;
}

vt_err vt_az_tdx_vtpm_verify(vt_azure_verifier *v, const uint8_t *evidence, size_t len,
                             const vt_azure_verify_opts *opts, json_t **claims, vt_checks *checks, vt_error *err)
{
    return claims_only(v, VT_AZ_TDX, evidence, len, opts, claims, checks, err);
}

vt_err vt_az_vtpm_verify(vt_azure_verifier *v, vt_az_kind kind, const uint8_t *evidence, size_t len,
                         const vt_azure_verify_opts *opts, vt_azure_result *out, vt_checks *checks, vt_error *err)
{
    memset(out, 0, sizeof *out);
    VT_GUARD(check_opts(opts, err));
    if (kind == VT_AZ_SNP) return snp_verify(v, evidence, len, opts, out, checks, err);
    if (kind == VT_AZ_TDX) return tdx_verify(v, evidence, len, opts, out, checks, err);
    return vt_error_set(err, VT_E_ARG, "tee", "unknown Azure evidence kind %d", (int)kind);
}

void vt_azure_result_clear(vt_azure_result *r)
{
    if (r == NULL) return;
    json_decref(r->claims);
    free(r->snp);
    free(r->tdx);
    memset(r, 0, sizeof *r);
}
