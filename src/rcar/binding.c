/* RCAR bindings both sides compute (kbs-protocol.md §7.1-7.3): the runtime-data hash over the
 * JCS form of {additional-evidence, nonce, tee-pubkey}; and the resource path rule (§3). */
#include <string.h>
#include <strings.h>

#include "veritee/crypto.h"
#include "veritee/jcs.h"
#include "veritee/rcar.h"

static vt_err hash_of(const char *hash_alg, vt_hash_alg *alg, size_t *dlen, vt_error *err)
{
    *alg = VT_SHA384, *dlen = 48;
    if (hash_alg == NULL || strcasecmp(hash_alg, "sha384") == 0) return VT_OK;
    if (strcasecmp(hash_alg, "sha256") == 0) {
        *alg = VT_SHA256, *dlen = 32;
        return VT_OK;
    }
    if (strcasecmp(hash_alg, "sha512") == 0) {
        *alg = VT_SHA512, *dlen = 64;
        return VT_OK;
    }
    return vt_error_set(err, VT_E_UNSUPPORTED, "kbs_binding", "hash algorithm \"%.32s\" not supported", hash_alg);
}

/* H(JCS(rd)) zero-padded into report_data; canonical (may be NULL) receives the hashed text. */
static vt_err hash_jcs(json_t *rd, const char *hash_alg, uint8_t report_data[64], vt_buf *canonical, vt_error *err);

vt_err vt_rcar_device_binding(const char *nonce, const json_t *jwk, const char *hash_alg, uint8_t report_data[64],
                              vt_error *err)
{
    if (nonce == NULL || !json_is_object(jwk))
        return vt_error_set(err, VT_E_ARG, "kbs_binding", "the binding needs a nonce and a JWK object");
    json_t *rd = json_object();
    if (rd == NULL) return vt_error_set(err, VT_E_NOMEM, "kbs_binding", "out of memory");
    json_object_set_new(rd, "nonce", json_string(nonce));
    json_object_set(rd, "tee-pubkey", (json_t *)jwk);
    return hash_jcs(rd, hash_alg, report_data, NULL, err);
}

vt_err vt_rcar_binding(const char *nonce, const json_t *jwk, const char *additional, const char *hash_alg,
                      uint8_t report_data[64], vt_buf *canonical, vt_error *err)
{
    if (nonce == NULL || !json_is_object(jwk))
        return vt_error_set(err, VT_E_ARG, "kbs_binding", "the binding needs a nonce and a JWK object");
    json_t *rd = json_object();
    if (rd == NULL) return vt_error_set(err, VT_E_NOMEM, "kbs_binding", "out of memory");
    json_object_set_new(rd, "additional-evidence", json_string(additional ? additional : ""));
    json_object_set_new(rd, "nonce", json_string(nonce));
    json_object_set(rd, "tee-pubkey", (json_t *)jwk);
    return hash_jcs(rd, hash_alg, report_data, canonical, err);
}

static vt_err hash_jcs(json_t *rd, const char *hash_alg, uint8_t report_data[64], vt_buf *canonical, vt_error *err)
{
    vt_hash_alg alg;
    size_t dlen;
    vt_err hrc = hash_of(hash_alg, &alg, &dlen, err);
    if (hrc != VT_OK) {
        json_decref(rd);
        return hrc;
    }
    vt_buf text = {0};
    vt_err rc = vt_jcs(rd, &text, err);
    json_decref(rd);
    if (rc != VT_OK) return rc;
    uint8_t d[64] = {0};
    rc = vt_hash(alg, text.ptr, text.len, d, err);
    if (rc == VT_OK) {
        memset(report_data, 0, 64);
        memcpy(report_data, d, dlen);
        if (canonical != NULL) *canonical = text, text = (vt_buf){0};
    }
    vt_buf_free(&text);
    return rc;
}

bool vt_rcar_resource_path_ok(const char *path)
{
    if (path == NULL) return false;
    int segs = 0;
    const char *p = path;
    for (;;) {
        const char *s = p;
        if (!(*p == '_' || *p == '-' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9')))
            return false;
        while (*p == '_' || *p == '-' || *p == '.' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
               (*p >= '0' && *p <= '9'))
            p++;
        if (p - s > 128) return false;
        segs++;
        if (*p == 0) break;
        if (*p != '/') return false;
        p++;
    }
    return segs == 3;
}
