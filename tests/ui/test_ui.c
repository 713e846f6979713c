/* The ui layer without a browser: the explore request's checks (members, sizes, file names,
 * temporary directories removed), the analysis of real vectors (fields equal to the bytes,
 * verification with collateral, the chain), the built-in files and their CSP, the HTML report's
 * data block that cannot end early, and the metrics as JSON. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/json.h"
#include "veritee/metrics.h"
#include "veritee/ui.h"

#define TDX_OK "tdx/dcapqvl_tdx_v4_b0c06f/"

static json_t *explore_text(const char *body, int *status)
{
    vt_verify_sources s = {0};
    json_t *out = NULL;
    vt_error e = {0};
    vt_ui_explore(&s, (const uint8_t *)body, strlen(body), 1752919234, status, &out, &e);
    assert_non_null(out);
    return out;
}

static void test_explore_refuses(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "not json", "[]", "{}", "{\"evidence\": 5}", "{\"evidence\": \"AAAA\", \"frob\": 1}",
        "{\"evidence\": \"AAAA\", \"tee\": \"nitro\"}", "{\"evidence\": \"AAAA\", \"at\": \"yesterday\"}",
        "{\"evidence\": \"AAAA\", \"nonce\": \"zz\"}", "{\"evidence\": \"AAAA\", \"collateral\": {\"../x\": \"AAAA\"}}",
        "{\"evidence\": \"AAAA\", \"collateral\": {\".hidden\": \"AAAA\"}}", "{\"evidence\": \"AAAA\", \"trust\": []}",
        "{\"evidence\": \"AAAA\"}", /* 3 bytes: no TEE's evidence */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int st = 0;
        json_t *o = explore_text(bad[i], &st);
        if (st != 400) fprintf(stderr, "accepted: %s\n", bad[i]);
        assert_int_equal(st, 400);
        assert_non_null(json_string_value(json_object_get(o, "detail")));
        json_decref(o);
    }
    /* over the size limit: 413 before parsing */
    size_t n = VT_UI_EXPLORE_MAX_BODY + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    vt_verify_sources s = {0};
    json_t *out = NULL;
    int st = 0;
    vt_error e = {0};
    assert_int_not_equal(vt_ui_explore(&s, (const uint8_t *)big, n, 0, &st, &out, &e), VT_OK);
    assert_int_equal(st, 413);
    json_decref(out);
    free(big);
}

static char *b64_file(const char *rel)
{
    vt_buf b = {0};
    vt_test_load(rel, &b);
    char *s = vt_b64_encode(b.ptr, b.len, false);
    vt_buf_free(&b);
    return s;
}

static int count_tmp(void)
{
    const char *t = getenv("TMPDIR");
    DIR *d = opendir(t && t[0] ? t : "/tmp");
    struct dirent *de;
    int n = 0;
    while (d && (de = readdir(d)) != NULL) n += strncmp(de->d_name, "vt-ui-", 6) == 0;
    if (d) closedir(d);
    return n;
}

/* A TDX quote with its collateral in the request: verified, MRTD as in the bytes, the Intel root
 * pinned; the collateral's temporary directory is gone afterwards. */
static void test_explore_tdx_with_collateral(void **state)
{
    (void)state;
    char *q = b64_file(TDX_OK "quote.bin");
    json_t *req = json_pack("{ss ss}", "evidence", q, "at", "2025-07-19T10:00:34Z");
    json_t *c = json_object();
    char dir[1024];
    assert_true(vt_test_vector_path(TDX_OK, dir, sizeof dir));
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "quote.bin") == 0) continue;
        char rel[300];
        snprintf(rel, sizeof rel, TDX_OK "%s", de->d_name);
        char *v = b64_file(rel);
        json_object_set_new(c, de->d_name, json_string(v));
        free(v);
    }
    if (d) closedir(d);
    json_object_set_new(req, "collateral", c);
    char *body = json_dumps(req, JSON_COMPACT);
    int before = count_tmp(), st = 0;
    json_t *o = explore_text(body, &st);
    assert_int_equal(st, 200);
    assert_int_equal(count_tmp(), before);
    json_t *v = json_object_get(o, "verification");
    assert_string_equal(json_string_value(json_object_get(v, "result")), "verified");
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "tcb"), "tcb_status")), "UpToDate");
    json_t *chain = json_object_get(o, "chain");
    assert_int_equal(json_array_size(chain), 3);
    assert_true(json_is_true(json_object_get(json_array_get(chain, 2), "pinned")));
    assert_true(json_is_false(json_object_get(json_array_get(chain, 0), "pinned")));
    /* MRTD equals the quote's bytes 184..231 (v4: 48-byte header, MRTD at body offset 136) */
    vt_buf raw = {0};
    vt_test_load(TDX_OK "quote.bin", &raw);
    char hex[97];
    vt_hex_encode(raw.ptr + 184, 48, hex);
    json_t *body_group = json_array_get(json_object_get(o, "decoded"), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(body_group, "fields"), "mr_td")), hex);
    /* one bit of MRTD flipped: the quote signature check fails, the field shows the new value */
    raw.ptr[184] ^= 1;
    char *q2 = vt_b64_encode(raw.ptr, raw.len, false);
    json_object_set_new(req, "evidence", json_string(q2));
    free(body);
    body = json_dumps(req, JSON_COMPACT);
    json_t *o2 = explore_text(body, &st);
    v = json_object_get(o2, "verification");
    assert_string_equal(json_string_value(json_object_get(v, "result")), "rejected");
    assert_string_equal(json_string_value(json_object_get(v, "error_check")), "quote_signature");
    free(q2);
    json_decref(o2);
    vt_buf_free(&raw);
    free(body);
    json_decref(o);
    json_decref(req);
    free(q);
}

/* Without collateral: decoded anyway, rejected, collateral said missing (fail closed). */
static void test_analyze_missing_collateral(void **state)
{
    (void)state;
    vt_buf q = {0};
    vt_test_load(TDX_OK "quote.bin", &q);
    vt_verify_sources s = {0};
    vt_ui_explore_in in = {.at = 1752919234};
    json_t *o = NULL;
    vt_error e = {0};
    assert_int_equal(vt_ui_analyze(&s, &in, q.ptr, q.len, &o, &e), VT_OK);
    json_t *v = json_object_get(o, "verification");
    assert_string_equal(json_string_value(json_object_get(v, "result")), "rejected");
    assert_true(json_is_true(json_object_get(v, "missing_collateral")));
    assert_true(json_is_null(json_object_get(o, "claims")));
    assert_true(json_array_size(json_object_get(o, "decoded")) >= 5);
    /* the HTML report: the data block cannot be ended by the data */
    json_object_set_new(o, "file", json_string("</script><script>alert(1)</script>"));
    vt_buf html = {0};
    assert_int_equal(vt_ui_html_report(o, &html, &e), VT_OK);
    char *t = strndup((const char *)html.ptr, html.len);
    assert_null(strstr(t, "</script><script>alert"));
    assert_non_null(strstr(t, "<\\/script>"));
    free(t);
    vt_buf_free(&html);
    json_decref(o);
    vt_buf_free(&q);
}

static void test_snp_and_cca_decode(void **state)
{
    (void)state;
    vt_buf r = {0};
    vt_test_load("snp/milan_v3_routex/report.bin", &r);
    vt_verify_sources s = {0};
    vt_ui_explore_in in = {.at = 1765152000};
    json_t *o = NULL;
    vt_error e = {0};
    assert_int_equal(vt_ui_analyze(&s, &in, r.ptr, r.len, &o, &e), VT_OK);
    assert_string_equal(json_string_value(json_object_get(o, "tee")), "snp");
    char hex[97];
    vt_hex_encode(r.ptr + 0x90, 48, hex);
    json_t *g = json_object_get(json_array_get(json_object_get(o, "decoded"), 0), "fields");
    assert_string_equal(json_string_value(json_object_get(g, "measurement")), hex);
    json_decref(o);
    vt_buf_free(&r);
    vt_test_load("cca/tokens/tfrmm_ssd_399.cbor", &r);
    assert_int_equal(vt_ui_analyze(&s, &in, r.ptr, r.len, &o, &e), VT_OK);
    assert_string_equal(json_string_value(json_object_get(o, "tee")), "cca");
    assert_int_equal(json_array_size(json_object_get(o, "decoded")), 3);
    json_decref(o);
    vt_buf_free(&r);
}

static void test_assets_and_csp(void **state)
{
    (void)state;
    const vt_ui_asset *a = vt_ui_asset_find("/");
    assert_non_null(a);
    assert_string_equal(a->path, "/index.html");
    assert_non_null(strstr(a->content_type, "text/html"));
    assert_non_null(vt_ui_asset_find("/js/app.js"));
    assert_null(vt_ui_asset_find("/js/../index.html"));
    assert_null(vt_ui_asset_find("/nope.js"));
    const char *csp = vt_ui_csp();
    assert_non_null(strstr(csp, "frame-ancestors 'none'"));
    assert_null(strstr(csp, "unsafe-inline"));
    assert_null(strstr(csp, "unsafe-eval"));
}

static void test_metrics_json(void **state)
{
    (void)state;
    vt_metrics *m = vt_metrics_new();
    vt_std_metrics sm;
    vt_error e = {0};
    assert_int_equal(vt_metrics_std(m, &sm, &e), VT_OK);
    const char *l[2] = {"tdx", "denied"};
    vt_metric_inc(sm.attestation_total, l, 2);
    vt_metric_observe(sm.attestation_duration, (const char *[]){"tdx"}, 0.01);
    json_t *j = NULL;
    assert_int_equal(vt_metrics_json(m, &j, &e), VT_OK);
    json_t *a = json_object_get(j, "tee_attestation_total");
    assert_int_equal(json_array_size(a), 1);
    json_t *one = json_array_get(a, 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(one, "labels"), "result")), "denied");
    assert_true(json_number_value(json_object_get(one, "value")) == 2.0);
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) assert_null(strstr(k, "_bucket"));
    json_decref(j);
    vt_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_explore_refuses),
        cmocka_unit_test(test_explore_tdx_with_collateral),
        cmocka_unit_test(test_analyze_missing_collateral),
        cmocka_unit_test(test_snp_and_cca_decode),
        cmocka_unit_test(test_assets_and_csp),
        cmocka_unit_test(test_metrics_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
