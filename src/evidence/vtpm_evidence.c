/* Guest-side vTPM evidence (include/veritee/vtpm.h): az-snp-vtpm / az-tdx-vtpm as CoCo's
 * attester sends them (HCL report from NV 0x01400001, TPM2_Quote by the HCL AK over SHA-256
 * PCR 0..23 with the report data unpadded, VCEK or TD quote from Azure IMDS), the `tpm` form
 * (AK SPKI, base64 TPMS_ATTEST and TPMT_SIGNATURE), and the TCG2 event log with the attestation
 * agent's records appended (shared/specs/azure_hcl_vtpm.md sections 1 and 5, tpm2_quote.md
 * section 3, aael_ccel.md section 2). */
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/fileio.h"
#include "veritee/http_get.h"
#include "veritee/json.h"
#include "veritee/reader.h"
#include "veritee/tpm.h"
#include "veritee/vtpm.h"
#include "veritee/writer.h"

#define IMDS_DEFAULT "http://169.254.169.254"
#define HCL_VAR_OFF 0x4D4u
#define HCL_TDREPORT_OFF 0x20u
#define EVENT_LOG_MAX (4u << 20)

/* base64url with '=' padding, as serde's UrlSafe engine writes it. */
static json_t *b64url_padded(const uint8_t *p, size_t n)
{
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
    json_t *j = json_string(t);
    free(t);
    return j;
}

static json_t *b64std(const uint8_t *p, size_t n)
{
    char *s = vt_b64_encode(p, n, false);
    json_t *j = s != NULL ? json_string(s) : NULL;
    free(s);
    return j;
}

/* The HCL report as read from NV: bounded by the buffer, the hardware kind it claims. */
vt_err vt_vtpm_hcl_check(const uint8_t *hcl, size_t len, vt_vtpm_kind kind, vt_error *err)
{
    vt_reader r;
    vt_reader_init(&r, hcl, len, "HCL report (NV 0x01400001)", err);
    uint32_t magic = 0, var = 0, type = 0;
    VT_GUARD(vt_read_u32le(&r, "signature", &magic));
    if (magic != 0x414C4348u) return vt_error_set(err, VT_E_INVALID, "hcl_report", "NV index holds no HCL report (no HCLA)");
    VT_GUARD(vt_read_skip(&r, "header and hardware report", 0x4C8 - 4));
    VT_GUARD(vt_read_u32le(&r, "igvm report_type", &type));
    VT_GUARD(vt_read_skip(&r, "igvm hash type", 4));
    VT_GUARD(vt_read_u32le(&r, "variable_data_size", &var));
    if (var > vt_reader_remaining(&r))
        return vt_error_set(err, VT_E_INVALID, "hcl_report", "HCL variable data (%u bytes) overruns the %zu-byte NV index",
                            var, len);
    uint32_t want = kind == VT_VTPM_AZ_SNP ? 2 : 4;
    if (type != want)
        return vt_error_set(err, VT_E_ARG, "hcl_report", "this CVM's HCL report is of type %u (%s), not what was asked",
                            type, type == 2 ? "SEV-SNP: az-snp-vtpm" : type == 4 ? "TDX: az-tdx-vtpm" : "unknown");
    return VT_OK;
}

/* Azure IMDS (or a directory standing in for it: vcek.der, td_quote.bin). */
static vt_err imds_vcek(const vt_vtpm_evidence_opts *o, vt_buf *der, vt_error *err)
{
    if (o->imds_dir != NULL) {
        char p[1100];
        snprintf(p, sizeof p, "%s/vcek.der", o->imds_dir);
        return vt_file_read(p, 64u << 10, der, err);
    }
    char url[600];
    snprintf(url, sizeof url, "%s/metadata/THIM/amd/certification", o->imds_url ? o->imds_url : IMDS_DEFAULT);
    static const char *const hdr[] = {"Metadata: true", NULL};
    vt_http_client_req rq = {.method = "GET", .headers = hdr};
    vt_http_get_opts go = {.check = "imds_vcek", .timeout_seconds = 10, .max_body = 64u << 10};
    vt_http_reply rep = {0};
    VT_GUARD(vt_http_do(url, &rq, &go, &rep, err));
    vt_err rc = VT_OK;
    json_t *j = rep.status == 200 ? json_loadb((const char *)rep.body.ptr, rep.body.len, 0, NULL) : NULL;
    const char *pem = json_string_value(json_object_get(j, "vcekCert"));
    BIO *b = pem != NULL ? BIO_new_mem_buf(pem, -1) : NULL;
    X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    unsigned char *d = NULL;
    int dl = x != NULL ? i2d_X509(x, &d) : -1;
    if (dl <= 0) rc = vt_error_set(err, VT_E_INVALID, "imds_vcek", "IMDS THIM answer (HTTP %ld) has no vcekCert PEM", rep.status);
    else rc = vt_buf_set(der, d, (size_t)dl, err);
    OPENSSL_free(d);
    X509_free(x);
    BIO_free(b);
    json_decref(j);
    vt_http_reply_free(&rep);
    return rc;
}

static vt_err imds_td_quote(const vt_vtpm_evidence_opts *o, const vt_buf *hcl, vt_buf *quote, vt_error *err)
{
    if (o->imds_dir != NULL) {
        char p[1100];
        snprintf(p, sizeof p, "%s/td_quote.bin", o->imds_dir);
        return vt_file_read(p, 64u << 10, quote, err);
    }
    if (hcl->len < HCL_TDREPORT_OFF + 1024) return vt_error_set(err, VT_E_INVALID, "hcl_report", "no TDREPORT");
    json_t *rj = b64url_padded(hcl->ptr + HCL_TDREPORT_OFF, 1024);
    json_t *body = rj != NULL ? json_pack("{s:o}", "report", rj) : NULL;
    char *bs = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (bs == NULL) return vt_error_set(err, VT_E_NOMEM, "imds", "out of memory");
    char url[600];
    snprintf(url, sizeof url, "%s/acc/tdquote", o->imds_url ? o->imds_url : IMDS_DEFAULT);
    vt_http_client_req rq = {.method = "POST", .content_type = "application/json", .body = (const uint8_t *)bs,
                             .body_len = strlen(bs)};
    vt_http_get_opts go = {.check = "imds_td_quote", .timeout_seconds = 20, .max_body = 64u << 10};
    vt_http_reply rep = {0};
    vt_err rc = vt_http_do(url, &rq, &go, &rep, err);
    free(bs);
    VT_GUARD(rc);
    json_t *j = rep.status == 200 ? json_loadb((const char *)rep.body.ptr, rep.body.len, 0, NULL) : NULL;
    const char *q = json_string_value(json_object_get(j, "quote"));
    if (q == NULL) rc = vt_error_set(err, VT_E_INVALID, "imds_td_quote", "IMDS /acc/tdquote (HTTP %ld) gave no quote", rep.status);
    else rc = vt_b64_decode(q, strlen(q), quote, err);
    json_decref(j);
    vt_http_reply_free(&rep);
    return rc;
}

/* Length of a TCG2 log's header (the Spec ID record), 0 when it is not a TCG2 log. */
static size_t header_len(const uint8_t *p, size_t n, size_t *end)
{
    vt_reader r;
    uint32_t pcr = 1, type = 0, es = 0;
    vt_reader_init(&r, p, n, "event log", NULL);
    if (vt_read_u32le(&r, "PCRIndex", &pcr) != VT_OK || vt_read_u32le(&r, "EventType", &type) != VT_OK || pcr != 0 ||
        type != VT_TCG_EV_NOACTION || vt_read_skip(&r, "SHA-1 digest", 20) != VT_OK ||
        vt_read_u32le(&r, "EventSize", &es) != VT_OK || es > vt_reader_remaining(&r))
        return 0;
    if (vt_tcg2_log_iterate(p, n, NULL, end, NULL, NULL, NULL) != VT_OK) return 0;
    return 32u + es;
}

vt_err vt_cc_eventlog_build(const uint8_t *fw, size_t fw_len, const uint8_t *aa, size_t aa_len, vt_buf *out,
                            vt_error *err)
{
    *out = (vt_buf){0};
    size_t fw_end = 0, aa_end = 0, aa_hdr = 0;
    if (fw_len > 0) {
        VT_GUARD(vt_tcg2_log_iterate(fw, fw_len, NULL, &fw_end, NULL, NULL, err));
    }
    if (aa_len > 0) {
        aa_hdr = header_len(aa, aa_len, &aa_end);
        if (aa_hdr == 0)
            return vt_error_set(err, VT_E_INVALID, "aa_eventlog",
                                "the attestation agent's log is not a TCG2 log (the 2024 text form goes as aa_eventlog)");
        if (fw_len == 0) aa_hdr = 0; /* no firmware log: its own header leads */
    }
    if (fw_len == 0 && aa_len == 0) return VT_OK;
    VT_GUARD(vt_buf_set(out, fw, fw_end, err));
    if (aa_len > 0) {
        VT_GUARD(vt_buf_append(out, aa + aa_hdr, aa_end - aa_hdr, err));
    }
    static const uint8_t term[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    VT_GUARD(vt_buf_append(out, term, 8, err));
    /* what we send must parse as one log */
    vt_err rc = vt_tcg2_log_iterate(out->ptr, out->len, NULL, NULL, NULL, NULL, err);
    if (rc != VT_OK) vt_buf_free(out);
    return rc;
}

static vt_err quote_json(const vt_vtpm_quote *q, bool raw_hex, json_t **out, vt_error *err)
{
    json_t *pcrs = json_array();
    for (unsigned i = 0; pcrs != NULL && i < 24; i++)
        if (q->mask & (1u << i)) json_array_append_new(pcrs, vt_json_hex_string(q->pcrs[i], 32));
    if (raw_hex)
        *out = json_pack("{s:o, s:o, s:o}", "signature", vt_json_hex_string(q->signature_raw.ptr, q->signature_raw.len),
                         "message", vt_json_hex_string(q->attest.ptr, q->attest.len), "pcrs", pcrs);
    else
        *out = json_pack("{s:o, s:o, s:o}", "message", b64std(q->attest.ptr, q->attest.len), "signature",
                         b64std(q->signature.ptr, q->signature.len), "pcrs", pcrs);
    return *out != NULL ? VT_OK : vt_error_set(err, VT_E_NOMEM, "vtpm", "out of memory");
}

static vt_err az_evidence(vt_vtpm *t, const vt_vtpm_evidence_opts *o, json_t **out, vt_error *err)
{
    vt_buf hcl = {0}, extra = {0};
    vt_vtpm_quote q = {0};
    json_t *tq = NULL;
    vt_err rc;
    VT_GUARD_GOTO(vt_vtpm_nv_read(t, VT_AZ_NV_HCL_REPORT, &hcl, err));
    VT_GUARD_GOTO(vt_vtpm_hcl_check(hcl.ptr, hcl.len, o->kind, err));
    VT_GUARD_GOTO(vt_vtpm_quote_pcrs(t, o->ak_handle ? o->ak_handle : VT_AZ_AK_HANDLE, o->nonce, o->nonce_len,
                                     VT_VTPM_PCRS_ALL, &q, err));
    if (q.signature_raw.len == 0) {
        rc = vt_error_set(err, VT_E_UNSUPPORTED, "vtpm_quote", "the AK signed with a non-RSA scheme: Azure's shape carries RSA");
        goto out;
    }
    if (o->kind == VT_VTPM_AZ_SNP) VT_GUARD_GOTO(imds_vcek(o, &extra, err));
    else VT_GUARD_GOTO(imds_td_quote(o, &hcl, &extra, err));
    VT_GUARD_GOTO(quote_json(&q, true, &tq, err));
    *out = json_pack("{s:i, s:o, s:o, s:o}", "version", 1, "tpm_quote", tq, "hcl_report", b64url_padded(hcl.ptr, hcl.len),
                     o->kind == VT_VTPM_AZ_SNP ? "vcek" : "td_quote", b64url_padded(extra.ptr, extra.len));
    tq = NULL;
    rc = *out != NULL ? VT_OK : vt_error_set(err, VT_E_NOMEM, "vtpm", "out of memory");
out:
    json_decref(tq);
    vt_buf_free(&hcl);
    vt_buf_free(&extra);
    vt_vtpm_quote_free(&q);
    return rc;
}

static vt_err tpm_evidence(vt_vtpm *t, const vt_vtpm_evidence_opts *o, json_t **out, vt_error *err)
{
    /* CoCo's TpmAttester quotes the report data zero-padded (or cut) to 64 bytes. */
    uint8_t rd[64] = {0};
    memcpy(rd, o->nonce, o->nonce_len < 64 ? o->nonce_len : 64);
    EVP_PKEY *ak = NULL;
    vt_vtpm_quote q = {0};
    json_t *tq = NULL;
    unsigned char *spki = NULL;
    vt_err rc;
    uint32_t h = o->ak_handle ? o->ak_handle : VT_TPM_AK_HANDLE;
    VT_GUARD_GOTO(vt_vtpm_read_public(t, h, &ak, err));
    int sl = i2d_PUBKEY(ak, &spki);
    if (sl <= 0) {
        rc = vt_error_set(err, VT_E_INTERNAL, "vtpm", "cannot encode the AK");
        goto out;
    }
    VT_GUARD_GOTO(vt_vtpm_quote_pcrs(t, h, rd, sizeof rd, VT_VTPM_PCRS_ALL, &q, err));
    VT_GUARD_GOTO(quote_json(&q, false, &tq, err));
    *out = json_pack("{s:o, s:o, s:o}", "report_data", b64std(rd, sizeof rd), "tpm_quote", tq, "ak_public",
                     b64std(spki, (size_t)sl));
    tq = NULL;
    rc = *out != NULL ? VT_OK : vt_error_set(err, VT_E_NOMEM, "vtpm", "out of memory");
out:
    json_decref(tq);
    OPENSSL_free(spki);
    EVP_PKEY_free(ak);
    vt_vtpm_quote_free(&q);
    return rc;
}

vt_err vt_vtpm_evidence(const vt_vtpm_evidence_opts *o, json_t **out, vt_error *err)
{
    *out = NULL;
    if (o->kind != VT_VTPM_AZ_SNP && o->kind != VT_VTPM_AZ_TDX && o->kind != VT_VTPM_TPM)
        return vt_error_set(err, VT_E_ARG, "vtpm", "evidence kind");
    if (o->nonce == NULL || o->nonce_len == 0 || o->nonce_len > VT_VTPM_NONCE_MAX)
        return vt_error_set(err, VT_E_ARG, "vtpm", "report data: 1..%u bytes, not %zu", VT_VTPM_NONCE_MAX, o->nonce_len);
    if (o->kind != VT_VTPM_TPM && o->nonce_len > VT_AZ_NONCE_MAX)
        return vt_error_set(err, VT_E_ARG, "vtpm", "Azure's vTPM quotes at most %u bytes of report data (TPM_RC_SIZE), "
                            "not %zu: use SHA-384 or SHA-256", VT_AZ_NONCE_MAX, o->nonce_len);
    vt_vtpm *t = NULL;
    VT_GUARD(vt_vtpm_open(o->tcti, &t, err));
    vt_err rc = o->kind == VT_VTPM_TPM ? tpm_evidence(t, o, out, err) : az_evidence(t, o, out, err);
    vt_vtpm_close(t);
    if (rc == VT_OK && o->event_log != NULL && o->event_log_len > 0) {
        json_t *l = b64std(o->event_log, o->event_log_len);
        if (l == NULL || json_object_set_new(*out, "cc_eventlog", l) != 0)
            rc = vt_error_set(err, VT_E_NOMEM, "vtpm", "out of memory");
    }
    if (rc == VT_OK && o->aa_eventlog_text != NULL &&
        json_object_set_new(*out, "aa_eventlog", json_string(o->aa_eventlog_text)) != 0)
        rc = vt_error_set(err, VT_E_INVALID, "aa_eventlog", "the attestation agent's text log is not UTF-8");
    if (rc != VT_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

vt_err vt_vtpm_event_logs_read(const char *fw_path, const char *aa_path, vt_buf *cc_eventlog, char **aa_text,
                               vt_error *err)
{
    *cc_eventlog = (vt_buf){0};
    *aa_text = NULL;
    vt_buf fw = {0}, aa = {0};
    vt_err rc = VT_OK;
    if (fw_path != NULL && vt_file_exists(fw_path)) rc = vt_file_read(fw_path, EVENT_LOG_MAX, &fw, err);
    if (rc == VT_OK && aa_path != NULL && vt_file_exists(aa_path)) rc = vt_file_read(aa_path, EVENT_LOG_MAX, &aa, err);
    if (rc == VT_OK && aa.len >= 5 && memcmp(aa.ptr, "INIT ", 5) == 0) { /* the 2024 text form */
        if (memchr(aa.ptr, 0, aa.len) != NULL) rc = vt_error_set(err, VT_E_INVALID, "aa_eventlog", "NUL in the text log");
        else if ((*aa_text = strndup((const char *)aa.ptr, aa.len)) == NULL) rc = vt_error_set(err, VT_E_NOMEM, "vtpm", "out of memory");
        vt_buf_free(&aa);
    }
    if (rc == VT_OK) rc = vt_cc_eventlog_build(fw.ptr, fw.len, aa.ptr, aa.len, cc_eventlog, err);
    vt_buf_free(&fw);
    vt_buf_free(&aa);
    if (rc != VT_OK) {
        free(*aa_text);
        *aa_text = NULL;
    }
    return rc;
}
