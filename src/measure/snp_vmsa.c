/* SEV-ES/SNP initial VMSA pages as QEMU/KVM, EC2 and GCE build them (AMD APM vol. 2
 * Table B-4 save-area layout; specs/measurements.md §1.6), vCPU signatures, and the QEMU
 * kernel-hashes table (§1.5). */
#include <string.h>
#include <strings.h>

#include "mhash.h"
#include "veritee/measure.h"

/* VMCB segment {u16 selector, u16 attrib, u32 limit, u64 base}. */
static void seg(uint8_t *p, uint16_t sel, uint16_t attr, uint32_t limit, uint64_t base)
{
    vt_put_u16le(p, sel);
    vt_put_u16le(p + 2, attr);
    vt_put_u32le(p + 4, limit);
    vt_put_u64le(p + 8, base);
}

void vt_snp_vmsa_page(uint32_t eip, uint64_t sev_features, uint32_t vcpu_sig, vt_snp_vmm vmm,
                      uint8_t page[VT_MEASURE_PAGE])
{
    uint16_t cs_attr = 0x9B, ss_attr = 0x93, tr_attr = 0x8B, fcw = 0x37F;
    uint32_t mxcsr = 0x1F80;
    uint64_t rdx = vcpu_sig, g_pat = 0x0007040600070406ull;
    if (vmm == VT_SNP_VMM_EC2) {
        if (eip == 0xFFFFFFF0u) cs_attr = 0x9A;
        ss_attr = 0x92;
        tr_attr = 0x83;
        rdx = 0x600;
        mxcsr = 0;
        fcw = 0;
    } else if (vmm == VT_SNP_VMM_GCE) {
        g_pat = 0x00070106ull; /* the GCE hypervisor overwrites the default PAT */
        rdx = 0x600;
        mxcsr = 0;
        fcw = 0;
    }
    memset(page, 0, VT_MEASURE_PAGE);
    seg(page + 0x00, 0, 0x93, 0xFFFF, 0);                       /* ES */
    seg(page + 0x10, 0xF000, cs_attr, 0xFFFF, eip & 0xFFFF0000u); /* CS */
    seg(page + 0x20, 0, ss_attr, 0xFFFF, 0);                    /* SS */
    seg(page + 0x30, 0, 0x93, 0xFFFF, 0);                       /* DS */
    seg(page + 0x40, 0, 0x93, 0xFFFF, 0);                       /* FS */
    seg(page + 0x50, 0, 0x93, 0xFFFF, 0);                       /* GS */
    seg(page + 0x60, 0, 0, 0xFFFF, 0);                          /* GDTR */
    seg(page + 0x70, 0, 0x82, 0xFFFF, 0);                       /* LDTR */
    seg(page + 0x80, 0, 0, 0xFFFF, 0);                          /* IDTR */
    seg(page + 0x90, 0, tr_attr, 0xFFFF, 0);                    /* TR */
    vt_put_u64le(page + 0xD0, 0x1000);                          /* EFER.SVME */
    vt_put_u64le(page + 0x148, 0x40);                           /* CR4.MCE */
    vt_put_u64le(page + 0x158, 0x10);                           /* CR0.ET */
    vt_put_u64le(page + 0x160, 0x400);                          /* DR7 */
    vt_put_u64le(page + 0x168, 0xFFFF0FF0);                     /* DR6 */
    vt_put_u64le(page + 0x170, 0x2);                            /* RFLAGS */
    vt_put_u64le(page + 0x178, eip & 0xFFFFu);                  /* RIP */
    vt_put_u64le(page + 0x268, g_pat);                          /* G_PAT */
    vt_put_u64le(page + 0x310, rdx);                            /* RDX */
    vt_put_u64le(page + 0x3B0, sev_features);                   /* SEV_FEATURES */
    vt_put_u64le(page + 0x3E8, 0x1);                            /* XCR0 */
    vt_put_u32le(page + 0x408, mxcsr);                          /* MXCSR */
    vt_put_u16le(page + 0x410, fcw);                            /* x87 FCW */
}

uint32_t vt_snp_cpu_sig(uint32_t family, uint32_t model, uint32_t stepping)
{
    uint32_t fam_lo = family, fam_hi = 0;
    if (family > 0xF) {
        fam_lo = 0xF;
        fam_hi = (family - 0xF) & 0xFF;
    }
    return fam_hi << 20 | ((model >> 4) & 0xF) << 16 | fam_lo << 8 | (model & 0xF) << 4 |
           (stepping & 0xF);
}

static const struct {
    const char *name;
    uint8_t family, model, stepping;
} models[] = {
    {"EPYC", 23, 1, 2},          {"EPYC-v1", 23, 1, 2},       {"EPYC-v2", 23, 1, 2},
    {"EPYC-IBPB", 23, 1, 2},     {"EPYC-v3", 23, 1, 2},       {"EPYC-v4", 23, 1, 2},
    {"EPYC-Rome", 23, 49, 0},    {"EPYC-Rome-v1", 23, 49, 0}, {"EPYC-Rome-v2", 23, 49, 0},
    {"EPYC-Rome-v3", 23, 49, 0}, {"EPYC-Rome-v4", 23, 49, 0}, {"EPYC-Milan", 25, 1, 1},
    {"EPYC-Milan-v1", 25, 1, 1}, {"EPYC-Milan-v2", 25, 1, 1}, {"EPYC-Milan-v3", 25, 1, 1},
    {"EPYC-Genoa", 25, 17, 0},   {"EPYC-Genoa-v1", 25, 17, 0}, {"EPYC-Genoa-v2", 25, 17, 0},
    {"EPYC-Turin", 26, 0, 0},    {"EPYC-Turin-v1", 26, 0, 0},
};

vt_err vt_snp_vcpu_sig(const char *model, uint32_t *sig, vt_error *err)
{
    for (size_t i = 0; model != NULL && i < sizeof models / sizeof models[0]; i++)
        if (strcasecmp(model, models[i].name) == 0) {
            *sig = vt_snp_cpu_sig(models[i].family, models[i].model, models[i].stepping);
            return VT_OK;
        }
    return vt_error_set(err, VT_E_ARG, "vcpu_type",
                        "unknown vCPU type '%s' (EPYC, EPYC-Rome, EPYC-Milan, EPYC-Genoa, "
                        "EPYC-Turin, optionally -vN; or give the signature)",
                        model ? model : "(null)");
}

vt_err vt_snp_vmm_parse(const char *name, vt_snp_vmm *out, vt_error *err)
{
    if (name != NULL && strcasecmp(name, "qemu") == 0) *out = VT_SNP_VMM_QEMU;
    else if (name != NULL && strcasecmp(name, "ec2") == 0) *out = VT_SNP_VMM_EC2;
    else if (name != NULL && strcasecmp(name, "gce") == 0) *out = VT_SNP_VMM_GCE;
    else
        return vt_error_set(err, VT_E_ARG, "vmm", "unknown VMM '%s' (qemu, ec2, gce)",
                            name ? name : "(null)");
    return VT_OK;
}

const char *vt_snp_vmm_name(vt_snp_vmm v)
{
    return v == VT_SNP_VMM_EC2 ? "ec2" : v == VT_SNP_VMM_GCE ? "gce" : "qemu";
}

/* --- kernel-hashes table (QEMU target/i386/sev.c, SevHashTable) --- */

#define HT_GUID "9438d606-4f22-4cc9-b479-a793d411fd21"
#define HT_CMDLINE "97d02dd8-bd20-4c94-aa78-e7714d36ab2a"
#define HT_INITRD "44baf731-3a2f-4bd7-9af1-41e29169781d"
#define HT_KERNEL "4de79437-abd2-427f-b835-d5b172d2045b"
#define HT_ENTRY 50u
#define HT_LEN (18u + 3 * HT_ENTRY) /* 168 */

vt_err vt_sev_hashes_compute(const uint8_t *kernel, size_t kernel_len, const uint8_t *initrd,
                             size_t initrd_len, const char *cmdline, vt_sev_hashes *out,
                             vt_error *err)
{
    static const uint8_t nul = 0;
    VT_GUARD(vt_hash(VT_SHA256, kernel_len ? kernel : &nul, kernel_len, out->kernel, err));
    VT_GUARD(vt_hash(VT_SHA256, initrd && initrd_len ? initrd : &nul, initrd ? initrd_len : 0,
                     out->initrd, err));
    /* The command line is hashed with its terminating NUL; none at all is the single NUL. */
    if (cmdline == NULL) cmdline = "";
    return vt_hash(VT_SHA256, cmdline, strlen(cmdline) + 1, out->cmdline, err);
}

static void ht_entry(uint8_t *p, const char *guid, const uint8_t hash[32])
{
    if (vt_guid_parse(guid, p, NULL) != VT_OK) memset(p, 0, 16); /* constant GUIDs: cannot fail */
    vt_put_u16le(p + 16, HT_ENTRY);
    memcpy(p + 18, hash, 32);
}

void vt_sev_hashes_table(const vt_sev_hashes *h, uint8_t out[VT_SEV_HASH_TABLE_PADDED])
{
    memset(out, 0, VT_SEV_HASH_TABLE_PADDED);
    if (vt_guid_parse(HT_GUID, out, NULL) != VT_OK) memset(out, 0, 16); /* a constant: cannot fail */
    vt_put_u16le(out + 16, HT_LEN);
    ht_entry(out + 18, HT_CMDLINE, h->cmdline);
    ht_entry(out + 18 + HT_ENTRY, HT_INITRD, h->initrd);
    ht_entry(out + 18 + 2 * HT_ENTRY, HT_KERNEL, h->kernel);
}
