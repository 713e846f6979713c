/* The list of named checks a verifier ran, each passed, failed or skipped, with a detail.
 * Fixed capacity, no allocation: verifiers fill it as they go. */
#ifndef VERITEE_CHECKS_H
#define VERITEE_CHECKS_H

#include "veritee/api.h"

#include <stddef.h>

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
/* Find a check by name; NULL when absent. */
const vt_check *vt_checks_find(const vt_checks *c, const char *name);
const char *vt_check_status_name(vt_check_status st);

#include <jansson.h>

VT_BEGIN_DECLS
/* JSON array of {"name","status","detail"}; NULL on allocation failure. */
json_t *vt_checks_json(const vt_checks *c);

VT_END_DECLS

#endif
