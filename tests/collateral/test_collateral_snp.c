/* SEV-SNP collateral from AMD KDS (issue 14), against the fake KDS of tests/fixtures/fake_pcs.py
 * on loopback. On the real vectors (pinned ARKs): the chain and VCEK are checked and cached, a
 * tampered answer is refused and not cached, a fresh cache makes no request. On an emulated
 * Milan platform whose ARK-signed CRL is re-issued over time: ninety days of a key broker's
 * collateral manager on an injected clock (CRL rotation, a CRL revoking the ASK, a two-day
 * outage, a 429 storm, a final outage outlasting the last CRL), every /attest verified through
 * the one verification entry with the CRL required; counts asserted, no fetch on the hot path. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_pcs.h"
#include "snp_fixtures.h"
#include "testutil.h"
#include "veritee/collateral.h"
#include "veritee/emulate.h"
#include "veritee/fileio.h"
#include "veritee/pki.h"
#include "veritee/verify.h"
#include "veritee/x509.h"

#define DAY 86400
#define T0_TEXT "2026-06-01T12:00:00Z"

static struct {
    char dir[512];
    fake_pcs kds;
    vt_time t0;
    vt_buf report;
    long waits;
} F;

static void ctl(const char *json) { fake_pcs_ctl(&F.kds, json); }
static int requests(void) { return fake_pcs_requests(&F.kds); }

static void count_wait(void *ctx, long ms)
{
    (void)ctx;
    F.waits += ms;
}

static bool exists(const char *cache, const char *rel)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", cache, rel);
    return vt_file_exists(p);
}

static vt_coll_snp_want want_of(const char *vector)
{
    vt_buf b = {0};
    vt_test_load(vector, &b);
    vt_coll_snp_want w;
    vt_error e;
    if (vt_coll_snp_want_from_report(b.ptr, b.len, NULL, &w, &e) != VT_OK) fail_msg("%s: %s", vector, e.msg);
    vt_buf_free(&b);
    return w;
}

/* ---- the real vectors, pinned ARKs ---------------------------------------------------------- */

static void test_real_vectors(void **st)
{
    (void)st;
    char chains[1024], kds[2400], cache[700], cmd[2200];
    if (!vt_test_vector_path("snp/chains", chains, sizeof chains)) {
        print_message("skipped: no SEV-SNP vectors (VERITEE_VECTORS)\n");
        skip(); /* reported skipped, not passed */
    }
    snprintf(kds, sizeof kds, "{\"kds\": \"%s:%s/snp\", \"tamper\": false}", chains, vt_test_vectors());
    ctl(kds);
    snprintf(cache, sizeof cache, "%s/real", F.dir);
    vt_coll_pcs up = {.base_url = F.kds.url, .timeout_seconds = 5, .sleep_ms = count_wait};
    vt_coll_snp_want w = want_of("snp/milan_v3_routex/report.bin");
    vt_coll_report r;
    vt_error e;
    char id[180];
    vt_coll_snp_want_id(&w, id);
    assert_string_equal(id, "snp:Milan:a3fdc2c64dc299ab90d4238973864b586378e2e5ef9c9d4dc608f3bdaa89a969a03f1b5752cad55a0c"
                            "1547ade800dbd7404e9cb3f9738da3b280d1df69cf82e4:db18000000000004");
    vt_coll_snp_want back;
    assert_int_equal(vt_coll_snp_want_parse(id, &back, &e), VT_OK);
    assert_memory_equal(&back, &w, sizeof w);

    /* a tampered chain (the ASK's signature) is refused: nothing is cached */
    ctl("{\"tamper\": true}");
    assert_int_equal(vt_coll_snp_fetch(&up, cache, &w, SNP_REF_TIME, 0, DAY, false, &r, &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "not signed by the ARK"));
    assert_false(exists(cache, "vcek/Milan/cert_chain.pem"));
    ctl("{\"tamper\": false}");

    /* chain and VCEK checked against the pinned ARK-Milan and cached; the vectors hold no AMD CRL */
    int before = requests();
    assert_int_equal(vt_coll_snp_fetch(&up, cache, &w, SNP_REF_TIME, 0, DAY, false, &r, &e), VT_E_MISSING);
    assert_non_null(strstr(e.msg, "/vcek/v1/Milan/crl"));
    assert_int_equal(r.installed, 2);
    assert_int_equal(requests() - before, 3);
    assert_true(exists(cache, "vcek/Milan/cert_chain.pem"));
    snprintf(cmd, sizeof cmd, "vcek/Milan/%.128s/bl4-tee0-snp24-ucode219/vcek.der", id + 10);
    assert_true(exists(cache, cmd));

    /* a second fetch asks only for what is missing: the CRL */
    before = requests();
    assert_int_equal(vt_coll_snp_fetch(&up, cache, &w, SNP_REF_TIME, 0, DAY, false, &r, &e), VT_E_MISSING);
    assert_int_equal(requests() - before, 1);
    assert_int_equal(r.fresh, 2);

    /* a tampered VCEK is refused and the cached one stays */
    ctl("{\"tamper\": true}");
    assert_int_equal(vt_coll_snp_fetch(&up, cache, &w, SNP_REF_TIME, 0, DAY, true, &r, &e), VT_E_VERIFY);
    ctl("{\"tamper\": false}");

    /* the VCEK of another TCB is refused (KDS answered for the one it has) */
    vt_coll_snp_want other = w;
    other.reported_tcb ^= 1; /* boot loader SPL 5 instead of 4 */
    assert_int_equal(vt_coll_snp_fetch(&up, cache, &other, SNP_REF_TIME, 0, DAY, false, &r, &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "another TCB"));

    /* the cache alone verifies the report, with no --trust: the built-in ARK pin */
    vt_verify_sources src = {.cache_dir = cache};
    vt_verifier *v = NULL;
    assert_int_equal(vt_verifier_new(&src, &v, &e), VT_OK);
    vt_buf rep = {0};
    vt_test_load("snp/milan_v3_routex/report.bin", &rep);
    vt_verify_opts o = {.tee = "snp", .at = SNP_REF_TIME};
    vt_verify_result res;
    if (vt_verify(v, rep.ptr, rep.len, &o, &res, &e) != VT_OK) fail_msg("verify from the cache: %s", e.msg);
    assert_false(res.claims.emulated);
    vt_verify_result_clear(&res);
    vt_buf_free(&rep);
    vt_verifier_free(v);

    /* a chain whose ARK is not the pinned one is refused (the Genoa chain served as Milan's) */
    char bad[1100];
    snprintf(bad, sizeof bad, "%s/badkds", F.dir);
    assert_int_equal(vt_mkdirs(bad, 0755, NULL), VT_OK);
    snprintf(cmd, sizeof cmd, "cp %s/genoa_ask_ark.pem %s/milan_ask_ark.pem", chains, bad);
    assert_int_equal(system(cmd), 0);
    snprintf(kds, sizeof kds, "{\"kds\": \"%s\"}", bad);
    ctl(kds);
    snprintf(cache, sizeof cache, "%s/real2", F.dir);
    assert_int_equal(vt_coll_snp_fetch(&up, cache, &w, SNP_REF_TIME, 0, DAY, false, &r, &e), VT_E_VERIFY);
    assert_false(exists(cache, "vcek/Milan/cert_chain.pem"));
}

/* ---- ninety days on an emulated platform ---------------------------------------------------- */

static EVP_PKEY *ark_key(void)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/emu/keys/snp_ark.key.pem", F.dir);
    vt_buf b = {0};
    EVP_PKEY *k = NULL;
    assert_int_equal(vt_file_read(p, 1 << 16, &b, NULL), VT_OK);
    assert_int_equal(vt_pki_key_load_pem(b.ptr, b.len, true, &k, NULL), VT_OK);
    vt_buf_free(&b);
    return k;
}

/* collateral/snp_cert_chain.pem: 0 ASK, 1 ARK */
static X509 *chain_cert(int i)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/emu/collateral/snp_cert_chain.pem", F.dir);
    return vt_test_pem_cert(p, i);
}

/* What AMD KDS would serve from day `day`: the chain, the VCEK and a CRL valid 14 days,
 * revoking the ASK when revoke_ask. */
static void generation(const char *name, int day, bool revoke_ask, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", F.dir, name);
    assert_int_equal(vt_mkdirs(out, 0755, NULL), VT_OK);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cp %s/emu/collateral/snp_cert_chain.pem %.700s/milan_ask_ark.pem && cp %s/emu/collateral/snp_vcek.der %.700s/vcek.der",
             F.dir, out, F.dir, out);
    assert_int_equal(system(cmd), 0);
    X509 *ark = chain_cert(1), *ask = chain_cert(0);
    EVP_PKEY *k = ark_key();
    uint8_t serial[64];
    const uint8_t *sp[1] = {serial};
    size_t sl[1] = {0};
    if (revoke_ask) {
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(ask), NULL);
        sl[0] = (size_t)BN_bn2bin(bn, serial);
        BN_free(bn);
    }
    vt_time issue = F.t0 + (vt_time)day * DAY;
    X509_CRL *crl = NULL;
    assert_int_equal(vt_pki_crl(ark, k, issue, issue + 14 * DAY, sp, sl, revoke_ask ? 1 : 0, &crl, NULL), VT_OK);
    vt_buf der = {0};
    assert_int_equal(vt_pki_crl_der(crl, &der, NULL), VT_OK);
    snprintf(cmd, sizeof cmd, "%.700s/milan_crl.der", out);
    assert_int_equal(vt_file_write(cmd, der.ptr, der.len, NULL), VT_OK);
    vt_buf_free(&der);
    X509_CRL_free(crl);
    EVP_PKEY_free(k);
    X509_free(ark);
    X509_free(ask);
}

static void set_kds(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "{\"kds\": \"%s\"}", dir);
    ctl(cmd);
}

typedef enum expect { VERIFIED, REVOKED, MISSING, ANY } expect;

static void test_ninety_days(void **st)
{
    (void)st;
    char cache[700], g[8][700], arkp[800];
    static const int gen_day[8] = {0, 10, 20, 30, 40, 50, 55, 60};
    for (int i = 0; i < 8; i++) {
        char name[8];
        snprintf(name, sizeof name, "g%d", i);
        generation(name, gen_day[i], gen_day[i] >= 50, g[i], sizeof g[i]);
    }
    snprintf(cache, sizeof cache, "%s/cache", F.dir);
    snprintf(arkp, sizeof arkp, "%s/emu/trust", F.dir);
    set_kds(g[0]);
    ctl("{\"tamper\": false, \"down\": false}");
    STACK_OF(X509) *roots = sk_X509_new_null();
    sk_X509_push(roots, chain_cert(1));
    vt_coll_manager_opts mo = {.cache_dir = cache, .fetch_wait_ms = 10000, .retry_min_s = 3600, .retry_max_s = 6 * 3600,
                               .kds = {.base_url = F.kds.url, .roots = roots, .timeout_seconds = 5,
                                       .sleep_ms = count_wait}};
    vt_coll_manager *m = NULL;
    vt_error e;
    assert_int_equal(vt_coll_manager_new(&mo, F.t0, &m, &e), VT_OK);
    vt_verify_sources src = {.trust_dir = arkp, .cache_dir = cache, .collateral = m};
    vt_verifier *v = NULL;
    assert_int_equal(vt_verifier_new(&src, &v, &e), VT_OK);

    int hot_fetches = 0, counts[4] = {0}, first_requests = -1;
    unsigned up_requests = 0, down_requests = 0, down_ticks = 0;
    for (int step = 0; step <= 90 * 4; step++) {
        vt_time t = F.t0 + (vt_time)step * 6 * 3600 + 60;
        int day = step / 4;
        for (int i = 1; i < 8; i++)
            if (step == gen_day[i] * 4) set_kds(g[i]); /* AMD publishes a new CRL */
        if (step == 30 * 4) ctl("{\"down\": true}"); /* a two-day outage */
        if (step == 32 * 4) ctl("{\"down\": false}");
        if (step == 45 * 4 + 1) ctl("{\"queue\": [{\"status\": 429, \"retry_after\": 2}, {\"status\": 429}, {\"status\": 503}]}");
        if (step == 62 * 4) ctl("{\"down\": true}"); /* for good: the last CRL ends on day 74 */
        if (step > 0) {
            vt_coll_tick_report r;
            assert_int_equal(vt_coll_manager_tick(m, t, &r, &e), VT_OK);
            if (day < 62) up_requests += r.requests;
            else down_requests += r.requests, down_ticks++;
        }
        int before = requests();
        vt_verify_opts o = {.tee = "snp", .at = t, .crl_required = true};
        vt_verify_result res;
        memset(&res, 0, sizeof res);
        vt_err rc = vt_verify(v, F.report.ptr, F.report.len, &o, &res, &e);
        int fetched = requests() - before;
        if (step == 0) first_requests = fetched; /* the first guest: one on-demand fetch */
        expect want = day < 50 ? VERIFIED : day == 50 ? ANY : day < 74 ? REVOKED : day == 74 ? ANY : MISSING;
        expect got = rc == VT_OK ? VERIFIED : rc == VT_E_REVOKED ? REVOKED : rc == VT_E_MISSING ? MISSING : ANY;
        if (want != ANY && got != want)
            fail_msg("day %d (step %d): verification %d (%s), expected %d", day, step, rc, rc ? e.msg : "ok", want);
        if (got != ANY) counts[got]++;
        if (step > 0 && got != MISSING) hot_fetches += fetched;
        vt_verify_result_clear(&res);
    }
    assert_int_equal(first_requests, 3); /* chain, VCEK, CRL */
    assert_int_equal(hot_fetches, 0);
    assert_true(F.waits >= 2000); /* the 429 storm waited out (Retry-After 2 s, then back-off) */
    print_message("SNP 90 days: %d verified, %d revoked, %d refused after expiry; requests %u up (days 0-61), %u in %u "
                  "passes of the final outage\n", counts[VERIFIED], counts[REVOKED], counts[MISSING], up_requests,
                  down_requests, down_ticks);
    assert_true(counts[VERIFIED] >= 199 && counts[REVOKED] >= 91 && counts[MISSING] >= 63);
    /* the CRL is re-fetched about once a day (chain and VCEK never: they live for years); at
     * every pass while the CRL served is inside its refresh margin (its last 7 days) and no newer
     * one is out (3 days before each of 5 generations); 4 tries (503s waited out) in each of the
     * 8 passes of the outage; the storm. When KDS is gone: one bounded fetch per pass. */
    assert_true(up_requests <= 62 + 5 * 3 * 4 + 8 * 4 + 8);
    assert_true(down_requests <= down_ticks * 4);
    /* readiness follows the cache: not ready once the last CRL expired */
    assert_false(vt_coll_manager_ready(m, F.t0 + 80 * DAY));
    vt_verifier_free(v);
    vt_coll_manager_free(m);
    sk_X509_pop_free(roots, X509_free);
}

/* Forged evidence names platforms before anything in it is verified (an SNP report's chip id):
 * 70 reports with made-up chip ids must neither lock a real platform out of the 64-slot table
 * nor make the broker unready (found in review: one forged report took /readyz down for good,
 * 64 refused every new real platform until a restart). */
static void test_forged_platforms(void **st)
{
    (void)st;
    char cache[700], g[700];
    snprintf(cache, sizeof cache, "%s/cache-forged", F.dir);
    generation("gf", 0, false, g, sizeof g);
    set_kds(g);
    ctl("{\"tamper\": false, \"down\": false}");
    STACK_OF(X509) *roots = sk_X509_new_null();
    sk_X509_push(roots, chain_cert(1));
    vt_coll_manager_opts mo = {.cache_dir = cache, .fetch_wait_ms = 10000, .retry_min_s = 3600,
                               .kds = {.base_url = F.kds.url, .roots = roots, .timeout_seconds = 5,
                                       .sleep_ms = count_wait}};
    vt_coll_manager *m = NULL;
    vt_error e;
    assert_int_equal(vt_coll_manager_new(&mo, F.t0, &m, &e), VT_OK);
    vt_time t = F.t0 + 60;
    vt_buf forged = {0};
    assert_int_equal(vt_buf_set(&forged, F.report.ptr, F.report.len, &e), VT_OK);
    for (int i = 0; i < 70; i++) {
        memset(forged.ptr + VT_SNP_OFF_CHIP_ID, 0, 64);
        forged.ptr[VT_SNP_OFF_CHIP_ID] = (uint8_t)(i + 1);
        forged.ptr[VT_SNP_OFF_CHIP_ID + 1] = 0xf0;
        assert_int_not_equal(vt_coll_manager_need_snp(m, forged.ptr, forged.len, NULL, t, &e), VT_OK);
        assert_true(vt_coll_manager_ready(m, t)); /* a claim never verified is not a platform */
    }
    /* the real platform, new to the broker, still gets its collateral */
    if (vt_coll_manager_need_snp(m, F.report.ptr, F.report.len, NULL, t, &e) != VT_OK)
        fail_msg("the real platform after 70 forged ones: %s", e.msg);
    assert_true(vt_coll_manager_ready(m, t));
    vt_coll_tick_report r;
    assert_int_equal(vt_coll_manager_tick(m, t + 1, &r, &e), VT_OK);
    assert_int_equal(vt_coll_manager_need_snp(m, F.report.ptr, F.report.len, NULL, t + 2, &e), VT_OK);
    vt_buf_free(&forged);
    vt_coll_manager_free(m);
    sk_X509_pop_free(roots, X509_free);
}

/* A cached chain that no longer checks under the trust in force (here: the real Milan chain,
 * cached under the pinned ARK, after the broker was configured with another Milan root) is
 * fetched again; before, every refresh failed on the cached copy until a forced one. */
static void test_cached_chain_refetched(void **st)
{
    (void)st;
    char chains[1024], kds[2400], cache[700], g[700];
    if (!vt_test_vector_path("snp/chains", chains, sizeof chains)) {
        print_message("skipped: no SEV-SNP vectors (VERITEE_VECTORS)\n");
        skip();
    }
    snprintf(cache, sizeof cache, "%s/cache-reroot", F.dir);
    snprintf(kds, sizeof kds, "{\"kds\": \"%s:%s/snp\", \"tamper\": false, \"down\": false}", chains, vt_test_vectors());
    ctl(kds);
    vt_coll_pcs up = {.base_url = F.kds.url, .timeout_seconds = 5, .sleep_ms = count_wait};
    vt_coll_snp_want real = want_of("snp/milan_v3_routex/report.bin"), emu;
    vt_coll_report r;
    vt_error e;
    assert_int_equal(vt_coll_snp_fetch(&up, cache, &real, SNP_REF_TIME, 0, DAY, false, &r, &e), VT_E_MISSING);
    assert_true(exists(cache, "vcek/Milan/cert_chain.pem"));

    generation("g-reroot", 0, false, g, sizeof g);
    set_kds(g);
    STACK_OF(X509) *roots = sk_X509_new_null();
    sk_X509_push(roots, chain_cert(1));
    up.roots = roots;
    assert_int_equal(vt_coll_snp_want_from_report(F.report.ptr, F.report.len, NULL, &emu, &e), VT_OK);
    int before = requests();
    if (vt_coll_snp_fetch(&up, cache, &emu, F.t0 + 60, 0, 3650L * DAY, false, &r, &e) != VT_OK)
        fail_msg("refresh over a cached chain of another root: %s", e.msg);
    assert_int_equal(requests() - before, 3); /* chain, VCEK, CRL */
    assert_int_equal(r.installed, 3);
    sk_X509_pop_free(roots, X509_free);
}

/* A trusted root vouches for its own product only: an "ASK" named SEV-Genoa under the trusted
 * (emulated) ARK-Milan is refused for Genoa, naming both. */
static void test_root_of_another_product(void **st)
{
    (void)st;
    char g[700], cache[700], p[900];
    generation("g-genoa", 0, false, g, sizeof g);
    X509 *ark = chain_cert(1), *ask = NULL;
    EVP_PKEY *k = ark_key(), *ask_k = NULL;
    assert_int_equal(vt_pki_ec_key(VT_P384, &ask_k, NULL), VT_OK);
    vt_pki_cert_spec as = {.subject_cn = "SEV-Genoa", .not_before = F.t0 - DAY, .not_after = F.t0 + 365L * DAY,
                           .ca = true, .path_len = 0};
    assert_int_equal(vt_pki_cert(&as, ask_k, ark, k, &ask, NULL), VT_OK);
    vt_buf a = {0}, b = {0};
    assert_int_equal(vt_pki_cert_pem(ask, &a, NULL), VT_OK);
    assert_int_equal(vt_pki_cert_pem(ark, &b, NULL), VT_OK);
    assert_int_equal(vt_buf_append(&a, b.ptr, b.len, NULL), VT_OK);
    snprintf(p, sizeof p, "%s/genoa_ask_ark.pem", g);
    assert_int_equal(vt_file_write(p, a.ptr, a.len, NULL), VT_OK);
    set_kds(g);
    ctl("{\"tamper\": false, \"down\": false}");
    STACK_OF(X509) *roots = sk_X509_new_null();
    sk_X509_push(roots, chain_cert(1));
    vt_coll_pcs up = {.base_url = F.kds.url, .roots = roots, .timeout_seconds = 5, .sleep_ms = count_wait};
    vt_coll_snp_want w;
    vt_error e;
    assert_int_equal(vt_coll_snp_want_parse("snp:Genoa", &w, &e), VT_OK);
    vt_coll_report r;
    snprintf(cache, sizeof cache, "%s/cache-genoa", F.dir);
    assert_int_equal(vt_coll_snp_fetch(&up, cache, &w, F.t0 + 60, 0, DAY, false, &r, &e), VT_E_VERIFY);
    assert_non_null(strstr(e.msg, "the ARK is \"ARK-Milan\", not \"ARK-Genoa\""));
    assert_false(exists(cache, "vcek/Genoa/cert_chain.pem"));
    vt_buf_free(&a);
    vt_buf_free(&b);
    X509_free(ask);
    X509_free(ark);
    EVP_PKEY_free(k);
    EVP_PKEY_free(ask_k);
    sk_X509_pop_free(roots, X509_free);
}

static int setup(void **st)
{
    (void)st;
    vt_test_tmpdir(F.dir, sizeof F.dir);
    assert_int_equal(vt_time_parse_rfc3339(T0_TEXT, &F.t0, NULL), VT_OK);
    char emu[700];
    snprintf(emu, sizeof emu, "%s/emu", F.dir);
    vt_test_emu_init(emu, "snp", NULL, F.t0);
    vt_error e;
    vt_emu *em = NULL;
    uint8_t rd[64] = {1, 2, 3};
    assert_int_equal(vt_emu_open(emu, &em, &e), VT_OK);
    assert_int_equal(vt_emu_snp_report(em, rd, NULL, &F.report, &e), VT_OK);
    vt_emu_free(em);
    return fake_pcs_start(&F.kds, F.dir, F.dir) ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    fake_pcs_stop(&F.kds);
    vt_buf_free(&F.report);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_vectors),
        cmocka_unit_test(test_ninety_days),
        cmocka_unit_test(test_forged_platforms),
        cmocka_unit_test(test_cached_chain_refetched),
        cmocka_unit_test(test_root_of_another_product),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
