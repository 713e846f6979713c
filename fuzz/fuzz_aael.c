/* libFuzzer: AAEL entries, the EV_EVENT_TAG wrapping and the legacy text log replay. */
#include "veritee/tpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_error e;
    vt_aael_entry a;
    uint8_t s[48];
    size_t n;
    vt_bytes b = {data, size};
    (void)vt_aael_entry_parse(data, size, &a, &e);
    (void)vt_aael_event_parse(&b, &a, &e);
    (void)vt_aael_legacy_replay(data, size, s, &n, &e);
    return 0;
}
