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
    cli_usage(f, "measure cca");
}

int cmd_measure_cca(int argc, char **argv)
{
    enum { O_CFG = 256, O_K, O_I, O_D, O_HEX };
    static const struct option opts[] = {{"realm-config", 1, 0, O_CFG}, {"kernel", 1, 0, O_K},
                                         {"initrd", 1, 0, O_I},         {"dtb", 1, 0, O_D},
                                         {"hex", 0, 0, O_HEX},          {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *cfg_path = NULL;
    static const char *const names[3] = {"kernel", "initrd", "dtb"};
    const char *paths[3] = {NULL, NULL, NULL};
    vt_buf data[3] = {{0}, {0}, {0}};
    bool hex = false;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_CFG: cfg_path = optarg; break;
        case O_K: paths[0] = optarg; break;
        case O_I: paths[1] = optarg; break;
        case O_D: paths[2] = optarg; break;
        case O_HEX: hex = true; break;
        case 'h': cca_usage(stdout); return VT_EXIT_OK;
        default: return cli_bad_option("measure cca", argv);
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
    vt_cca_blob use[3];
    size_t nb = 0;
    if (!measure_read("realm config", cfg_path, &text)) goto out;
    if (vt_json_parse((const char *)text.ptr, text.len, &cfg, &e) != VT_OK || !json_is_object(cfg)) {
        fprintf(stderr, "veritee measure cca: realm config %s: %s\n", cfg_path,
                cfg ? "not a JSON object" : e.msg);
        goto out;
    }
    for (int i = 0; i < 3; i++) {
        if (paths[i] == NULL) continue;
        if (!measure_read(names[i], paths[i], &data[i])) goto out;
        use[nb++] = (vt_cca_blob){.name = names[i], .path = paths[i], .data = data[i].ptr, .len = data[i].len};
    }
    vt_cca_rim st;
    if (vt_cca_rim_from_config(cfg, use, nb, &st, in, &e) != VT_OK) {
        rc = measure_fail("cca", &e);
        goto out;
    }
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
    for (int i = 0; i < 3; i++) vt_buf_free(&data[i]);
    return rc;
}
