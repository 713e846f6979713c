/* RCAR message parsers (kbs-protocol.md §2, §4, §6) and the runtime-data binding (§7.1):
 * every field of the untrusted bodies is type-checked; unknown top-level members tolerated as
 * the reference does. */
#include <stdlib.h>
#include <string.h>

#include "veritee/crypto.h"
#include "veritee/jcs.h"
#include "veritee/json.h"
#include "veritee/rcar.h"

/* Accepted protocol versions (table-driven, §2/§16). */
static const char *const VERSIONS[] = {VT_RCAR_VERSION};

vt_err vt_rcar_request_parse(const uint8_t *body, size_t len, vt_rcar_request *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    json_t *j = NULL;
    vt_err rc;
    VT_GUARD(vt_json_parse((const char *)body, len, &j, err));
    const char *version, *tee;
    if (!json_is_object(j)) {
        rc = vt_error_set(err, VT_E_INVALID, "request", "the Request must be a JSON object");
        goto out;
    }
    VT_GUARD_GOTO(vt_json_str(j, "version", "request.version", &version, err));
    bool ok = false;
    for (size_t i = 0; i < sizeof VERSIONS / sizeof VERSIONS[0]; i++)
        if (strcmp(version, VERSIONS[i]) == 0) ok = true;
    if (!ok) {
        rc = vt_error_set(err, VT_E_UNSUPPORTED, "version",
                          "KBS Client Protocol Version Mismatch: expect =%s while the request is %.32s",
                          VT_RCAR_VERSION, version);
        goto out;
    }
    VT_GUARD_GOTO(vt_json_str(j, "tee", "request.tee", &tee, err));
    if (strlen(tee) >= sizeof out->tee || strlen(tee) == 0) {
        rc = vt_error_set(err, VT_E_INVALID, "tee", "unknown TEE name");
        goto out;
    }
    snprintf(out->tee, sizeof out->tee, "%s", tee);
    json_t *xp = json_object_get(j, "extra-params");
    if (xp != NULL && json_is_object(xp)) {
        json_t *id = json_object_get(xp, "id");
        /* A policy selector we do not know is refused (§2); veritee knows none yet. */
        if (id != NULL) {
            rc = vt_error_set(err, VT_E_INVALID, "extra-params", "unknown policy selector extra-params.id");
            goto out;
        }
        json_t *algs = json_object_get(xp, "supported-hash-algorithms");
        if (algs != NULL && !json_is_array(algs)) {
            rc = vt_error_set(err, VT_E_INVALID, "extra-params", "supported-hash-algorithms must be an array");
            goto out;
        }
    } else if (xp != NULL && !json_is_string(xp) && !json_is_null(xp)) {
        rc = vt_error_set(err, VT_E_INVALID, "extra-params", "extra-params must be an object or a string");
        goto out;
    }
    rc = VT_OK;
out:
    json_decref(j);
    return rc;
}

void vt_rcar_attestation_clear(vt_rcar_attestation *a)
{
    if (a == NULL) return;
    json_decref(a->root);
    memset(a, 0, sizeof *a);
}

static vt_err check_jwk(const json_t *k, vt_error *err)
{
    const char *kty;
    if (!json_is_object(k)) return vt_error_set(err, VT_E_INVALID, "tee-pubkey", "tee-pubkey must be a JWK object");
    VT_GUARD(vt_json_str(k, "kty", "runtime-data.tee-pubkey.kty", &kty, err));
    if (strcmp(kty, "EC") != 0 && strcmp(kty, "RSA") != 0)
        return vt_error_set(err, VT_E_UNSUPPORTED, "tee-pubkey", "tee-pubkey kty '%.16s' not supported (EC, RSA)", kty);
    return VT_OK;
}

vt_err vt_rcar_attestation_parse(const uint8_t *body, size_t len, vt_rcar_attestation *out, vt_error *err)
{
    memset(out, 0, sizeof *out);
    vt_err rc;
    VT_GUARD(vt_json_parse((const char *)body, len, &out->root, err));
    json_t *j = out->root, *rd, *te, *pk;
    if (!json_is_object(j)) {
        rc = vt_error_set(err, VT_E_INVALID, "attestation", "the Attestation must be a JSON object");
        goto out;
    }
    VT_GUARD_GOTO(vt_json_obj(j, "runtime-data", "runtime-data", &rd, err));
    VT_GUARD_GOTO(vt_json_str(rd, "nonce", "runtime-data.nonce", &out->nonce, err));
    VT_GUARD_GOTO(vt_json_obj(rd, "tee-pubkey", "runtime-data.tee-pubkey", &pk, err));
    VT_GUARD_GOTO(check_jwk(pk, err));
    out->tee_pubkey = pk;
    VT_GUARD_GOTO(vt_json_obj(j, "tee-evidence", "tee-evidence", &te, err));
    out->primary = json_object_get(te, "primary_evidence");
    if (out->primary == NULL || json_is_null(out->primary)) {
        rc = vt_error_set(err, VT_E_INVALID, "tee-evidence", "tee-evidence.primary_evidence is missing");
        goto out;
    }
    json_t *add = json_object_get(te, "additional_evidence");
    if (add == NULL || json_is_null(add)) out->additional = "";
    else if (json_is_string(add)) out->additional = json_string_value(add);
    else {
        rc = vt_error_set(err, VT_E_INVALID, "tee-evidence", "tee-evidence.additional_evidence must be a string");
        goto out;
    }
    json_t *id = json_object_get(j, "init-data");
    if (id != NULL && !json_is_null(id)) {
        const char *fmt, *b;
        if (!json_is_object(id)) {
            rc = vt_error_set(err, VT_E_INVALID, "init-data", "init-data must be an object or null");
            goto out;
        }
        VT_GUARD_GOTO(vt_json_str(id, "format", "init-data.format", &fmt, err));
        if (strcmp(fmt, "toml") != 0) {
            rc = vt_error_set(err, VT_E_UNSUPPORTED, "init-data", "init-data format '%.16s' not supported (toml)", fmt);
            goto out;
        }
        VT_GUARD_GOTO(vt_json_str(id, "body", "init-data.body", &b, err));
        out->has_init_data = true;
        out->init_data_body = b;
        out->init_data_len = json_string_length(json_object_get(id, "body"));
    }
    return VT_OK;
out:
    vt_rcar_attestation_clear(out);
    return rc;
}

vt_err vt_rcar_additional_parse(const char *additional, json_t **out, vt_error *err)
{
    *out = NULL;
    if (additional == NULL || additional[0] == '\0') return VT_OK;
    json_t *j = NULL;
    VT_GUARD(vt_json_parse(additional, strlen(additional), &j, err));
    vt_err rc = VT_OK;
    const char *tee;
    json_t *ev;
    if (!json_is_object(j) || json_object_size(j) == 0 || json_object_size(j) > 4)
        rc = vt_error_set(err, VT_E_INVALID, "additional_evidence",
                          "additional_evidence must map 1..4 device TEE names to their evidence");
    json_object_foreach(j, tee, ev) {
        if (rc != VT_OK) break;
        if (strcmp(tee, "nvidia") != 0)
            rc = vt_error_set(err, VT_E_UNSUPPORTED, "additional_evidence",
                              "additional evidence of '%.24s' is not supported (nvidia)", tee);
        else if (!json_is_object(ev))
            rc = vt_error_set(err, VT_E_INVALID, "additional_evidence", "additional_evidence.%s must be an object", tee);
    }
    if (rc != VT_OK) {
        json_decref(j);
        return rc;
    }
    *out = j;
    return VT_OK;
}
