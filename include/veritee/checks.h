/* The list of named checks a verifier ran, each passed, failed or skipped, with a detail.
 * Fixed capacity, no allocation: verifiers fill it as they go. */
#ifndef VERITEE_CHECKS_H
#define VERITEE_CHECKS_H

#include "veritee/api.h"
#include "veritee/err.h"

#include <jansson.h>
#include <stddef.h>

VT_BEGIN_DECLS

#define VT_CHECKS_MAX 40

typedef enum vt_check_status {
    VT_CHECK_PASS = 0,
    VT_CHECK_FAIL = 1,
    VT_CHECK_SKIP = 2, /* not performed, and said so; never counted as passed */
} vt_check_status;

typedef struct vt_check {
    char name[40];
    vt_check_status status;
    char detail[240];
} vt_check;

typedef struct vt_checks {
    vt_check items[VT_CHECKS_MAX];
    size_t n;
} vt_checks;

void vt_checks_add(vt_checks *c, const char *name, vt_check_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The one way a verifier records a check. A check that fails names itself in the caller's
 * error (err->check) and its FAIL entry carries the error's message as its detail, so the list
 * and the error always agree. err may be NULL (the FAIL detail is then "failed").
 *
 *   vt_check_pass  the check passed: PASS with a detail.
 *   vt_check_skip  the check was not performed, and says why (never counted as passed).
 *   vt_check_fail  the check fails here: err gets code, the check's name and the message;
 *                  returns code (for `return vt_check_fail(...)`).
 *   vt_check_step  the outcome rc of a step that filled err itself: PASS with the detail when
 *                  rc is VT_OK (the detail is formatted only then), otherwise err is renamed to
 *                  this check and FAIL carries its message; returns rc (for VT_GUARD).
 *   vt_check_step_of  vt_check_step with a subject ("gpu1: ") before the detail of either
 *                  outcome; the error's message stays without it. */
void vt_check_pass(vt_checks *c, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void vt_check_skip(vt_checks *c, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
vt_err vt_check_fail(vt_checks *c, vt_error *err, const char *name, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
vt_err vt_check_step(vt_checks *c, vt_error *err, const char *name, vt_err rc, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
vt_err vt_check_step_of(vt_checks *c, vt_error *err, const char *subject, const char *name, vt_err rc,
                        const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Find a check by name; NULL when absent. */
const vt_check *vt_checks_find(const vt_checks *c, const char *name);
const char *vt_check_status_name(vt_check_status st);

/* JSON array of {"name","status","detail"}; NULL on allocation failure. */
json_t *vt_checks_json(const vt_checks *c);

VT_END_DECLS

#endif
