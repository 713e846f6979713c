/* Normalized claims of the TPM kinds (include/veritee/claims.h): az-snp-vtpm, az-tdx-vtpm and
 * tpm. The azure and tpm layers return their verified claims as JSON; this turns them into the
 * plain-data model policy and EAR read (PCRs per bank, runtime claims, event-log records). */
#include <stdio.h>
#include <string.h>

#include "veritee/claims.h"
#include "veritee/codec.h"
#include "veritee/crypto.h"
#include "veritee/tpm.h"
#include "verify_internal.h"

vt_tee vt_tee_hw(vt_tee t)
{
    if (t == VT_TEE_AZ_SNP_VTPM) return VT_TEE_SNP;
    if (t == VT_TEE_AZ_TDX_VTPM) return VT_TEE_TDX;
    return t;
}

bool vt_tee_has_tpm(vt_tee t)
{
    return t == VT_TEE_AZ_SNP_VTPM || t == VT_TEE_AZ_TDX_VTPM || t == VT_TEE_TPM;
}

static const struct {
    const char *name;
    uint16_t alg;
} ALGS[] = {{"sha1", VT_TPM_ALG_SHA1},       {"sha256", VT_TPM_ALG_SHA256}, {"sha384", VT_TPM_ALG_SHA384},
            {"sha512", VT_TPM_ALG_SHA512},   {"sm3_256", VT_TPM_ALG_SM3_256}};

static uint16_t alg_of(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof ALGS / sizeof ALGS[0]; i++)
        if (strlen(ALGS[i].name) == n && memcmp(ALGS[i].name, name, n) == 0) return ALGS[i].alg;
    return 0;
}

/* A hex string member into a bounded array; VT_E_INVALID names the JSON path. */
static vt_err hex_into(const json_t *v, const char *path, uint8_t *out, size_t cap, size_t *len, vt_error *err)
{
    const char *s = json_string_value(v);
    vt_buf b = {0};
    if (s == NULL) return vt_error_set(err, VT_E_INVALID, "claims", "%s: expected a hex string", path);
    VT_GUARD(vt_hex_decode(s, strlen(s), &b, err));
    vt_err rc = VT_OK;
    if (b.len > cap) rc = vt_error_set(err, VT_E_INVALID, "claims", "%s: %zu bytes (at most %zu)", path, b.len, cap);
    else {
        if (b.len) memcpy(out, b.ptr, b.len);
        *len = b.len;
    }
    vt_buf_free(&b);
    return rc;
}

/* "pcrNN" (SHA-256) or "<alg>.pcrNN". */
static vt_err pcrs(const json_t *o, vt_claims_tpm *t, vt_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        const char *dot = strchr(k, '.');
        uint16_t bank = dot ? alg_of(k, (size_t)(dot - k)) : VT_TPM_ALG_SHA256;
        const char *idx = dot ? dot + 1 : k;
        unsigned n = 0;
        int used = 0;
        if (bank == 0 || sscanf(idx, "pcr%2u%n", &n, &used) != 1 || idx[used] != '\0' || n > 31)
            return vt_error_set(err, VT_E_INVALID, "claims", "PCR key '%.32s' is not pcrNN or <alg>.pcrNN", k);
        if (t->n_pcrs == VT_CLAIMS_PCRS_MAX)
            return vt_error_set(err, VT_E_INVALID, "claims", "more than %d quoted PCRs", VT_CLAIMS_PCRS_MAX);
        vt_claims_pcr *p = &t->pcrs[t->n_pcrs];
        memset(p, 0, sizeof *p); /* entries past n_pcrs are not reset (claims_reset) */
        size_t len = 0;
        VT_GUARD(hex_into(v, k, p->value, sizeof p->value, &len, err));
        p->bank = bank;
        p->index = (uint8_t)n;
        p->len = (uint8_t)len;
        t->n_pcrs++;
    }
    return VT_OK;
}

static void copy_str(char *dst, size_t cap, const char *s, size_t n, bool *cut)
{
    if (n >= cap) {
        *cut = true;
        n = cap - 1;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static vt_err one_event(const json_t *o, vt_claims_event *e, vt_error *err)
{
    json_t *dg = json_object_get(o, "digests"), *aael = json_object_get(o, "aael");
    memset(e, 0, sizeof *e); /* entries past n_events are not reset (claims_reset) */
    e->index = (uint32_t)json_integer_value(json_object_get(o, "index"));
    e->pcr = (uint32_t)json_integer_value(json_object_get(o, "pcr"));
    e->type = (uint32_t)json_integer_value(json_object_get(o, "type"));
    /* the SHA-256 digest when there is one (what a vTPM extends), else the first */
    const char *k;
    json_t *v, *pick = NULL;
    const char *pick_k = NULL;
    json_object_foreach(dg, k, v) {
        if (pick == NULL || strcmp(k, "sha256") == 0) {
            pick = v;
            pick_k = k;
        }
    }
    if (pick != NULL) {
        size_t len = 0;
        VT_GUARD(hex_into(pick, "event_log.digests", e->digest, sizeof e->digest, &len, err));
        e->digest_len = (uint8_t)len;
        e->digest_alg = alg_of(pick_k, strlen(pick_k));
    }
    if (json_is_object(aael)) {
        const json_t *f[3] = {json_object_get(aael, "domain"), json_object_get(aael, "operation"),
                              json_object_get(aael, "content")};
        char *dst[3] = {e->domain, e->operation, e->content};
        size_t cap[3] = {sizeof e->domain, sizeof e->operation, sizeof e->content};
        for (int i = 0; i < 3; i++) {
            if (!json_is_string(f[i])) return vt_error_set(err, VT_E_INVALID, "claims", "event_log.aael: a field is not a string");
            copy_str(dst[i], cap[i], json_string_value(f[i]), json_string_length(f[i]), &e->aael_truncated);
        }
        e->aael = true;
    }
    return VT_OK;
}

static vt_err events(const json_t *a, vt_claims_tpm *t, vt_error *err)
{
    t->has_event_log = true;
    size_t i;
    json_t *o;
    json_array_foreach(a, i, o) {
        if (json_integer_value(json_object_get(o, "index")) == 0) continue; /* the Spec ID header */
        if (t->n_events == VT_CLAIMS_EVENTS_MAX) {
            t->events_truncated = true;
            break;
        }
        VT_GUARD(one_event(o, &t->events[t->n_events++], err));
    }
    return VT_OK;
}

static int tri(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_boolean(v) ? json_is_true(v) : -1;
}

static vt_err runtime(const json_t *rt, vt_claims_tpm *t, vt_error *err)
{
    const json_t *vm = json_object_get(rt, "vm-configuration");
    t->has_runtime_claims = true;
    t->secure_boot = tri(vm, "secure-boot");
    t->tpm_enabled = tri(vm, "tpm-enabled");
    t->console_enabled = tri(vm, "console-enabled");
    const char *id = json_string_value(json_object_get(vm, "vmUniqueId"));
    bool cut = false;
    if (id != NULL) copy_str(t->vm_unique_id, sizeof t->vm_unique_id, id, strlen(id), &cut);
    const json_t *ud = json_object_get(rt, "user-data");
    if (ud != NULL) VT_GUARD(hex_into(ud, "runtime_claims.user-data", t->user_data, 64, &t->user_data_len, err));
    return VT_OK;
}

vt_err vt_claims_add_tpm(vt_tee tee, const json_t *j, vt_claims *out, vt_error *err)
{
    if (!vt_tee_has_tpm(tee)) return vt_error_set(err, VT_E_ARG, "claims", "%s evidence has no TPM quote", vt_tee_name(tee));
    if (!json_is_object(j)) return vt_error_set(err, VT_E_INVALID, "claims", "TPM claims must be a JSON object");
    if (tee == VT_TEE_TPM) {
        claims_reset(out);
        out->verified = true;
    }
    out->tee = tee;
    vt_claims_tpm *t = &out->tpm; /* zero: reset above, or by vt_claims_from_snp/_tdx */
    t->present = true;
    t->evidence_version = (int)json_integer_value(json_object_get(j, "evidence_version"));
    const json_t *p = json_object_get(j, tee == VT_TEE_TPM ? "pcrs" : "tpm");
    if (!json_is_object(p)) return vt_error_set(err, VT_E_INVALID, "claims", "the claims carry no PCRs");
    VT_GUARD(pcrs(p, t, err));
    VT_GUARD(hex_into(json_object_get(j, "report_data"), "report_data", out->report_data, sizeof out->report_data,
                      &out->report_data_len, err));
    /* CoCo binds init-data by extending PCR8 (Azure: in place of HOSTDATA / MRCONFIGID) */
    const vt_claims_pcr *p8 = vt_claims_pcr_get(out, VT_TPM_ALG_SHA256, 8);
    snprintf(out->init_data_name, sizeof out->init_data_name, "pcr8");
    out->init_data_len = 0;
    if (p8 != NULL) {
        memcpy(out->init_data, p8->value, p8->len);
        out->init_data_len = p8->len;
    }
    const json_t *ak = json_object_get(j, "ak_public_sha256");
    if (ak != NULL) {
        size_t n = 0;
        VT_GUARD(hex_into(ak, "ak_public_sha256", t->ak_sha256, 32, &n, err));
        t->has_ak_sha256 = n == 32;
    }
    const json_t *rt = json_object_get(j, "runtime_claims");
    if (json_is_object(rt)) VT_GUARD(runtime(rt, t, err));
    const json_t *el = json_object_get(j, "event_log");
    if (json_is_array(el)) VT_GUARD(events(el, t, err));
    return VT_OK;
}

const vt_claims_pcr *vt_claims_pcr_get(const vt_claims *c, uint16_t bank, unsigned index)
{
    for (size_t i = 0; i < c->tpm.n_pcrs; i++)
        if (c->tpm.pcrs[i].bank == bank && c->tpm.pcrs[i].index == index) return &c->tpm.pcrs[i];
    return NULL;
}

bool vt_claims_init_data_binds(const vt_claims *c, const uint8_t *d, size_t len)
{
    if (c->init_data_len == 0 || d == NULL || len == 0) return false;
    if (vt_tee_has_tpm(c->tee)) {
        /* AA's bind_init_data: one SHA-256 extend of PCR8 from zero with the 32-byte digest */
        uint8_t zero[32] = {0}, want[32];
        const vt_claims_pcr *p8 = vt_claims_pcr_get(c, VT_TPM_ALG_SHA256, 8);
        if (len != 32 || p8 == NULL || p8->len != 32 || vt_hash2(VT_SHA256, zero, 32, d, 32, want, NULL) != VT_OK)
            return false;
        return vt_ct_eq(p8->value, want, 32);
    }
    if (c->tee == VT_TEE_CCA) return len == c->init_data_len && vt_ct_eq(c->init_data, d, len);
    uint8_t want[64] = {0};
    memcpy(want, d, len < c->init_data_len ? len : c->init_data_len);
    return vt_ct_eq(want, c->init_data, c->init_data_len);
}
