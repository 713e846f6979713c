/* Pieces shared by the core's JSON reader (json_parse.c) and writer (json_dump.c). */
#ifndef VT_CORE_JSON_INTERNAL_H
#define VT_CORE_JSON_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* The well-formed UTF-8 sequence at p (RFC 3629, as jansson checks it: no overlong forms, no
 * surrogates, nothing above U+10FFFF): its length, its code point in *cp (cp may be NULL);
 * 0 when malformed or cut short by end. */
size_t json_utf8_seq(const uint8_t *p, const uint8_t *end, uint32_t *cp);

#endif
