/* Emulated SEV-SNP round trips: every configured property (TCB, debug, VMPL, measurements, host
 * data, chip id, report data, product) comes out of the real verifier as configured; the ARK's
 * CRL revokes the ASK; evidence is accepted only against its own emulator's trust; the reports,
 * certificate table and VCEK have the layout of the real vectors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "veritee/emulate.h"
#include "veritee/fileio.h"
#include "veritee/snp.h"
#include "veritee/x509.h"

#define T0 "2026-06-01T12:00:00Z"
#define T1 ((vt_time)1780358400) /* 2026-06-02T00:00:00Z */

/* An emulator whose "snp" section is the default merged with overrides (JSON text). */
static void make_emu(char *dir, size_t cap, const char *overrides)
{
    vt_test_emu_make(dir, cap, "snp", overrides, vt_test_at(T0));
}

/* Change report-time keys of platform.json (what `evidence get` reads). */
static void set_keys(const char *dir, const char *overrides)
{
    char path[300];
    snprintf(path, sizeof path, "%s/platform.json", dir);
    json_t *p = json_load_file(path, 0, NULL), *o = json_loads(overrides, 0, NULL);
    assert_non_null(p);
    assert_non_null(o);
    json_object_update(json_object_get(p, "snp"), o);
    assert_int_equal(json_dump_file(p, path, 0), 0);
    json_decref(p);
    json_decref(o);
}

static void report(const char *dir, const vt_emu_snp_opts *o, const uint8_t rd[64], vt_buf *out)
{
    vt_emu *emu;
    vt_error e;
    assert_int_equal(vt_emu_open(dir, &emu, &e), VT_OK);
    vt_err rc = vt_emu_snp_report(emu, rd, o, out, &e);
    if (rc != VT_OK) fail_msg("report: %s", e.msg);
    vt_emu_free(emu);
}

/* Verify as `veritee verify --tee snp --trust T/trust [--collateral C/collateral]` does. */
static vt_err verify(const char *trust_emu, const char *coll_emu, const vt_buf *ev, vt_snp_claims *cl, vt_error *e)
{
    char trust[300], coll[300];
    vt_snp_verifier *v = NULL;
    vt_snp_dir_collateral t = {0}, c = {0};
    assert_int_equal(vt_snp_verifier_new(&v, e), VT_OK);
    if (trust_emu != NULL) {
        snprintf(trust, sizeof trust, "%s/trust", trust_emu);
        assert_int_equal(vt_snp_dir_collateral_load(trust, &t, e), VT_OK);
        for (int i = 0; i < sk_X509_num(t.certs); i++)
            assert_int_equal(vt_snp_verifier_add_trust_cert(v, sk_X509_value(t.certs, i), e), VT_OK);
    }
    vt_snp_collateral sc = {0};
    if (coll_emu != NULL) {
        snprintf(coll, sizeof coll, "%s/collateral", coll_emu);
        assert_int_equal(vt_snp_dir_collateral_load(coll, &c, e), VT_OK);
        sc.certs = c.certs;
        sc.crls = c.crls;
    }
    vt_snp_verify_opts o = {.at = T1, .crl_required = coll_emu != NULL};
    vt_checks ck = {0};
    vt_err rc = vt_snp_verify(v, ev->ptr, ev->len, &sc, &o, cl, &ck, e);
    vt_snp_verifier_free(v);
    vt_snp_dir_collateral_free(&t);
    vt_snp_dir_collateral_free(&c);
    return rc;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static void test_milan_roundtrip_v3_v5(void **state)
{
    (void)state;
    char dir[256];
    make_emu(dir, sizeof dir,
             "{\"measurement\": \"aa00000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
             "000000bb\", \"host_data\": \"0101010101010101010101010101010101010101010101010101010101010101\","
             " \"guest_svn\": 7, \"firmware\": \"1.55.22\"}");
    uint8_t rd[64];
    for (int i = 0; i < 64; i++) rd[i] = (uint8_t)(0xf0 ^ i);
    int versions[] = {3, 5};
    for (int i = 0; i < 2; i++) {
        vt_emu_snp_opts o = {.version = versions[i]};
        vt_buf r = {0};
        report(dir, &o, rd, &r);
        assert_int_equal(r.len, VT_SNP_REPORT_SIZE);
        vt_snp_claims *cl = calloc(1, sizeof *cl);
        vt_error e;
        vt_err rc = verify(dir, dir, &r, cl, &e);
        if (rc != VT_OK) fail_msg("v%d: %s", versions[i], e.msg);
        assert_true(cl->emulated);
        assert_int_equal(cl->report.version, versions[i]);
        assert_int_equal(cl->product, VT_SNP_MILAN);
        assert_memory_equal(cl->report.report_data, rd, 64);
        assert_int_equal(cl->report.measurement[0], 0xaa);
        assert_int_equal(cl->report.measurement[47], 0xbb);
        assert_int_equal(cl->report.host_data[31], 0x01);
        assert_int_equal(cl->report.guest_svn, 7);
        assert_false(cl->report.policy.debug);
        assert_int_equal(cl->report.vmpl, 0);
        assert_int_equal(cl->reported_tcb.boot_loader, 4);
        assert_int_equal(cl->reported_tcb.snp, 24);
        assert_int_equal(cl->reported_tcb.microcode, 219);
        assert_int_equal(cl->report.current_version.build, 22);
        assert_int_equal(cl->leaf_ext.hwid_len, 64);
        assert_memory_equal(cl->leaf_ext.hwid, cl->report.chip_id, 64);
        assert_string_equal(cl->leaf_ext.product_name, "Milan-B0");
        assert_int_equal(cl->report.has_mit_vectors, versions[i] >= 5);
        /* field layout, byte by byte */
        assert_int_equal(le64(r.ptr + 0x008), 0x30000);
        assert_int_equal(r.ptr[0x034], 1);
        assert_memory_equal(r.ptr + 0x050, rd, 64);
        assert_int_equal(r.ptr[0x090], 0xaa);
        assert_int_equal(r.ptr[0x188], 0x19);
        assert_int_equal(r.ptr[0x189], 0x01);
        assert_int_equal(le64(r.ptr + 0x180), 0xdb18000000000004ull);
        assert_int_equal(r.ptr[0x1e8], 22); /* build, minor, major */
        assert_int_equal(r.ptr[0x1ea], 1);
        for (size_t k = 0x2a0 + 48; k < 0x2a0 + 72; k++) assert_int_equal(r.ptr[k], 0); /* r: 72 LE bytes */
        for (size_t k = 0x2a0 + 144; k < VT_SNP_REPORT_SIZE; k++) assert_int_equal(r.ptr[k], 0);
        json_t *j = vt_snp_claims_json(cl);
        assert_true(json_is_true(json_object_get(j, "emulated")));
        json_decref(j);
        free(cl);
        vt_buf_free(&r);
    }
}

static void test_report_time_properties(void **state)
{
    (void)state;
    char dir[256];
    make_emu(dir, sizeof dir, NULL);
    uint8_t rd[64] = {9};
    static const char *const cases[] = {
        "{\"debug\": true}", "{\"vmpl\": 2}", "{\"mask_chip_id\": true}", "{\"policy\": \"0x1b0000\"}",
        "{\"report_version\": 2}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        set_keys(dir, cases[i]);
        vt_buf r = {0};
        report(dir, NULL, rd, &r);
        vt_snp_claims *cl = calloc(1, sizeof *cl);
        vt_error e;
        vt_err rc = verify(dir, dir, &r, cl, &e);
        if (rc != VT_OK) fail_msg("%s: %s", cases[i], e.msg);
        assert_true(cl->emulated);
        if (i == 0) assert_true(cl->report.policy.debug);
        if (i == 1) assert_int_equal(cl->report.vmpl, 2);
        if (i == 2) assert_true(vt_bytes_is_zero(cl->report.chip_id, 64));
        if (i == 3) {
            assert_true(cl->report.policy.debug); /* still set from case 0 */
            assert_true(cl->report.policy.single_socket);
        }
        if (i == 4) {
            assert_int_equal(cl->report.version, 2);
            assert_false(cl->report.has_cpuid);
            assert_int_equal(cl->product, VT_SNP_MILAN); /* from the certificate issuer */
        }
        free(cl);
        vt_buf_free(&r);
    }
    /* a VMPL asked for at request time, as the configfs privlevel does */
    vt_emu_snp_opts o = {.has_vmpl = true, .vmpl = 3};
    vt_buf r = {0};
    report(dir, &o, rd, &r);
    vt_snp_claims cl;
    vt_error e;
    assert_int_equal(verify(dir, dir, &r, &cl, &e), VT_OK);
    assert_int_equal(cl.report.vmpl, 3);
    vt_buf_free(&r);
}

static void test_products_and_tcb(void **state)
{
    (void)state;
    static const struct {
        const char *over;
        vt_snp_product product;
        uint8_t fmc, bl, snp, ucode;
        uint8_t cur_snp;
    } cases[] = {
        {"{\"product\": \"Genoa\", \"rsa_bits\": 2048}", VT_SNP_GENOA, 0, 9, 23, 72, 23},
        {"{\"product\": \"Turin\", \"rsa_bits\": 2048, \"chip_id\": \"0102030405060708\"}", VT_SNP_TURIN, 1, 1, 3,
         0x4c, 3},
        /* an old TCB: the VCEK (and REPORTED_TCB) is for SNP SVN 8 while the platform runs 24 */
        {"{\"rsa_bits\": 2048, \"reported_tcb\": {\"bl\": 3, \"tee\": 0, \"snp\": 8, \"microcode\": 115}}",
         VT_SNP_MILAN, 0, 3, 8, 115, 24},
    };
    uint8_t rd[64] = {1};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[256];
        make_emu(dir, sizeof dir, cases[i].over);
        vt_buf r = {0};
        report(dir, NULL, rd, &r);
        vt_snp_claims *cl = calloc(1, sizeof *cl);
        vt_error e;
        vt_err rc = verify(dir, dir, &r, cl, &e);
        if (rc != VT_OK) fail_msg("%s: %s", cases[i].over, e.msg);
        assert_int_equal(cl->product, cases[i].product);
        assert_int_equal(cl->reported_tcb.fmc, cases[i].fmc);
        assert_int_equal(cl->reported_tcb.boot_loader, cases[i].bl);
        assert_int_equal(cl->reported_tcb.snp, cases[i].snp);
        assert_int_equal(cl->reported_tcb.microcode, cases[i].ucode);
        assert_int_equal(cl->current_tcb.snp, cases[i].cur_snp);
        if (cases[i].product == VT_SNP_TURIN) {
            assert_int_equal(cl->leaf_ext.hwid_len, 8);
            assert_int_equal(cl->report.chip_id[7], 8);
            assert_true(vt_bytes_is_zero(cl->report.chip_id + 8, 56));
            assert_true(cl->leaf_ext.has_fmc);
            assert_int_equal(r.ptr[0x188], 0x1a);
        }
        free(cl);
        vt_buf_free(&r);
    }
}

static void test_revoked_ask_and_crl(void **state)
{
    (void)state;
    char dir[256];
    make_emu(dir, sizeof dir, "{\"ask_revoked\": true, \"rsa_bits\": 2048, \"crl_days\": 5}");
    uint8_t rd[64] = {2};
    vt_buf r = {0};
    report(dir, NULL, rd, &r);
    vt_snp_claims cl;
    vt_error e;
    assert_int_equal(verify(dir, dir, &r, &cl, &e), VT_E_REVOKED);
    assert_string_equal(e.check, "revocation");
    vt_buf_free(&r);
}

static void test_certtable_and_cross_platform(void **state)
{
    (void)state;
    char a[256], b[256];
    make_emu(a, sizeof a, "{\"rsa_bits\": 2048}");
    make_emu(b, sizeof b, "{\"rsa_bits\": 2048}");
    uint8_t rd[64] = {3};
    vt_emu_snp_opts o = {.with_certtable = true};
    vt_buf ev = {0};
    report(a, &o, rd, &ev);
    /* the table the evidence carries: VCEK, ASK, ARK, as the real hosts serve them */
    vt_bytes rep, tab;
    vt_snp_certtable t;
    vt_error e;
    assert_int_equal(vt_snp_evidence_split(ev.ptr, ev.len, &rep, &tab, &e), VT_OK);
    assert_int_equal(rep.len, VT_SNP_REPORT_SIZE);
    assert_int_equal(vt_snp_certtable_parse(tab.ptr, tab.len, &t, &e), VT_OK);
    assert_int_equal(t.n, 3);
    assert_int_equal(t.entries[0].kind, VT_SNP_CERT_VCEK);
    assert_int_equal(t.entries[1].kind, VT_SNP_CERT_ASK);
    assert_int_equal(t.entries[2].kind, VT_SNP_CERT_ARK);
    assert_true(vt_bytes_is_zero(tab.ptr + 72, 24)); /* the all-zero terminator */
    /* with the table, the trust anchor alone suffices */
    vt_snp_claims cl;
    assert_int_equal(verify(a, NULL, &ev, &cl, &e), VT_OK);
    assert_true(cl.emulated);
    /* another emulator's trust, or the built-in AMD pins, never accept it */
    assert_int_equal(verify(b, NULL, &ev, &cl, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "ark_trusted");
    assert_int_equal(verify(NULL, NULL, &ev, &cl, &e), VT_E_VERIFY);
    assert_string_equal(e.check, "ark_trusted");
    /* the table alone with the CRL (the auxblob shape) */
    vt_emu *emu;
    vt_buf aux = {0};
    assert_int_equal(vt_emu_open(a, &emu, &e), VT_OK);
    assert_int_equal(vt_emu_snp_certtable(emu, true, &aux, &e), VT_OK);
    vt_emu_free(emu);
    assert_int_equal(vt_snp_certtable_parse(aux.ptr, aux.len, &t, &e), VT_OK);
    assert_int_equal(t.n, 4);
    assert_int_equal(t.entries[3].kind, VT_SNP_CERT_CRL);
    vt_buf_free(&aux);
    vt_buf_free(&ev);
}

/* The emulated VCEK carries the extensions the real Milan VCEK carries; both reports parse. */
static void test_real_format(void **state)
{
    (void)state;
    vt_buf real = {0}, vcek_der = {0};
    vt_test_load("snp/milan_v5_gcp_teekit/report_vmpl0.bin", &real);
    vt_test_load("snp/milan_v2_trustee/vcek.der", &vcek_der);
    char dir[256];
    make_emu(dir, sizeof dir, "{\"rsa_bits\": 2048}");
    uint8_t rd[64] = {4};
    vt_buf emu_rep = {0}, emu_vcek = {0};
    report(dir, NULL, rd, &emu_rep);
    vt_snp_report a, b;
    vt_error e;
    assert_int_equal(vt_snp_report_parse(real.ptr, real.len, &a, &e), VT_OK);
    assert_int_equal(vt_snp_report_parse(emu_rep.ptr, emu_rep.len, &b, &e), VT_OK);
    assert_int_equal(a.version, b.version);
    assert_int_equal(a.signature_algo, b.signature_algo);
    assert_int_equal(a.cpuid_fam_id, b.cpuid_fam_id);
    assert_int_equal(vt_snp_product_from_cpuid(a.cpuid_fam_id, a.cpuid_mod_id),
                     vt_snp_product_from_cpuid(b.cpuid_fam_id, b.cpuid_mod_id));
    char path[300];
    snprintf(path, sizeof path, "%s/collateral/snp_vcek.der", dir);
    assert_int_equal(vt_file_read(path, 1 << 20, &emu_vcek, &e), VT_OK);
    X509 *rc = NULL, *ec = NULL;
    assert_int_equal(vt_cert_parse(vcek_der.ptr, vcek_der.len, &rc, &e), VT_OK);
    assert_int_equal(vt_cert_parse(emu_vcek.ptr, emu_vcek.len, &ec, &e), VT_OK);
    static const char *const oids[] = {"1.3.6.1.4.1.3704.1.1", "1.3.6.1.4.1.3704.1.2", "1.3.6.1.4.1.3704.1.3.1",
                                       "1.3.6.1.4.1.3704.1.3.2", "1.3.6.1.4.1.3704.1.3.3", "1.3.6.1.4.1.3704.1.3.8",
                                       "1.3.6.1.4.1.3704.1.4"};
    for (size_t i = 0; i < sizeof oids / sizeof oids[0]; i++) {
        const uint8_t *p;
        const uint8_t *q;
        size_t n, m;
        assert_int_equal(vt_x509_ext_der(rc, oids[i], &p, &n, &e), VT_OK);
        assert_int_equal(vt_x509_ext_der(ec, oids[i], &q, &m, &e), VT_OK);
        if (i < 6) assert_int_equal(p[0], q[0]); /* same DER types: INTEGER, IA5String */
        else assert_int_equal(n, m);             /* hwID: the raw 64 bytes */
    }
    assert_int_equal(X509_get_signature_nid(rc), X509_get_signature_nid(ec)); /* RSA-PSS */
    vt_snp_cert_ext x, y;
    assert_int_equal(vt_snp_cert_ext_parse(rc, &x, &e), VT_OK);
    assert_int_equal(vt_snp_cert_ext_parse(ec, &y, &e), VT_OK);
    assert_int_equal(x.hwid_len, y.hwid_len);
    X509_free(rc);
    X509_free(ec);
    vt_buf_free(&real);
    vt_buf_free(&vcek_der);
    vt_buf_free(&emu_rep);
    vt_buf_free(&emu_vcek);
}

static void test_bad_description(void **state)
{
    (void)state;
    char dir[256];
    vt_test_tmpdir(dir, sizeof dir);
    vt_error e;
    assert_int_equal(vt_emu_init(dir, "{\"snp\": {\"product\": \"Naples\"}}", vt_test_at(T0), &e), VT_E_ARG);
    assert_int_equal(vt_emu_init(dir, "{\"snp\": {\"tcb\": {\"snp\": 300}}}", vt_test_at(T0), &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "snp.tcb.snp"));
    assert_int_equal(vt_emu_init(dir, "{\"snp\": {\"chip_id\": \"00\"}}", vt_test_at(T0), &e), VT_E_INVALID);
    assert_int_equal(vt_emu_init(dir, "{\"snp\": {\"rsa_bits\": 1024}}", vt_test_at(T0), &e), VT_E_INVALID);
    make_emu(dir, sizeof dir, "{\"rsa_bits\": 2048}");
    vt_emu *emu;
    vt_buf r = {0};
    uint8_t rd[64] = {0};
    assert_int_equal(vt_emu_open(dir, &emu, &e), VT_OK);
    vt_emu_snp_opts o = {.version = 4};
    assert_int_equal(vt_emu_snp_report(emu, rd, &o, &r, &e), VT_E_ARG);
    o = (vt_emu_snp_opts){.has_vmpl = true, .vmpl = 4};
    assert_int_equal(vt_emu_snp_report(emu, rd, &o, &r, &e), VT_E_ARG);
    assert_int_equal(vt_emu_tdx_quote(emu, rd, 4, &r, &e), VT_E_ARG); /* no TDX section */
    vt_emu_free(emu);
}

/* The platform description reads one way (core JSON getters): a wrong-typed member is an
 * error naming it, never the default (the emulator used to take "debug": "yes" as false and
 * "vmpl": "1" as 0), and a decimal string is decimal ("0196608" is 0x30000, not octal). */
static void test_description_types(void **state)
{
    (void)state;
    static const struct { const char *over, *want; } bad[] = {
        {"{\"rsa_bits\": 2048, \"debug\": \"yes\"}", "snp.debug: expected true or false"},
        {"{\"rsa_bits\": 2048, \"vmpl\": \"1\"}", "snp.vmpl: expected an integer"},
        {"{\"rsa_bits\": 2048, \"report_version\": 5.0}", "snp.report_version: expected an integer"},
        {"{\"rsa_bits\": 2048, \"measurement\": 7}", "snp.measurement: expected a hex string of 48 bytes"},
    };
    uint8_t rd[64] = {0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char dir[256];
        make_emu(dir, sizeof dir, bad[i].over);
        vt_emu *emu;
        vt_buf r = {0};
        vt_error e;
        assert_int_equal(vt_emu_open(dir, &emu, &e), VT_OK);
        vt_error_clear(&e);
        vt_err rc = vt_emu_snp_report(emu, rd, NULL, &r, &e);
        if (rc != VT_E_INVALID || strstr(e.msg, bad[i].want) == NULL)
            fail_msg("case %zu: rc %d '%s', wanted '%s'", i, rc, e.msg, bad[i].want);
        vt_emu_free(emu);
    }
    char dir[256];
    make_emu(dir, sizeof dir, "{\"rsa_bits\": 2048, \"policy\": \"0196608\"}");
    vt_emu *emu;
    vt_buf r = {0};
    vt_error e;
    vt_snp_report rep;
    assert_int_equal(vt_emu_open(dir, &emu, &e), VT_OK);
    assert_int_equal(vt_emu_snp_report(emu, rd, NULL, &r, &e), VT_OK);
    assert_int_equal(vt_snp_report_parse(r.ptr, r.len, &rep, &e), VT_OK);
    assert_int_equal(rep.policy.raw, 0x30000);
    vt_buf_free(&r);
    vt_emu_free(emu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_milan_roundtrip_v3_v5), cmocka_unit_test(test_report_time_properties),
        cmocka_unit_test(test_products_and_tcb),      cmocka_unit_test(test_revoked_ask_and_crl),
        cmocka_unit_test(test_certtable_and_cross_platform), cmocka_unit_test(test_real_format),
        cmocka_unit_test(test_bad_description), cmocka_unit_test(test_description_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
