/* Ninety days of a key broker's collateral in a few seconds (issue 14): an emulated TDX
 * platform whose Intel-shaped collateral is re-issued over time by its test PKI and served by a
 * fake PCCS on loopback (tests/fixtures/fake_pcs.py); the collateral manager runs on an injected
 * clock every six hours and the quote is verified after each pass through the one verification
 * entry, as /attest does. Along the way: a new TCB Info with a TCB recovery (UpToDate becomes
 * OutOfDate), a new PCK CRL revoking the platform's PCK, a two-day upstream outage, a 429 storm,
 * and finally an outage that outlasts the last items. Asserted: every verification inside a
 * validity window gives the status of the collateral the cache holds, none passes after real
 * expiry, the hot path never fetches while the cache is usable, and the fetch counts. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_pcs.h"
#include "testutil.h"
#include "veritee/codec.h"
#include "veritee/collateral.h"
#include "veritee/crypto.h"
#include "veritee/emulate.h"
#include "veritee/fileio.h"
#include "veritee/pki.h"
#include "veritee/verify.h"
#include "veritee/x509.h"

#define DAY 86400
#define T0_TEXT "2026-06-01T12:00:00Z"

static struct {
    char dir[512];
    fake_pcs pcs;
    vt_time t0;
    vt_buf quote;
    long waits;
} F;

static void ctl(const char *json) { fake_pcs_ctl(&F.pcs, json); }
static int requests(void) { return fake_pcs_requests(&F.pcs); }

static EVP_PKEY *key(const char *name)
{
    char emu[1024];
    snprintf(emu, sizeof emu, "%s/emu", F.dir);
    return vt_test_emu_key(emu, name);
}

/* keys/tdx_pck_chain.pem: 0 PCK, 1 PCK Platform CA, 2 root */
static X509 *chain_cert(int i)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/emu/keys/tdx_pck_chain.pem", F.dir);
    return vt_test_pem_cert(p, i);
}

/* collateral/<file> {"<k>": body, "signature"} re-dated to [issue, issue + 30 d] and re-signed by
 * the emulated TCB Signing key into out_dir; recovery marks the platform's TCB level OutOfDate. */
static void resign_json(const char *out_dir, const char *file, const char *k, vt_time issue, bool recovery)
{
    char p[1024], q[1024];
    snprintf(p, sizeof p, "%s/emu/collateral/%s", F.dir, file);
    snprintf(q, sizeof q, "%s/%s", out_dir, file);
    json_t *doc = json_load_file(p, 0, NULL);
    assert_non_null(doc);
    json_t *body = json_object_get(doc, k);
    char a[21], b[21];
    vt_time_format(issue, a);
    vt_time_format(issue + 30 * DAY, b);
    json_object_set_new(body, "issueDate", json_string(a));
    json_object_set_new(body, "nextUpdate", json_string(b));
    if (recovery) {
        json_t *levels = json_object_get(body, "tcbLevels");
        for (size_t i = 0; i < json_array_size(levels); i++)
            json_object_set_new(json_array_get(levels, i), "tcbStatus", json_string("OutOfDate"));
        json_object_set_new(body, "tcbEvaluationDataNumber", json_integer(18));
    }
    EVP_PKEY *sk = key("tdx_tcb_signing.key.pem");
    vt_test_write_signed_json(q, k, body, sk);
    EVP_PKEY_free(sk);
    json_decref(doc);
}

static void write_crl(const char *out_dir, const char *file, int issuer, const char *key_name, vt_time tu,
                      vt_time nu, X509 *revoked)
{
    X509 *ca = chain_cert(issuer);
    EVP_PKEY *k = key(key_name);
    X509_CRL *crl = NULL;
    uint8_t serial[64];
    const uint8_t *sp[1] = {serial};
    size_t sl[1] = {0};
    if (revoked != NULL) {
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(revoked), NULL);
        sl[0] = (size_t)BN_bn2bin(bn, serial);
        BN_free(bn);
    }
    assert_int_equal(vt_pki_crl(ca, k, tu, nu, sp, sl, revoked ? 1 : 0, &crl, NULL), VT_OK);
    vt_buf der = {0};
    assert_int_equal(vt_pki_crl_der(crl, &der, NULL), VT_OK);
    char q[1024];
    snprintf(q, sizeof q, "%s/%s", out_dir, file);
    assert_int_equal(vt_file_write(q, der.ptr, der.len, NULL), VT_OK);
    vt_buf_free(&der);
    X509_CRL_free(crl);
    EVP_PKEY_free(k);
    X509_free(ca);
}

/* One issue of the collateral, as Intel would publish it on day `day`. */
static void generation(const char *name, int day, bool recovery, bool revoke_pck, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", F.dir, name);
    assert_int_equal(vt_mkdirs(out, 0755, NULL), VT_OK);
    vt_time issue = F.t0 + (vt_time)day * DAY;
    resign_json(out, "tcbinfo_90c06f000000.json", "tcbInfo", issue, recovery);
    resign_json(out, "qe_identity.json", "enclaveIdentity", issue, false);
    X509 *pck = revoke_pck ? chain_cert(0) : NULL;
    write_crl(out, "pck_crl.der", 1, "tdx_pck_ca.key.pem", issue, issue + 30 * DAY, pck);
    X509_free(pck);
    write_crl(out, "root_ca_crl.der", 2, "tdx_root.key.pem", issue, issue + 365 * DAY, NULL);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cp %s/emu/collateral/tcb_signing_chain.pem %s/emu/collateral/pck_crl_issuer_chain.pem %s/",
             F.dir, F.dir, out);
    assert_int_equal(system(cmd), 0);
}

static int setup(void **st)
{
    (void)st;
    vt_test_tmpdir(F.dir, sizeof F.dir);
    assert_int_equal(vt_time_parse_rfc3339(T0_TEXT, &F.t0, NULL), VT_OK);
    char emu[700];
    snprintf(emu, sizeof emu, "%s/emu", F.dir);
    vt_test_emu_init(emu, "tdx", NULL, F.t0);
    vt_error e;
    vt_emu *em = NULL;
    uint8_t rd[64] = {1, 2, 3};
    assert_int_equal(vt_emu_open(emu, &em, &e), VT_OK);
    assert_int_equal(vt_emu_tdx_quote(em, rd, 4, &F.quote, &e), VT_OK);
    vt_emu_free(em);
    char g0[700];
    generation("g0", 0, false, false, g0, sizeof g0);
    return fake_pcs_start(&F.pcs, g0, F.dir) ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    fake_pcs_stop(&F.pcs);
    vt_buf_free(&F.quote);
    return 0;
}

static void count_wait(void *ctx, long ms)
{
    (void)ctx;
    F.waits += ms;
}

typedef enum expect { UP_TO_DATE, OUT_OF_DATE, REVOKED, MISSING, ANY } expect;

static void test_ninety_days(void **st)
{
    (void)st;
    char cache[700], url[64], g1[700], g2[700], trust[700];
    snprintf(cache, sizeof cache, "%s/cache", F.dir);
    snprintf(trust, sizeof trust, "%s/emu/trust", F.dir);
    snprintf(url, sizeof url, "%s", F.pcs.url);
    generation("g1", 25, true, false, g1, sizeof g1);  /* TCB recovery */
    generation("g2", 50, true, true, g2, sizeof g2);   /* the platform's PCK revoked */
    vt_buf rb = {0};
    char rp[800];
    snprintf(rp, sizeof rp, "%s/tdx_sgx_root_ca.pem", trust);
    STACK_OF(X509) *roots = NULL;
    assert_int_equal(vt_file_read(rp, 1 << 16, &rb, NULL), VT_OK);
    assert_int_equal(vt_pem_certs(rb.ptr, rb.len, &roots, NULL), VT_OK);
    vt_buf_free(&rb);
    vt_coll_manager_opts mo = {.cache_dir = cache, .fetch_wait_ms = 10000, .retry_min_s = 3600, .retry_max_s = 6 * 3600,
                               .pcs = {.base_url = url, .pccs = true, .roots = roots, .timeout_seconds = 5,
                                       .sleep_ms = count_wait}};
    vt_coll_manager *m = NULL;
    vt_error e;
    assert_int_equal(vt_coll_manager_new(&mo, F.t0, &m, &e), VT_OK);
    vt_verify_sources src = {.trust_dir = trust, .cache_dir = cache, .collateral = m};
    vt_verifier *v = NULL;
    assert_int_equal(vt_verifier_new(&src, &v, &e), VT_OK);

    int hot_fetches = 0, verified = 0, counts[5] = {0};
    unsigned up_requests = 0, down_requests = 0, down_ticks = 0;
    for (int step = 0; step <= 90 * 4; step++) {
        vt_time t = F.t0 + (vt_time)step * 6 * 3600 + 60;
        int day = step / 4;
        /* the world changes */
        char cmd[800];
        if (step == 25 * 4) snprintf(cmd, sizeof cmd, "{\"dir\": \"%s\"}", g1), ctl(cmd);
        if (step == 50 * 4) snprintf(cmd, sizeof cmd, "{\"dir\": \"%s\"}", g2), ctl(cmd);
        if (step == 40 * 4) ctl("{\"down\": true}");  /* a two-day outage */
        if (step == 42 * 4) ctl("{\"down\": false}");
        if (step == 45 * 4 + 1) ctl("{\"queue\": [{\"status\": 429, \"retry_after\": 2}, {\"status\": 429}, {\"status\": 503}]}");
        if (step == 60 * 4) ctl("{\"down\": true}");  /* for good: the last items expire on day 80 */
        if (step > 0) {
            vt_coll_tick_report r;
            assert_int_equal(vt_coll_manager_tick(m, t, &r, &e), VT_OK);
            if (day < 60) up_requests += r.requests;
            else down_requests += r.requests, down_ticks++;
            if (getenv("VT_TRACE")) print_message("step %d day %d: refreshed %u failed %u deferred %u requests %u\n", step, day, r.refreshed, r.failed, r.deferred, r.requests);
        }
        /* an /attest at t */
        int before = requests();
        vt_verify_opts o = {.tee = "tdx", .at = t};
        vt_verify_result res;
        memset(&res, 0, sizeof res);
        vt_err rc = vt_verify(v, F.quote.ptr, F.quote.len, &o, &res, &e);
        int fetched = requests() - before;
        expect want = day < 25 ? UP_TO_DATE : day == 25 ? ANY : day < 50 ? OUT_OF_DATE : day == 50 ? ANY
                    : day <= 79 ? REVOKED : day == 80 ? ANY : MISSING;
        expect got = rc == VT_OK && res.tdx && res.tdx->tcb_status == VT_TCB_UP_TO_DATE     ? UP_TO_DATE
                     : rc == VT_OK && res.tdx && res.tdx->tcb_status == VT_TCB_OUT_OF_DATE ? OUT_OF_DATE
                     : rc == VT_E_REVOKED                                                    ? REVOKED
                     : rc == VT_E_MISSING                                                    ? MISSING
                                                                                             : ANY;
        if (want != ANY && got != want)
            fail_msg("day %d (step %d): verification %d (%s), expected %d", day, step, rc, rc ? e.msg : "ok", want);
        if (got != ANY) counts[got]++;
        if (rc == VT_OK) verified++;
        if (step > 0 && got != MISSING) hot_fetches += fetched; /* usable cache: the hot path must not fetch */
        vt_verify_result_clear(&res);
    }
    assert_int_equal(hot_fetches, 0);
    assert_true(counts[UP_TO_DATE] >= 99 && counts[OUT_OF_DATE] >= 95 && counts[REVOKED] >= 115 && counts[MISSING] >= 35);
    assert_true(F.waits >= 2000); /* the 429 storm was waited out (Retry-After 2 s, then back-off) */
    print_message("90 days: %d UpToDate, %d OutOfDate, %d Revoked, %d refused after expiry; %d requests upstream\n",
                  counts[UP_TO_DATE], counts[OUT_OF_DATE], counts[REVOKED], counts[MISSING], requests());
    /* while the upstream is up: about one refresh of four items a day (plus the items inside
     * their refresh margin before a new issue, the 2-day outage and the 429 storm), never one
     * per verification; when it is gone for good, at most one bounded attempt per pass */
    print_message("requests: %u in days 0-59, %u in %u passes of the final outage\n", up_requests, down_requests, down_ticks);
    assert_true(up_requests <= 60 * 4 + 3 * 8 * 3 + 8 * 4 + 8);
    assert_true(down_requests <= down_ticks * 4);
    vt_verifier_free(v);
    vt_coll_manager_free(m);
    sk_X509_pop_free(roots, X509_free);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ninety_days),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
