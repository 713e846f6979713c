/* A small DER (X.690) writer for building certificate extension values (emulated TEE, tests). */
#ifndef VERITEE_DERW_H
#define VERITEE_DERW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/codec.h"
#include "veritee/err.h"
#include "veritee/writer.h"

VT_BEGIN_DECLS

/* Over the core writer: a failure (allocation, malformed OID) is sticky, every later call
 * is a no-op, and vt_derw_finish reports it. */
typedef struct vt_derw {
    vt_writer out;
    bool bad_oid;
} vt_derw;

void vt_derw_init(vt_derw *w);
void vt_derw_free(vt_derw *w);
/* Append one TLV with contents v[n]. */
void vt_derw_tlv(vt_derw *w, uint8_t tag, const uint8_t *v, size_t n);
/* Non-negative INTEGER (or ENUMERATED with tag 0x0a) of value x, minimally encoded. */
void vt_derw_uint(vt_derw *w, uint8_t tag, uint64_t x);
/* OID from dotted text; sets failed on a malformed OID. */
void vt_derw_oid(vt_derw *w, const char *dotted);
/* Where the next TLV starts, for vt_derw_wrap. */
size_t vt_derw_mark(const vt_derw *w);
/* Wrap everything written since `mark` (a previous vt_derw_mark) into a constructed TLV. */
void vt_derw_wrap(vt_derw *w, size_t mark, uint8_t tag);
/* Move the result into an owned buffer (or fail with VT_E_NOMEM). */
VT_MUST_USE vt_err vt_derw_finish(vt_derw *w, vt_buf *out, vt_error *err);

VT_END_DECLS

#endif
