/* Statements and write transactions under the handle lock, and the result sets copied out of
 * a SQL driver (store_internal.h): what the drivers fill and the store logic reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "veritee/crypto.h"

void sqlres_free(sqlres *r)
{
    if (r == NULL) return;
    for (size_t i = 0; i < r->rows * r->cols; i++) {
        if (r->cell[i]) {
            vt_wipe(r->cell[i], r->len[i]); /* cells may hold sealed values or tokens */
            free(r->cell[i]);
        }
    }
    free(r->cell);
    free(r->len);
    memset(r, 0, sizeof *r);
}

const char *sqlres_get(const sqlres *r, size_t row, size_t col)
{
    return row < r->rows && col < r->cols ? r->cell[row * r->cols + col] : NULL;
}

int64_t sqlres_int(const sqlres *r, size_t row, size_t col)
{
    const char *v = sqlres_get(r, row, col);
    return v ? strtoll(v, NULL, 10) : 0;
}

vt_err store_exec(vt_store *s, const char *sql, const sqlval *p, size_t np, sqlres *res,
                  vt_error *err)
{
    pthread_mutex_lock(&s->mu);
    vt_err rc = s->drv->exec(s->conn, sql, p, np, res, err);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static vt_err savepoint(vt_store *s, const char *verb, vt_error *err)
{
    char sql[64];
    snprintf(sql, sizeof sql, "%s vt_sp%u", verb, s->tx_depth);
    return s->drv->script(s->conn, sql, err);
}

vt_err store_begin(vt_store *s, vt_error *err)
{
    pthread_mutex_lock(&s->mu);
    if (s->tx_depth > 0) { /* inside this thread's transaction: a savepoint */
        s->tx_depth++;
        vt_err rc = savepoint(s, "SAVEPOINT", err);
        if (rc != VT_OK) {
            s->tx_depth--;
            pthread_mutex_unlock(&s->mu);
        }
        return rc;
    }
    vt_err rc = s->drv->begin(s->conn, err);
    if (rc != VT_OK) {
        s->drv->rollback(s->conn);
        pthread_mutex_unlock(&s->mu);
        return rc;
    }
    s->tx_depth = 1;
    return VT_OK;
}

vt_err store_tx(vt_store *s, const char *sql, const sqlval *p, size_t np, sqlres *res, vt_error *err)
{
    return s->drv->exec(s->conn, sql, p, np, res, err);
}

vt_err store_end(vt_store *s, vt_err rc, vt_error *err)
{
    if (s->tx_depth > 1) {
        if (rc == VT_OK) rc = savepoint(s, "RELEASE SAVEPOINT", err);
        if (rc != VT_OK) {
            vt_error ignore;
            savepoint(s, "ROLLBACK TO SAVEPOINT", &ignore);
            savepoint(s, "RELEASE SAVEPOINT", &ignore);
        }
        s->tx_depth--;
        pthread_mutex_unlock(&s->mu);
        return rc;
    }
    if (rc == VT_OK) rc = s->drv->commit(s->conn, err);
    if (rc != VT_OK) s->drv->rollback(s->conn);
    s->tx_depth = 0;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

vt_err vt_store_tx_begin(vt_store *s, vt_error *err)
{
    return store_begin(s, err);
}

vt_err vt_store_tx_end(vt_store *s, vt_err rc, vt_error *err)
{
    if (s->tx_depth == 0) return vt_error_set(err, VT_E_ARG, "store", "no transaction to end");
    return store_end(s, rc, err);
}
