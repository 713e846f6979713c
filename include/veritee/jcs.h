/* RFC 8785 JSON Canonicalization Scheme over jansson values: sorted keys (UTF-16 code-unit
 * order), no whitespace, minimal string escapes, ECMAScript number serialisation. The KBS
 * runtime-data binding hashes exactly these bytes. */
#ifndef VERITEE_JCS_H
#define VERITEE_JCS_H

#include <jansson.h>

#include "veritee/api.h"
#include "veritee/codec.h"
#include "veritee/err.h"

VT_BEGIN_DECLS

/* Canonical text of v into an owned buffer (not NUL-counted in len, but NUL-terminated).
 * Fails on non-finite numbers, invalid UTF-8, or nesting deeper than 64. */
VT_MUST_USE vt_err vt_jcs(const json_t *v, vt_buf *out, vt_error *err);

VT_END_DECLS

#endif
