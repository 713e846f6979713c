/* SEV-SNP field decoders: products, TCB_VERSION (Milan/Genoa and Turin layouts), GUEST_POLICY
 * and PLATFORM_INFO (SEV-SNP Firmware ABI spec 56860, "TCB_VERSION", "GUEST_POLICY" and
 * "ATTESTATION_REPORT" tables). */
#include <strings.h>

#include "veritee/snp.h"

const char *vt_snp_product_name(vt_snp_product p)
{
    switch (p) {
    case VT_SNP_MILAN: return "Milan";
    case VT_SNP_GENOA: return "Genoa";
    case VT_SNP_TURIN: return "Turin";
    default: return "unknown";
    }
}

vt_err vt_snp_product_parse(const char *s, vt_snp_product *out, vt_error *err)
{
    static const vt_snp_product all[] = {VT_SNP_MILAN, VT_SNP_GENOA, VT_SNP_TURIN};
    for (size_t i = 0; s != NULL && i < sizeof all / sizeof all[0]; i++) {
        if (strcasecmp(s, vt_snp_product_name(all[i])) == 0) {
            *out = all[i];
            return VT_OK;
        }
    }
    return vt_error_set(err, VT_E_ARG, "product", "unknown SEV-SNP product '%s' (milan, genoa, turin)",
                        s ? s : "");
}

vt_snp_product vt_snp_product_from_cpuid(uint8_t family, uint8_t model)
{
    if (family == 0x19) {
        if (model <= 0x0f) return VT_SNP_MILAN;                   /* Milan 01h */
        if (model >= 0x10 && model <= 0x1f) return VT_SNP_GENOA;  /* Genoa 11h, Bergamo */
        if (model >= 0xa0 && model <= 0xaf) return VT_SNP_GENOA;  /* Siena A0h: KDS "Genoa" */
        return VT_SNP_PRODUCT_UNKNOWN;
    }
    if (family == 0x1a && model <= 0x1f) return VT_SNP_TURIN; /* Turin 02h, Turin dense 11h */
    return VT_SNP_PRODUCT_UNKNOWN;
}

static uint8_t byte_at(uint64_t v, unsigned i) { return (uint8_t)(v >> (8 * i)); }

void vt_snp_tcb_decode(uint64_t raw, vt_snp_product p, vt_snp_tcb *out)
{
    out->raw = raw;
    out->microcode = byte_at(raw, 7);
    if (p == VT_SNP_TURIN) {
        out->has_fmc = true;
        out->fmc = byte_at(raw, 0);
        out->boot_loader = byte_at(raw, 1);
        out->tee = byte_at(raw, 2);
        out->snp = byte_at(raw, 3);
    } else {
        out->has_fmc = false;
        out->fmc = 0;
        out->boot_loader = byte_at(raw, 0);
        out->tee = byte_at(raw, 1);
        out->snp = byte_at(raw, 6);
    }
}

uint64_t vt_snp_tcb_encode(const vt_snp_tcb *t, vt_snp_product p)
{
    uint64_t v = (uint64_t)t->microcode << 56;
    if (p == VT_SNP_TURIN)
        return v | t->fmc | (uint64_t)t->boot_loader << 8 | (uint64_t)t->tee << 16 |
               (uint64_t)t->snp << 24;
    return v | t->boot_loader | (uint64_t)t->tee << 8 | (uint64_t)t->snp << 48;
}

#define BIT(n) (UINT64_C(1) << (n))

vt_err vt_snp_policy_decode(uint64_t raw, vt_snp_policy *out, vt_error *err)
{
    if (!(raw & BIT(17)))
        return vt_error_set(err, VT_E_INVALID, "policy",
                            "guest policy 0x%llx: reserved bit 17 must be 1",
                            (unsigned long long)raw);
    if (raw >> 26)
        return vt_error_set(err, VT_E_INVALID, "policy",
                            "guest policy 0x%llx: reserved bits 63:26 must be zero",
                            (unsigned long long)raw);
    out->raw = raw;
    out->abi_minor = (uint8_t)raw;
    out->abi_major = (uint8_t)(raw >> 8);
    out->smt = raw & BIT(16);
    out->migrate_ma = raw & BIT(18);
    out->debug = raw & BIT(19);
    out->single_socket = raw & BIT(20);
    out->cxl_allow = raw & BIT(21);
    out->mem_aes_256_xts = raw & BIT(22);
    out->rapl_dis = raw & BIT(23);
    out->ciphertext_hiding = raw & BIT(24);
    out->page_swap_disable = raw & BIT(25);
    return VT_OK;
}

void vt_snp_platform_info_decode(uint64_t raw, vt_snp_platform_info *out)
{
    out->raw = raw;
    out->smt_en = raw & BIT(0);
    out->tsme_en = raw & BIT(1);
    out->ecc_en = raw & BIT(2);
    out->rapl_dis = raw & BIT(3);
    out->ciphertext_hiding_en = raw & BIT(4);
    out->alias_check_complete = raw & BIT(5);
    out->tio_en = raw & BIT(7);
    out->other_bits = raw & ~(BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(7));
}

const char *vt_snp_signing_key_name(vt_snp_signing_key k)
{
    switch (k) {
    case VT_SNP_KEY_VCEK: return "vcek";
    case VT_SNP_KEY_VLEK: return "vlek";
    case VT_SNP_KEY_NONE: return "none";
    }
    return "reserved";
}

const char *vt_snp_cert_kind_name(vt_snp_cert_kind k)
{
    switch (k) {
    case VT_SNP_CERT_VCEK: return "vcek";
    case VT_SNP_CERT_VLEK: return "vlek";
    case VT_SNP_CERT_ASK: return "ask";
    case VT_SNP_CERT_ARK: return "ark";
    case VT_SNP_CERT_CRL: return "crl";
    default: return "other";
    }
}
