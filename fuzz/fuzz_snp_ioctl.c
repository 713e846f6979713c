/* libFuzzer target: what /dev/sev-guest hands back — the firmware MSG_REPORT_RSP and the
 * extended request's certificate buffer (trimmed like the configfs auxblob; src/evidence/ioctl.c).
 * Seeds: fuzz/corpus/snp_ioctl/ (first byte selects the reader). */
#include <stddef.h>
#include <stdint.h>

#include "veritee/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    vt_error e;
    vt_buf out = {0};
    vt_error_clear(&e);
    vt_err rc = (data[0] & 1) ? vt_snp_certs_trim(data + 1, size - 1, &out, &e)
                              : vt_snp_report_resp_parse(data + 1, size - 1, &out, &e);
    if (rc == VT_OK && out.len > size) __builtin_trap();
    if (rc == VT_OK && !(data[0] & 1) && out.len != 1184) __builtin_trap();
    vt_buf_free(&out);
    return 0;
}
