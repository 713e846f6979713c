/* libFuzzer: the guest's cc_eventlog assembly (vt_cc_eventlog_build): a firmware TCG2 log (first
 * part) and the attestation agent's log (second part, its header dropped) from hostile files. */
#include <stdlib.h>

#include "veritee/vtpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    size_t split = ((size_t)data[0] << 8 | data[1]) % (size - 1);
    const uint8_t *p = data + 2;
    size_t n = size - 2;
    if (split > n) split = n;
    vt_buf out = {0};
    vt_error e;
    (void)vt_cc_eventlog_build(p, split, p + split, n - split, &out, &e);
    vt_buf_free(&out);
    return 0;
}
