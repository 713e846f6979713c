/* The az-snp-vtpm / az-tdx-vtpm evidence JSON the CoCo attester posts (trustee
 * deps/verifier/src/az_*_vtpm): v0 carries byte arrays as JSON number arrays, v1 and v2 hex
 * quote fields and base64url reports; v2 adds the meaning "user-data is bound". */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "veritee/azure.h"
#include "veritee/json.h"

#define MAX_FIELD (1u << 20)

typedef enum enc { ENC_ARRAY, ENC_HEX, ENC_B64 } enc;

static vt_err bytes_from(const json_t *v, enc e, const char *path, vt_buf *out, vt_error *err)
{
    if (e == ENC_ARRAY) {
        if (!json_is_array(v)) return vt_error_set(err, VT_E_INVALID, "evidence", "%s: expected an array of bytes", path);
        size_t n = json_array_size(v);
        if (n > MAX_FIELD) return vt_error_set(err, VT_E_INVALID, "evidence", "%s: %zu bytes is too large", path, n);
        uint8_t *b = OPENSSL_malloc(n ? n : 1);
        if (b == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        for (size_t i = 0; i < n; i++) {
            const json_t *x = json_array_get(v, i);
            json_int_t iv = json_integer_value(x);
            if (!json_is_integer(x) || iv < 0 || iv > 255) {
                OPENSSL_free(b);
                return vt_error_set(err, VT_E_INVALID, "evidence", "%s[%zu]: expected an integer 0..255", path, i);
            }
            b[i] = (uint8_t)iv;
        }
        vt_err rc = vt_buf_set(out, b, n, err);
        OPENSSL_free(b);
        return rc;
    }
    const char *s = json_string_value(v);
    if (s == NULL) return vt_error_set(err, VT_E_INVALID, "evidence", "%s: expected a string", path);
    size_t sl = strlen(s);
    if (sl > 2 * MAX_FIELD) return vt_error_set(err, VT_E_INVALID, "evidence", "%s: too large", path);
    vt_err rc = e == ENC_HEX ? vt_hex_decode(s, sl, out, err) : vt_b64_decode(s, sl, out, err);
    if (rc != VT_OK) vt_error_set(err, VT_E_INVALID, "evidence", "%s: %s", path, err->msg);
    return rc;
}

static vt_err field(const json_t *o, const char *key, enc e, const char *path, vt_buf *out, vt_error *err)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL) return vt_error_set(err, VT_E_INVALID, "evidence", "%s missing", path);
    return bytes_from(v, e, path, out, err);
}

static vt_err read_quote(const json_t *q, enc e, const char *name, vt_az_evidence *out, vt_error *err)
{
    char path[64];
    if (!json_is_object(q)) return vt_error_set(err, VT_E_INVALID, "evidence", "%s: expected an object", name);
    snprintf(path, sizeof path, "%s.message", name);
    VT_GUARD(field(q, "message", e, path, &out->quote_message, err));
    snprintf(path, sizeof path, "%s.signature", name);
    VT_GUARD(field(q, "signature", e, path, &out->quote_signature, err));
    const json_t *pcrs = json_object_get(q, "pcrs");
    if (!json_is_array(pcrs) || json_array_size(pcrs) > VT_AZ_PCRS)
        return vt_error_set(err, VT_E_INVALID, "evidence", "%s.pcrs: expected an array of at most %d values", name,
                            VT_AZ_PCRS);
    for (size_t i = 0; i < json_array_size(pcrs); i++) {
        snprintf(path, sizeof path, "%s.pcrs[%zu]", name, i);
        VT_GUARD(bytes_from(json_array_get(pcrs, i), e, path, &out->pcr_bufs[i], err));
        out->pcrs[i] = (vt_bytes){out->pcr_bufs[i].ptr, out->pcr_bufs[i].len};
        out->n_pcrs = i + 1;
    }
    return VT_OK;
}

static vt_err parse(const json_t *root, vt_az_kind kind, vt_az_evidence *out, vt_error *err)
{
    if (!json_is_object(root)) return vt_error_set(err, VT_E_INVALID, "evidence", "evidence is not a JSON object");
    const json_t *ver = json_object_get(root, "version");
    if (ver == NULL) out->version = 0;
    else if (json_is_integer(ver) && (json_integer_value(ver) == 1 || json_integer_value(ver) == 2))
        out->version = (int)json_integer_value(ver);
    else return vt_error_set(err, VT_E_INVALID, "evidence", "evidence version is not 1 or 2 (absent = 0)");
    if (out->version == 0) {
        bool snp = kind == VT_AZ_SNP;
        VT_GUARD(read_quote(json_object_get(root, snp ? "quote" : "tpm_quote"), ENC_ARRAY, snp ? "quote" : "tpm_quote",
                            out, err));
        VT_GUARD(field(root, snp ? "report" : "hcl_report", ENC_ARRAY, snp ? "report" : "hcl_report", &out->hcl_report, err));
        if (snp) {
            const char *pem;
            VT_GUARD(vt_json_str(root, "vcek", "vcek", &pem, err));
            VT_GUARD(vt_buf_set(&out->vcek, pem, strlen(pem), err));
            out->vcek_pem = true;
        } else {
            VT_GUARD(field(root, "td_quote", ENC_ARRAY, "td_quote", &out->td_quote, err));
        }
    } else {
        VT_GUARD(read_quote(json_object_get(root, "tpm_quote"), ENC_HEX, "tpm_quote", out, err));
        VT_GUARD(field(root, "hcl_report", ENC_B64, "hcl_report", &out->hcl_report, err));
        if (kind == VT_AZ_SNP) VT_GUARD(field(root, "vcek", ENC_B64, "vcek", &out->vcek, err));
        else VT_GUARD(field(root, "td_quote", ENC_B64, "td_quote", &out->td_quote, err));
    }
    const json_t *el = json_object_get(root, "cc_eventlog");
    if (el != NULL && !json_is_null(el)) VT_GUARD(bytes_from(el, ENC_B64, "cc_eventlog", &out->cc_eventlog, err));
    return VT_OK;
}

vt_err vt_az_evidence_parse(const uint8_t *p, size_t len, vt_az_kind kind, vt_az_evidence *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    json_t *root = NULL;
    VT_GUARD(vt_json_parse((const char *)p, len, &root, err));
    vt_err rc = parse(root, kind, out, err);
    json_decref(root);
    if (rc != VT_OK) vt_az_evidence_free(out);
    return rc;
}

void vt_az_evidence_free(vt_az_evidence *e)
{
    if (e == NULL) return;
    vt_buf_free(&e->hcl_report);
    vt_buf_free(&e->quote_message);
    vt_buf_free(&e->quote_signature);
    for (size_t i = 0; i < VT_AZ_PCRS; i++) vt_buf_free(&e->pcr_bufs[i]);
    vt_buf_free(&e->vcek);
    vt_buf_free(&e->td_quote);
    vt_buf_free(&e->cc_eventlog);
    memset(e, 0, sizeof *e);
}

/* The top-level keys of a JSON object, found by a scan that only tracks strings and nesting
 * (no allocation, no validation: the kind's parser validates). Bit i set: keys[i] present. */
static unsigned top_keys(const uint8_t *p, size_t len, const char *const *keys, size_t n)
{
    unsigned found = 0;
    size_t depth = 0, i = 0;
    bool key_next = false;
    while (i < len) {
        uint8_t c = p[i];
        if (c == '"') {
            size_t start = ++i;
            while (i < len && p[i] != '"') i += p[i] == '\\' ? 2 : 1;
            if (i >= len) return 0;
            if (depth == 1 && key_next)
                for (size_t k = 0; k < n; k++)
                    if (strlen(keys[k]) == i - start && memcmp(p + start, keys[k], i - start) == 0) found |= 1u << k;
            key_next = false;
            i++;
            continue;
        }
        if (c == '{' || c == '[') {
            if (++depth > 64) return 0;
            key_next = c == '{' && depth == 1;
        } else if (c == '}' || c == ']') {
            if (depth-- == 0) return 0;
            if (depth == 0) return found;
        } else if (c == ',' && depth == 1) {
            key_next = true;
        }
        i++;
    }
    return 0; /* unterminated */
}

const char *vt_az_evidence_detect(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t')) i++;
    if (i == len || p[i] != '{') return NULL;
    static const char *const keys[] = {"vcek", "hcl_report", "report", "td_quote", "ak_public", "tpm_quote"};
    unsigned k = top_keys(p + i, len - i, keys, sizeof keys / sizeof keys[0]);
    if ((k & 1) && (k & 6)) return "az-snp-vtpm";
    if ((k & 8) && (k & 2)) return "az-tdx-vtpm";
    if ((k & 16) && (k & 32)) return "tpm";
    return NULL;
}
