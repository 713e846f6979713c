/* Realm Initial Measurement from a realm configuration (JSON, docs/measure.md) and the blobs
 * the VMM loads, in the veraison realm-VM order: REALM_CREATE, INIT_RIPAS, DATA_CREATE in
 * ascending IPA, REC_CREATE, unmeasured DATA_CREATE (specs/measurements.md section 3.4).
 * Shared by `veritee measure cca` and the emulated realm, so both show the same RIM. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/codec.h"
#include "veritee/measure.h"

static vt_err num(const json_t *o, const char *key, uint64_t max, bool required, uint64_t *out, vt_error *err)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL) {
        if (required) return vt_error_set(err, VT_E_INVALID, "realm_config", "realm config: '%s' is required", key);
        return VT_OK;
    }
    if (json_is_integer(v) && json_integer_value(v) >= 0 && (uint64_t)json_integer_value(v) <= max) {
        *out = (uint64_t)json_integer_value(v);
        return VT_OK;
    }
    const char *s = json_string_value(v);
    if (s != NULL && *s != '\0' && *s != '-') {
        char *end;
        errno = 0;
        unsigned long long x = strtoull(s, &end, 0);
        if (errno == 0 && *end == '\0' && x <= max) {
            *out = x;
            return VT_OK;
        }
    }
    return vt_error_set(err, VT_E_INVALID, "realm_config",
                        "realm config: '%s' must be a non-negative integer up to %llu", key, (unsigned long long)max);
}

static vt_err flag(const json_t *o, const char *key, bool *out, vt_error *err)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL) return VT_OK;
    if (!json_is_boolean(v))
        return vt_error_set(err, VT_E_INVALID, "realm_config", "realm config: '%s' must be true or false", key);
    *out = json_is_true(v);
    return VT_OK;
}

static vt_err known_keys(const json_t *cfg, vt_error *err)
{
    static const char *keys[] = {"rmm_version", "hash_algo", "ipa_bits", "lpa2", "sve_vl", "pmu",
                                 "pmu_num_ctrs", "num_bps", "num_wps", "ram", "kernel_ipa",
                                 "initrd_ipa", "dtb_ipa", "rec", "unmeasured", "comment"};
    const char *k;
    json_t *v;
    if (!json_is_object(cfg)) return vt_error_set(err, VT_E_INVALID, "realm_config", "realm config must be an object");
    json_object_foreach((json_t *)cfg, k, v) {
        size_t i = 0;
        while (i < sizeof keys / sizeof keys[0] && strcmp(k, keys[i]) != 0) i++;
        if (i == sizeof keys / sizeof keys[0])
            return vt_error_set(err, VT_E_INVALID, "realm_config", "realm config: unknown key '%.40s'", k);
    }
    return VT_OK;
}

static vt_err realm_params(const json_t *cfg, vt_cca_rmm_version *rmm, vt_cca_realm_params *p, vt_error *err)
{
    const char *ver = json_string_value(json_object_get(cfg, "rmm_version"));
    const char *alg = json_string_value(json_object_get(cfg, "hash_algo"));
    uint64_t ipa = 0, sve = 0, ctrs = 0, bps = 2, wps = 2;
    if (ver == NULL || alg == NULL)
        return vt_error_set(err, VT_E_INVALID, "realm_config", "realm config needs \"rmm_version\" and \"hash_algo\" strings");
    if (strcmp(ver, "1.0") == 0) *rmm = VT_CCA_RMM_1_0;
    else if (strcmp(ver, "2.0") == 0) *rmm = VT_CCA_RMM_2_0;
    else return vt_error_set(err, VT_E_INVALID, "realm_config", "rmm_version '%.16s': 1.0 or 2.0", ver);
    if (strcmp(alg, "sha256") == 0) p->alg = VT_SHA256;
    else if (strcmp(alg, "sha512") == 0) p->alg = VT_SHA512;
    else if (strcmp(alg, "sha384") == 0) p->alg = VT_SHA384;
    else return vt_error_set(err, VT_E_INVALID, "realm_config", "hash_algo '%.16s': sha256, sha512 or sha384", alg);
    VT_GUARD(num(cfg, "ipa_bits", 64, true, &ipa, err));
    VT_GUARD(num(cfg, "sve_vl", 4096, false, &sve, err));
    VT_GUARD(num(cfg, "pmu_num_ctrs", 64, false, &ctrs, err));
    VT_GUARD(num(cfg, "num_bps", 64, false, &bps, err));
    VT_GUARD(num(cfg, "num_wps", 64, false, &wps, err));
    VT_GUARD(flag(cfg, "lpa2", &p->lpa2, err));
    VT_GUARD(flag(cfg, "pmu", &p->pmu, err));
    p->ipa_bits = (uint32_t)ipa;
    p->sve_vl = (uint32_t)sve;
    p->pmu_num_ctrs = (uint32_t)ctrs;
    p->num_bps = (uint32_t)bps;
    p->num_wps = (uint32_t)wps;
    return VT_OK;
}

static int cmp_blob(const void *a, const void *b)
{
    const vt_cca_blob *x = a, *y = b;
    return x->ipa < y->ipa ? -1 : x->ipa > y->ipa;
}

static json_t *sha256_hex(const uint8_t *p, size_t n)
{
    uint8_t d[32];
    char h[65];
    vt_hash(VT_SHA256, p, n, d, NULL);
    vt_hex_encode(d, 32, h);
    return json_string(h);
}

static vt_err rec_regs(const json_t *cfg, const vt_cca_blob *blobs, size_t nb, uint64_t *pc, uint64_t gprs[8],
                       vt_error *err)
{
    for (size_t i = 0; i < nb; i++) {
        if (strcmp(blobs[i].name, "kernel") == 0) *pc = blobs[i].ipa;
        if (strcmp(blobs[i].name, "dtb") == 0) gprs[0] = blobs[i].ipa;
    }
    const json_t *rec = json_object_get(cfg, "rec");
    if (rec == NULL) return VT_OK;
    VT_GUARD(num(rec, "pc", UINT64_MAX, false, pc, err));
    const json_t *g = json_object_get(rec, "gprs");
    if (g != NULL && (!json_is_array(g) || json_array_size(g) > 8))
        return vt_error_set(err, VT_E_INVALID, "realm_config", "rec.gprs must be an array of at most 8 values");
    for (size_t i = 0; g != NULL && i < json_array_size(g); i++) {
        json_t *wrap = json_pack("{s:O}", "x", json_array_get(g, i));
        vt_err rc = num(wrap, "x", UINT64_MAX, true, &gprs[i], err);
        json_decref(wrap);
        if (rc != VT_OK) return vt_error_wrap(err, "rec.gprs[%zu]", i);
    }
    return VT_OK;
}

vt_err vt_cca_rim_from_config(const json_t *cfg, vt_cca_blob *blobs, size_t nb, vt_cca_rim *st, json_t *inputs,
                              vt_error *err)
{
    vt_cca_rmm_version rmm = VT_CCA_RMM_1_0;
    vt_cca_realm_params p = {0};
    VT_GUARD(known_keys(cfg, err));
    VT_GUARD(realm_params(cfg, &rmm, &p, err));
    for (size_t i = 0; i < nb; i++) {
        char key[32];
        snprintf(key, sizeof key, "%s_ipa", blobs[i].name);
        VT_GUARD(num(cfg, key, UINT64_MAX, true, &blobs[i].ipa, err));
    }
    VT_GUARD(vt_cca_rim_init(st, rmm, &p, err));
    const json_t *ram = json_object_get(cfg, "ram"), *r;
    size_t i;
    if (ram != NULL && !json_is_array(ram))
        return vt_error_set(err, VT_E_INVALID, "realm_config", "ram must be an array of {base, size}");
    json_array_foreach(ram, i, r) {
        uint64_t base = 0, size = 0;
        VT_GUARD(num(r, "base", UINT64_MAX, true, &base, err));
        VT_GUARD(num(r, "size", UINT64_MAX, true, &size, err));
        if (base + size < base) return vt_error_set(err, VT_E_INVALID, "realm_config", "ram[%zu] wraps", i);
        VT_GUARD(vt_cca_rim_init_ripas(st, base, base + size, err));
    }
    qsort(blobs, nb, sizeof *blobs, cmp_blob);
    for (i = 0; i < nb; i++) {
        uint64_t end = blobs[i].ipa + blobs[i].len;
        if (i + 1 < nb && ((end + VT_MEASURE_PAGE - 1) & ~(uint64_t)(VT_MEASURE_PAGE - 1)) >
                              (blobs[i + 1].ipa & ~(uint64_t)(VT_MEASURE_PAGE - 1)))
            return vt_error_set(err, VT_E_INVALID, "realm_config", "%s and %s share or overlap granules",
                                blobs[i].name, blobs[i + 1].name);
        VT_GUARD(vt_cca_rim_data(st, blobs[i].ipa, blobs[i].data, blobs[i].len, true, err));
        if (inputs != NULL) {
            char ipa[24];
            snprintf(ipa, sizeof ipa, "0x%llx", (unsigned long long)blobs[i].ipa);
            json_object_set_new(inputs, blobs[i].name,
                                json_pack("{s:s, s:s, s:o, s:I}", "file", blobs[i].path ? blobs[i].path : "",
                                          "ipa", ipa, "sha256", sha256_hex(blobs[i].data, blobs[i].len), "size",
                                          (json_int_t)blobs[i].len));
        }
    }
    uint64_t pc = 0, gprs[8] = {0};
    VT_GUARD(rec_regs(cfg, blobs, nb, &pc, gprs, err));
    VT_GUARD(vt_cca_rim_rec(st, true, pc, gprs, err));
    const json_t *um = json_object_get(cfg, "unmeasured"), *u;
    json_array_foreach(um, i, u) {
        uint64_t ipa = 0, size = 0;
        VT_GUARD(num(u, "ipa", UINT64_MAX, true, &ipa, err));
        VT_GUARD(num(u, "size", UINT64_MAX >> 1, true, &size, err));
        VT_GUARD(vt_cca_rim_data(st, ipa, NULL, (size_t)size, false, err));
    }
    if (inputs != NULL) {
        json_object_set_new(inputs, "rmm_version", json_string(rmm == VT_CCA_RMM_1_0 ? "1.0" : "2.0"));
        json_object_set_new(inputs, "hash_algo", json_string(vt_hash_name(p.alg)));
        char pcs[24];
        snprintf(pcs, sizeof pcs, "0x%llx", (unsigned long long)pc);
        json_object_set_new(inputs, "rec_pc", json_string(pcs));
    }
    return VT_OK;
}
