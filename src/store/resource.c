/* Versioned resources (kbs-protocol.md §11: the secrets behind /kbs/v0/resource/<path>),
 * sealed with the KEK, and named JSON documents (policies, reference values). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"
#include "veritee/crypto.h"
#include "veritee/json.h"

static vt_err put_version(vt_store *s, const char *path, const uint8_t *value, size_t len,
                          vt_time now, bool rotate, int64_t *version, vt_error *err)
{
    VT_GUARD(store_text_ok(path, VT_RESOURCE_PATH_MAX, "resource path", err));
    if (len > VT_RESOURCE_VALUE_MAX)
        return vt_error_set(err, VT_E_ARG, "resource", "resource value of %zu bytes exceeds %u",
                            len, VT_RESOURCE_VALUE_MAX);
    if (s->kek == NULL)
        return vt_error_set(err, VT_E_MISSING, "kek",
                            "no key-encryption key loaded: cannot store resource values");
    char lockname[VT_RESOURCE_PATH_MAX + 16];
    snprintf(lockname, sizeof lockname, "resource:%s", path);
    sqlval pp[] = {P_TEXT(path)};
    sqlres r = {0};
    vt_buf sealed = {0};
    int64_t v = 0;
    VT_GUARD(store_begin(s, err));
    vt_err rc = s->drv->lock(store_tx_conn(s), lockname, err);
    if (rc == VT_OK)
        rc = store_tx(s, "SELECT COALESCE(max(version), 0) FROM resources WHERE path = $1", pp, 1, &r, err);
    if (rc == VT_OK) {
        v = sqlres_int(&r, 0, 0) + 1;
        rc = store_seal(s->kek, path, v, value, len, &sealed, err);
    }
    if (rc == VT_OK) {
        sqlval p[] = {P_TEXT(path), P_INT(v), P_BLOB(sealed.ptr, sealed.len), P_INT(now)};
        rc = store_tx(s, "INSERT INTO resources(path, version, value, created, revoked) VALUES ($1, $2, $3, $4, 0)",
                      p, 4, NULL, err);
    }
    if (rc == VT_OK && rotate) {
        sqlval p[] = {P_INT(now), P_TEXT(path), P_INT(v)};
        rc = store_tx(s, "UPDATE resources SET revoked = $1 WHERE path = $2 AND version < $3 AND revoked = 0",
                      p, 3, NULL, err);
    }
    sqlres_free(&r);
    vt_buf_free(&sealed);
    rc = store_end(s, rc, err);
    if (rc == VT_OK && version) *version = v;
    return rc;
}

vt_err vt_store_resource_put(vt_store *s, const char *path, const uint8_t *value, size_t len,
                             vt_time now, int64_t *version, vt_error *err)
{
    return put_version(s, path, value, len, now, false, version, err);
}

vt_err vt_store_resource_rotate(vt_store *s, const char *path, const uint8_t *value, size_t len,
                                vt_time now, int64_t *version, vt_error *err)
{
    return put_version(s, path, value, len, now, true, version, err);
}

static vt_err count_versions(vt_store *s, const char *path, int64_t *n, vt_error *err)
{
    sqlval p[] = {P_TEXT(path)};
    sqlres r = {0};
    VT_GUARD(store_exec(s, "SELECT count(*) FROM resources WHERE path = $1", p, 1, &r, err));
    *n = sqlres_int(&r, 0, 0);
    sqlres_free(&r);
    return VT_OK;
}

vt_err vt_store_resource_get(vt_store *s, const char *path, int64_t version, vt_buf *value,
                             int64_t *got, vt_error *err)
{
    memset(value, 0, sizeof *value);
    VT_GUARD(store_text_ok(path, VT_RESOURCE_PATH_MAX, "resource path", err));
    sqlres r = {0};
    if (version > 0) {
        sqlval p[] = {P_TEXT(path), P_INT(version)};
        VT_GUARD(store_exec(s, "SELECT version, value, revoked FROM resources WHERE path = $1 AND version = $2",
                            p, 2, &r, err));
    } else {
        sqlval p[] = {P_TEXT(path)};
        VT_GUARD(store_exec(s,
                            "SELECT version, value, revoked FROM resources WHERE path = $1 AND revoked = 0"
                            " ORDER BY version DESC LIMIT 1",
                            p, 1, &r, err));
    }
    vt_err rc = VT_OK;
    if (r.rows == 0) {
        int64_t n = 0;
        rc = count_versions(s, path, &n, err);
        if (rc == VT_OK && (n == 0 || version > 0))
            rc = version > 0 ? vt_error_set(err, VT_E_MISSING, "resource", "no version %lld of resource %s",
                                            (long long)version, path)
                             : vt_error_set(err, VT_E_MISSING, "resource", "no resource %s", path);
        else if (rc == VT_OK)
            rc = vt_error_set(err, VT_E_REVOKED, "resource", "every version of resource %s is revoked", path);
    } else if (sqlres_int(&r, 0, 2) != 0) {
        rc = vt_error_set(err, VT_E_REVOKED, "resource", "version %lld of resource %s is revoked",
                          (long long)version, path);
    } else {
        int64_t v = sqlres_int(&r, 0, 0);
        rc = store_open_sealed(s->kek, path, v, (const uint8_t *)sqlres_get(&r, 0, 1), r.len[1], value, err);
        if (rc == VT_OK && got) *got = v;
    }
    sqlres_free(&r);
    return rc;
}

/* The digest of one version's value: opened, hashed, the plaintext wiped. A value that does not
 * open (no KEK, another KEK, altered) has no digest; resource_get reports why when asked for it. */
static void version_digest(vt_store *s, const char *path, const sqlres *r, size_t row, vt_resource_version *v)
{
    vt_buf plain = {0};
    vt_error e = {0};
    v->has_sha256 = s->kek != NULL &&
                    store_open_sealed(s->kek, path, v->version, (const uint8_t *)sqlres_get(r, row, 3),
                                      r->len[row * r->cols + 3], &plain, &e) == VT_OK &&
                    vt_hash(VT_SHA256, plain.ptr ? (const void *)plain.ptr : "", plain.len, v->sha256, &e) == VT_OK;
    vt_buf_free_secret(&plain);
}

vt_err vt_store_resource_versions(vt_store *s, const char *path, vt_resource_version **out,
                                  size_t *n, vt_error *err)
{
    *out = NULL;
    *n = 0;
    VT_GUARD(store_text_ok(path, VT_RESOURCE_PATH_MAX, "resource path", err));
    sqlval p[] = {P_TEXT(path)};
    sqlres r = {0};
    VT_GUARD(store_exec(s, "SELECT version, created, revoked, value FROM resources WHERE path = $1 ORDER BY version",
                        p, 1, &r, err));
    vt_err rc = VT_OK;
    if (r.rows == 0) {
        rc = vt_error_set(err, VT_E_MISSING, "resource", "no resource %s", path);
        goto out;
    }
    *out = calloc(r.rows, sizeof **out);
    if (*out == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "resource", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < r.rows; i++) {
        (*out)[i].version = sqlres_int(&r, i, 0);
        (*out)[i].created = sqlres_int(&r, i, 1);
        (*out)[i].revoked = sqlres_int(&r, i, 2);
        version_digest(s, path, &r, i, &(*out)[i]);
    }
    *n = r.rows;
out:
    sqlres_free(&r);
    return rc;
}

vt_err vt_store_resource_revoke(vt_store *s, const char *path, int64_t version, vt_time now,
                                vt_error *err)
{
    VT_GUARD(store_text_ok(path, VT_RESOURCE_PATH_MAX, "resource path", err));
    sqlval p[] = {P_TEXT(path), P_INT(version)}, q[] = {P_INT(now), P_TEXT(path), P_INT(version)};
    sqlres r = {0};
    VT_GUARD(store_begin(s, err));
    vt_err rc = store_tx(s, "SELECT revoked FROM resources WHERE path = $1 AND version = $2", p, 2, &r, err);
    if (rc == VT_OK && r.rows == 0)
        rc = vt_error_set(err, VT_E_MISSING, "resource", "no version %lld of resource %s",
                          (long long)version, path);
    else if (rc == VT_OK && sqlres_int(&r, 0, 0) == 0)
        rc = store_tx(s, "UPDATE resources SET revoked = $1 WHERE path = $2 AND version = $3", q, 3, NULL, err);
    sqlres_free(&r);
    return store_end(s, rc, err);
}

vt_err vt_store_resource_delete(vt_store *s, const char *path, vt_error *err)
{
    VT_GUARD(store_text_ok(path, VT_RESOURCE_PATH_MAX, "resource path", err));
    sqlval p[] = {P_TEXT(path)};
    sqlres r = {0};
    VT_GUARD(store_exec(s, "DELETE FROM resources WHERE path = $1", p, 1, &r, err));
    uint64_t changed = r.changes;
    sqlres_free(&r);
    if (changed == 0) return vt_error_set(err, VT_E_MISSING, "resource", "no resource %s", path);
    return VT_OK;
}

static vt_err strv_from(const sqlres *r, char ***out, size_t *n, vt_error *err)
{
    *out = calloc(r->rows ? r->rows : 1, sizeof **out);
    if (*out == NULL) return vt_error_set(err, VT_E_NOMEM, "store", "out of memory");
    for (size_t i = 0; i < r->rows; i++) {
        (*out)[i] = strdup(sqlres_get(r, i, 0));
        if ((*out)[i] == NULL) {
            vt_store_strv_free(*out, i);
            *out = NULL;
            return vt_error_set(err, VT_E_NOMEM, "store", "out of memory");
        }
    }
    *n = r->rows;
    return VT_OK;
}

vt_err vt_store_resource_paths(vt_store *s, char ***out, size_t *n, vt_error *err)
{
    sqlres r = {0};
    VT_GUARD(store_exec(s, "SELECT DISTINCT path FROM resources ORDER BY path", NULL, 0, &r, err));
    vt_err rc = strv_from(&r, out, n, err);
    sqlres_free(&r);
    return rc;
}

/* ---- documents ---- */

static vt_err kind_ok(vt_doc_kind kind, vt_error *err)
{
    if (kind < VT_DOC_ATTESTATION_POLICY || kind > VT_DOC_REFERENCE_VALUE)
        return vt_error_set(err, VT_E_ARG, "store", "unknown document kind %d", (int)kind);
    return VT_OK;
}

vt_err vt_store_doc_put(vt_store *s, vt_doc_kind kind, const char *name, const char *json,
                        vt_time now, vt_error *err)
{
    VT_GUARD(kind_ok(kind, err));
    VT_GUARD(store_text_ok(name, VT_DOC_NAME_MAX, "document name", err));
    size_t len = json ? strnlen(json, VT_DOC_MAX + 1) : 0;
    if (len == 0 || len > VT_DOC_MAX)
        return vt_error_set(err, VT_E_ARG, "document", "%s: document is empty or larger than %u bytes",
                            name, VT_DOC_MAX);
    json_t *j = NULL;
    vt_err rc = vt_json_parse(json, len, &j, err);
    json_decref(j);
    if (rc != VT_OK) return vt_error_wrap(err, "document %s", name);
    sqlval p[] = {P_INT(kind), P_TEXT(name), P_TEXT(json), P_INT(now)};
    return store_exec(s,
                      "INSERT INTO docs(kind, name, body, updated) VALUES ($1, $2, $3, $4)"
                      " ON CONFLICT (kind, name) DO UPDATE SET body = excluded.body, updated = excluded.updated",
                      p, 4, NULL, err);
}

vt_err vt_store_docs_generation(vt_store *s, int64_t *gen, vt_error *err)
{
    sqlres r = {0};
    VT_GUARD(store_exec(s, "SELECT gen FROM docs_gen WHERE id = 1", NULL, 0, &r, err));
    vt_err rc = r.rows == 1 && sqlres_get(&r, 0, 0) != NULL
                    ? VT_OK
                    : vt_error_set(err, VT_E_IO, "store", "the documents' generation row is missing");
    if (rc == VT_OK) *gen = sqlres_int(&r, 0, 0);
    sqlres_free(&r);
    return rc;
}

vt_err vt_store_doc_get(vt_store *s, vt_doc_kind kind, const char *name, char **json, vt_error *err)
{
    *json = NULL;
    VT_GUARD(kind_ok(kind, err));
    VT_GUARD(store_text_ok(name, VT_DOC_NAME_MAX, "document name", err));
    sqlval p[] = {P_INT(kind), P_TEXT(name)};
    sqlres r = {0};
    VT_GUARD(store_exec(s, "SELECT body FROM docs WHERE kind = $1 AND name = $2", p, 2, &r, err));
    vt_err rc = VT_OK;
    if (r.rows == 0) rc = vt_error_set(err, VT_E_MISSING, "document", "no document %s", name);
    else if ((*json = strdup(sqlres_get(&r, 0, 0))) == NULL)
        rc = vt_error_set(err, VT_E_NOMEM, "document", "out of memory");
    sqlres_free(&r);
    return rc;
}

vt_err vt_store_doc_delete(vt_store *s, vt_doc_kind kind, const char *name, vt_error *err)
{
    VT_GUARD(kind_ok(kind, err));
    VT_GUARD(store_text_ok(name, VT_DOC_NAME_MAX, "document name", err));
    sqlval p[] = {P_INT(kind), P_TEXT(name)};
    sqlres r = {0};
    VT_GUARD(store_exec(s, "DELETE FROM docs WHERE kind = $1 AND name = $2", p, 2, &r, err));
    uint64_t changed = r.changes;
    sqlres_free(&r);
    return changed ? VT_OK : vt_error_set(err, VT_E_MISSING, "document", "no document %s", name);
}

vt_err vt_store_doc_list(vt_store *s, vt_doc_kind kind, char ***out, size_t *n, vt_error *err)
{
    *out = NULL;
    *n = 0;
    VT_GUARD(kind_ok(kind, err));
    sqlval p[] = {P_INT(kind)};
    sqlres r = {0};
    VT_GUARD(store_exec(s, "SELECT name FROM docs WHERE kind = $1 ORDER BY name", p, 1, &r, err));
    vt_err rc = strv_from(&r, out, n, err);
    sqlres_free(&r);
    return rc;
}

vt_err vt_store_doc_get_first(vt_store *s, vt_doc_kind kind, const char *const *names, size_t n, size_t *which,
                              char **json, vt_error *err)
{
    *json = NULL;
    *which = 0;
    VT_GUARD(kind_ok(kind, err));
    if (n == 0 || n > VT_DOC_FIRST_MAX)
        return vt_error_set(err, VT_E_ARG, "document", "1 to %d names, not %zu", VT_DOC_FIRST_MAX, n);
    for (size_t i = 0; i < n; i++) VT_GUARD(store_text_ok(names[i], VT_DOC_NAME_MAX, "document name", err));
    sqlval p[1 + VT_DOC_FIRST_MAX] = {P_INT(kind)};
    for (size_t i = 0; i < VT_DOC_FIRST_MAX; i++) p[1 + i] = P_TEXT(names[i < n ? i : 0]);
    sqlres r = {0};
    VT_GUARD(store_exec(s, "SELECT name, body FROM docs WHERE kind = $1 AND name IN ($2, $3, $4)", p, 4, &r, err));
    size_t best = n, row = 0;
    for (size_t k = 0; k < r.rows; k++)
        for (size_t i = 0; i < best; i++)
            if (strcmp(sqlres_get(&r, k, 0), names[i]) == 0) {
                best = i;
                row = k;
                break;
            }
    vt_err rc = VT_OK;
    if (best == n) rc = vt_error_set(err, VT_E_MISSING, "document", "no document %s", names[0]);
    else if ((*json = strdup(sqlres_get(&r, row, 1))) == NULL)
        rc = vt_error_set(err, VT_E_NOMEM, "document", "out of memory");
    else *which = best;
    sqlres_free(&r);
    return rc;
}

vt_err vt_store_doc_get_all(vt_store *s, vt_doc_kind kind, char ***names, char ***jsons, size_t *n, vt_error *err)
{
    *names = *jsons = NULL;
    *n = 0;
    VT_GUARD(kind_ok(kind, err));
    sqlval p[] = {P_INT(kind)};
    sqlres r = {0};
    VT_GUARD(store_exec(s, "SELECT name, body FROM docs WHERE kind = $1 ORDER BY name", p, 1, &r, err));
    char **a = calloc(r.rows ? r.rows : 1, sizeof *a), **b = calloc(r.rows ? r.rows : 1, sizeof *b);
    vt_err rc = a && b ? VT_OK : vt_error_set(err, VT_E_NOMEM, "store", "out of memory");
    for (size_t i = 0; rc == VT_OK && i < r.rows; i++)
        if ((a[i] = strdup(sqlres_get(&r, i, 0))) == NULL || (b[i] = strdup(sqlres_get(&r, i, 1))) == NULL)
            rc = vt_error_set(err, VT_E_NOMEM, "store", "out of memory");
    if (rc != VT_OK) {
        vt_store_strv_free(a, r.rows);
        vt_store_strv_free(b, r.rows);
    } else {
        *names = a;
        *jsons = b;
        *n = r.rows;
    }
    sqlres_free(&r);
    return rc;
}

vt_err vt_store_rekey(vt_store *s, const vt_kek *new_kek, size_t *count, vt_error *err)
{
    if (s->kek == NULL || new_kek == NULL)
        return vt_error_set(err, VT_E_ARG, "kek", "rekey needs the current and the new key-encryption key");
    char id[2 * VT_KEK_ID_LEN + 1];
    vt_kek_id_hex(new_kek, id);
    sqlres r = {0};
    size_t n = 0;
    VT_GUARD(store_begin(s, err));
    vt_err rc = s->drv->lock(store_tx_conn(s), "rekey", err);
    if (rc == VT_OK) rc = store_tx(s, "SELECT path, version, value FROM resources ORDER BY path, version", NULL, 0, &r, err);
    for (size_t i = 0; rc == VT_OK && i < r.rows; i++) {
        const char *path = sqlres_get(&r, i, 0);
        int64_t v = sqlres_int(&r, i, 1);
        vt_buf plain = {0}, sealed = {0};
        rc = store_open_sealed(s->kek, path, v, (const uint8_t *)sqlres_get(&r, i, 2), r.len[i * r.cols + 2],
                               &plain, err);
        if (rc == VT_OK) rc = store_seal(new_kek, path, v, plain.ptr, plain.len, &sealed, err);
        if (rc == VT_OK) {
            sqlval p[] = {P_BLOB(sealed.ptr, sealed.len), P_TEXT(path), P_INT(v)};
            rc = store_tx(s, "UPDATE resources SET value = $1 WHERE path = $2 AND version = $3", p, 3, NULL, err);
        }
        vt_buf_free_secret(&plain);
        vt_buf_free(&sealed);
        n++;
    }
    if (rc == VT_OK) {
        sqlval p[] = {P_TEXT(id)};
        rc = store_tx(s, "DELETE FROM meta WHERE key = 'kek_id'", NULL, 0, NULL, err);
        if (rc == VT_OK) rc = store_tx(s, "INSERT INTO meta(key, value) VALUES ('kek_id', $1)", p, 1, NULL, err);
    }
    sqlres_free(&r);
    rc = store_end(s, rc, err);
    if (rc == VT_OK) {
        s->kek = new_kek; /* every value is now sealed under it */
        if (count != NULL) *count = n;
    }
    return rc;
}
