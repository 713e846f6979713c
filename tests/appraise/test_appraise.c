/* Appraisal, table-driven: every policy rule against real evidence (vectors verified at the
 * reference times their READMEs give) that passes it and evidence or a policy that fails it;
 * the expected EAR status and the failing check; every vector claim justified by a check. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/json.h"
#include "veritee/cca.h"
#include "veritee/certdir.h"
#include "veritee/fileio.h"
#include "veritee/policy.h"
#include "veritee/snp.h"
#include "veritee/tdx.h"

enum ev_id { TDX4, TDX_DEBUG, TDX_OOD, SGX3, SNP_MILAN, SNP_DEBUG, SNP_VLEK, SNP_GENOA5, SNP_GENOA3,
             CCA_TFRMM, CCA_TRUSTEE, CCA_ISLET, CCA_RSICTL, EV_N };

static vt_claims g_claims[EV_N];
static int g_state[EV_N]; /* 0 not tried, 1 ok, -1 vectors absent */

static bool vpath(const char *rel, char *out) { return vt_test_vector_path(rel, out, 1024); }

static int tdx(const char *dir, const char *quote, const char *at, bool allow_crl, vt_claims *out)
{
    char d[1024], rel[256], q[1024], root[1024];
    snprintf(rel, sizeof rel, "%s/%s", dir, quote);
    if (!vpath(dir, d) || !vpath(rel, q) || !vpath("tdx/common/intel_sgx_root_ca.pem", root)) return -1;
    vt_error e;
    vt_buf b = {0};
    vt_tdx_collateral coll;
    memset(&coll, 0, sizeof coll);
    STACK_OF(X509) *roots = NULL;
    vt_tdx_verifier *v = NULL;
    vt_tdx_result *r = calloc(1, sizeof *r);
    vt_time t;
    assert_int_equal(vt_time_parse_rfc3339(at, &t, &e), VT_OK);
    if (vt_file_read(q, VT_FILE_MAX, &b, &e) || vt_certs_load_path(root, &roots, &e) ||
        vt_tdx_collateral_load_dir(d, &coll, &e))
        fail_msg("%s: %s", dir, e.msg);
    vt_time issued = 0;
    for (size_t i = 0; i < coll.n_tcb_infos; i++)
        if (!issued || coll.tcb_infos[i].issue_date < issued) issued = coll.tcb_infos[i].issue_date;
    vt_tdx_verifier_opts o = {.roots = roots, .allow_missing_pck_crl = allow_crl};
    if (vt_tdx_verifier_new(&o, &coll, &v, &e) || vt_tdx_verify(v, b.ptr, b.len, t, r, &e) ||
        vt_claims_from_tdx(r, out, &e))
        fail_msg("%s: %s", dir, e.msg);
    out->has_collateral_issued = true;
    out->collateral_issued = issued;
    vt_tdx_verifier_free(v);
    vt_tdx_collateral_clear(&coll);
    sk_X509_pop_free(roots, X509_free);
    vt_buf_free(&b);
    free(r);
    return 1;
}

static int snp(const char *dir, const char *report, vt_claims *out)
{
    char d[1024], rel[256], rp[1024], chains[1024];
    snprintf(rel, sizeof rel, "%s/%s", dir, report);
    if (!vpath(dir, d) || !vpath(rel, rp) || !vpath("snp/chains", chains)) return -1;
    vt_error e;
    vt_buf b = {0};
    vt_snp_verifier *v = NULL;
    vt_snp_dir_collateral c1 = {0}, c2 = {0};
    vt_snp_claims *c = calloc(1, sizeof *c);
    vt_snp_verify_opts o = {0};
    assert_int_equal(vt_time_parse_rfc3339("2025-12-08T00:00:00Z", &o.at, &e), VT_OK);
    if (vt_file_read(rp, VT_FILE_MAX, &b, &e) || vt_snp_verifier_new(&v, &e) ||
        vt_snp_dir_collateral_load(d, &c1, &e) || vt_snp_dir_collateral_load(chains, &c2, &e))
        fail_msg("%s: %s", dir, e.msg);
    STACK_OF(X509) *pool = sk_X509_new_null();
    for (int i = 0; i < sk_X509_num(c1.certs); i++) sk_X509_push(pool, sk_X509_value(c1.certs, i));
    for (int i = 0; i < sk_X509_num(c2.certs); i++) sk_X509_push(pool, sk_X509_value(c2.certs, i));
    vt_snp_collateral sc = {.certs = pool};
    if (vt_snp_verify(v, b.ptr, b.len, &sc, &o, c, NULL, &e) || vt_claims_from_snp(c, out, &e))
        fail_msg("%s: %s", dir, e.msg);
    sk_X509_free(pool);
    vt_snp_dir_collateral_free(&c1);
    vt_snp_dir_collateral_free(&c2);
    vt_snp_verifier_free(v);
    vt_buf_free(&b);
    free(c);
    return 1;
}

static int cca(const char *token, const char *key, vt_claims *out)
{
    char tp[1024], kp[1024];
    if (!vpath(token, tp) || !vpath(key, kp)) return -1;
    vt_error e;
    vt_buf b = {0};
    vt_cca_trust trust;
    vt_cca_trust_init(&trust);
    vt_cca_token *t = calloc(1, sizeof *t);
    if (vt_file_read(tp, VT_FILE_MAX, &b, &e) || vt_cca_token_parse(b.ptr, b.len, t, &e) ||
        vt_cca_trust_load_file(&trust, kp, &e))
        fail_msg("%s: %s", token, e.msg);
    vt_cca_verify_opts o = {.trust = &trust};
    const vt_cca_cpak *used = NULL;
    if (vt_cca_verify(t, &o, NULL, &used, &e) || vt_claims_from_cca(t, used, out, &e)) fail_msg("%s: %s", token, e.msg);
    assert_false(out->emulated); /* a published test key, not veritee's emulated TEE */
    vt_cca_trust_free(&trust);
    vt_buf_free(&b);
    free(t);
    return 1;
}

static const vt_claims *evidence(enum ev_id id)
{
    vt_claims *c = &g_claims[id];
    if (g_state[id] == 0) {
        const char *K = "cca/keys/tfa_test_cpak_p384.pem";
        switch (id) {
        case TDX4: g_state[id] = tdx("tdx/dcapqvl_tdx_v4_b0c06f", "quote.bin", "2025-07-19T10:00:34Z", false, c); break;
        case TDX_DEBUG: g_state[id] = tdx("tdx/pcs2023_tdx_v4_50806f", "quote_trustee_4.bin", "2023-07-01T01:00:00Z", false, c); break;
        case TDX_OOD: g_state[id] = tdx("tdx/trustee_tdx_v4_00a06d_outofdate", "quote.bin", "2025-11-01T00:00:00Z", true, c); break;
        case SGX3: g_state[id] = tdx("tdx/dcapqvl_sgx_v3_00a067", "quote.bin", "2025-07-19T10:01:17Z", false, c); break;
        case SNP_MILAN: g_state[id] = snp("snp/milan_v2_trustee", "report.bin", c); break;
        case SNP_DEBUG: g_state[id] = snp("snp/milan_v2_gosevguest", "report.bin", c); break;
        case SNP_VLEK: g_state[id] = snp("snp/milan_v3_vlek_trustee", "report.bin", c); break;
        case SNP_GENOA5: g_state[id] = snp("snp/genoa_v5_routex", "report.bin", c); break;
        case SNP_GENOA3: g_state[id] = snp("snp/genoa_v3_routex", "report.bin", c); break;
        case CCA_TFRMM: g_state[id] = cca("cca/tokens/tfrmm_ssd_399.cbor", K, c); break;
        case CCA_TRUSTEE: g_state[id] = cca("cca/tokens/trustee_ssd_399.cbor", K, c); break;
        case CCA_ISLET: g_state[id] = cca("cca/tokens/islet_ssd_399.cbor", "cca/keys/islet_cpak_p384.pem", c); break;
        case CCA_RSICTL: g_state[id] = cca("cca/tokens/islet_rsictl_ssd_399.cbor", K, c); break;
        default: fail();
        }
    }
    return g_state[id] > 0 ? c : NULL;
}

static const char *g_ref_measure =
    "[{\"tee\":\"tdx\",\"name\":\"mrtd\",\"alg\":\"sha-384\",\"value\":"
    "\"91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7\","
    "\"provenance\":{\"tool\":\"veritee 0.1.0\",\"method\":\"TDVF\"}},"
    "{\"tee\":\"snp\",\"name\":\"launch_measurement\",\"value\":"
    "\"a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c\"}]";

typedef struct row {
    enum ev_id ev;
    const char *policy;     /* the policy body after "id":"t" */
    const char *nonce, *init; /* hex for the context, or NULL */
    bool emulate;           /* mark the claims emulated */
    vt_ear_status want;
    const char *check;      /* the check expected to fail or warn (NULL: none) */
} row;

#define P(body) "{\"id\":\"t\"" body "}"
#define Z48 "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
#define MRTD "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7"
#define SNPM "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c"
#define A VT_EAR_AFFIRMING
#define W VT_EAR_WARNING
#define C VT_EAR_CONTRAINDICATED

static const row ROWS[] = {
    /* common rules */
    {TDX4, P(""), NULL, NULL, false, A, NULL},
    {TDX4, P(",\"tee_types\":[\"tdx\"]"), NULL, NULL, false, A, NULL},
    {TDX4, P(",\"tee_types\":[\"snp\",\"cca\"]"), NULL, NULL, false, C, "tee_type"},
    {TDX4, P(""), NULL, NULL, true, C, "emulated"},
    {TDX4, P(",\"emulated\":\"warn\""), NULL, NULL, true, W, "emulated"},
    {TDX4, P(",\"emulated\":\"accept\""), NULL, NULL, true, A, NULL},
    {SGX3, P(""), NULL, NULL, false, C, "tcb_status"},
    {SGX3, P(",\"tcb\":{\"warn_statuses\":[\"ConfigurationAndSWHardeningNeeded\"]}"), NULL, NULL, false, W, "tcb_status"},
    {SGX3, P(",\"tcb\":{\"allowed_statuses\":[\"ConfigurationAndSWHardeningNeeded\"]}"), NULL, NULL, false, A, NULL},
    {SGX3, P(",\"tcb\":{\"allowed_statuses\":[\"ConfigurationAndSWHardeningNeeded\"],\"allowed_advisories\":[\"INTEL-SA-00289\"]}"), NULL, NULL, false, C, "advisories"},
    {SGX3, P(",\"tcb\":{\"allowed_statuses\":[\"ConfigurationAndSWHardeningNeeded\"],\"allowed_advisories\":[\"INTEL-SA-00289\",\"INTEL-SA-00615\"]}"), NULL, NULL, false, A, NULL},
    {SGX3, P(",\"tcb\":{\"allowed_statuses\":[\"ConfigurationAndSWHardeningNeeded\"],\"allowed_advisories\":[\"*\"]}"), NULL, NULL, false, A, NULL},
    {TDX_OOD, P(""), NULL, NULL, false, C, "tcb_status"},
    {TDX4, P(",\"tcb\":{\"min_tcb_date\":\"2024-03-13T00:00:00Z\"}"), NULL, NULL, false, A, NULL},
    {TDX4, P(",\"tcb\":{\"min_tcb_date\":\"2025-01-01T00:00:00Z\"}"), NULL, NULL, false, C, "tcb_date"},
    {TDX4, P(",\"collateral\":{\"min_remaining_seconds\":1}"), NULL, NULL, false, A, NULL},
    {TDX4, P(",\"collateral\":{\"min_remaining_seconds\":3600}"), NULL, NULL, false, C, "collateral_expiry"},
    {TDX4, P(",\"collateral\":{\"max_age_seconds\":2592000}"), NULL, NULL, false, A, NULL},
    {TDX4, P(",\"collateral\":{\"max_age_seconds\":86400}"), NULL, NULL, false, C, "collateral_age"},
    {TDX4, P(",\"collateral\":{\"require_revocation_check\":true}"), NULL, NULL, false, A, NULL},
    {TDX_OOD, P(",\"tcb\":{\"allowed_statuses\":[\"OutOfDate\"]},\"collateral\":{\"require_revocation_check\":true}"), NULL, NULL, false, C, "revocation"},
    {TDX_DEBUG, P(""), NULL, NULL, false, C, "debug"},
    {TDX_DEBUG, P(",\"allow_debug\":true"), NULL, NULL, false, W, "debug"},
    {SNP_DEBUG, P(""), NULL, NULL, false, C, "debug"},
    {SNP_MILAN, P(""), NULL, NULL, false, A, NULL},
    /* report data: SGX carries "Hello, world!" then zeros; SNP milan_v2_trustee ec6c52d7... */
    {SGX3, P(",\"tcb\":{\"allowed_statuses\":[\"ConfigurationAndSWHardeningNeeded\"]}"), "48656c6c6f2c20776f726c6421", NULL, false, A, NULL},
    {SGX3, P(",\"tcb\":{\"allowed_statuses\":[\"ConfigurationAndSWHardeningNeeded\"]}"), "48656c6c6f2c20776f726c64", NULL, false, C, "report_data"},
    {SGX3, P(",\"tcb\":{\"allowed_statuses\":[\"ConfigurationAndSWHardeningNeeded\"]},\"report_data\":{\"match\":\"exact\"}"), "48656c6c6f2c20776f726c6421", NULL, false, C, "report_data"},
    {SNP_MILAN, P(",\"report_data\":{\"required\":true}"), "ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2", NULL, false, A, NULL},
    {SNP_MILAN, P(",\"report_data\":{\"required\":true}"), NULL, NULL, false, C, "report_data"},
    {SNP_MILAN, P(",\"report_data\":{\"values\":[\"ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2\"]}"), NULL, NULL, false, A, NULL},
    {SNP_MILAN, P(",\"report_data\":{\"values\":[\"ec6c52d7\"]}"), NULL, NULL, false, C, "report_data_values"},
    {SNP_MILAN, P(",\"report_data\":{\"values\":[\"ec6c52d8\"]}"), NULL, NULL, false, C, "report_data_values"},
    /* init data: TDX MRCONFIGID and SNP HOST_DATA are zero */
    {TDX4, P(",\"init_data\":{\"required\":true}"), NULL, "00000000", false, A, NULL},
    {TDX4, P(",\"init_data\":{\"required\":true}"), NULL, "01", false, C, "init_data"},
    {TDX4, P(",\"init_data\":{\"required\":true}"), NULL, NULL, false, C, "init_data"},
    {SNP_MILAN, P(",\"init_data\":{\"values\":[\"00\"]}"), NULL, NULL, false, A, NULL},
    {SNP_MILAN, P(",\"init_data\":{\"values\":[\"aa\"]}"), NULL, NULL, false, C, "init_data_values"},
    /* measurements: literal values and reference values */
    {TDX4, P(",\"measurements\":{\"mr_td\":[\"" MRTD "\"]}"), NULL, NULL, false, A, NULL},
    {TDX4, P(",\"measurements\":{\"mr_td\":[\"" Z48 "\"]}"), NULL, NULL, false, C, "measurement.mr_td"},
    {TDX4, P(",\"measurements\":{\"mr_td\":{\"refs\":[\"mrtd\"]}}"), NULL, NULL, false, A, NULL},
    {TDX4, P(",\"measurements\":{\"mr_td\":{\"refs\":[\"launch_measurement\"]}}"), NULL, NULL, false, C, "measurement.mr_td"},
    {TDX4, P(",\"measurements\":{\"mr_td\":{\"refs\":[\"nothing\"]}}"), NULL, NULL, false, C, "measurement.mr_td"},
    {SNP_MILAN, P(",\"measurements\":{\"measurement\":{\"values\":[\"00\"],\"refs\":[\"launch_measurement\"]}}"), NULL, NULL, false, A, NULL},
    {SNP_MILAN, P(",\"measurements\":{\"mr_td\":[\"" MRTD "\"]}"), NULL, NULL, false, A, NULL}, /* not reported: skipped */
    {TDX4, P(",\"measurements\":{\"mr_config_id\":[\"" Z48 "\"],\"rtmr3\":[\"" Z48 "\"]}"), NULL, NULL, false, A, NULL},
    {TDX4, P(",\"tdx\":{\"mr_seam\":[\"" Z48 "\"]}"), NULL, NULL, false, C, "measurement.mr_seam"},
    /* TDX specifics */
    {TDX4, P(",\"tdx\":{\"td_attributes\":{\"mask\":\"0x1\",\"value\":\"0x0\"}}"), NULL, NULL, false, A, NULL},
    {TDX4, P(",\"tdx\":{\"td_attributes\":{\"mask\":\"0x10000000\",\"value\":\"0x0\"}}"), NULL, NULL, false, C, "td_attributes"},
    {TDX4, P(",\"tdx\":{\"xfam\":{\"mask\":\"0xffffffffffffffff\",\"value\":\"0x00000000000602e7\"}}"), NULL, NULL, false, A, NULL},
    {TDX4, P(",\"tdx\":{\"xfam\":{\"mask\":\"0x80000\",\"value\":\"0x80000\"}}"), NULL, NULL, false, C, "xfam"},
    {TDX4, P(",\"tdx\":{\"min_tee_tcb_svn\":\"06010300000000000000000000000000\"}"), NULL, NULL, false, A, NULL},
    {TDX4, P(",\"tdx\":{\"min_tee_tcb_svn\":\"06020000000000000000000000000000\"}"), NULL, NULL, false, C, "tee_tcb_svn"},
    /* SGX specifics (attributes 0500..., ISVPRODID 0, ISVSVN 0) */
#define SGXOK ",\"tcb\":{\"allowed_statuses\":[\"ConfigurationAndSWHardeningNeeded\"]}"
    {SGX3, P(SGXOK ",\"sgx\":{\"attributes\":{\"mask\":\"02000000000000000000000000000000\",\"value\":\"00000000000000000000000000000000\"}}"), NULL, NULL, false, A, NULL},
    {SGX3, P(SGXOK ",\"sgx\":{\"attributes\":{\"mask\":\"04000000000000000000000000000000\",\"value\":\"00000000000000000000000000000000\"}}"), NULL, NULL, false, C, "sgx_attributes"},
    {SGX3, P(SGXOK ",\"sgx\":{\"isv_prod_ids\":[0]}"), NULL, NULL, false, A, NULL},
    {SGX3, P(SGXOK ",\"sgx\":{\"isv_prod_ids\":[1,2]}"), NULL, NULL, false, C, "isv_prod_id"},
    {SGX3, P(SGXOK ",\"sgx\":{\"min_isv_svn\":1}"), NULL, NULL, false, C, "isv_svn"},
    {SGX3, P(SGXOK ",\"sgx\":{\"misc_select\":{\"mask\":\"0xffffffff\",\"value\":\"0x1\"}}"), NULL, NULL, false, C, "misc_select"},
    {SGX3, P(SGXOK ",\"sgx\":{\"mr_signer\":[\"815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6\"]}"), NULL, NULL, false, A, NULL},
    /* SNP specifics */
    {SNP_VLEK, P(",\"snp\":{\"max_vmpl\":1,\"signing_keys\":[\"vlek\"],\"products\":[\"milan\"]}"), NULL, NULL, false, A, NULL},
    {SNP_VLEK, P(",\"snp\":{\"max_vmpl\":0}"), NULL, NULL, false, C, "vmpl"},
    {SNP_VLEK, P(",\"snp\":{\"signing_keys\":[\"vcek\"]}"), NULL, NULL, false, C, "signing_key"},
    {SNP_GENOA5, P(",\"snp\":{\"products\":[\"milan\",\"turin\"]}"), NULL, NULL, false, C, "product"},
    {SNP_DEBUG, P(",\"allow_debug\":true,\"snp\":{\"policy\":{\"mask\":\"0x80000\",\"value\":\"0x0\"}}"), NULL, NULL, false, C, "snp_policy"},
    {SNP_MILAN, P(",\"snp\":{\"policy\":{\"mask\":\"0xc0000\",\"value\":\"0x0\"}}"), NULL, NULL, false, A, NULL},
    {SNP_MILAN, P(",\"snp\":{\"min_guest_svn\":4}"), NULL, NULL, false, A, NULL},
    {SNP_MILAN, P(",\"snp\":{\"min_guest_svn\":5}"), NULL, NULL, false, C, "guest_svn"},
    {SNP_GENOA5, P(",\"snp\":{\"min_tcb\":{\"bootloader\":10,\"tee\":0,\"snp\":27,\"microcode\":86},\"min_committed_tcb\":{\"snp\":27},\"min_firmware\":\"1.55.49\",\"platform_info\":{\"mask\":\"0x20\",\"value\":\"0x20\"}}"), NULL, NULL, false, A, NULL},
    {SNP_GENOA3, P(",\"snp\":{\"min_tcb\":{\"microcode\":86}}"), NULL, NULL, false, C, "reported_tcb"},
    {SNP_GENOA3, P(",\"snp\":{\"min_committed_tcb\":{\"snp\":27}}"), NULL, NULL, false, C, "committed_tcb"},
    {SNP_GENOA3, P(",\"snp\":{\"min_firmware\":\"1.55.49\"}"), NULL, NULL, false, C, "firmware"},
    {SNP_MILAN, P(",\"snp\":{\"platform_info\":{\"mask\":\"0x20\",\"value\":\"0x20\"}}"), NULL, NULL, false, C, "platform_info"},
    /* CCA specifics and reference values */
    {CCA_TFRMM, P(""), NULL, NULL, false, A, NULL},
    {CCA_TFRMM, P(",\"cca\":{\"lifecycles\":[\"non_cca_platform_debug\"]}"), NULL, NULL, false, C, "cca_lifecycle"},
    {CCA_TFRMM, P(",\"cca\":{\"profiles\":[\"1.0\",\"2.0\"]}"), NULL, NULL, false, C, "cca_profile"},
    {CCA_TFRMM, P(",\"cca\":{\"profiles\":[\"cca-ssd\"]}"), NULL, NULL, false, A, NULL},
    {CCA_TFRMM, P(",\"cca\":{\"platform_refs\":true,\"realm_refs\":true}"), NULL, NULL, false, A, NULL},
    {CCA_TRUSTEE, P(",\"cca\":{\"platform_refs\":true,\"realm_refs\":true}"), NULL, NULL, false, A, NULL},
    {CCA_ISLET, P(",\"cca\":{\"realm_refs\":true}"), NULL, NULL, false, A, NULL},
    {CCA_ISLET, P(",\"cca\":{\"platform_refs\":true}"), NULL, NULL, false, C, "cca_platform_refs"},
    {CCA_RSICTL, P(",\"cca\":{\"realm_refs\":true}"), NULL, NULL, false, C, "cca_realm_refs"},
    {CCA_TFRMM, P(",\"cca\":{\"implementation_ids\":[\"7f454c4602010100000000000000000003003e00010000005058000000000000\"]}"), NULL, NULL, false, A, NULL},
    {CCA_TFRMM, P(",\"cca\":{\"implementation_ids\":[\"aa\"]}"), NULL, NULL, false, C, "cca_implementation_id"},
    {CCA_TFRMM, P(",\"cca\":{\"software_components\":[{\"measurement_value\":\"00\"}]}"), NULL, NULL, false, C, "cca_software_components"},
    {CCA_TFRMM, P(",\"measurements\":{\"rim\":[\"0000000000000000000000000000000000000000000000000000000000000000\"],\"rem0\":[\"0000000000000000000000000000000000000000000000000000000000000000\"]}"), NULL, NULL, false, A, NULL},
    {CCA_TFRMM, P(",\"measurements\":{\"personalization_value\":{\"refs\":[\"personalization_value\"]}}"), NULL, NULL, false, A, NULL},
#define AB64 "abababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababab"
    {CCA_TFRMM, P(""), AB64, NULL, false, A, NULL},
    {CCA_TFRMM, P(""), "abababab", NULL, false, C, "report_data"}, /* a prefix needs zeros after it */
    {CCA_TFRMM, P(""), "abababac", NULL, false, C, "report_data"},
};

static vt_refvals g_rv;

static void load_refvals(void)
{
    vt_error e;
    char dir[1024];
    assert_int_equal(vt_refvals_load_mem(&g_rv, g_ref_measure, strlen(g_ref_measure), "measure.json", &e), VT_OK);
    if (vt_test_vector_path("cca/reference_values", dir, sizeof dir))
        assert_int_equal(vt_refvals_load_path(&g_rv, dir, &e), VT_OK);
}

/* Every non-zero vector claim equals the value of a check that names that claim. */
static void assert_justified(const vt_appraisal *a, size_t ri)
{
    for (int k = 0; k < VT_AR4SI_COUNT; k++) {
        if (a->vector.v[k] == 0) continue;
        bool found = false;
        for (size_t i = 0; i < a->n_checks && !found; i++)
            found = a->checks[i].claim == k && a->checks[i].value == a->vector.v[k];
        if (!found) fail_msg("row %zu: %s=%d is justified by no check", ri, vt_ar4si_name((vt_ar4si_claim)k), a->vector.v[k]);
    }
    assert_int_equal(a->status, vt_ar4si_status(&a->vector));
}

static void table(void **state)
{
    (void)state;
    size_t ran = 0;
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
        const row *r = &ROWS[i];
        const vt_claims *src = evidence(r->ev);
        if (src == NULL) continue;
        vt_claims *c = malloc(sizeof *c);
        *c = *src;
        c->emulated = r->emulate;
        vt_policy p;
        vt_error e;
        vt_error_clear(&e);
        if (vt_policy_parse(r->policy, strlen(r->policy), &p, &e) != VT_OK) fail_msg("row %zu policy: %s", i, e.msg);
        vt_buf nonce = {0}, init = {0};
        if (r->nonce) assert_int_equal(vt_hex_decode(r->nonce, strlen(r->nonce), &nonce, &e), VT_OK);
        if (r->init) assert_int_equal(vt_hex_decode(r->init, strlen(r->init), &init, &e), VT_OK);
        /* appraise at the instant the evidence was verified (collateral windows) */
        vt_time at = 0;
        const char *ats[] = {[TDX4] = "2025-07-19T10:00:34Z", [TDX_DEBUG] = "2023-07-01T01:00:00Z",
                             [TDX_OOD] = "2025-11-01T00:00:00Z", [SGX3] = "2025-07-19T10:01:17Z"};
        assert_int_equal(vt_time_parse_rfc3339(r->ev <= SGX3 ? ats[r->ev] : "2025-12-08T00:00:00Z", &at, NULL), VT_OK);
        vt_appraise_ctx ctx = {.at = at, .refvals = &g_rv, .report_data = nonce.ptr, .report_data_len = nonce.len,
                               .init_data = init.ptr, .init_data_len = init.len};
        vt_appraisal *a = malloc(sizeof *a);
        assert_int_equal(vt_policy_appraise(&p, c, &ctx, a, &e), VT_OK);
        if (a->status != r->want) {
            for (size_t k = 0; k < a->n_checks; k++)
                printf("  %s %d %s\n", a->checks[k].name, a->checks[k].value, a->checks[k].detail);
            fail_msg("row %zu: status %s, wanted %s", i, vt_ear_status_name(a->status), vt_ear_status_name(r->want));
        }
        const vt_appraisal_check *bad = NULL, *named = NULL;
        for (size_t k = 0; k < a->n_checks; k++) {
            if (a->checks[k].status != VT_CHECK_FAIL) continue;
            if (bad == NULL) bad = &a->checks[k];
            if (r->check != NULL && strcmp(a->checks[k].name, r->check) == 0) named = &a->checks[k];
        }
        if (r->check == NULL && bad != NULL) fail_msg("row %zu: check %s failed: %s", i, bad->name, bad->detail);
        if (r->check != NULL && named == NULL) fail_msg("row %zu: check %s did not fail", i, r->check);
        /* the named check is the one that sets the verdict */
        if (named != NULL) assert_int_equal(vt_ar4si_tier(named->value), r->want);
        assert_justified(a, i);
        assert_string_equal(a->policy_id, "t");
        vt_buf_free(&nonce);
        vt_buf_free(&init);
        vt_policy_free(&p);
        free(a);
        free(c);
        ran++;
    }
    printf("%zu of %zu rows ran (the others need vectors)\n", ran, sizeof ROWS / sizeof ROWS[0]);
    if (ran == 0) skip();
}

/* The shipped pinned examples accept the evidence they were written for. */
static void examples(void **state)
{
    (void)state;
    static const struct { const char *file; enum ev_id ev; vt_ear_status want; } rows[] = {
        {"default.json", TDX4, A}, {"default.json", SNP_MILAN, A}, {"default.json", CCA_TFRMM, A},
        {"default.json", TDX_DEBUG, C}, {"default.json", SGX3, C}, {"tdx.json", TDX4, A},
        {"tdx.json", TDX_OOD, C}, {"sgx.json", SGX3, W}, {"snp.json", SNP_GENOA5, A},
        {"snp.json", SNP_GENOA3, C}, {"snp.json", SNP_MILAN, C}, {"cca.json", CCA_TRUSTEE, A},
        {"cca.json", CCA_ISLET, C}, {"cca.json", TDX4, C},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const vt_claims *c = evidence(rows[i].ev);
        if (c == NULL) continue;
        char path[1024], rel[256];
        snprintf(rel, sizeof rel, "examples/policies/%s", rows[i].file);
        vt_test_source_path(rel, path, sizeof path);
        vt_policy p;
        vt_error e;
        if (vt_policy_load_file(path, &p, &e) != VT_OK) fail_msg("%s", e.msg);
        vt_time at;
        assert_int_equal(vt_time_parse_rfc3339(rows[i].ev == TDX4 ? "2025-07-19T10:00:34Z"
                                               : rows[i].ev == TDX_OOD ? "2025-11-01T00:00:00Z"
                                               : rows[i].ev == SGX3 ? "2025-07-19T10:01:17Z"
                                               : rows[i].ev == TDX_DEBUG ? "2023-07-01T01:00:00Z"
                                                                          : "2025-12-08T00:00:00Z", &at, NULL),
                         VT_OK);
        vt_appraise_ctx ctx = {.at = at, .refvals = &g_rv};
        vt_appraisal *a = malloc(sizeof *a);
        assert_int_equal(vt_policy_appraise(&p, c, &ctx, a, &e), VT_OK);
        if (a->status != rows[i].want)
            fail_msg("%s on row %zu: %s, wanted %s", rows[i].file, i, vt_ear_status_name(a->status),
                     vt_ear_status_name(rows[i].want));
        vt_policy_free(&p);
        free(a);
    }
}

static void unverified_and_rejected(void **state)
{
    (void)state;
    vt_claims *c = calloc(1, sizeof *c);
    c->tee = VT_TEE_SNP;
    vt_policy p;
    vt_error e;
    assert_int_equal(vt_policy_parse(P(""), strlen(P("")), &p, &e), VT_OK);
    vt_appraise_ctx ctx = {0};
    vt_appraisal *a = malloc(sizeof *a);
    assert_int_equal(vt_policy_appraise(&p, c, &ctx, a, &e), VT_OK);
    assert_int_equal(a->status, VT_EAR_CONTRAINDICATED);
    assert_int_equal(a->vector.v[VT_AR4SI_INSTANCE_IDENTITY], VT_AR4SI_CRYPTO_FAILED);
    assert_int_equal(vt_policy_appraise(NULL, c, &ctx, a, &e), VT_E_ARG);
    vt_error verr;
    vt_error_set(&verr, VT_E_VERIFY, "report_signature", "bad signature");
    vt_appraisal_rejected("t", &verr, a);
    assert_int_equal(a->status, VT_EAR_CONTRAINDICATED);
    for (int k = 0; k < VT_AR4SI_COUNT; k++) assert_int_equal(a->vector.v[k], 99);
    assert_non_null(strstr(a->checks[0].detail, "report_signature: bad signature"));
    json_t *j = vt_appraisal_checks_json(a);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "status")), "fail");
    json_decref(j);
    vt_policy_free(&p);
    free(a);
    free(c);
}

/* A report-data mismatch names the evidence's first 16 bytes in lower-case hex (the policy's
 * hex writer), and only those. */
static void report_data_detail_hex(void **state)
{
    (void)state;
    vt_claims *c = calloc(1, sizeof *c);
    c->tee = VT_TEE_SNP;
    c->verified = true;
    for (int i = 0; i < 64; i++) c->report_data[i] = (uint8_t)(0xf0 + i * 7);
    c->report_data_len = 64;
    vt_policy p;
    vt_error e;
    assert_int_equal(vt_policy_parse(P(""), strlen(P("")), &p, &e), VT_OK);
    uint8_t want[64] = {1};
    vt_appraise_ctx ctx = {.report_data = want, .report_data_len = 64};
    vt_appraisal *a = malloc(sizeof *a);
    assert_int_equal(vt_policy_appraise(&p, c, &ctx, a, &e), VT_OK);
    const vt_appraisal_check *k = NULL;
    for (size_t i = 0; i < a->n_checks; i++)
        if (strcmp(a->checks[i].name, "report_data") == 0) k = &a->checks[i];
    assert_non_null(k);
    assert_int_equal(k->status, VT_CHECK_FAIL);
    assert_non_null(strstr(k->detail, "report data f0f7fe050c131a21282f363d444b5259... does not bind"));
    vt_policy_free(&p);
    free(a);
    free(c);
}

/* An appraisal need not be zeroed first (the reset leaves the check entries past n_checks as
 * they are; each added entry is written whole): junk before gives what zero before gives. */
static void appraisal_from_junk(void **state)
{
    (void)state;
    vt_claims *c = calloc(1, sizeof *c);
    c->tee = VT_TEE_SNP;
    c->verified = true;
    c->report_data_len = 64;
    vt_policy p;
    vt_error e;
    assert_int_equal(vt_policy_parse(P(""), strlen(P("")), &p, &e), VT_OK);
    uint8_t want[64] = {1};
    vt_appraise_ctx ctx = {.report_data = want, .report_data_len = 64};
    vt_appraisal *a = malloc(sizeof *a), *z = calloc(1, sizeof *z);
    for (int round = 0; round < 2; round++) {
        memset(a, 0xa5, sizeof *a);
        vt_error verr;
        vt_error_set(&verr, VT_E_VERIFY, "report_signature", "bad signature");
        if (round == 0) {
            assert_int_equal(vt_policy_appraise(&p, c, &ctx, a, &e), VT_OK);
            assert_int_equal(vt_policy_appraise(&p, c, &ctx, z, &e), VT_OK);
        } else {
            vt_appraisal_rejected("t", &verr, a);
            vt_appraisal_rejected("t", &verr, z);
        }
        assert_true(z->n_checks > 0);
        assert_int_equal(a->n_checks, z->n_checks);
        assert_memory_equal(a, z, offsetof(vt_appraisal, checks));
        assert_memory_equal(a->checks, z->checks, z->n_checks * sizeof z->checks[0]);
    }
    vt_policy_free(&p);
    free(a);
    free(z);
    free(c);
}

/* The checks as the EAR carries them: name, status, claim and value when the check justifies a
 * claim, detail; a check whose name is not UTF-8 is left out, as it always was. */
static void checks_json_shape(void **state)
{
    (void)state;
    vt_appraisal *a = calloc(1, sizeof *a);
    a->n_checks = 3;
    snprintf(a->checks[0].name, sizeof a->checks[0].name, "tcb_status");
    a->checks[0].status = VT_CHECK_PASS;
    a->checks[0].claim = VT_AR4SI_HARDWARE;
    a->checks[0].value = VT_AR4SI_AFFIRMING;
    snprintf(a->checks[0].detail, sizeof a->checks[0].detail, "UpToDate \u00e9");
    snprintf(a->checks[1].name, sizeof a->checks[1].name, "bad\xff");
    a->checks[1].claim = -1;
    snprintf(a->checks[2].name, sizeof a->checks[2].name, "debug");
    a->checks[2].status = VT_CHECK_SKIP;
    a->checks[2].claim = -1;
    json_t *j = vt_appraisal_checks_json(a);
    char *text = vt_json_dumps(j, JSON_COMPACT);
    assert_string_equal(text, "[{\"name\":\"tcb_status\",\"status\":\"pass\",\"claim\":\"hardware\",\"value\":2,"
                              "\"detail\":\"UpToDate \u00e9\"},{\"name\":\"debug\",\"status\":\"skip\",\"detail\":\"\"}]");
    free(text);
    json_decref(j);
    free(a);
}

/* Claims builders: what each TEE's normalized claims say (vector READMEs). */
static void claims_facts(void **state)
{
    (void)state;
    const vt_claims *c = evidence(SNP_MILAN);
    if (c != NULL) {
        assert_int_equal(c->tee, VT_TEE_SNP);
        assert_false(c->debug);
        assert_false(c->has_tcb_status);
        assert_string_equal(c->init_data_name, "host_data");
        assert_int_equal(c->u.snp.guest_svn, 4);
        assert_int_equal(c->u.snp.reported_tcb.microcode, 115);
        assert_int_equal(vt_claims_meas(c, "measurement")->value[0], 0xa1);
        json_t *j = vt_claims_json(c);
        assert_string_equal(json_string_value(json_object_get(j, "tee")), "snp");
        assert_string_equal(json_string_value(json_object_get(json_object_get(j, "tee_claims"), "product")), "Milan");
        json_decref(j);
    }
    c = evidence(SGX3);
    if (c != NULL) {
        assert_int_equal(c->tee, VT_TEE_SGX);
        assert_int_equal(c->tcb_status, VT_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
        assert_int_equal(c->n_advisories, 2);
        assert_string_equal(c->advisories[1], "INTEL-SA-00615");
        assert_true(c->revocation_checked);
    }
    c = evidence(TDX_DEBUG);
    if (c != NULL) assert_true(c->debug);
    c = evidence(CCA_TFRMM);
    if (c != NULL) {
        assert_int_equal(c->u.cca.lifecycle, 12291);
        assert_int_equal(c->u.cca.n_sw, 4);
        assert_int_equal(c->report_data[0], 0xab);
        assert_string_equal(c->init_data_name, "personalization_value");
        assert_memory_equal(c->init_data, "The quick brown fox", 19);
        const char *g = NULL;
        assert_true(vt_refvals_match_cca_realm(&g_rv, c, &g));
        assert_non_null(strstr(g, "rust_ccatoken_rv.json#realm[0]"));
        assert_true(vt_refvals_match_cca_platform(&g_rv, c, &g));
        assert_non_null(strstr(g, "rust_ccatoken_rv.json#platform[1]"));
    }
    vt_claims *x = calloc(1, sizeof *x);
    uint8_t v[65] = {0};
    vt_error e;
    assert_int_equal(vt_claims_set_meas(x, "m", v, 65, &e), VT_E_ARG);
    for (int i = 0; i < VT_CLAIMS_MAX_MEAS; i++) {
        char n[8];
        snprintf(n, sizeof n, "m%d", i);
        assert_int_equal(vt_claims_set_meas(x, n, v, 1, &e), VT_OK);
    }
    assert_int_equal(vt_claims_set_meas(x, "one-more", v, 1, &e), VT_E_ARG);
    assert_int_equal(vt_claims_set_meas(x, "m0", v, 2, &e), VT_OK); /* replace */
    assert_int_equal(vt_claims_meas(x, "m0")->len, 2);
    free(x);
}

static int setup(void **state)
{
    (void)state;
    vt_refvals_init(&g_rv);
    load_refvals();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    vt_refvals_free(&g_rv);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table), cmocka_unit_test(examples), cmocka_unit_test(unverified_and_rejected),
        cmocka_unit_test(appraisal_from_junk),
        cmocka_unit_test(claims_facts), cmocka_unit_test(report_data_detail_hex),
        cmocka_unit_test(checks_json_shape),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
