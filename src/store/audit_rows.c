/* Audit rows in the store: the append transaction serializes on the chain head row
 * (SELECT ... FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite). The store owns these rows and their records;
 * hashing and verification are src/audit. */
#include <stdlib.h>
#include <string.h>

#include "sql.h"

void vt_audit_record_clear(vt_audit_record *r)
{
    if (r == NULL) return;
    free(r->actor);
    free(r->action);
    free(r->subject);
    free(r->outcome);
    free(r->details);
    r->actor = r->action = r->subject = r->outcome = r->details = NULL;
}

void vt_audit_records_free(vt_audit_record *r, size_t n)
{
    if (r == NULL) return;
    for (size_t i = 0; i < n; i++) vt_audit_record_clear(&r[i]);
    free(r);
}

static vt_err hash_from_hex(const char *hex, uint8_t out[VT_AUDIT_HASH_LEN], int64_t seq, vt_error *err)
{
    if (hex == NULL || strlen(hex) != 2 * VT_AUDIT_HASH_LEN ||
        vt_hex_decode_fixed(hex, out, VT_AUDIT_HASH_LEN, err) != VT_OK)
        return vt_error_set(err, VT_E_VERIFY, "audit_chain", "record %lld: stored hash is not 64 hex digits",
                            (long long)seq);
    return VT_OK;
}

vt_err vt_store_audit_append(vt_store *s, vt_audit_record *r, vt_store_audit_seal_fn seal, vt_error *err)
{
    const char *head_sql = s->drv->dialect == DIALECT_PG
                               ? "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE"
                               : "SELECT seq, hash FROM audit_head WHERE id = 1";
    sqlres h = {0};
    char prev[2 * VT_AUDIT_HASH_LEN + 1], cur[2 * VT_AUDIT_HASH_LEN + 1];
    VT_GUARD(store_begin(s, err));
    vt_err rc = store_tx(s, head_sql, NULL, 0, &h, err);
    if (rc == VT_OK && h.rows != 1)
        rc = vt_error_set(err, VT_E_INTERNAL, "audit_chain", "audit head row is missing");
    if (rc == VT_OK) {
        r->seq = sqlres_int(&h, 0, 0) + 1;
        rc = hash_from_hex(sqlres_get(&h, 0, 1), r->prev_hash, r->seq - 1, err);
    }
    if (rc == VT_OK) rc = seal(r, err);
    if (rc == VT_OK) {
        vt_hex_encode(r->prev_hash, VT_AUDIT_HASH_LEN, prev);
        vt_hex_encode(r->hash, VT_AUDIT_HASH_LEN, cur);
        sqlval p[] = {P_INT(r->seq),        P_INT(r->time),       P_TEXT(r->actor),
                      P_TEXT(r->action),    P_TEXT(r->subject),   P_TEXT(r->outcome),
                      P_TEXT(r->details),   P_TEXT(prev),         P_TEXT(cur)};
        rc = store_tx(s,
                      "INSERT INTO audit(seq, time, actor, action, subject, outcome, details, prev_hash, hash)"
                      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                      p, 9, NULL, err);
    }
    if (rc == VT_OK) {
        sqlval p[] = {P_INT(r->seq), P_TEXT(cur)};
        rc = store_tx(s, "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", p, 2, NULL, err);
    }
    sqlres_free(&h);
    return store_end(s, rc, err);
}

/* The one row (seq, hash) of audit_head or audit_base; `what` names it when it is missing. */
static vt_err seq_hash_row(vt_store *s, const char *sql, const char *what, int64_t *seq,
                           uint8_t hash[VT_AUDIT_HASH_LEN], vt_error *err)
{
    sqlres h = {0};
    VT_GUARD(store_exec(s, sql, NULL, 0, &h, err));
    vt_err rc = VT_OK;
    if (h.rows != 1) rc = vt_error_set(err, VT_E_VERIFY, "audit_chain", "audit %s row is missing", what);
    else {
        *seq = sqlres_int(&h, 0, 0);
        rc = hash_from_hex(sqlres_get(&h, 0, 1), hash, *seq, err);
    }
    sqlres_free(&h);
    return rc;
}

vt_err vt_store_audit_head(vt_store *s, int64_t *seq, uint8_t hash[VT_AUDIT_HASH_LEN], vt_error *err)
{
    return seq_hash_row(s, "SELECT seq, hash FROM audit_head WHERE id = 1", "head", seq, hash, err);
}

static char *dup_or_empty(const char *v)
{
    return strdup(v ? v : "");
}

static vt_err rows_to_records(const sqlres *r, vt_audit_record **out, size_t *n, vt_error *err)
{
    *out = calloc(r->rows ? r->rows : 1, sizeof **out);
    if (*out == NULL) return vt_error_set(err, VT_E_NOMEM, "audit", "out of memory");
    *n = r->rows;
    for (size_t i = 0; i < r->rows; i++) {
        vt_audit_record *a = &(*out)[i];
        a->seq = sqlres_int(r, i, 0);
        a->time = sqlres_int(r, i, 1);
        a->actor = dup_or_empty(sqlres_get(r, i, 2));
        a->action = dup_or_empty(sqlres_get(r, i, 3));
        a->subject = dup_or_empty(sqlres_get(r, i, 4));
        a->outcome = dup_or_empty(sqlres_get(r, i, 5));
        a->details = dup_or_empty(sqlres_get(r, i, 6));
        if (!a->actor || !a->action || !a->subject || !a->outcome || !a->details) {
            vt_audit_records_free(*out, r->rows);
            *out = NULL;
            return vt_error_set(err, VT_E_NOMEM, "audit", "out of memory");
        }
        /* A malformed stored hash is reported by the verifier as a bad record: keep zeros. */
        vt_error ignore;
        if (hash_from_hex(sqlres_get(r, i, 7), a->prev_hash, a->seq, &ignore) != VT_OK)
            memset(a->prev_hash, 0xff, VT_AUDIT_HASH_LEN);
        if (hash_from_hex(sqlres_get(r, i, 8), a->hash, a->seq, &ignore) != VT_OK)
            memset(a->hash, 0xff, VT_AUDIT_HASH_LEN);
    }
    return VT_OK;
}

#define AUDIT_COLS "seq, time, actor, action, subject, outcome, details, prev_hash, hash"

vt_err vt_store_audit_page(vt_store *s, int64_t after, size_t max, vt_audit_record **out, size_t *n,
                        vt_error *err)
{
    sqlval p[] = {P_INT(after), P_INT(max)};
    sqlres r = {0};
    VT_GUARD(store_exec(s, "SELECT " AUDIT_COLS " FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2", p, 2,
                        &r, err));
    vt_err rc = rows_to_records(&r, out, n, err);
    sqlres_free(&r);
    return rc;
}

vt_err vt_store_audit_tail(vt_store *s, size_t n, vt_audit_record **out, size_t *got, vt_error *err)
{
    sqlval p[] = {P_INT(n)};
    sqlres r = {0};
    VT_GUARD(store_exec(s,
                        "SELECT " AUDIT_COLS " FROM (SELECT " AUDIT_COLS
                        " FROM audit ORDER BY seq DESC LIMIT $1) AS t ORDER BY seq",
                        p, 1, &r, err));
    vt_err rc = rows_to_records(&r, out, got, err);
    sqlres_free(&r);
    return rc;
}

vt_err vt_store_audit_base(vt_store *s, int64_t *seq, uint8_t hash[VT_AUDIT_HASH_LEN], vt_error *err)
{
    return seq_hash_row(s, "SELECT seq, hash FROM audit_base WHERE id = 1", "base", seq, hash, err);
}

vt_err vt_store_audit_cut(vt_store *s, int64_t seq, vt_error *err)
{
    const char *base_sql = s->drv->dialect == DIALECT_PG ? "SELECT seq FROM audit_base WHERE id = 1 FOR UPDATE"
                                                          : "SELECT seq FROM audit_base WHERE id = 1";
    sqlres b = {0}, r = {0};
    VT_GUARD(store_begin(s, err));
    vt_err rc = store_tx(s, base_sql, NULL, 0, &b, err);
    if (rc == VT_OK && b.rows != 1) rc = vt_error_set(err, VT_E_VERIFY, "audit_chain", "audit base row is missing");
    if (rc == VT_OK && seq <= sqlres_int(&b, 0, 0))
        rc = vt_error_set(err, VT_E_ARG, "audit_archive", "record %lld is already archived (the store starts after %lld)",
                          (long long)seq, (long long)sqlres_int(&b, 0, 0));
    sqlval p[] = {P_INT(seq)};
    if (rc == VT_OK) rc = store_tx(s, "SELECT hash FROM audit WHERE seq = $1", p, 1, &r, err);
    if (rc == VT_OK && r.rows != 1)
        rc = vt_error_set(err, VT_E_ARG, "audit_archive", "no record %lld in the store", (long long)seq);
    if (rc == VT_OK) {
        sqlval q[] = {P_INT(seq), P_TEXT(sqlres_get(&r, 0, 0))};
        rc = store_tx(s, "UPDATE audit_base SET seq = $1, hash = $2 WHERE id = 1", q, 2, NULL, err);
    }
    if (rc == VT_OK) rc = store_tx(s, "DELETE FROM audit WHERE seq <= $1", p, 1, NULL, err);
    sqlres_free(&b);
    sqlres_free(&r);
    VT_GUARD(store_end(s, rc, err));
    /* SQLite: the freed pages back to the file system, so that the file shrinks */
    if (s->drv->reclaim != NULL) {
        store_conn *c = store_grab(s);
        rc = s->drv->reclaim(c->conn, err);
        store_release(c);
    }
    return rc;
}

vt_err vt_store_audit_first_at(vt_store *s, vt_time t, int64_t *seq, vt_error *err)
{
    sqlval p[] = {P_INT(t)};
    sqlres r = {0};
    VT_GUARD(store_exec(s, "SELECT min(seq) FROM audit WHERE time >= $1", p, 1, &r, err));
    *seq = r.rows == 1 && sqlres_get(&r, 0, 0) ? sqlres_int(&r, 0, 0) : 0;
    sqlres_free(&r);
    return VT_OK;
}
