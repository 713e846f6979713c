/* SEV-SNP launch digest (PAGE_INFO chain, SNP ABI spec §8.17 Table 67) over the QEMU/EC2/GCE
 * launch sequence, and the SEV / SEV-ES launch digests (specs/measurements.md §1). */
#include <string.h>

#include "mhash.h"
#include "veritee/measure.h"

enum { PT_NORMAL = 1, PT_VMSA = 2, PT_ZERO = 3, PT_UNMEASURED = 4, PT_SECRETS = 5, PT_CPUID = 6 };

#define VMSA_GPA 0x0000FFFFFFFFF000ull /* (u64)-1, page aligned, bits above 51 clear */
#define BSP_EIP 0xFFFFFFF0u

/* LD <- SHA-384(PAGE_INFO{LD, CONTENTS, 0x70, type, 0, 0, 0, 0, 0, GPA}). */
static vt_err ld_update(uint8_t ld[48], uint8_t type, uint64_t gpa, const uint8_t contents[48],
                        vt_error *err)
{
    uint8_t pi[0x70] = {0};
    memcpy(pi, ld, 48);
    if (contents != NULL) memcpy(pi + 0x30, contents, 48);
    vt_put_u16le(pi + 0x60, 0x70);
    pi[0x62] = type;
    vt_put_u64le(pi + 0x68, gpa);
    return vt_hash(VT_SHA384, pi, sizeof pi, ld, err);
}

static vt_err ld_normal_page(uint8_t ld[48], uint64_t gpa, const uint8_t *page, vt_error *err)
{
    uint8_t h[48];
    VT_GUARD(vt_hash(VT_SHA384, page, VT_MEASURE_PAGE, h, err));
    return ld_update(ld, PT_NORMAL, gpa, h, err);
}

static vt_err ld_pages(uint8_t ld[48], uint8_t type, uint64_t gpa, uint64_t size, vt_error *err)
{
    if (size % VT_MEASURE_PAGE != 0)
        return vt_error_set(err, VT_E_INVALID, "sev_metadata",
                            "SEV metadata section at GPA 0x%llx has size 0x%llx, not a multiple "
                            "of 4 KiB",
                            (unsigned long long)gpa, (unsigned long long)size);
    for (uint64_t off = 0; off < size; off += VT_MEASURE_PAGE)
        VT_GUARD(ld_update(ld, type, gpa + off, NULL, err));
    return VT_OK;
}

vt_err vt_measure_snp_ovmf_hash(const uint8_t *firmware, size_t len, uint8_t out[48],
                                vt_error *err)
{
    if (firmware == NULL || len == 0 || len % VT_MEASURE_PAGE != 0 || (uint64_t)len > (1ull << 32))
        return vt_error_set(err, VT_E_INVALID, "ovmf_size",
                            "firmware image of %zu bytes: must be a non-zero multiple of 4096",
                            len);
    uint64_t gpa = (1ull << 32) - (uint64_t)len;
    memset(out, 0, 48);
    vt_reader r;
    vt_reader_init(&r, firmware, len, "OVMF image", err);
    for (uint64_t off = 0; off < len; off += VT_MEASURE_PAGE) {
        vt_bytes page;
        VT_GUARD(vt_read_view(&r, "firmware page", VT_MEASURE_PAGE, &page));
        VT_GUARD(ld_normal_page(out, gpa + off, page.ptr, err));
    }
    return VT_OK;
}

static vt_err kernel_hashes_page(uint8_t ld[48], const vt_ovmf *o, const vt_ovmf_section *s,
                                 const vt_sev_hashes *h, vt_error *err)
{
    if (h == NULL) return ld_pages(ld, PT_ZERO, s->gpa, s->size, err);
    if (s->size != VT_MEASURE_PAGE)
        return vt_error_set(err, VT_E_INVALID, "sev_metadata",
                            "SNP_KERNEL_HASHES section is 0x%x bytes; QEMU fills exactly one page",
                            s->size);
    if (!o->has_hash_table)
        return vt_error_set(err, VT_E_INVALID, "kernel_hashes",
                            "firmware has a SNP_KERNEL_HASHES section but no hash-table GUID entry");
    uint32_t off = o->hash_table_gpa & 0xFFFu;
    if (off + VT_SEV_HASH_TABLE_PADDED > VT_MEASURE_PAGE)
        return vt_error_set(err, VT_E_INVALID, "kernel_hashes",
                            "hash table at page offset 0x%x does not fit its page", off);
    uint8_t page[VT_MEASURE_PAGE] = {0};
    vt_sev_hashes_table(h, page + off);
    return ld_normal_page(ld, s->gpa, page, err);
}

static vt_err metadata_pages(uint8_t ld[48], const vt_ovmf *o, const vt_snp_launch *p,
                             vt_error *err)
{
    for (size_t i = 0; i < o->n_sections; i++) {
        const vt_ovmf_section *s = &o->sections[i];
        switch (s->type) {
        case VT_OVMF_SNP_SEC_MEM:
            VT_GUARD(ld_pages(ld, p->vmm == VT_SNP_VMM_GCE ? PT_UNMEASURED : PT_ZERO, s->gpa,
                              s->size, err));
            break;
        case VT_OVMF_SNP_SECRETS: VT_GUARD(ld_update(ld, PT_SECRETS, s->gpa, NULL, err)); break;
        case VT_OVMF_CPUID:
            if (p->vmm != VT_SNP_VMM_EC2) VT_GUARD(ld_update(ld, PT_CPUID, s->gpa, NULL, err));
            break;
        case VT_OVMF_SVSM_CAA: VT_GUARD(ld_pages(ld, PT_ZERO, s->gpa, s->size, err)); break;
        case VT_OVMF_SNP_KERNEL_HASHES: VT_GUARD(kernel_hashes_page(ld, o, s, p->hashes, err)); break;
        default:
            return vt_error_set(err, VT_E_UNSUPPORTED, "sev_metadata",
                                "SEV metadata section %zu has unknown type 0x%x", i, s->type);
        }
    }
    if (p->vmm == VT_SNP_VMM_EC2) /* EC2 adds the CPUID pages after every other section */
        for (size_t i = 0; i < o->n_sections; i++)
            if (o->sections[i].type == VT_OVMF_CPUID)
                VT_GUARD(ld_update(ld, PT_CPUID, o->sections[i].gpa, NULL, err));
    return VT_OK;
}

static bool has_section(const vt_ovmf *o, uint32_t type)
{
    for (size_t i = 0; i < o->n_sections; i++)
        if (o->sections[i].type == type) return true;
    return false;
}

static vt_err check_vcpus(const vt_ovmf *o, const vt_snp_launch *p, vt_error *err)
{
    if (p->vcpus == 0 || p->vcpus > 4096)
        return vt_error_set(err, VT_E_ARG, "vcpus", "vCPU count %u outside 1..4096", p->vcpus);
    if (p->vcpus > 1 && (!o->has_reset_eip || o->reset_eip == 0))
        return vt_error_set(err, VT_E_INVALID, "reset_block",
                            "firmware has no SEV-ES reset block: application processors cannot "
                            "start (vCPUs = %u)",
                            p->vcpus);
    return VT_OK;
}

vt_err vt_measure_snp(const vt_snp_launch *p, uint8_t out[48], vt_error *err)
{
    vt_ovmf o;
    VT_GUARD(vt_ovmf_parse(p->firmware, p->firmware_len, &o, err));
    VT_GUARD(check_vcpus(&o, p, err));
    if (p->hashes != NULL && !has_section(&o, VT_OVMF_SNP_KERNEL_HASHES))
        return vt_error_set(err, VT_E_INVALID, "kernel_hashes",
                            "a kernel was given but the firmware's SEV metadata has no "
                            "SNP_KERNEL_HASHES section (build OVMF from OvmfPkg/AmdSev)");
    if (p->vmm > VT_SNP_VMM_GCE) return vt_error_set(err, VT_E_ARG, "vmm", "unknown VMM type");
    uint8_t ld[48];
    if (p->ovmf_hash != NULL)
        memcpy(ld, p->ovmf_hash, 48);
    else
        VT_GUARD(vt_measure_snp_ovmf_hash(p->firmware, p->firmware_len, ld, err));
    VT_GUARD(metadata_pages(ld, &o, p, err));
    uint8_t page[VT_MEASURE_PAGE], h[48];
    for (uint32_t i = 0; i < p->vcpus; i++) {
        vt_snp_vmsa_page(i == 0 ? BSP_EIP : o.reset_eip, p->guest_features, p->vcpu_sig, p->vmm,
                         page);
        VT_GUARD(vt_hash(VT_SHA384, page, sizeof page, h, err));
        VT_GUARD(ld_update(ld, PT_VMSA, VMSA_GPA, h, err));
    }
    memcpy(out, ld, 48);
    return VT_OK;
}

/* SEV / SEV-ES: GCTX.LD = SHA-256(firmware || padded hash table || VMSAs). */
static vt_err sev_digest(const vt_snp_launch *p, bool es, uint8_t out[32], vt_error *err)
{
    vt_ovmf o;
    vt_err rc;
    VT_GUARD(vt_ovmf_parse(p->firmware, p->firmware_len, &o, err));
    if (es) VT_GUARD(check_vcpus(&o, p, err));
    if (p->hashes != NULL && (!o.has_hash_table || o.hash_table_gpa == 0))
        return vt_error_set(err, VT_E_INVALID, "kernel_hashes",
                            "a kernel was given but the firmware has no kernel hash table "
                            "(GUID 7255371f-... absent or zero)");
    vt_mhash h;
    VT_GUARD(vt_mhash_init(&h, VT_SHA256, err));
    VT_GUARD_GOTO(vt_mhash_update(&h, p->firmware, p->firmware_len, err));
    if (p->hashes != NULL) {
        uint8_t table[VT_SEV_HASH_TABLE_PADDED];
        vt_sev_hashes_table(p->hashes, table);
        VT_GUARD_GOTO(vt_mhash_update(&h, table, sizeof table, err));
    }
    for (uint32_t i = 0; es && i < p->vcpus; i++) {
        uint8_t page[VT_MEASURE_PAGE];
        vt_snp_vmsa_page(i == 0 ? BSP_EIP : o.reset_eip, 0, p->vcpu_sig, p->vmm, page);
        VT_GUARD_GOTO(vt_mhash_update(&h, page, sizeof page, err));
    }
    return vt_mhash_final(&h, out, err);
out:
    vt_mhash_free(&h);
    return rc;
}

vt_err vt_measure_seves(const vt_snp_launch *p, uint8_t out[32], vt_error *err)
{
    return sev_digest(p, true, out, err);
}

vt_err vt_measure_sev(const vt_snp_launch *p, uint8_t out[32], vt_error *err)
{
    return sev_digest(p, false, out, err);
}
