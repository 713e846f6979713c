/* Error records: code + check name + message (see include/veritee/err.h). */
#include <stdio.h>
#include <string.h>

#include "veritee/err.h"

void vt_error_clear(vt_error *e)
{
    if (e == NULL) return;
    e->code = VT_OK;
    e->check[0] = '\0';
    e->msg[0] = '\0';
}

vt_err vt_error_vset(vt_error *e, int code, const char *check, const char *fmt, va_list ap)
{
    if (e == NULL) return code;
    e->code = code;
    if (check != NULL) snprintf(e->check, sizeof e->check, "%s", check);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    return code;
}

vt_err vt_error_set(vt_error *e, int code, const char *check, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vt_err rc = vt_error_vset(e, code, check, fmt, ap);
    va_end(ap);
    return rc;
}

void vt_error_name(vt_error *e, const char *check)
{
    if (e != NULL && check != NULL && e->check != check) snprintf(e->check, sizeof e->check, "%s", check);
}

vt_err vt_error_wrap(vt_error *e, const char *fmt, ...)
{
    if (e == NULL) return VT_E_INTERNAL;
    char prefix[VT_ERR_MSG_MAX];
    char old[VT_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    size_t pl = strnlen(prefix, sizeof prefix - 1);
    size_t cap = sizeof e->msg;
    memcpy(e->msg, prefix, pl);
    size_t o = pl;
    if (o + 2 < cap) {
        e->msg[o++] = ':';
        e->msg[o++] = ' ';
    }
    size_t ol = strnlen(old, sizeof old);
    if (ol > cap - 1 - o) ol = cap - 1 - o;
    memcpy(e->msg + o, old, ol);
    e->msg[o + ol] = '\0';
    return e->code;
}

const char *vt_code_name(int code)
{
    switch (code) {
    case VT_OK: return "ok";
    case VT_E_INVALID: return "invalid";
    case VT_E_UNSUPPORTED: return "unsupported";
    case VT_E_VERIFY: return "verify";
    case VT_E_EXPIRED: return "expired";
    case VT_E_REVOKED: return "revoked";
    case VT_E_NO_TCB: return "no_tcb_level";
    case VT_E_MISSING: return "missing";
    case VT_E_ARG: return "argument";
    case VT_E_IO: return "io";
    case VT_E_NOMEM: return "nomem";
    default: return "internal";
    }
}
