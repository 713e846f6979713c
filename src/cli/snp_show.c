/* veritee snp show: print every decoded field of an SEV-SNP ATTESTATION_REPORT (like
 * `snpguest display report`), without verifying it. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "snp_cli.h"
#include "veritee/fileio.h"
#include "veritee/snp.h"

static void show_usage(FILE *f)
{
    cli_usage(f, "snp show");
}

static void print_value(const char *indent, const char *key, json_t *v)
{
    if (json_is_object(v)) {
        printf("%s%s:\n", indent, key);
        const char *k;
        json_t *x;
        char in2[32];
        snprintf(in2, sizeof in2, "%s  ", indent);
        json_object_foreach(v, k, x) print_value(in2, k, x);
    } else if (json_is_string(v)) {
        printf("%s%-22s %s\n", indent, key, json_string_value(v));
    } else if (json_is_integer(v)) {
        printf("%s%-22s %lld\n", indent, key, (long long)json_integer_value(v));
    } else if (json_is_boolean(v)) {
        printf("%s%-22s %s\n", indent, key, json_is_true(v) ? "yes" : "no");
    }
}

static int show(int argc, char **argv)
{
    static const struct option opts[] = {{"product", required_argument, 0, 'p'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    vt_snp_product p = VT_SNP_PRODUCT_UNKNOWN;
    bool json = false;
    vt_error e;
    vt_error_clear(&e);
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'p' && vt_snp_product_parse(optarg, &p, &e) != VT_OK) {
            fprintf(stderr, "veritee snp show: %s\n", e.msg);
            return VT_EXIT_USAGE;
        } else if (c == 'j') json = true;
        else if (c == 'h') {
            show_usage(stdout);
            return VT_EXIT_OK;
        } else if (c != 'p') {
            return cli_bad_option("snp show", argv);
        }
    }
    if (optind != argc - 1) {
        show_usage(stderr);
        return VT_EXIT_USAGE;
    }
    vt_buf b = {0};
    vt_snp_report r;
    vt_bytes rep, table;
    if (vt_file_read(argv[optind], 1u << 20, &b, &e) != VT_OK ||
        vt_snp_evidence_split(b.ptr, b.len, &rep, &table, &e) != VT_OK ||
        vt_snp_report_parse(rep.ptr, rep.len, &r, &e) != VT_OK) {
        fprintf(stderr, "veritee snp show: %s: %s\n", argv[optind], e.msg);
        vt_buf_free(&b);
        return VT_EXIT_USAGE;
    }
    vt_buf_free(&b);
    if (r.has_cpuid && r.cpuid_fam_id != 0) {
        vt_snp_product rp = vt_snp_product_from_cpuid(r.cpuid_fam_id, r.cpuid_mod_id);
        if (rp != VT_SNP_PRODUCT_UNKNOWN) p = rp;
    }
    json_t *o = vt_snp_report_json(&r, p);
    if (o == NULL) return VT_EXIT_USAGE;
    json_object_set_new(o, "product", json_string(vt_snp_product_name(p)));
    if (json) {
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s != NULL) printf("%s\n", s);
        free(s);
    } else {
        printf("SEV-SNP attestation report %s (not verified)\n", argv[optind]);
        const char *k;
        json_t *x;
        json_object_foreach(o, k, x) print_value("  ", k, x);
    }
    json_decref(o);
    return VT_EXIT_OK;
}

int cmd_snp(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "show") == 0) return show(argc - 1, argv + 1);
    fprintf(stderr, "usage: veritee snp show [--product P] [--json] REPORT\n");
    return argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
               ? VT_EXIT_OK : VT_EXIT_USAGE;
}
