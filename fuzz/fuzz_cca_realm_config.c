/* libFuzzer: the CCA realm configuration (JSON) that drives the RIM computation. */
#include <string.h>

#include "veritee/measure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *cfg = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (cfg == NULL) return 0;
    static const uint8_t kernel[5000] = {1, 2, 3};
    vt_cca_blob b[2] = {{.name = "kernel", .data = kernel, .len = sizeof kernel},
                        {.name = "dtb", .data = kernel, .len = 100}};
    vt_cca_rim st;
    vt_error e;
    (void)vt_cca_rim_from_config(cfg, b, 2, &st, NULL, &e);
    json_decref(cfg);
    return 0;
}
