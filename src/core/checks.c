/* Named check list (include/veritee/checks.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "veritee/checks.h"

void vt_checks_add(vt_checks *c, const char *name, vt_check_status st, const char *fmt, ...)
{
    if (c == NULL) return;
    vt_check *k;
    if (c->n < VT_CHECKS_MAX) {
        k = &c->items[c->n++];
    } else {
        k = &c->items[VT_CHECKS_MAX - 1]; /* keep the latest outcome visible */
    }
    memset(k, 0, sizeof *k); /* written whole: a result's entries are not zeroed beforehand */
    snprintf(k->name, sizeof k->name, "%s", name);
    k->status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->detail, sizeof k->detail, fmt, ap);
    va_end(ap);
}

const vt_check *vt_checks_find(const vt_checks *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->items[i].name, name) == 0) return &c->items[i];
    return NULL;
}

const char *vt_check_status_name(vt_check_status st)
{
    switch (st) {
    case VT_CHECK_PASS: return "pass";
    case VT_CHECK_FAIL: return "fail";
    default: return "skip";
    }
}

json_t *vt_checks_json(const vt_checks *c)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < c->n; i++) {
        const vt_check *k = &c->items[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "name", k->name, "status",
                                           vt_check_status_name(k->status), "detail", k->detail));
    }
    return a;
}

__attribute__((format(printf, 5, 0))) static void vadd(vt_checks *c, const char *name, vt_check_status st,
                                                       const char *subject, const char *fmt, va_list ap)
{
    char d[sizeof c->items[0].detail];
    vsnprintf(d, sizeof d, fmt, ap);
    vt_checks_add(c, name, st, "%s%s", subject, d);
}

void vt_check_pass(vt_checks *c, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vadd(c, name, VT_CHECK_PASS, "", fmt, ap);
    va_end(ap);
}

void vt_check_skip(vt_checks *c, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vadd(c, name, VT_CHECK_SKIP, "", fmt, ap);
    va_end(ap);
}

/* A failed check: err (when given) names it; FAIL carries the error's message. */
static vt_err failed(vt_checks *c, vt_error *err, const char *subject, const char *name, vt_err rc)
{
    if (err != NULL) {
        vt_error_name(err, name);
        vt_checks_add(c, name, VT_CHECK_FAIL, "%s%s", subject, err->msg);
    } else {
        vt_checks_add(c, name, VT_CHECK_FAIL, "%sfailed", subject);
    }
    return rc;
}

vt_err vt_check_fail(vt_checks *c, vt_error *err, const char *name, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err != NULL) {
        vt_error_vset(err, code, name, fmt, ap);
    } else {
        char d[VT_ERR_MSG_MAX];
        vsnprintf(d, sizeof d, fmt, ap);
        vt_checks_add(c, name, VT_CHECK_FAIL, "%s", d);
        va_end(ap);
        return code;
    }
    va_end(ap);
    return failed(c, err, "", name, code);
}

__attribute__((format(printf, 6, 0))) static vt_err vstep(vt_checks *c, vt_error *err, const char *subject,
                                                          const char *name, vt_err rc, const char *fmt, va_list ap)
{
    if (rc != VT_OK) return failed(c, err, subject, name, rc);
    vadd(c, name, VT_CHECK_PASS, subject, fmt, ap);
    return VT_OK;
}

vt_err vt_check_step(vt_checks *c, vt_error *err, const char *name, vt_err rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vt_err r = vstep(c, err, "", name, rc, fmt, ap);
    va_end(ap);
    return r;
}

vt_err vt_check_step_of(vt_checks *c, vt_error *err, const char *subject, const char *name, vt_err rc,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vt_err r = vstep(c, err, subject, name, rc, fmt, ap);
    va_end(ap);
    return r;
}
