/* Admin API (kbs-protocol.md §3 admin rows, docs/kbs.md): resources with versions, attestation
 * and resource policies, reference values. Every request carries an admin JWT (never open by
 * default), used once (jti recorded in the store); every action is audited and counted. */
#include <stdlib.h>
#include <string.h>

#include "kbs_internal.h"
#include "veritee/json.h"
#include "veritee/writer.h"

#define P "/kbs/v0/"

typedef struct admin_req {
    vt_kbs *k;
    const vt_kbs_call *c;
    vt_kbs_reply *r;
    char actor[96];
    const char *action;
    char subject[VT_RESOURCE_PATH_MAX];
} admin_req;

static const char *after(const char *path, const char *prefix)
{
    size_t l = strlen(prefix);
    return strncmp(path, prefix, l) == 0 ? path + l : NULL;
}

static void store_fail(admin_req *a, vt_err rc, const vt_error *e)
{
    kbs_fail(a->r, rc == VT_E_MISSING ? 404 : 401, rc == VT_E_MISSING ? "NotFound" : "PluginInternalError", "%s",
             e->msg);
}

static void ok_json(admin_req *a, json_t *j)
{
    a->r->status = 200;
    a->r->json = j;
}

/* The body as a JSON object, decoding one base64 member into text (NUL-terminated). */
static vt_err body_b64(admin_req *a, const char *member, json_t **obj, vt_buf *text, vt_error *e)
{
    const char *s;
    VT_GUARD(vt_json_parse((const char *)a->c->body, a->c->body_len, obj, e));
    if (!json_is_object(*obj)) return vt_error_set(e, VT_E_INVALID, "admin", "body must be a JSON object");
    VT_GUARD(vt_json_str(*obj, member, member, &s, e));
    VT_GUARD(vt_b64_decode(s, strlen(s), text, e));
    VT_GUARD(vt_buf_append(text, NULL, 0, e)); /* NUL-terminated from here */
    if (memchr(text->ptr, 0, text->len)) return vt_error_set(e, VT_E_INVALID, "admin", "%s holds a NUL byte", member);
    return VT_OK;
}

/* An optional document name: absent is "default"; any other type is refused (it used to
 * fall back to "default" silently, overwriting the default document). */
static vt_err opt_name(const json_t *o, const char *key, const char **out, vt_error *e)
{
    vt_json_in in;
    *out = "default";
    VT_GUARD(vt_json_in_init(&in, o, "", "admin", e));
    return vt_json_get_str(&in, key, VT_JSON_OPTIONAL, out, NULL);
}

static bool doc_name_ok(const char *n)
{
    size_t l = strlen(n);
    if (l == 0 || l > 128) return false;
    for (size_t i = 0; i < l; i++)
        if (!(n[i] == '_' || n[i] == '-' || n[i] == '.' || n[i] == '/' || n[i] == '*' || (n[i] >= 'a' && n[i] <= 'z') ||
              (n[i] >= 'A' && n[i] <= 'Z') || (n[i] >= '0' && n[i] <= '9')))
            return false;
    return true;
}

static json_t *versions_json(const vt_resource_version *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        char c[21], r[21];
        vt_time_format(v[i].created, c);
        vt_time_format(v[i].revoked, r);
        json_array_append_new(a, json_pack("{sI ss so}", "version", (json_int_t)v[i].version, "created", c, "revoked",
                                           v[i].revoked ? json_string(r) : json_null()));
    }
    return a;
}

static void resource_put(admin_req *a, const char *path, bool rotate)
{
    vt_error e = {0};
    int64_t v = 0;
    a->action = rotate ? "resource.rotate" : "resource.put";
    snprintf(a->subject, sizeof a->subject, "%s", path);
    if (!vt_rcar_resource_path_ok(path)) {
        kbs_fail(a->r, 404, "InvalidRequestPath", "resource path must be <repo>/<type>/<tag>");
        return;
    }
    vt_err rc = rotate ? vt_store_resource_rotate(a->k->cfg.store, path, a->c->body, a->c->body_len, a->c->now, &v, &e)
                       : vt_store_resource_put(a->k->cfg.store, path, a->c->body, a->c->body_len, a->c->now, &v, &e);
    if (rc != VT_OK) return store_fail(a, rc, &e);
    ok_json(a, json_pack("{ss sI}", "path", path, "version", (json_int_t)v));
}

static void resource_versions(admin_req *a, const char *path)
{
    vt_error e = {0};
    vt_resource_version *v = NULL;
    size_t n = 0;
    a->action = "resource.versions";
    snprintf(a->subject, sizeof a->subject, "%s", path);
    vt_err rc = vt_store_resource_versions(a->k->cfg.store, path, &v, &n, &e);
    if (rc != VT_OK) return store_fail(a, rc, &e);
    ok_json(a, json_pack("{ss so}", "path", path, "versions", versions_json(v, n)));
    free(v);
}

static void resource_list(admin_req *a)
{
    vt_error e = {0};
    char **p = NULL;
    size_t n = 0;
    a->action = "resource.list";
    snprintf(a->subject, sizeof a->subject, "resources");
    vt_err rc = vt_store_resource_paths(a->k->cfg.store, &p, &n, &e);
    if (rc != VT_OK) return store_fail(a, rc, &e);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, json_string(p[i]));
    vt_store_strv_free(p, n);
    ok_json(a, json_pack("{so}", "resources", arr));
}

static void resource_revoke(admin_req *a, const char *path)
{
    vt_error e = {0};
    a->action = "resource.revoke";
    snprintf(a->subject, sizeof a->subject, "%s", path);
    char *end = NULL;
    long long v = a->c->query_version ? strtoll(a->c->query_version, &end, 10) : 0;
    if (a->c->query_version == NULL || *end != 0 || v < 1) {
        kbs_fail(a->r, 404, "InvalidRequestPath", "revoke needs ?version=N (N >= 1)");
        return;
    }
    vt_err rc = vt_store_resource_revoke(a->k->cfg.store, path, v, a->c->now, &e);
    if (rc != VT_OK) return store_fail(a, rc, &e);
    ok_json(a, json_pack("{ss sI}", "path", path, "revoked", (json_int_t)v));
}

static void resource_delete(admin_req *a, const char *path)
{
    vt_error e = {0};
    a->action = "resource.delete";
    snprintf(a->subject, sizeof a->subject, "%s", path);
    vt_err rc = vt_store_resource_delete(a->k->cfg.store, path, &e);
    if (rc != VT_OK) return store_fail(a, rc, &e);
    ok_json(a, NULL);
}

/* {"type", "policy_id", "policy": base64url(JSON policy)} (Trustee's body; `type` ignored). */
static void attestation_policy(admin_req *a)
{
    vt_error e = {0};
    json_t *o = NULL;
    vt_buf t = {0};
    vt_policy p;
    a->action = "policy.attestation";
    if (body_b64(a, "policy", &o, &t, &e) != VT_OK) goto bad;
    const char *id;
    if (opt_name(o, "policy_id", &id, &e) != VT_OK) goto bad;
    snprintf(a->subject, sizeof a->subject, "policy:%s", id);
    if (!doc_name_ok(id)) {
        vt_error_set(&e, VT_E_INVALID, "admin", "bad policy_id");
        goto bad;
    }
    if (vt_policy_parse((const char *)t.ptr, t.len, &p, &e) != VT_OK) goto bad;
    vt_policy_free(&p);
    vt_err rc = vt_store_doc_put(a->k->cfg.store, VT_DOC_ATTESTATION_POLICY, id, (const char *)t.ptr, a->c->now, &e);
    if (rc != VT_OK) store_fail(a, rc, &e);
    else ok_json(a, NULL);
    goto out;
bad:
    kbs_fail(a->r, 401, "ParsePolicyError", "%s", e.msg);
out:
    json_decref(o);
    vt_buf_free(&t);
}

/* {"policy": base64url(JSON resource policy), "path"?: "repo/type/tag"}; no path: "default". */
static void resource_policy_set(admin_req *a)
{
    vt_error e = {0};
    json_t *o = NULL;
    vt_buf t = {0};
    a->action = "policy.resource";
    if (body_b64(a, "policy", &o, &t, &e) != VT_OK) goto bad;
    const char *path;
    if (opt_name(o, "path", &path, &e) != VT_OK) goto bad;
    snprintf(a->subject, sizeof a->subject, "resource-policy:%s", path);
    if (strcmp(path, "default") != 0 && !vt_rcar_resource_path_ok(path)) {
        vt_error_set(&e, VT_E_INVALID, "admin", "path must be <repo>/<type>/<tag> or absent");
        goto bad;
    }
    if (vt_kbs_rpolicy_check((const char *)t.ptr, t.len, &e) != VT_OK) goto bad;
    vt_err rc = vt_store_doc_put(a->k->cfg.store, VT_DOC_RESOURCE_POLICY, path, (const char *)t.ptr, a->c->now, &e);
    if (rc != VT_OK) store_fail(a, rc, &e);
    else ok_json(a, NULL);
    goto out;
bad:
    kbs_fail(a->r, 401, "ParsePolicyError", "%s", e.msg);
out:
    json_decref(o);
    vt_buf_free(&t);
}

static void doc_list(admin_req *a, vt_doc_kind kind, const char *action)
{
    vt_error e = {0};
    char **p = NULL;
    size_t n = 0;
    a->action = action;
    snprintf(a->subject, sizeof a->subject, "list");
    vt_err rc = vt_store_doc_list(a->k->cfg.store, kind, &p, &n, &e);
    if (rc != VT_OK) return store_fail(a, rc, &e);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, json_string(p[i]));
    vt_store_strv_free(p, n);
    ok_json(a, arr);
}

/* RVPS-style message {"version","type","payload": base64(reference-value JSON), "id"?}. */
static void refvals_put(admin_req *a)
{
    vt_error e = {0};
    json_t *o = NULL;
    vt_buf t = {0};
    vt_refvals rv;
    vt_refvals_init(&rv);
    a->action = "refvals.put";
    if (body_b64(a, "payload", &o, &t, &e) != VT_OK) goto bad;
    const char *id;
    if (opt_name(o, "id", &id, &e) != VT_OK) goto bad;
    snprintf(a->subject, sizeof a->subject, "refvals:%s", id);
    if (!doc_name_ok(id)) {
        vt_error_set(&e, VT_E_INVALID, "admin", "bad reference value id");
        goto bad;
    }
    if (vt_refvals_load_mem(&rv, (const char *)t.ptr, t.len, id, &e) != VT_OK) goto bad;
    vt_err rc = vt_store_doc_put(a->k->cfg.store, VT_DOC_REFERENCE_VALUE, id, (const char *)t.ptr, a->c->now, &e);
    if (rc != VT_OK) store_fail(a, rc, &e);
    else ok_json(a, NULL);
    goto out;
bad:
    kbs_fail(a->r, 401, "RvpsError", "%s", e.msg);
out:
    vt_refvals_free(&rv);
    json_decref(o);
    vt_buf_free(&t);
}

static void refvals_get(admin_req *a, const char *id)
{
    vt_error e = {0};
    char *text = NULL;
    json_t *j = NULL;
    a->action = "refvals.get";
    snprintf(a->subject, sizeof a->subject, "refvals:%s", id);
    vt_err rc = vt_store_doc_get(a->k->cfg.store, VT_DOC_REFERENCE_VALUE, id, &text, &e);
    if (rc != VT_OK) return store_fail(a, rc, &e);
    if (vt_json_parse(text, strlen(text), &j, &e) != VT_OK) store_fail(a, VT_E_INVALID, &e);
    else ok_json(a, j);
    free(text);
}

static void dispatch(admin_req *a)
{
    const char *m = a->c->method, *p = a->c->path, *t;
    bool get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0;
    if ((t = after(p, P "resource/")) != NULL) {
        if (post) return resource_put(a, t, false);
        if (strcmp(m, "DELETE") == 0) return resource_delete(a, t);
    } else if (strcmp(p, P "admin/resources") == 0 && get) {
        return resource_list(a);
    } else if ((t = after(p, P "admin/versions/")) != NULL && get) {
        return resource_versions(a, t);
    } else if ((t = after(p, P "admin/rotate/")) != NULL && post) {
        return resource_put(a, t, true);
    } else if ((t = after(p, P "admin/revoke/")) != NULL && post) {
        return resource_revoke(a, t);
    } else if (strcmp(p, P "attestation-policy") == 0) {
        if (post) return attestation_policy(a);
        if (get) return doc_list(a, VT_DOC_ATTESTATION_POLICY, "policy.attestation.list");
    } else if (strcmp(p, P "resource-policy") == 0) {
        if (post) return resource_policy_set(a);
        if (get) return doc_list(a, VT_DOC_RESOURCE_POLICY, "policy.resource.list");
    } else if (strcmp(p, P "reference-value") == 0) {
        if (post) return refvals_put(a);
        if (get) return doc_list(a, VT_DOC_REFERENCE_VALUE, "refvals.list");
    } else if ((t = after(p, P "reference-value/")) != NULL && get) {
        return refvals_get(a, t);
    }
    a->action = "unknown";
    kbs_fail(a->r, 404, "PluginNotFound", "no admin endpoint %.16s %.200s", m, p);
}

void vt_kbs_admin(vt_kbs *k, const vt_kbs_call *c, vt_kbs_reply *r)
{
    memset(r, 0, sizeof *r);
    admin_req a = {.k = k, .c = c, .r = r, .actor = "admin:anonymous", .action = "admin.auth"};
    snprintf(a.subject, sizeof a.subject, "%.400s", c->path ? c->path : "");
    vt_error e = {0};
    json_t *claims = NULL;
    const char *result;
    if (k->cfg.admin_key == NULL) {
        kbs_fail(r, 401, "AdminAuthAccess", "the admin API is disabled (no admin key configured)");
    } else if (c->bearer == NULL) {
        kbs_fail(r, 401, "AdminAuthAccess", "admin requests need Authorization: Bearer <admin JWT>");
    } else if (vt_kbs_admin_token_verify(k->cfg.admin_key, c->bearer, c->bearer_len, c->method, c->path, c->body,
                                         c->body_len, c->now, &claims, &e) != VT_OK) {
        kbs_fail(r, 401, "AdminAuthAccess", "admin token rejected: %s", e.msg);
    } else {
        const char *jti = json_string_value(json_object_get(claims, "jti"));
        const char *sub = json_string_value(json_object_get(claims, "sub"));
        snprintf(a.actor, sizeof a.actor, "admin:%.80s", sub ? sub : "admin");
        json_int_t exp = json_integer_value(json_object_get(claims, "exp"));
        if (vt_store_jti_use(k->cfg.store, jti, (vt_time)exp, c->now, &e) != VT_OK)
            kbs_fail(r, 401, "AdminAuthAccess", "admin token rejected: %s", e.code == VT_E_VERIFY ? "replayed (jti already used)" : e.msg);
        else
            dispatch(&a);
    }
    json_decref(claims);
    result = r->status == 200 ? "ok" : r->status == 401 && strcmp(r->problem, "AdminAuthAccess") == 0 ? "denied" : "error";
    if (k->has_metrics) {
        const char *l[2] = {a.action, result};
        vt_metric_inc(k->m.admin_requests, l, 1);
    }
    json_t *d = json_pack("{ss}", "method", c->method ? c->method : "");
    if (d && r->status != 200) json_object_set_new(d, "error", json_string(r->detail));
    if (d && c->client) json_object_set_new(d, "client", json_string(c->client));
    kbs_audit(k, c->now, a.actor, a.action, a.subject, result, d);
}
