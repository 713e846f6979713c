/* The evidence JSON forms of RCAR (kbs-protocol.md §8) as guests send them: the TDX quote with
 * its cc_eventlog, the `sev` crate's serde form of the SNP report with cert_chain, the CCA token
 * as a number array. The broker reads them back with vt_rcar_snp_from_json and its decoders. */
#include <stdlib.h>
#include <string.h>

#include "veritee/rcar.h"
#include "veritee/snp.h"

/* Base64 text is ASCII: jansson's UTF-8 check of it (as long as the quote) is skipped. */
static json_t *b64std(const uint8_t *p, size_t n)
{
    char *s = vt_b64_encode(p, n, false);
    json_t *j = s ? json_stringn_nocheck(s, strlen(s)) : NULL;
    free(s);
    return j;
}

static json_t *numbers(const uint8_t *p, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++)
        if (json_array_append_new(a, json_integer(p[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static vt_err done(json_t *o, bool ok, json_t **out, const char *check, vt_error *err)
{
    if (o == NULL || !ok) {
        json_decref(o);
        return vt_error_set(err, VT_E_NOMEM, check, "out of memory");
    }
    *out = o;
    return VT_OK;
}

vt_err vt_rcar_tdx_evidence_json(const uint8_t *quote, size_t len, const uint8_t *ccel, size_t ccel_len,
                                json_t **out, vt_error *err)
{
    *out = NULL;
    if (quote == NULL || len == 0) return vt_error_set(err, VT_E_ARG, "kbs_tdx_evidence", "empty quote");
    json_t *o = json_object();
    bool ok = o && json_object_set_new(o, "quote", b64std(quote, len)) == 0 &&
              json_object_set_new(o, "cc_eventlog", ccel && ccel_len ? b64std(ccel, ccel_len) : json_null()) == 0;
    return done(o, ok, out, "kbs_tdx_evidence", err);
}

vt_err vt_rcar_cca_evidence_json(const uint8_t *token, size_t len, json_t **out, vt_error *err)
{
    *out = NULL;
    if (token == NULL || len == 0) return vt_error_set(err, VT_E_ARG, "kbs_cca_evidence", "empty token");
    json_t *o = json_object();
    bool ok = o && json_object_set_new(o, "token", numbers(token, len)) == 0;
    return done(o, ok, out, "kbs_cca_evidence", err);
}

/* TcbVersion as the sev crate serialises it: {fmc (Turin only, else null), bootloader, tee, snp,
 * microcode}. */
static json_t *tcb_json(uint64_t raw, vt_snp_product p)
{
    vt_snp_tcb t;
    vt_snp_tcb_decode(raw, p, &t);
    return json_pack("{s:o, s:i, s:i, s:i, s:i}", "fmc", t.has_fmc ? json_integer(t.fmc) : json_null(),
                     "bootloader", t.boot_loader, "tee", t.tee, "snp", t.snp, "microcode", t.microcode);
}

static json_t *version_json(const vt_snp_fw_version *v)
{
    return json_pack("{s:i, s:i, s:i}", "major", v->major, "minor", v->minor, "build", v->build);
}

static json_t *opt_u8(bool has, uint8_t v)
{
    return has ? json_integer(v) : json_null();
}

static json_t *opt_u64(bool has, uint64_t v)
{
    /* jansson integers are signed 64-bit: a mitigation vector with bit 63 set cannot be carried */
    return has && v <= INT64_MAX ? json_integer((json_int_t)v) : json_null();
}

/* Whether every TCB and the mitigation vectors fit the serde form (named TCB components only; u64
 * through jansson's signed integers): otherwise the server could not rebuild the signed bytes. */
static vt_err snp_representable(const uint8_t *raw, const vt_snp_report *r, vt_snp_product p, vt_error *err)
{
    for (size_t i = VT_SNP_OFF_SIGNATURE_END; i < VT_SNP_REPORT_SIZE; i++) /* past r and s: only r, s are carried */
        if (raw[i] != 0)
            return vt_error_set(err, VT_E_UNSUPPORTED, "kbs_snp_evidence",
                                "signature bytes past r and s (offset 0x%zx) are not zero: not representable "
                                "in the serde evidence form", i);
    const uint64_t tcbs[] = {r->current_tcb, r->reported_tcb, r->committed_tcb, r->launch_tcb};
    static const char *const names[] = {"current_tcb", "reported_tcb", "committed_tcb", "launch_tcb"};
    for (size_t i = 0; i < 4; i++) {
        vt_snp_tcb t;
        vt_snp_tcb_decode(tcbs[i], p, &t);
        if (vt_snp_tcb_encode(&t, p) != tcbs[i])
            return vt_error_set(err, VT_E_UNSUPPORTED, "kbs_snp_evidence",
                                "%s 0x%016llx has non-zero reserved bytes for %s: not representable in the "
                                "serde evidence form", names[i], (unsigned long long)tcbs[i], vt_snp_product_name(p));
    }
    if (r->has_mit_vectors && (r->launch_mit_vector > INT64_MAX || r->current_mit_vector > INT64_MAX))
        return vt_error_set(err, VT_E_UNSUPPORTED, "kbs_snp_evidence",
                            "mitigation vector with bit 63 set: not representable in JSON integers here");
    return VT_OK;
}

static vt_snp_product snp_product(const vt_snp_report *r)
{
    vt_snp_product p = r->has_cpuid ? vt_snp_product_from_cpuid(r->cpuid_fam_id, r->cpuid_mod_id) : VT_SNP_MILAN;
    return p == VT_SNP_PRODUCT_UNKNOWN ? VT_SNP_MILAN : p;
}

/* The report's serde form (kbs-protocol.md §8, snp). Byte arrays are number arrays in report
 * order; the signature's r and s keep their 72-byte little-endian layout. */
static json_t *snp_report_json(const uint8_t *p, const vt_snp_report *r)
{
    vt_snp_product prod = snp_product(r);
    json_t *o = json_object();
    if (o == NULL) return NULL;
    int bad = 0;
#define SET(k, v) bad |= json_object_set_new(o, k, v)
    SET("version", json_integer(r->version));
    SET("guest_svn", json_integer(r->guest_svn));
    SET("policy", json_integer((json_int_t)r->policy.raw));
    SET("family_id", numbers(r->family_id, 16));
    SET("image_id", numbers(r->image_id, 16));
    SET("vmpl", json_integer(r->vmpl));
    SET("sig_algo", json_integer(r->signature_algo));
    SET("current_tcb", tcb_json(r->current_tcb, prod));
    SET("plat_info", json_integer((json_int_t)r->platform_info.raw));
    SET("key_info", json_integer(r->key_info));
    SET("report_data", numbers(r->report_data, 64));
    SET("measurement", numbers(r->measurement, 48));
    SET("host_data", numbers(r->host_data, 32));
    SET("id_key_digest", numbers(r->id_key_digest, 48));
    SET("author_key_digest", numbers(r->author_key_digest, 48));
    SET("report_id", numbers(r->report_id, 32));
    SET("report_id_ma", numbers(r->report_id_ma, 32));
    SET("reported_tcb", tcb_json(r->reported_tcb, prod));
    SET("cpuid_fam_id", opt_u8(r->has_cpuid, r->cpuid_fam_id));
    SET("cpuid_mod_id", opt_u8(r->has_cpuid, r->cpuid_mod_id));
    SET("cpuid_step", opt_u8(r->has_cpuid, r->cpuid_step));
    SET("chip_id", numbers(r->chip_id, 64));
    SET("committed_tcb", tcb_json(r->committed_tcb, prod));
    SET("current", version_json(&r->current_version));
    SET("committed", version_json(&r->committed_version));
    SET("launch_tcb", tcb_json(r->launch_tcb, prod));
    SET("launch_mit_vector", opt_u64(r->has_mit_vectors, r->launch_mit_vector));
    SET("current_mit_vector", opt_u64(r->has_mit_vectors, r->current_mit_vector));
    SET("signature", json_pack("{s:o, s:o}", "r", numbers(p + VT_SNP_OFF_SIGNATURE_R, VT_SNP_SIG_COMPONENT_SIZE), "s",
                                    numbers(p + VT_SNP_OFF_SIGNATURE_S, VT_SNP_SIG_COMPONENT_SIZE)));
#undef SET
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* cert_chain entries {cert_type: "VCEK"|"VLEK"|"ASK"|"ARK"|"CRL"|"OTHER", data: [bytes]}; null
 * when the table is empty. */
static vt_err cert_chain_json(const uint8_t *ct, size_t len, json_t **out, vt_error *err)
{
    static const char *const names[] = {"OTHER", "VCEK", "VLEK", "ASK", "ARK", "CRL"};
    vt_snp_certtable t;
    *out = NULL;
    if (ct == NULL || len == 0) {
        *out = json_null();
        return VT_OK;
    }
    VT_GUARD(vt_snp_certtable_parse(ct, len, &t, err));
    if (t.n == 0) {
        *out = json_null();
        return VT_OK;
    }
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < t.n; i++) {
        const vt_snp_cert_entry *e = &t.entries[i];
        json_t *d = numbers(e->data.ptr, e->data.len);
        json_t *x = d ? json_pack("{s:s, s:o}", "cert_type", names[e->kind], "data", d) : NULL;
        if (x == NULL || json_array_append_new(a, x) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    if (a == NULL) return vt_error_set(err, VT_E_NOMEM, "kbs_snp_evidence", "out of memory");
    *out = a;
    return VT_OK;
}

vt_err vt_rcar_snp_evidence_json(const uint8_t *report, size_t len, const uint8_t *certtable, size_t ct_len,
                                json_t **out, vt_error *err)
{
    *out = NULL;
    vt_snp_report r;
    VT_GUARD(vt_snp_report_parse(report, len, &r, err));
    VT_GUARD(snp_representable(report, &r, snp_product(&r), err));
    json_t *chain = NULL;
    VT_GUARD(cert_chain_json(certtable, ct_len, &chain, err));
    json_t *rep = snp_report_json(report, &r);
    json_t *o = json_object();
    bool ok = rep != NULL && o != NULL;
    if (ok) {
        ok = json_object_set_new(o, "attestation_report", rep) == 0;
        rep = NULL;
        ok = json_object_set_new(o, "cert_chain", chain) == 0 && ok;
        chain = NULL;
    }
    json_decref(rep);
    json_decref(chain);
    return done(o, ok, out, "kbs_snp_evidence", err);
}

vt_err vt_rcar_evidence_json(const char *tee, const uint8_t *ev, size_t len, json_t **out, vt_error *err)
{
    *out = NULL;
    if (strcmp(tee, "tdx") == 0 || strcmp(tee, "sgx") == 0) {
        char *b = vt_b64_encode(ev, len, false);
        if (b == NULL) return vt_error_set(err, VT_E_NOMEM, "evidence", "out of memory");
        *out = strcmp(tee, "tdx") == 0 ? json_pack("{ss so}", "quote", b, "cc_eventlog", json_null())
                                       : json_pack("{ss}", "quote", b);
        free(b);
    } else if (strcmp(tee, "snp") == 0) {
        vt_bytes rep, table;
        VT_GUARD(vt_snp_evidence_split(ev, len, &rep, &table, err));
        return vt_rcar_snp_evidence_json(rep.ptr, rep.len, table.ptr, table.len, out, err);
    } else if (strcmp(tee, "cca") == 0) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < len; i++) json_array_append_new(a, json_integer(ev[i]));
        *out = json_pack("{so}", "token", a);
    } else {
        return vt_error_set(err, VT_E_UNSUPPORTED, "tee", "no evidence shape for TEE '%.16s'", tee);
    }
    return *out ? VT_OK : vt_error_set(err, VT_E_NOMEM, "evidence", "out of memory");
}
