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

/* Parse JSON text (bounded depth by jansson; rejects duplicate keys and trailing data). */
vt_err vt_json_parse(const char *text, size_t len, json_t **out, vt_error *err);

/* `path` is only used in messages. Missing keys fail with VT_E_INVALID. */
vt_err vt_json_obj(const json_t *o, const char *key, const char *path, json_t **out, vt_error *err);
vt_err vt_json_arr(const json_t *o, const char *key, const char *path, json_t **out, vt_error *err);
vt_err vt_json_str(const json_t *o, const char *key, const char *path, const char **out,
                   vt_error *err);
vt_err vt_json_int(const json_t *o, const char *key, const char *path, int64_t min, int64_t max,
                   int64_t *out, vt_error *err);
vt_err vt_json_time(const json_t *o, const char *key, const char *path, vt_time *out,
                    vt_error *err);
/* Hex string of exactly n bytes. */
vt_err vt_json_hex(const json_t *o, const char *key, const char *path, uint8_t *out, size_t n,
                   vt_error *err);

/* A JSON string holding the lower-case hex of n bytes (NULL on allocation failure). */
json_t *vt_json_hex_string(const uint8_t *p, size_t n);
/* The same for a vt_time: "YYYY-MM-DDThh:mm:ssZ". */
json_t *vt_json_time_string(vt_time t);

VT_END_DECLS

#endif
