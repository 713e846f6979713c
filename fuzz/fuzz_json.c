/* libFuzzer target: the JSON parser every untrusted body goes through (vt_json_parse,
 * src/core/json_parse.c), differential against jansson's own json_loadb with the same rules:
 * both accept or both refuse, and an accepted text yields equal values. One difference is
 * deliberate: jansson skips a NUL byte that directly follows a number ("[2\0]" is [2] to it);
 * we refuse it, so a text holding a NUL may be refused by us alone. Every accepted value is
 * also written back with vt_json_dumps and json_dumps, which must agree byte for byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *ours = NULL;
    vt_error e;
    vt_err rc = vt_json_parse((const char *)data, size, &ours, &e);
    json_error_t je;
    json_t *ref = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    if (rc == VT_OK && ref == NULL) abort();
    if (rc != VT_OK && ref != NULL && memchr(data, 0, size) == NULL) abort();
    if (rc == VT_OK && !json_equal(ours, ref)) abort();
    /* vt_json_dumps writes what json_dumps writes (src/core/json_dump.c). */
    static const size_t FLAGS[] = {JSON_COMPACT, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII};
    for (size_t i = 0; rc == VT_OK && i < sizeof FLAGS / sizeof FLAGS[0]; i++) {
        char *a = vt_json_dumps(ours, FLAGS[i]), *b = json_dumps(ours, FLAGS[i]);
        if ((a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0)) abort();
        free(a);
        free(b);
    }
    json_decref(ours);
    json_decref(ref);
    return 0;
}
