/* Composite evidence pieces of the KBS protocol (docs/kbs.md, "Additional evidence"): the
 * additional_evidence map is read strictly; the device runtime data is SHA-384 over the JCS text
 * of {nonce, tee-pubkey} (without the additional evidence, as guest-components and Trustee
 * compute it); resource policies count GPU submods (min_gpus) and know the nvidia TEE. */
#include <openssl/evp.h>
#include <string.h>

#include "testutil.h"
#include "veritee/kbs.h"
#include "veritee/rcar.h"

static void test_additional_parse(void **state)
{
    (void)state;
    vt_error e;
    json_t *m = (json_t *)1;
    assert_int_equal(vt_rcar_additional_parse("", &m, &e), VT_OK);
    assert_null(m);
    assert_int_equal(vt_rcar_additional_parse("{\"nvidia\":{\"device_evidence_list\":[]}}", &m, &e), VT_OK);
    assert_non_null(json_object_get(m, "nvidia"));
    json_decref(m);
    static const struct {
        const char *text;
        vt_err rc;
    } bad[] = {
        {"{\"tpm\":{}}", VT_E_UNSUPPORTED},        /* a device TEE veritee does not verify */
        {"{\"nvidia\":\"x\"}", VT_E_INVALID},      /* evidence is an object */
        {"[]", VT_E_INVALID},                      /* a map */
        {"{}", VT_E_INVALID},                      /* at least one device TEE */
        {"{\"nvidia\":{},\"a\":{},\"b\":{},\"c\":{},\"d\":{}}", VT_E_INVALID}, /* at most 4 */
        {"{\"nvidia\":", VT_E_INVALID},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m = NULL;
        vt_err rc = vt_rcar_additional_parse(bad[i].text, &m, &e);
        if (rc == VT_OK || (bad[i].rc == VT_E_UNSUPPORTED && rc != VT_E_UNSUPPORTED))
            fail_msg("case %zu: rc %d", i, rc);
        assert_null(m);
    }
}

static void test_device_binding(void **state)
{
    (void)state;
    vt_error e;
    json_t *jwk = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", "AAA", "y", "BBB");
    uint8_t rd[64], rd2[64], want[64] = {0};
    assert_int_equal(vt_rcar_device_binding("bm9uY2U=", jwk, NULL, rd, &e), VT_OK);
    /* JCS: keys sorted, no whitespace */
    const char *text = "{\"nonce\":\"bm9uY2U=\",\"tee-pubkey\":{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"AAA\",\"y\":\"BBB\"}}";
    unsigned int n = 0;
    assert_int_equal(EVP_Digest(text, strlen(text), want, &n, EVP_sha384(), NULL), 1);
    assert_int_equal(n, 48);
    assert_memory_equal(rd, want, 64); /* 48 bytes, then zeros */
    /* the primary binding differs: it also covers the additional evidence */
    assert_int_equal(vt_rcar_binding("bm9uY2U=", jwk, "", NULL, rd2, NULL, &e), VT_OK);
    assert_memory_not_equal(rd, rd2, 48);
    assert_int_equal(vt_rcar_device_binding("bm9uY2U=", jwk, "md5", rd, &e), VT_E_UNSUPPORTED);
    assert_int_equal(vt_rcar_device_binding(NULL, jwk, NULL, rd, &e), VT_E_ARG);
    json_decref(jwk);
}

static json_t *ear_with(const char *gpu1_status, int n_gpus)
{
    json_t *subs = json_object();
    json_object_set_new(subs, "cpu0", json_pack("{s:s, s:{s:{s:b}}}", "ear.status", "affirming",
                                                 "ear.veraison.annotated-evidence", "tdx", "debug", 0));
    for (int i = 0; i < n_gpus; i++) {
        char label[8];
        snprintf(label, sizeof label, "gpu%d", i);
        json_object_set_new(subs, label, json_pack("{s:s, s:{s:{s:b}}}", "ear.status", i == 1 ? gpu1_status : "affirming",
                                                   "ear.veraison.annotated-evidence", "nvidia", "debug", 0));
    }
    return json_pack("{s:o}", "submods", subs);
}

static void test_resource_policy_gpus(void **state)
{
    (void)state;
    vt_error e;
    const char *pol = "{\"tee_types\":[\"tdx\",\"snp\",\"nvidia\"],\"min_gpus\":2}";
    assert_int_equal(vt_kbs_rpolicy_check(pol, strlen(pol), &e), VT_OK);
    json_t *ear = ear_with("affirming", 2);
    assert_int_equal(vt_kbs_rpolicy_eval(pol, ear, "default/model/key", &e), VT_OK);
    json_decref(ear);
    ear = ear_with("contraindicated", 2); /* one GPU not affirming: every submod must pass */
    assert_int_equal(vt_kbs_rpolicy_eval(pol, ear, "default/model/key", &e), VT_E_VERIFY);
    json_decref(ear);
    ear = ear_with("affirming", 1);
    assert_int_equal(vt_kbs_rpolicy_eval(pol, ear, "default/model/key", &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "at least 2"));
    json_decref(ear);
    /* a policy naming CPU TEEs only refuses a token with GPUs */
    ear = ear_with("affirming", 2);
    assert_int_equal(vt_kbs_rpolicy_eval("{\"tee_types\":[\"tdx\"]}", ear, "default/model/key", &e), VT_E_VERIFY);
    json_decref(ear);
    assert_int_equal(vt_kbs_rpolicy_check("{\"min_gpus\":17}", 15, &e), VT_E_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_additional_parse),
        cmocka_unit_test(test_device_binding),
        cmocka_unit_test(test_resource_policy_gpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
