/* NVIDIA RIM service answers (vt_nvidia_rim_service_parse) and the RIM cache (vt_nvidia_rim_get
 * offline): the answer's shape, id and sha256 rules on the sample VBIOS RIM, and a cache that
 * serves a RIM only while it verifies. The online paths and OCSP run against loopback servers in
 * tests/cli/cli_nvidia_ocsp.sh and cli_nvidia_rim_service.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "testutil.h"
#include "veritee/fileio.h"
#include "veritee/nvidia.h"

#define VBIOS_RIM "nvidia_hopper/rim/1010_0200_882_960074001A_PROD.swidtag"
#define RIM_ROOT "nvidia_hopper/anchors/verifier_RIM_root.pem"
#define VB_ID "NV_GPU_VBIOS_1010_0200_882_960074001A"
#define AT_2024 1717200000 /* 2024-06-01 */
#define AT_2026 1767225600 /* 2026-01-01 */

/* {"id": id, "rim": b64, "sha256": sha} with parts left out when NULL. */
static char *answer(const vt_buf *xml, const char *id, const char *sha)
{
    char *b64 = vt_b64_encode(xml->ptr, xml->len, false);
    assert_non_null(b64);
    size_t cap = strlen(b64) + 512;
    char *s = malloc(cap);
    assert_non_null(s);
    int n = snprintf(s, cap, "{\"rim\":\"%s\"", b64);
    if (id != NULL) n += snprintf(s + n, cap - (size_t)n, ",\"id\":\"%s\"", id);
    if (sha != NULL) n += snprintf(s + n, cap - (size_t)n, ",\"sha256\":\"%s\"", sha);
    snprintf(s + n, cap - (size_t)n, "}");
    free(b64);
    return s;
}

static vt_err parse(const char *s, const char *want, vt_buf *xml, vt_error *e)
{
    vt_error_clear(e);
    return vt_nvidia_rim_service_parse((const uint8_t *)s, strlen(s), want, xml, e);
}

static void t_service_answer(void **state)
{
    (void)state;
    vt_buf x = {0}, out = {0};
    vt_error e;
    vt_test_load(VBIOS_RIM, &x);
    uint8_t h[32];
    char sha[65];
    SHA256(x.ptr, x.len, h);
    vt_hex_encode(h, sizeof h, sha);
    char *s = answer(&x, VB_ID, sha);
    assert_int_equal(parse(s, VB_ID, &out, &e), VT_OK);
    assert_int_equal(out.len, x.len);
    assert_memory_equal(out.ptr, x.ptr, x.len);
    vt_buf_free(&out);
    free(s);
    s = answer(&x, NULL, NULL); /* id and sha256 are optional */
    assert_int_equal(parse(s, VB_ID, &out, &e), VT_OK);
    vt_buf_free(&out);
    free(s);
    s = answer(&x, "NV_GPU_VBIOS_OTHER", sha); /* an answer for another id */
    assert_int_equal(parse(s, VB_ID, &out, &e), VT_E_INVALID);
    assert_string_equal(e.check, "rim_fetch");
    assert_null(out.ptr);
    free(s);
    sha[10] = sha[10] == '0' ? '1' : '0'; /* the RIM is not the one the answer names */
    s = answer(&x, VB_ID, sha);
    assert_int_equal(parse(s, VB_ID, &out, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "sha256"));
    free(s);
    const char *bad[] = {"[]", "{}", "{\"rim\":5}", "{\"rim\":\"@@@\"}", "{\"rim\":\"QUJD\",\"id\":7}",
                         "{\"rim\":\"QUJD\",\"sha256\":1}", "{\"rim\":\"QUJD\"", "", "null"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(bad[i], VB_ID, &out, &e), VT_E_INVALID);
        assert_null(out.ptr);
        assert_string_equal(e.check, "rim_fetch");
    }
    vt_buf_free(&x);
}

/* The cache serves a RIM offline while it verifies; not after its signer expired; never a
 * tampered copy; ids that could name a path are refused. */
static void t_cache_offline(void **state)
{
    (void)state;
    vt_buf x = {0}, root = {0};
    vt_error e;
    vt_test_load(VBIOS_RIM, &x);
    vt_test_load(RIM_ROOT, &root);
    vt_nvidia_rim_verifier *v = NULL;
    assert_int_equal(vt_nvidia_rim_verifier_new(root.ptr, root.len, &v, &e), VT_OK);
    char dir[256], sub[512], file[1024];
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(sub, sizeof sub, "%s/nvidia/rim", dir);
    assert_int_equal(vt_mkdirs(sub, 0755, &e), VT_OK);
    snprintf(file, sizeof file, "%s/" VB_ID ".swidtag", sub);
    vt_nvidia_source_stats st = {0};
    vt_nvidia_rim_source src = {.cache_dir = dir, .stats = &st};
    vt_nvidia_rim *rim = malloc(sizeof *rim);
    vt_checks *c = calloc(1, sizeof *c);
    assert_non_null(rim);
    assert_non_null(c);
    /* empty cache, offline */
    assert_int_equal(vt_nvidia_rim_get(v, &src, VB_ID, AT_2024, rim, NULL, c, &e), VT_E_MISSING);
    assert_string_equal(e.check, "rim_fetch");
    assert_int_equal(vt_file_write(file, x.ptr, x.len, &e), VT_OK);
    memset(c, 0, sizeof *c);
    vt_buf got = {0};
    assert_int_equal(vt_nvidia_rim_get(v, &src, VB_ID, AT_2024, rim, &got, c, &e), VT_OK);
    assert_string_equal(rim->version, "96.00.74.00.1A");
    assert_int_equal(got.len, x.len);
    assert_int_equal(st.rim_cache_hits, 1);
    assert_int_equal(st.rim_fetched, 0);
    vt_buf_free(&got);
    /* the same file at 2026-01-01: the signer expired, the cache does not serve it */
    memset(c, 0, sizeof *c);
    assert_int_equal(vt_nvidia_rim_get(v, &src, VB_ID, AT_2026, rim, NULL, c, &e), VT_E_MISSING);
    /* a tampered cached copy is not served */
    char *p = strstr((char *)x.ptr, "Hash0=\"");
    assert_non_null(p);
    p[7] = p[7] == '0' ? '1' : '0';
    assert_int_equal(vt_file_write(file, x.ptr, x.len, &e), VT_OK);
    memset(c, 0, sizeof *c);
    assert_int_equal(vt_nvidia_rim_get(v, &src, VB_ID, AT_2024, rim, NULL, c, &e), VT_E_MISSING);
    assert_int_equal(st.rim_cache_hits, 1);
    const char *ids[] = {"../x", "a/b", "", ".hidden", "id with space"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        assert_int_equal(vt_nvidia_rim_get(v, &src, ids[i], AT_2024, rim, NULL, c, &e), VT_E_ARG);
    free(rim);
    free(c);
    vt_nvidia_rim_verifier_free(v);
    vt_buf_free(&x);
    vt_buf_free(&root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(t_service_answer), cmocka_unit_test(t_cache_offline)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
