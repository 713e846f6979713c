/* libFuzzer target: the AMD KDS request plan of an SEV-SNP report (hwID, SPLs, product, cache
 * paths) for every product choice; the plan's invariants are checked. Seeds: seed-snp_kds.sh. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "veritee/snp_kds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_error e;
    vt_snp_report r;
    vt_bytes rep, table;
    vt_error_clear(&e);
    if (vt_snp_evidence_split(data, size, &rep, &table, &e) != VT_OK) return 0;
    if (vt_snp_report_parse(rep.ptr, rep.len, &r, &e) != VT_OK) return 0;
    static const vt_snp_product all[] = {VT_SNP_PRODUCT_UNKNOWN, VT_SNP_MILAN, VT_SNP_GENOA, VT_SNP_TURIN};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        vt_snp_kds_plan p;
        if (vt_snp_kds_plan_for(&r, all[i], "/cache", &p, &e) != VT_OK) continue;
        if (strncmp(p.chain_dir, "/cache/", 7) != 0) __builtin_trap();
        if (p.leaf_dir[0] == '\0') {
            if (!p.vlek && !p.chip_masked) __builtin_trap();
            continue;
        }
        /* /vcek/v1/<Product>/<hwid>?..., hwid 128 hex digits (Turin: 16) */
        size_t pre = strlen("/vcek/v1/") + strlen(vt_snp_product_name(p.product)) + 1;
        const char *q = strchr(p.vcek_query, '?');
        size_t want = p.product == VT_SNP_TURIN ? 16 : 128;
        if (q == NULL || (size_t)(q - p.vcek_query) != pre + want) __builtin_trap();
        if (strncmp(p.leaf_dir, p.chain_dir, strlen(p.chain_dir)) != 0) __builtin_trap();
    }
    return 0;
}
