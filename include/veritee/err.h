/* veritee error idiom: functions return vt_err (0 = ok) and fill a caller-owned vt_error
 * with a code and a message naming the failed check and the values involved. */
#ifndef VERITEE_ERR_H
#define VERITEE_ERR_H

#include "veritee/api.h"

#include <stdarg.h>
#include <stddef.h>

VT_BEGIN_DECLS

typedef int vt_err;

enum vt_code {
    VT_OK = 0,
    VT_E_INVALID = 1,     /* malformed input: truncated, bad length, wrong type */
    VT_E_UNSUPPORTED = 2, /* well-formed but a version/algorithm we do not support */
    VT_E_VERIFY = 3,      /* a verification check failed (signature, binding, identity) */
    VT_E_EXPIRED = 4,     /* certificate or collateral outside its validity at the given time */
    VT_E_REVOKED = 5,     /* certificate revoked or TCB status Revoked */
    VT_E_NO_TCB = 6,      /* no TCB level matches the platform */
    VT_E_MISSING = 7,     /* collateral or trust anchor not available */
    VT_E_ARG = 8,         /* caller error: bad argument or option */
    VT_E_IO = 9,          /* file or network I/O */
    VT_E_NOMEM = 10,
    VT_E_INTERNAL = 11,   /* library failure (e.g. OpenSSL could not allocate) */
};

#define VT_ERR_CHECK_MAX 48
#define VT_ERR_MSG_MAX 320

typedef struct vt_error {
    int code;                      /* enum vt_code */
    char check[VT_ERR_CHECK_MAX];  /* short name of the failed check, e.g. "quote_signature" */
    char msg[VT_ERR_MSG_MAX];      /* human message: what failed and the values involved */
} vt_error;

/* Reset an error record to "no error". Accepts NULL. */
void vt_error_clear(vt_error *e);

/* Fill e (may be NULL) and return code. check names the failed check: every library error
 * names one (a verifier records checks with vt_check_fail/vt_check_step, include/veritee/checks.h);
 * the ctest `error_checks` refuses a NULL check in src/. */
vt_err vt_error_set(vt_error *e, int code, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
vt_err vt_error_vset(vt_error *e, int code, const char *check, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* Name the check an error belongs to, when the caller knows it better than the callee that
 * set it (e.g. a generic signature helper inside a TEE's own check). Accepts NULL e. */
void vt_error_name(vt_error *e, const char *check);

/* Prefix the message with more context: "<prefix>: <old message>". Returns e->code. */
vt_err vt_error_wrap(vt_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Stable lower-case name of a code ("invalid", "verify", ...). */
const char *vt_code_name(int code);

/* Guards keep the happy path linear (cf. s2n's POSIX_GUARD). */
#define VT_GUARD(x)                                                                      \
    do {                                                                                 \
        vt_err vt_guard_rc_ = (x);                                                       \
        if (vt_guard_rc_ != VT_OK) return vt_guard_rc_;                                  \
    } while (0)

/* Requires a local `vt_err rc` and an `out:` label. */
#define VT_GUARD_GOTO(x)                                                                 \
    do {                                                                                 \
        rc = (x);                                                                        \
        if (rc != VT_OK) goto out;                                                       \
    } while (0)

VT_END_DECLS

#endif
