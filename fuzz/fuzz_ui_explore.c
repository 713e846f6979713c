/* libFuzzer target: the console's POST /api/v1/explore request (src/ui/request.c) and the
 * analysis glue behind it (src/ui/explore.c). The first byte selects: 0, the request body as the
 * server receives it; 1, the bytes as evidence given straight to the analysis (every TEE's
 * decoder, the chain and TCB views) with a policy. */
#include <stdint.h>
#include <stdlib.h>

#include "veritee/ui.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    vt_verify_sources s = {0};
    vt_error e;
    json_t *out = NULL;
    if (data[0] % 2 == 0) {
        int st;
        vt_ui_explore(&s, data + 1, size - 1, 1752919234, &st, &out, &e);
    } else {
        vt_ui_explore_in in = {.at = 1752919234, .policy_text = "{\"id\":\"fuzz\"}"};
        (void)vt_ui_analyze(&s, &in, data + 1, size - 1, &out, &e);
    }
    json_decref(out);
    return 0;
}
