/* SEV-SNP evidence in the JSON shape CoCo guests send (kbs-protocol.md §8): the serde form of
 * the `sev` crate's AttestationReport (named fields, byte arrays as number arrays) rebuilt into
 * the 1184-byte ATTESTATION_REPORT by the SNP layer's encoder (Table 23 is in veritee/snp.h),
 * and cert_chain entries {cert_type, data: [bytes]} decoded as DER certificates. The forward
 * direction is evidence_json.c. */
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/json.h"
#include "veritee/rcar.h"
#include "veritee/x509.h"

#define REQ VT_JSON_REQUIRED

/* serde integers are JSON integers */
static vt_err uint_field(const vt_json_in *o, const char *key, vt_json_need need, uint64_t max, uint64_t *out,
                         bool *given)
{
    int64_t v = (int64_t)*out;
    VT_GUARD(vt_json_get_int(o, key, need, 0, (int64_t)(max > INT64_MAX ? INT64_MAX : max), &v, given));
    *out = (uint64_t)v;
    return VT_OK;
}

/* serde byte arrays: [0..255, ...] of exactly n elements */
static vt_err bytes_field(const vt_json_in *o, const char *key, uint8_t *out, size_t n)
{
    const json_t *a;
    char p[VT_JSON_PATH_MAX + 72];
    VT_GUARD(vt_json_get_arr(o, key, REQ, n, n, &a, NULL));
    vt_json_path(p, sizeof p, o->path, key);
    for (size_t i = 0; i < n; i++) {
        const json_t *b = json_array_get(a, i);
        if (!json_is_integer(b) || json_integer_value(b) < 0 || json_integer_value(b) > 255)
            return vt_error_set(o->err, VT_E_INVALID, o->check, "%s[%zu]: expected a byte", p, i);
        out[i] = (uint8_t)json_integer_value(b);
    }
    return VT_OK;
}

/* TcbVersion {fmc?, bootloader, tee, snp, microcode}: an fmc member means the Turin layout. */
static vt_err tcb_field(const vt_json_in *o, const char *key, uint64_t *out)
{
    vt_json_in t;
    uint64_t bl = 0, tee = 0, snp = 0, uc = 0, fmc = 0;
    bool turin;
    VT_GUARD(vt_json_get_obj(o, key, REQ, &t, NULL));
    VT_GUARD(uint_field(&t, "bootloader", REQ, 255, &bl, NULL));
    VT_GUARD(uint_field(&t, "tee", REQ, 255, &tee, NULL));
    VT_GUARD(uint_field(&t, "snp", REQ, 255, &snp, NULL));
    VT_GUARD(uint_field(&t, "microcode", REQ, 255, &uc, NULL));
    VT_GUARD(uint_field(&t, "fmc", VT_JSON_NULLABLE, 255, &fmc, &turin));
    vt_snp_tcb v = {.has_fmc = turin, .fmc = (uint8_t)fmc, .boot_loader = (uint8_t)bl, .tee = (uint8_t)tee,
                    .snp = (uint8_t)snp, .microcode = (uint8_t)uc};
    *out = vt_snp_tcb_encode(&v, turin ? VT_SNP_TURIN : VT_SNP_MILAN);
    return VT_OK;
}

static vt_err version_field(const vt_json_in *o, const char *key, vt_snp_fw_version *out)
{
    vt_json_in v;
    uint64_t ma = 0, mi = 0, b = 0;
    VT_GUARD(vt_json_get_obj(o, key, REQ, &v, NULL));
    VT_GUARD(uint_field(&v, "major", REQ, 255, &ma, NULL));
    VT_GUARD(uint_field(&v, "minor", REQ, 255, &mi, NULL));
    VT_GUARD(uint_field(&v, "build", REQ, 255, &b, NULL));
    *out = (vt_snp_fw_version){.major = (uint8_t)ma, .minor = (uint8_t)mi, .build = (uint8_t)b};
    return VT_OK;
}

/* r or s: 72 little-endian bytes of which P-384 uses 48; the rest must be zero. */
static vt_err sig_field(const vt_json_in *o, const char *key, uint8_t be[48])
{
    uint8_t le[VT_SNP_SIG_COMPONENT_SIZE];
    VT_GUARD(bytes_field(o, key, le, sizeof le));
    if (!vt_bytes_is_zero(le + 48, sizeof le - 48))
        return vt_json_fail(o, key, "bytes 48..71 must be zero (a P-384 value is 48 bytes)");
    for (size_t i = 0; i < 48; i++) be[i] = le[47 - i];
    return VT_OK;
}

/* The serde fields into a vt_snp_report, then laid out by the SNP layer's encoder. */
static vt_err rebuild(const vt_json_in *r, uint8_t *p)
{
    vt_snp_report o;
    uint64_t v = 0, c[3] = {0};
    bool has[3] = {false, false, false}, has_mit[2] = {false, false};
    memset(&o, 0, sizeof o);
    VT_GUARD(uint_field(r, "version", REQ, UINT32_MAX, &v, NULL));
    o.version = (uint32_t)v;
    VT_GUARD(uint_field(r, "guest_svn", REQ, UINT32_MAX, &v, NULL));
    o.guest_svn = (uint32_t)v;
    VT_GUARD(uint_field(r, "policy", REQ, INT64_MAX, &o.policy.raw, NULL));
    VT_GUARD(bytes_field(r, "family_id", o.family_id, sizeof o.family_id));
    VT_GUARD(bytes_field(r, "image_id", o.image_id, sizeof o.image_id));
    VT_GUARD(uint_field(r, "vmpl", REQ, UINT32_MAX, &v, NULL));
    o.vmpl = (uint32_t)v;
    VT_GUARD(uint_field(r, "sig_algo", REQ, UINT32_MAX, &v, NULL));
    o.signature_algo = (uint32_t)v;
    VT_GUARD(tcb_field(r, "current_tcb", &o.current_tcb));
    VT_GUARD(uint_field(r, "plat_info", REQ, INT64_MAX, &o.platform_info.raw, NULL));
    VT_GUARD(uint_field(r, "key_info", REQ, UINT32_MAX, &v, NULL));
    o.key_info = (uint32_t)v;
    VT_GUARD(bytes_field(r, "report_data", o.report_data, sizeof o.report_data));
    VT_GUARD(bytes_field(r, "measurement", o.measurement, sizeof o.measurement));
    VT_GUARD(bytes_field(r, "host_data", o.host_data, sizeof o.host_data));
    VT_GUARD(bytes_field(r, "id_key_digest", o.id_key_digest, sizeof o.id_key_digest));
    VT_GUARD(bytes_field(r, "author_key_digest", o.author_key_digest, sizeof o.author_key_digest));
    VT_GUARD(bytes_field(r, "report_id", o.report_id, sizeof o.report_id));
    VT_GUARD(bytes_field(r, "report_id_ma", o.report_id_ma, sizeof o.report_id_ma));
    VT_GUARD(tcb_field(r, "reported_tcb", &o.reported_tcb));
    static const char *const cpuid[3] = {"cpuid_fam_id", "cpuid_mod_id", "cpuid_step"};
    for (int i = 0; i < 3; i++) VT_GUARD(uint_field(r, cpuid[i], VT_JSON_NULLABLE, 255, &c[i], &has[i]));
    /* present ones are laid out; a v2 report with them fails the parser's reserved check */
    o.has_cpuid = has[0] || has[1] || has[2];
    o.cpuid_fam_id = (uint8_t)c[0];
    o.cpuid_mod_id = (uint8_t)c[1];
    o.cpuid_step = (uint8_t)c[2];
    VT_GUARD(bytes_field(r, "chip_id", o.chip_id, sizeof o.chip_id));
    VT_GUARD(tcb_field(r, "committed_tcb", &o.committed_tcb));
    VT_GUARD(version_field(r, "current", &o.current_version));
    VT_GUARD(version_field(r, "committed", &o.committed_version));
    VT_GUARD(tcb_field(r, "launch_tcb", &o.launch_tcb));
    VT_GUARD(uint_field(r, "launch_mit_vector", VT_JSON_NULLABLE, INT64_MAX, &o.launch_mit_vector, &has_mit[0]));
    VT_GUARD(uint_field(r, "current_mit_vector", VT_JSON_NULLABLE, INT64_MAX, &o.current_mit_vector, &has_mit[1]));
    o.has_mit_vectors = has_mit[0] || has_mit[1];
    vt_json_in sig;
    VT_GUARD(vt_json_get_obj(r, "signature", REQ, &sig, NULL));
    VT_GUARD(sig_field(&sig, "r", o.sig_r));
    VT_GUARD(sig_field(&sig, "s", o.sig_s));
    return vt_snp_report_encode(&o, p, r->err);
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
        vt_x509_settle(x);
        if (certs == NULL || sk_X509_push(certs, x) <= 0) X509_free(x);
    }
    return VT_OK;
}

vt_err vt_rcar_snp_from_json(const json_t *ev, uint8_t report[VT_SNP_REPORT_SIZE], STACK_OF(X509) *certs,
                            vt_error *err)
{
    if (!json_is_object(ev)) return vt_error_set(err, VT_E_INVALID, "snp_evidence", "SNP evidence must be an object");
    vt_json_in top, r;
    VT_GUARD(vt_json_in_init(&top, ev, "", "snp_evidence", err));
    VT_GUARD(vt_json_get_obj(&top, "attestation_report", REQ, &r, NULL));
    VT_GUARD(rebuild(&r, report));
    return cert_chain(json_object_get(ev, "cert_chain"), certs, err);
}
