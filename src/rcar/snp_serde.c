/* SEV-SNP evidence in the JSON shape CoCo guests send (kbs-protocol.md §8): the serde form of
 * the `sev` crate's AttestationReport (named fields, byte arrays as number arrays) rebuilt into
 * the 1184-byte ATTESTATION_REPORT (SNP ABI spec 56860, Table 23 offsets), and cert_chain
 * entries {cert_type, data: [bytes]} decoded as DER certificates. The forward direction is
 * evidence_json.c. */
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/json.h"
#include "veritee/rcar.h"

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static vt_err u64_field(const json_t *o, const char *key, uint64_t max, uint64_t *out, vt_error *err)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return vt_error_set(err, VT_E_INVALID, "snp_evidence", "attestation_report.%s: expected an integer 0..%llu",
                            key, (unsigned long long)max);
    *out = (uint64_t)json_integer_value(v);
    return VT_OK;
}

static vt_err bytes_field(const json_t *o, const char *key, uint8_t *out, size_t n, vt_error *err)
{
    json_t *a = json_object_get(o, key);
    if (!json_is_array(a) || json_array_size(a) != n)
        return vt_error_set(err, VT_E_INVALID, "snp_evidence", "attestation_report.%s: expected an array of %zu bytes", key, n);
    for (size_t i = 0; i < n; i++) {
        json_t *b = json_array_get(a, i);
        if (!json_is_integer(b) || json_integer_value(b) < 0 || json_integer_value(b) > 255)
            return vt_error_set(err, VT_E_INVALID, "snp_evidence", "attestation_report.%s[%zu]: expected a byte", key, i);
        out[i] = (uint8_t)json_integer_value(b);
    }
    return VT_OK;
}

/* TcbVersion {fmc?, bootloader, tee, snp, microcode}: an fmc member means the Turin layout. */
static vt_err tcb_field(const json_t *o, const char *key, uint8_t out[8], vt_error *err)
{
    json_t *t = json_object_get(o, key);
    if (!json_is_object(t)) return vt_error_set(err, VT_E_INVALID, "snp_evidence", "attestation_report.%s: expected an object", key);
    uint64_t bl, tee, snp, uc, fmc = 0;
    VT_GUARD(u64_field(t, "bootloader", 255, &bl, err));
    VT_GUARD(u64_field(t, "tee", 255, &tee, err));
    VT_GUARD(u64_field(t, "snp", 255, &snp, err));
    VT_GUARD(u64_field(t, "microcode", 255, &uc, err));
    json_t *f = json_object_get(t, "fmc");
    bool turin = f != NULL && !json_is_null(f);
    if (turin) VT_GUARD(u64_field(t, "fmc", 255, &fmc, err));
    vt_snp_tcb v = {.has_fmc = turin, .fmc = (uint8_t)fmc, .boot_loader = (uint8_t)bl, .tee = (uint8_t)tee,
                    .snp = (uint8_t)snp, .microcode = (uint8_t)uc};
    put_le(out, vt_snp_tcb_encode(&v, turin ? VT_SNP_TURIN : VT_SNP_MILAN), 8);
    return VT_OK;
}

static vt_err version_field(const json_t *o, const char *key, uint8_t out[4], vt_error *err)
{
    json_t *v = json_object_get(o, key);
    uint64_t ma, mi, b;
    if (!json_is_object(v)) return vt_error_set(err, VT_E_INVALID, "snp_evidence", "attestation_report.%s: expected an object", key);
    VT_GUARD(u64_field(v, "major", 255, &ma, err));
    VT_GUARD(u64_field(v, "minor", 255, &mi, err));
    VT_GUARD(u64_field(v, "build", 255, &b, err));
    out[0] = (uint8_t)b;
    out[1] = (uint8_t)mi;
    out[2] = (uint8_t)ma;
    return VT_OK;
}

static vt_err opt_u(const json_t *o, const char *key, uint64_t max, uint8_t *p, size_t n, bool *present, vt_error *err)
{
    json_t *v = json_object_get(o, key);
    *present = false;
    if (v == NULL || json_is_null(v)) return VT_OK;
    uint64_t x;
    VT_GUARD(u64_field(o, key, max, &x, err));
    put_le(p, x, n);
    *present = true;
    return VT_OK;
}

static vt_err rebuild(const json_t *r, uint8_t *p, vt_error *err)
{
    uint64_t v;
    bool has;
    memset(p, 0, VT_SNP_REPORT_SIZE);
    VT_GUARD(u64_field(r, "version", UINT32_MAX, &v, err)); put_le(p + 0x000, v, 4);
    VT_GUARD(u64_field(r, "guest_svn", UINT32_MAX, &v, err)); put_le(p + 0x004, v, 4);
    VT_GUARD(u64_field(r, "policy", INT64_MAX, &v, err)); put_le(p + 0x008, v, 8);
    VT_GUARD(bytes_field(r, "family_id", p + 0x010, 16, err));
    VT_GUARD(bytes_field(r, "image_id", p + 0x020, 16, err));
    VT_GUARD(u64_field(r, "vmpl", UINT32_MAX, &v, err)); put_le(p + 0x030, v, 4);
    VT_GUARD(u64_field(r, "sig_algo", UINT32_MAX, &v, err)); put_le(p + 0x034, v, 4);
    VT_GUARD(tcb_field(r, "current_tcb", p + 0x038, err));
    VT_GUARD(u64_field(r, "plat_info", INT64_MAX, &v, err)); put_le(p + 0x040, v, 8);
    VT_GUARD(u64_field(r, "key_info", UINT32_MAX, &v, err)); put_le(p + 0x048, v, 4);
    VT_GUARD(bytes_field(r, "report_data", p + 0x050, 64, err));
    VT_GUARD(bytes_field(r, "measurement", p + 0x090, 48, err));
    VT_GUARD(bytes_field(r, "host_data", p + 0x0C0, 32, err));
    VT_GUARD(bytes_field(r, "id_key_digest", p + 0x0E0, 48, err));
    VT_GUARD(bytes_field(r, "author_key_digest", p + 0x110, 48, err));
    VT_GUARD(bytes_field(r, "report_id", p + 0x140, 32, err));
    VT_GUARD(bytes_field(r, "report_id_ma", p + 0x160, 32, err));
    VT_GUARD(tcb_field(r, "reported_tcb", p + 0x180, err));
    VT_GUARD(opt_u(r, "cpuid_fam_id", 255, p + 0x188, 1, &has, err));
    VT_GUARD(opt_u(r, "cpuid_mod_id", 255, p + 0x189, 1, &has, err));
    VT_GUARD(opt_u(r, "cpuid_step", 255, p + 0x18A, 1, &has, err));
    VT_GUARD(bytes_field(r, "chip_id", p + 0x1A0, 64, err));
    VT_GUARD(tcb_field(r, "committed_tcb", p + 0x1E0, err));
    VT_GUARD(version_field(r, "current", p + 0x1E8, err));
    VT_GUARD(version_field(r, "committed", p + 0x1EC, err));
    VT_GUARD(tcb_field(r, "launch_tcb", p + 0x1F0, err));
    VT_GUARD(opt_u(r, "launch_mit_vector", INT64_MAX, p + 0x1F8, 8, &has, err));
    VT_GUARD(opt_u(r, "current_mit_vector", INT64_MAX, p + 0x200, 8, &has, err));
    json_t *sig = json_object_get(r, "signature");
    if (!json_is_object(sig)) return vt_error_set(err, VT_E_INVALID, "snp_evidence", "attestation_report.signature: expected an object");
    VT_GUARD(bytes_field(sig, "r", p + 0x2A0, 72, err));
    VT_GUARD(bytes_field(sig, "s", p + 0x2E8, 72, err));
    return VT_OK;
}

static vt_err cert_chain(const json_t *cc, STACK_OF(X509) *certs, vt_error *err)
{
    if (cc == NULL || json_is_null(cc)) return VT_OK;
    if (!json_is_array(cc) || json_array_size(cc) > 8)
        return vt_error_set(err, VT_E_INVALID, "snp_evidence", "cert_chain: expected an array of at most 8 entries");
    for (size_t i = 0; i < json_array_size(cc); i++) {
        json_t *e = json_array_get(cc, i), *d = json_object_get(e, "data");
        if (!json_is_object(e) || !json_is_string(json_object_get(e, "cert_type")) || !json_is_array(d) ||
            json_array_size(d) == 0 || json_array_size(d) > 16384)
            return vt_error_set(err, VT_E_INVALID, "snp_evidence", "cert_chain[%zu]: expected {cert_type, data: [bytes]}", i);
        size_t n = json_array_size(d);
        uint8_t *der = malloc(n);
        if (der == NULL) return vt_error_set(err, VT_E_NOMEM, "snp_evidence", "out of memory");
        for (size_t j = 0; j < n; j++) {
            json_t *b = json_array_get(d, j);
            if (!json_is_integer(b) || json_integer_value(b) < 0 || json_integer_value(b) > 255) {
                free(der);
                return vt_error_set(err, VT_E_INVALID, "snp_evidence", "cert_chain[%zu].data[%zu]: expected a byte", i, j);
            }
            der[j] = (uint8_t)json_integer_value(b);
        }
        const char *ty = json_string_value(json_object_get(e, "cert_type"));
        if (strcmp(ty, "VCEK") != 0 && strcmp(ty, "VLEK") != 0 && strcmp(ty, "ASK") != 0 && strcmp(ty, "ARK") != 0) {
            free(der); /* CRL and OTHER entries carry no certificate of the chain */
            continue;
        }
        const uint8_t *q = der;
        X509 *x = d2i_X509(NULL, &q, (long)n);
        bool whole = q == der + n;
        free(der);
        if (x == NULL || !whole) {
            X509_free(x);
            return vt_error_set(err, VT_E_INVALID, "snp_evidence", "cert_chain[%zu]: not a DER certificate", i);
        }
        if (certs == NULL || sk_X509_push(certs, x) <= 0) X509_free(x);
    }
    return VT_OK;
}

vt_err vt_rcar_snp_from_json(const json_t *ev, uint8_t report[VT_SNP_REPORT_SIZE], STACK_OF(X509) *certs,
                            vt_error *err)
{
    if (!json_is_object(ev)) return vt_error_set(err, VT_E_INVALID, "snp_evidence", "SNP evidence must be an object");
    json_t *r = json_object_get(ev, "attestation_report");
    if (!json_is_object(r)) return vt_error_set(err, VT_E_INVALID, "snp_evidence", "attestation_report: expected an object");
    VT_GUARD(rebuild(r, report, err));
    return cert_chain(json_object_get(ev, "cert_chain"), certs, err);
}
