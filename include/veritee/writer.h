/* The bounds-checked writer, the inverse of vt_reader: builds binary layouts (reports, quotes,
 * event logs, DER, CBOR) and text into a growable buffer it owns or into a fixed caller buffer.
 * A write fails with a vt_err naming the structure, the field and the offset: VT_E_INTERNAL
 * when a fixed buffer is too small or a patch/seek/insert lies past what was written (a layout
 * bug), VT_E_ARG when a size would overflow size_t or an integer width is not 1..8, VT_E_NOMEM
 * when growing fails. Once a write failed, every later write fails with the same code (sticky),
 * so a sequence may be checked once at the end (vt_writer_status, vt_writer_take). */
#ifndef VERITEE_WRITER_H
#define VERITEE_WRITER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/codec.h"
#include "veritee/err.h"

VT_BEGIN_DECLS

typedef struct vt_writer {
    uint8_t *buf;
    size_t len;       /* bytes written so far (the high-water mark) */
    size_t pos;       /* where the next write goes (== len unless seeked back) */
    size_t cap;
    bool fixed;       /* writes into a caller buffer; never grows, never frees */
    vt_err failed;    /* first failure, sticky (VT_OK while healthy) */
    const char *what; /* name of the structure being written, for messages ("SNP report") */
    vt_error *err;    /* where failures are reported (may be NULL) */
} vt_writer;

/* A growable writer: the buffer is heap-allocated and owned by the writer until
 * vt_writer_take() hands it to the caller; vt_writer_free() releases it otherwise. */
void vt_writer_init(vt_writer *w, const char *what, vt_error *err);
/* A fixed writer over buf[0..cap): writing past cap fails with VT_E_INTERNAL (a layout
 * that does not fit its buffer is our bug, not the input's). The caller owns buf. */
void vt_writer_init_fixed(vt_writer *w, uint8_t *buf, size_t cap, const char *what, vt_error *err);
/* Release a growable writer's buffer and reset it to empty; the _secret form wipes it first
 * (OPENSSL_cleanse). Accepts NULL; a fixed writer's buffer is left alone. */
void vt_writer_free(vt_writer *w);
void vt_writer_free_secret(vt_writer *w);
/* Hand the written bytes to the caller (free() them; never NULL on success, even when empty:
 * a growable writer keeps one spare byte, and the result is always NUL-terminated so text
 * writers can use it as a C string). The writer is left empty. Returns the sticky failure
 * instead if any write failed (and then frees the buffer). Fixed writers: VT_E_ARG. */
VT_MUST_USE vt_err vt_writer_take(vt_writer *w, uint8_t **out, size_t *len);

/* The sticky status: VT_OK if every write so far succeeded. */
VT_MUST_USE vt_err vt_writer_status(const vt_writer *w);
size_t vt_writer_len(const vt_writer *w);

vt_err vt_write_u8(vt_writer *w, const char *field, uint8_t v);
vt_err vt_write_u16le(vt_writer *w, const char *field, uint16_t v);
vt_err vt_write_u32le(vt_writer *w, const char *field, uint32_t v);
vt_err vt_write_u64le(vt_writer *w, const char *field, uint64_t v);
vt_err vt_write_u16be(vt_writer *w, const char *field, uint16_t v);
vt_err vt_write_u32be(vt_writer *w, const char *field, uint32_t v);
vt_err vt_write_u64be(vt_writer *w, const char *field, uint64_t v);
/* The low n (1..8) bytes of v, little- or big-endian. */
vt_err vt_write_le(vt_writer *w, const char *field, uint64_t v, size_t n);
vt_err vt_write_be(vt_writer *w, const char *field, uint64_t v, size_t n);
/* n bytes from p (p may be NULL when n is 0). */
vt_err vt_write_bytes(vt_writer *w, const char *field, const void *p, size_t n);
vt_err vt_write_zeros(vt_writer *w, const char *field, size_t n);
vt_err vt_write_fill(vt_writer *w, const char *field, uint8_t byte, size_t n);
/* Text: the bytes of s without its NUL; a printf-formatted string (a fixed writer needs room
 * for the formatter's NUL after it, which is not counted in len). */
vt_err vt_write_str(vt_writer *w, const char *s);
vt_err vt_write_fmt(vt_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
vt_err vt_write_vfmt(vt_writer *w, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Move the write position to `off` (at most the high-water mark: a layout with holes writes
 * zeros first). Later writes overwrite from there; the length stays the high-water mark. */
vt_err vt_writer_seek(vt_writer *w, size_t off);
size_t vt_writer_tell(const vt_writer *w);
/* Overwrite bytes already written at [off, off+n) (a length filled in afterwards). */
vt_err vt_write_patch(vt_writer *w, const char *field, size_t off, const void *p, size_t n);
vt_err vt_write_patch_le(vt_writer *w, const char *field, size_t off, uint64_t v, size_t n);
vt_err vt_write_patch_be(vt_writer *w, const char *field, size_t off, uint64_t v, size_t n);
/* Insert n bytes at off (<= len), moving what follows; the position moves to the end. For
 * headers whose length is known only after the contents (DER). */
vt_err vt_write_insert(vt_writer *w, const char *field, size_t off, const void *p, size_t n);
/* Reserve n bytes (zeroed) and return where they start, for a writer that fills them in
 * place (e.g. a signature); the pointer is valid until the next write. */
vt_err vt_write_reserve(vt_writer *w, const char *field, size_t n, uint8_t **at);

/* Append n bytes to an owned vt_buf (it grows; the result stays NUL-terminated, len excludes
 * the NUL). On failure b is unchanged. */
VT_MUST_USE vt_err vt_buf_append(vt_buf *b, const void *p, size_t n, vt_error *err);

/* Store v as n (1..8) little/big-endian bytes at p: for callers filling a fixed array. */
void vt_put_le(uint8_t *p, uint64_t v, size_t n);
void vt_put_be(uint8_t *p, uint64_t v, size_t n);

VT_END_DECLS

#endif
