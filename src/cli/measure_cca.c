/* veritee measure cca: Realm Initial Measurement from a realm configuration (JSON) and the
 * blobs the VMM loads, in the veraison realm-VM order (specs/measurements.md §3.4). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "measure_cli.h"
#include "veritee/json.h"
#include "veritee/measure.h"

static void cca_usage(FILE *f)
{
    fprintf(f,
            "usage: veritee measure cca --realm-config FILE.json --kernel K [--initrd I] [--dtb D] [--hex]\n"
            "\n"
            "FILE.json (numbers may be JSON integers or \"0x..\" strings; unknown keys are rejected):\n"
            "  rmm_version \"1.0\" | \"2.0\"   hash_algo \"sha256\" | \"sha512\" | \"sha384\" (2.0 only)\n"
            "  ipa_bits, lpa2, sve_vl (bits, 0 = off), pmu, pmu_num_ctrs, num_bps, num_wps\n"
            "  ram: [{base, size}]           RMI_RTT_INIT_RIPAS ranges (measured under RMM 1.0)\n"
            "  kernel_ipa, initrd_ipa, dtb_ipa  where the VMM loads each blob\n"
            "  rec: {pc, gprs: [x0..x7]}     boot REC (default pc = kernel_ipa, x0 = dtb_ipa)\n"
            "  unmeasured: [{ipa, size}]     DATA_CREATE without content measurement, after the REC\n"
            "Order: REALM_CREATE, INIT_RIPAS, DATA_CREATE (ascending IPA), REC_CREATE, unmeasured.\n");
}

typedef struct blob {
    const char *name, *path;
    uint64_t ipa;
    vt_buf data;
} blob;

static bool jnum(const json_t *o, const char *key, uint64_t max, bool required, uint64_t *out)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL) {
        if (required) fprintf(stderr, "veritee measure cca: realm config: '%s' is required\n", key);
        return !required;
    }
    if (json_is_integer(v) && json_integer_value(v) >= 0 && (uint64_t)json_integer_value(v) <= max) {
        *out = (uint64_t)json_integer_value(v);
        return true;
    }
    if (json_is_string(v)) return measure_parse_u64(key, json_string_value(v), max, out);
    fprintf(stderr, "veritee measure cca: realm config: '%s' must be a non-negative integer up to %llu\n",
            key, (unsigned long long)max);
    return false;
}

static bool jbool(const json_t *o, const char *key, bool *out)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL) return true;
    if (!json_is_boolean(v)) {
        fprintf(stderr, "veritee measure cca: realm config: '%s' must be true or false\n", key);
        return false;
    }
    *out = json_is_true(v);
    return true;
}

static bool known_keys(const json_t *cfg)
{
    static const char *keys[] = {"rmm_version", "hash_algo", "ipa_bits", "lpa2", "sve_vl", "pmu",
                                 "pmu_num_ctrs", "num_bps", "num_wps", "ram", "kernel_ipa",
                                 "initrd_ipa", "dtb_ipa", "rec", "unmeasured", "comment"};
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)cfg, k, v) {
        size_t i = 0;
        while (i < sizeof keys / sizeof keys[0] && strcmp(k, keys[i]) != 0) i++;
        if (i == sizeof keys / sizeof keys[0]) {
            fprintf(stderr, "veritee measure cca: realm config: unknown key '%s'\n", k);
            return false;
        }
    }
    return true;
}

static bool realm_params(const json_t *cfg, vt_cca_rmm_version *rmm, vt_cca_realm_params *p)
{
    const char *ver = json_string_value(json_object_get(cfg, "rmm_version"));
    const char *alg = json_string_value(json_object_get(cfg, "hash_algo"));
    uint64_t ipa = 0, sve = 0, ctrs = 0, bps = 2, wps = 2;
    if (ver == NULL || alg == NULL) {
        fprintf(stderr, "veritee measure cca: realm config needs \"rmm_version\" and \"hash_algo\" strings\n");
        return false;
    }
    if (strcmp(ver, "1.0") == 0) *rmm = VT_CCA_RMM_1_0;
    else if (strcmp(ver, "2.0") == 0) *rmm = VT_CCA_RMM_2_0;
    else {
        fprintf(stderr, "veritee measure cca: rmm_version '%s': 1.0 or 2.0\n", ver);
        return false;
    }
    if (strcmp(alg, "sha256") == 0) p->alg = VT_SHA256;
    else if (strcmp(alg, "sha512") == 0) p->alg = VT_SHA512;
    else if (strcmp(alg, "sha384") == 0) p->alg = VT_SHA384;
    else {
        fprintf(stderr, "veritee measure cca: hash_algo '%s': sha256, sha512 or sha384\n", alg);
        return false;
    }
    if (!jnum(cfg, "ipa_bits", 64, true, &ipa) || !jnum(cfg, "sve_vl", 4096, false, &sve) ||
        !jnum(cfg, "pmu_num_ctrs", 64, false, &ctrs) || !jnum(cfg, "num_bps", 64, false, &bps) ||
        !jnum(cfg, "num_wps", 64, false, &wps) || !jbool(cfg, "lpa2", &p->lpa2) ||
        !jbool(cfg, "pmu", &p->pmu))
        return false;
    p->ipa_bits = (uint32_t)ipa;
    p->sve_vl = (uint32_t)sve;
    p->pmu_num_ctrs = (uint32_t)ctrs;
    p->num_bps = (uint32_t)bps;
    p->num_wps = (uint32_t)wps;
    return true;
}

static int cmp_blob(const void *a, const void *b)
{
    const blob *x = a, *y = b;
    return x->ipa < y->ipa ? -1 : x->ipa > y->ipa;
}

/* Apply the RMI calls in order. Returns an exit code; prints failures. */
static int build_rim(const json_t *cfg, blob *blobs, size_t nb, vt_cca_rim *st, json_t *in)
{
    vt_cca_rmm_version rmm;
    vt_cca_realm_params p = {0};
    vt_error e;
    vt_error_clear(&e);
    if (!realm_params(cfg, &rmm, &p)) return VT_EXIT_USAGE;
    if (vt_cca_rim_init(st, rmm, &p, &e) != VT_OK) return measure_fail("cca", &e);
    json_t *ram = json_object_get(cfg, "ram"), *r;
    size_t i;
    json_array_foreach(ram, i, r) {
        uint64_t base, size;
        if (!jnum(r, "base", UINT64_MAX, true, &base) || !jnum(r, "size", UINT64_MAX, true, &size))
            return VT_EXIT_USAGE;
        if (base + size < base ||
            vt_cca_rim_init_ripas(st, base, base + size, &e) != VT_OK)
            return base + size < base ? VT_EXIT_USAGE : measure_fail("cca", &e);
    }
    qsort(blobs, nb, sizeof *blobs, cmp_blob);
    for (i = 0; i < nb; i++) {
        uint64_t end = blobs[i].ipa + blobs[i].data.len;
        if (i + 1 < nb && ((end + VT_MEASURE_PAGE - 1) & ~(uint64_t)(VT_MEASURE_PAGE - 1)) >
                              (blobs[i + 1].ipa & ~(uint64_t)(VT_MEASURE_PAGE - 1))) {
            fprintf(stderr, "veritee measure cca: %s and %s share or overlap granules\n",
                    blobs[i].name, blobs[i + 1].name);
            return VT_EXIT_USAGE;
        }
        if (vt_cca_rim_data(st, blobs[i].ipa, blobs[i].data.ptr, blobs[i].data.len, true, &e) != VT_OK)
            return measure_fail("cca", &e);
        char ipa[24];
        snprintf(ipa, sizeof ipa, "0x%llx", (unsigned long long)blobs[i].ipa);
        json_object_set_new(in, blobs[i].name,
                            json_pack("{s:s, s:s, s:o, s:I}", "file", blobs[i].path, "ipa", ipa,
                                      "sha256", measure_sha256_hex(blobs[i].data.ptr, blobs[i].data.len),
                                      "size", (json_int_t)blobs[i].data.len));
    }
    uint64_t pc = 0, gprs[8] = {0};
    for (i = 0; i < nb; i++) {
        if (strcmp(blobs[i].name, "kernel") == 0) pc = blobs[i].ipa;
        if (strcmp(blobs[i].name, "dtb") == 0) gprs[0] = blobs[i].ipa;
    }
    const json_t *rec = json_object_get(cfg, "rec");
    if (rec != NULL) {
        if (!jnum(rec, "pc", UINT64_MAX, false, &pc)) return VT_EXIT_USAGE;
        json_t *g = json_object_get(rec, "gprs");
        if (g != NULL && (!json_is_array(g) || json_array_size(g) > 8)) {
            fprintf(stderr, "veritee measure cca: rec.gprs must be an array of at most 8 values\n");
            return VT_EXIT_USAGE;
        }
        for (i = 0; g != NULL && i < json_array_size(g); i++) {
            json_t *v = json_array_get(g, i);
            if (json_is_integer(v) && json_integer_value(v) >= 0) gprs[i] = (uint64_t)json_integer_value(v);
            else if (!json_is_string(v) || !measure_parse_u64("rec.gprs", json_string_value(v), UINT64_MAX, &gprs[i]))
                return VT_EXIT_USAGE;
        }
    }
    if (vt_cca_rim_rec(st, true, pc, gprs, &e) != VT_OK) return measure_fail("cca", &e);
    json_t *um = json_object_get(cfg, "unmeasured"), *u;
    json_array_foreach(um, i, u) {
        uint64_t ipa, size;
        if (!jnum(u, "ipa", UINT64_MAX, true, &ipa) || !jnum(u, "size", UINT64_MAX >> 1, true, &size))
            return VT_EXIT_USAGE;
        if (vt_cca_rim_data(st, ipa, NULL, (size_t)size, false, &e) != VT_OK) return measure_fail("cca", &e);
    }
    json_object_set_new(in, "rmm_version", json_string(rmm == VT_CCA_RMM_1_0 ? "1.0" : "2.0"));
    json_object_set_new(in, "hash_algo", json_string(vt_hash_name(p.alg)));
    char pcs[24];
    snprintf(pcs, sizeof pcs, "0x%llx", (unsigned long long)pc);
    json_object_set_new(in, "rec_pc", json_string(pcs));
    return VT_EXIT_OK;
}

static bool blob_ipa(const json_t *cfg, const char *key, blob *b)
{
    return jnum(cfg, key, UINT64_MAX, true, &b->ipa);
}

int cmd_measure_cca(int argc, char **argv)
{
    enum { O_CFG = 256, O_K, O_I, O_D, O_HEX };
    static const struct option opts[] = {{"realm-config", 1, 0, O_CFG}, {"kernel", 1, 0, O_K},
                                         {"initrd", 1, 0, O_I},         {"dtb", 1, 0, O_D},
                                         {"hex", 0, 0, O_HEX},          {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *cfg_path = NULL;
    blob blobs[3] = {{"kernel", NULL, 0, {0}}, {"initrd", NULL, 0, {0}}, {"dtb", NULL, 0, {0}}};
    bool hex = false;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_CFG: cfg_path = optarg; break;
        case O_K: blobs[0].path = optarg; break;
        case O_I: blobs[1].path = optarg; break;
        case O_D: blobs[2].path = optarg; break;
        case O_HEX: hex = true; break;
        case 'h': cca_usage(stdout); return VT_EXIT_OK;
        default: cca_usage(stderr); return VT_EXIT_USAGE;
        }
    }
    if (optind != argc || cfg_path == NULL) {
        cca_usage(stderr);
        return VT_EXIT_USAGE;
    }
    vt_error e;
    vt_error_clear(&e);
    vt_buf text = {0};
    json_t *cfg = NULL, *in = json_object();
    int rc = VT_EXIT_USAGE;
    blob use[3];
    size_t nb = 0;
    if (!measure_read("realm config", cfg_path, &text)) goto out;
    if (vt_json_parse((const char *)text.ptr, text.len, &cfg, &e) != VT_OK || !json_is_object(cfg)) {
        fprintf(stderr, "veritee measure cca: realm config %s: %s\n", cfg_path,
                cfg ? "not a JSON object" : e.msg);
        goto out;
    }
    if (!known_keys(cfg)) goto out;
    for (int i = 0; i < 3; i++) {
        if (blobs[i].path == NULL) continue;
        char key[16];
        snprintf(key, sizeof key, "%s_ipa", blobs[i].name);
        if (!blob_ipa(cfg, key, &blobs[i]) || !measure_read(blobs[i].name, blobs[i].path, &blobs[i].data))
            goto out;
        use[nb++] = blobs[i];
    }
    vt_cca_rim st;
    rc = build_rim(cfg, use, nb, &st, in);
    if (rc != VT_EXIT_OK) goto out;
    json_object_set_new(in, "realm_config", json_string(cfg_path));
    const char *method = st.rmm == VT_CCA_RMM_1_0
                             ? "RMM 1.0-rel0 RIM: REALM_CREATE params, INIT_RIPAS per RTT entry, "
                               "DATA_CREATE per granule, REC_CREATE"
                             : "RMM 2.0 RIM: REALM_CREATE params, DATA_CREATE per granule, REC_CREATE "
                               "(INIT_RIPAS not measured)";
    json_t *values = json_array();
    json_array_append_new(values, measure_value("cca", "rim", vt_hash_name(st.alg), st.rim,
                                                vt_cca_rim_len(&st), in, method));
    in = NULL;
    rc = measure_print(values, hex);
out:
    json_decref(in);
    json_decref(cfg);
    vt_buf_free(&text);
    for (int i = 0; i < 3; i++) vt_buf_free(&blobs[i].data);
    return rc;
}
