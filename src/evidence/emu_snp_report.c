/* Emulated SEV-SNP ATTESTATION_REPORT (SEV-SNP Firmware ABI spec 56860, "ATTESTATION_REPORT",
 * versions 2, 3 and 5; 1184 bytes) signed by the emulated VCEK (ECDSA P-384/SHA-384, r and s as
 * 72-byte little-endian integers), and the extended-report certificate table (GHCB spec 56421,
 * MSG_REPORT_REQ) as SNP_GET_EXT_REPORT and the configfs-tsm auxblob return it. */
#include <stdlib.h>
#include <string.h>

#include "emu_internal.h"
#include "veritee/crypto.h"
#include "veritee/x509.h"

#define POLICY_DEBUG (UINT64_C(1) << 19)

/* Certificate table GUIDs, RFC 4122 byte order (GHCB spec, MSG_REPORT_REQ). */
static const uint8_t GUID_VCEK[16] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
                                      0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
static const uint8_t GUID_VLEK[16] = {0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
                                      0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1};
static const uint8_t GUID_ASK[16] = {0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
                                     0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82};
static const uint8_t GUID_ARK[16] = {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
                                     0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae};
static const uint8_t GUID_CRL[16] = {0x92, 0xf8, 0x1b, 0xc3, 0x58, 0x11, 0x4d, 0x3d,
                                     0x97, 0xff, 0xd1, 0x9f, 0x88, 0xdc, 0x67, 0xea};

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* "major.minor.build" into the report's build, minor, major bytes. */
static vt_err firmware(const json_t *s, const char *key, const char *dflt, uint8_t out[3], vt_error *err)
{
    const char *v = emu_str(s, key, dflt);
    unsigned maj, min, build;
    char tail;
    if (sscanf(v, "%u.%u.%u%c", &maj, &min, &build, &tail) != 3 || maj > 255 || min > 255 || build > 255)
        return vt_error_set(err, VT_E_INVALID, "emulate", "snp.%s: expected \"major.minor.build\"", key);
    out[0] = (uint8_t)build;
    out[1] = (uint8_t)min;
    out[2] = (uint8_t)maj;
    return VT_OK;
}

/* The report fields the platform description gives (everything but the signature). */
static vt_err fill(const json_t *s, const emu_snp_plat *p, int version, uint32_t vmpl, const uint8_t rd[64],
                   uint8_t *rep, vt_error *err)
{
    uint64_t v;
    memset(rep, 0, VT_SNP_REPORT_SIZE);
    put32(rep + 0x000, (uint32_t)version);
    VT_GUARD(emu_u64(s, "guest_svn", "snp", 0, &v, err));
    put32(rep + 0x004, (uint32_t)v);
    VT_GUARD(emu_u64(s, "policy", "snp", 0x30000, &v, err));
    if (emu_bool(s, "debug", false)) v |= POLICY_DEBUG;
    else v &= ~POLICY_DEBUG;
    put64(rep + 0x008, v);
    VT_GUARD(emu_hex(s, "family_id", "snp", rep + 0x010, 16, err));
    VT_GUARD(emu_hex(s, "image_id", "snp", rep + 0x020, 16, err));
    put32(rep + 0x030, vmpl);
    put32(rep + 0x034, VT_SNP_SIG_ALGO_ECDSA_P384_SHA384);
    put64(rep + 0x038, p->current.raw);
    VT_GUARD(emu_u64(s, "platform_info", "snp", 0x25, &v, err)); /* SMT_EN, ECC_EN, ALIAS_CHECK_COMPLETE */
    put64(rep + 0x040, v);
    /* KEY_INFO: bit 0 AUTHOR_KEY_EN, bits 4:2 SIGNING_KEY (0 VCEK, 1 VLEK) */
    bool vlek = strcmp(emu_str(s, "signing_key", "vcek"), "vlek") == 0;
    rep[0x048] = (uint8_t)((emu_bool(s, "author_key_en", false) ? 1 : 0) | (vlek ? 1 << 2 : 0));
    memcpy(rep + 0x050, rd, 64);
    VT_GUARD(emu_hex(s, "measurement", "snp", rep + 0x090, 48, err));
    VT_GUARD(emu_hex(s, "host_data", "snp", rep + 0x0c0, 32, err));
    VT_GUARD(emu_hex(s, "id_key_digest", "snp", rep + 0x0e0, 48, err));
    VT_GUARD(emu_hex(s, "author_key_digest", "snp", rep + 0x110, 48, err));
    for (int i = 0; i < 32; i++) rep[0x140 + i] = (uint8_t)(0x2b * i + 7);
    VT_GUARD(emu_hex(s, "report_id", "snp", rep + 0x140, 32, err));
    memset(rep + 0x160, 0xff, 32); /* no migration agent */
    VT_GUARD(emu_hex(s, "report_id_ma", "snp", rep + 0x160, 32, err));
    put64(rep + 0x180, p->reported.raw);
    if (version >= 3) {
        rep[0x188] = p->cpuid[0];
        rep[0x189] = p->cpuid[1];
        rep[0x18a] = p->cpuid[2];
    }
    if (!emu_bool(s, "mask_chip_id", false)) memcpy(rep + 0x1a0, p->chip_id, 64);
    put64(rep + 0x1e0, p->committed.raw);
    VT_GUARD(firmware(s, "firmware", "1.55.21", rep + 0x1e8, err));
    VT_GUARD(firmware(s, "committed_firmware", emu_str(s, "firmware", "1.55.21"), rep + 0x1ec, err));
    put64(rep + 0x1f0, p->launch.raw);
    if (version >= 5) {
        VT_GUARD(emu_u64(s, "launch_mit_vector", "snp", 0, &v, err));
        put64(rep + 0x1f8, v);
        VT_GUARD(emu_u64(s, "current_mit_vector", "snp", 0, &v, err));
        put64(rep + 0x200, v);
    }
    return VT_OK;
}

/* ECDSA P-384 over 0x000..0x29F; r at 0x2A0 and s at 0x2E8, 72-byte little-endian each. */
static vt_err sign(EVP_PKEY *k, uint8_t *rep, vt_error *err)
{
    uint8_t sig[96];
    size_t n;
    VT_GUARD(vt_ecdsa_sign_raw(k, VT_SHA384, rep, VT_SNP_SIGNED_SIZE, sig, sizeof sig, &n, err));
    if (n != 96) return vt_error_set(err, VT_E_INTERNAL, "emulate", "VCEK signature is %zu bytes", n);
    for (size_t i = 0; i < 48; i++) {
        rep[0x2a0 + i] = sig[47 - i];
        rep[0x2e8 + i] = sig[95 - i];
    }
    return VT_OK;
}

/* DER of the certificates the table carries: VCEK (or VLEK), ASK (or ASVK), ARK, and the CRL
 * when asked. *vlek tells which leaf the emulator issued. */
static vt_err table_blobs(const char *dir, bool crl, vt_buf blobs[4], size_t *n, bool *vlek, vt_error *err)
{
    vt_buf pem = {0};
    STACK_OF(X509) *chain = NULL;
    vt_err rc = VT_OK;
    *n = 0;
    vt_err lr = emu_read(dir, "collateral", "snp_vcek.der", &blobs[*n], err);
    *vlek = lr == VT_E_MISSING && emu_read(dir, "collateral", "snp_vlek.der", &blobs[*n], err) == VT_OK;
    if (lr != VT_OK && !*vlek) return lr;
    (*n)++;
    VT_GUARD_GOTO(emu_read(dir, "collateral", "snp_cert_chain.pem", &pem, err));
    VT_GUARD_GOTO(vt_pem_certs(pem.ptr, pem.len, &chain, err));
    if (sk_X509_num(chain) != 2) {
        rc = vt_error_set(err, VT_E_INVALID, "emulate", "snp_cert_chain.pem: expected the ASK and the ARK");
        goto out;
    }
    for (int i = 0; i < 2; i++) VT_GUARD_GOTO(vt_pki_cert_der(sk_X509_value(chain, i), &blobs[(*n)++], err));
    if (crl) VT_GUARD_GOTO(emu_read(dir, "collateral", "snp_ark.crl", &blobs[(*n)++], err));
out:
    sk_X509_pop_free(chain, X509_free);
    vt_buf_free(&pem);
    return rc;
}

vt_err vt_emu_snp_certtable(vt_emu *e, bool with_crl, vt_buf *out, vt_error *err)
{
    const uint8_t *guids[4] = {GUID_VCEK, GUID_ASK, GUID_ARK, GUID_CRL};
    vt_buf blobs[4] = {{0}};
    size_t n = 0;
    bool vlek = false;
    vt_err rc = table_blobs(e->dir, with_crl, blobs, &n, &vlek, err);
    if (vlek) guids[0] = GUID_VLEK;
    size_t total = (n + 1) * 24;
    for (size_t i = 0; rc == VT_OK && i < n; i++) total += blobs[i].len;
    uint8_t *t = rc == VT_OK ? calloc(1, total) : NULL;
    if (rc == VT_OK && t == NULL) rc = vt_error_set(err, VT_E_NOMEM, "emulate", "out of memory");
    if (rc == VT_OK) {
        size_t off = (n + 1) * 24; /* entries, then the all-zero terminator, then the blobs */
        for (size_t i = 0; i < n; i++) {
            memcpy(t + 24 * i, guids[i], 16);
            put32(t + 24 * i + 16, (uint32_t)off);
            put32(t + 24 * i + 20, (uint32_t)blobs[i].len);
            memcpy(t + off, blobs[i].ptr, blobs[i].len);
            off += blobs[i].len;
        }
        out->ptr = t;
        out->len = total;
    }
    for (size_t i = 0; i < 4; i++) vt_buf_free(&blobs[i]);
    return rc;
}

vt_err vt_emu_snp_report(vt_emu *e, const uint8_t report_data[64], const vt_emu_snp_opts *o, vt_buf *out,
                         vt_error *err)
{
    const json_t *s = json_object_get(e->platform, "snp");
    if (s == NULL) return vt_error_set(err, VT_E_ARG, "emulate", "the emulated platform has no SNP section");
    emu_snp_plat p;
    VT_GUARD(emu_snp_plat_read(s, &p, err));
    int version = o && o->version ? o->version : (int)emu_int(s, "report_version", 5);
    if (version != 2 && version != 3 && version != 5)
        return vt_error_set(err, VT_E_ARG, "emulate", "SNP report version %d (emulated: 2, 3 or 5)", version);
    int64_t vmpl = o && o->has_vmpl ? (int64_t)o->vmpl : emu_int(s, "vmpl", 0);
    if (vmpl < 0 || vmpl > VT_SNP_VMPL_MAX)
        return vt_error_set(err, VT_E_ARG, "emulate", "VMPL %lld is outside 0..3", (long long)vmpl);
    uint8_t *rep = calloc(1, VT_SNP_REPORT_SIZE);
    EVP_PKEY *k = NULL;
    vt_err rc = VT_OK;
    if (rep == NULL) return vt_error_set(err, VT_E_NOMEM, "emulate", "out of memory");
    VT_GUARD_GOTO(fill(s, &p, version, (uint32_t)vmpl, report_data, rep, err));
    VT_GUARD_GOTO(emu_load_key(e->dir, "snp_vcek.key.pem", &k, err));
    VT_GUARD_GOTO(sign(k, rep, err));
    if (o != NULL && o->with_certtable) {
        vt_buf t = {0};
        VT_GUARD_GOTO(vt_emu_snp_certtable(e, o->with_crl, &t, err));
        uint8_t *q = realloc(rep, VT_SNP_REPORT_SIZE + t.len);
        if (q == NULL) {
            vt_buf_free(&t);
            rc = vt_error_set(err, VT_E_NOMEM, "emulate", "out of memory");
            goto out;
        }
        rep = q;
        memcpy(rep + VT_SNP_REPORT_SIZE, t.ptr, t.len);
        out->len = VT_SNP_REPORT_SIZE + t.len;
        vt_buf_free(&t);
    } else {
        out->len = VT_SNP_REPORT_SIZE;
    }
    out->ptr = rep;
    rep = NULL;
out:
    free(rep);
    EVP_PKEY_free(k);
    return rc;
}
