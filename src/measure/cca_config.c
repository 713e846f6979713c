/* Realm Initial Measurement from a realm configuration (JSON, docs/measure.md) and the blobs
 * the VMM loads, in the veraison realm-VM order: REALM_CREATE, INIT_RIPAS, DATA_CREATE in
 * ascending IPA, REC_CREATE, unmeasured DATA_CREATE (specs/measurements.md section 3.4).
 * Shared by `veritee measure cca` and the emulated realm, so both show the same RIM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/codec.h"
#include "veritee/json.h"
#include "veritee/measure.h"

#define CHECK "realm_config"
#define OPT VT_JSON_OPTIONAL
#define REQ VT_JSON_REQUIRED

static vt_err known_keys(const vt_json_in *cfg)
{
    static const char *const keys[] = {"rmm_version", "hash_algo", "ipa_bits", "lpa2", "sve_vl", "pmu",
                                       "pmu_num_ctrs", "num_bps", "num_wps", "ram", "kernel_ipa",
                                       "initrd_ipa", "dtb_ipa", "rec", "unmeasured", "comment", NULL};
    return vt_json_keys(cfg, keys);
}

static vt_err realm_params(const vt_json_in *cfg, vt_cca_rmm_version *rmm, vt_cca_realm_params *p, vt_error *err)
{
    const char *ver = NULL, *alg = NULL;
    uint64_t ipa = 0, sve = 0, ctrs = 0, bps = 2, wps = 2;
    VT_GUARD(vt_json_get_str(cfg, "rmm_version", REQ, &ver, NULL));
    VT_GUARD(vt_json_get_str(cfg, "hash_algo", REQ, &alg, NULL));
    if (strcmp(ver, "1.0") == 0) *rmm = VT_CCA_RMM_1_0;
    else if (strcmp(ver, "2.0") == 0) *rmm = VT_CCA_RMM_2_0;
    else return vt_error_set(err, VT_E_INVALID, "realm_config", "rmm_version '%.16s': 1.0 or 2.0", ver);
    if (strcmp(alg, "sha256") == 0) p->alg = VT_SHA256;
    else if (strcmp(alg, "sha512") == 0) p->alg = VT_SHA512;
    else if (strcmp(alg, "sha384") == 0) p->alg = VT_SHA384;
    else return vt_error_set(err, VT_E_INVALID, "realm_config", "hash_algo '%.16s': sha256, sha512 or sha384", alg);
    VT_GUARD(vt_json_get_u64(cfg, "ipa_bits", REQ, 64, &ipa, NULL));
    VT_GUARD(vt_json_get_u64(cfg, "sve_vl", OPT, 4096, &sve, NULL));
    VT_GUARD(vt_json_get_u64(cfg, "pmu_num_ctrs", OPT, 64, &ctrs, NULL));
    VT_GUARD(vt_json_get_u64(cfg, "num_bps", OPT, 64, &bps, NULL));
    VT_GUARD(vt_json_get_u64(cfg, "num_wps", OPT, 64, &wps, NULL));
    VT_GUARD(vt_json_get_bool(cfg, "lpa2", OPT, &p->lpa2, NULL));
    VT_GUARD(vt_json_get_bool(cfg, "pmu", OPT, &p->pmu, NULL));
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

/* Unmeasured DATA (a measurement log, say) costs one measurement per 4 KiB granule: a hostile
 * size would keep the measurement running for hours (fuzz_cca_realm_config found 4 TB). RAM
 * goes in "ram", whose RIPAS blocks are measured whole. */
#define UNMEASURED_MAX (1ull << 30)

typedef struct ram_range {
    uint64_t base, top;
} ram_range;

static int cmp_range(const void *a, const void *b)
{
    const ram_range *x = a, *y = b;
    return x->base < y->base ? -1 : x->base > y->base;
}

/* RIPAS is initialised once per granule: overlapping ranges are refused, which also bounds the
 * RTT blocks they take by the IPA space. (Checked on a sorted copy: the ranges are measured in
 * the order the config gives them.) */
static vt_err ram_disjoint(const ram_range *given, size_t n, vt_error *err)
{
    if (n < 2) return VT_OK;
    ram_range *rg = malloc(n * sizeof *rg);
    if (rg == NULL) return vt_error_set(err, VT_E_NOMEM, CHECK, "out of memory");
    memcpy(rg, given, n * sizeof *rg);
    qsort(rg, n, sizeof *rg, cmp_range);
    vt_err rc = VT_OK;
    for (size_t i = 1; i < n && rc == VT_OK; i++)
        if (rg[i].base < rg[i - 1].top)
            rc = vt_error_set(err, VT_E_INVALID, CHECK, "ram: ranges 0x%llx..0x%llx and 0x%llx..0x%llx overlap",
                              (unsigned long long)rg[i - 1].base, (unsigned long long)rg[i - 1].top,
                              (unsigned long long)rg[i].base, (unsigned long long)rg[i].top);
    free(rg);
    return rc;
}

static json_t *sha256_hex(const uint8_t *p, size_t n)
{
    uint8_t d[32];
    char h[65];
    if (vt_hash(VT_SHA256, p, n, d, NULL) != VT_OK) return NULL;
    vt_hex_encode(d, 32, h);
    return json_string(h);
}

static vt_err rec_regs(const vt_json_in *cfg, const vt_cca_blob *blobs, size_t nb, uint64_t *pc, uint64_t gprs[8],
                       vt_error *err)
{
    for (size_t i = 0; i < nb; i++) {
        if (strcmp(blobs[i].name, "kernel") == 0) *pc = blobs[i].ipa;
        if (strcmp(blobs[i].name, "dtb") == 0) gprs[0] = blobs[i].ipa;
    }
    vt_json_in rec;
    bool given;
    const json_t *g = NULL;
    VT_GUARD(vt_json_get_obj(cfg, "rec", OPT, &rec, &given));
    if (!given) return VT_OK;
    VT_GUARD(vt_json_get_u64(&rec, "pc", OPT, UINT64_MAX, pc, NULL));
    VT_GUARD(vt_json_get_arr(&rec, "gprs", OPT, 0, 8, &g, NULL));
    for (size_t i = 0; g != NULL && i < json_array_size(g); i++) {
        char path[32];
        snprintf(path, sizeof path, "rec.gprs[%zu]", i);
        VT_GUARD(vt_json_u64_value(json_array_get(g, i), path, UINT64_MAX, &gprs[i], CHECK, err));
    }
    return VT_OK;
}

vt_err vt_cca_rim_from_config(const json_t *cfg_json, vt_cca_blob *blobs, size_t nb, vt_cca_rim *st, json_t *inputs,
                              vt_error *err)
{
    vt_cca_rmm_version rmm = VT_CCA_RMM_1_0;
    vt_cca_realm_params p = {0};
    vt_json_in cfg, r;
    VT_GUARD(vt_json_in_init(&cfg, cfg_json, "", CHECK, err));
    VT_GUARD(known_keys(&cfg));
    VT_GUARD(realm_params(&cfg, &rmm, &p, err));
    for (size_t i = 0; i < nb; i++) {
        char key[32];
        snprintf(key, sizeof key, "%s_ipa", blobs[i].name);
        VT_GUARD(vt_json_get_u64(&cfg, key, REQ, UINT64_MAX, &blobs[i].ipa, NULL));
    }
    VT_GUARD(vt_cca_rim_init(st, rmm, &p, err));
    const json_t *ram = NULL, *um = NULL;
    size_t i;
    VT_GUARD(vt_json_get_arr(&cfg, "ram", OPT, 0, (size_t)-1, &ram, NULL));
    size_t nram = ram != NULL ? json_array_size(ram) : 0;
    ram_range *rg = nram > 0 ? calloc(nram, sizeof *rg) : NULL;
    if (nram > 0 && rg == NULL) return vt_error_set(err, VT_E_NOMEM, CHECK, "out of memory");
    vt_err rc = VT_OK;
    for (i = 0; rc == VT_OK && i < nram; i++) {
        uint64_t size = 0;
        rc = vt_json_elem_obj(&cfg, "ram", ram, i, &r);
        if (rc == VT_OK) rc = vt_json_get_u64(&r, "base", REQ, UINT64_MAX, &rg[i].base, NULL);
        if (rc == VT_OK) rc = vt_json_get_u64(&r, "size", REQ, UINT64_MAX, &size, NULL);
        if (rc == VT_OK && rg[i].base + size < rg[i].base)
            rc = vt_error_set(err, VT_E_INVALID, CHECK, "ram[%zu] wraps", i);
        rg[i].top = rg[i].base + size;
    }
    if (rc == VT_OK) rc = ram_disjoint(rg, nram, err);
    for (i = 0; rc == VT_OK && i < nram; i++) rc = vt_cca_rim_init_ripas(st, rg[i].base, rg[i].top, err);
    free(rg);
    VT_GUARD(rc);
    if (nb > 1) qsort(blobs, nb, sizeof *blobs, cmp_blob); /* (blobs may be NULL when nb is 0) */
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
    VT_GUARD(rec_regs(&cfg, blobs, nb, &pc, gprs, err));
    VT_GUARD(vt_cca_rim_rec(st, true, pc, gprs, err));
    VT_GUARD(vt_json_get_arr(&cfg, "unmeasured", OPT, 0, (size_t)-1, &um, NULL));
    uint64_t um_total = 0;
    for (i = 0; um != NULL && i < json_array_size(um); i++) {
        uint64_t ipa = 0, size = 0;
        VT_GUARD(vt_json_elem_obj(&cfg, "unmeasured", um, i, &r));
        VT_GUARD(vt_json_get_u64(&r, "ipa", REQ, UINT64_MAX, &ipa, NULL));
        VT_GUARD(vt_json_get_u64(&r, "size", REQ, UINT64_MAX >> 1, &size, NULL));
        if (size > UNMEASURED_MAX - um_total)
            return vt_error_set(err, VT_E_INVALID, CHECK,
                                "unmeasured[%zu]: more than 1 GiB of unmeasured data in all (each 4 KiB granule is "
                                "one measurement; RAM belongs in \"ram\")", i);
        um_total += size;
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
