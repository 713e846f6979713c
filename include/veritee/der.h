/* A minimal DER (X.690) TLV reader over vt_reader, for certificate extensions whose
 * contents OpenSSL does not model (Intel SGX PCK, AMD VCEK). Definite lengths only. */
#ifndef VERITEE_DER_H
#define VERITEE_DER_H

#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/reader.h"

VT_BEGIN_DECLS

#define VT_DER_INTEGER 0x02
#define VT_DER_OCTET_STRING 0x04
#define VT_DER_OID 0x06
#define VT_DER_ENUMERATED 0x0a
#define VT_DER_BOOLEAN 0x01
#define VT_DER_IA5STRING 0x16
#define VT_DER_SEQUENCE 0x30

/* Read one TLV; *tag is the identifier octet (single-byte tags only), *val its contents. */
VT_MUST_USE vt_err vt_der_read(vt_reader *r, uint8_t *tag, vt_bytes *val);
/* Read a TLV that must carry `tag`. */
VT_MUST_USE vt_err vt_der_expect(vt_reader *r, uint8_t tag, const char *field, vt_bytes *val);
/* Non-negative INTEGER/ENUMERATED contents as uint64 (rejects negative or > 64 bits). */
VT_MUST_USE vt_err vt_der_uint(vt_bytes v, const char *field, uint64_t *out, vt_error *err);
/* Dotted text of an OID's contents into out ("1.2.840.113741.1.13.1.2"). */
VT_MUST_USE vt_err vt_der_oid_text(vt_bytes v, char *out, size_t cap, vt_error *err);

VT_END_DECLS

#endif
