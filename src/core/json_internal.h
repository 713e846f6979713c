/* Pieces shared by the core's JSON reader (json_parse.c) and writer (json_dump.c). */
#ifndef VT_CORE_JSON_INTERNAL_H
#define VT_CORE_JSON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The well-formed UTF-8 sequence at p (RFC 3629, as jansson checks it: no overlong forms, no
 * surrogates, nothing above U+10FFFF): its length, its code point in *cp (cp may be NULL);
 * 0 when malformed or cut short by end. */
size_t json_utf8_seq(const uint8_t *p, const uint8_t *end, uint32_t *cp);

/* Per byte of a 64-bit word: 0x80 where some byte is '"', '\\', below 0x20, or 0x80 and up.
 * The existence tests are exact (only the marked position may be off): a word they pass holds
 * none of the bytes a JSON string cannot carry as they are, and the reader and writer move over
 * it whole (tokens and evidence are kilobytes of base64). */
#define JSON_ONES 0x0101010101010101u
#define JSON_HIGH 0x8080808080808080u

static inline bool json_word_plain(uint64_t v)
{
    uint64_t q = v ^ (JSON_ONES * '"'), b = v ^ (JSON_ONES * '\\');
    uint64_t m = ((v - JSON_ONES * 0x20) & ~v) | ((q - JSON_ONES) & ~q) | ((b - JSON_ONES) & ~b) | v;
    return (m & JSON_HIGH) == 0;
}

/* The end of the run of plain string bytes from p: eight at a time while a word holds none that
 * needs attention, then byte by byte while cls (the caller's byte classes) says 0. */
static inline const uint8_t *json_plain_run(const uint8_t *p, const uint8_t *end, const uint8_t cls[256])
{
    while (end - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        if (!json_word_plain(v)) break;
        p += 8;
    }
    while (p < end && cls[*p] == 0) p++;
    return p;
}

#endif
