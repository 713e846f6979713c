/* Admin API (kbs-protocol.md §3 admin rows, docs/kbs.md): resources with versions, attestation
 * and resource policies, reference values. Every request carries an admin JWT (never open by
 * default), used once (jti recorded in the store); every action is audited and counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kbs_internal.h"
#include "veritee/audit.h"
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
        /* the value's digest, never the value: the console shows it so an operator can compare
         * with `sha256sum FILE` (docs/console.md) */
        json_array_append_new(a, json_pack("{sI ss so so}", "version", (json_int_t)v[i].version, "created", c, "revoked",
                                           v[i].revoked ? json_string(r) : json_null(), "sha256",
                                           v[i].has_sha256 ? vt_json_hex_string(v[i].sha256, 32) : json_null()));
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

/* Trustee's kbs-client sends Rego; veritee's policies are JSON (docs/policy.md, docs/kbs.md).
 * A Rego module starts with comments and a `package` clause (Rego language reference, "Packages"):
 * said as such instead of as a JSON syntax error. */
static vt_err refuse_rego(const char *text, const char *what, vt_error *e)
{
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
        if (*p != '#') break;
        while (*p && *p != '\n') p++;
    }
    if (strncmp(p, "package", 7) == 0 && (p[7] == ' ' || p[7] == '\t'))
        return vt_error_set(e, VT_E_UNSUPPORTED, "admin",
                            "%s is Rego (it starts with a 'package' clause): veritee does not evaluate Rego; "
                            "send a veritee JSON %s (docs/policy.md)", what, what);
    return VT_OK;
}

/* A policy the admin API stores: the body member holding base64url(JSON), the member naming it
 * (absent: "default"), and the checks of its name and content before it is stored. */
typedef struct policy_put_spec {
    const char *action, *name_member, *subject, *what;
    vt_doc_kind kind;
    vt_err (*check_name)(const char *name, vt_error *e);
    vt_err (*check)(const char *text, size_t len, vt_error *e);
} policy_put_spec;

static void policy_put(admin_req *a, const policy_put_spec *s)
{
    vt_error e = {0};
    json_t *o = NULL;
    vt_buf t = {0};
    const char *name = NULL;
    a->action = s->action;
    vt_err rc = body_b64(a, "policy", &o, &t, &e);
    if (rc == VT_OK) rc = opt_name(o, s->name_member, &name, &e);
    if (rc == VT_OK) {
        snprintf(a->subject, sizeof a->subject, "%s:%s", s->subject, name);
        rc = s->check_name(name, &e);
    }
    if (rc == VT_OK) rc = refuse_rego((const char *)t.ptr, s->what, &e);
    if (rc == VT_OK) rc = s->check((const char *)t.ptr, t.len, &e);
    if (rc != VT_OK) kbs_fail(a->r, 401, "ParsePolicyError", "%s", e.msg);
    else if ((rc = vt_store_doc_put(a->k->cfg.store, s->kind, name, (const char *)t.ptr, a->c->now, &e)) != VT_OK)
        store_fail(a, rc, &e);
    else ok_json(a, NULL);
    json_decref(o);
    vt_buf_free(&t);
}

static vt_err policy_id_ok(const char *id, vt_error *e)
{
    return doc_name_ok(id) ? VT_OK : vt_error_set(e, VT_E_INVALID, "admin", "bad policy_id");
}

static vt_err attestation_policy_ok(const char *text, size_t len, vt_error *e)
{
    vt_policy p;
    VT_GUARD(vt_policy_parse(text, len, &p, e));
    vt_policy_free(&p);
    return VT_OK;
}

/* {"type", "policy_id", "policy": base64url(JSON policy)} (Trustee's body; `type` is not trusted:
 * the content decides, and Rego is refused by name). */
static const policy_put_spec attestation_policy = {
    .action = "policy.attestation", .name_member = "policy_id", .subject = "policy", .what = "attestation policy",
    .kind = VT_DOC_ATTESTATION_POLICY, .check_name = policy_id_ok, .check = attestation_policy_ok,
};

static vt_err resource_path_ok(const char *path, vt_error *e)
{
    if (strcmp(path, "default") == 0 || vt_rcar_resource_path_ok(path)) return VT_OK;
    return vt_error_set(e, VT_E_INVALID, "admin", "path must be <repo>/<type>/<tag> or absent");
}

/* {"policy": base64url(JSON resource policy), "path"?: "repo/type/tag"}; no path: "default". */
static const policy_put_spec resource_policy = {
    .action = "policy.resource", .name_member = "path", .subject = "resource-policy", .what = "resource policy",
    .kind = VT_DOC_RESOURCE_POLICY, .check_name = resource_path_ok, .check = vt_kbs_rpolicy_check,
};

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

/* Validates (docs/policy.md formats) and stores reference values under id; the error of a
 * refused document names its JSON path ("reference_values[0].value: ..."), prefixed by the id. */
static void refvals_store(admin_req *a, const char *id, const char *text, size_t len, int bad_status)
{
    vt_error e = {0};
    vt_refvals rv;
    vt_refvals_init(&rv);
    snprintf(a->subject, sizeof a->subject, "refvals:%.200s", id);
    vt_err rc;
    if (!doc_name_ok(id)) rc = vt_error_set(&e, VT_E_INVALID, "admin", "bad reference value id");
    else rc = vt_refvals_load_mem(&rv, text, len, id, &e);
    vt_refvals_free(&rv);
    if (rc != VT_OK) return kbs_fail(a->r, bad_status, "RvpsError", "%s", e.msg);
    rc = vt_store_doc_put(a->k->cfg.store, VT_DOC_REFERENCE_VALUE, id, text, a->c->now, &e);
    if (rc != VT_OK) store_fail(a, rc, &e);
    else ok_json(a, json_pack("{ss}", "id", id));
}

/* RVPS-style message {"version","type","payload": base64(reference-value JSON), "id"?}. */
static void refvals_put(admin_req *a)
{
    vt_error e = {0};
    json_t *o = NULL;
    vt_buf t = {0};
    const char *id = "default";
    a->action = "refvals.put";
    if (body_b64(a, "payload", &o, &t, &e) != VT_OK || opt_name(o, "id", &id, &e) != VT_OK)
        kbs_fail(a->r, 401, "RvpsError", "%s", e.msg);
    else
        refvals_store(a, id, (const char *)t.ptr, t.len, 401);
    json_decref(o);
    vt_buf_free(&t);
}

/* PUT /api/v1/reference-values/<id>: the body is the reference-value document itself (the
 * console's editor); 400 names the JSON path of the first error. */
static void refvals_put_doc(admin_req *a, const char *id)
{
    a->action = "refvals.put";
    char *text = malloc(a->c->body_len + 1);
    if (text == NULL) return kbs_fail(a->r, 500, "PluginInternalError", "out of memory");
    if (a->c->body_len) memcpy(text, a->c->body, a->c->body_len);
    text[a->c->body_len] = 0;
    if (a->c->body_len == 0 || memchr(text, 0, a->c->body_len) != NULL) {
        snprintf(a->subject, sizeof a->subject, "refvals:%.200s", id);
        kbs_fail(a->r, 400, "RvpsError", "the body must be the reference-value JSON document");
    } else {
        refvals_store(a, id, text, a->c->body_len, 400);
    }
    free(text);
}

/* GET /api/v1/reference-values/<id>: {"name", "text"} as stored (the console's editor). */
static void refvals_get_text(admin_req *a, const char *id)
{
    vt_error e = {0};
    char *text = NULL;
    a->action = "refvals.get";
    snprintf(a->subject, sizeof a->subject, "refvals:%.200s", id);
    vt_err rc = vt_store_doc_get(a->k->cfg.store, VT_DOC_REFERENCE_VALUE, id, &text, &e);
    if (rc != VT_OK) return store_fail(a, rc, &e);
    ok_json(a, json_pack("{ss ss}", "name", id, "text", text));
    free(text);
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

/* ---- the console's dashboard reads (docs/console.md): GET only, admin-authenticated ---- */

#define AUDIT_PAGE 50

/* The chain check of the audit view. A whole walk costs about 0.25 s per 100,000 records, and
 * a store may hold tens of millions between archives: each call walks only what was appended
 * since this broker's last check, joined to it by hash, so that the checks of successive calls
 * make one unbroken run (from *from to the head). The first call, one after an archive cut past
 * the last check, and one that finds more than the window's worth of new records start a new
 * run with the newest records of the window. A failure keeps the run where it was: the next
 * call walks the same records again. The records of a run are not read again (an edit there is
 * for `veritee audit verify`, which reads them all). Serialized: concurrent views wait. */
static vt_err audit_check(vt_kbs *k, vt_audit_report *rep, int64_t *from, vt_error *err)
{
    int64_t window = k->cfg.audit_check_window ? k->cfg.audit_check_window : VT_KBS_DEFAULT_AUDIT_WINDOW;
    int64_t head = 0;
    uint8_t head_hash[VT_AUDIT_HASH_LEN];
    pthread_mutex_lock(&k->audit_mu);
    vt_err rc = vt_store_audit_head(k->cfg.store, &head, head_hash, err);
    bool joined = false;
    if (rc == VT_OK && k->audit_marked && head - k->audit_seq <= window) {
        rc = vt_audit_verify_since(k->cfg.store, k->audit_seq, k->audit_hash, rep, err);
        joined = rc == VT_OK;
        if (rc == VT_E_MISSING) rc = VT_OK; /* archived past the run: a new one */
    }
    if (rc == VT_OK && !joined) {
        rc = vt_audit_verify_since(k->cfg.store, head > window ? head - window : 0, NULL, rep, err);
        if (rc == VT_OK) {
            k->audit_from = rep->head_seq - rep->records + 1;
            k->audit_marked = true;
        }
    }
    if (rc == VT_OK) {
        k->audit_seq = rep->head_seq;
        memcpy(k->audit_hash, rep->head_hash, VT_AUDIT_HASH_LEN);
        if (k->audit_from <= rep->base_seq) k->audit_from = rep->base_seq + 1; /* archived since */
    }
    *from = k->audit_from;
    pthread_mutex_unlock(&k->audit_mu);
    return rc;
}

/* GET /api/v1/audit (the last page) or /api/v1/audit/after/<seq>: records, head, chain state. */
static void audit_page(admin_req *a, const char *after)
{
    vt_error e = {0};
    vt_audit_record *rec = NULL;
    size_t n = 0;
    a->action = "audit.read";
    snprintf(a->subject, sizeof a->subject, "audit");
    vt_err rc;
    if (after) {
        char *end = NULL;
        long long s = strtoll(after, &end, 10);
        if (*after == 0 || *end != 0 || s < 0) {
            kbs_fail(a->r, 404, "InvalidRequestPath", "audit page: /api/v1/audit/after/<seq>");
            return;
        }
        rc = vt_store_audit_page(a->k->cfg.store, s, AUDIT_PAGE, &rec, &n, &e);
    } else {
        rc = vt_audit_tail(a->k->cfg.store, AUDIT_PAGE, &rec, &n, &e);
    }
    if (rc != VT_OK) return store_fail(a, rc, &e);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, vt_audit_record_json(&rec[i]));
    vt_audit_records_free(rec, n);
    vt_audit_report rep;
    memset(&rep, 0, sizeof rep);
    vt_error ve = {0};
    int64_t from = 0;
    vt_err vrc = audit_check(a->k, &rep, &from, &ve);
    json_t *chain = json_pack("{sb sI sI so sI sI sI}", "verified", vrc == VT_OK, "records",
                              (json_int_t)(rep.head_seq - rep.base_seq), "head_seq", (json_int_t)rep.head_seq,
                              "head_hash", vt_json_hex_string(rep.head_hash, VT_AUDIT_HASH_LEN), "base_seq",
                              (json_int_t)rep.base_seq, "checked_from", (json_int_t)from, "checked_now",
                              (json_int_t)rep.records);
    if (vrc != VT_OK) {
        json_object_set_new(chain, "error", json_string(ve.msg));
        json_object_set_new(chain, "bad_seq", json_integer((json_int_t)rep.bad_seq));
    }
    ok_json(a, json_pack("{so so sI}", "records", arr, "chain", chain, "page_size", (json_int_t)AUDIT_PAGE));
}

#define DENIAL_SCAN 1000

static bool is_denial(const vt_audit_record *r)
{
    if (strcmp(r->action, "attest") == 0)
        return strcmp(r->outcome, "rejected") == 0 || strcmp(r->outcome, "contraindicated") == 0;
    return strcmp(r->action, "resource.get") == 0 && strcmp(r->outcome, "ok") != 0;
}

/* GET /api/v1/audit/denials: refused attestations (contraindicated) and resource releases among
 * the last DENIAL_SCAN audit records, newest first, at most AUDIT_PAGE; and, apart, the last
 * rejected attestations this node remembers in memory ("recent": they are summarized in the
 * chain, not recorded one by one, since anyone can send them). */
static void denials(admin_req *a)
{
    vt_error e = {0};
    vt_audit_record *rec = NULL;
    size_t n = 0;
    a->action = "audit.denials";
    snprintf(a->subject, sizeof a->subject, "audit");
    vt_err rc = vt_audit_tail(a->k->cfg.store, DENIAL_SCAN, &rec, &n, &e);
    if (rc != VT_OK) return store_fail(a, rc, &e);
    json_t *arr = json_array();
    for (size_t i = n; i > 0 && json_array_size(arr) < AUDIT_PAGE; i--)
        if (is_denial(&rec[i - 1])) json_array_append_new(arr, vt_audit_record_json(&rec[i - 1]));
    vt_audit_records_free(rec, n);
    json_t *recent = kbs_recent_json(a->k);
    for (size_t i = 0; recent != NULL && i < json_array_size(recent) && json_array_size(arr) < AUDIT_PAGE; i++)
        json_array_append(arr, json_array_get(recent, i));
    ok_json(a, json_pack("{so so sI}", "denials", arr, "recent", recent ? recent : json_array(), "scanned", (json_int_t)n));
}

/* GET /api/v1/stats: the server's own counters as JSON. */
static void stats(admin_req *a)
{
    vt_error e = {0};
    json_t *j = NULL;
    a->action = "stats.read";
    snprintf(a->subject, sizeof a->subject, "stats");
    if (a->k->cfg.metrics == NULL) {
        ok_json(a, json_object());
        return;
    }
    if (vt_metrics_json(a->k->cfg.metrics, &j, &e) != VT_OK) return store_fail(a, VT_E_INTERNAL, &e);
    ok_json(a, j);
}

/* GET /api/v1/policies/{attestation,resource}/<name>: the stored document's text. */
static void policy_get(admin_req *a, vt_doc_kind kind, const char *name)
{
    vt_error e = {0};
    char *text = NULL;
    a->action = kind == VT_DOC_ATTESTATION_POLICY ? "policy.attestation.get" : "policy.resource.get";
    snprintf(a->subject, sizeof a->subject, "%s:%.200s", kind == VT_DOC_ATTESTATION_POLICY ? "policy" : "resource-policy", name);
    vt_err rc = vt_store_doc_get(a->k->cfg.store, kind, name, &text, &e);
    if (rc != VT_OK) return store_fail(a, rc, &e);
    ok_json(a, json_pack("{ss ss}", "name", name, "text", text));
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
        if (post) return policy_put(a, &attestation_policy);
        if (get) return doc_list(a, VT_DOC_ATTESTATION_POLICY, "policy.attestation.list");
    } else if (strcmp(p, P "resource-policy") == 0) {
        if (post) return policy_put(a, &resource_policy);
        if (get) return doc_list(a, VT_DOC_RESOURCE_POLICY, "policy.resource.list");
    } else if (strcmp(p, P "reference-value") == 0) {
        if (post) return refvals_put(a);
        if (get) return doc_list(a, VT_DOC_REFERENCE_VALUE, "refvals.list");
    } else if ((t = after(p, P "reference-value/")) != NULL && get) {
        return refvals_get(a, t);
    } else if (strcmp(p, "/api/v1/stats") == 0 && get) {
        return stats(a);
    } else if (strcmp(p, "/api/v1/audit") == 0 && get) {
        return audit_page(a, NULL);
    } else if (strcmp(p, "/api/v1/audit/denials") == 0 && get) {
        return denials(a);
    } else if ((t = after(p, "/api/v1/audit/after/")) != NULL && get) {
        return audit_page(a, t);
    } else if ((t = after(p, "/api/v1/policies/attestation/")) != NULL && get) {
        return policy_get(a, VT_DOC_ATTESTATION_POLICY, t);
    } else if ((t = after(p, "/api/v1/policies/resource/")) != NULL && get) {
        return policy_get(a, VT_DOC_RESOURCE_POLICY, t);
    } else if (strcmp(p, "/api/v1/reference-values") == 0 && get) {
        return doc_list(a, VT_DOC_REFERENCE_VALUE, "refvals.list");
    } else if ((t = after(p, "/api/v1/reference-values/")) != NULL) {
        if (get) return refvals_get_text(a, t);
        if (strcmp(m, "PUT") == 0) return refvals_put_doc(a, t);
    }
    a->action = "unknown";
    kbs_fail(a->r, 404, "PluginNotFound", "no admin endpoint %.16s %.200s", m, p);
}

/* What Trustee's kbs-client admin calls do (set-resource, set-resource-policy,
 * set-attestation-policy): the only requests a compatibility-mode token may make. */
static bool trustee_allowed(const vt_kbs_call *c)
{
    if (c->method == NULL || strcmp(c->method, "POST") != 0 || c->path == NULL || c->query_version != NULL) return false;
    return after(c->path, P "resource/") != NULL || strcmp(c->path, P "resource-policy") == 0 ||
           strcmp(c->path, P "attestation-policy") == 0;
}

/* The request target an admin token's htu must equal: as sent, or (transport-free callers) the
 * path and the version argument. */
static const char *admin_target(const vt_kbs_call *c, char *buf, size_t cap)
{
    if (c->target != NULL) return c->target;
    snprintf(buf, cap, "%s%s%s", c->path ? c->path : "", c->query_version ? "?version=" : "",
             c->query_version ? c->query_version : "");
    return buf;
}

void vt_kbs_admin(vt_kbs *k, const vt_kbs_call *c, vt_kbs_reply *r)
{
    memset(r, 0, sizeof *r);
    admin_req a = {.k = k, .c = c, .r = r, .actor = "admin:anonymous", .action = "admin.auth"};
    vt_audit_text(c->path, 400, a.subject, sizeof a.subject);
    vt_error e = {0};
    json_t *claims = NULL;
    char tbuf[VT_RESOURCE_PATH_MAX + 128];
    const char *target = admin_target(c, tbuf, sizeof tbuf);
    bool authed = false, trustee = false;
    vt_error te = {0};
    if (k->cfg.admin_key == NULL && k->cfg.trustee_admin_key == NULL) {
        kbs_fail(r, 401, "AdminAuthAccess", "the admin API is disabled (no admin key configured)");
    } else if (c->bearer == NULL) {
        kbs_fail(r, 401, "AdminAuthAccess", "admin requests need Authorization: Bearer <admin JWT>");
    } else if (k->cfg.admin_key != NULL &&
               vt_kbs_admin_token_verify(k->cfg.admin_key, c->bearer, c->bearer_len, c->method ? c->method : "",
                                         target, c->body, c->body_len, c->now, &claims, &e) == VT_OK) {
        authed = true;
    } else if (k->cfg.trustee_admin_key != NULL &&
               vt_kbs_trustee_token_verify(k->cfg.trustee_admin_key, c->bearer, c->bearer_len, c->now, &claims,
                                           &te) == VT_OK) {
        authed = trustee = true; /* compatibility mode (docs/coco.md): restricted in trustee_allowed() */
    } else if (k->cfg.admin_key == NULL) {
        kbs_fail(r, 401, "AdminAuthAccess", "Trustee admin token rejected: %s", te.msg);
    } else if (k->cfg.trustee_admin_key != NULL) {
        kbs_fail(r, 401, "AdminAuthAccess", "admin token rejected: %s; as a Trustee admin token: %s", e.msg, te.msg);
    } else {
        kbs_fail(r, 401, "AdminAuthAccess", "admin token rejected: %s", e.msg);
    }
    if (!authed) {
        /* No valid credentials: counted and summarized, not one permanent record each. */
        if (k->has_metrics) {
            const char *l[2] = {a.action, "denied"};
            vt_metric_inc(k->m.admin_requests, l, 1);
        }
        kbs_unauth(k, c->now, "admin", c->client, r->detail);
        json_decref(claims);
        return;
    }
    const char *jti = json_string_value(json_object_get(claims, "jti"));
    const char *sub = trustee ? "trustee-compat" : json_string_value(json_object_get(claims, "sub"));
    /* The token's sub is signed but free text: escaped and cut on a character boundary, so the
     * audit record can always be written. */
    char who[88];
    vt_audit_text(sub ? sub : "admin", 80, who, sizeof who);
    snprintf(a.actor, sizeof a.actor, "admin:%s", who[0] ? who : "admin");
    json_int_t exp = json_integer_value(json_object_get(claims, "exp"));
    /* The action and its audit record commit together, or neither does: a failing audit append
     * (or a crash before the commit) leaves the store as it was. */
    vt_err txrc = vt_store_tx_begin(k->cfg.store, &e);
    if (txrc != VT_OK) {
        kbs_fail(r, 503, "PluginInternalError", "store unavailable: %s", e.msg);
    } else {
        if (trustee && !trustee_allowed(c))
            kbs_fail(r, 401, "AdminAuthAccess",
                     "a Trustee admin token (compatibility mode) may only set resources and the resource and "
                     "attestation policies (POST)");
        else if (!trustee && vt_store_jti_use(k->cfg.store, jti, (vt_time)exp, c->now, &e) != VT_OK)
            kbs_fail(r, 401, "AdminAuthAccess", "admin token rejected: %s", e.code == VT_E_VERIFY ? "replayed (jti already used)" : e.msg);
        else
            dispatch(&a);
        const char *result = r->status == 200 ? "ok" : r->status == 401 && strcmp(r->problem, "AdminAuthAccess") == 0 ? "denied" : "error";
        json_t *d = json_pack("{ss}", "method", c->method ? c->method : "");
        if (d && r->status != 200) json_object_set_new(d, "error", json_string(r->detail));
        if (d && c->client) json_object_set_new(d, "client", json_string(c->client));
        if (d && trustee) json_object_set_new(d, "auth", json_string("trustee-compat"));
        vt_err arc = kbs_audit(k, c->now, a.actor, a.action, a.subject, result, d, &e);
        txrc = vt_store_tx_end(k->cfg.store, arc, &e);
        if (txrc != VT_OK)
            kbs_fail(r, 500, "PluginInternalError", "admin action not carried out: %s %s",
                     arc != VT_OK ? "its audit record cannot be written:" : "cannot commit:", e.msg);
    }
    json_decref(claims);
    const char *result = r->status == 200 ? "ok" : r->status == 401 && strcmp(r->problem, "AdminAuthAccess") == 0 ? "denied" : "error";
    if (k->has_metrics) {
        const char *l[2] = {a.action, result};
        vt_metric_inc(k->m.admin_requests, l, 1);
    }
}
