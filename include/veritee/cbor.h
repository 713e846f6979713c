/* A bounded, allocation-light CBOR reader (RFC 8949) over vt_reader, and a small encoder.
 * Hostile input: every length is checked against what remains, nesting is limited, maps
 * with duplicate keys and indefinite lengths are refused unless the caller allows them. */
#ifndef VERITEE_CBOR_H
#define VERITEE_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/codec.h"
#include "veritee/err.h"
#include "veritee/reader.h"
#include "veritee/writer.h"

VT_BEGIN_DECLS

/* Major types (RFC 8949 section 3.1). */
typedef enum vt_cbor_major {
    VT_CBOR_UINT = 0,
    VT_CBOR_NINT = 1,
    VT_CBOR_BSTR = 2,
    VT_CBOR_TSTR = 3,
    VT_CBOR_ARRAY = 4,
    VT_CBOR_MAP = 5,
    VT_CBOR_TAG = 6,
    VT_CBOR_SIMPLE = 7, /* simple values and floats */
} vt_cbor_major;

#define VT_CBOR_DEPTH_DEFAULT 16u
#define VT_CBOR_DEPTH_MAX 64u
/* Count reported for an indefinite-length array or map (iterate with vt_cbor_more). */
#define VT_CBOR_INDEFINITE SIZE_MAX

/* Decoding policy. Zero-initialised options are the strict default: definite lengths
 * only, duplicate map keys rejected, nesting at most VT_CBOR_DEPTH_DEFAULT. */
typedef struct vt_cbor_opts {
    bool allow_indefinite; /* accept indefinite-length strings, arrays and maps */
    bool allow_dup_keys;   /* accept maps whose keys repeat (RFC 8949 5.6: not valid) */
    unsigned max_depth;    /* nesting limit for arrays, maps and tags; 0 = default */
} vt_cbor_opts;

/* A decoding cursor. Copying the struct makes an independent cursor (look-ahead). */
typedef struct vt_cbor {
    vt_reader r;
    vt_cbor_opts opts;
} vt_cbor;

/* The initial byte and argument of one data item. */
typedef struct vt_cbor_head {
    vt_cbor_major major;
    uint8_t ai;      /* additional information, 0..31 */
    uint64_t arg;    /* value, length, count, tag number or simple value */
    bool indefinite; /* ai == 31 on a string, array or map */
    size_t off;      /* offset of the initial byte */
} vt_cbor_head;

/* Start decoding buf[len]. opts may be NULL (strict defaults). `what` names the document in
 * messages ("realm token claims"); errors go to err (may be NULL). Borrows buf. */
void vt_cbor_init(vt_cbor *c, const uint8_t *buf, size_t len, const vt_cbor_opts *opts,
                  const char *what, vt_error *err);
size_t vt_cbor_remaining(const vt_cbor *c);
size_t vt_cbor_offset(const vt_cbor *c);

/* Decode the next head without consuming it (fails at end of input or on a malformed head). */
VT_MUST_USE vt_err vt_cbor_peek(const vt_cbor *c, vt_cbor_head *h);
/* Consume one head (not the content of a string). A break (0xff) is returned as
 * major VT_CBOR_SIMPLE with ai 31; reserved additional information 28..30 is refused. */
VT_MUST_USE vt_err vt_cbor_read_head(vt_cbor *c, const char *field, vt_cbor_head *h);

/* Skip one complete data item, checking it is well-formed and valid under the options
 * (depth, indefinite lengths, duplicate keys, UTF-8 of text strings). raw (may be NULL)
 * receives a view of the item's whole encoding. */
VT_MUST_USE vt_err vt_cbor_skip(vt_cbor *c, const char *field, vt_bytes *raw);

/* Typed reads. Each fails with VT_E_INVALID naming `field` on a type mismatch. */
VT_MUST_USE vt_err vt_cbor_read_uint(vt_cbor *c, const char *field, uint64_t *out);
/* Major 0 or 1 within the int64 range. */
VT_MUST_USE vt_err vt_cbor_read_int(vt_cbor *c, const char *field, int64_t *out);
/* Definite-length byte string: a view into the input. An indefinite-length (chunked)
 * string is refused (VT_E_UNSUPPORTED when the options allow it, VT_E_INVALID otherwise). */
VT_MUST_USE vt_err vt_cbor_read_bstr(vt_cbor *c, const char *field, vt_bytes *out);
/* Definite-length text string, checked to be UTF-8: a view (not NUL-terminated). */
VT_MUST_USE vt_err vt_cbor_read_tstr(vt_cbor *c, const char *field, vt_bytes *out);
VT_MUST_USE vt_err vt_cbor_read_bool(vt_cbor *c, const char *field, bool *out);
/* Array or map head: *n is the count (pairs for a map) or VT_CBOR_INDEFINITE. A map is first
 * checked for duplicate keys (unless allowed), so its entries can be read in one pass. */
VT_MUST_USE vt_err vt_cbor_read_array(vt_cbor *c, const char *field, size_t *n);
VT_MUST_USE vt_err vt_cbor_read_map(vt_cbor *c, const char *field, size_t *n);
VT_MUST_USE vt_err vt_cbor_read_tag(vt_cbor *c, const char *field, uint64_t *tag);
/* Loop condition for a container of count n at index i: for a definite count, i < n; for an
 * indefinite one, false after consuming the break. Never reads past the input. */
bool vt_cbor_more(vt_cbor *c, size_t n, size_t i);
/* Fail unless the whole input has been consumed (no trailing bytes). */
VT_MUST_USE vt_err vt_cbor_expect_end(const vt_cbor *c);

/* Check that buf[len] is exactly one valid data item under opts. */
VT_MUST_USE vt_err vt_cbor_validate(const uint8_t *buf, size_t len, const vt_cbor_opts *opts,
                        const char *what, vt_error *err);

/* Semantic equality of two encoded items as map keys: integers and definite strings by
 * value (so 0x01 equals 0x1801), anything else by encoding. */
bool vt_cbor_key_equal(vt_bytes a, vt_bytes b);

/* ---- encoder ---- */

/* Encode a head with the shortest argument form into out (9 bytes suffice); returns size. */
size_t vt_cbor_encode_head(uint8_t out[9], vt_cbor_major major, uint64_t arg);

/* A CBOR encoder over the core writer (growable). Errors are sticky: check once with
 * vt_cbor_writer_finish. */
typedef struct vt_cbor_writer {
    vt_writer out;
} vt_cbor_writer;

void vt_cbor_writer_init(vt_cbor_writer *w);
void vt_cbor_put_head(vt_cbor_writer *w, vt_cbor_major major, uint64_t arg);
void vt_cbor_put_uint(vt_cbor_writer *w, uint64_t v);
void vt_cbor_put_int(vt_cbor_writer *w, int64_t v);
void vt_cbor_put_bstr(vt_cbor_writer *w, const void *p, size_t n);
void vt_cbor_put_tstr(vt_cbor_writer *w, const char *s);
void vt_cbor_put_tstrn(vt_cbor_writer *w, const char *s, size_t n);
void vt_cbor_put_array(vt_cbor_writer *w, size_t n);
void vt_cbor_put_map(vt_cbor_writer *w, size_t n);
void vt_cbor_put_tag(vt_cbor_writer *w, uint64_t tag);
void vt_cbor_put_bool(vt_cbor_writer *w, bool v);
void vt_cbor_put_null(vt_cbor_writer *w);
/* Append already-encoded bytes. */
void vt_cbor_put_raw(vt_cbor_writer *w, const void *p, size_t n);
/* Hand the bytes to out (caller frees with vt_buf_free); VT_E_NOMEM when a put failed.
 * The writer is reset either way. */
VT_MUST_USE vt_err vt_cbor_writer_finish(vt_cbor_writer *w, vt_buf *out, vt_error *err);
void vt_cbor_writer_free(vt_cbor_writer *w);

VT_END_DECLS

#endif
