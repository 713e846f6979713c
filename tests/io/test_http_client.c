/* HTTP client (src/io/http_get.c) against a scripted server on loopback: method, body, content
 * type, extra headers, no Expect: 100-continue, header capture, a reused client, refused request
 * shapes, and the transport failure code (missing for collateral, I/O for the KBS client). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "kbs_fake.h"
#include "veritee/http_get.h"
#include <jansson.h>

/* vt_http_do: method, body, content type, extra headers, no Expect; header capture. */
static void echo_handle(void *ud, const fake_req *rq, int *status, const char **hdrs, char **body)
{
    (void)ud;
    *status = 201;
    *hdrs = "Set-Cookie: a=b; Expires=x\r\n";
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s#}", "method", rq->method, "path", rq->path, "auth", rq->auth,
                          "ctype", rq->ctype, "expect", rq->expect, "body", rq->body, (int)rq->body_len);
    *body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
}

static void test_http_request_shape(void **st)
{
    (void)st;
    fake_server s;
    fake_start(&s, echo_handle, NULL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x/y", s.port);
    char big[3000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = 0;
    const char *h[] = {"Authorization: Bearer t0k", NULL};
    vt_http_client_req rq = {.method = "POST", .content_type = "application/json", .body = (const uint8_t *)big,
                          .body_len = strlen(big), .headers = h};
    vt_http_get_opts o = {.want_header = "set-cookie", .timeout_seconds = 10};
    vt_http_reply r;
    vt_error e;
    assert_int_equal(vt_http_do(url, &rq, &o, &r, &e), VT_OK);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.header_value, "a=b; Expires=x");
    json_t *j = json_loadb((const char *)r.body.ptr, r.body.len, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "method")), "POST");
    assert_string_equal(json_string_value(json_object_get(j, "path")), "/x/y");
    assert_string_equal(json_string_value(json_object_get(j, "auth")), "Bearer t0k");
    assert_string_equal(json_string_value(json_object_get(j, "ctype")), "application/json");
    assert_string_equal(json_string_value(json_object_get(j, "expect")), "");
    assert_string_equal(json_string_value(json_object_get(j, "body")), big);
    json_decref(j);
    vt_http_reply_free(&r);
    /* a client reused across requests; DELETE; GET through vt_http_get */
    vt_http_client *hc = NULL;
    assert_int_equal(vt_http_client_new(&hc, &e), VT_OK);
    vt_http_client_req del = {.method = "DELETE"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(vt_http_client_do(hc, url, i == 1 ? &del : NULL, &o, &r, &e), VT_OK);
        j = json_loadb((const char *)r.body.ptr, r.body.len, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(j, "method")), i == 1 ? "DELETE" : "GET");
        assert_string_equal(json_string_value(json_object_get(j, "auth")), "");
        json_decref(j);
        vt_http_reply_free(&r);
    }
    vt_http_client_free(hc);
    vt_http_client_free(NULL);
    assert_int_equal(vt_http_get(url, NULL, &r, &e), VT_OK);
    vt_http_reply_free(&r);
    /* refused request shapes */
    const char *badh[] = {"X-Evil: a\r\nInjected: b", NULL};
    vt_http_client_req bad = {.method = "POST", .headers = badh};
    assert_int_equal(vt_http_do(url, &bad, NULL, &r, &e), VT_E_ARG);
    vt_http_client_req badm = {.method = "TRACE"};
    assert_int_equal(vt_http_do(url, &badm, NULL, &r, &e), VT_E_ARG);
    fake_stop(&s);
    /* transport failure codes: collateral fetches say missing, the KBS client says I/O */
    assert_int_equal(vt_http_get(url, NULL, &r, &e), VT_E_MISSING);
    o.fail_code = VT_E_IO;
    assert_int_equal(vt_http_do(url, NULL, &o, &r, &e), VT_E_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_request_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
