/* veritee ui: the web console's explorer alone (no store, no broker), for a laptop; and
 * `veritee verify --html FILE`, the same analysis as one self-contained HTML file. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "veritee/codec.h"
#include "veritee/fileio.h"
#include "veritee/http.h"
#include "veritee/ui.h"
#include "veritee/ui_http.h"

int cli_ui_html(const cli_verify_args *a, const char *path)
{
    vt_verify_sources s = {.trust_dir = a->trust_dir, .collateral_dir = a->collateral_dir, .certs_dir = a->certs_dir,
                           .cpak_file = a->cpak_file, .snp_product = a->product, .pcs_url = a->pcs_url,
                           .kds_url = a->kds_url, .cache_dir = a->cache_dir,
                           .allow_missing_crl = a->allow_missing_crl};
    vt_ui_explore_in in = {.tee = a->tee && strcmp(a->tee, "auto") != 0 ? a->tee : NULL, .at = a->at};
    vt_buf nonce = {0}, html = {0};
    vt_error e = {0};
    json_t *an = NULL;
    int rc = -1;
    if (a->nonce_hex && vt_hex_decode(a->nonce_hex, strlen(a->nonce_hex), &nonce, &e) != VT_OK) goto out;
    in.nonce = nonce.ptr;
    in.nonce_len = nonce.len;
    if (vt_ui_analyze(&s, &in, a->evidence.ptr, a->evidence.len, &an, &e) != VT_OK) goto out;
    json_object_set_new(an, "file", json_string(a->file));
    if (vt_ui_html_report(an, &html, &e) != VT_OK || vt_file_write(path, html.ptr, html.len, &e) != VT_OK) goto out;
    rc = 0;
out:
    if (rc != 0) fprintf(stderr, "veritee verify: --html %s: %s\n", path, e.msg);
    json_decref(an);
    vt_buf_free(&nonce);
    vt_buf_free(&html);
    return rc;
}

static void usage(FILE *f)
{
    cli_usage(f, "ui");
}

int cmd_ui(int argc, char **argv)
{
    const char *listen = "127.0.0.1:8088", *log_path = NULL;
    vt_verify_sources s = {0};
    double rate = 0;
    long burst = 0;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--listen") == 0 && v) listen = argv[++i];
        else if (strcmp(o, "--trust") == 0 && v) s.trust_dir = argv[++i];
        else if (strcmp(o, "--collateral") == 0 && v) s.collateral_dir = argv[++i];
        else if (strcmp(o, "--certs") == 0 && v) s.certs_dir = argv[++i];
        else if (strcmp(o, "--log") == 0 && v) log_path = argv[++i];
        else if (strcmp(o, "--allow-missing-crl") == 0) s.allow_missing_crl = true;
        else if (strcmp(o, "--explore-rate") == 0 && v) rate = strtod(argv[++i], NULL);
        else if (strcmp(o, "--explore-burst") == 0 && v) burst = strtol(argv[++i], NULL, 10);
        else if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            usage(stdout);
            return VT_EXIT_OK;
        } else {
            return cli_bad_arg("ui", o);
        }
    }
    vt_error e = {0};
    vt_ui_http *u = NULL;
    vt_http_server *srv = NULL;
    FILE *log = log_path ? (strcmp(log_path, "-") == 0 ? stderr : fopen(log_path, "a")) : NULL;
    if (rate < 0 || rate > 1e6 || burst < 0 || burst > 1000000) {
        fprintf(stderr, "veritee ui: --explore-rate takes 0..1e6 requests/s, --explore-burst 0..1000000\n");
        return VT_EXIT_USAGE;
    }
    vt_ui_http_config uc = {.sources = &s, .explore_rate = rate, .explore_burst = (unsigned)burst};
    if (vt_ui_http_new(&uc, &u, &e) != VT_OK) {
        fprintf(stderr, "veritee ui: %s\n", e.msg);
        return VT_EXIT_USAGE;
    }
    vt_http_route routes[VT_UI_ROUTES];
    size_t n = 0;
    vt_ui_routes(u, routes, &n);
    vt_http_opts ho = {.listen = listen, .max_body = VT_UI_EXPLORE_MAX_BODY, .log = log};
    if (vt_http_signals_block(&e) != VT_OK || vt_http_server_start(&ho, routes, n, &srv, &e) != VT_OK) {
        fprintf(stderr, "veritee ui: listen: %s\n", e.msg);
        vt_ui_http_free(u);
        if (log && log != stderr) fclose(log);
        return VT_EXIT_USAGE;
    }
    char host[256];
    snprintf(host, sizeof host, "%s", listen);
    char *colon = strrchr(host, ':');
    if (colon) *colon = 0;
    printf("console on http://%s:%d/\n", host, vt_http_server_port(srv));
    fflush(stdout);
    int sig = vt_http_wait_signal();
    fprintf(stderr, "veritee ui: signal %d, stopping\n", sig);
    vt_http_server_stop(srv);
    vt_ui_http_free(u);
    if (log && log != stderr) fclose(log);
    return VT_EXIT_OK;
}
