/* Typed accessors over jansson values from untrusted JSON: each checks presence and type
 * and reports the offending key ("tcbInfo.tcbLevels[2].tcb.pcesvn: expected an integer"). */
#ifndef VERITEE_JSON_H
#define VERITEE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "veritee/api.h"
#include "veritee/err.h"
#include "veritee/vtime.h"

VT_BEGIN_DECLS

/* Parse JSON text (RFC 8259) into a new jansson value the caller json_decref()s. Accepts what
 * jansson's json_loadb(JSON_REJECT_DUPLICATES) accepts: an object or array at the top, nothing
 * but whitespace after it, UTF-8 checked (RFC 3629), no \u0000, no duplicate keys, depth at most
 * 2048; integers that overflow json_int_t and reals that overflow a double are errors. Errors:
 * VT_E_INVALID "JSON error at line L column C: ..." (check "parse"). */
VT_MUST_USE vt_err vt_json_parse(const char *text, size_t len, json_t **out, vt_error *err);

/* The JSON text json_dumps(j, flags) writes, byte for byte, for the compact forms
 * (JSON_COMPACT with any of JSON_SORT_KEYS, JSON_ENSURE_ASCII, JSON_ENCODE_ANY,
 * JSON_PRESERVE_ORDER; other flags are passed to json_dumps), written in runs rather than
 * character by character. The caller free()s the result; NULL when j is NULL, holds a string
 * that is not UTF-8, is not an object or array without JSON_ENCODE_ANY, or on allocation failure. */
char *vt_json_dumps(const json_t *j, size_t flags);

/* `path` is only used in messages. Missing keys fail with VT_E_INVALID. */
VT_MUST_USE vt_err vt_json_obj(const json_t *o, const char *key, const char *path, json_t **out, vt_error *err);
VT_MUST_USE vt_err vt_json_arr(const json_t *o, const char *key, const char *path, json_t **out, vt_error *err);
VT_MUST_USE vt_err vt_json_str(const json_t *o, const char *key, const char *path, const char **out,
                   vt_error *err);
VT_MUST_USE vt_err vt_json_int(const json_t *o, const char *key, const char *path, int64_t min, int64_t max,
                   int64_t *out, vt_error *err);
VT_MUST_USE vt_err vt_json_time(const json_t *o, const char *key, const char *path, vt_time *out,
                    vt_error *err);
/* Hex string of exactly n bytes. */
VT_MUST_USE vt_err vt_json_hex(const json_t *o, const char *key, const char *path, uint8_t *out, size_t n,
                   vt_error *err);

/* ---- Members of an object from untrusted JSON: one family, one meaning everywhere ----
 *
 * A vt_json_in names an object and its JSON path ("vm.snp"; "" at the document root) and
 * carries the check name and error record failures go to. Every getter takes a `need`:
 *   VT_JSON_REQUIRED  absent -> VT_E_INVALID "<path>.<key>: missing".
 *   VT_JSON_OPTIONAL  absent -> VT_OK with *out untouched (the caller's default stays) and
 *                     *given = false. A JSON null is a value of the wrong type.
 *   VT_JSON_NULLABLE  like OPTIONAL, and a JSON null counts as absent.
 * A member that is present with the wrong type, outside its range or malformed is always
 * VT_E_INVALID naming the path ("vm.cpus: expected an integer 1..1024"), never a default.
 * `given` may be NULL everywhere.
 *
 * Unsigned integers (vt_json_get_u64) are a JSON integer >= 0, or a string holding "0x"
 * and 1..16 hex digits, or 1..20 decimal digits. A decimal string is always decimal:
 * "010" is ten (there is no octal form; no sign, no spaces, no other prefix). */
typedef enum vt_json_need {
    VT_JSON_OPTIONAL = 0,
    VT_JSON_REQUIRED = 1,
    VT_JSON_NULLABLE = 2,
} vt_json_need;

#define VT_JSON_PATH_MAX 192

typedef struct vt_json_in {
    const json_t *obj;
    char path[VT_JSON_PATH_MAX]; /* JSON path of obj, for messages; "" at the root */
    const char *check;           /* check name on failures ("vm_config"); "parse" if NULL */
    vt_error *err;
} vt_json_in;

/* Start reading obj at `path` (NULL or "" for the document root). Fails unless obj is an
 * object ("<path>: expected an object"). */
VT_MUST_USE vt_err vt_json_in_init(vt_json_in *in, const json_t *obj, const char *path, const char *check,
                       vt_error *err);
/* A member object as a new vt_json_in with path "<path>.<key>". On OPTIONAL absence child->obj
 * is NULL (and *given false). */
VT_MUST_USE vt_err vt_json_get_obj(const vt_json_in *in, const char *key, vt_json_need need, vt_json_in *child,
                       bool *given);
/* Element i of an array (as got from vt_json_get_arr) as an object, path "<path>.<key>[i]". */
VT_MUST_USE vt_err vt_json_elem_obj(const vt_json_in *in, const char *key, const json_t *arr, size_t i,
                        vt_json_in *child);
/* A member array of min..max elements (borrowed). */
VT_MUST_USE vt_err vt_json_get_arr(const vt_json_in *in, const char *key, vt_json_need need, size_t min,
                       size_t max, const json_t **out, bool *given);
/* A member string (borrowed from the document). */
VT_MUST_USE vt_err vt_json_get_str(const vt_json_in *in, const char *key, vt_json_need need, const char **out,
                       bool *given);
/* A member string copied into out[cap] (with its NUL): at most cap-1 bytes, no NUL or
 * control characters. */
VT_MUST_USE vt_err vt_json_get_text(const vt_json_in *in, const char *key, vt_json_need need, char *out,
                        size_t cap, bool *given);
VT_MUST_USE vt_err vt_json_get_bool(const vt_json_in *in, const char *key, vt_json_need need, bool *out,
                        bool *given);
/* A JSON integer in [min, max] (strings are not integers here). */
VT_MUST_USE vt_err vt_json_get_int(const vt_json_in *in, const char *key, vt_json_need need, int64_t min,
                       int64_t max, int64_t *out, bool *given);
/* An unsigned integer in the forms above, at most max. */
VT_MUST_USE vt_err vt_json_get_u64(const vt_json_in *in, const char *key, vt_json_need need, uint64_t max,
                       uint64_t *out, bool *given);
/* A hex string (either case) of exactly n bytes. */
VT_MUST_USE vt_err vt_json_get_hex(const vt_json_in *in, const char *key, vt_json_need need, uint8_t *out,
                       size_t n, bool *given);
/* A hex string of min..max bytes into out[max]; *len gets the count. */
VT_MUST_USE vt_err vt_json_get_hexn(const vt_json_in *in, const char *key, vt_json_need need, uint8_t *out,
                        size_t min, size_t max, size_t *len, bool *given);
/* A standard base64 string decoding to exactly n bytes. */
VT_MUST_USE vt_err vt_json_get_b64(const vt_json_in *in, const char *key, vt_json_need need, uint8_t *out,
                       size_t n, bool *given);
/* Refuse members outside `allowed` (NULL-terminated): "<path>.<key>: unknown key". A typo
 * must not silently drop an option. */
VT_MUST_USE vt_err vt_json_keys(const vt_json_in *in, const char *const *allowed);
/* Fail with "<path>.<key>: <message>" (key may be NULL for the object itself). */
VT_MUST_USE vt_err vt_json_fail(const vt_json_in *in, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "<path>.<key>" (just key at the root) into out[cap]. */
const char *vt_json_path(char *out, size_t cap, const char *path, const char *key);
/* The unsigned-integer forms of vt_json_get_u64 for a value that is not an object member
 * (an array element); `path` names it in messages. */
VT_MUST_USE vt_err vt_json_u64_value(const json_t *v, const char *path, uint64_t max, uint64_t *out,
                         const char *check, vt_error *err);
/* The hex forms of vt_json_get_hexn for a value that is not an object member. */
VT_MUST_USE vt_err vt_json_hex_value(const json_t *v, const char *path, uint8_t *out, size_t min, size_t max,
                         size_t *len, const char *check, vt_error *err);
/* The string forms alone ("0x1f", "31"): VT_E_INVALID without a message on anything else. */
VT_MUST_USE vt_err vt_json_u64_text(const char *s, uint64_t max, uint64_t *out);

/* A JSON string holding the lower-case hex of n bytes (NULL on allocation failure). */
json_t *vt_json_hex_string(const uint8_t *p, size_t n);
/* The same for a vt_time: "YYYY-MM-DDThh:mm:ssZ". */
json_t *vt_json_time_string(vt_time t);

VT_END_DECLS

#endif
