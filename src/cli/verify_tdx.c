/* veritee verify --tee tdx|sgx (printing the verified quote), and veritee tdx replay-rtmr. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "veritee/codec.h"
#include "veritee/fileio.h"
#include "veritee/tdx.h"
#include "veritee/tdx_ccel.h"
#include "veritee/verify.h"

static void print_hex_line(const char *name, const uint8_t *p, size_t n)
{
    char buf[2 * 64 + 1];
    vt_hex_encode(p, n, buf);
    printf("  %-18s %s\n", name, buf);
}

static void print_text(const cli_verify_args *a, const vt_tdx_result *r)
{
    const vt_tdx_quote *q = &r->quote;
    bool td = vt_tdx_quote_is_td(q);
    printf("%s: %s quote v%u VERIFIED%s\n", a->file, td ? "TDX" : "SGX", q->version,
           r->emulated ? " (EMULATED TEE: test evidence)" : "");
    printf("  %-18s %s\n", "tcb_status", vt_tcb_status_name(r->tcb_status));
    printf("  %-18s", "advisory_ids");
    for (size_t i = 0; i < r->n_advisory_ids; i++) printf(" %s", r->advisory_ids[i]);
    printf("%s\n", r->n_advisory_ids ? "" : " -");
    char t[21];
    vt_time_format(r->collateral_expiry, t);
    printf("  %-18s %s\n", "collateral_expiry", t);
    if (td) {
        printf("  %-18s %s\n", "debug", (q->td.td_attributes[0] & 1) ? "true (DEBUG TD)" : "false");
        print_hex_line("mr_td", q->td.mr_td, 48);
        for (int i = 0; i < 4; i++) {
            char n[8];
            snprintf(n, sizeof n, "rtmr%d", i);
            print_hex_line(n, q->td.rtmr[i], 48);
        }
        print_hex_line("mr_config_id", q->td.mr_config_id, 48);
        print_hex_line("mr_owner", q->td.mr_owner, 48);
        print_hex_line("report_data", q->td.report_data, 64);
        print_hex_line("td_attributes", q->td.td_attributes, 8);
        print_hex_line("xfam", q->td.xfam, 8);
        print_hex_line("tee_tcb_svn", q->td.tee_tcb_svn, 16);
        print_hex_line("mr_seam", q->td.mr_seam, 48);
        if (q->td.tdx15) {
            print_hex_line("tee_tcb_svn2", q->td.tee_tcb_svn2, 16);
            print_hex_line("mr_service_td", q->td.mr_service_td, 48);
        }
    } else {
        printf("  %-18s %s\n", "debug", (q->enclave.attributes[0] & 2) ? "true (DEBUG enclave)" : "false");
        print_hex_line("mr_enclave", q->enclave.mr_enclave, 32);
        print_hex_line("mr_signer", q->enclave.mr_signer, 32);
        printf("  %-18s %u / %u\n", "isv_prod_id/svn", q->enclave.isv_prod_id, q->enclave.isv_svn);
        print_hex_line("report_data", q->enclave.report_data, 64);
    }
    print_hex_line("fmspc", r->pck.fmspc, 6);
    printf("checks:\n");
    cli_print_checks(stdout, &r->checks);
}

int cli_print_tdx(const cli_verify_args *a, const vt_verify_result *vr)
{
    const vt_tdx_result *r = vr->tdx;
    if (!a->json) {
        print_text(a, r);
        return VT_EXIT_OK;
    }
    json_t *o = vt_tdx_result_json(r);
    char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (s != NULL) printf("%s\n", s);
    free(s);
    json_decref(o);
    return s != NULL ? VT_EXIT_OK : VT_EXIT_USAGE;
}

static void tdx_usage(FILE *f)
{
    fprintf(f, "usage: veritee tdx replay-rtmr [--quote QUOTE] [--json] [CCEL_TABLE] EVENT_LOG\n"
               "\n"
               "  Replays a TDX CC event log (CCEL) into RTMR0..3 and prints them. With --quote,\n"
               "  compares them with the quote's RTMRs (exit 0 when all four match, 1 otherwise).\n"
               "  CCEL_TABLE, the ACPI CCEL table, bounds the log to its declared length.\n");
}

static int replay_rtmr(int argc, char **argv)
{
    static const struct option opts[] = {{"quote", required_argument, 0, 'q'}, {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *quote = NULL;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'q') quote = optarg;
        else if (c == 'j') json = true;
        else {
            tdx_usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : VT_EXIT_USAGE;
        }
    }
    int npos = argc - optind;
    if (npos < 1 || npos > 2) {
        tdx_usage(stderr);
        return VT_EXIT_USAGE;
    }
    vt_error e;
    vt_error_clear(&e);
    vt_buf tbl = {0}, log = {0}, qb = {0};
    int ex = VT_EXIT_USAGE;
    size_t loglen;
    if (vt_file_read(argv[argc - 1], VT_FILE_MAX, &log, &e) != VT_OK) goto fail;
    loglen = log.len;
    if (npos == 2) {
        vt_tdx_ccel_table t;
        if (vt_file_read(argv[optind], 4096, &tbl, &e) != VT_OK ||
            vt_tdx_ccel_table_parse(tbl.ptr, tbl.len, &t, &e) != VT_OK)
            goto fail;
        if (t.cc_type != 2) {
            vt_error_set(&e, VT_E_INVALID, "ccel_table", "CCEL table CC type %u is not TDX (2)", t.cc_type);
            goto fail;
        }
        if (t.log_area_min_len < loglen) loglen = (size_t)t.log_area_min_len;
    }
    uint8_t rtmr[4][48];
    size_t events = 0;
    if (vt_tdx_ccel_replay(log.ptr, loglen, rtmr, &events, &e) != VT_OK) goto fail;
    vt_tdx_quote q;
    bool match = true;
    if (quote != NULL) {
        if (vt_file_read(quote, VT_FILE_MAX, &qb, &e) != VT_OK || vt_tdx_quote_parse(qb.ptr, qb.len, &q, &e) != VT_OK)
            goto fail;
        if (!vt_tdx_quote_is_td(&q)) {
            vt_error_set(&e, VT_E_INVALID, "header", "%s is not a TDX quote", quote);
            goto fail;
        }
        for (int i = 0; i < 4; i++) match = match && memcmp(q.td.rtmr[i], rtmr[i], 48) == 0;
    }
    json_t *o = json_pack("{s:i}", "events", (json_int_t)events);
    json_t *arr = json_array();
    for (int i = 0; i < 4; i++) {
        char h[97];
        vt_hex_encode(rtmr[i], 48, h);
        json_array_append_new(arr, json_string(h));
        if (!json) {
            bool m = quote == NULL || memcmp(q.td.rtmr[i], rtmr[i], 48) == 0;
            printf("rtmr%d %s%s\n", i, h, quote == NULL ? "" : m ? "  matches quote" : "  DIFFERS from quote");
        }
    }
    json_object_set_new(o, "rtmr", arr);
    if (quote != NULL) json_object_set_new(o, "matches_quote", json_boolean(match));
    if (json) {
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s) printf("%s\n", s);
        free(s);
    } else {
        printf("events %zu\n", events);
    }
    json_decref(o);
    ex = match ? VT_EXIT_OK : VT_EXIT_REJECTED;
    goto out;
fail:
    fprintf(stderr, "veritee tdx replay-rtmr: %s\n", e.msg);
    ex = cli_exit_for(e.code);
out:
    vt_buf_free(&tbl);
    vt_buf_free(&log);
    vt_buf_free(&qb);
    return ex;
}

int cmd_tdx(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "replay-rtmr") == 0) return replay_rtmr(argc - 1, argv + 1);
    tdx_usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
    return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : VT_EXIT_USAGE;
}
