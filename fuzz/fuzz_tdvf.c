/* libFuzzer target: TDVF metadata parser (src/measure/tdx.c) and the MRTD computation over
 * whatever it accepts when the number of pages stays small. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/measure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_tdvf t;
    vt_error e;
    /* The tables live at the end of the image: right-align the input in whole pages. */
    size_t len = (size + VT_MEASURE_PAGE - 1) / VT_MEASURE_PAGE * VT_MEASURE_PAGE;
    if (len == 0 || len > (1u << 20)) return 0;
    uint8_t *img = calloc(1, len);
    if (img == NULL) return 0;
    memcpy(img + (len - size), data, size);
    data = img;
    if (vt_tdvf_parse(data, len, &t, &e) != VT_OK) goto out;
    uint64_t pages = 0;
    for (size_t i = 0; i < t.n_sections; i++) pages += t.sections[i].mem_size / VT_MEASURE_PAGE;
    if (pages > 4096) goto out;
    uint8_t digest[48];
    (void)vt_measure_tdx_mrtd(data, len, &t, VT_TDX_ORDER_SINGLE, digest, &e);
    (void)vt_measure_tdx_mrtd(data, len, &t, VT_TDX_ORDER_TWO_PASS, digest, &e);
out:
    free(img);
    return 0;
}
