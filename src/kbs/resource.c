/* Resource release (kbs-protocol.md §11): the token of the attested session or the bearer,
 * verified with the broker's EAR key; the resource policy; the newest non-revoked version
 * wrapped as a flattened JWE to the TEE public key carried in the token. */
#include <stdlib.h>
#include <string.h>

#include "kbs_internal.h"
#include "veritee/jose.h"

static void denied(vt_kbs *k, const vt_kbs_call *c, const char *actor, const char *path, const char *reason,
                   const char *detail)
{
    if (k->has_metrics) {
        const char *l[1] = {reason};
        vt_metric_inc(k->m.key_denials, l, 1);
    }
    if (strcmp(reason, "no_token") == 0 || strcmp(reason, "token_invalid") == 0 ||
        strcmp(reason, "token_expired") == 0) {
        kbs_unauth(k, c->now, "resource", c->client, detail); /* no valid credentials: counted, summarized */
        return;
    }
    json_t *d = json_pack("{ss ss}", "reason", reason, "detail", detail);
    if (d && c->client) json_object_set_new(d, "client", json_string(c->client));
    kbs_audit(k, c->now, actor, "resource.get", path, "denied", d, NULL);
}

/* The resource policy for path: the one stored under the path, else "default" (one query),
 * else built-in. */
static vt_err policy_for(vt_kbs *k, const char *path, char **text, vt_error *err)
{
    const char *names[2] = {path, "default"};
    size_t which = 0;
    vt_err rc = vt_store_doc_get_first(k->cfg.store, VT_DOC_RESOURCE_POLICY, names, 2, &which, text, err);
    return rc == VT_E_MISSING ? VT_OK : rc;
}

static int64_t parse_version(const char *s)
{
    if (s == NULL) return 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    return (*s == 0 || *end != 0 || v < 1) ? -1 : v;
}

void vt_kbs_resource(vt_kbs *k, const char *path, const vt_kbs_call *c, vt_kbs_reply *r)
{
    memset(r, 0, sizeof *r);
    vt_error e = {0};
    vt_session s;
    memset(&s, 0, sizeof s);
    char actor[80] = "guest:bearer";
    char *policy = NULL;
    json_t *claims = NULL, *jwe = NULL;
    EVP_PKEY *tee_key = NULL; /* the token's tee-pubkey, when the broker made it at /attest */
    vt_buf secret = {0};
    const char *token = NULL;
    size_t token_len = 0;
    if (!vt_rcar_resource_path_ok(path)) {
        kbs_fail(r, 404, "InvalidRequestPath", "resource path must be <repo>/<type>/<tag>");
        return;
    }
    int64_t version = parse_version(c->query_version);
    if (version < 0) {
        kbs_fail(r, 404, "InvalidRequestPath", "version must be a positive integer");
        return;
    }
    vt_err srh = c->session_id != NULL ? vt_store_session_get(k->cfg.store, c->session_id, c->now, &s, &e) : VT_E_MISSING;
    if (srh != VT_OK && c->bearer == NULL && kbs_store_down(r, "session", &e)) goto out;
    if (srh == VT_OK && s.token != NULL) {
        token = s.token;
        token_len = strlen(token);
        snprintf(actor, sizeof actor, "guest:%s", s.id);
    } else if (c->bearer != NULL) {
        token = c->bearer;
        token_len = c->bearer_len;
    } else {
        kbs_fail(r, 401, "TokenNotFound", "no attested session and no Authorization: Bearer token");
        denied(k, c, actor, path, "no_token", r->detail);
        goto out;
    }
    vt_ear_verify_opts vo = {.now = c->now, .skew = k->cfg.token_skew, .require_exp = true};
    /* A token whose exact bytes this broker signed or verified needs no second signature check;
     * its time checks run now, at the request instant. Anything else: verified in full. */
    vt_err trc;
    if ((claims = kbs_tokens_recall(k, token, token_len, &tee_key)) != NULL) {
        trc = vt_ear_check_claims(claims, &vo, &e);
    } else {
        trc = vt_ear_verify(token, token_len, k->cfg.ear_key, &vo, &claims, &e);
        if (trc == VT_OK) kbs_tokens_remember(k, token, token_len, json_incref(claims), NULL);
    }
    if (trc != VT_OK) {
        kbs_fail(r, 401, "TokenVerifierError", "attestation token rejected: %s", e.msg);
        denied(k, c, actor, path, e.code == VT_E_EXPIRED ? "token_expired" : "token_invalid", r->detail);
        goto out;
    }
    json_t *cpu0 = json_object_get(json_object_get(claims, "submods"), "cpu0");
    json_t *ae = json_object_get(cpu0, "ear.veraison.annotated-evidence");
    json_t *pk = json_object_get(json_object_get(ae, "runtime_data_claims"), "tee-pubkey");
    if (!json_is_object(pk)) {
        kbs_fail(r, 401, "TokenVerifierError", "the token carries no tee-pubkey");
        denied(k, c, actor, path, "token_invalid", r->detail);
        goto out;
    }
    vt_err prc = policy_for(k, path, &policy, &e);
    if (prc != VT_OK && kbs_store_down(r, "resource policy", &e)) goto out;
    if (prc != VT_OK || vt_kbs_rpolicy_eval(policy, claims, path, &e) != VT_OK) {
        kbs_fail(r, 401, "PolicyDeny", "resource policy denies %s: %s", path, e.msg);
        denied(k, c, actor, path, "policy", r->detail);
        goto out;
    }
    int64_t got = 0;
    vt_err rc = vt_store_resource_get(k->cfg.store, path, version, &secret, &got, &e);
    if (rc != VT_OK && kbs_store_down(r, "resource", &e)) goto out;
    if (rc != VT_OK) {
        kbs_fail(r, 401, "PluginInternalError", "resource %s: %s", path,
                 rc == VT_E_MISSING ? "not found" : rc == VT_E_REVOKED ? "version revoked" : e.msg);
        denied(k, c, actor, path, rc == VT_E_REVOKED ? "revoked" : rc == VT_E_MISSING ? "not_found" : "storage", r->detail);
        goto out;
    }
    if (vt_jwe_encrypt_to(k->jose, pk, tee_key, secret.ptr, secret.len, &jwe, &e) != VT_OK) {
        kbs_fail(r, 401, "JweError", "cannot encrypt to the TEE key: %s", e.msg);
        denied(k, c, actor, path, "jwe", r->detail);
        goto out;
    }
    const char *tee = "unknown";
    const char *names[] = {"tdx", "sgx", "snp", "cca", "az-snp-vtpm", "az-tdx-vtpm", "tpm", "sample"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (json_object_get(ae, names[i])) tee = names[i];
    json_t *d = json_pack("{sI ss}", "version", (json_int_t)got, "tee", tee);
    if (d && c->client) json_object_set_new(d, "client", json_string(c->client));
    /* No release without its audit record: the secret is not sent when the record fails. */
    if (kbs_audit(k, c->now, actor, "resource.get", path, "ok", d, &e) != VT_OK) {
        if (kbs_store_down(r, "audit", &e)) goto out;
        kbs_fail(r, 500, "PluginInternalError", "resource %s not released: cannot write its audit record: %s", path, e.msg);
        goto out;
    }
    if (k->has_metrics) {
        const char *l[1] = {tee};
        vt_metric_inc(k->m.key_releases, l, 1);
    }
    r->status = 200;
    r->json = jwe;
    jwe = NULL;
out:
    vt_buf_free_secret(&secret);
    json_decref(jwe);
    kbs_tokens_release(k, claims);
    EVP_PKEY_free(tee_key);
    free(policy);
    vt_session_clear(&s);
}
