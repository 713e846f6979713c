/* libFuzzer target: OVMF footer table + SEV metadata parser (src/measure/ovmf.c), and the
 * SEV / SNP digests over whatever it accepts when the work stays small. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/measure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_ovmf o;
    vt_error e;
    /* The tables live at the end of the image: right-align the input in whole pages so
     * every input reaches the table walk. */
    size_t len = (size + VT_MEASURE_PAGE - 1) / VT_MEASURE_PAGE * VT_MEASURE_PAGE;
    if (len == 0 || len > (1u << 20)) return 0;
    uint8_t *img = calloc(1, len);
    if (img == NULL) return 0;
    memcpy(img + (len - size), data, size);
    data = img;
    if (vt_ovmf_parse(data, len, &o, &e) != VT_OK) goto out;
    uint64_t pages = 0;
    for (size_t i = 0; i < o.n_sections; i++) pages += o.sections[i].size / VT_MEASURE_PAGE + 1;
    vt_sev_hashes h;
    memset(&h, 0, sizeof h);
    vt_snp_launch p = {.firmware = data, .firmware_len = len, .vcpus = 2, .vcpu_sig = 0x00A00F11,
                       .guest_features = 1, .hashes = (size & 1) ? &h : NULL};
    uint8_t digest[48];
    (void)vt_measure_sev(&p, digest, &e);
    if (pages < 1024) {
        (void)vt_measure_snp(&p, digest, &e);
        p.vmm = VT_SNP_VMM_EC2;
        (void)vt_measure_snp(&p, digest, &e);
    }
out:
    free(img);
    return 0;
}
