/* veritee measure: output and input helpers shared by the snp, tdx and cca subcommands
 * (measure_cli.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "measure_cli.h"
#include "veritee/crypto.h"
#include "veritee/fileio.h"
#include "veritee/json.h"

json_t *measure_value(const char *tee, const char *name, const char *alg, const uint8_t *v,
                      size_t n, json_t *inputs, const char *method)
{
    char hex[2 * 64 + 1];
    vt_hex_encode(v, n, hex);
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:{s:s, s:s}}", "tee", tee, "name", name, "alg",
                     alg, "value", hex, "inputs", inputs ? inputs : json_object(), "provenance",
                     "tool", "veritee 0.1.0", "method", method);
}

int measure_print(json_t *values, bool hex)
{
    if (values == NULL) {
        fprintf(stderr, "veritee measure: out of memory\n");
        return VT_EXIT_USAGE;
    }
    if (hex) {
        size_t i;
        json_t *v;
        json_array_foreach(values, i, v) printf("%s\n", json_string_value(json_object_get(v, "value")));
    } else {
        json_t *out = json_array_size(values) == 1 ? json_array_get(values, 0) : values;
        char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s != NULL) printf("%s\n", s);
        free(s);
    }
    json_decref(values);
    return VT_EXIT_OK;
}

bool measure_read(const char *what, const char *path, vt_buf *out)
{
    vt_error e;
    vt_error_clear(&e);
    if (vt_file_read(path, MEASURE_FILE_MAX, out, &e) == VT_OK) return true;
    fprintf(stderr, "veritee measure: %s %s: %s\n", what, path, e.msg);
    return false;
}

json_t *measure_sha256_hex(const uint8_t *p, size_t n)
{
    uint8_t h[32];
    char hex[65];
    if (vt_hash(VT_SHA256, p, n, h, NULL) != VT_OK) return json_null();
    vt_hex_encode(h, 32, hex);
    return json_string(hex);
}

bool measure_parse_u64(const char *what, const char *s, uint64_t max, uint64_t *out)
{
    /* the core's number forms: decimal or "0x" hex; "010" is ten (no octal) */
    if (vt_json_u64_text(s, max, out) != VT_OK) {
        fprintf(stderr, "veritee measure: %s '%s': expected an integer up to %llu (decimal or 0x hex)\n", what,
                s ? s : "", (unsigned long long)max);
        return false;
    }
    return true;
}

int measure_fail(const char *tee, const vt_error *e)
{
    fprintf(stderr, "veritee measure %s: %s%s%s\n", tee, e->check, e->check[0] ? ": " : "", e->msg);
    return cli_exit_for(e->code);
}
