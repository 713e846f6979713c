/* Byte views and the bounds-checked reader that every binary parser uses.
 * A read that would overrun fails with VT_E_INVALID naming the field, its offset and
 * how many bytes remained; it never touches memory outside the buffer. */
#ifndef VERITEE_READER_H
#define VERITEE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/err.h"

VT_BEGIN_DECLS

/* A borrowed view of bytes (never owns). */
typedef struct vt_bytes {
    const uint8_t *ptr;
    size_t len;
} vt_bytes;

typedef struct vt_reader {
    const uint8_t *buf;
    size_t len;
    size_t off;
    const char *what; /* name of the structure being read, for messages ("TDX quote") */
    vt_error *err;    /* where failures are reported (may be NULL) */
} vt_reader;

void vt_reader_init(vt_reader *r, const uint8_t *buf, size_t len, const char *what, vt_error *err);
size_t vt_reader_remaining(const vt_reader *r);

VT_MUST_USE vt_err vt_read_u8(vt_reader *r, const char *field, uint8_t *out);
VT_MUST_USE vt_err vt_read_u16le(vt_reader *r, const char *field, uint16_t *out);
VT_MUST_USE vt_err vt_read_u32le(vt_reader *r, const char *field, uint32_t *out);
VT_MUST_USE vt_err vt_read_u64le(vt_reader *r, const char *field, uint64_t *out);
VT_MUST_USE vt_err vt_read_u16be(vt_reader *r, const char *field, uint16_t *out);
VT_MUST_USE vt_err vt_read_u32be(vt_reader *r, const char *field, uint32_t *out);
/* Copy exactly n bytes into dst. */
VT_MUST_USE vt_err vt_read_copy(vt_reader *r, const char *field, void *dst, size_t n);
/* Borrow a view of the next n bytes. */
VT_MUST_USE vt_err vt_read_view(vt_reader *r, const char *field, size_t n, vt_bytes *out);
VT_MUST_USE vt_err vt_read_skip(vt_reader *r, const char *field, size_t n);
/* Fail unless the next n bytes are all zero (reserved fields the spec requires zero). */
VT_MUST_USE vt_err vt_read_zero(vt_reader *r, const char *field, size_t n);
/* A sub-reader over the next n bytes; the parent advances past them. */
VT_MUST_USE vt_err vt_read_sub(vt_reader *r, const char *field, size_t n, vt_reader *sub);

bool vt_bytes_is_zero(const uint8_t *p, size_t n);
/* The n (1..8) bytes at p as a little/big-endian integer: for fields already inside a parsed
 * fixed-size struct (the inverse of vt_put_le / vt_put_be in veritee/writer.h). */
uint64_t vt_get_le(const uint8_t *p, size_t n);
uint64_t vt_get_be(const uint8_t *p, size_t n);

VT_END_DECLS

#endif
