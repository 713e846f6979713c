/* Emulated Azure CVM evidence (include/veritee/emulate.h): what the paravisor and its vTPM give a
 * CoCo guest on Azure (HCL report, TPM quote by the HCL attestation key), in the attester's JSON,
 * around the emulated SNP report or TD quote. Layout: docs/azure.md. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_internal.h"
#include "veritee/codec.h"
#include "veritee/crypto.h"
#include "veritee/fileio.h"
#include "veritee/jose.h"
#include "veritee/json.h"
#include "veritee/tdx.h"

#define HCL_SIZE 2600u
#define AZ_NONCE_MAX 50u /* TPM_RC_SIZE above this on Azure's vTPM */

static void le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static void be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }

static vt_err ak_key(const char *dir, EVP_PKEY **out, vt_error *err)
{
    char path[1200];
    VT_GUARD(emu_path(dir, "keys", "az_ak.key.pem", path, sizeof path, err));
    if (vt_file_exists(path)) return emu_load_key(dir, "az_ak.key.pem", out, err);
    VT_GUARD(vt_pki_rsa_key(2048, out, err));
    vt_err rc = emu_save_key(dir, "az_ak.key.pem", *out, err);
    if (rc != VT_OK) {
        EVP_PKEY_free(*out);
        *out = NULL;
    }
    return rc;
}

/* The runtime claims: keys (HCLAkPub), vm-configuration, user-data = nonce zero-padded to 64. */
vt_err emu_az_runtime_claims(EVP_PKEY *ak, const uint8_t *nonce, size_t nl, char **out, vt_error *err)
{
    json_t *jwk = NULL;
    VT_GUARD(vt_jwk_from_pkey(ak, NULL, &jwk, err));
    json_object_set_new(jwk, "kid", json_string("HCLAkPub"));
    json_object_set_new(jwk, "key_ops", json_pack("[s]", "sign"));
    uint8_t ud[64] = {0};
    if (nl > 0) memcpy(ud, nonce, nl < 64 ? nl : 64);
    char udh[129];
    vt_hex_encode(ud, 64, udh);
    for (char *c = udh; *c; c++)
        if (*c >= 'a' && *c <= 'f') *c = (char)(*c - 'a' + 'A'); /* Azure writes it upper-case */
    json_t *rt = json_pack("{s:[o], s:{s:b, s:b, s:b, s:s}, s:s}", "keys", jwk, "vm-configuration", "console-enabled", 0,
                           "secure-boot", 1, "tpm-enabled", 1, "vmUniqueId", "e5a1c0de-0000-4000-8000-000000000001",
                           "user-data", udh);
    *out = rt != NULL ? json_dumps(rt, JSON_COMPACT) : NULL;
    json_decref(rt);
    return *out != NULL ? VT_OK : vt_error_set(err, VT_E_NOMEM, "emulate", "out of memory");
}

/* The 1184-byte hardware area: SNP report, or TDREPORT (fields of the quote body) + zeros. */
vt_err emu_az_hardware(vt_emu *e, vt_emu_az_kind kind, const uint8_t rd[64], uint8_t hw[1184], vt_buf *quote,
                       vt_error *err)
{
    memset(hw, 0, 1184);
    if (kind == VT_EMU_AZ_SNP) {
        vt_emu_snp_opts so = {.version = 3, .has_vmpl = true, .vmpl = 0};
        vt_buf r = {0};
        VT_GUARD(vt_emu_snp_report(e, rd, &so, &r, err));
        memcpy(hw, r.ptr, r.len < 1184 ? r.len : 1184);
        vt_buf_free(&r);
        return VT_OK;
    }
    VT_GUARD(vt_emu_tdx_quote(e, rd, 4, quote, err));
    vt_tdx_quote q;
    VT_GUARD(vt_tdx_quote_parse(quote->ptr, quote->len, &q, err));
    hw[0] = 0x81;
    memcpy(hw + 128, q.td.report_data, 64);
    memcpy(hw + 512, q.td.td_attributes, 8);
    memcpy(hw + 520, q.td.xfam, 8);
    memcpy(hw + 528, q.td.mr_td, 48);
    memcpy(hw + 576, q.td.mr_config_id, 48);
    memcpy(hw + 624, q.td.mr_owner, 48);
    memcpy(hw + 672, q.td.mr_owner_config, 48);
    memcpy(hw + 720, q.td.rtmr, 4 * 48);
    return VT_OK;
}

void emu_az_hcl(vt_emu_az_kind kind, const uint8_t hw[1184], const char *var, size_t vl, uint8_t *h, size_t size)
{
    memset(h, 0, size);
    memcpy(h, "HCLA", 4);
    le32(h + 4, 2);
    le32(h + 8, (uint32_t)(32 + 1184 + 20 + vl));
    le32(h + 12, 2);
    memcpy(h + 0x20, hw, 1184);
    le32(h + 0x4C0, (uint32_t)(20 + vl));
    le32(h + 0x4C4, 1);
    le32(h + 0x4C8, kind == VT_EMU_AZ_SNP ? 2 : 4);
    le32(h + 0x4CC, 1);
    le32(h + 0x4D0, (uint32_t)vl);
    memcpy(h + 0x4D4, var, vl);
}

/* The attestation agent's log: zero-signature header (SHA-256), AAEL records at PCR 23. */
static vt_err aael_log(const vt_emu_az_opts *o, vt_buf *log, uint8_t pcr23[32], vt_error *err)
{
    size_t cap = 32 + 33 + 8; /* header record (32 + a 33-byte Spec ID event), terminator */
    for (size_t i = 0; i < o->n_aael; i++) cap += 12 + 2 + 32 + 4 + 8 + strlen(o->aael[i]);
    uint8_t *b = calloc(1, cap);
    if (b == NULL) return vt_error_set(err, VT_E_NOMEM, "emulate", "out of memory");
    size_t n = 0;
    le32(b, 0), le32(b + 4, 3), n = 8 + 20;
    le32(b + n, 33), n += 4;
    n += 16 + 4; /* zero signature, platform class */
    b[n++] = 0, b[n++] = 2, b[n++] = 0, b[n++] = 2;
    le32(b + n, 1), n += 4;
    b[n++] = 0x0b, b[n++] = 0, b[n++] = 32, b[n++] = 0;
    b[n++] = 0;
    memset(pcr23, 0, 32);
    vt_err rc = VT_OK;
    for (size_t i = 0; rc == VT_OK && i < o->n_aael; i++) {
        size_t tl = strlen(o->aael[i]);
        le32(b + n, 23), le32(b + n + 4, 6), le32(b + n + 8, 1), n += 12;
        b[n++] = 0x0b, b[n++] = 0;
        uint8_t *dg = b + n;
        n += 32;
        le32(b + n, (uint32_t)(8 + tl)), n += 4;
        uint8_t *data = b + n;
        memcpy(data, "\x4c\x45\x41\x41", 4);
        le32(data + 4, (uint32_t)tl);
        memcpy(data + 8, o->aael[i], tl);
        n += 8 + tl;
        rc = vt_hash(VT_SHA256, data, 8 + tl, dg, err);
        if (rc == VT_OK) rc = vt_hash2(VT_SHA256, pcr23, 32, dg, 32, pcr23, err);
    }
    memset(b + n, 0xff, 8), n += 8;
    if (rc == VT_OK) rc = vt_buf_set(log, b, n, err);
    free(b);
    return rc;
}

/* TPMS_ATTEST of a quote over SHA-256 PCRs 0..23 with the nonce, signed RSASSA-SHA256 (raw). */
static vt_err tpm_quote(EVP_PKEY *ak, const uint8_t *nonce, size_t nl, const uint8_t pcrs[24][32], uint8_t *msg,
                        size_t *ml, uint8_t sig[256], vt_error *err)
{
    size_t o = 0;
    be16(msg, 0xff54), be16(msg + 2, 0x4347), be16(msg + 4, 0x8018), o = 6;
    be16(msg + o, 34), be16(msg + o + 2, 0x000b), o += 4;
    VT_GUARD(vt_hash(VT_SHA256, "veritee emulated vTPM AK", 24, msg + o, err)); /* qualifiedSigner digest */
    o += 32;
    be16(msg + o, (uint16_t)nl), o += 2;
    memcpy(msg + o, nonce, nl), o += nl;
    memset(msg + o, 0, 25);          /* clock info, firmware version */
    msg[o + 16] = 1;                 /* clockInfo.safe */
    o += 25;
    msg[o++] = 0, msg[o++] = 0, msg[o++] = 0, msg[o++] = 1;
    be16(msg + o, 0x000b), o += 2;
    msg[o++] = 3, msg[o++] = 0xff, msg[o++] = 0xff, msg[o++] = 0xff;
    be16(msg + o, 32), o += 2;
    VT_GUARD(vt_hash(VT_SHA256, pcrs, 24 * 32, msg + o, err));
    o += 32;
    *ml = o;
    size_t sl = 256;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c != NULL && EVP_DigestSignInit_ex(c, NULL, "SHA256", NULL, NULL, ak, NULL) == 1 &&
             EVP_DigestSign(c, sig, &sl, msg, o) == 1 && sl == 256;
    EVP_MD_CTX_free(c);
    return ok ? VT_OK : vt_error_set(err, VT_E_INTERNAL, "emulate", "signing the TPM quote failed");
}

static char *b64u(const uint8_t *p, size_t n)
{
    /* the attester writes base64url with '=' padding */
    char *s = vt_b64_encode(p, n, true);
    if (s == NULL) return NULL;
    size_t l = strlen(s), pad = (4 - l % 4) % 4;
    char *t = realloc(s, l + pad + 1);
    if (t == NULL) {
        free(s);
        return NULL;
    }
    memset(t + l, '=', pad);
    t[l + pad] = '\0';
    return t;
}

vt_err emu_az_vcek_der(vt_emu *e, vt_buf *out, vt_error *err)
{
    vt_buf tab = {0};
    vt_snp_certtable ct;
    VT_GUARD(vt_emu_snp_certtable(e, false, &tab, err));
    vt_err rc = vt_snp_certtable_parse(tab.ptr, tab.len, &ct, err);
    size_t i = 0;
    while (rc == VT_OK && i < ct.n && ct.entries[i].kind != VT_SNP_CERT_VCEK) i++;
    if (rc == VT_OK && i == ct.n) rc = vt_error_set(err, VT_E_INTERNAL, "emulate", "no VCEK in the emulated table");
    if (rc == VT_OK) rc = vt_buf_set(out, ct.entries[i].data.ptr, ct.entries[i].data.len, err);
    vt_buf_free(&tab);
    return rc;
}

vt_err vt_emu_az_evidence(vt_emu *e, vt_emu_az_kind kind, const uint8_t *nonce, size_t nl,
                          const vt_emu_az_opts *o, vt_buf *out, vt_error *err)
{
    vt_emu_az_opts none = {0};
    if (o == NULL) o = &none;
    if (nonce == NULL || nl == 0 || nl > AZ_NONCE_MAX)
        return vt_error_set(err, VT_E_ARG, "emulate", "Azure's vTPM takes 1..%u bytes of qualifying data, not %zu",
                            AZ_NONCE_MAX, nl);
    if (kind != VT_EMU_AZ_SNP && kind != VT_EMU_AZ_TDX) return vt_error_set(err, VT_E_ARG, "emulate", "Azure kind");
    EVP_PKEY *ak = NULL;
    char *var = NULL, *h64 = NULL, *x64 = NULL, *l64 = NULL;
    uint8_t *hcl = calloc(1, HCL_SIZE), hw[1184], rd[64] = {0}, pcrs[24][32] = {{0}}, msg[256], sig[256];
    vt_buf quote = {0}, log = {0}, extra = {0};
    json_t *ev = NULL;
    vt_err rc = hcl != NULL ? VT_OK : vt_error_set(err, VT_E_NOMEM, "emulate", "out of memory");
    if (rc == VT_OK) rc = ak_key(e->dir, &ak, err);
    if (rc == VT_OK) rc = emu_az_runtime_claims(ak, nonce, nl, &var, err);
    size_t vl = var != NULL ? strlen(var) : 0;
    if (rc == VT_OK && 0x4D4 + vl > HCL_SIZE) rc = vt_error_set(err, VT_E_INTERNAL, "emulate", "runtime claims too long");
    if (rc == VT_OK) rc = vt_hash(VT_SHA256, var, vl, rd, err);
    if (rc == VT_OK) rc = emu_az_hardware(e, kind, rd, hw, &quote, err);
    if (rc == VT_OK) emu_az_hcl(kind, hw, var, vl, hcl, HCL_SIZE);
    /* PCRs: recognisable firmware values, PCR8 init-data, DRTM PCRs all-FF, PCR23 the AAEL log */
    for (int i = 0; i < 8; i++) memset(pcrs[i], 0xa0 + i, 32);
    uint8_t zero[32] = {0};
    if (rc == VT_OK && o->init_data_hash != NULL) rc = vt_hash2(VT_SHA256, zero, 32, o->init_data_hash, 32, pcrs[8], err);
    for (int i = 17; i <= 22; i++) memset(pcrs[i], 0xff, 32);
    if (rc == VT_OK && o->n_aael > 0) rc = aael_log(o, &log, pcrs[23], err);
    size_t ml = 0;
    if (rc == VT_OK) rc = tpm_quote(ak, nonce, nl, (const uint8_t(*)[32])pcrs, msg, &ml, sig, err);
    if (rc == VT_OK && kind == VT_EMU_AZ_SNP) rc = emu_az_vcek_der(e, &extra, err);
    if (rc == VT_OK) {
        json_t *pj = json_array();
        for (int i = 0; i < 24; i++) json_array_append_new(pj, vt_json_hex_string(pcrs[i], 32));
        h64 = b64u(hcl, HCL_SIZE);
        x64 = kind == VT_EMU_AZ_SNP ? b64u(extra.ptr, extra.len) : b64u(quote.ptr, quote.len);
        ev = json_pack("{s:i, s:{s:o, s:o, s:o}, s:s?, s:s?}", "version", 2, "tpm_quote", "signature",
                       vt_json_hex_string(sig, 256), "message", vt_json_hex_string(msg, ml), "pcrs", pj, "hcl_report",
                       h64, kind == VT_EMU_AZ_SNP ? "vcek" : "td_quote", x64);
        if (ev != NULL && log.len > 0 && (l64 = vt_b64_encode(log.ptr, log.len, false)) != NULL)
            json_object_set_new(ev, "cc_eventlog", json_string(l64));
        char *s = ev != NULL && h64 != NULL && x64 != NULL ? json_dumps(ev, JSON_INDENT(2)) : NULL;
        rc = s != NULL ? vt_buf_set(out, s, strlen(s), err) : vt_error_set(err, VT_E_NOMEM, "emulate", "out of memory");
        free(s);
    }
    json_decref(ev);
    free(var);
    free(h64);
    free(x64);
    free(l64);
    free(hcl);
    vt_buf_free(&quote);
    vt_buf_free(&log);
    vt_buf_free(&extra);
    EVP_PKEY_free(ak);
    return rc;
}
