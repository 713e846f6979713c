/* libFuzzer target: SEV-SNP evidence (ATTESTATION_REPORT, optionally followed by a certificate
 * table) through the parsers and the JSON rendering. Seeds: fuzz/seed-snp_report.sh. */
#include <stddef.h>
#include <stdint.h>

#include "veritee/snp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_error e;
    vt_snp_report r;
    vt_bytes rep, table;
    vt_error_clear(&e);
    (void)vt_snp_report_parse(data, size, &r, &e);
    if (vt_snp_evidence_split(data, size, &rep, &table, &e) != VT_OK) return 0;
    if (vt_snp_report_parse(rep.ptr, rep.len, &r, &e) == VT_OK) {
        vt_snp_product p = r.has_cpuid ? vt_snp_product_from_cpuid(r.cpuid_fam_id, r.cpuid_mod_id)
                                       : VT_SNP_PRODUCT_UNKNOWN;
        json_t *j = vt_snp_report_json(&r, p);
        json_decref(j);
        vt_snp_tcb t;
        vt_snp_tcb_decode(r.reported_tcb, VT_SNP_TURIN, &t);
        if (vt_snp_tcb_encode(&t, VT_SNP_TURIN) != (r.reported_tcb & 0xff000000ffffffffull))
            __builtin_trap();
    }
    vt_snp_certtable ct;
    (void)vt_snp_certtable_parse(table.ptr, table.len, &ct, &e);
    return 0;
}
