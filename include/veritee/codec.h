/* Owned byte buffers and text codecs: hex, base64 (RFC 4648 standard and URL alphabets). */
#ifndef VERITEE_CODEC_H
#define VERITEE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/err.h"

VT_BEGIN_DECLS

/* An owned, heap-allocated byte buffer. Free with vt_buf_free (wipes when asked). */
typedef struct vt_buf {
    uint8_t *ptr;
    size_t len;
} vt_buf;

void vt_buf_free(vt_buf *b);
/* Wipe with OPENSSL_cleanse-equivalent before freeing (for secrets). */
void vt_buf_free_secret(vt_buf *b);
VT_MUST_USE vt_err vt_buf_set(vt_buf *b, const void *p, size_t n, vt_error *err);

/* Lower-case hex of n bytes into out (needs 2n+1 bytes). */
void vt_hex_encode(const uint8_t *p, size_t n, char *out);
/* Allocating form; returns NULL on allocation failure. Caller frees. */
char *vt_hex_dup(const uint8_t *p, size_t n);
/* Decode hex (either case) of exactly 2*n chars into out[n]. */
VT_MUST_USE vt_err vt_hex_decode_fixed(const char *hex, uint8_t *out, size_t n, vt_error *err);
/* Decode hex of any even length into an owned buffer. */
VT_MUST_USE vt_err vt_hex_decode(const char *hex, size_t hexlen, vt_buf *out, vt_error *err);

/* base64: url=true uses the URL alphabet without padding (JOSE); false: standard, padded. */
char *vt_b64_encode(const uint8_t *p, size_t n, bool url);
/* The URL alphabet with '=' padding (what serde's URL_SAFE engine writes: Azure vTPM evidence). */
char *vt_b64url_encode_padded(const uint8_t *p, size_t n);
/* Decodes either alphabet, padding optional; rejects other characters. */
VT_MUST_USE vt_err vt_b64_decode(const char *s, size_t slen, vt_buf *out, vt_error *err);
/* RFC 3986 percent-decoding (Intel PCS sends issuer chains so in HTTP headers) into an owned
 * NUL-terminated string; a '%' not followed by two hex digits is an error (VT_E_INVALID), and
 * so is a decoded NUL byte. */
VT_MUST_USE vt_err vt_percent_decode(const char *s, size_t len, char **out, vt_error *err);

VT_END_DECLS

#endif
