/* libFuzzer target: the NVIDIA GPU attestation report (SPDM 1.1 GET_MEASUREMENTS request +
 * MEASUREMENTS response, opaque-data TLVs) through the parser and the claims rendering; input
 * starting with '{' goes through the evidence-list decoder and the verifier (built-in root pin,
 * fixed instant). Seeds: fuzz/seed-nvidia_report.sh. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "veritee/nvidia.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_error e;
    vt_error_clear(&e);
    if (size > 0 && data[0] == '{') {
        vt_nvidia_verifier *v = NULL;
        if (vt_nvidia_verifier_new(NULL, &v, &e) != VT_OK) return 0;
        vt_nvidia_verify_opts o = {.at = 1717200000};
        vt_checks c = {0};
        json_t *claims = NULL;
        if (vt_nvidia_verify(v, data, size, &o, &claims, &c, &e) == VT_OK && claims == NULL)
            __builtin_trap();
        json_decref(claims);
        vt_nvidia_verifier_free(v);
        return 0;
    }
    vt_nvidia_report *r = malloc(sizeof *r);
    if (r == NULL) return 0;
    if (vt_nvidia_report_parse(data, size, r, &e) == VT_OK) {
        /* the parsed pieces lie inside the input and tile it */
        if (r->signed_part.len + r->signature.len + r->trailing.len != size) __builtin_trap();
        if (r->driver_version[0] == 0 || r->vbios_version[0] == 0) __builtin_trap();
        json_decref(vt_nvidia_config_json(r));
        json_decref(vt_nvidia_measurements_json(r));
    }
    free(r);
    return 0;
}
