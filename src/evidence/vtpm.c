/* TPM 2.0 access over a dlopen()ed tpm2-tss ESAPI (include/veritee/vtpm.h): NV reads in
 * TPM_PT_NV_BUFFER_MAX chunks, quotes with a persistent AK, PCR reads in batches, extends, and
 * the AK/NV provisioning of an emulated Azure CVM. TPM 2.0 Library Part 3 (commands), Part 2
 * (structures); the tss2 headers give the C types, the libraries are loaded at run time. */
#include <dlfcn.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "veritee/crypto.h"
#include "veritee/tpm.h"
#include "veritee/vtpm.h"

#define FN(name) __typeof__(&name) name

typedef struct tss_api {
    FN(Tss2_TctiLdr_Initialize);
    FN(Tss2_TctiLdr_Finalize);
    FN(Esys_Initialize);
    FN(Esys_Finalize);
    FN(Esys_Free);
    FN(Esys_TR_FromTPMPublic);
    FN(Esys_TR_Close);
    FN(Esys_GetCapability);
    FN(Esys_NV_ReadPublic);
    FN(Esys_NV_Read);
    FN(Esys_NV_DefineSpace);
    FN(Esys_NV_UndefineSpace);
    FN(Esys_NV_Write);
    FN(Esys_PCR_Read);
    FN(Esys_PCR_Extend);
    FN(Esys_Quote);
    FN(Esys_ReadPublic);
    FN(Esys_CreatePrimary);
    FN(Esys_EvictControl);
    FN(Esys_FlushContext);
    FN(Tss2_MU_TPMT_SIGNATURE_Marshal);
    FN(Tss2_MU_TPMT_PUBLIC_Marshal);
    FN(Tss2_RC_Decode);
} tss_api;

struct vt_vtpm {
    tss_api a;
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
    uint16_t nv_chunk; /* TPM_PT_NV_BUFFER_MAX, 0 until asked */
};

static vt_err load(tss_api *a, vt_error *err)
{
    /* NODELETE: the TCTI loader dlopen()s the TCTI modules itself and keeps them. libtss2-rc
     * (response codes as text) is optional: no package the others need brings it. */
    static const char *const libs[] = {"libtss2-tctildr.so.0", "libtss2-esys.so.0", "libtss2-mu.so.0",
                                       "libtss2-rc.so.0"};
    void *h[4];
    h[3] = dlopen(libs[3], RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    a->Tss2_RC_Decode = NULL;
    if (h[3] != NULL) *(void **)&a->Tss2_RC_Decode = dlsym(h[3], "Tss2_RC_Decode");
    for (size_t i = 0; i < 3; i++) {
        h[i] = dlopen(libs[i], RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (h[i] == NULL)
            return vt_error_set(err, VT_E_MISSING, "vtpm", "%s not available (install libtss2-esys-3.0.2-0, "
                                "libtss2-tctildr0)", libs[i]);
    }
    struct { void **fn; int lib; const char *name; } t[] = {
        {(void **)&a->Tss2_TctiLdr_Initialize, 0, "Tss2_TctiLdr_Initialize"},
        {(void **)&a->Tss2_TctiLdr_Finalize, 0, "Tss2_TctiLdr_Finalize"},
        {(void **)&a->Esys_Initialize, 1, "Esys_Initialize"},
        {(void **)&a->Esys_Finalize, 1, "Esys_Finalize"},
        {(void **)&a->Esys_Free, 1, "Esys_Free"},
        {(void **)&a->Esys_TR_FromTPMPublic, 1, "Esys_TR_FromTPMPublic"},
        {(void **)&a->Esys_TR_Close, 1, "Esys_TR_Close"},
        {(void **)&a->Esys_GetCapability, 1, "Esys_GetCapability"},
        {(void **)&a->Esys_NV_ReadPublic, 1, "Esys_NV_ReadPublic"},
        {(void **)&a->Esys_NV_Read, 1, "Esys_NV_Read"},
        {(void **)&a->Esys_NV_DefineSpace, 1, "Esys_NV_DefineSpace"},
        {(void **)&a->Esys_NV_UndefineSpace, 1, "Esys_NV_UndefineSpace"},
        {(void **)&a->Esys_NV_Write, 1, "Esys_NV_Write"},
        {(void **)&a->Esys_PCR_Read, 1, "Esys_PCR_Read"},
        {(void **)&a->Esys_PCR_Extend, 1, "Esys_PCR_Extend"},
        {(void **)&a->Esys_Quote, 1, "Esys_Quote"},
        {(void **)&a->Esys_ReadPublic, 1, "Esys_ReadPublic"},
        {(void **)&a->Esys_CreatePrimary, 1, "Esys_CreatePrimary"},
        {(void **)&a->Esys_EvictControl, 1, "Esys_EvictControl"},
        {(void **)&a->Esys_FlushContext, 1, "Esys_FlushContext"},
        {(void **)&a->Tss2_MU_TPMT_SIGNATURE_Marshal, 2, "Tss2_MU_TPMT_SIGNATURE_Marshal"},
        {(void **)&a->Tss2_MU_TPMT_PUBLIC_Marshal, 2, "Tss2_MU_TPMT_PUBLIC_Marshal"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if ((*t[i].fn = dlsym(h[t[i].lib], t[i].name)) == NULL)
            return vt_error_set(err, VT_E_MISSING, "vtpm", "%s lacks %s", libs[t[i].lib], t[i].name);
    return VT_OK;
}

/* A TPM response code as an error naming the command; "handle" errors for a missing object. */
static vt_err tpm_fail(const vt_vtpm *t, TSS2_RC rc, const char *what, vt_error *err)
{
    const char *s = t->a.Tss2_RC_Decode != NULL ? t->a.Tss2_RC_Decode(rc) : NULL;
    TSS2_RC base = rc & 0xFFFu;
    bool missing = (rc & TPM2_RC_FMT1) ? (rc & 0x3Fu) == (TPM2_RC_HANDLE & 0x3Fu) : base == TPM2_RC_REFERENCE_H0;
    return vt_error_set(err, missing ? VT_E_MISSING : VT_E_IO, "vtpm", "%s: TPM returned 0x%x (%s)", what, (unsigned)rc,
                        s != NULL ? s : "?");
}

vt_err vt_vtpm_open(const char *tcti, vt_vtpm **out, vt_error *err)
{
    *out = NULL;
    vt_vtpm *t = calloc(1, sizeof *t);
    if (t == NULL) return vt_error_set(err, VT_E_NOMEM, "vtpm", "out of memory");
    vt_err rc = load(&t->a, err);
    if (rc != VT_OK) {
        free(t);
        return rc;
    }
    const char *conf = tcti != NULL && *tcti ? tcti : VT_VTPM_TCTI_DEFAULT;
    TSS2_RC r = t->a.Tss2_TctiLdr_Initialize(conf, &t->tcti);
    if (r != TSS2_RC_SUCCESS) {
        free(t);
        return vt_error_set(err, VT_E_MISSING, "vtpm", "TCTI \"%.200s\" reaches no TPM (0x%x)", conf, (unsigned)r);
    }
    r = t->a.Esys_Initialize(&t->esys, t->tcti, NULL);
    if (r != TSS2_RC_SUCCESS) {
        rc = tpm_fail(t, r, "Esys_Initialize", err);
        vt_vtpm_close(t);
        return rc;
    }
    *out = t;
    return VT_OK;
}

void vt_vtpm_close(vt_vtpm *t)
{
    if (t == NULL) return;
    if (t->esys != NULL) t->a.Esys_Finalize(&t->esys);
    if (t->tcti != NULL) t->a.Tss2_TctiLdr_Finalize(&t->tcti);
    free(t);
}

static uint16_t nv_chunk(vt_vtpm *t)
{
    if (t->nv_chunk != 0) return t->nv_chunk;
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more;
    t->nv_chunk = 512; /* the smallest a TPM may report (PC Client platform TPM profile) */
    if (t->a.Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
                                TPM2_PT_NV_BUFFER_MAX, 1, &more, &cap) == TSS2_RC_SUCCESS &&
        cap != NULL && cap->capability == TPM2_CAP_TPM_PROPERTIES && cap->data.tpmProperties.count >= 1 &&
        cap->data.tpmProperties.tpmProperty[0].property == TPM2_PT_NV_BUFFER_MAX) {
        uint32_t v = cap->data.tpmProperties.tpmProperty[0].value;
        if (v >= 64 && v <= sizeof(((TPM2B_MAX_NV_BUFFER *)0)->buffer)) t->nv_chunk = (uint16_t)v;
    }
    t->a.Esys_Free(cap);
    return t->nv_chunk;
}

static vt_err tr_from(vt_vtpm *t, uint32_t handle, const char *what, ESYS_TR *out, vt_error *err)
{
    TSS2_RC r = t->a.Esys_TR_FromTPMPublic(t->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, out);
    if (r == TSS2_RC_SUCCESS) return VT_OK;
    return tpm_fail(t, r, what, err);
}

vt_err vt_vtpm_nv_read(vt_vtpm *t, uint32_t index, vt_buf *out, vt_error *err)
{
    *out = (vt_buf){0};
    ESYS_TR nv;
    VT_GUARD(tr_from(t, index, "NV index", &nv, err));
    TPM2B_NV_PUBLIC *pub = NULL;
    TPM2B_NAME *name = NULL;
    vt_err rc = VT_OK;
    TSS2_RC r = t->a.Esys_NV_ReadPublic(t->esys, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, &name);
    if (r != TSS2_RC_SUCCESS) {
        rc = tpm_fail(t, r, "TPM2_NV_ReadPublic", err);
        goto done;
    }
    size_t size = pub->nvPublic.dataSize;
    if (pub->nvPublic.nvIndex != index || size == 0 || size > VT_VTPM_NV_MAX) {
        rc = vt_error_set(err, VT_E_INVALID, "vtpm_nv_size", "NV index 0x%08x: size %zu outside 1..%u", index, size,
                          VT_VTPM_NV_MAX);
        goto done;
    }
    uint8_t *buf = malloc(size);
    if (buf == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "vtpm", "out of memory");
        goto done;
    }
    uint16_t chunk = nv_chunk(t);
    for (size_t off = 0; rc == VT_OK && off < size;) {
        uint16_t want = (uint16_t)(size - off < chunk ? size - off : chunk);
        TPM2B_MAX_NV_BUFFER *d = NULL;
        r = t->a.Esys_NV_Read(t->esys, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, want,
                              (uint16_t)off, &d);
        if (r != TSS2_RC_SUCCESS) rc = tpm_fail(t, r, "TPM2_NV_Read", err);
        else if (d == NULL || d->size != want)
            rc = vt_error_set(err, VT_E_INVALID, "vtpm_nv_read", "NV index 0x%08x: asked %u bytes at %zu, got %u", index,
                              want, off, d != NULL ? d->size : 0);
        else memcpy(buf + off, d->buffer, want), off += want;
        t->a.Esys_Free(d);
    }
    if (rc == VT_OK) {
        out->ptr = buf;
        out->len = size;
    } else {
        free(buf);
    }
done:
    t->a.Esys_Free(pub);
    t->a.Esys_Free(name);
    t->a.Esys_TR_Close(t->esys, &nv);
    return rc;
}

static void select_sha256(TPML_PCR_SELECTION *s, uint32_t mask)
{
    memset(s, 0, sizeof *s);
    s->count = 1;
    s->pcrSelections[0].hash = TPM2_ALG_SHA256;
    s->pcrSelections[0].sizeofSelect = 3;
    for (int i = 0; i < 3; i++) s->pcrSelections[0].pcrSelect[i] = (uint8_t)(mask >> (8 * i));
}

vt_err vt_vtpm_pcr_read(vt_vtpm *t, uint32_t mask, uint8_t pcrs[24][32], vt_error *err)
{
    uint32_t left = mask & VT_VTPM_PCRS_ALL;
    for (int round = 0; left != 0 && round < 24; round++) {
        TPML_PCR_SELECTION in, *sel = NULL;
        TPML_DIGEST *vals = NULL;
        uint32_t counter;
        select_sha256(&in, left);
        TSS2_RC r = t->a.Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &in, &counter, &sel, &vals);
        if (r != TSS2_RC_SUCCESS) return tpm_fail(t, r, "TPM2_PCR_Read", err);
        vt_err rc = VT_OK;
        /* The answer names what it read: SHA-256 entries only, ascending PCR order (Part 3, 22.4). */
        size_t k = 0;
        uint32_t got = 0;
        for (uint32_t b = 0; rc == VT_OK && sel != NULL && b < sel->count && b < TPM2_NUM_PCR_BANKS; b++) {
            const TPMS_PCR_SELECTION *ps = &sel->pcrSelections[b];
            if (ps->hash != TPM2_ALG_SHA256 || ps->sizeofSelect > TPM2_PCR_SELECT_MAX) {
                rc = vt_error_set(err, VT_E_INVALID, "vtpm_pcr_read", "TPM2_PCR_Read answered bank 0x%04x", ps->hash);
                break;
            }
            for (unsigned i = 0; rc == VT_OK && i < 8u * ps->sizeofSelect; i++) {
                if (!(ps->pcrSelect[i / 8] & (1u << (i % 8)))) continue;
                if (i >= 24 || !(left & (1u << i)) || vals == NULL || k >= vals->count || vals->digests[k].size != 32)
                    rc = vt_error_set(err, VT_E_INVALID, "vtpm_pcr_read",
                                      "TPM2_PCR_Read answer does not match its selection (PCR %u)", i);
                else memcpy(pcrs[i], vals->digests[k++].buffer, 32), got |= 1u << i;
            }
        }
        if (rc == VT_OK && (got == 0 || vals == NULL || k != vals->count))
            rc = vt_error_set(err, got == 0 ? VT_E_UNSUPPORTED : VT_E_INVALID, "vtpm_pcr_read",
                              got == 0 ? "the TPM has no SHA-256 value for the PCRs asked (no SHA-256 bank?)"
                                       : "TPM2_PCR_Read answered more values than it selected");
        t->a.Esys_Free(sel);
        t->a.Esys_Free(vals);
        VT_GUARD(rc);
        left &= ~got;
    }
    return left == 0 ? VT_OK : vt_error_set(err, VT_E_INVALID, "vtpm_pcr_read", "PCRs 0x%06x never read", left);
}

vt_err vt_vtpm_pcr_extend(vt_vtpm *t, unsigned pcr, const uint8_t digest[32], vt_error *err)
{
    if (pcr > 23) return vt_error_set(err, VT_E_ARG, "vtpm", "PCR %u: 0..23", pcr);
    TPML_DIGEST_VALUES v = {.count = 1};
    v.digests[0].hashAlg = TPM2_ALG_SHA256;
    memcpy(v.digests[0].digest.sha256, digest, 32);
    TSS2_RC r = t->a.Esys_PCR_Extend(t->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &v);
    return r == TSS2_RC_SUCCESS ? VT_OK : tpm_fail(t, r, "TPM2_PCR_Extend", err);
}

/* SHA-256 over the selected PCR values in selection order == the quote's pcrDigest. */
static bool digest_matches(const vt_tpms_attest *a, const uint8_t pcrs[24][32], uint32_t mask)
{
    uint8_t buf[24 * 32], d[32];
    size_t n = 0;
    for (unsigned i = 0; i < 24; i++)
        if (mask & (1u << i)) memcpy(buf + n, pcrs[i], 32), n += 32;
    return vt_hash(VT_SHA256, buf, n, d, NULL) == VT_OK && a->pcr_digest.len == 32 &&
           CRYPTO_memcmp(a->pcr_digest.ptr, d, 32) == 0;
}

/* The quote's own fields must be what was asked: quote type, our nonce, our selection. */
static vt_err check_quote(const vt_vtpm_quote *q, const uint8_t *nonce, size_t nl, uint32_t mask, vt_tpms_attest *a,
                          vt_error *err)
{
    VT_GUARD(vt_tpms_attest_parse(q->attest.ptr, q->attest.len, a, err));
    if (a->extra_data.len != nl || CRYPTO_memcmp(a->extra_data.ptr, nonce, nl) != 0)
        return vt_error_set(err, VT_E_INVALID, "vtpm_quote", "the TPM quoted other qualifying data than asked");
    uint32_t sel = 0;
    if (a->pcr_select.count != 1 || a->pcr_select.sel[0].hash_alg != VT_TPM_ALG_SHA256)
        return vt_error_set(err, VT_E_INVALID, "vtpm_quote", "the TPM quoted another PCR selection than asked");
    for (unsigned i = 0; i < 8u * a->pcr_select.sel[0].size_of_select && i < 32; i++)
        if (a->pcr_select.sel[0].pcr_select[i / 8] & (1u << (i % 8))) sel |= 1u << i;
    if (sel != mask) return vt_error_set(err, VT_E_INVALID, "vtpm_quote", "the TPM quoted PCRs 0x%06x, asked 0x%06x", sel, mask);
    return VT_OK;
}

static vt_err quote_once(vt_vtpm *t, ESYS_TR ak, const uint8_t *nonce, size_t nl, uint32_t mask, vt_vtpm_quote *q,
                         vt_error *err)
{
    TPM2B_DATA qd = {.size = (uint16_t)nl};
    memcpy(qd.buffer, nonce, nl);
    TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL};
    TPML_PCR_SELECTION sel;
    select_sha256(&sel, mask);
    TPM2B_ATTEST *att = NULL;
    TPMT_SIGNATURE *sig = NULL;
    TSS2_RC r = t->a.Esys_Quote(t->esys, ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qd, &scheme, &sel, &att, &sig);
    if (r != TSS2_RC_SUCCESS) return tpm_fail(t, r, "TPM2_Quote", err);
    uint8_t m[sizeof(TPMT_SIGNATURE)];
    size_t ml = 0;
    vt_err rc = VT_OK;
    if (att == NULL || sig == NULL || att->size > sizeof att->attestationData)
        rc = vt_error_set(err, VT_E_INVALID, "vtpm_quote", "TPM2_Quote answered no quote");
    else if (t->a.Tss2_MU_TPMT_SIGNATURE_Marshal(sig, m, sizeof m, &ml) != TSS2_RC_SUCCESS)
        rc = vt_error_set(err, VT_E_INVALID, "vtpm_quote", "the TPM's signature does not marshal");
    if (rc == VT_OK) rc = vt_buf_set(&q->attest, att->attestationData, att->size, err);
    if (rc == VT_OK) rc = vt_buf_set(&q->signature, m, ml, err);
    if (rc == VT_OK && (sig->sigAlg == TPM2_ALG_RSASSA || sig->sigAlg == TPM2_ALG_RSAPSS)) {
        const TPM2B_PUBLIC_KEY_RSA *s = &sig->signature.rsassa.sig; /* same layout for RSAPSS */
        rc = s->size <= sizeof s->buffer ? vt_buf_set(&q->signature_raw, s->buffer, s->size, err)
                                         : vt_error_set(err, VT_E_INVALID, "vtpm_quote", "RSA signature size");
    }
    t->a.Esys_Free(att);
    t->a.Esys_Free(sig);
    return rc;
}

vt_err vt_vtpm_quote_pcrs(vt_vtpm *t, uint32_t ak, const uint8_t *nonce, size_t nonce_len, uint32_t mask,
                          vt_vtpm_quote *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    if (nonce == NULL || nonce_len == 0 || nonce_len > VT_VTPM_NONCE_MAX)
        return vt_error_set(err, VT_E_ARG, "vtpm", "qualifying data: 1..%u bytes, not %zu", VT_VTPM_NONCE_MAX, nonce_len);
    mask &= VT_VTPM_PCRS_ALL;
    if (mask == 0) return vt_error_set(err, VT_E_ARG, "vtpm", "no PCR selected");
    ESYS_TR key;
    VT_GUARD(tr_from(t, ak, "attestation key", &key, err));
    vt_err rc = VT_E_INVALID;
    for (int attempt = 0; attempt < 3; attempt++) {
        vt_vtpm_quote_free(out);
        vt_tpms_attest a;
        rc = quote_once(t, key, nonce, nonce_len, mask, out, err);
        if (rc == VT_OK) rc = check_quote(out, nonce, nonce_len, mask, &a, err);
        if (rc == VT_OK) rc = vt_vtpm_pcr_read(t, mask, out->pcrs, err);
        if (rc != VT_OK) break;
        if (digest_matches(&a, (const uint8_t(*)[32])out->pcrs, mask)) {
            out->mask = mask;
            break;
        }
        rc = vt_error_set(err, VT_E_INVALID, "vtpm_pcr_digest",
                          "the PCRs read after the quote never matched its pcrDigest (PCRs extended meanwhile?)");
    }
    t->a.Esys_TR_Close(t->esys, &key);
    if (rc != VT_OK) vt_vtpm_quote_free(out);
    return rc;
}

void vt_vtpm_quote_free(vt_vtpm_quote *q)
{
    if (q == NULL) return;
    vt_buf_free(&q->attest);
    vt_buf_free(&q->signature);
    vt_buf_free(&q->signature_raw);
    q->mask = 0;
}

vt_err vt_vtpm_read_public(vt_vtpm *t, uint32_t handle, EVP_PKEY **out, vt_error *err)
{
    *out = NULL;
    ESYS_TR obj;
    VT_GUARD(tr_from(t, handle, "persistent key", &obj, err));
    TPM2B_PUBLIC *pub = NULL;
    TPM2B_NAME *name = NULL, *qname = NULL;
    vt_err rc = VT_OK;
    TSS2_RC r = t->a.Esys_ReadPublic(t->esys, obj, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, &name, &qname);
    uint8_t m[sizeof(TPMT_PUBLIC)];
    size_t ml = 0;
    if (r != TSS2_RC_SUCCESS) rc = tpm_fail(t, r, "TPM2_ReadPublic", err);
    else if (t->a.Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, m, sizeof m, &ml) != TSS2_RC_SUCCESS)
        rc = vt_error_set(err, VT_E_INVALID, "vtpm_public", "the key's public area does not marshal");
    vt_tpmt_public p;
    if (rc == VT_OK) rc = vt_tpmt_public_parse(m, ml, false, &p, err);
    if (rc == VT_OK) rc = vt_tpmt_public_to_pkey(&p, out, err);
    t->a.Esys_Free(pub);
    t->a.Esys_Free(name);
    t->a.Esys_Free(qname);
    t->a.Esys_TR_Close(t->esys, &obj);
    return rc;
}

vt_err vt_vtpm_ak_create(vt_vtpm *t, uint32_t handle, vt_error *err)
{
    TPM2B_SENSITIVE_CREATE sens = {0};
    TPM2B_PUBLIC tmpl = {0};
    tmpl.publicArea.type = TPM2_ALG_RSA;
    tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
    tmpl.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                                       TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
    TPMS_RSA_PARMS *rp = &tmpl.publicArea.parameters.rsaDetail;
    rp->symmetric.algorithm = TPM2_ALG_NULL;
    rp->scheme.scheme = TPM2_ALG_RSASSA;
    rp->scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
    rp->keyBits = 2048;
    TPM2B_DATA outside = {0};
    TPML_PCR_SELECTION none = {0};
    ESYS_TR obj = ESYS_TR_NONE, old = ESYS_TR_NONE, persisted = ESYS_TR_NONE;
    TPM2B_PUBLIC *pub = NULL;
    TPM2B_CREATION_DATA *cd = NULL;
    TPM2B_DIGEST *ch = NULL;
    TPMT_TK_CREATION *tk = NULL;
    TSS2_RC r = t->a.Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens,
                                        &tmpl, &outside, &none, &obj, &pub, &cd, &ch, &tk);
    t->a.Esys_Free(pub), t->a.Esys_Free(cd), t->a.Esys_Free(ch), t->a.Esys_Free(tk);
    if (r != TSS2_RC_SUCCESS) return tpm_fail(t, r, "TPM2_CreatePrimary", err);
    /* Replace an object already at the handle: evicting a persistent object takes its own TR. */
    if (t->a.Esys_TR_FromTPMPublic(t->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &old) == TSS2_RC_SUCCESS) {
        ESYS_TR gone = ESYS_TR_NONE;
        r = t->a.Esys_EvictControl(t->esys, ESYS_TR_RH_OWNER, old, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, handle,
                                   &gone);
        if (r != TSS2_RC_SUCCESS) {
            t->a.Esys_FlushContext(t->esys, obj);
            return tpm_fail(t, r, "TPM2_EvictControl (remove the old key)", err);
        }
    }
    r = t->a.Esys_EvictControl(t->esys, ESYS_TR_RH_OWNER, obj, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, handle,
                               &persisted);
    t->a.Esys_FlushContext(t->esys, obj);
    if (r != TSS2_RC_SUCCESS) return tpm_fail(t, r, "TPM2_EvictControl", err);
    t->a.Esys_TR_Close(t->esys, &persisted);
    return VT_OK;
}

vt_err vt_vtpm_nv_store(vt_vtpm *t, uint32_t index, const uint8_t *data, size_t len, vt_error *err)
{
    if (len == 0 || len > VT_VTPM_NV_MAX) return vt_error_set(err, VT_E_ARG, "vtpm", "NV data: 1..%u bytes", VT_VTPM_NV_MAX);
    ESYS_TR nv = ESYS_TR_NONE;
    TSS2_RC r;
    if (t->a.Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv) == TSS2_RC_SUCCESS) {
        r = t->a.Esys_NV_UndefineSpace(t->esys, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
        if (r != TSS2_RC_SUCCESS) return tpm_fail(t, r, "TPM2_NV_UndefineSpace", err);
    }
    TPM2B_AUTH auth = {0};
    TPM2B_NV_PUBLIC pub = {0};
    pub.nvPublic.nvIndex = index;
    pub.nvPublic.nameAlg = TPM2_ALG_SHA256;
    pub.nvPublic.attributes = TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD | TPMA_NV_NO_DA;
    pub.nvPublic.dataSize = (uint16_t)len;
    r = t->a.Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &auth, &pub, &nv);
    if (r != TSS2_RC_SUCCESS) return tpm_fail(t, r, "TPM2_NV_DefineSpace", err);
    uint16_t chunk = nv_chunk(t);
    vt_err rc = VT_OK;
    for (size_t off = 0; rc == VT_OK && off < len;) {
        TPM2B_MAX_NV_BUFFER d = {.size = (uint16_t)(len - off < chunk ? len - off : chunk)};
        memcpy(d.buffer, data + off, d.size);
        r = t->a.Esys_NV_Write(t->esys, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &d,
                               (uint16_t)off);
        if (r != TSS2_RC_SUCCESS) rc = tpm_fail(t, r, "TPM2_NV_Write", err);
        off += d.size;
    }
    t->a.Esys_TR_Close(t->esys, &nv);
    return rc;
}
