/* Emulated AMD SEV-SNP platform: a test PKI shaped like AMD's (ARK -> ASK, RSA-4096 with
 * RSA-PSS/SHA-384 -> VCEK, ECDSA P-384 with the VCEK extensions of AMD spec 57230: structVersion,
 * productName, SPLs in the product's TCB layout, hwID = CHIP_ID), and the ARK's CRL, written in
 * the layout vt_snp_dir_collateral_load reads (docs/emulate.md). Reports: emu_snp_report.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_internal.h"
#include "veritee/derw.h"
#include "veritee/json.h"
#include "veritee/snp.h"
#include "veritee/writer.h"
#include "veritee/x509.h"

#define YEAR (365 * 86400LL)

static json_t *hex_pattern(uint8_t seed, size_t n) { return emu_pattern_json(seed, 13, n); }

json_t *emu_snp_default(void)
{
    json_t *s = json_object();
    json_object_set_new(s, "product", json_string("Milan"));
    json_object_set_new(s, "report_version", json_integer(5));
    json_object_set_new(s, "policy", json_string("0x30000"));
    json_object_set_new(s, "debug", json_false());
    json_object_set_new(s, "vmpl", json_integer(0));
    json_object_set_new(s, "guest_svn", json_integer(0));
    json_object_set_new(s, "measurement", hex_pattern(0x6d, 48));
    json_object_set_new(s, "host_data", hex_pattern(0x48, 32));
    json_object_set_new(s, "chip_id", hex_pattern(0xc1, 64));
    json_object_set_new(s, "firmware", json_string("1.55.21"));
    json_object_set_new(s, "ask_revoked", json_false());
    json_object_set_new(s, "crl_days", json_integer(30));
    return s;
}

#define OPT VT_JSON_OPTIONAL

/* TCB {fmc?, bl, tee, snp, microcode}: each member defaults to dflt's. */
static vt_err tcb_read(const vt_json_in *s, const char *key, vt_snp_product p, const vt_snp_tcb *dflt, vt_snp_tcb *out)
{
    vt_json_in t;
    bool given;
    *out = *dflt;
    VT_GUARD(vt_json_get_obj(s, key, OPT, &t, &given));
    static const char *const names[] = {"fmc", "bl", "tee", "snp", "microcode"};
    uint8_t *dst[] = {&out->fmc, &out->boot_loader, &out->tee, &out->snp, &out->microcode};
    for (size_t i = 0; given && i < 5; i++) {
        uint64_t v = *dst[i];
        VT_GUARD(vt_json_get_u64(&t, names[i], OPT, 255, &v, NULL));
        *dst[i] = (uint8_t)v;
    }
    out->has_fmc = p == VT_SNP_TURIN;
    if (p != VT_SNP_TURIN) out->fmc = 0;
    out->raw = vt_snp_tcb_encode(out, p);
    return VT_OK;
}

vt_err emu_snp_plat_read(const vt_json_in *s, emu_snp_plat *p)
{
    const char *product = "Milan";
    memset(p, 0, sizeof *p);
    VT_GUARD(vt_json_get_str(s, "product", OPT, &product, NULL));
    VT_GUARD(vt_snp_product_parse(product, &p->product, s->err));
    /* CPUID family/model/stepping of each generation (SEV-SNP ABI spec, CPUID_FAM_ID etc.) */
    static const uint8_t cpuid[4][3] = {{0}, {0x19, 0x01, 0x01}, {0x19, 0x11, 0x01}, {0x1a, 0x02, 0x00}};
    for (int i = 0; i < 3; i++) {
        static const char *const k[] = {"cpuid_family", "cpuid_model", "cpuid_stepping"};
        uint64_t v = cpuid[p->product][i];
        VT_GUARD(vt_json_get_u64(s, k[i], OPT, 255, &v, NULL));
        p->cpuid[i] = (uint8_t)v;
    }
    /* Default TCBs: Milan/Genoa as current firmware reports them, Turin with its FMC byte. */
    vt_snp_tcb d = {.boot_loader = 4, .tee = 0, .snp = 24, .microcode = 219};
    if (p->product == VT_SNP_GENOA) d = (vt_snp_tcb){.boot_loader = 9, .tee = 0, .snp = 23, .microcode = 72};
    if (p->product == VT_SNP_TURIN)
        d = (vt_snp_tcb){.has_fmc = true, .fmc = 1, .boot_loader = 1, .tee = 1, .snp = 3, .microcode = 0x4c};
    VT_GUARD(tcb_read(s, "tcb", p->product, &d, &p->current));
    VT_GUARD(tcb_read(s, "reported_tcb", p->product, &p->current, &p->reported));
    VT_GUARD(tcb_read(s, "committed_tcb", p->product, &p->current, &p->committed));
    VT_GUARD(tcb_read(s, "launch_tcb", p->product, &p->committed, &p->launch));
    p->hwid_len = p->product == VT_SNP_TURIN ? 8 : 64;
    for (size_t i = 0; i < 64; i++) p->chip_id[i] = (uint8_t)(0xc1 + 13 * i);
    /* chip_id: the product's hwID length, or a full 64 bytes */
    size_t n;
    uint8_t c[64] = {0};
    bool given;
    VT_GUARD(vt_json_get_hexn(s, "chip_id", OPT, c, p->hwid_len, 64, &n, &given));
    if (given && n != p->hwid_len && n != 64)
        return vt_json_fail(s, "chip_id", "expected %zu (or 64) bytes of hex", p->hwid_len);
    if (given) memcpy(p->chip_id, c, 64);
    if (p->hwid_len == 8) memset(p->chip_id + 8, 0, 56); /* Turin: 8-byte hwID, rest zero */
    VT_GUARD(vt_json_get_bool(s, "ask_revoked", OPT, &p->ask_revoked, NULL));
    p->crl_days = 30;
    VT_GUARD(vt_json_get_int(s, "crl_days", OPT, -36500, 36500, &p->crl_days, NULL));
    return VT_OK;
}

/* DER INTEGER extension value of an SPL / structVersion. */
static vt_err der_uint(uint64_t v, vt_buf *out, vt_error *err)
{
    vt_derw w;
    vt_derw_init(&w);
    vt_derw_uint(&w, 0x02, v);
    return vt_derw_finish(&w, out, err);
}

static const char *product_name(vt_snp_product p)
{
    return p == VT_SNP_MILAN ? "Milan-B0" : p == VT_SNP_GENOA ? "Genoa-B1" : "Turin-C1";
}

/* The VCEK's AMD extensions (AMD spec 57230 table "VCEK Certificate Extensions"); a VLEK has
 * the same but no hwID (it is not bound to one chip) and a cspId naming the cloud provider. */
static vt_err vcek_extensions(const emu_snp_plat *p, bool vlek, vt_buf b[8], vt_pki_ext x[8], size_t *n,
                              vt_error *err)
{
    const vt_snp_tcb *t = &p->reported;
    size_t k = 0;
    VT_GUARD(der_uint(p->product == VT_SNP_TURIN ? 1 : 0, &b[k], err));
    x[k++] = (vt_pki_ext){.oid = VT_SNP_OID_STRUCT_VERSION};
    const char *pn = product_name(p->product);
    vt_derw w;
    vt_derw_init(&w);
    vt_derw_tlv(&w, 0x16, (const uint8_t *)pn, strlen(pn)); /* IA5String */
    VT_GUARD(vt_derw_finish(&w, &b[k], err));
    x[k++] = (vt_pki_ext){.oid = VT_SNP_OID_PRODUCT_NAME};
    static const char *const arcs[] = {VT_SNP_OID_BL_SPL, VT_SNP_OID_TEE_SPL, VT_SNP_OID_SNP_SPL, VT_SNP_OID_UCODE_SPL, VT_SNP_OID_FMC_SPL};
    const uint8_t spl[] = {t->boot_loader, t->tee, t->snp, t->microcode, t->fmc};
    for (size_t i = 0; i < (p->product == VT_SNP_TURIN ? 5u : 4u); i++) {
        VT_GUARD(der_uint(spl[i], &b[k], err));
        x[k++] = (vt_pki_ext){.oid = arcs[i]};
    }
    if (vlek) {
        static const char csp[] = "veritee-emulated-csp";
        vt_derw_init(&w);
        vt_derw_tlv(&w, 0x16, (const uint8_t *)csp, sizeof csp - 1); /* IA5String */
        VT_GUARD(vt_derw_finish(&w, &b[k], err));
        x[k++] = (vt_pki_ext){.oid = VT_SNP_OID_CSP_ID};
    } else {
        VT_GUARD(vt_buf_set(&b[k], p->chip_id, p->hwid_len, err)); /* raw bytes, as AMD KDS issues */
        x[k++] = (vt_pki_ext){.oid = VT_SNP_OID_HWID};
    }
    for (size_t i = 0; i < k; i++) {
        x[i].der = b[i].ptr;
        x[i].der_len = b[i].len;
    }
    *n = k;
    return VT_OK;
}

static vt_err save_der(const char *dir, const char *name, X509 *c, X509_CRL *crl, vt_error *err)
{
    vt_buf b = {0};
    VT_GUARD(c ? vt_pki_cert_der(c, &b, err) : vt_pki_crl_der(crl, &b, err));
    vt_err rc = emu_write(dir, "collateral", name, b.ptr, b.len, false, err);
    vt_buf_free(&b);
    return rc;
}

vt_err emu_snp_init(const char *dir, const json_t *sj, vt_time at, vt_error *err)
{
    emu_snp_plat p;
    vt_json_in s;
    VT_GUARD(vt_json_in_init(&s, sj, "snp", "emulate", err));
    VT_GUARD(emu_snp_plat_read(&s, &p));
    int64_t bits = 4096;
    const char *key = "vcek";
    VT_GUARD(vt_json_get_int(&s, "rsa_bits", OPT, 0, 16384, &bits, NULL));
    VT_GUARD(vt_json_get_str(&s, "signing_key", OPT, &key, NULL));
    if (bits != 2048 && bits != 3072 && bits != 4096)
        return vt_error_set(err, VT_E_INVALID, "emulate", "snp.rsa_bits: 2048, 3072 or 4096 (AMD uses 4096)");
    EVP_PKEY *ark_k = NULL, *ask_k = NULL, *vcek_k = NULL;
    X509 *ark = NULL, *ask = NULL, *vcek = NULL;
    X509_CRL *crl = NULL;
    vt_buf eb[8] = {{0}};
    vt_pki_ext ex[8];
    size_t nex = 0;
    vt_err rc = VT_OK;
    bool vlek = strcmp(key, "vlek") == 0;
    if (!vlek && strcmp(key, "vcek") != 0)
        return vt_error_set(err, VT_E_INVALID, "emulate", "snp.signing_key: \"vcek\" or \"vlek\"");
    char ark_cn[32], ask_cn[32];
    snprintf(ark_cn, sizeof ark_cn, "ARK-%s", vt_snp_product_name(p.product));
    /* a VLEK is issued by the ASVK ("SEV-VLEK-<product>"), a VCEK by the ASK ("SEV-<product>") */
    snprintf(ask_cn, sizeof ask_cn, "%s%s", vlek ? "SEV-VLEK-" : "SEV-", vt_snp_product_name(p.product));
    const char *subj = "OU=Engineering,L=Santa Clara,ST=CA,C=US";
    VT_GUARD_GOTO(vt_pki_rsa_key((int)bits, &ark_k, err));
    VT_GUARD_GOTO(vt_pki_rsa_key((int)bits, &ask_k, err));
    VT_GUARD_GOTO(vt_pki_ec_key(VT_P384, &vcek_k, err));
    vt_pki_cert_spec rs = {.subject_cn = ark_cn, .subject_o = VT_EMU_ORGANIZATION, .subject_extra = subj,
                           .not_before = at - 86400, .not_after = at + 25 * YEAR, .ca = true, .path_len = 1,
                           .rsa_pss = true, .md = VT_SHA384};
    VT_GUARD_GOTO(vt_pki_cert(&rs, ark_k, NULL, ark_k, &ark, err));
    vt_pki_cert_spec as = rs;
    as.subject_cn = ask_cn;
    as.path_len = 0;
    VT_GUARD_GOTO(vt_pki_cert(&as, ask_k, ark, ark_k, &ask, err));
    VT_GUARD_GOTO(vcek_extensions(&p, vlek, eb, ex, &nex, err));
    vt_pki_cert_spec vs = {.subject_cn = vlek ? "SEV-VLEK" : "SEV-VCEK", .subject_o = VT_EMU_ORGANIZATION, .subject_extra = subj,
                           .not_before = at - 86400, .not_after = at + 7 * YEAR, .path_len = -1, .exts = ex,
                           .n_exts = nex, .rsa_pss = true, .md = VT_SHA384};
    VT_GUARD_GOTO(vt_pki_cert(&vs, vcek_k, ask, ask_k, &vcek, err));
    const ASN1_INTEGER *sn = X509_get0_serialNumber(ask);
    const uint8_t *snp = ASN1_STRING_get0_data(sn);
    size_t snl = (size_t)ASN1_STRING_length(sn);
    VT_GUARD_GOTO(vt_pki_crl(ark, ark_k, at - 3600, at + p.crl_days * 86400, &snp, &snl, p.ask_revoked ? 1 : 0,
                             &crl, err));
    VT_GUARD_GOTO(emu_save_key(dir, "snp_ark.key.pem", ark_k, err));
    VT_GUARD_GOTO(emu_save_key(dir, "snp_ask.key.pem", ask_k, err));
    VT_GUARD_GOTO(emu_save_key(dir, "snp_vcek.key.pem", vcek_k, err));
    VT_GUARD_GOTO(emu_write_pem_chain(dir, "trust", "snp_ark.pem", &ark, 1, err));
    /* AMD KDS shapes: vcek.der, cert_chain (ASK then ARK, PEM), the ARK's CRL (DER) */
    VT_GUARD_GOTO(save_der(dir, vlek ? "snp_vlek.der" : "snp_vcek.der", vcek, NULL, err));
    VT_GUARD_GOTO(emu_write_pem_chain(dir, "collateral", "snp_cert_chain.pem", (X509 *[]){ask, ark}, 2, err));
    VT_GUARD_GOTO(save_der(dir, "snp_ark.crl", NULL, crl, err));
out:
    for (size_t i = 0; i < 8; i++) vt_buf_free(&eb[i]);
    EVP_PKEY_free(ark_k);
    EVP_PKEY_free(ask_k);
    EVP_PKEY_free(vcek_k);
    X509_free(ark);
    X509_free(ask);
    X509_free(vcek);
    X509_CRL_free(crl);
    return rc;
}
