/* libFuzzer target: how the collateral layer names a platform from hostile input. The first byte
 * selects: the platform ids of `veritee collateral --platform` (vt_coll_tdx_want_parse,
 * vt_coll_snp_want_parse), each id that parses written back and parsed again to the same
 * platform; an SNP report as a guest sends it (vt_coll_snp_want_from_report, with and without a
 * product); a TDX quote (vt_coll_tdx_want_from_quote). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/collateral.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    vt_error e;
    switch (data[0] % 4) {
    case 0: {
        char *s = strndup((const char *)p, n);
        vt_coll_tdx_want w, w2;
        if (s != NULL && vt_coll_tdx_want_parse(s, &w, &e) == VT_OK) {
            char id[40];
            vt_coll_tdx_want_id(&w, id);
            if (vt_coll_tdx_want_parse(id, &w2, &e) != VT_OK || memcmp(&w, &w2, sizeof w) != 0) abort();
        }
        free(s);
        break;
    }
    case 1: {
        char *s = strndup((const char *)p, n);
        vt_coll_snp_want w, w2;
        if (s != NULL && vt_coll_snp_want_parse(s, &w, &e) == VT_OK) {
            char id[180];
            vt_coll_snp_want_id(&w, id);
            if (vt_coll_snp_want_parse(id, &w2, &e) != VT_OK) abort();
        }
        free(s);
        break;
    }
    case 2: {
        vt_coll_snp_want w;
        (void)vt_coll_snp_want_from_report(p, n, NULL, &w, &e);
        (void)vt_coll_snp_want_from_report(p, n, "genoa", &w, &e);
        break;
    }
    default: {
        vt_coll_tdx_want w;
        (void)vt_coll_tdx_want_from_quote(p, n, &w, &e);
        break;
    }
    }
    return 0;
}
