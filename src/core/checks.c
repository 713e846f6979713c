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
