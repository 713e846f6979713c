/* Emulated SEV-SNP ATTESTATION_REPORT (SEV-SNP Firmware ABI spec 56860, "ATTESTATION_REPORT",
 * versions 2, 3 and 5; 1184 bytes) signed by the emulated VCEK (ECDSA P-384/SHA-384, r and s as
 * 72-byte little-endian integers), and the extended-report certificate table (GHCB spec 56421,
 * MSG_REPORT_REQ) as SNP_GET_EXT_REPORT and the configfs-tsm auxblob return it. */
#include <stdlib.h>
#include <string.h>

#include "emu_internal.h"
#include "veritee/crypto.h"
#include "veritee/json.h"
#include "veritee/writer.h"
#include "veritee/x509.h"

#define POLICY_DEBUG (UINT64_C(1) << 19)
#define OPT VT_JSON_OPTIONAL

/* "major.minor.build" (default dflt). */
static vt_err firmware(const vt_json_in *s, const char *key, const char *dflt, vt_snp_fw_version *out)
{
    const char *v = dflt;
    unsigned maj, min, build;
    char tail;
    VT_GUARD(vt_json_get_str(s, key, OPT, &v, NULL));
    if (sscanf(v, "%u.%u.%u%c", &maj, &min, &build, &tail) != 3 || maj > 255 || min > 255 || build > 255)
        return vt_json_fail(s, key, "expected \"major.minor.build\"");
    *out = (vt_snp_fw_version){.major = (uint8_t)maj, .minor = (uint8_t)min, .build = (uint8_t)build};
    return VT_OK;
}

/* The report fields the platform description gives (everything but the signature). */
static vt_err fill(const vt_json_in *s, const emu_snp_plat *p, int version, uint32_t vmpl, const uint8_t rd[64],
                   vt_snp_report *r)
{
    memset(r, 0, sizeof *r);
    uint64_t v = 0;
    bool debug = false, author_key_en = false, mask_chip_id = false;
    const char *signing_key = "vcek", *fw = "1.55.21";
    r->version = (uint32_t)version;
    VT_GUARD(vt_json_get_u64(s, "guest_svn", OPT, UINT32_MAX, &v, NULL));
    r->guest_svn = (uint32_t)v;
    v = 0x30000;
    VT_GUARD(vt_json_get_u64(s, "policy", OPT, UINT64_MAX, &v, NULL));
    VT_GUARD(vt_json_get_bool(s, "debug", OPT, &debug, NULL));
    r->policy.raw = debug ? v | POLICY_DEBUG : v & ~POLICY_DEBUG;
    VT_GUARD(vt_json_get_hex(s, "family_id", OPT, r->family_id, sizeof r->family_id, NULL));
    VT_GUARD(vt_json_get_hex(s, "image_id", OPT, r->image_id, sizeof r->image_id, NULL));
    r->vmpl = vmpl;
    r->signature_algo = VT_SNP_SIG_ALGO_ECDSA_P384_SHA384;
    r->current_tcb = p->current.raw;
    r->platform_info.raw = 0x25; /* SMT_EN, ECC_EN, ALIAS_CHECK_COMPLETE */
    VT_GUARD(vt_json_get_u64(s, "platform_info", OPT, UINT64_MAX, &r->platform_info.raw, NULL));
    /* KEY_INFO: bit 0 AUTHOR_KEY_EN, bits 4:2 SIGNING_KEY (0 VCEK, 1 VLEK) */
    VT_GUARD(vt_json_get_str(s, "signing_key", OPT, &signing_key, NULL));
    VT_GUARD(vt_json_get_bool(s, "author_key_en", OPT, &author_key_en, NULL));
    r->key_info = (author_key_en ? 1u : 0u) | (strcmp(signing_key, "vlek") == 0 ? 1u << 2 : 0u);
    memcpy(r->report_data, rd, 64);
    VT_GUARD(vt_json_get_hex(s, "measurement", OPT, r->measurement, sizeof r->measurement, NULL));
    VT_GUARD(vt_json_get_hex(s, "host_data", OPT, r->host_data, sizeof r->host_data, NULL));
    VT_GUARD(vt_json_get_hex(s, "id_key_digest", OPT, r->id_key_digest, sizeof r->id_key_digest, NULL));
    VT_GUARD(vt_json_get_hex(s, "author_key_digest", OPT, r->author_key_digest, sizeof r->author_key_digest, NULL));
    for (int i = 0; i < 32; i++) r->report_id[i] = (uint8_t)(0x2b * i + 7);
    VT_GUARD(vt_json_get_hex(s, "report_id", OPT, r->report_id, sizeof r->report_id, NULL));
    memset(r->report_id_ma, 0xff, sizeof r->report_id_ma); /* no migration agent */
    VT_GUARD(vt_json_get_hex(s, "report_id_ma", OPT, r->report_id_ma, sizeof r->report_id_ma, NULL));
    r->reported_tcb = p->reported.raw;
    r->has_cpuid = version >= 3;
    if (r->has_cpuid) {
        r->cpuid_fam_id = p->cpuid[0];
        r->cpuid_mod_id = p->cpuid[1];
        r->cpuid_step = p->cpuid[2];
    }
    VT_GUARD(vt_json_get_bool(s, "mask_chip_id", OPT, &mask_chip_id, NULL));
    if (!mask_chip_id) memcpy(r->chip_id, p->chip_id, 64);
    r->committed_tcb = p->committed.raw;
    VT_GUARD(vt_json_get_str(s, "firmware", OPT, &fw, NULL));
    VT_GUARD(firmware(s, "firmware", fw, &r->current_version));
    VT_GUARD(firmware(s, "committed_firmware", fw, &r->committed_version));
    r->launch_tcb = p->launch.raw;
    r->has_mit_vectors = version >= 5;
    if (r->has_mit_vectors) {
        VT_GUARD(vt_json_get_u64(s, "launch_mit_vector", OPT, UINT64_MAX, &r->launch_mit_vector, NULL));
        VT_GUARD(vt_json_get_u64(s, "current_mit_vector", OPT, UINT64_MAX, &r->current_mit_vector, NULL));
    }
    return VT_OK;
}

/* ECDSA P-384 over the signed part (0x000..0x29F); r and s go into the report re-encoded. */
static vt_err sign(EVP_PKEY *k, vt_snp_report *r, uint8_t rep[VT_SNP_REPORT_SIZE], vt_error *err)
{
    uint8_t sig[96];
    size_t n;
    VT_GUARD(vt_snp_report_encode(r, rep, err));
    VT_GUARD(vt_ecdsa_sign_raw(k, VT_SHA384, rep, VT_SNP_SIGNED_SIZE, sig, sizeof sig, &n, err));
    if (n != 96) return vt_error_set(err, VT_E_INTERNAL, "emulate", "VCEK signature is %zu bytes", n);
    memcpy(r->sig_r, sig, 48);
    memcpy(r->sig_s, sig + 48, 48);
    return vt_snp_report_encode(r, rep, err);
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
    vt_snp_cert_kind kinds[4] = {VT_SNP_CERT_VCEK, VT_SNP_CERT_ASK, VT_SNP_CERT_ARK, VT_SNP_CERT_CRL};
    vt_buf blobs[4] = {{0}};
    size_t n = 0;
    bool vlek = false;
    vt_writer w;
    vt_writer_init(&w, "SNP certificate table", err);
    vt_err rc = table_blobs(e->dir, with_crl, blobs, &n, &vlek, err);
    if (vlek) kinds[0] = VT_SNP_CERT_VLEK;
    size_t off = (n + 1) * 24; /* entries, then the all-zero terminator, then the blobs */
    for (size_t i = 0; rc == VT_OK && i < n; i++) {
        vt_write_bytes(&w, "GUID", vt_snp_cert_guid(kinds[i]), 16);
        vt_write_u32le(&w, "offset", (uint32_t)off);
        vt_write_u32le(&w, "length", (uint32_t)blobs[i].len);
        off += blobs[i].len;
    }
    vt_write_zeros(&w, "terminator", 24);
    for (size_t i = 0; rc == VT_OK && i < n; i++) vt_write_bytes(&w, "certificate", blobs[i].ptr, blobs[i].len);
    if (rc == VT_OK) rc = vt_writer_take(&w, &out->ptr, &out->len); /* reports any failed write */
    vt_writer_free(&w);
    for (size_t i = 0; i < 4; i++) vt_buf_free(&blobs[i]);
    return rc;
}

vt_err vt_emu_snp_report(vt_emu *e, const uint8_t report_data[64], const vt_emu_snp_opts *o, vt_buf *out,
                         vt_error *err)
{
    const json_t *sj = json_object_get(e->platform, "snp");
    if (sj == NULL) return vt_error_set(err, VT_E_ARG, "emulate", "the emulated platform has no SNP section");
    vt_json_in s;
    VT_GUARD(vt_json_in_init(&s, sj, "snp", "emulate", err));
    emu_snp_plat p;
    VT_GUARD(emu_snp_plat_read(&s, &p));
    int64_t version = 5, vmpl = 0;
    if (o && o->version) version = o->version;
    else VT_GUARD(vt_json_get_int(&s, "report_version", OPT, INT32_MIN, INT32_MAX, &version, NULL));
    if (version != 2 && version != 3 && version != 5)
        return vt_error_set(err, VT_E_ARG, "emulate", "SNP report version %lld (emulated: 2, 3 or 5)", (long long)version);
    if (o && o->has_vmpl) vmpl = (int64_t)o->vmpl;
    else VT_GUARD(vt_json_get_int(&s, "vmpl", OPT, INT32_MIN, INT32_MAX, &vmpl, NULL));
    if (vmpl < 0 || vmpl > VT_SNP_VMPL_MAX)
        return vt_error_set(err, VT_E_ARG, "emulate", "VMPL %lld is outside 0..3", (long long)vmpl);
    vt_snp_report r;
    uint8_t rep[VT_SNP_REPORT_SIZE];
    EVP_PKEY *k = NULL;
    vt_buf t = {0};
    vt_writer w;
    vt_writer_init(&w, "SNP evidence", err);
    vt_err rc = VT_OK;
    VT_GUARD_GOTO(fill(&s, &p, (int)version, (uint32_t)vmpl, report_data, &r));
    VT_GUARD_GOTO(emu_load_key(e->dir, "snp_vcek.key.pem", &k, err));
    VT_GUARD_GOTO(sign(k, &r, rep, err));
    if (o != NULL && o->with_certtable) VT_GUARD_GOTO(vt_emu_snp_certtable(e, o->with_crl, &t, err));
    vt_write_bytes(&w, "report", rep, sizeof rep);
    vt_write_bytes(&w, "certificate table", t.ptr, t.len);
    rc = vt_writer_take(&w, &out->ptr, &out->len);
out:
    vt_writer_free(&w);
    vt_buf_free(&t);
    EVP_PKEY_free(k);
    return rc;
}
