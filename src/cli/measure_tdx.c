/* veritee measure tdx: MRTD from a TDVF image, RTMR0-3 replayed from a CCEL event log
 * (specs/measurements.md §2; the replay is src/tdx/ccel.c). */
#include <getopt.h>
#include <string.h>

#include "measure_cli.h"
#include "veritee/measure.h"
#include "veritee/tdx_ccel.h"

static void tdx_usage(FILE *f)
{
    cli_usage(f, "measure tdx");
}

static json_t *rtmr_values(const vt_buf *log, const char *path, size_t events, uint8_t r[4][48])
{
    json_t *arr = json_array();
    for (int i = 0; i < VT_TDX_RTMR_COUNT; i++) {
        char name[8];
        snprintf(name, sizeof name, "rtmr%d", i);
        json_t *in = json_pack("{s:s, s:o, s:I}", "event_log", path, "event_log_sha256",
                               measure_sha256_hex(log->ptr, log->len), "events",
                               (json_int_t)events);
        json_array_append_new(arr, measure_value("tdx", name, "sha-384", r[i], 48, in,
                                                 "CCEL replay: RTMR = SHA-384(RTMR || event digest) "
                                                 "for MR index 1..4"));
    }
    return arr;
}

int cmd_measure_tdx(int argc, char **argv)
{
    enum { O_FW = 256, O_ORDER, O_LOG, O_HEX };
    static const struct option opts[] = {{"firmware", 1, 0, O_FW}, {"page-order", 1, 0, O_ORDER},
                                         {"event-log", 1, 0, O_LOG}, {"hex", 0, 0, O_HEX},
                                         {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *fw_path = NULL, *log_path = NULL, *order_name = "single";
    bool hex = false;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_FW: fw_path = optarg; break;
        case O_ORDER: order_name = optarg; break;
        case O_LOG: log_path = optarg; break;
        case O_HEX: hex = true; break;
        case 'h': tdx_usage(stdout); return VT_EXIT_OK;
        default: return cli_bad_option("measure tdx", argv);
        }
    }
    vt_tdx_page_order order;
    if (strcmp(order_name, "single") == 0) order = VT_TDX_ORDER_SINGLE;
    else if (strcmp(order_name, "two-pass") == 0) order = VT_TDX_ORDER_TWO_PASS;
    else {
        fprintf(stderr, "veritee measure tdx: --page-order must be single or two-pass\n");
        return VT_EXIT_USAGE;
    }
    if (optind != argc || (fw_path == NULL && log_path == NULL)) {
        tdx_usage(stderr);
        return VT_EXIT_USAGE;
    }
    vt_error e;
    vt_error_clear(&e);
    vt_buf fw = {0}, log = {0};
    json_t *values = json_array();
    int rc = VT_EXIT_USAGE;
    if (fw_path != NULL) {
        vt_tdvf t;
        uint8_t mrtd[48];
        if (!measure_read("firmware", fw_path, &fw)) goto out;
        if (vt_tdvf_parse(fw.ptr, fw.len, &t, &e) != VT_OK ||
            vt_measure_tdx_mrtd(fw.ptr, fw.len, &t, order, mrtd, &e) != VT_OK) {
            rc = measure_fail("tdx", &e);
            goto out;
        }
        json_t *in = json_pack("{s:s, s:o, s:s, s:I}", "firmware", fw_path, "firmware_sha256",
                               measure_sha256_hex(fw.ptr, fw.len), "page_order", order_name,
                               "tdvf_sections", (json_int_t)t.n_sections);
        json_array_append_new(values, measure_value("tdx", "mrtd", "sha-384", mrtd, 48, in,
                                                    "TDVF metadata: MEM.PAGE.ADD per page, "
                                                    "MR.EXTEND per 256 bytes of MR_EXTEND sections"));
    }
    if (log_path != NULL) {
        uint8_t r[VT_TDX_RTMR_COUNT][48];
        size_t events = 0;
        if (!measure_read("event log", log_path, &log)) goto out;
        if (vt_tdx_ccel_replay(log.ptr, log.len, r, &events, &e) != VT_OK) {
            rc = measure_fail("tdx", &e);
            goto out;
        }
        json_t *rv = rtmr_values(&log, log_path, events, r);
        json_array_extend(values, rv);
        json_decref(rv);
    }
    rc = measure_print(values, hex);
    values = NULL;
out:
    json_decref(values);
    vt_buf_free(&fw);
    vt_buf_free(&log);
    return rc;
}
