/* Owned argument vectors for launch plans, and their shell-quoted display form. */
#define _GNU_SOURCE /* asprintf */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/vm.h"

vt_err vt_vm_argv_push(vt_vm_argv *a, const char *s, vt_error *err)
{
    if (a->n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 32;
        char **v = realloc(a->v, cap * sizeof *v);
        if (v == NULL) return vt_error_set(err, VT_E_NOMEM, "vm_plan", "out of memory");
        a->v = v;
        a->cap = cap;
    }
    char *d = strdup(s);
    if (d == NULL) return vt_error_set(err, VT_E_NOMEM, "vm_plan", "out of memory");
    a->v[a->n++] = d;
    a->v[a->n] = NULL;
    return VT_OK;
}

vt_err vt_vm_argv_pushf(vt_vm_argv *a, vt_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) return vt_error_set(err, VT_E_NOMEM, "vm_plan", "out of memory");
    vt_err rc = vt_vm_argv_push(a, s, err);
    free(s);
    return rc;
}

void vt_vm_argv_free(vt_vm_argv *a)
{
    if (a == NULL) return;
    for (size_t i = 0; i < a->n; i++) free(a->v[i]);
    free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}

static bool shell_safe(const char *s)
{
    if (*s == 0) return false;
    for (; *s; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  strchr("_./=:,@%+-", c) != NULL;
        if (!ok) return false;
    }
    return true;
}

char *vt_vm_argv_shell(const vt_vm_argv *a)
{
    size_t cap = 1;
    for (size_t i = 0; i < a->n; i++) cap += 4 * strlen(a->v[i]) + 3;
    char *out = malloc(cap), *p = out;
    if (out == NULL) return NULL;
    for (size_t i = 0; i < a->n; i++) {
        if (i) *p++ = ' ';
        const char *s = a->v[i];
        if (shell_safe(s)) {
            size_t n = strlen(s);
            memcpy(p, s, n);
            p += n;
            continue;
        }
        *p++ = '\'';
        for (; *s; s++) {
            if (*s == '\'') {
                memcpy(p, "'\\''", 4);
                p += 4;
            } else {
                *p++ = *s;
            }
        }
        *p++ = '\'';
    }
    *p = 0;
    return out;
}

void vt_vm_plan_free(vt_vm_plan *p)
{
    if (p == NULL) return;
    vt_vm_argv_free(&p->argv);
    free(p->xml);
    p->xml = NULL;
    memset(&p->measurement, 0, sizeof p->measurement);
}
