/* libFuzzer: CCEL ACPI table and TCG crypto-agile event log replay. */
#include "veritee/tdx_ccel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_error e;
    vt_tdx_ccel_table t;
    (void)vt_tdx_ccel_table_parse(data, size, &t, &e);
    uint8_t rtmr[4][48];
    size_t n;
    (void)vt_tdx_ccel_replay(data, size, rtmr, &n, &e);
    return 0;
}
